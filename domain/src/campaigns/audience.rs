//! A campaign's audience: pasted phone numbers or a CSV file, normalised to
//! E.164, de-duplicated, with every rejected row explained.

use std::collections::{BTreeMap, HashSet};

use phonenumber::{Mode, country};

pub const MAX_RECIPIENTS: usize = 100_000;

/// A phone number in E.164 form, e.g. `+447911123456`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct E164Phone(String);

impl E164Phone {
    /// Parses what a person typed; numbers without a `+` are read as
    /// numbers of `default_country` (ISO 3166 alpha-2, e.g. `GB`).
    pub fn parse(raw: &str, default_country: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("no phone number".to_owned());
        }
        if !trimmed.chars().any(|c| c.is_ascii_digit()) {
            return Err("not a phone number".to_owned());
        }
        let region: Option<country::Id> = default_country.trim().to_ascii_uppercase().parse().ok();
        let number = phonenumber::parse(region, trimmed).map_err(|e| match e {
            phonenumber::ParseError::InvalidCountryCode => {
                "no country code: start it with + and the country code".to_owned()
            }
            phonenumber::ParseError::TooShortNsn | phonenumber::ParseError::TooShortAfterIdd => {
                "too short".to_owned()
            }
            phonenumber::ParseError::TooLong => "too long".to_owned(),
            _ => "not a phone number".to_owned(),
        })?;
        if !phonenumber::is_valid(&number) {
            return Err("not a valid number for its country".to_owned());
        }
        Ok(Self(number.format().mode(Mode::E164).to_string()))
    }

    /// For numbers already stored in E.164 form.
    pub fn from_stored(e164: String) -> Self {
        Self(e164)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub phone: E164Phone,
    /// The other columns of its CSV row, by normalised header (`first_name`, ...).
    pub fields: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRow {
    /// 1-based line in what was pasted or uploaded.
    pub line: usize,
    pub value: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Audience {
    pub recipients: Vec<Recipient>,
    pub invalid: Vec<InvalidRow>,
    /// Rows whose number was already in the audience (merged).
    pub duplicates: usize,
    /// Numbers left out because they opted out of messages.
    pub opted_out: usize,
    /// Columns usable as placeholders, besides the phone column.
    pub columns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudienceError {
    #[error("Add at least one phone number.")]
    Empty,
    #[error("The CSV has no phone column: name one of its columns \"phone\" (found: {0}).")]
    NoPhoneColumn(String),
    #[error(
        "An audience can have at most {MAX_RECIPIENTS} recipients; this one has more. Split it into several campaigns."
    )]
    TooMany,
    #[error("The CSV could not be read: {0}")]
    Unreadable(String),
}

const PHONE_HEADERS: [&str; 8] = [
    "phone",
    "phone_number",
    "mobile",
    "mobile_number",
    "number",
    "to",
    "msisdn",
    "cell",
];

fn normalise_header(raw: &str) -> String {
    raw.trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect::<String>()
        .trim_matches('_')
        .to_owned()
}

/// Parses pasted numbers (one or more per line, separated by commas or
/// semicolons) or a CSV with a header row naming a phone column.
/// `opted_out` holds E.164 numbers to leave out.
pub fn parse_audience(
    input: &str,
    default_country: &str,
    opted_out: &HashSet<String>,
) -> Result<Audience, AudienceError> {
    let input = input.trim_start_matches('\u{feff}');
    let first_line = input
        .lines()
        .find(|l| !l.trim().is_empty())
        .ok_or(AudienceError::Empty)?;
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| first_line.bytes().filter(|b| b == d).count())
        .filter(|d| first_line.as_bytes().contains(d));
    let headers: Vec<String> = match delimiter {
        Some(d) => first_line.split(d as char).map(normalise_header).collect(),
        None => vec![normalise_header(first_line)],
    };
    let has_header = headers.iter().any(|h| PHONE_HEADERS.contains(&h.as_str()))
        || headers
            .iter()
            .all(|h| !h.is_empty() && !h.chars().any(|c| c.is_ascii_digit()));

    let mut audience = Audience::default();
    let mut seen = HashSet::new();
    let mut accept =
        |audience: &mut Audience, line: usize, raw: &str, fields: BTreeMap<String, String>| {
            match E164Phone::parse(raw, default_country) {
                Err(reason) => audience.invalid.push(InvalidRow {
                    line,
                    value: raw.trim().to_owned(),
                    reason,
                }),
                Ok(phone) if opted_out.contains(phone.as_str()) => audience.opted_out += 1,
                Ok(phone) if !seen.insert(phone.clone()) => audience.duplicates += 1,
                Ok(phone) => audience.recipients.push(Recipient { phone, fields }),
            }
            if audience.recipients.len() > MAX_RECIPIENTS {
                return Err(AudienceError::TooMany);
            }
            Ok(())
        };

    if !has_header {
        for (index, line) in input.lines().enumerate() {
            for raw in line
                .split([',', ';', '\t'])
                .filter(|r| !r.trim().is_empty())
            {
                accept(&mut audience, index + 1, raw, BTreeMap::new())?;
            }
        }
    } else {
        let phone_column = headers
            .iter()
            .position(|h| PHONE_HEADERS.contains(&h.as_str()))
            .ok_or_else(|| AudienceError::NoPhoneColumn(headers.join(", ")))?;
        audience.columns = headers
            .iter()
            .enumerate()
            .filter(|(i, h)| *i != phone_column && !h.is_empty())
            .map(|(_, h)| h.clone())
            .collect();
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter.unwrap_or(b','))
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(input.as_bytes());
        let bytes = input.as_bytes();
        let (mut cursor, mut line) = (0, 1);
        for record in reader.records() {
            let record = record.map_err(|e| AudienceError::Unreadable(e.to_string()))?;
            // csv's own line count skips blank lines, so count newlines up to
            // the record's first byte (past any blank lines before it).
            let mut start = record
                .position()
                .map_or(cursor, |p| usize::try_from(p.byte()).unwrap_or(cursor));
            while matches!(bytes.get(start), Some(b'\n' | b'\r')) {
                start += 1;
            }
            let start = start.clamp(cursor, bytes.len());
            line += bytes[cursor..start].iter().filter(|b| **b == b'\n').count();
            cursor = start;
            if record.iter().all(str::is_empty) {
                continue;
            }
            let fields = headers
                .iter()
                .enumerate()
                .filter(|(i, h)| *i != phone_column && !h.is_empty())
                .filter_map(|(i, h)| record.get(i).map(|v| (h.clone(), v.to_owned())))
                .collect();
            accept(
                &mut audience,
                line,
                record.get(phone_column).unwrap_or_default(),
                fields,
            )?;
        }
    }
    if audience.recipients.is_empty() && audience.invalid.is_empty() && audience.opted_out == 0 {
        return Err(AudienceError::Empty);
    }
    Ok(audience)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str) -> Audience {
        parse_audience(input, "GB", &HashSet::new()).unwrap()
    }

    fn phones(audience: &Audience) -> Vec<&str> {
        audience
            .recipients
            .iter()
            .map(|r| r.phone.as_str())
            .collect()
    }

    #[test]
    fn numbers_are_normalised_to_e164_with_the_default_country() {
        for (raw, expected) in [
            ("07911 123456", "+447911123456"),
            ("+44 7911 123456", "+447911123456"),
            ("0044 7911 123456", "+447911123456"),
            ("(020) 7183 8750", "+442071838750"),
            ("+1 415-555-2671", "+14155552671"),
        ] {
            assert_eq!(
                E164Phone::parse(raw, "GB").unwrap().as_str(),
                expected,
                "{raw}"
            );
        }
        assert_eq!(
            E164Phone::parse("212 736 5000", "US").unwrap().as_str(),
            "+12127365000"
        );
    }

    #[test]
    fn impossible_numbers_are_refused_with_a_reason() {
        for raw in [
            "hello",
            "123",
            "+44 7700",
            "+999 1234567",
            "07911 123456 456 789 000",
        ] {
            assert!(E164Phone::parse(raw, "GB").is_err(), "{raw} was accepted");
        }
    }

    #[test]
    fn pasted_numbers_are_merged_and_invalid_lines_listed_with_their_numbers() {
        let audience = parse(
            "07911 123456\n\n+447911123456, 07911 123457\nnot a number\n07911123458;07911123459\n",
        );

        assert_eq!(
            phones(&audience),
            [
                "+447911123456",
                "+447911123457",
                "+447911123458",
                "+447911123459"
            ]
        );
        assert_eq!(audience.duplicates, 1);
        assert_eq!(audience.invalid.len(), 1);
        assert_eq!(audience.invalid[0].line, 4);
        assert_eq!(audience.invalid[0].value, "not a number");
    }

    #[test]
    fn a_csv_with_a_bom_quotes_and_blank_lines_keeps_its_columns_for_placeholders() {
        let csv = "\u{feff}First Name,Phone,Last Name,Favourite colour\n\"Ada\",07911 123456,\"Lovelace, Countess\",green\n\n\"Alan\",bogus,Turing,blue\n";

        let audience = parse(csv);

        assert_eq!(
            audience.columns,
            ["first_name", "last_name", "favourite_colour"]
        );
        assert_eq!(phones(&audience), ["+447911123456"]);
        let ada = &audience.recipients[0].fields;
        assert_eq!(ada["first_name"], "Ada");
        assert_eq!(ada["last_name"], "Lovelace, Countess");
        assert_eq!(audience.invalid[0].line, 4);
    }

    #[test]
    fn semicolon_separated_csv_files_are_read() {
        let audience = parse("phone;first_name\n07911 123456;Ada\n07911 123457;Grace\n");
        assert_eq!(phones(&audience), ["+447911123456", "+447911123457"]);
        assert_eq!(audience.recipients[1].fields["first_name"], "Grace");
    }

    #[test]
    fn a_csv_without_a_phone_column_says_which_columns_it_found() {
        let error =
            parse_audience("name,email\nAda,ada@example.org\n", "GB", &HashSet::new()).unwrap_err();
        assert_eq!(error, AudienceError::NoPhoneColumn("name, email".into()));
    }

    #[test]
    fn opted_out_numbers_are_left_out_and_counted() {
        let opted_out = HashSet::from(["+447911123457".to_owned()]);
        let audience = parse_audience("07911123456\n07911123457\n", "GB", &opted_out).unwrap();
        assert_eq!(phones(&audience), ["+447911123456"]);
        assert_eq!(audience.opted_out, 1);
    }

    #[test]
    fn nothing_at_all_is_an_error() {
        assert_eq!(
            parse_audience(" \n\n", "GB", &HashSet::new()),
            Err(AudienceError::Empty)
        );
    }

    #[test]
    fn a_hundred_thousand_recipients_are_accepted_and_one_more_is_refused() {
        let numbers =
            |count: usize| -> String { (0..count).map(|i| format!("+447911{i:06}\n")).collect() };

        let audience = parse_audience(
            &format!("phone\n{}", numbers(MAX_RECIPIENTS)),
            "GB",
            &HashSet::new(),
        )
        .unwrap();
        let too_many = parse_audience(
            &format!("phone\n{}", numbers(MAX_RECIPIENTS + 1)),
            "GB",
            &HashSet::new(),
        );

        assert_eq!(audience.recipients.len(), MAX_RECIPIENTS);
        assert_eq!(too_many, Err(AudienceError::TooMany));
    }
}
