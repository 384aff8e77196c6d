//! Integration tests: the real router over real HTTP, one fresh SQLite file
//! per test, and the real `outreach` binary for the command line.

mod campaigns;
mod cli;
mod crash_recovery;
mod demo;
mod health;
mod helpers;
mod hostile_input;
mod keys;
mod logs;
mod roles_and_organisations;
mod sending;
mod sign_in;
mod sms_settings;
mod subscription;
mod webhooks;
