//! A campaign's audience: pasted phone numbers or a CSV file, normalised to
//! E.164, de-duplicated, with rejected rows explained. Everything about it
//! is bounded (see `crate::limits`): its size, rows, columns and values,
//! and what is kept in memory per recipient.

use std::collections::{BTreeMap, HashSet};

use phonenumber::{Mode, country};

pub use crate::limits::MAX_RECIPIENTS;
use crate::limits::{
    LISTED_INVALID_ROWS, MAX_AUDIENCE_BYTES, MAX_AUDIENCE_ROWS, MAX_COLUMN_NAME_CHARS, MAX_COLUMNS,
    MAX_FIELD_CHARS, MAX_PHONE_CHARS,
};

/// Why a value is not a phone number, in the words of the invalid-rows table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("no phone number")]
    Missing,
    #[error("too long")]
    TooLong,
    #[error("too short")]
    TooShort,
    #[error("not a phone number")]
    NotANumber,
    #[error("no country code: start it with + and the country code")]
    NoCountryCode,
    #[error("not a valid number for its country")]
    InvalidForCountry,
}

/// A phone number in E.164 form, e.g. `+447911123456`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct E164Phone(String);

impl E164Phone {
    /// Reads the rules for phone numbers. The phonenumber crate reads its
    /// metadata of every country the first time a number is parsed, about
    /// 90 ms on this project's machine: run at start-up, off the request
    /// path, so the first person to type a number after a start does not
    /// wait for it.
    pub fn load_rules() {
        let _ = Self::parse("+447400123456", "GB");
    }

    /// Parses what a person typed; numbers without a `+` are read as
    /// numbers of `default_country` (ISO 3166 alpha-2, e.g. `GB`).
    pub fn parse(raw: &str, default_country: &str) -> Result<Self, PhoneError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Missing);
        }
        if trimmed.chars().count() > MAX_PHONE_CHARS {
            return Err(PhoneError::TooLong);
        }
        if !trimmed.chars().any(|c| c.is_ascii_digit()) {
            return Err(PhoneError::NotANumber);
        }
        let region: Option<country::Id> = default_country.trim().to_ascii_uppercase().parse().ok();
        let number = phonenumber::parse(region, trimmed).map_err(|e| match e {
            phonenumber::ParseError::InvalidCountryCode => PhoneError::NoCountryCode,
            phonenumber::ParseError::TooShortNsn | phonenumber::ParseError::TooShortAfterIdd => {
                PhoneError::TooShort
            }
            phonenumber::ParseError::TooLong => PhoneError::TooLong,
            _ => PhoneError::NotANumber,
        })?;
        if !phonenumber::is_valid(&number) {
            return Err(PhoneError::InvalidForCountry);
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

    /// The digits as a number (E.164 has at most 15, and no leading zero).
    fn digits(&self) -> u64 {
        self.0[1..].parse().unwrap_or(u64::MAX)
    }
}

/// Separates a recipient's values in memory; never part of a value.
const SEPARATOR: char = '\u{1f}';

/// One recipient, kept small because a million must fit in memory: the
/// number's digits as a number, and its other CSV values as one string in
/// the order of [`Audience::columns`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    digits: u64,
    values: Box<str>,
}

impl Recipient {
    pub fn phone(&self) -> E164Phone {
        E164Phone(format!("+{}", self.digits))
    }

    /// `values` in the order of the audience's columns.
    pub fn new<'a>(phone: E164Phone, values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut joined = String::new();
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                joined.push(SEPARATOR);
            }
            joined.extend(value.chars().map(|c| if c == SEPARATOR { ' ' } else { c }));
        }
        Self {
            digits: phone.digits(),
            values: joined.into_boxed_str(),
        }
    }

    fn values(&self) -> std::str::Split<'_, char> {
        self.values.split(SEPARATOR)
    }
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
    /// The first invalid rows ([`LISTED_INVALID_ROWS`] at most).
    pub invalid: Vec<InvalidRow>,
    /// Every invalid row, listed or not.
    pub invalid_total: usize,
    /// Rows whose number was already in the audience (merged).
    pub duplicates: usize,
    /// Numbers left out because they opted out of messages.
    pub opted_out: usize,
    /// Columns usable as placeholders, besides the phone column.
    pub columns: Vec<String>,
}

