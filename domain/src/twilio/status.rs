//! Twilio's message statuses, their order, and what each means for one of
//! our outbound messages.
//!
//! Callbacks arrive in any order, so a status only ever moves a message
//! forward: accepted/scheduled < queued < sending < sent <
//! delivered | undelivered | failed | canceled < read.

pub use model::MessageState;

/// A status Twilio reports for an outbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwilioStatus {
    Accepted,
    Scheduled,
    Queued,
    Sending,
    Sent,
    Delivered,
    Undelivered,
    Failed,
    Canceled,
    Read,
}

/// Twilio's error for "the recipient replied STOP".
pub const UNSUBSCRIBED: u64 = 21610;

impl TwilioStatus {
    /// `None` for statuses outside the outbound lifecycle (or new ones):
    /// they are stored raw and change nothing.
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "accepted" => Self::Accepted,
            "scheduled" => Self::Scheduled,
            "queued" => Self::Queued,
            "sending" => Self::Sending,
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "undelivered" => Self::Undelivered,
            "failed" => Self::Failed,
            "canceled" => Self::Canceled,
            "read" => Self::Read,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Scheduled => "scheduled",
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Undelivered => "undelivered",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
            Self::Read => "read",
        }
    }

    /// Position in Twilio's order; a message only takes a higher rank.
    /// 0 is ours: not yet with Twilio.
    pub fn rank(self) -> i64 {
        match self {
            Self::Accepted | Self::Scheduled => 1,
            Self::Queued => 2,
            Self::Sending => 3,
            Self::Sent => 4,
            Self::Delivered | Self::Undelivered | Self::Failed | Self::Canceled => 5,
            Self::Read => 6,
        }
    }

    /// The message state this status puts a message in.
    pub fn message_state(self, error_code: Option<u64>) -> MessageState {
        match self {
            Self::Accepted | Self::Scheduled | Self::Queued | Self::Sending | Self::Sent => {
                MessageState::Sent
            }
            Self::Delivered | Self::Read => MessageState::Delivered,
            Self::Undelivered if error_code == Some(UNSUBSCRIBED) => MessageState::OptedOut,
            Self::Undelivered => MessageState::Undelivered,
            Self::Failed | Self::Canceled if error_code == Some(UNSUBSCRIBED) => {
                MessageState::OptedOut
            }
            Self::Failed | Self::Canceled => MessageState::Failed,
        }
    }
}

/// Why a message was not delivered, in words a campaigner can act on.
/// Falls back to Twilio's own message, then to the bare code.
pub fn describe_error(code: Option<u64>, twilio_message: Option<&str>) -> String {
    let known = match code {
        Some(21211) => "The number is not a valid phone number.",
        Some(21408) => "Sending to this country or region is not enabled on the Twilio account.",
        Some(21610) => {
            "The recipient has opted out (replied STOP); they will not be messaged again."
        }
        Some(21612) => {
            "Twilio cannot route a message from the Messaging Service's numbers to this number."
        }
        Some(21614) => "The number cannot receive SMS (for example, a landline).",
        Some(21635) => "The number is a landline and cannot receive SMS.",
        Some(21701 | 21703 | 21704) => {
            "The Messaging Service cannot send this message: check it in Twilio."
        }
        Some(30003) => "The handset was unreachable (switched off or out of coverage).",
        Some(30004) => "The message was blocked by the recipient's carrier or the recipient.",
        Some(30005) => "The number does not exist or is no longer in service.",
        Some(30006) => "The number is a landline or its carrier cannot receive SMS.",
        Some(30007) => "The carrier filtered the message as spam.",
        Some(30008) => "The carrier did not say why the message was not delivered.",
        Some(30034) => "The sending number is not registered for A2P 10DLC messaging.",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_owned();
    }
    match (code, twilio_message.filter(|m| !m.trim().is_empty())) {
        (Some(code), Some(message)) => format!("{message} (Twilio error {code})."),
        (None, Some(message)) => message.to_owned(),
        (Some(code), None) => format!("Twilio error {code}."),
        (None, None) => "Twilio did not say why.".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_ordered_as_twilio_documents() {
        use TwilioStatus::*;
        let order = [
            vec![Accepted, Scheduled],
            vec![Queued],
            vec![Sending],
            vec![Sent],
            vec![Delivered, Undelivered, Failed, Canceled],
            vec![Read],
        ];
        for (i, lower) in order.iter().enumerate() {
            for higher in order.iter().skip(i + 1).flatten() {
                for status in lower {
                    assert!(status.rank() < higher.rank(), "{status:?} < {higher:?}");
                }
            }
            for a in lower {
                for b in lower {
                    assert_eq!(a.rank(), b.rank(), "{a:?} = {b:?}");
                }
            }
        }
    }

    #[test]
    fn every_status_round_trips_and_unknown_ones_are_not_parsed() {
        for raw in [
            "accepted",
            "scheduled",
            "queued",
            "sending",
            "sent",
            "delivered",
            "undelivered",
            "failed",
            "canceled",
            "read",
        ] {
            assert_eq!(TwilioStatus::parse(raw).unwrap().as_str(), raw);
        }
        for raw in [
            "received",
            "receiving",
            "partially_delivered",
            "Delivered",
            "",
        ] {
            assert_eq!(TwilioStatus::parse(raw), None, "{raw}");
        }
    }

    #[test]
    fn statuses_map_to_message_states() {
        use TwilioStatus::*;
        let cases = [
            (Accepted, None, MessageState::Sent),
            (Sent, None, MessageState::Sent),
            (Delivered, None, MessageState::Delivered),
            (Read, None, MessageState::Delivered),
            (Undelivered, Some(30003), MessageState::Undelivered),
            (Failed, Some(30005), MessageState::Failed),
            (Failed, Some(21610), MessageState::OptedOut),
            (Canceled, None, MessageState::Failed),
        ];
        for (status, code, expected) in cases {
            assert_eq!(status.message_state(code), expected, "{status:?} {code:?}");
        }
    }

    #[test]
    fn errors_are_described_in_words_with_fallbacks() {
        assert!(
            describe_error(Some(21211), Some("Invalid 'To'")).contains("not a valid phone number")
        );
        assert_eq!(
            describe_error(Some(99999), Some("Odd")),
            "Odd (Twilio error 99999)."
        );
        assert_eq!(describe_error(Some(99999), None), "Twilio error 99999.");
        assert_eq!(describe_error(None, None), "Twilio did not say why.");
    }
}
