//! Delivery updates from Twilio: verifying their signatures, storing every
//! event raw, moving messages forward in Twilio's status order, and STOP /
//! START replies.

pub mod events;
pub mod inbound;
pub mod signature;
pub mod writer;