impl Audience {
    /// The recipient's value in `column`, if it has one.
    pub fn field<'a>(&self, recipient: &'a Recipient, column: &str) -> Option<&'a str> {
        let index = self.columns.iter().position(|c| c == column)?;
        recipient.values().nth(index)
    }

    /// The recipient's values by column.
    pub fn fields<'a>(
        &'a self,
        recipient: &'a Recipient,
    ) -> impl Iterator<Item = (&'a str, &'a str)> {
        let values = if self.columns.is_empty() {
            None
        } else {
            Some(recipient.values())
        };
        self.columns
            .iter()
            .map(String::as_str)
            .zip(values.into_iter().flatten())
    }

    /// The recipient's values as a JSON object, as they are stored.
    pub fn fields_json(&self, recipient: &Recipient) -> String {
        let fields: BTreeMap<&str, &str> = self.fields(recipient).collect();
        serde_json::to_string(&fields).unwrap_or_else(|_| "{}".to_owned())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudienceError {
    #[error("Add at least one phone number.")]
    Empty,
    #[error("The CSV has no phone column: name one of its columns \"phone\" (found: {0}).")]
    NoPhoneColumn(String),
    #[error(
        "An audience can have at most {} recipients; this one has more. Split it into several campaigns.",
        thousands(MAX_RECIPIENTS)
    )]
    TooMany,
    #[error(
        "An audience can have at most {} rows; this one has more. Split it into several campaigns.",
        thousands(MAX_AUDIENCE_ROWS)
    )]
    TooManyRows,
    #[error(
        "The audience is larger than {} MB. Split it into several campaigns, or leave out columns the message does not use.",
        MAX_AUDIENCE_BYTES / (1024 * 1024)
    )]
    TooLarge,
    #[error(
        "The CSV has {0} columns; at most {MAX_COLUMNS} are read. Leave out the columns the message does not use."
    )]
    TooManyColumns(usize),
    #[error("The CSV could not be read: {0}")]
    Unreadable(String),
}

/// "1,000,000"
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
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
        .take(MAX_COLUMN_NAME_CHARS * 2)
        .collect::<String>()
        .trim_matches('_')
        .chars()
        .take(MAX_COLUMN_NAME_CHARS)
        .collect()
}

/// What an invalid row shows of itself: its start, not all of it.
fn shown(raw: &str) -> String {
    const SHOWN_CHARS: usize = 80;
    let trimmed = raw.trim();
    let mut shown: String = trimmed.chars().take(SHOWN_CHARS).collect();
    if trimmed.chars().nth(SHOWN_CHARS).is_some() {
        shown.push('…');
    }
    shown
}

/// Collects recipients, enforcing the limits row by row.
struct Collector<'a> {
    audience: Audience,
    seen: HashSet<u64>,
    rows: usize,
    max_rows: usize,
    max_recipients: usize,
    default_country: &'a str,
    opted_out: &'a HashSet<String>,
}

