//! CSV files Outreach writes are opened in spreadsheets, where a cell that
//! starts with `=`, `+`, `-` or `@` (or a tab or carriage return) can run
//! as a formula. Values that came from outside (Twilio's messages, what
//! was uploaded) must never do that.

use std::borrow::Cow;

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
