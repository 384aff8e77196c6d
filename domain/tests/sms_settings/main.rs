//! Saving and checking the Twilio Integration against the Twilio simulator
//! over real HTTP, with a real SQLite file. Every failure asserts that
//! nothing was saved.

mod change;
mod check;
mod helpers;
mod keys;
mod save;
mod twilio_client;
