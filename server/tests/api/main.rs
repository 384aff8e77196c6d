//! Integration tests: the real router over real HTTP, one fresh database
//! per test (a SQLite file, or a PostgreSQL database when
//! `OUTREACH_TEST_POSTGRES_URL` is set), and the real `outreach` binary for
//! the command line and for several processes on one database.

mod campaigns;
mod cli;
mod contacts;
mod crash_recovery;
mod demo;
mod health;
mod helpers;
mod hostile_input;
mod keys;
mod large_campaigns;
mod lists;
mod logs;
mod metrics;
mod opt_outs;
mod processes;
mod quiet_hours;
mod roles_and_organisations;
mod schedules;
mod sending;
mod several_processes;
mod sign_in;
mod sms_settings;
mod subscription;
mod team;
mod test_messages;
mod webhooks;
