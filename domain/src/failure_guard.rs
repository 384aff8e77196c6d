//! The failure guard: when more than a set share of a running campaign's
//! first messages fail with carrier errors (an unregistered sending number,
//! messages filtered as spam, ...), the rest would mostly fail too, each at
//! a price. The engine pauses the campaign and says why in words; a person
//! fixes the cause and resumes it, and the guard leaves it alone from then.
//!
//! Only messages with a final state count (delivered, undelivered or
//! failed): a carrier's verdict comes in a status callback, seconds after
//! Twilio accepted the message.

use std::fmt;

/// An organisation's guard: pause when more than `percent` % of a
/// campaign's first `first_messages` messages fail with carrier errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardSettings {
    pub percent: i64,
    pub first_messages: i64,
}

impl Default for GuardSettings {
    fn default() -> Self {
        Self {
            percent: 20,
            first_messages: 200,
        }
    }
}

impl fmt::Display for GuardSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "more than {}% of the first {} messages",
            self.percent, self.first_messages
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardSettingsError {
    #[error("Enter a whole number of percent from 1 to 100.")]
    Percent,
    #[error("Enter a whole number of messages from 10 to 10,000.")]
    FirstMessages,
}

/// The ranges the database accepts (see migration 0015 / 0006) and the
/// errors above name.
const PERCENT: (i64, i64) = (1, 100);
const FIRST_MESSAGES: (i64, i64) = (10, 10_000);

impl GuardSettings {
    /// Both numbers as typed; each error names its own field.
    pub fn parse(percent: &str, first_messages: &str) -> Result<Self, Vec<GuardSettingsError>> {
        let number = |raw: &str, (low, high): (i64, i64)| {
            raw.trim()
                .trim_end_matches('%')
                .trim()
                .replace(',', "")
                .parse::<i64>()
                .ok()
                .filter(|n| (low..=high).contains(n))
        };
        let percent_value = number(percent, PERCENT);
        let first_value = number(first_messages, FIRST_MESSAGES);
        match (percent_value, first_value) {
            (Some(percent), Some(first_messages)) => Ok(Self {
                percent,
                first_messages,
            }),
            (percent, first) => Err(percent
                .is_none()
                .then_some(GuardSettingsError::Percent)
                .into_iter()
                .chain(first.is_none().then_some(GuardSettingsError::FirstMessages))
                .collect()),
        }
    }
}

/// Twilio's delivery errors (300xx) are what carriers, or Twilio on their
/// behalf, report after accepting a message. Refusals at the send (21211,
/// an invalid number) are about one recipient and do not count.
pub fn is_carrier_error(code: i64) -> bool {
    (30_000..31_000).contains(&code)
}

/// What a carrier error means, for the person who has to fix it.
pub fn carrier_error_words(code: i64) -> Option<&'static str> {
    Some(match code {
        30003 => "the recipients' phones are switched off or out of coverage",
        30004 => "the recipients or their carriers blocked the messages",
        30005 => "the numbers are unknown or no longer in service",
        30006 => "the numbers are landlines or their carriers cannot receive texts",
        30007 => "carriers filtered the messages as spam or unwanted",
        30008 => "carriers reported an unknown error",
        30022 | 30023 | 30027 => "the sending number went over its US A2P 10DLC sending limits",
        30024 => "the sender ID is not registered with the recipients' carriers",
        30032 => "the toll-free sending number is not verified",
        30034 => "the sending number is not registered for US A2P 10DLC",
        _ => return None,
    })
}

