//! Ids of what Outreach stores, each a type of its own: an organisation's id
//! cannot be passed where a campaign's or a message's is wanted. Stored as
//! plain integers.

use std::fmt;

pub use model::CampaignId;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            sqlx::Type, serde::Serialize, serde::Deserialize,
        )]
        #[sqlx(transparent)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id!(
    /// An organisation.
    OrganisationId
);
id!(
    /// A person who signs in.
    UserId
);
id!(
    /// One outbound message (one recipient of a campaign).
    MessageId
);
id!(
    /// A stored audience.
    AudienceId
);
id!(
    /// A one-time link: an invitation or a password reset.
    AccountLinkId
);