impl Collector<'_> {
    fn invalid(&mut self, line: usize, raw: &str, reason: String) {
        self.audience.invalid_total += 1;
        if self.audience.invalid.len() < LISTED_INVALID_ROWS {
            self.audience.invalid.push(InvalidRow {
                line,
                value: shown(raw),
                reason,
            });
        }
    }

    fn accept<'v>(
        &mut self,
        line: usize,
        raw: &str,
        values: impl IntoIterator<Item = &'v str> + Clone,
    ) -> Result<(), AudienceError> {
        self.rows += 1;
        if self.rows > self.max_rows {
            return Err(AudienceError::TooManyRows);
        }
        if let Some(long) = values
            .clone()
            .into_iter()
            .find(|v| v.chars().nth(MAX_FIELD_CHARS).is_some())
        {
            let reason = format!(
                "a value is longer than {MAX_FIELD_CHARS} characters ({}…)",
                long.chars().take(20).collect::<String>()
            );
            self.invalid(line, raw, reason);
            return Ok(());
        }
        match E164Phone::parse(raw, self.default_country) {
            Err(reason) => self.invalid(line, raw, reason.to_string()),
            Ok(phone) if self.opted_out.contains(phone.as_str()) => self.audience.opted_out += 1,
            Ok(phone) if !self.seen.insert(phone.digits()) => self.audience.duplicates += 1,
            Ok(phone) => {
                if self.audience.recipients.len() == self.max_recipients {
                    return Err(AudienceError::TooMany);
                }
                self.audience.recipients.push(Recipient::new(phone, values));
            }
        }
        Ok(())
    }
}

/// Parses pasted numbers (one or more per line, separated by commas or
/// semicolons) or a CSV with a header row naming a phone column.
/// `opted_out` holds E.164 numbers to leave out.
pub fn parse_audience(
    input: &str,
    default_country: &str,
    opted_out: &HashSet<String>,
) -> Result<Audience, AudienceError> {
    parse_within(
        input,
        default_country,
        opted_out,
        MAX_AUDIENCE_ROWS,
        MAX_RECIPIENTS,
    )
}

/// How a pasted or uploaded audience is laid out, judged from its first
/// non-blank line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Layout {
    /// The most frequent of `,` `;` and tab on the first line, if any.
    delimiter: Option<u8>,
    /// The first line's cells, normalised (at most one past the limit).
    headers: Vec<String>,
    columns_in_header: usize,
    /// A phone column by name, or cells that all look like names rather
    /// than numbers; otherwise the input is a plain list of numbers.
    has_header: bool,
}

fn sniff_layout(first_line: &str) -> Layout {
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| first_line.bytes().filter(|b| b == d).count())
        .filter(|d| first_line.as_bytes().contains(d));
    let (columns_in_header, headers) = match delimiter {
        Some(d) => (
            first_line.bytes().filter(|b| *b == d).count() + 1,
            first_line
                .split(d as char)
                .take(MAX_COLUMNS + 1)
                .map(normalise_header)
                .collect(),
        ),
        None => (1, vec![normalise_header(first_line)]),
    };
    let has_header = headers
        .iter()
        .any(|h: &String| PHONE_HEADERS.contains(&h.as_str()))
        || headers
            .iter()
            .all(|h| !h.is_empty() && !h.chars().any(|c| c.is_ascii_digit()));
    Layout {
        delimiter,
        headers,
        columns_in_header,
        has_header,
    }
}

/// The phone column, and the other columns kept as merge fields: the first
/// column of each name counts; repeats and unnamed ones do not.
fn choose_columns(layout: &Layout) -> Result<(usize, Vec<usize>), AudienceError> {
    if layout.columns_in_header > MAX_COLUMNS {
        return Err(AudienceError::TooManyColumns(layout.columns_in_header));
    }
    let headers = &layout.headers;
    let phone_column = headers
        .iter()
        .position(|h| PHONE_HEADERS.contains(&h.as_str()))
        .ok_or_else(|| AudienceError::NoPhoneColumn(headers.join(", ")))?;
    let mut kept: Vec<usize> = Vec::new();
    for (i, header) in headers.iter().enumerate() {
        if i != phone_column && !header.is_empty() && !kept.iter().any(|k| headers[*k] == *header) {
            kept.push(i);
        }
    }
    Ok((phone_column, kept))
}

