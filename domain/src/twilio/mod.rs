//! Twilio: a thin HTTP client for the calls Outreach makes, and a faithful
//! simulator of those endpoints for tests and demo mode.

mod client;
pub mod simulator;

pub use client::{
    AcceptedMessage, Account, AccountStatus, AccountType, DEFAULT_API_BASE_URL,
    DEFAULT_MESSAGING_BASE_URL, InsecureBaseUrl, MessageSearch, MessagingService, OutgoingMessage,
    SendError, TwilioClient, TwilioError, check_base_url, classify_error, redact_phone_numbers,
};
