//! The Twilio REST calls Outreach makes, with typed errors.
//!
//! Shapes follow Twilio's OpenAPI specs (`../shared/twilio-oai`). Only the
//! fields Outreach needs are deserialised; in particular the account fetch's
//! `auth_token` is never read into memory as a value, nor logged.

use std::{sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use http::{HeaderValue, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use reqwest::StatusCode;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::twilio::credentials::{AccountSid, AuthToken, MessagingServiceSid};

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

pub struct OutgoingMessage<'a> {
    pub to: &'a str,
    pub body: &'a str,
    pub messaging_service_sid: &'a str,
    /// Where Twilio posts the message's statuses; empty for none (a test
    /// message, which no campaign tracks).
    pub status_callback: &'a str,
    /// `ValidityPeriod`: how long (1 to 36,000 seconds) Twilio may keep it
    /// queued before dropping it unsent; Twilio's default when `None`.
    pub validity_period: Option<u32>,
}

/// The form Twilio's Create Message takes; optional fields only when set.
fn message_form<'a>(
    message: &'a OutgoingMessage<'a>,
    validity: &'a Option<String>,
) -> Vec<(&'static str, &'a str)> {
    let mut form = vec![
        ("To", message.to),
        ("Body", message.body),
        ("MessagingServiceSid", message.messaging_service_sid),
    ];
    if !message.status_callback.is_empty() {
        form.push(("StatusCallback", message.status_callback));
    }
    if let Some(seconds) = validity {
        form.push(("ValidityPeriod", seconds.as_str()));
    }
    form
}

pub struct MessageSearch<'a> {
    pub to: &'a str,
    pub body: &'a str,
    pub messaging_service_sid: &'a str,
    /// Unix seconds; messages created earlier are someone else's.
    pub since: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedMessage {
    /// `SM...`
    pub sid: String,
    /// `accepted`, `queued`, ...
    pub status: String,
    /// Set when Twilio reports the message failed or undelivered.
    pub error_code: Option<u64>,
    pub error_message: Option<String>,
    /// When Twilio created (or, inbound, received) it: Unix seconds.
    pub created_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Twilio answered and did not create the message.
    #[error(transparent)]
    Rejected(TwilioError),
    /// The connection never opened: nothing reached Twilio.
    #[error("Twilio could not be reached: {0}")]
    NotSent(String),
    /// The request may have reached Twilio (timeout, reset, 5xx): the
    /// message may or may not exist.
    #[error("the outcome is unknown: {0}")]
    OutcomeUnknown(String),
}

#[derive(Deserialize)]
struct MessageBody {
    sid: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    messaging_service_sid: Option<String>,
    #[serde(default)]
    date_created: Option<String>,
    #[serde(default)]
    error_code: Option<u64>,
    #[serde(default)]
    error_message: Option<String>,
}

impl From<MessageBody> for AcceptedMessage {
    fn from(body: MessageBody) -> Self {
        Self {
            sid: body.sid,
            status: body.status.unwrap_or_default(),
            error_code: body.error_code,
            error_message: body.error_message,
            created_at: body.date_created.as_deref().and_then(parse_rfc2822),
        }
    }
}

#[derive(Deserialize)]
struct MessagePage {
    #[serde(default)]
    messages: Vec<MessageBody>,
}

/// Twilio's dates: `Thu, 26 Nov 2026 12:00:00 +0000`.
fn parse_rfc2822(raw: &str) -> Option<i64> {
    time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc2822)
        .ok()
        .map(|t| t.unix_timestamp())
}

#[derive(Debug, Clone)]
pub struct TwilioClient {
    http: reqwest::Client,
    /// Create Message, the call made for every message a campaign sends,
    /// goes through hyper's pooled client without reqwest's layers around
    /// it (the URL parsed into a `Url` and again into a `Uri`, the redirect
    /// and retry layers, the pending request): 13 % of the async workers'
    /// time while a campaign was sent (BENCHMARKS.md). Same TLS (rustls,
    /// ring, the webpki roots), same timeouts, no redirects.
    sends: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
    api_base: String,
    messaging_base: String,
}

const USER_AGENT: &str = concat!("outreach/", env!("CARGO_PKG_VERSION"));

/// A Twilio base URL Outreach will not send credentials to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0} is not an https:// URL: Outreach sends the Auth Token to Twilio, so only https is allowed (or http to this machine, for the simulator)"
)]
pub struct InsecureBaseUrl(pub String);

