//! Outreach > Settings > SMS: the organisation's Twilio Integration.

pub mod integration;
pub mod throttle;
pub mod validation;
