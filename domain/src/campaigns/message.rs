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

pub const MAX_BODY_CHARS: usize = 1600;

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

impl Template {
    /// Braces that do not form a placeholder (`{ }`, `{Name}`) are kept as text.
    pub fn parse(body: &str) -> Self {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = body;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let placeholder = after.find('}').and_then(|close| {
                let inner = &after[..close];
                let (name, fallback) = match inner.split_once('|') {
                    Some((name, fallback)) => (name.trim(), Some(fallback.to_owned())),
                    None => (inner.trim(), None),
                };
                is_name(name).then(|| {
                    (
                        Placeholder {
                            name: name.to_owned(),
                            fallback,
                        },
                        close,
                    )
                })
            });
            match placeholder {
                Some((placeholder, close)) => {
                    text.push_str(&rest[..open]);
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Placeholder(placeholder));
                    rest = &after[close + 1..];
                }
                None => {
                    text.push_str(&rest[..=open]);
                    rest = after;
                }
            }
        }
        text.push_str(rest);
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
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
    /// fallback when the recipient has no value for it.
    pub fn render<'a>(&self, field: impl Fn(&str) -> Option<&'a str>) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Placeholder(p) => {
                    match field(&p.name).map(str::trim).filter(|v| !v.is_empty()) {
                        Some(value) => out.push_str(value),
                        None => out.push_str(p.fallback.as_deref().unwrap_or_default()),
                    }
                }
            }
        }
        out
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
            template.render(fields),
            "Hi Ada,  — see example.org. {Not one} {}"
        );
        assert_eq!(template.render(|_| None), "Hi there,  — see . {Not one} {}");
        assert_eq!(
            template.render(|_| Some("  ")),
            "Hi there,  — see . {Not one} {}"
        );
    }

    #[test]
    fn a_body_without_placeholders_renders_to_itself() {
        for body in ["", "plain", "{", "}{", "a {b", "{{first_name}}"] {
            let rendered = Template::parse(body).render(|_| Some("X"));
            let expected = body.replace("{first_name}", "X");
            assert_eq!(rendered, expected, "{body:?}");
        }
    }
}
