//! Quiet hours: an organisation's daily window (say 21:00 to 09:00) in
//! which its campaigns send nothing. The window is read in each
//! recipient's local time where their number's country has one time zone
//! (`recipient_zone`), else in the organisation's. Messages due inside it
//! wait in the queue until it ends there. An Org Admin may exempt one
//! campaign.

mod country_zones;
pub mod recipient_zone;

use crate::clock::{self, UnixTime};

const MINUTES_A_DAY: i64 = 24 * 60;

/// The window, as minutes after local midnight. `from` and `until` differ;
/// a window whose `until` comes before its `from` runs over midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    from: i64,
    until: i64,
}

/// Why the quiet hours typed could not be saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuietHoursError {
    #[error("Enter the time quiet hours start, such as 21:00.")]
    From,
    #[error("Enter the time quiet hours end, such as 09:00.")]
    Until,
    #[error("Quiet hours must end at another time than they start.")]
    Same,
}

impl QuietHours {
    /// `from` and `until` as typed: `HH:MM`, 24-hour.
    pub fn parse(from: &str, until: &str) -> Result<Self, Vec<QuietHoursError>> {
        let from = minute_of_day(from);
        let until = minute_of_day(until);
        match (from, until) {
            (Some(from), Some(until)) if from == until => Err(vec![QuietHoursError::Same]),
            (Some(from), Some(until)) => Ok(Self { from, until }),
            (from, until) => Err([
                from.is_none().then_some(QuietHoursError::From),
                until.is_none().then_some(QuietHoursError::Until),
            ]
            .into_iter()
            .flatten()
            .collect()),
        }
    }

    /// As stored: both minutes, or none when the organisation has no
    /// quiet hours.
    pub fn from_stored(from: Option<i64>, until: Option<i64>) -> Option<Self> {
        match (from, until) {
            (Some(from), Some(until))
                if from != until
                    && (0..MINUTES_A_DAY).contains(&from)
                    && (0..MINUTES_A_DAY).contains(&until) =>
            {
                Some(Self { from, until })
            }
            _ => None,
        }
    }

    pub fn from_minute(&self) -> i64 {
        self.from
    }

    pub fn until_minute(&self) -> i64 {
        self.until
    }

    /// "21:00".
    pub fn from_label(&self) -> String {
        clock_label(self.from)
    }

    /// "09:00".
    pub fn until_label(&self) -> String {
        clock_label(self.until)
    }

    /// "21:00–09:00".
    pub fn label(&self) -> String {
        format!("{}–{}", self.from_label(), self.until_label())
    }

    fn covers(&self, minute: i64) -> bool {
        if self.from < self.until {
            (self.from..self.until).contains(&minute)
        } else {
            minute >= self.from || minute < self.until
        }
    }

    /// When `now` falls inside the window as read in `zone` (an IANA name;
    /// UTC if unknown), the instant the window ends there; `None` when
    /// sending is allowed. An end that a daylight-saving change skips is
    /// read as the hour after.
    pub fn waits_until(&self, zone: &str, now: UnixTime) -> Option<UnixTime> {
        let zone = clock::zone_or_utc(zone);
        let local = jiff::Timestamp::from_second(now)
            .ok()?
            .to_zoned(zone.clone());
        let minute = i64::from(local.hour()) * 60 + i64::from(local.minute());
        if !self.covers(minute) {
            return None;
        }
        // The end is today unless the window runs over midnight and we are
        // in its evening part.
        let mut day = local.date();
        if self.until <= minute {
            day = day.tomorrow().ok()?;
        }
        let end = jiff::civil::time((self.until / 60) as i8, (self.until % 60) as i8, 0, 0);
        let ends = day.to_datetime(end).to_zoned(zone).ok()?;
        Some(ends.timestamp().as_second())
    }
}

/// `HH:MM` (a 24-hour clock, as a browser's time field sends it) as
/// minutes after midnight.
fn minute_of_day(raw: &str) -> Option<i64> {
    let time: jiff::civil::Time = raw.trim().parse().ok()?;
    (time.second() == 0 && time.subsec_nanosecond() == 0)
        .then(|| i64::from(time.hour()) * 60 + i64::from(time.minute()))
}

