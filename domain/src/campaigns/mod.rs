pub mod audience;
pub mod message;
