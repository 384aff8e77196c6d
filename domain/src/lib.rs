//! Outreach's server-side rules and storage.
//!
//! Plain Rust over SQLite: no Leptos, no Axum. The web layer (`app`'s server
//! functions, `server`'s routes and CLI) parses input into the types defined
//! here and calls these functions; nothing past that edge re-checks a string.

pub mod account;
pub mod audit;
pub mod campaigns;
pub mod capability;
pub mod clock;
pub mod contacts;
pub mod crypto;
pub mod db;
pub mod delivery;
pub mod failure_guard;
pub mod ids;
pub mod leases;
pub mod limits;
pub mod lists;
pub mod metrics;
pub mod opt_outs;
pub mod organisations;
pub mod outbound;
pub mod quiet_hours;
pub mod sending;
pub mod services;
pub mod sessions;
pub mod sign_in;
pub mod sms_settings;
pub mod spreadsheet;
pub mod team;
pub mod twilio;
pub mod users;
pub mod work;
