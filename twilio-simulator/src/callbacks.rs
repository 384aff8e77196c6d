//! The carrier's side of a send: once a message's callback delay has
//! passed, its outcome is settled, and its status callbacks are posted,
//! signed as Twilio signs them, by a fixed number of posters (Twilio posts
//! with limited parallelism). Each poster posts one message's callbacks in
//! order before it takes the next message.
//!
//! Plain HTTP (the callback URL of a local Outreach, in tests, demo mode and
//! `scripts/bench-sending.sh`) goes over one kept-alive connection per
//! poster, written and read here: a form POST and its answer's status line
//! and length, the work `wrk` does for the benchmark's ceiling. Through
//! hyper's pooled client, with a task per message waiting for a slot, it
//! was half of the simulator's CPU while a campaign was sent, CPU that
//! Twilio spends on Twilio's machines, not on Outreach's (BENCHMARKS.md).
//! HTTPS, which only a simulator pointed at a remote Outreach posts to,
//! goes through reqwest.

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::http::Uri;
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::Instant,
};

use crate::{PostedCallback, SimMessage, State, with_state};

/// Callbacks posted at once, like the ceiling's `wrk -c32`.
const POSTERS: usize = 32;

/// A callback that has not been answered by then has failed.
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(15);

/// An answer's head larger than this is not an answer to a callback.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// An answer's body larger than this is not read: the connection is
/// closed instead of kept.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What the carrier reports about one accepted message.
pub(crate) struct Report {
    pub message: SimMessage,
    /// The statuses to post, in the order they are posted.
    pub statuses: Vec<(&'static str, Option<u64>)>,
    /// Where the carrier ends up, posted or not.
    pub outcome: (&'static str, Option<u64>),
    /// `None`: nobody is told (no callback URL, or callbacks are off).
    pub url: Option<String>,
    pub due: Instant,
}

/// Starts the carrier on the current runtime. Reports sent to the returned
/// sender are settled once due and their callbacks posted; the tasks end
/// when that sender is dropped.
pub(crate) fn start(state: Arc<Mutex<State>>) -> flume::Sender<Report> {
    let (reports, due_reports) = flume::unbounded();
    let (to_post, posts) = flume::unbounded();
    tokio::spawn(settle_when_due(state.clone(), due_reports, to_post));
    let tls = reqwest::Client::new();
    for _ in 0..POSTERS {
        tokio::spawn(post_callbacks(state.clone(), posts.clone(), tls.clone()));
    }
    reports
}

/// Reports come in the order messages were accepted. With one delay for
/// all, that is the order they are due; a shorter delay set meanwhile waits
/// behind the longer ones already accepted.
async fn settle_when_due(
    state: Arc<Mutex<State>>,
    reports: flume::Receiver<Report>,
    to_post: flume::Sender<Report>,
) {
    while let Ok(report) = reports.recv_async().await {
        if report.due > Instant::now() {
            tokio::time::sleep_until(report.due).await;
        }
        // The carrier's outcome is settled whether or not anyone hears.
        with_state(&state, |s| {
            let (status, error_code) = report.outcome;
            if let Some(record) = s
                .message_index
                .get(&report.message.sid)
                .and_then(|&at| s.messages.get_mut(at))
            {
                record.status = status.to_owned();
                record.error_code = error_code;
            }
        });
        if report.url.is_some() && to_post.send(report).is_err() {
            return;
        }
    }
}

async fn post_callbacks(
    state: Arc<Mutex<State>>,
    reports: flume::Receiver<Report>,
    tls: reqwest::Client,
) {
    let mut poster = Poster {
        plain: None,
        tls,
        request: Vec::new(),
    };
    while let Ok(report) = reports.recv_async().await {
        let Some(url) = &report.url else { continue };
        // Parsed once for all of the message's callbacks; a URL that is
        // not one gets no answer for any of them.
        let uri: Option<Uri> = url.parse().ok();
        let message = &report.message;
        for &(status, code) in &report.statuses {
            let code = code.map(|code| code.to_string());
            let mut params = vec![
                ("AccountSid", message.account_sid.as_str()),
                ("ApiVersion", "2010-04-01"),
                ("From", &message.from),
                ("MessageSid", &message.sid),
                ("MessageStatus", status),
                ("MessagingServiceSid", &message.messaging_service_sid),
                ("SmsSid", &message.sid),
                ("SmsStatus", status),
                ("To", &message.to),
            ];
            if let Some(code) = &code {
                params.push(("ErrorCode", code));
            }
            // Twilio signs with the account's current token.
            let token = with_state(&state, |s| {
                s.accounts
                    .get(&message.account_sid)
                    .map(|a| a.auth_token.clone())
            });
            let Some(token) = token else { break };
            let signature = sign(&token, url, &params);
            let answer = match &uri {
                Some(uri) => poster.post(url, uri, &signature, &params).await,
                None => None,
            };
            with_state(&state, |s| {
                s.posted.push(PostedCallback {
                    message_sid: message.sid.clone(),
                    status: status.to_owned(),
                    answer,
                })
            });
        }
    }
}

/// Twilio's request signature, computed here independently of Outreach's
/// verifier so that a mistake in one is not mirrored by the other.
fn sign(token: &str, url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted: Vec<_> = params.iter().collect();
    sorted.sort_unstable();
    let mut data = url.to_owned();
    for (name, value) in sorted {
        data.push_str(name);
        data.push_str(value);
    }
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).expect("any key length");
    mac.update(data.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// One poster's connections.
struct Poster {
    /// The plain-HTTP connection kept from the last callback, if any.
    plain: Option<Plain>,
    tls: reqwest::Client,
    /// The request being written, kept for its capacity.
    request: Vec<u8>,
}

impl Poster {
    /// Posts `params` as a form, signed, to `url` (parsed: `uri`); the
    /// answer's status, or `None` when none came (refused, timed out).
    async fn post(
        &mut self,
        url: &str,
        uri: &Uri,
        signature: &str,
        params: &[(&str, &str)],
    ) -> Option<u16> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        if uri.scheme() != Some(&axum::http::uri::Scheme::HTTP) {
            return self.post_tls(url, signature, body).await;
        }
        let authority = uri.authority()?;
        // Credentials in the URL are not the receiver's name.
        let host_and_port = authority.as_str().rsplit('@').next().unwrap_or_default();
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        self.request.clear();
        // Written straight into the kept buffer: a Vec's writes cannot fail.
        let _ = write!(
            self.request,
            "POST {path} HTTP/1.1\r\nHost: {host_and_port}\r\n\
             X-Twilio-Signature: {signature}\r\nUser-Agent: TwilioProxy/1.1\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let posted = tokio::time::timeout(CALLBACK_TIMEOUT, async {
            let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
            let port = uri.port_u16().unwrap_or(80);
            let kept = self
                .plain
                .take()
                .filter(|plain| plain.authority == authority.as_str());
            let reused = kept.is_some();
            let mut plain = match kept {
                Some(plain) => plain,
                None => Plain::connect(authority.as_str(), host, port).await?,
            };
            let answer = match plain.exchange(&self.request).await {
                // A kept connection the receiver closed meanwhile: once
                // more on a new one, as HTTP clients do.
                Err(Broken::BeforeAnswer) if reused => {
                    plain = Plain::connect(authority.as_str(), host, port).await?;
                    plain.exchange(&self.request).await
                }
                answer => answer,
            };
            let Answered { status, keep } = answer.ok()?;
            if keep {
                self.plain = Some(plain);
            }
            Some(status)
        })
        .await;
        posted.ok().flatten()
    }

    async fn post_tls(&self, url: &str, signature: &str, body: String) -> Option<u16> {
        let answer = self
            .tls
            .post(url)
            .header("X-Twilio-Signature", signature)
            .header("User-Agent", "TwilioProxy/1.1")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .timeout(CALLBACK_TIMEOUT)
            .send()
            .await
            .ok()?;
        Some(answer.status().as_u16())
    }
}

/// A connection to a callback URL's host, kept between callbacks while its
/// answers say where they end.
struct Plain {
    authority: String,
    stream: TcpStream,
    /// The answer being read, kept for its capacity.
    answer: Vec<u8>,
}

/// What came back for a request.
struct Answered {
    status: u16,
    /// The answer was read to its end and the connection may carry the
    /// next request.
    keep: bool,
}

enum Broken {
    /// Nothing came back: the request may not have been read.
    BeforeAnswer,
    /// The answer broke off or was not HTTP.
    DuringAnswer,
}

impl Plain {
    async fn connect(authority: &str, host: &str, port: u16) -> Option<Self> {
        let stream = TcpStream::connect((host, port)).await.ok()?;
        // A request is written at once, not held back until the previous
        // one's segments are acknowledged (Nagle).
        stream.set_nodelay(true).ok()?;
        Some(Self {
            authority: authority.to_owned(),
            stream,
            answer: Vec::with_capacity(1024),
        })
    }