/// `https://…`, or `http://` to a loopback address (the local simulator).
pub fn check_base_url(url: &str) -> Result<(), InsecureBaseUrl> {
    let lower = url.trim().to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Ok(());
    }
    let host = lower
        .strip_prefix("http://")
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default())
        .map(|authority| {
            match authority.strip_prefix('[') {
                // [::1]:3010
                Some(v6) => v6.split(']').next().unwrap_or_default().to_owned(),
                None => authority
                    .rsplit_once(':')
                    .map_or(authority, |(h, _)| h)
                    .to_owned(),
            }
        });
    let loopback = host.is_some_and(|host| {
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    if loopback {
        Ok(())
    } else {
        Err(InsecureBaseUrl(url.to_owned()))
    }
}

/// The most of an answer Outreach reads from Twilio: its JSON is small.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

impl TwilioClient {
    /// Follows no redirects (the Authorization header must never go
    /// anywhere else), and refuses base URLs that are not https.
    pub fn new(
        api_base: &str,
        messaging_base: &str,
        timeout: Duration,
    ) -> Result<Self, InsecureBaseUrl> {
        check_base_url(api_base)?;
        check_base_url(messaging_base)?;
        let connect_timeout = timeout.min(Duration::from_secs(5));
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .build()
            .expect("a reqwest client with rustls builds");
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect_timeout));
        // As reqwest sets it: a request is written at once, not held back
        // until the previous one's segments are acknowledged (Nagle).
        connector.set_nodelay(true);
        // https URLs are for the TLS layer around it.
        connector.enforce_http(false);
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(Arc::new(rustls::crypto::ring::default_provider()))
            .expect("ring offers the TLS versions rustls asks for")
            // Plain http only where `check_base_url` let it: to this machine.
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let sends = Client::builder(hyper_util::rt::TokioExecutor::new()).build(tls);
        Ok(Self {
            http,
            sends,
            timeout,
            api_base: api_base.trim_end_matches('/').to_owned(),
            messaging_base: messaging_base.trim_end_matches('/').to_owned(),
        })
    }

    /// `GET /2010-04-01/Accounts/{AC}.json`
    pub async fn fetch_account(
        &self,
        sid: &AccountSid,
        token: &AuthToken,
    ) -> Result<Account, TwilioError> {
        let url = format!("{}/2010-04-01/Accounts/{sid}.json", self.api_base);
        let body: AccountBody = self.get_json("fetch_account", &url, sid, token).await?;
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
        let body: ServiceBody = self
            .get_json("fetch_messaging_service", &url, sid, token)
            .await?;
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
            let page: PhoneNumberPage = self
                .get_json("list_phone_numbers", &url, sid, token)
                .await?;
            numbers.extend(page.phone_numbers.into_iter().map(|n| n.phone_number));
            match page.meta.and_then(|m| m.next_page_url) {
                // Twilio's next-page URLs are absolute and on the same host.
                Some(next) if !next.is_empty() => url = self.same_host(&next),
                _ => break,
            }
        }
        Ok(numbers)
    }

    /// `POST /2010-04-01/Accounts/{AC}/Messages.json` through a Messaging
    /// Service. Twilio has no idempotency key, so the error says whether the
    /// message was certainly not created (safe to send again) or whether
    /// nobody knows.
    pub async fn send_message(
        &self,
        sid: &AccountSid,
        token: &AuthToken,
        message: &OutgoingMessage<'_>,
    ) -> Result<AcceptedMessage, SendError> {
        let url = format!("{}/2010-04-01/Accounts/{sid}/Messages.json", self.api_base);
        let started = std::time::Instant::now();
        let answered = self.post_message(&url, sid, token, message).await;
        crate::metrics::twilio_request("send_message", started);
        let (status, body) = answered?;
        if status.is_server_error() {
            return Err(SendError::OutcomeUnknown(format!(
                "Twilio answered {}",
                status.as_u16()
            )));
        }
        if !status.is_success() {
            return Err(SendError::Rejected(classify_error(status, &body)));
        }
        let created: MessageBody = serde_json::from_slice(&body).map_err(|_| {
            SendError::OutcomeUnknown("Twilio's answer could not be read".to_owned())
        })?;
        Ok(created.into())
    }

    async fn post_message(
        &self,
        url: &str,
        sid: &AccountSid,
        token: &AuthToken,
        message: &OutgoingMessage<'_>,
    ) -> Result<(StatusCode, Vec<u8>), SendError> {
        let validity = message.validity_period.map(|seconds| seconds.to_string());
        let form =
            serde_urlencoded::to_string(message_form(message, &validity)).expect("strings encode");
        // The token in the clear only as long as it takes to encode it.
        let credentials = Zeroizing::new(format!("{sid}:{}", token.expose_secret()));
        let mut authorization =
            HeaderValue::try_from(format!("Basic {}", STANDARD.encode(credentials.as_bytes())))
                .map_err(|_| {
                    SendError::NotSent("the credentials cannot be sent in a header".to_owned())
                })?;
        // Kept out of any debug output of the request.
        authorization.set_sensitive(true);
        let request = http::Request::post(url)
            .header(header::AUTHORIZATION, authorization)
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::USER_AGENT, USER_AGENT)
            .body(Full::new(Bytes::from(form)))
            .map_err(|_| SendError::NotSent("the request could not be made".to_owned()))?;
        let exchange = async {
            let response = self.sends.request(request).await.map_err(|e| {
                // Only a connection that never opened proves nothing was sent.
                if e.is_connect() {
                    SendError::NotSent("the connection failed".to_owned())
                } else {
                    SendError::OutcomeUnknown("the request failed".to_owned())
                }
            })?;
            let status = response.status();
            let body = read_answer(response.into_body())
                .await
                .map_err(|_| SendError::OutcomeUnknown("the answer was cut off".to_owned()))?;
            Ok((status, body))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(SendError::OutcomeUnknown(
                    "the request timed out".to_owned(),
                ))
            })
    }

    /// `GET /2010-04-01/Accounts/{AC}/Messages/{SM}.json`: a message's
    /// current status, for one whose callbacks never came.
    pub async fn fetch_message(
        &self,
        sid: &AccountSid,
        token: &AuthToken,
        message_sid: &str,
    ) -> Result<AcceptedMessage, TwilioError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json",
            self.api_base
        );
        let body: MessageBody = self.get_json("fetch_message", &url, sid, token).await?;
        Ok(body.into())
    }

    /// Looks for a message Twilio created for `to` with this body through
    /// this service, no earlier than `since`: how a send whose answer was
    /// lost is reconciled. Reads the newest page (50) for that number.
    pub async fn find_message(
        &self,
        sid: &AccountSid,
        token: &AuthToken,
        search: &MessageSearch<'_>,
    ) -> Result<Option<AcceptedMessage>, TwilioError> {
        let query = serde_urlencoded::to_string([("To", search.to), ("PageSize", "50")])
            .expect("strings encode");
        let url = format!(
            "{}/2010-04-01/Accounts/{sid}/Messages.json?{query}",
            self.api_base
        );
        let page: MessagePage = self.get_json("find_message", &url, sid, token).await?;
        Ok(page
            .messages
            .into_iter()
            .find(|m| {
                m.body.as_deref() == Some(search.body)
                    && m.messaging_service_sid.as_deref() == Some(search.messaging_service_sid)
                    && m.date_created
                        .as_deref()
                        .and_then(parse_rfc2822)
                        .is_some_and(|created| created >= search.since)
            })
            .map(AcceptedMessage::from))
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
        operation: &'static str,
        url: &str,
        sid: &AccountSid,
        token: &AuthToken,
    ) -> Result<T, TwilioError> {
        let started = std::time::Instant::now();
        let answered = self.get(url, sid, token).await;
        crate::metrics::twilio_request(operation, started);
        let (status, body) = answered?;
        if !status.is_success() {
            return Err(classify_error(status, &body));
        }
        serde_json::from_slice(&body).map_err(|_| TwilioError::Api {
            status: status.as_u16(),
            code: None,
            message: "Twilio's answer could not be read".to_owned(),
        })
    }

    async fn get(
        &self,
        url: &str,
        sid: &AccountSid,
        token: &AuthToken,
    ) -> Result<(reqwest::StatusCode, Vec<u8>), TwilioError> {
        let response = self
            .http
            .get(url)
            .basic_auth(sid.as_str(), Some(token.expose_secret()))
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| TwilioError::Unreachable(describe_transport_error(&e)))?;
        let status = response.status();
        // Into its body: reqwest's timeouts stay on it.
        let body = read_answer(reqwest::Body::from(response))
            .await
            .map_err(|e| TwilioError::Unreachable(describe_transport_error(&e)))?;
        Ok((status, body))
    }
}