fn clock_label(minute: i64) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evening() -> QuietHours {
        QuietHours::parse("21:00", "09:00").unwrap()
    }

    #[test]
    fn times_are_read_from_a_24_hour_clock_and_must_differ() {
        assert_eq!(evening().label(), "21:00–09:00");
        assert_eq!(
            QuietHours::parse(" 12:30 ", "13:45").unwrap().label(),
            "12:30–13:45"
        );
        assert_eq!(
            QuietHours::parse("9pm", "09:00"),
            Err(vec![QuietHoursError::From])
        );
        assert_eq!(
            QuietHours::parse("", "25:00"),
            Err(vec![QuietHoursError::From, QuietHoursError::Until])
        );
        assert_eq!(
            QuietHours::parse("21:00:30", "09:00"),
            Err(vec![QuietHoursError::From])
        );
        assert_eq!(
            QuietHours::parse("09:00", "09:00"),
            Err(vec![QuietHoursError::Same])
        );
        assert_eq!(
            QuietHours::from_stored(Some(1260), Some(540)),
            Some(evening())
        );
        assert_eq!(QuietHours::from_stored(None, Some(540)), None);
        assert_eq!(QuietHours::from_stored(Some(1440), Some(540)), None);
    }

    // 30 Nov 2026 at 12:00 UTC: 07:00 in New York, 12:00 in London, 21:00
    // in Tokyo, 23:00 in Sydney (daylight saving), 17:30 in Kolkata.
    const NOON_UTC: UnixTime = 1_796_040_000;

    #[test]
    fn a_window_over_midnight_holds_messages_in_the_zones_where_it_is_night() {
        let quiet = evening();
        // New York at 07:00 waits until 09:00 there: 14:00 UTC.
        assert_eq!(
            quiet.waits_until("America/New_York", NOON_UTC),
            Some(NOON_UTC + 2 * 3600)
        );
        assert_eq!(quiet.waits_until("Europe/London", NOON_UTC), None);
        assert_eq!(quiet.waits_until("Asia/Kolkata", NOON_UTC), None);
        // Tokyo at 21:00 has just started: until 09:00 tomorrow there.
        assert_eq!(
            quiet.waits_until("Asia/Tokyo", NOON_UTC),
            Some(NOON_UTC + 12 * 3600)
        );
        // Sydney at 23:00: 09:00 tomorrow is 22:00 UTC today.
        assert_eq!(
            quiet.waits_until("Australia/Sydney", NOON_UTC),
            Some(NOON_UTC + 10 * 3600)
        );
        // The minute the window ends, sending resumes.
        assert_eq!(
            quiet.waits_until("America/New_York", NOON_UTC + 2 * 3600),
            None
        );
        assert!(
            quiet
                .waits_until("America/New_York", NOON_UTC + 2 * 3600 - 60)
                .is_some()
        );
    }

    #[test]
    fn a_window_within_a_day_and_an_unknown_zone_read_as_utc() {
        let lunch = QuietHours::parse("12:00", "13:30").unwrap();
        assert_eq!(lunch.waits_until("UTC", NOON_UTC), Some(NOON_UTC + 5400));
        assert_eq!(
            lunch.waits_until("Not/AZone", NOON_UTC),
            Some(NOON_UTC + 5400)
        );
        assert_eq!(lunch.waits_until("UTC", NOON_UTC - 60), None);
        assert_eq!(lunch.waits_until("Europe/London", NOON_UTC + 5400), None);
    }

    #[test]
    fn an_end_skipped_by_daylight_saving_is_read_as_the_hour_after() {
        // London springs forward on 29 Mar 2026: 01:00 GMT becomes 02:00
        // BST, so 01:30 never happens there. At 00:30 GMT (00:30 UTC), a
        // window ending at 01:30 ends at 02:30 BST, which is 01:30 UTC.
        let quiet = QuietHours::parse("22:00", "01:30").unwrap();
        let half_past_midnight = 1_774_744_200;
        assert_eq!(
            quiet.waits_until("Europe/London", half_past_midnight),
            Some(half_past_midnight + 3600)
        );
    }
}
