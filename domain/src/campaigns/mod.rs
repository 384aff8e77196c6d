pub mod audience;
pub mod audiences;
pub mod lifecycle;
pub mod message;
pub mod results;
pub mod store;
