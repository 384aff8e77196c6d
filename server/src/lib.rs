//! The `outreach` binary's wiring: configuration, HTTP, command line.
//! Business rules live in `domain`; pages and server functions in `app`.

pub mod bundle;
pub mod cli;
pub mod config;
pub mod demo;
pub mod exports;
pub mod janitor;
pub mod metrics;
pub mod recheck;
pub mod startup;
pub mod telemetry;
pub mod web;
pub mod webhooks;
