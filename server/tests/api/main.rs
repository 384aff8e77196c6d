//! Integration tests: the real router over real HTTP, one fresh database
//! per test (a SQLite file, or a PostgreSQL database when
//! `OUTREACH_TEST_POSTGRES_URL` is set), and the real `outreach` binary for
//! the command line and for several processes on one database.

mod campaigns;
mod cli;
mod crash_recovery;
mod demo;
mod health;
mod helpers;
mod hostile_input;
mod keys;
mod logs;
mod metrics;
mod processes;
mod roles_and_organisations;
mod sending;
mod several_processes;
mod sign_in;
mod sms_settings;
mod subscription;
mod webhooks;
