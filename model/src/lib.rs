//! The words Outreach's server and browser agree on. Compiled into `domain`
//! (which stores them as text, with a CHECK constraint, and converts them
//! once at the storage edge) and into `app`, on both sides of the wire, so
//! the UI's idea of, say, a final message state cannot drift from the
//! sending engine's.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A campaign, by its id: a type of its own, so it cannot be passed where
/// an organisation's or a message's id is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[cfg_attr(feature = "sqlx", sqlx(transparent))]
pub struct CampaignId(pub i64);

impl fmt::Display for CampaignId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for CampaignId {
    type Err = std::num::ParseIntError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        raw.parse().map(Self)
    }
}

/// Where a campaign is: `draft` -> `running` -> `completed`, or `paused`,
/// or `cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Draft,
    Running,
    Paused,
    Completed,
    Cancelled,
}

impl CampaignStatus {
    pub const ALL: [Self; 5] = [
        Self::Draft,
        Self::Running,
        Self::Paused,
        Self::Completed,
        Self::Cancelled,
    ];

    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == raw)
    }

    /// In words, for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "Draft",
            Self::Running => "Running",
            Self::Paused => "Paused",
            Self::Completed => "Completed",
            Self::Cancelled => "Cancelled",
        }
    }
}

impl fmt::Display for CampaignStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where one outbound message is. `Queued` and `Sending` are before Twilio
/// has answered; the rest follow Twilio's answer, its status callbacks, or
/// a person's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    Queued,
    /// Claimed by the sending engine: the outcome of its send is awaited.
    Sending,
    Sent,
    Delivered,
    Undelivered,
    Failed,
    OptedOut,
    /// Twilio could not say whether it was sent: a person decides.
    Unknown,
    /// Withdrawn when its campaign was cancelled.
    Cancelled,
    /// Not sent within its campaign's validity (24 hours after the start
    /// unless changed): too late to be worth sending.
    Expired,
}

impl MessageState {
    pub const ALL: [Self; 10] = [
        Self::Queued,
        Self::Sending,
        Self::Sent,
        Self::Delivered,
        Self::Undelivered,
        Self::Failed,
        Self::OptedOut,
        Self::Unknown,
        Self::Cancelled,
        Self::Expired,
    ];

    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Undelivered => "undelivered",
            Self::Failed => "failed",
            Self::OptedOut => "opted_out",
            Self::Unknown => "unknown",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == raw)
    }

    /// States that will not change again on their own. (`Unknown` waits
    /// for a person; a `Sent` message a day old counts as final too, which
    /// is the campaign's business, not the state's.)
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Delivered
                | Self::Undelivered
                | Self::Failed
                | Self::OptedOut
                | Self::Cancelled
                | Self::Expired
        )
    }

    /// Still on its way: claimed, or with Twilio and not yet settled.
    pub fn is_in_flight(self) -> bool {
        matches!(self, Self::Sending | Self::Sent)
    }

    /// The label people see it counted under; `Sending` counts as queued.
    pub fn label(self) -> &'static str {
        match self {
            Self::Queued | Self::Sending => "Queued",
            Self::Sent => "Sent",
            Self::Delivered => "Delivered",
            Self::Undelivered => "Undelivered",
            Self::Failed => "Failed",
            Self::OptedOut => "Opted out",
            Self::Unknown => "Outcome unknown",
            Self::Cancelled => "Not sent (cancelled)",
            Self::Expired => "Expired",
        }
    }

    /// The labels, in the order the progress counts are shown.
    pub const LABELS: [&'static str; 9] = [
        "Queued",
        "Sent",
        "Delivered",
        "Undelivered",
        "Failed",
        "Opted out",
        "Outcome unknown",
        "Not sent (cancelled)",
        "Expired",
    ];
}

impl fmt::Display for MessageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a campaign reaches people. Only SMS, for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Sms => "SMS",
        }
    }
}

/// What a person decides for messages whose outcome Twilio could not
/// confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownOutcomeDecision {
    /// Queue them again (the recipient may get the message twice).
    SendAgain,
    /// Leave them unsent.
    DoNotSend,
}

impl UnknownOutcomeDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendAgain => "send_again",
            Self::DoNotSend => "do_not_send",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_what_it_writes() {
        for status in CampaignStatus::ALL {
            assert_eq!(CampaignStatus::parse(status.as_str()), Some(status));
        }
        for state in MessageState::ALL {
            assert_eq!(MessageState::parse(state.as_str()), Some(state));
            assert!(MessageState::LABELS.contains(&state.label()), "{state:?}");
        }
        assert_eq!(MessageState::parse("canceled"), None);
    }

    #[test]
    fn final_states_are_the_settled_ones() {
        let finals: Vec<_> = MessageState::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(
            finals,
            [
                MessageState::Delivered,
                MessageState::Undelivered,
                MessageState::Failed,
                MessageState::OptedOut,
                MessageState::Cancelled,
                MessageState::Expired
            ]
        );
    }

    #[test]
    fn the_wire_names_are_the_stored_names() {
        for state in MessageState::ALL {
            let wire = serde_json::to_string(&state).unwrap();
            assert_eq!(wire, format!("\"{}\"", state.as_str()));
        }
        for status in CampaignStatus::ALL {
            let wire = serde_json::to_string(&status).unwrap();
            assert_eq!(wire, format!("\"{}\"", status.as_str()));
        }
        assert_eq!(
            serde_json::to_string(&UnknownOutcomeDecision::DoNotSend).unwrap(),
            "\"do_not_send\""
        );
    }
}

/// Stored as text (`as_str`), for whichever database sqlx talks to: one
/// implementation serves SQLite, PostgreSQL and sqlx's `Any` driver.
#[cfg(feature = "sqlx")]
macro_rules! stored_as_text {
    ($name:ident, $what:literal) => {
        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            str: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as sqlx::Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            &'q str: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&'q str as sqlx::Encode<'q, DB>>::encode(self.as_str(), buf)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let raw = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
                Self::parse(raw)
                    .ok_or_else(|| format!(concat!("not a ", $what, ": {:?}"), raw).into())
            }
        }
    };
}

#[cfg(feature = "sqlx")]
stored_as_text!(CampaignStatus, "campaign status");
#[cfg(feature = "sqlx")]
stored_as_text!(MessageState, "message state");
