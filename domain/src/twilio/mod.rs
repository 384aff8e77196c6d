//! Twilio: a thin HTTP client for the calls Outreach makes, and a faithful
//! simulator of those endpoints for tests and demo mode.

mod client;
pub mod simulator;

pub use client::{
    Account, AccountStatus, AccountType, MessagingService, TwilioClient, TwilioError,
};