/// [`parse_audience`] with its row and recipient limits as arguments, so
/// tests can reach them without a million phone numbers.
fn parse_within(
    input: &str,
    default_country: &str,
    opted_out: &HashSet<String>,
    max_rows: usize,
    max_recipients: usize,
) -> Result<Audience, AudienceError> {
    if input.len() > MAX_AUDIENCE_BYTES {
        return Err(AudienceError::TooLarge);
    }
    let input = input.trim_start_matches('\u{feff}');
    let first_line = input
        .lines()
        .find(|l| !l.trim().is_empty())
        .ok_or(AudienceError::Empty)?;
    let layout = sniff_layout(first_line);
    let mut collector = Collector {
        audience: Audience::default(),
        seen: HashSet::new(),
        rows: 0,
        max_rows,
        max_recipients,
        default_country,
        opted_out,
    };
    if layout.has_header {
        read_table(input, &layout, &mut collector)?;
    } else {
        read_list(input, &mut collector)?;
    }
    let audience = collector.audience;
    if audience.recipients.is_empty() && audience.invalid_total == 0 && audience.opted_out == 0 {
        return Err(AudienceError::Empty);
    }
    Ok(audience)
}

/// Numbers separated by commas, semicolons, tabs or lines; no header.
fn read_list(input: &str, collector: &mut Collector<'_>) -> Result<(), AudienceError> {
    for (index, line) in input.lines().enumerate() {
        for raw in line
            .split([',', ';', '\t'])
            .filter(|r| !r.trim().is_empty())
        {
            collector.accept(index + 1, raw, [])?;
        }
    }
    Ok(())
}

