//! `X-Twilio-Signature`: base64(HMAC-SHA1(auth token, URL + every posted
//! parameter's name and value, sorted by name)).
//!
//! Twilio signs the URL it was given, which may or may not spell out the
//! default port, so both spellings are accepted. The comparison is constant
//! time (`Mac::verify_slice`).

use std::borrow::Cow;

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

/// A form-encoded body's pairs, in order, borrowed from the body where no
/// decoding changes them. Bytes that are not UTF-8 become U+FFFD, so any
/// body parses; a forged one then fails its signature.
pub fn posted_pairs(body: &[u8]) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    form_urlencoded::parse(body).collect()
}

fn mac_over<K: AsRef<str>, V: AsRef<str>>(token: &[u8], url: &str, params: &[(K, V)]) -> HmacSha1 {
    let mut sorted: Vec<(&str, &str)> = params
        .iter()
        .map(|(name, value)| (name.as_ref(), value.as_ref()))
        .collect();
    sorted.sort_unstable();
    let mut mac = HmacSha1::new_from_slice(token).expect("HMAC takes a key of any length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// The signature Twilio would send for this request.
pub fn twilio_signature<K: AsRef<str>, V: AsRef<str>>(
    token: &[u8],
    url: &str,
    params: &[(K, V)],
) -> String {
    STANDARD.encode(mac_over(token, url, params).finalize().into_bytes())
}

/// `url` with its default port added or removed; `None` when it names
/// another port or a scheme without a default.
fn other_port_spelling(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    let other = match authority.rsplit_once(':') {
        Some((host, port)) if port == default_port => host.to_owned(),
        Some((_, port)) if port.chars().all(|c| c.is_ascii_digit()) => return None,
        _ => format!("{authority}:{default_port}"),
    };
    Some(format!("{scheme}://{other}{tail}"))
}

/// Whether `signature` is Twilio's for `url` (either spelling of its port)
/// and exactly these parameters. The other spelling is only made when the
/// URL as given does not verify: a callback's usual case costs one MAC.
pub fn verify_signature<K: AsRef<str>, V: AsRef<str>>(
    token: &[u8],
    url: &str,
    params: &[(K, V)],
    signature: &str,
) -> bool {
    let Ok(expected) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    let signs = |url: &str| mac_over(token, url, params).verify_slice(&expected).is_ok();
    signs(url) || other_port_spelling(url).is_some_and(|other| signs(&other))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn twilio_example() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const NONE: &[(&str, &str)] = &[];
    const SIGNATURE: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";

    #[test]
    fn twilios_published_example_signs_and_verifies() {
        assert_eq!(
            twilio_signature(b"12345", URL, &twilio_example()),
            SIGNATURE
        );
        assert!(verify_signature(
            b"12345",
            URL,
            &twilio_example(),
            SIGNATURE
        ));
    }

    #[test]
    fn parameter_order_does_not_matter() {
        let mut params = twilio_example();
        params.reverse();
        assert!(verify_signature(b"12345", URL, &params, SIGNATURE));
    }

    #[test]
    fn a_url_signed_with_or_without_the_default_port_verifies() {
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        let signed_with_port = twilio_signature(b"12345", with_port, &twilio_example());
        assert!(verify_signature(
            b"12345",
            URL,
            &twilio_example(),
            &signed_with_port
        ));
        assert!(verify_signature(
            b"12345",
            with_port,
            &twilio_example(),
            SIGNATURE
        ));

        let http = "http://example.org/hook";
        let signed = twilio_signature(b"k", "http://example.org:80/hook", NONE);
        assert!(verify_signature(b"k", http, NONE, &signed));
    }

    #[test]
    fn a_non_default_port_is_never_dropped() {
        assert_eq!(other_port_spelling("https://example.org:8443/x"), None);
        assert_eq!(
            other_port_spelling("https://example.org/x?a=1").as_deref(),
            Some("https://example.org:443/x?a=1")
        );
        let signed = twilio_signature(b"k", "https://example.org/x", NONE);
        assert!(!verify_signature(
            b"k",
            "https://example.org:8443/x",
            NONE,
            &signed
        ));
    }

    #[test]
    fn forged_or_altered_requests_are_rejected() {
        let params = twilio_example();
        // Wrong token.
        assert!(!verify_signature(b"54321", URL, &params, SIGNATURE));
        // Another URL (query changed).
        assert!(!verify_signature(
            b"12345",
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            &params,
            SIGNATURE
        ));
        // A parameter's value changed, one added, one removed.
        let mut changed = params.clone();
        changed[2].1 = "9999".to_owned();
        assert!(!verify_signature(b"12345", URL, &changed, SIGNATURE));
        let mut added = params.clone();
        added.push(("MessageStatus".to_owned(), "delivered".to_owned()));
        assert!(!verify_signature(b"12345", URL, &added, SIGNATURE));
        assert!(!verify_signature(b"12345", URL, &params[1..], SIGNATURE));
        // Missing, empty, garbage, truncated.
        for bad in [
            "",
            "not base64!",
            "RSOYDt4T1cUTdK1PDd93/VVr8B8",
            "RSOYDt4T1cUT",
        ] {
            assert!(!verify_signature(b"12345", URL, &params, bad), "{bad:?}");
        }
    }
}