/// Reads an answer's body (reqwest's or hyper's) up to
/// [`MAX_ANSWER_BYTES`]; a longer one is cut off (and then fails to parse),
/// never read whole into memory.
async fn read_answer<B>(body: B) -> Result<Vec<u8>, B::Error>
where
    B: hyper::body::Body<Data = Bytes>,
{
    let mut body = std::pin::pin!(body);
    let mut read = Vec::new();
    while let Some(frame) = body.frame().await {
        // Trailers are not part of the answer.
        let Ok(chunk) = frame?.into_data() else {
            continue;
        };
        let room = MAX_ANSWER_BYTES - read.len();
        read.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if read.len() == MAX_ANSWER_BYTES {
            break;
        }
    }
    Ok(read)
}

/// What went wrong on the way, in words with no URL in them: URLs carry
/// account SIDs and, for look-ups, phone numbers.
fn describe_transport_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "the request timed out"
    } else if error.is_connect() {
        "the connection failed"
    } else if error.is_redirect() {
        "Twilio answered with a redirect, which Outreach does not follow"
    } else if error.is_body() || error.is_decode() {
        "the answer was cut off"
    } else {
        "the request failed"
    }
    .to_owned()
}

/// Hides the middle digits of anything that looks like a phone number
/// (seven digits or more), so Twilio's messages can be logged and shown.
pub fn redact_phone_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let is_part = |c: char| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.');
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !(chars[i].is_ascii_digit() || chars[i] == '+') {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let mut end = i;
        while end < chars.len() && is_part(chars[end]) {
            end += 1;
        }
        // Trailing separators are not part of the number.
        while end > i && !chars[end - 1].is_ascii_digit() {
            end -= 1;
        }
        let digits = chars[i..end].iter().filter(|c| c.is_ascii_digit()).count();
        if digits < 7 {
            out.extend(&chars[i..end.max(i + 1)]);
            i = end.max(i + 1);
            continue;
        }
        let mut seen = 0;
        for &c in &chars[i..end] {
            if c.is_ascii_digit() {
                seen += 1;
                out.push(if seen <= 3 || seen > digits - 2 {
                    c
                } else {
                    '•'
                });
            } else {
                out.push(c);
            }
        }
        i = end;
    }
    out
}