    async fn exchange(&mut self, request: &[u8]) -> Result<Answered, Broken> {
        self.stream
            .write_all(request)
            .await
            .map_err(|_| Broken::BeforeAnswer)?;
        self.answer.clear();
        loop {
            let read = self.stream.read_buf(&mut self.answer).await;
            match read {
                Ok(0) | Err(_) if self.answer.is_empty() => return Err(Broken::BeforeAnswer),
                Ok(0) | Err(_) => return Err(Broken::DuringAnswer),
                Ok(_) => {}
            }
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut head = httparse::Response::new(&mut headers);
            let head_length = match head.parse(&self.answer) {
                Ok(httparse::Status::Complete(length)) => length,
                Ok(httparse::Status::Partial) if self.answer.len() < MAX_HEAD_BYTES => continue,
                _ => return Err(Broken::DuringAnswer),
            };
            let status = head.code.ok_or(Broken::DuringAnswer)?;
            if status < 200 {
                // No interim answers are asked for (no `Expect`).
                return Err(Broken::DuringAnswer);
            }
            let header = |name: &str| {
                head.headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case(name))
                    .map(|h| h.value)
            };
            let closes = head.version != Some(1)
                || header("connection").is_some_and(|v| v.eq_ignore_ascii_case(b"close"));
            let length = std::str::from_utf8(header("content-length").unwrap_or_default())
                .ok()
                .and_then(|length| length.trim().parse::<usize>().ok());
            // Chunked, or to the end of the connection, or large: the status
            // is all that is wanted, and the connection is not kept.
            let Some(length) = length
                .filter(|&length| length <= MAX_BODY_BYTES && !closes)
                .filter(|_| header("transfer-encoding").is_none())
            else {
                return Ok(Answered {
                    status,
                    keep: false,
                });
            };
            let end = head_length + length;
            while self.answer.len() < end {
                match self.stream.read_buf(&mut self.answer).await {
                    Ok(0) | Err(_) => return Err(Broken::DuringAnswer),
                    Ok(_) => {}
                }
            }
            return Ok(Answered {
                status,
                keep: self.answer.len() == end,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Twilio's own example (its security docs): this URL, these
    /// parameters and token give this signature.
    #[test]
    fn signs_as_twilio_documents() {
        let params = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ];
        assert_eq!(
            sign(
                "12345",
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                &params
            ),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
    }
}