/// What the guard saw of one campaign.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardCounts {
    /// The campaign's messages, up to the guard's `first_messages`.
    pub window: i64,
    /// Messages with a final state: delivered, undelivered or failed.
    pub settled: i64,
    /// Carrier failures among them, by error code.
    pub failures: Vec<(i64, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardVerdict {
    /// Not enough messages have settled yet.
    Watching,
    /// The first messages settled with few enough carrier failures.
    Passed,
    /// Pause the campaign, saying this.
    Trip(String),
}

/// The rule. A campaign with fewer messages than the guard's first
/// messages passes: by the time enough of them settled to judge, it is
/// mostly sent. Otherwise the share is of the first messages, or of every
/// settled one when the guard looks late and more have settled; it trips as
/// soon as the failures are more than the share of the first messages, even
/// before they have all settled (the rest could not bring it back under).
pub fn verdict(guard: GuardSettings, counts: &GuardCounts) -> GuardVerdict {
    if counts.window < guard.first_messages {
        return GuardVerdict::Passed;
    }
    let failed: i64 = counts.failures.iter().map(|(_, n)| n).sum();
    let base = counts.window.max(counts.settled);
    if base > 0 && failed * 100 > guard.percent * base {
        return GuardVerdict::Trip(reason(guard, counts, failed));
    }
    if counts.window > 0 && counts.settled >= counts.window {
        return GuardVerdict::Passed;
    }
    GuardVerdict::Watching
}

fn reason(guard: GuardSettings, counts: &GuardCounts, failed: i64) -> String {
    let (code, _) = counts
        .failures
        .iter()
        .copied()
        .max_by_key(|&(code, n)| (n, -code))
        .unwrap_or_default();
    let commonest = match carrier_error_words(code) {
        Some(words) => format!("{code}: {words}"),
        None => format!("{code} (see Twilio's error {code})"),
    };
    format!(
        "Paused by the failure guard: {failed} of the first {settled} messages to reach a final state failed with carrier errors ({share}%), more than the {percent}% allowed. Most often error {commonest}. Fix the cause, then resume: the guard will not pause this campaign again.",
        settled = counts.settled.max(failed),
        share = failed * 100 / counts.settled.max(failed).max(1),
        percent = guard.percent,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(window: i64, settled: i64, failures: &[(i64, i64)]) -> GuardCounts {
        GuardCounts {
            window,
            settled,
            failures: failures.to_vec(),
        }
    }

    #[test]
    fn it_trips_once_failures_are_more_than_the_share_of_the_first_messages() {
        let guard = GuardSettings::default();
        // 40 of 200 is exactly 20%: not more than the share.
        assert_eq!(
            verdict(guard, &counts(200, 60, &[(30034, 40)])),
            GuardVerdict::Watching
        );
        // 41 trips at once, before the other 140 have settled.
        let GuardVerdict::Trip(reason) = verdict(guard, &counts(200, 60, &[(30034, 41)])) else {
            panic!("41 of 200 trips");
        };
        assert!(
            reason.contains("41 of the first 60 messages")
                && reason
                    .contains("error 30034: the sending number is not registered for US A2P 10DLC")
                && reason.contains("more than the 20% allowed"),
            "{reason}"
        );
    }

    #[test]
    fn it_passes_when_the_first_messages_settled_with_few_failures() {
        let guard = GuardSettings::default();
        assert_eq!(
            verdict(guard, &counts(200, 200, &[(30003, 12)])),
            GuardVerdict::Passed
        );
        // Looked at late: the share is of everything settled by then.
        assert_eq!(
            verdict(guard, &counts(200, 1000, &[(30003, 150)])),
            GuardVerdict::Passed
        );
        assert_eq!(verdict(guard, &counts(200, 0, &[])), GuardVerdict::Watching);
    }

    #[test]
    fn a_campaign_smaller_than_the_first_messages_is_never_paused() {
        let guard = GuardSettings::default();
        assert_eq!(
            verdict(guard, &counts(20, 20, &[(30007, 20)])),
            GuardVerdict::Passed
        );
        let guard = GuardSettings {
            percent: 20,
            first_messages: 10,
        };
        assert!(matches!(
            verdict(guard, &counts(10, 8, &[(30007, 2), (30003, 1)])),
            GuardVerdict::Trip(reason) if reason.contains("error 30007: carriers filtered")
        ));
    }

    #[test]
    fn only_twilio_delivery_errors_are_carrier_errors() {
        for code in [30003, 30005, 30006, 30007, 30034] {
            assert!(is_carrier_error(code), "{code}");
            assert!(carrier_error_words(code).is_some(), "{code}");
        }
        for code in [21211, 21610, 20003, 429] {
            assert!(!is_carrier_error(code), "{code}");
        }
    }

    #[test]
    fn settings_are_whole_numbers_in_range_and_each_error_names_its_field() {
        assert_eq!(
            GuardSettings::parse(" 25% ", "1,000"),
            Ok(GuardSettings {
                percent: 25,
                first_messages: 1000
            })
        );
        assert_eq!(
            GuardSettings::parse("0", "200"),
            Err(vec![GuardSettingsError::Percent])
        );
        assert_eq!(
            GuardSettings::parse("20", "5"),
            Err(vec![GuardSettingsError::FirstMessages])
        );
        assert_eq!(
            GuardSettings::parse("lots", "2.5"),
            Err(vec![
                GuardSettingsError::Percent,
                GuardSettingsError::FirstMessages
            ])
        );
    }
}
