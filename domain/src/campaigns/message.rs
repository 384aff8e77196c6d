//! The SMS body: encoding, segments and placeholders.
//!
//! Carriers bill per segment. A message that fits the GSM 03.38 alphabet
//! (7-bit) carries 160 characters in one segment, or 153 per segment once
//! split; any other character forces UCS-2, with 70 UTF-16 units in one
//! segment, or 67 per segment once split. Characters of the GSM extension
//! table take two septets, and neither an escape pair nor a surrogate pair
//! is split across segments.

use std::collections::BTreeSet;

/// The GSM 03.38 basic alphabet (without the escape character).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The GSM 03.38 extension table: each costs an escape plus itself.
const GSM_EXTENSION: &str = "^{}\\[~]|€\u{000C}";

pub use crate::limits::MAX_BODY_CHARS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SegmentCount {
    pub encoding: Encoding,
    pub characters: usize,
    pub segments: usize,
    /// The distinct characters that forced UCS-2, in order of first use.
    pub non_gsm_characters: Vec<char>,
}

fn gsm_cost(c: char) -> Option<usize> {
    if GSM_BASIC.contains(c) {
        Some(1)
    } else if GSM_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

pub fn count_segments(body: &str) -> SegmentCount {
    let characters = body.chars().count();
    let mut seen = BTreeSet::new();
    let non_gsm_characters: Vec<char> = body
        .chars()
        .filter(|c| gsm_cost(*c).is_none() && seen.insert(*c))
        .collect();
    let (encoding, costs): (Encoding, Vec<usize>) = if non_gsm_characters.is_empty() {
        (Encoding::Gsm7, body.chars().filter_map(gsm_cost).collect())
    } else {
        (Encoding::Ucs2, body.chars().map(char::len_utf16).collect())
    };
    let (single, per_part) = match encoding {
        Encoding::Gsm7 => (160, 153),
        Encoding::Ucs2 => (70, 67),
    };
    let total: usize = costs.iter().sum();
    let segments = if total == 0 {
        0
    } else if total <= single {
        1
    } else {
        // Greedy packing: a two-unit character that does not fit starts a new part.
        let mut segments = 1;
        let mut used = 0;
        for cost in costs {
            if used + cost > per_part {
                segments += 1;
                used = 0;
            }
            used += cost;
        }
        segments
    };
    SegmentCount {
        encoding,
        characters,
        segments,
        non_gsm_characters,
    }
}

/// One `{name}` or `{name|fallback}` in a message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    pub name: String,
    pub fallback: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Placeholder(Placeholder),
}

/// A message body with its placeholders found once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A rendered message would be longer than allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the message would be longer than {max} characters")]
pub struct TooLong {
    pub max: usize,
}

impl Template {
    /// Braces that do not form a placeholder (`{ }`, `{Name}`) are kept as
    /// text. One pass over the body: the innermost `{...}` before each `}`
    /// is the candidate, so no input makes parsing slower than linear.
    pub fn parse(body: &str) -> Self {
        let mut pieces = Vec::new();
        let mut text_from = 0;
        let mut open: Option<usize> = None;
        for (at, c) in body.char_indices() {
            match c {
                '{' => open = Some(at),
                '}' => {
                    let Some(start) = open.take() else { continue };
                    let inner = &body[start + 1..at];
                    let (name, fallback) = match inner.split_once('|') {
                        Some((name, fallback)) => (name.trim(), Some(fallback.to_owned())),
                        None => (inner.trim(), None),
                    };
                    if !is_name(name) {
                        continue;
                    }
                    if start > text_from {
                        pieces.push(Piece::Text(body[text_from..start].to_owned()));
                    }
                    pieces.push(Piece::Placeholder(Placeholder {
                        name: name.to_owned(),
                        fallback,
                    }));
                    text_from = at + 1;
                }
                _ => {}
            }
        }
        if text_from < body.len() {
            pieces.push(Piece::Text(body[text_from..].to_owned()));
        }
        Self { pieces }
    }

    pub fn placeholders(&self) -> impl Iterator<Item = &Placeholder> {
        self.pieces.iter().filter_map(|piece| match piece {
            Piece::Placeholder(p) => Some(p),
            Piece::Text(_) => None,
        })
    }

