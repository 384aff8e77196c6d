//! Twilio: a thin HTTP client for the calls Outreach makes. Its test double,
//! the simulator, is the `twilio-simulator` crate.

mod client;
pub mod credentials;
pub mod status;

pub use client::{
    AcceptedMessage, Account, AccountStatus, AccountType, DEFAULT_API_BASE_URL,
    DEFAULT_MESSAGING_BASE_URL, InsecureBaseUrl, MessageSearch, MessagingService, OutgoingMessage,
    SendError, TwilioClient, TwilioError, check_base_url, classify_error, redact_phone_numbers,
};
