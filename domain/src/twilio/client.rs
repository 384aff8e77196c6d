//! The Twilio REST calls Outreach makes, with typed errors.
//!
//! Shapes follow Twilio's OpenAPI specs (`../shared/twilio-oai`). Only the
//! fields Outreach needs are deserialised; in particular the account fetch's
//! `auth_token` is never read into memory as a value, nor logged.

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;

use crate::sms_settings::credentials::{AccountSid, AuthToken, MessagingServiceSid};

pub const DEFAULT_API_BASE_URL: &str = "https://api.twilio.com";
pub const DEFAULT_MESSAGING_BASE_URL: &str = "https://messaging.twilio.com";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwilioError {
    /// 401 / 20003: the token is wrong, rotated, or not this account's.
    #[error("Twilio rejected the Account SID and Auth Token (20003)")]
    CredentialsRejected,
    /// 404 / 20404.
    #[error("Twilio has no such resource (20404)")]
    NotFound,
    /// 403: authenticated, but not allowed to use this resource.
    #[error("Twilio refused access to the resource (403{})", code.map(|c| format!(", {c}")).unwrap_or_default())]
    Forbidden { code: Option<u64> },
    /// 429 / 20429: too many concurrent requests; safe to retry later.
    #[error("Twilio is rate limiting requests (20429)")]
    RateLimited,
    #[error("Twilio answered {status}{}: {message}", code.map(|c| format!(" with error {c}")).unwrap_or_default())]
    Api {
        status: u16,
        code: Option<u64>,
        message: String,
    },
    /// No answer: connection refused, reset or timed out.
    #[error("Twilio could not be reached: {0}")]
    Unreachable(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Suspended,
    Closed,
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountType {
    Trial,
    Full,
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub sid: String,
    pub friendly_name: String,
    pub status: AccountStatus,
    pub kind: AccountType,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagingService {
    pub sid: String,
    pub account_sid: String,
    pub friendly_name: String,
}

#[derive(Deserialize)]
struct AccountBody {
    sid: String,
    #[serde(default)]
    friendly_name: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct ServiceBody {
    sid: String,
    account_sid: String,
    #[serde(default)]
    friendly_name: Option<String>,
}

#[derive(Deserialize)]
struct PhoneNumberPage {
    #[serde(default)]
    phone_numbers: Vec<PhoneNumberBody>,
    #[serde(default)]
    meta: Option<PageMeta>,
}

#[derive(Deserialize)]
struct PhoneNumberBody {
    phone_number: String,
}

#[derive(Deserialize)]
struct PageMeta {
    next_page_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TwilioClient {
    http: reqwest::Client,
    api_base: String,
    messaging_base: String,
}

impl TwilioClient {
    pub fn new(api_base: &str, messaging_base: &str, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .timeout(timeout)
            .user_agent(concat!("outreach/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a reqwest client with rustls builds");
        Self {
            http,
            api_base: api_base.trim_end_matches('/').to_owned(),
            messaging_base: messaging_base.trim_end_matches('/').to_owned(),
        }
    }

    /// Base URLs from `TWILIO_API_BASE_URL` and `TWILIO_MESSAGING_BASE_URL`.
    pub fn from_env(timeout: Duration) -> Self {
        let var = |key: &str, default: &str| {
            std::env::var(key)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        Self::new(
            &var("TWILIO_API_BASE_URL", DEFAULT_API_BASE_URL),
            &var("TWILIO_MESSAGING_BASE_URL", DEFAULT_MESSAGING_BASE_URL),
            timeout,
        )
    }

    /// `GET /2010-04-01/Accounts/{AC}.json`
    pub async fn fetch_account(
        &self,
        sid: &AccountSid,
        token: &AuthToken,
    ) -> Result<Account, TwilioError> {
        let url = format!("{}/2010-04-01/Accounts/{sid}.json", self.api_base);
        let body: AccountBody = self.get_json(&url, sid, token).await?;
        Ok(Account {
            sid: body.sid,
            friendly_name: body.friendly_name.unwrap_or_default(),
            status: match body.status.as_deref() {
                Some("active") => AccountStatus::Active,
                Some("suspended") => AccountStatus::Suspended,
                Some("closed") => AccountStatus::Closed,
                other => AccountStatus::Other(other.unwrap_or_default().to_owned()),
            },
            kind: match body.kind.as_deref() {
                Some("Trial") => AccountType::Trial,
                Some("Full") => AccountType::Full,
                other => AccountType::Other(other.unwrap_or_default().to_owned()),
            },
        })
    }

    /// `GET {messaging}/v1/Services/{MG}`
    pub async fn fetch_messaging_service(
        &self,
        sid: &AccountSid,
        token: &AuthToken,
        service: &MessagingServiceSid,
    ) -> Result<MessagingService, TwilioError> {
        let url = format!("{}/v1/Services/{service}", self.messaging_base);
        let body: ServiceBody = self.get_json(&url, sid, token).await?;
        Ok(MessagingService {
            sid: body.sid,
            account_sid: body.account_sid,
            friendly_name: body.friendly_name.unwrap_or_default(),
        })
    }

    /// `GET {messaging}/v1/Services/{MG}/PhoneNumbers`, every page (up to
    /// `max_pages` of 50).
    pub async fn list_phone_numbers(
        &self,
        sid: &AccountSid,
        token: &AuthToken,
        service: &MessagingServiceSid,
        max_pages: usize,
    ) -> Result<Vec<String>, TwilioError> {
        let mut url = format!(
            "{}/v1/Services/{service}/PhoneNumbers?PageSize=50",
            self.messaging_base
        );
        let mut numbers = Vec::new();
        for _ in 0..max_pages {
            let page: PhoneNumberPage = self.get_json(&url, sid, token).await?;
            numbers.extend(page.phone_numbers.into_iter().map(|n| n.phone_number));
            match page.meta.and_then(|m| m.next_page_url) {
                // Twilio's next-page URLs are absolute and on the same host.
                Some(next) if !next.is_empty() => url = self.same_host(&next),
                _ => break,
            }
        }
        Ok(numbers)
    }

    /// Keeps paging on the configured host even if a page names another.
    fn same_host(&self, next: &str) -> String {
        match next.find("/v1/") {
            Some(at) => format!("{}{}", self.messaging_base, &next[at..]),
            None => next.to_owned(),
        }
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        url: &str,
        sid: &AccountSid,
        token: &AuthToken,
    ) -> Result<T, TwilioError> {
        let response = self
            .http
            .get(url)
            .basic_auth(sid.as_str(), Some(token.expose_secret()))
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| TwilioError::Unreachable(describe_transport_error(&e)))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| TwilioError::Unreachable(describe_transport_error(&e)))?;
        if !status.is_success() {
            return Err(classify_error(status, &body));
        }
        serde_json::from_slice(&body).map_err(|e| TwilioError::Api {
            status: status.as_u16(),
            code: None,
            message: format!("unexpected response body: {e}"),
        })
    }
}

fn describe_transport_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "the request timed out".to_owned()
    } else if error.is_connect() {
        "the connection failed".to_owned()
    } else {
        // Never include the URL's credentials: reqwest does not put Basic
        // auth in its messages, and the URLs carry none.
        error.to_string()
    }
}

/// Maps an error response to what the caller can act on. Twilio's body is
/// `{"code","message","more_info","status"}`, parsed leniently: any of it
/// may be missing, and the HTTP status is the fallback.
pub(crate) fn classify_error(status: StatusCode, body: &[u8]) -> TwilioError {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let code = parsed.as_ref().and_then(|v| match v.get("code")? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("message")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    match (status.as_u16(), code) {
        (_, Some(20003)) | (401, _) => TwilioError::CredentialsRejected,
        (_, Some(20429)) | (429, _) => TwilioError::RateLimited,
        (403, code) => TwilioError::Forbidden { code },
        (_, Some(20404)) | (404, _) => TwilioError::NotFound,
        (status, code) => TwilioError::Api {
            status,
            code,
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_error_bodies_map_to_what_the_caller_can_act_on() {
        let cases: [(u16, &str, TwilioError); 8] = [
            (
                401,
                r#"{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}"#,
                TwilioError::CredentialsRejected,
            ),
            (401, "", TwilioError::CredentialsRejected),
            (
                404,
                r#"{"code":20404,"message":"The requested resource /Services/MG… was not found","status":404}"#,
                TwilioError::NotFound,
            ),
            (
                403,
                r#"{"code":20403,"message":"Permission denied","status":403}"#,
                TwilioError::Forbidden { code: Some(20403) },
            ),
            (
                429,
                r#"{"code":"20429","message":"Too Many Requests"}"#,
                TwilioError::RateLimited,
            ),
            (
                400,
                r#"{"code":21211,"message":"Invalid 'To' Phone Number","status":400}"#,
                TwilioError::Api {
                    status: 400,
                    code: Some(21211),
                    message: "Invalid 'To' Phone Number".into(),
                },
            ),
            (
                500,
                "<html>oops</html>",
                TwilioError::Api {
                    status: 500,
                    code: None,
                    message: "Internal Server Error".into(),
                },
            ),
            (
                503,
                r#"{"message":"busy"}"#,
                TwilioError::Api {
                    status: 503,
                    code: None,
                    message: "busy".into(),
                },
            ),
        ];
        for (status, body, expected) in cases {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(
                classify_error(status, body.as_bytes()),
                expected,
                "{status} {body}"
            );
        }
    }
}
