pub mod audience;
pub mod audiences;
pub mod lifecycle;
pub mod message;
pub mod quiet_hours;
pub mod results;
pub mod store;
