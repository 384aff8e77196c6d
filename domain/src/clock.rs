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
    use super::*;

    #[test]
    fn formats_a_known_instant_for_people() {
        // 2026-11-26T22:30:00Z
        assert_eq!(format_utc(1_795_732_200), "26 Nov 2026 at 22:30 UTC");
    }
}
