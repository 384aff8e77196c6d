//! CSV files Outreach writes are opened in spreadsheets, where a cell that
//! starts with `=`, `+`, `-` or `@` (or a tab or carriage return) can run
//! as a formula. Values that came from outside (Twilio's messages, what
//! was uploaded) must never do that.

use std::{borrow::Cow, future::Future, sync::Arc};

use futures_util::Stream;

/// The cell as written: a leading apostrophe (which spreadsheets hide)
/// keeps a formula-like value text. An E.164 phone number (`+` and
/// digits) is no formula and stays as it is, so numbers stay readable.
pub fn safe_cell(value: &str) -> Cow<'_, str> {
    let is_phone =
        value.len() > 1 && value.starts_with('+') && value[1..].bytes().all(|b| b.is_ascii_digit());
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') if !is_phone => Cow::Owned(format!("'{value}")),
        _ => Cow::Borrowed(value),
    }
}

/// A CSV file's parts, one page of rows each, for a download: a page is
/// read only once the part before has been taken, starting after that
/// part's last key (`read(after, page_size)`, the first page after `""`,
/// which comes before every key; rows come in key order). A download holds
/// one page in memory, never the whole file, and no database connection
/// while the browser takes a part in. The first part is always there (it
/// holds the header: `write(first, rows)`), the file ends after a short page.
pub fn csv_in_parts<R, Read, Page, Write>(
    page_size: i64,
    key: fn(&R) -> String,
    read: Read,
    write: Write,
) -> impl Stream<Item = anyhow::Result<Vec<u8>>> + Send + 'static
where
    R: Send + 'static,
    Read: Fn(String, i64) -> Page + Send + Sync + 'static,
    Page: Future<Output = anyhow::Result<Vec<R>>> + Send + 'static,
    Write: Fn(bool, Vec<R>) -> anyhow::Result<Vec<u8>> + Send + Sync + 'static,
{
    /// Where a download has got to.
    enum Part {
        /// The header, and the first rows.
        First,
        /// The rows after this key.
        After(String),
        Done,
    }
    let (read, write) = (Arc::new(read), Arc::new(write));
    futures_util::stream::try_unfold(Part::First, move |part| {
        let (read, write) = (Arc::clone(&read), Arc::clone(&write));
        async move {
            let (first, after) = match part {
                Part::First => (true, String::new()),
                Part::After(key) => (false, key),
                Part::Done => return Ok(None),
            };
            let rows = read(after, page_size).await?;
            let next = match rows.last() {
                Some(last) if rows.len() as i64 == page_size => Part::After(key(last)),
                _ => Part::Done,
            };
            if rows.is_empty() && !first {
                return Ok(None);
            }
            Ok(Some((write(first, rows)?, next)))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::safe_cell;

    #[test]
    fn formulas_become_text_and_phone_numbers_stay_readable() {
        let table = [
            (
                "=HYPERLINK(\"http://evil\")",
                "'=HYPERLINK(\"http://evil\")",
            ),
            ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("+14155552671", "+14155552671"),
            ("+", "'+"),
            ("delivered", "delivered"),
            ("", ""),
        ];
        for (value, written) in table {
            assert_eq!(safe_cell(value), written, "{value:?}");
        }
    }
}
