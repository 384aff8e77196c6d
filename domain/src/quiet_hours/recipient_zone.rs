//! The time zone a recipient's quiet hours are read in: their number's
//! country's, where that country has one; `None` (the organisation's
//! zone) otherwise, or when the country cannot be told.
//!
//! Parsing a number to find its country costs about 10 µs, too much for a
//! million recipients at `Run campaign`. Most country calling codes need
//! no parsing: they belong to one country, or every country sharing them
//! reads the same clocks (+44: the United Kingdom, Jersey, Guernsey and the
//! Isle of Man). Of the rest, the North American Numbering Plan gives each
//! area code to one country, so +1 numbers are parsed once per area code;
//! the few others (+7, +61, +262, …) number by number.

use std::sync::OnceLock;

use phonenumber::metadata::DATABASE;

use super::country_zones::COUNTRY_ZONES;

/// A country's (ISO 3166 alpha-2) one time zone, if it has one.
pub fn country_zone(country: &str) -> Option<&'static str> {
    COUNTRY_ZONES
        .binary_search_by(|(code, _)| (*code).cmp(country))
        .ok()
        .map(|i| COUNTRY_ZONES[i].1)
}

/// What a calling code says about its numbers' zone.
#[derive(Debug, Clone, Copy)]
enum ByCode {
    Zone(Option<&'static str>),
    /// Its countries' clocks differ: each number's country decides.
    PerNumber,
}

/// What each calling code decided, for the whole process. Deciding a code
/// whose countries share it compares their clocks hour by hour over two
/// years: decided again for each chunk of 500 recipients queued, that was a
/// twentieth of the sending process's time in a 40,000-recipient campaign
/// (BENCHMARKS.md). Calling codes are below 1000.
static BY_CODE: [OnceLock<ByCode>; 1000] = [const { OnceLock::new() }; 1000];

/// The zone of each +1 area code: the North American Numbering Plan gives
/// each to one country. Only numbers that parse decide it.
static BY_AREA_CODE: [OnceLock<Option<&'static str>>; 1000] = [const { OnceLock::new() }; 1000];

/// The North American Numbering Plan's calling code.
const NANP: u16 = 1;

/// The zone of `e164`, a stored recipient number (`+447911123456`).
pub fn zone_of(e164: &str) -> Option<&'static str> {
    let digits = e164.strip_prefix('+')?;
    let code = calling_code(digits)?;
    match *BY_CODE[usize::from(code)].get_or_init(|| decide_for_code(code)) {
        ByCode::Zone(zone) => zone,
        ByCode::PerNumber if code == NANP => {
            let area: u16 = digits.get(1..4)?.parse().ok()?;
            let decided = &BY_AREA_CODE[usize::from(area)];
            if let Some(&zone) = decided.get() {
                return zone;
            }
            let number = phonenumber::parse(None, e164).ok()?;
            *decided.get_or_init(|| zone_of_number(&number))
        }
        ByCode::PerNumber => zone_of_number(&phonenumber::parse(None, e164).ok()?),
    }
}

/// E.164 calling codes are one to three digits and none is the start of
/// another, so the first prefix the database knows is the code.
fn calling_code(digits: &str) -> Option<u16> {
    (1..=3).find_map(|len| {
        let code: u16 = digits.get(..len)?.parse().ok()?;
        DATABASE.region(&code).map(|_| code)
    })
}

fn decide_for_code(code: u16) -> ByCode {
    let regions = DATABASE.region(&code).unwrap_or_default();
    let zones: Vec<Option<&'static str>> =
        regions.iter().map(|region| country_zone(region)).collect();
    match zones.split_first() {
        None => ByCode::Zone(None),
        Some((first, rest)) if rest.iter().all(|zone| zone == first) => ByCode::Zone(*first),
        Some((Some(first), rest))
            if rest
                .iter()
                .all(|zone| zone.is_some_and(|zone| same_clocks(first, zone))) =>
        {
            ByCode::Zone(Some(first))
        }
        _ => ByCode::PerNumber,
    }
}

fn zone_of_number(number: &phonenumber::PhoneNumber) -> Option<&'static str> {
    let country = number.country().id()?;
    country_zone(country.as_ref())
}

/// Whether two zones read the same, hour by hour, over two years from
/// 2026 (as the generated table's check does).
fn same_clocks(a: &str, b: &str) -> bool {
    let (Ok(a), Ok(b)) = (jiff::tz::TimeZone::get(a), jiff::tz::TimeZone::get(b)) else {
        return false;
    };
    const JAN_2026: i64 = 1_767_225_600;
    (0..2 * 366 * 24).all(|hour| {
        let at = jiff::Timestamp::from_second(JAN_2026 + hour * 3600).expect("in range");
        a.to_offset(at) == b.to_offset(at)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_with_one_time_zone_have_it_and_others_none() {
        assert_eq!(country_zone("GB"), Some("Europe/London"));
        assert_eq!(country_zone("JP"), Some("Asia/Tokyo"));
        assert_eq!(country_zone("DE"), Some("Europe/Berlin"));
        assert_eq!(country_zone("US"), None);
        assert_eq!(country_zone("AU"), None);
        assert_eq!(country_zone("ZZ"), None);
        assert!(COUNTRY_ZONES.windows(2).all(|w| w[0].0 < w[1].0));
        for (_, zone) in COUNTRY_ZONES {
            assert!(jiff::tz::TimeZone::get(zone).is_ok(), "{zone} is bundled");
        }
    }

    #[test]
    fn numbers_are_read_in_their_countrys_zone_where_it_has_one() {
        // The United Kingdom, and Jersey (+44 7797), which shares its code
        // and its clocks.
        assert_eq!(zone_of("+447911123456"), Some("Europe/London"));
        assert_eq!(zone_of("+447797123456"), Some("Europe/London"));
        assert_eq!(zone_of("+81312345678"), Some("Asia/Tokyo"));
        assert_eq!(zone_of("+33612345678"), Some("Europe/Paris"));
        // The United States and Canada have several zones; Jamaica, on the
        // same calling code, has one.
        assert_eq!(zone_of("+12125550100"), None);
        assert_eq!(zone_of("+14165550100"), None);
        assert_eq!(zone_of("+18765550100"), Some("America/Jamaica"));
        assert_eq!(zone_of("+18765550199"), Some("America/Jamaica"));
        // Australia has several; Kazakhstan (+7 7…) one, Russia (+7 9…)
        // several.
        assert_eq!(zone_of("+61412345678"), None);
        assert_eq!(zone_of("+77012345678"), Some("Asia/Almaty"));
        assert_eq!(zone_of("+79123456789"), None);
        assert_eq!(zone_of("447911123456"), None);
        assert_eq!(zone_of("+"), None);
    }
}
