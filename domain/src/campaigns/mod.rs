pub mod audience;
pub mod message;
pub mod store;
