//! What the rules reach the outside world through, built once at start-up
//! and passed as one: the database, the master keys and Twilio.

use std::sync::Arc;

use crate::db::Pool;
use crate::{crypto::Keyring, twilio::TwilioClient};

/// Cheap to clone: every field is shared.
#[derive(Clone)]
pub struct Services {
    pub pool: Pool,
    /// Master keys for the Auth Token envelope.
    pub keyring: Arc<Keyring>,
    pub twilio: TwilioClient,
}