    /// Fills each placeholder from `field` (a recipient's column), or its
    /// fallback when the recipient has no value for it. Stops as soon as
    /// the message passes `max_chars`: the work is bounded by the limit,
    /// whatever the values.
    pub fn render<'a>(
        &self,
        field: impl Fn(&str) -> Option<&'a str>,
        max_chars: usize,
    ) -> Result<String, TooLong> {
        let mut out = String::new();
        let mut chars = 0;
        for piece in &self.pieces {
            let part = match piece {
                Piece::Text(text) => text.as_str(),
                Piece::Placeholder(p) => field(&p.name)
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| p.fallback.as_deref().unwrap_or_default()),
            };
            // Counting stops one past the limit: never more than the limit's work.
            chars += part.chars().take(max_chars + 1 - chars).count();
            if chars > max_chars {
                return Err(TooLong { max: max_chars });
            }
            out.push_str(part);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(body: &str) -> (Encoding, usize) {
        let c = count_segments(body);
        (c.encoding, c.segments)
    }

    #[test]
    fn known_gsm_7_and_ucs_2_cases() {
        use Encoding::*;
        let cases: Vec<(String, (Encoding, usize))> = vec![
            (String::new(), (Gsm7, 0)),
            ("Hello".into(), (Gsm7, 1)),
            ("a".repeat(160), (Gsm7, 1)),
            ("a".repeat(161), (Gsm7, 2)),
            ("a".repeat(306), (Gsm7, 2)),
            ("a".repeat(307), (Gsm7, 3)),
            // The euro sign is in the extension table: two septets each.
            ("€".repeat(80), (Gsm7, 1)),
            // 162 septets: 76 euros fill 152 of a part's 153, the 77th
            // (escape and all) moves to the next part.
            ("€".repeat(81), (Gsm7, 2)),
            ("€".repeat(153), (Gsm7, 3)),
            ("你".repeat(70), (Ucs2, 1)),
            ("你".repeat(71), (Ucs2, 2)),
            ("你".repeat(134), (Ucs2, 2)),
            ("你".repeat(135), (Ucs2, 3)),
            // Emoji are two UTF-16 units and are not split.
            ("😀".repeat(35), (Ucs2, 1)),
            ("😀".repeat(36), (Ucs2, 2)),
            ("😀".repeat(67), (Ucs2, 3)),
            // One non-GSM character turns the whole message into UCS-2.
            (format!("{}ç", "a".repeat(69)), (Ucs2, 1)),
            (format!("{}ç", "a".repeat(70)), (Ucs2, 2)),
        ];
        for (body, expected) in cases {
            assert_eq!(
                count(&body),
                expected,
                "{} chars of {:?}",
                body.chars().count(),
                body.chars().next()
            );
        }
    }

    #[test]
    fn the_characters_that_force_ucs_2_are_named_once_each() {
        let c = count_segments("Café ça va? ça! 😀");
        assert_eq!(c.encoding, Encoding::Ucs2);
        assert_eq!(c.non_gsm_characters, vec!['ç', '😀']);
        assert!(count_segments("Café").non_gsm_characters.is_empty());
    }

    #[test]
    fn placeholders_render_values_or_their_fallback() {
        let template =
            Template::parse("Hi {first_name|there}, {last_name} — see {url}. {Not one} {}");
        let names: Vec<_> = template.placeholders().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["first_name", "last_name", "url"]);

        let fields = |name: &str| match name {
            "first_name" => Some("Ada"),
            "url" => Some("example.org"),
            _ => None,
        };
        assert_eq!(
            template.render(fields, 1600).unwrap(),
            "Hi Ada,  — see example.org. {Not one} {}"
        );
        assert_eq!(
            template.render(|_| None, 1600).unwrap(),
            "Hi there,  — see . {Not one} {}"
        );
        assert_eq!(
            template.render(|_| Some("  "), 1600).unwrap(),
            "Hi there,  — see . {Not one} {}"
        );
    }

    #[test]
    fn a_body_without_placeholders_renders_to_itself() {
        for body in ["", "plain", "{", "}{", "a {b", "{{first_name}}"] {
            let rendered = Template::parse(body).render(|_| Some("X"), 1600).unwrap();
            let expected = body.replace("{first_name}", "X");
            assert_eq!(rendered, expected, "{body:?}");
        }
    }

    #[test]
    fn rendering_stops_at_the_limit_whatever_the_values() {
        let template = Template::parse(&"{a}".repeat(500));
        let long = "x".repeat(50_000);

        assert_eq!(
            template.render(|_| Some(long.as_str()), 1600),
            Err(TooLong { max: 1600 })
        );
        let exactly = Template::parse("{a}b").render(|_| Some("a"), 2);
        assert_eq!(exactly.as_deref(), Ok("ab"));
        assert!(Template::parse("{a}bc").render(|_| Some("a"), 2).is_err());
    }

    #[test]
    fn braces_that_never_close_parse_in_one_pass() {
        let body = "{".repeat(100_000);
        let template = Template::parse(&body);
        assert_eq!(template.placeholders().count(), 0);
        let nested = Template::parse("{{first_name}} {a|b{c}");
        let names: Vec<_> = nested.placeholders().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["first_name", "c"]);
    }
}
