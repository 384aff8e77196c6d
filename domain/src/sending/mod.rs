//! Sending running campaigns through Twilio: the engine that drains the
//! durable queue (`crate::outbound`) with bounded concurrency and a per-organisation
//! rate limit, reconciling every send whose outcome is unknown.

pub mod allowance;
pub mod engine;
pub mod test_messages;
