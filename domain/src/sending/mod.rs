//! Sending running campaigns through Twilio: a durable queue in SQLite and
//! the engine that drains it with bounded concurrency and a per-organisation
//! rate limit, reconciling every send whose outcome is unknown.

pub mod engine;
pub mod queue;
