//! Time as stored in the database: Unix seconds, UTC.

use time::{OffsetDateTime, format_description::BorrowedFormatItem, macros::format_description};

/// Seconds since the Unix epoch. Passed into rules explicitly so tests can
/// move time without sleeping.
pub type UnixTime = i64;

pub fn now() -> UnixTime {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Milliseconds since the Unix epoch, for rates finer than a second.
pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

const HUMAN: &[BorrowedFormatItem<'static>] =
    format_description!("[day padding:none] [month repr:short] [year] at [hour]:[minute] UTC");

/// "26 Nov 2026 at 22:30 UTC": what people read on the page.
pub fn format_utc(at: UnixTime) -> String {
    OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(HUMAN).ok())
        .unwrap_or_else(|| "an unknown time".to_owned())
}

/// An IANA time zone Outreach knows ("Europe/London", "America/Chicago",
/// "UTC"): an organisation's, in which its people read times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZoneName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a time zone Outreach knows; choose one from the list, like Europe/London")]
pub struct UnknownTimeZone(pub String);

impl TimeZoneName {
    pub fn parse(raw: &str) -> Result<Self, UnknownTimeZone> {
        let raw = raw.trim();
        jiff::tz::TimeZone::get(raw)
            .map(|_| Self(raw.to_owned()))
            .map_err(|_| UnknownTimeZone(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The time zones to choose from: the IANA database's "Area/Location"
/// names (and UTC), sorted, without its legacy aliases ("US/Eastern",
/// "EST5EDT", "Etc/GMT+5"), which only confuse a list.
pub fn time_zone_names() -> Vec<String> {
    const AREAS: [&str; 10] = [
        "Africa/",
        "America/",
        "Antarctica/",
        "Arctic/",
        "Asia/",
        "Atlantic/",
        "Australia/",
        "Europe/",
        "Indian/",
        "Pacific/",
    ];
    let mut names: Vec<String> = jiff::tz::db()
        .available()
        .map(|name| name.as_str().to_owned())
        .filter(|name| AREAS.iter().any(|area| name.starts_with(area)))
        .collect();
    names.push("UTC".to_owned());
    names.sort();
    names.dedup();
    names
}

/// The named time zone; UTC if Outreach does not know the name (a zone
/// removed from a newer database, say).
pub(crate) fn zone_or_utc(name: &str) -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get(name).unwrap_or(jiff::tz::TimeZone::UTC)
}

/// "26 Nov 2026 at 17:30 EST": what people read on the page, in their
/// organisation's time zone (UTC if the name is unknown).
pub fn format_in(at: UnixTime, zone: &str) -> String {
    match jiff::Timestamp::from_second(at) {
        Ok(at) => at
            .to_zoned(zone_or_utc(zone))
            .strftime("%-d %b %Y at %H:%M %Z")
            .to_string(),
        Err(_) => "an unknown time".to_owned(),
    }
}

/// A date and time typed as the organisation reads them (`2026-07-01`,
/// `08:00`) could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalTimeError {
    #[error("Enter a date such as 2026-07-01.")]
    Date,
    #[error("Enter a time such as 08:00.")]
    Time,
}

/// The instant a date and time name in `zone` (an IANA name). A time that
/// a daylight-saving change skips is read as the hour after; one that
/// occurs twice, as the first.
pub fn parse_local(date: &str, time: &str, zone: &str) -> Result<UnixTime, LocalTimeError> {
    let date: jiff::civil::Date = date.trim().parse().map_err(|_| LocalTimeError::Date)?;
    let time: jiff::civil::Time = time.trim().parse().map_err(|_| LocalTimeError::Time)?;
    date.to_datetime(time)
        .to_zoned(zone_or_utc(zone))
        .map(|zoned| zoned.timestamp().as_second())
        .map_err(|_| LocalTimeError::Date)
}

/// `("2026-07-01", "08:00")`: an instant as a date and a time field show it
/// in `zone`.
pub fn local_fields(at: UnixTime, zone: &str) -> (String, String) {
    let zone = zone_or_utc(zone);
    match jiff::Timestamp::from_second(at) {
        Ok(at) => {
            let zoned = at.to_zoned(zone);
            (
                zoned.strftime("%Y-%m-%d").to_string(),
                zoned.strftime("%H:%M").to_string(),
            )
        }
        Err(_) => (String::new(), String::new()),
    }
}

/// `2026-11-26T22:30:00Z`: for files other programs read.
pub fn format_rfc3339(at: UnixTime) -> String {
    OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_read_in_the_organisations_time_zone_summer_and_winter() {
        // 26 Nov 2026 22:30 UTC, and 1 Jul 2026 12:00 UTC.
        let (winter, summer) = (1_795_732_200, 1_782_907_200);
        assert_eq!(super::format_in(winter, "UTC"), "26 Nov 2026 at 22:30 UTC");
        assert_eq!(super::format_in(winter, "UTC"), super::format_utc(winter));
        assert_eq!(
            super::format_in(winter, "America/New_York"),
            "26 Nov 2026 at 17:30 EST"
        );
        assert_eq!(
            super::format_in(summer, "America/New_York"),
            "1 Jul 2026 at 08:00 EDT"
        );
        assert_eq!(
            super::format_in(summer, "Europe/London"),
            "1 Jul 2026 at 13:00 BST"
        );
        assert_eq!(
            super::format_in(winter, "Asia/Kolkata"),
            "27 Nov 2026 at 04:00 IST"
        );
        assert_eq!(
            super::format_in(winter, "Not/AZone"),
            "26 Nov 2026 at 22:30 UTC"
        );
    }

    #[test]
    fn only_time_zones_from_the_list_are_accepted() {
        let names = super::time_zone_names();
        assert!(names.contains(&"Europe/London".to_owned()));
        assert!(names.contains(&"UTC".to_owned()));
        assert!(
            !names
                .iter()
                .any(|n| n.starts_with("US/") || n.starts_with("Etc/"))
        );
        assert!(names.len() > 300, "{}", names.len());
        assert_eq!(
            super::TimeZoneName::parse(" Europe/Paris ")
                .unwrap()
                .as_str(),
            "Europe/Paris"
        );
        assert!(super::TimeZoneName::parse("Mars/Olympus_Mons").is_err());
        assert!(super::TimeZoneName::parse("").is_err());
    }

    use super::*;

    #[test]
    fn a_typed_date_and_time_are_read_in_the_organisations_time_zone() {
        // 1 Jul 2026 08:00 in New York (EDT) is 12:00 UTC.
        assert_eq!(
            parse_local("2026-07-01", "08:00", "America/New_York"),
            Ok(1_782_907_200)
        );
        assert_eq!(
            local_fields(1_782_907_200, "America/New_York"),
            ("2026-07-01".to_owned(), "08:00".to_owned())
        );
        assert_eq!(parse_local("2026-07-01", "12:00", "UTC"), Ok(1_782_907_200));
        // 29 Mar 2026 01:30 does not happen in London: read as 02:30 BST.
        assert_eq!(
            format_in(
                parse_local("2026-03-29", "01:30", "Europe/London").unwrap(),
                "Europe/London"
            ),
            "29 Mar 2026 at 02:30 BST"
        );
        assert_eq!(
            parse_local("1 July", "08:00", "UTC"),
            Err(LocalTimeError::Date)
        );
        assert_eq!(
            parse_local("2026-07-01", "8am", "UTC"),
            Err(LocalTimeError::Time)
        );
    }

    #[test]
    fn formats_a_known_instant_for_people() {
        // 2026-11-26T22:30:00Z
        assert_eq!(format_utc(1_795_732_200), "26 Nov 2026 at 22:30 UTC");
    }
}