/// Maps an error response to what the caller can act on. Twilio's body is
/// `{"code","message","more_info","status"}`, parsed leniently: any of it
/// may be missing, and the HTTP status is the fallback.
pub fn classify_error(status: StatusCode, body: &[u8]) -> TwilioError {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let code = parsed.as_ref().and_then(|v| match v.get("code")? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    // Twilio's message may name the recipient's number: never kept whole.
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("message")?.as_str())
        .map(|m| redact_phone_numbers(&m.chars().take(500).collect::<String>()))
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
    fn only_https_or_loopback_base_urls_are_accepted() {
        for ok in [
            "https://api.twilio.com",
            "http://127.0.0.1:3010",
            "http://localhost:3010/",
            "http://[::1]:3010",
        ] {
            assert!(check_base_url(ok).is_ok(), "{ok}");
        }
        for refused in [
            "http://api.twilio.com",
            "http://10.0.0.5:3010",
            "ftp://127.0.0.1",
            "http://127.0.0.1.evil.example",
            "",
        ] {
            assert!(check_base_url(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn phone_numbers_in_twilio_messages_are_redacted() {
        assert_eq!(
            redact_phone_numbers("The 'To' number +14155552671 is not a valid phone number."),
            "The 'To' number +141••••••71 is not a valid phone number."
        );
        assert_eq!(
            redact_phone_numbers("Error 21211 at 10:30 for (415) 555-2671."),
            "Error 21211 at 10:30 for (415) •••-••71."
        );
        assert_eq!(redact_phone_numbers("code 20003"), "code 20003");
    }

    #[test]
    fn twilio_dates_are_read_as_unix_seconds() {
        assert_eq!(
            parse_rfc2822("Thu, 26 Nov 2026 22:30:00 +0000"),
            Some(1_795_732_200)
        );
        assert_eq!(parse_rfc2822("yesterday"), None);
    }

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