/// A spreadsheet with a header row: one recipient per record, line numbers
/// as a person counts them in their editor.
fn read_table(
    input: &str,
    layout: &Layout,
    collector: &mut Collector<'_>,
) -> Result<(), AudienceError> {
    let (phone_column, kept) = choose_columns(layout)?;
    collector.audience.columns = kept.iter().map(|i| layout.headers[*i].clone()).collect();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(layout.delimiter.unwrap_or(b','))
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input.as_bytes());
    let bytes = input.as_bytes();
    let (mut cursor, mut line) = (0, 1);
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(AudienceError::Unreadable(e.to_string())),
        }
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
        let values = kept.iter().map(|i| record.get(*i).unwrap_or_default());
        collector.accept(line, record.get(phone_column).unwrap_or_default(), values)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_says_whether_there_is_a_header_and_what_separates_cells() {
        // (first line, delimiter, has a header)
        let table: [(&str, Option<u8>, bool); 7] = [
            ("phone,first_name", Some(b','), true),
            ("Mobile;Name;City", Some(b';'), true),
            ("phone\tname", Some(b'\t'), true),
            ("+15551230001, +15551230002", Some(b','), false),
            ("+15551230001", None, false),
            ("first_name,last_name", Some(b','), true),
            ("name,+15551230001", Some(b','), false),
        ];
        for (line, delimiter, has_header) in table {
            let layout = sniff_layout(line);
            assert_eq!(layout.delimiter, delimiter, "{line}");
            assert_eq!(layout.has_header, has_header, "{line}");
        }
    }

    #[test]
    fn the_phone_column_is_found_by_name_and_repeated_or_unnamed_columns_are_not_fields() {
        let (phone, kept) = choose_columns(&sniff_layout("Name,Mobile,,name,City")).unwrap();
        assert_eq!(phone, 1);
        assert_eq!(kept, vec![0, 4]);
        assert!(matches!(
            choose_columns(&sniff_layout("first_name,last_name")),
            Err(AudienceError::NoPhoneColumn(found)) if found == "first_name, last_name"
        ));
        let wide = (0..=MAX_COLUMNS)
            .map(|i| format!("c{i}"))
            .collect::<Vec<_>>()
            .join(",");
        assert!(matches!(
            choose_columns(&sniff_layout(&format!("phone,{wide}"))),
            Err(AudienceError::TooManyColumns(_))
        ));
    }

    fn parse(input: &str) -> Audience {
        parse_audience(input, "GB", &HashSet::new()).unwrap()
    }

    fn phones(audience: &Audience) -> Vec<String> {
        audience
            .recipients
            .iter()
            .map(|r| r.phone().as_str().to_owned())
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
        let ada = &audience.recipients[0];
        assert_eq!(audience.field(ada, "first_name"), Some("Ada"));
        assert_eq!(audience.field(ada, "last_name"), Some("Lovelace, Countess"));
        assert_eq!(audience.invalid[0].line, 4);
    }

    #[test]
    fn semicolon_separated_csv_files_are_read() {
        let audience = parse("phone;first_name\n07911 123456;Ada\n07911 123457;Grace\n");
        assert_eq!(phones(&audience), ["+447911123456", "+447911123457"]);
        assert_eq!(
            audience.field(&audience.recipients[1], "first_name"),
            Some("Grace")
        );
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
    fn the_recipient_and_row_limits_are_exact() {
        let numbers =
            |count: usize| -> String { (0..count).map(|i| format!("+447911{i:06}\n")).collect() };
        let none = HashSet::new();
        let parse = |count: usize, max_rows: usize| {
            parse_within(
                &format!("phone\n{}", numbers(count)),
                "GB",
                &none,
                max_rows,
                100,
            )
        };

        assert_eq!(parse(100, 1000).unwrap().recipients.len(), 100);
        assert_eq!(parse(101, 1000), Err(AudienceError::TooMany));
        assert_eq!(parse(100, 100).unwrap().recipients.len(), 100);
        assert_eq!(parse(100, 99), Err(AudienceError::TooManyRows));
        // The real limits: a million recipients, in words people read.
        assert_eq!(
            AudienceError::TooMany.to_string(),
            "An audience can have at most 1,000,000 recipients; this one has more. Split it into several campaigns."
        );
    }

    #[test]
    fn rows_columns_values_and_size_are_bounded() {
        let none = HashSet::new();
        let header: Vec<String> = (0..=MAX_COLUMNS).map(|i| format!("c{i}")).collect();
        let wide = format!("phone,{}\n07911123456\n", header.join(","));
        assert_eq!(
            parse_audience(&wide, "GB", &none),
            Err(AudienceError::TooManyColumns(MAX_COLUMNS + 2))
        );

        let long_value = format!(
            "phone,note\n07911123456,{}\n07911123457,ok\n",
            "x".repeat(MAX_FIELD_CHARS + 1)
        );
        let audience = parse_audience(&long_value, "GB", &none).unwrap();
        assert_eq!(phones(&audience), ["+447911123457"]);
        assert!(
            audience.invalid[0]
                .reason
                .contains("longer than 500 characters")
        );
        assert!(audience.invalid[0].value.chars().count() <= 81);

        let invalid: String = (0..1000).map(|i| format!("bogus{i}\n")).collect();
        let audience =
            parse_audience(&format!("phone\n07911123456\n{invalid}"), "GB", &none).unwrap();
        assert_eq!(audience.invalid.len(), LISTED_INVALID_ROWS);
        assert_eq!(audience.invalid_total, 1000);

        let huge = "1".repeat(MAX_AUDIENCE_BYTES + 1);
        assert_eq!(
            parse_audience(&huge, "GB", &none),
            Err(AudienceError::TooLarge)
        );
        assert_eq!(
            E164Phone::parse(&"1".repeat(10_000), "GB"),
            Err(PhoneError::TooLong)
        );
    }

    #[test]
    fn values_keep_their_columns_and_the_separator_never_leaks() {
        let audience =
            parse("phone,first_name,,first_name,note\n07911123456,Ada,x,Again,a\u{1f}b\n");
        assert_eq!(audience.columns, ["first_name", "note"]);
        let ada = &audience.recipients[0];
        assert_eq!(audience.field(ada, "first_name"), Some("Ada"));
        assert_eq!(audience.field(ada, "note"), Some("a b"));
        assert_eq!(
            audience.fields_json(ada),
            r#"{"first_name":"Ada","note":"a b"}"#
        );
    }
}
