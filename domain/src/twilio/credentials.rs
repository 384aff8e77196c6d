//! The three values an Org Admin types into the Twilio Integration panel,
//! parsed once at the edge. Surrounding whitespace from copy-paste is
//! trimmed, not an error.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// Twilio's Account SID: `AC` followed by 32 hex digits. Not a secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountSid(String);

/// Twilio's Messaging Service SID: `MG` followed by 32 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessagingServiceSid(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSid {
    #[error("Enter the {what}.")]
    Empty { what: &'static str },
    #[error(
        "The {what} starts with {prefix} followed by 32 letters a–f and digits (34 characters in all); check that you copied all of it."
    )]
    Malformed {
        what: &'static str,
        prefix: &'static str,
    },
}

fn parse_sid(raw: &str, prefix: &'static str, what: &'static str) -> Result<String, InvalidSid> {
    let sid = raw.trim();
    if sid.is_empty() {
        return Err(InvalidSid::Empty { what });
    }
    let well_formed = sid.len() == 34
        && sid.starts_with(prefix)
        && sid[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed {
        return Err(InvalidSid::Malformed { what, prefix });
    }
    Ok(sid.to_owned())
}

impl AccountSid {
    pub fn parse(raw: &str) -> Result<Self, InvalidSid> {
        parse_sid(raw, "AC", "Account SID").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl MessagingServiceSid {
    pub fn parse(raw: &str) -> Result<Self, InvalidSid> {
        parse_sid(raw, "MG", "Messaging Service SID").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for MessagingServiceSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Twilio's Auth Token. It has no `Display` and no `Serialize`, its `Debug`
/// is redacted and its memory is zeroed on drop: it can only reach the
/// encrypted column and the Authorization header to Twilio.
#[derive(Clone)]
pub struct AuthToken(SecretString);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAuthToken {
    #[error("Enter the Auth Token.")]
    Empty,
    #[error("The Auth Token cannot contain spaces; check that you copied only the token.")]
    InnerWhitespace,
    #[error("That is too long to be an Auth Token (at most {max} characters).", max = AuthToken::MAX_LEN)]
    TooLong,
}

impl AuthToken {
    /// Twilio's tokens are 32 hex characters in practice, but that is not a
    /// documented contract, so only the length is bounded.
    pub const MAX_LEN: usize = 256;

    pub fn parse(raw: SecretString) -> Result<Self, InvalidAuthToken> {
        let token = raw.expose_secret().trim();
        if token.is_empty() {
            return Err(InvalidAuthToken::Empty);
        }
        if token.len() > Self::MAX_LEN {
            return Err(InvalidAuthToken::TooLong);
        }
        if token.chars().any(char::is_whitespace) {
            return Err(InvalidAuthToken::InnerWhitespace);
        }
        if token.len() == raw.expose_secret().len() {
            return Ok(Self(raw));
        }
        Ok(Self(SecretString::from(token.to_owned())))
    }

    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthToken([REDACTED])")
    }
}

// The compiler, not discipline, keeps the token out of responses and logs.
static_assertions::assert_not_impl_any!(AuthToken: serde::Serialize, fmt::Display);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const AC: &str = "AC0123456789abcdef0123456789ABCDEF";

    #[test]
    fn a_pasted_account_sid_is_trimmed() {
        assert_eq!(
            AccountSid::parse(&format!("  {AC}\n")).unwrap().as_str(),
            AC
        );
    }

    #[test]
    fn sids_with_the_wrong_prefix_or_length_are_refused() {
        assert!(matches!(
            AccountSid::parse(""),
            Err(InvalidSid::Empty { .. })
        ));
        assert!(AccountSid::parse(&AC.replace("AC", "MG")).is_err());
        assert!(AccountSid::parse(&AC[..33]).is_err());
        assert!(AccountSid::parse(&format!("{AC}0")).is_err());
        assert!(AccountSid::parse(&AC.replace('f', "g")).is_err());
        assert!(MessagingServiceSid::parse(AC).is_err());
        assert!(MessagingServiceSid::parse(&AC.replace("AC", "MG")).is_ok());
    }

    #[test]
    fn auth_tokens_are_trimmed_and_must_not_be_blank_or_contain_spaces() {
        let token = AuthToken::parse(" abc123 \n".to_owned().into()).unwrap();
        assert_eq!(token.expose_secret(), "abc123");
        assert_eq!(
            AuthToken::parse("   ".to_owned().into()).err(),
            Some(InvalidAuthToken::Empty)
        );
        assert_eq!(
            AuthToken::parse("abc 123".to_owned().into()).err(),
            Some(InvalidAuthToken::InnerWhitespace)
        );
        assert_eq!(
            AuthToken::parse("a".repeat(257).into()).err(),
            Some(InvalidAuthToken::TooLong)
        );
    }

    #[test]
    fn an_auth_token_never_shows_in_debug_output() {
        let token = AuthToken::parse("0123456789abcdef0123456789abcdef".to_owned().into()).unwrap();
        assert_eq!(format!("{token:?}"), "AuthToken([REDACTED])");
    }

    proptest! {
        #[test]
        fn every_well_formed_account_sid_parses_whatever_the_surrounding_whitespace(
            hex in "[0-9a-fA-F]{32}", before in "[ \t\n]{0,3}", after in "[ \t\n]{0,3}"
        ) {
            let sid = format!("AC{hex}");
            let parsed = AccountSid::parse(&format!("{before}{sid}{after}")).unwrap();
            prop_assert_eq!(parsed.as_str(), sid.as_str());
        }

        #[test]
        fn no_sid_with_a_non_hex_character_parses(hex in "[0-9a-f]{31}", bad in "[g-zG-Z_\\-!]") {
            let sid = format!("MG{hex}{bad}");
            prop_assert!(MessagingServiceSid::parse(&sid).is_err());
        }

        #[test]
        fn any_token_without_whitespace_round_trips(token in "[!-~]{1,256}") {
            let parsed = AuthToken::parse(token.clone().into()).unwrap();
            prop_assert_eq!(parsed.expose_secret(), token.as_str());
        }
    }
}
