//! A local Twilio for tests and demo mode: a real HTTP server that speaks
//! the parts of Twilio's API that Outreach uses, faithful to Twilio (its
//! OpenAPI shapes and error bodies), not to our client.
//!
//! It checks Basic auth against the accounts it was seeded with, answers
//! 20003 / 20404 / 403 / 429 like Twilio, can rotate a token, suspend an
//! account and add latency, and records every request it received.
//!
//! Sends (`POST .../Messages.json`) are checked like Twilio checks them (the
//! Messaging Service is the account's, `To` is a number, there is a body),
//! answered 201 with an `SM` sid, recorded, and followed by status callbacks
//! signed exactly as Twilio signs them. Twilio's magic test numbers
//! (+15005550001 invalid, ...0002 unroutable, ...0003 region not enabled,
//! ...0004 unsubscribed, ...0009 not SMS-capable) are refused with their
//! error codes; tests choose other numbers' outcomes, the callbacks' delay,
//! order and duplication, and faults (5xx, dropped answers).

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::State as Shared,
    http::{HeaderMap, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use rand::RngCore;
use serde_json::{Value, json};
use tokio::{net::TcpListener, task::JoinHandle};

mod callbacks;

/// Runs `f` on the simulator's state, locked: shared by the handlers and
/// the carrier's tasks.
fn with_state<T>(state: &Mutex<State>, f: impl FnOnce(&mut State) -> T) -> T {
    f(&mut state
        .lock()
        .expect("the simulator's state is never poisoned"))
}

#[derive(Debug, Clone)]
pub struct SimAccount {
    pub sid: String,
    pub auth_token: String,
    pub friendly_name: String,
    /// `active`, `suspended` or `closed`.
    pub status: String,
    /// `Trial` or `Full`.
    pub kind: String,
}

#[derive(Debug, Clone)]
pub struct SimService {
    pub sid: String,
    pub account_sid: String,
    pub friendly_name: String,
    pub phone_numbers: Vec<String>,
    /// Accounts that authenticate but may not use this service (403).
    pub forbidden_to: Vec<String>,
}

/// What the simulated carrier does with a message sent to a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Callbacks `sent`, then `delivered`.
    Delivered,
    /// Callbacks `sent`, then `undelivered` with this error (e.g. 30003).
    Undelivered(u64),
    /// Callback `failed` with this error (e.g. 30005).
    Failed(u64),
    /// The send itself is refused with 400 and this error (e.g. 21211).
    Refused(u64),
}

/// A fault injected into the next sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendFault {
    /// 500, message not created.
    ServerError,
    /// The message is created (and its callbacks follow), but the answer
    /// breaks off: the connection closes before it is complete.
    DropAnswer,
}

/// How status callbacks are delivered.
#[derive(Debug, Clone)]
pub struct CallbackPlan {
    pub enabled: bool,
    pub delay: Duration,
    /// Every callback is posted twice.
    pub duplicates: bool,
    /// The final status is posted before `sent`.
    pub out_of_order: bool,
}

impl Default for CallbackPlan {
    fn default() -> Self {
        Self {
            enabled: true,
            delay: Duration::from_millis(20),
            duplicates: false,
            out_of_order: false,
        }
    }
}

/// A message the simulator accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimMessage {
    pub sid: String,
    pub account_sid: String,
    pub messaging_service_sid: String,
    pub to: String,
    pub from: String,
    pub body: String,
    pub status_callback: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Where the carrier has got to, whether or not a callback said so.
    pub status: String,
    pub error_code: Option<u64>,
    /// `ValidityPeriod`: seconds it may wait in Twilio's queue, when given.
    pub validity_period: Option<u32>,
}

/// A status callback the simulator posted, and how it was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedCallback {
    pub message_sid: String,
    pub status: String,
    /// `None` when no answer came.
    pub answer: Option<u16>,
}

/// One request the simulator answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub status: u16,
}

#[derive(Default)]
struct State {
    accounts: HashMap<String, SimAccount>,
    services: HashMap<String, SimService>,
    latency: Duration,
    rate_limit_next: usize,
    requests: Vec<RecordedRequest>,
    in_flight: usize,
    max_in_flight: usize,
    outcomes: HashMap<String, Outcome>,
    faults: Vec<SendFault>,
    callbacks: CallbackPlan,
    messages: Vec<SimMessage>,
    /// Messages people sent to the accounts' numbers.
    inbound: Vec<SimMessage>,
    /// Position in `messages` by SID (a 100,000-message campaign looks
    /// each one up as its status moves).
    message_index: HashMap<String, usize>,
    posted: Vec<PostedCallback>,
}

/// Cheap to clone; every clone controls the same simulated Twilio.
#[derive(Clone, Default)]
pub struct Simulator {
    state: Arc<Mutex<State>>,
    /// Where accepted messages' reports go (`callbacks`), started with the
    /// first of them on the runtime that accepted it.
    carrier: Arc<OnceLock<flume::Sender<callbacks::Report>>>,
}

pub struct RunningSimulator {
    pub url: String,
    pub address: SocketAddr,
    handle: JoinHandle<()>,
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buffer);
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}

impl Simulator {
    pub fn new() -> Self {
        Self::default()
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        with_state(&self.state, f)
    }

    /// Seeds an account with a random SID and token; returns the account.
    pub fn add_account(&self, kind: &str) -> SimAccount {
        self.insert_account(SimAccount {
            sid: format!("AC{}", random_hex(16)),
            auth_token: random_hex(16),
            friendly_name: "Simulated account".to_owned(),
            status: "active".to_owned(),
            kind: kind.to_owned(),
        })
    }

    pub fn insert_account(&self, account: SimAccount) -> SimAccount {
        self.with_state(|s| s.accounts.insert(account.sid.clone(), account.clone()));
        account
    }

    /// Seeds a Messaging Service owned by `account_sid` with these senders.
    pub fn add_service(&self, account_sid: &str, phone_numbers: &[&str]) -> SimService {
        self.insert_service(SimService {
            sid: format!("MG{}", random_hex(16)),
            account_sid: account_sid.to_owned(),
            friendly_name: "Simulated Messaging Service".to_owned(),
            phone_numbers: phone_numbers.iter().map(|n| (*n).to_owned()).collect(),
            forbidden_to: Vec::new(),
        })
    }

    pub fn insert_service(&self, service: SimService) -> SimService {
        self.with_state(|s| s.services.insert(service.sid.clone(), service.clone()));
        service
    }

    /// A person's message to one of the account's numbers, received by
    /// Twilio at `created_at` (Unix seconds). The caller posts the webhook.
    pub fn receive_message(
        &self,
        account_sid: &str,
        from: &str,
        body: &str,
        created_at: i64,
    ) -> SimMessage {
        let message = SimMessage {
            sid: format!("SM{}", random_hex(16)),
            account_sid: account_sid.to_owned(),
            messaging_service_sid: String::new(),
            to: "+15005550006".to_owned(),
            from: from.to_owned(),
            body: body.to_owned(),
            status_callback: None,
            created_at,
            status: "received".to_owned(),
            error_code: None,
            validity_period: None,
        };
        self.with_state(|s| s.inbound.push(message.clone()));
        message
    }

    /// What deleting a Messaging Service in the Twilio Console does.
    pub fn remove_service(&self, service_sid: &str) {
        self.with_state(|s| s.services.remove(service_sid));
    }

    /// Forbids `account_sid` to use the service (Twilio answers 403).
    pub fn forbid_service(&self, service_sid: &str, account_sid: &str) {
        self.with_state(|s| {
            if let Some(service) = s.services.get_mut(service_sid) {
                service.forbidden_to.push(account_sid.to_owned());
            }
        });
    }

    /// What an Org Admin does in the Twilio Console: the old token stops working.
    pub fn rotate_token(&self, account_sid: &str) -> String {
        let token = random_hex(16);
        self.with_state(|s| {
            if let Some(account) = s.accounts.get_mut(account_sid) {
                account.auth_token = token.clone();
            }
        });
        token
    }

    pub fn set_account_status(&self, account_sid: &str, status: &str) {
        self.with_state(|s| {
            if let Some(account) = s.accounts.get_mut(account_sid) {
                account.status = status.to_owned();
            }
        });
    }

    /// Delays every answer by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        self.with_state(|s| s.latency = latency);
    }

    /// Answers the next `count` requests with 429 / 20429.
    pub fn rate_limit_next(&self, count: usize) {
        self.with_state(|s| s.rate_limit_next = count);
    }

    /// The most Twilio API requests that were being answered at once.
    pub fn max_in_flight(&self) -> usize {
        self.with_state(|s| s.max_in_flight)
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.with_state(|s| s.requests.clone())
    }

    /// What happens to messages sent to `to` (default: delivered).
    pub fn set_outcome(&self, to: &str, outcome: Outcome) {
        self.with_state(|s| s.outcomes.insert(to.to_owned(), outcome));
    }

    /// The next sends fail this way, one fault each, in order.
    pub fn fault_next_sends(&self, faults: &[SendFault]) {
        self.with_state(|s| s.faults.extend_from_slice(faults));
    }

    pub fn set_callbacks(&self, plan: CallbackPlan) {
        self.with_state(|s| s.callbacks = plan);
    }

    /// Every message accepted, in order.
    pub fn messages(&self) -> Vec<SimMessage> {
        self.with_state(|s| s.messages.clone())
    }

    /// How many messages were accepted for each number.
    pub fn messages_per_recipient(&self) -> HashMap<String, usize> {
        self.with_state(|s| {
            let mut counts = HashMap::new();
            for message in &s.messages {
                *counts.entry(message.to.clone()).or_default() += 1;
            }
            counts
        })
    }

    /// Every status callback posted so far.
    pub fn posted_callbacks(&self) -> Vec<PostedCallback> {
        self.with_state(|s| s.posted.clone())
    }

    /// Serves on `address` (port 0 picks a free port) until dropped.
    pub async fn start(&self, address: SocketAddr) -> std::io::Result<RunningSimulator> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        // One handler for every path: Twilio's API is routed by `route_api`,
        // which checks credentials before it looks at the path, as Twilio does.
        let router = Router::new()
            .fallback(
                |Shared(simulator): Shared<Simulator>, method, uri, headers, body| async move {
                    simulator.answer(method, uri, headers, body).await
                },
            )
            .with_state(self.clone());
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(RunningSimulator {
            url: format!("http://{address}"),
            address,
            handle,
        })
    }

    async fn answer(&self, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        if let Some(control) = uri.path().strip_prefix("/_simulator/") {
            let (status, body) = self.control(&method, control);
            return json_response(status, &body);
        }
        let latency = self.with_state(|s| {
            s.in_flight += 1;
            s.max_in_flight = s.max_in_flight.max(s.in_flight);
            s.latency
        });
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        self.with_state(|s| s.in_flight -= 1);
        let path = uri.path().to_owned();
        let query = uri.query().unwrap_or_default().to_owned();
        let auth = basic_auth(&headers);
        let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
        let (status, body, accepted) =
            self.with_state(|s| route(s, &method, &path, &query, auth, &form));
        let fault = accepted
            .is_some()
            .then(|| self.with_state(|s| (!s.faults.is_empty()).then(|| s.faults.remove(0))))
            .flatten();
        let (status, body, accepted) = match fault {
            Some(SendFault::ServerError) => {
                let (status, body) = error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    20500,
                    "Internal Server Error",
                );
                (status, body, None)
            }
            _ => (status, body, accepted),
        };
        self.with_state(|s| {
            s.requests.push(RecordedRequest {
                method: method.to_string(),
                path: path.clone(),
                status: status.as_u16(),
            });
            if let Some((message, _)) = &accepted {
                s.message_index
                    .insert(message.sid.clone(), s.messages.len());
                s.messages.push(message.clone());
            }
        });
        if let Some((message, outcome)) = accepted {
            self.report(message, outcome);
        }
        if fault == Some(SendFault::DropAnswer) {
            return dropped_answer(status);
        }
        json_response(status, &body)
    }

    /// Hands the message to the carrier, which settles its outcome and
    /// posts its status callbacks, signed as Twilio signs them, once the
    /// plan's delay has passed.
    fn report(&self, message: SimMessage, outcome: Outcome) {
        let plan = self.with_state(|s| s.callbacks.clone());
        let mut statuses: Vec<(&'static str, Option<u64>)> = match outcome {
            Outcome::Delivered => vec![("sent", None), ("delivered", None)],
            Outcome::Undelivered(code) => vec![("sent", None), ("undelivered", Some(code))],
            Outcome::Failed(code) => vec![("failed", Some(code))],
            Outcome::Refused(_) => return,
        };
        let outcome = *statuses.last().expect("at least one status");
        let url = message.status_callback.clone().filter(|_| plan.enabled);
        if plan.out_of_order {
            statuses.reverse();
        }
        if plan.duplicates {
            statuses = statuses.into_iter().flat_map(|s| [s, s]).collect();
        }
        let report = callbacks::Report {
            message,
            statuses,
            outcome,
            url,
            due: tokio::time::Instant::now() + plan.delay,
        };
        let carrier = self
            .carrier
            .get_or_init(|| callbacks::start(self.state.clone()));
        // The carrier's tasks end with the last clone of this simulator or
        // with the runtime they were started on; a simulator that outlived
        // that runtime reports nothing more.
        let _ = carrier.send(report);
    }

    /// Controls for tests driving a simulator in another process (the
    /// end-to-end specs). Twilio has no such paths; nothing under
    /// `/_simulator/` pretends to be Twilio.
    fn control(&self, method: &Method, path: &str) -> (StatusCode, Value) {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method, segments.as_slice()) {
            (&Method::GET, ["health"]) => (StatusCode::OK, json!({ "status": "ok" })),
            (&Method::POST, ["accounts", sid, "rotate-token"]) => {
                if !self.with_state(|s| s.accounts.contains_key(*sid)) {
                    return (StatusCode::NOT_FOUND, json!({ "error": "no such account" }));
                }
                (
                    StatusCode::OK,
                    json!({ "auth_token": self.rotate_token(sid) }),
                )
            }
            (
                &Method::POST,
                [
                    "accounts",
                    sid,
                    "status",
                    status @ ("active" | "suspended" | "closed"),
                ],
            ) => {
                self.set_account_status(sid, status);
                (StatusCode::OK, json!({ "status": status }))
            }
            // A fresh account with one Messaging Service (and one number),
            // for specs that change or break an organisation's account.
            (&Method::POST, ["accounts"]) => {
                let account = self.add_account("Full");
                let service = self.add_service(&account.sid, &["+15005550006"]);
                (
                    StatusCode::OK,
                    json!({
                        "account_sid": account.sid,
                        "auth_token": account.auth_token,
                        "messaging_service_sid": service.sid,
                    }),
                )
            }
            (&Method::DELETE, ["services", sid]) => {
                if !self.with_state(|s| s.services.contains_key(*sid)) {
                    return (StatusCode::NOT_FOUND, json!({ "error": "no such service" }));
                }
                self.remove_service(sid);
                (StatusCode::OK, json!({ "deleted": sid }))
            }
            (&Method::GET, ["messages"]) => {
                let counts = self.messages_per_recipient();
                (
                    StatusCode::OK,
                    json!({
                        "accepted": counts.values().sum::<usize>(),
                        "recipients": counts.len(),
                        "most_to_one_recipient": counts.values().max().copied().unwrap_or(0),
                        "callbacks_posted": self.with_state(|s| s.posted.len()),
                    }),
                )
            }
            (&Method::POST, ["callbacks", "delay", millis]) => match millis.parse::<u64>() {
                Ok(millis) => {
                    self.with_state(|s| s.callbacks.delay = Duration::from_millis(millis));
                    (StatusCode::OK, json!({ "callback_delay_ms": millis }))
                }
                Err(_) => (
                    StatusCode::BAD_REQUEST,
                    json!({ "error": "the delay is whole milliseconds" }),
                ),
            },
            (&Method::POST, ["latency", millis]) => match millis.parse::<u64>() {
                Ok(millis) => {
                    self.set_latency(Duration::from_millis(millis));
                    (StatusCode::OK, json!({ "latency_ms": millis }))
                }
                Err(_) => (
                    StatusCode::BAD_REQUEST,
                    json!({ "error": "latency is whole milliseconds" }),
                ),
            },
            _ => (
                StatusCode::NOT_FOUND,
                json!({ "error": "unknown simulator control" }),
            ),
        }
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// An answer that never arrives whole: its body fails, so the server breaks
/// the connection and the client cannot know whether the message was created.
fn dropped_answer(status: StatusCode) -> Response {
    let broken = futures_util::stream::once(async {
        Err::<Bytes, _>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "the simulator dropped the answer",
        ))
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(broken),
    )
        .into_response()
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn error(status: StatusCode, code: u64, message: &str) -> (StatusCode, Value) {
    (
        status,
        json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status.as_u16(),
        }),
    )
}

type Answer = (StatusCode, Value, Option<(SimMessage, Outcome)>);

fn route(
    state: &mut State,
    method: &Method,
    path: &str,
    query: &str,
    auth: Option<(String, String)>,
    form: &[(String, String)],
) -> Answer {
    let (status, body) = match route_api(state, method, path, query, auth, form) {
        Ok(accepted) => return accepted,
        Err(answer) => answer,
    };
    (status, body, None)
}

fn route_api(
    state: &mut State,
    method: &Method,
    path: &str,
    query: &str,
    auth: Option<(String, String)>,
    form: &[(String, String)],
) -> Result<Answer, (StatusCode, Value)> {
    if state.rate_limit_next > 0 {
        state.rate_limit_next -= 1;
        return Err(error(
            StatusCode::TOO_MANY_REQUESTS,
            20429,
            "Too Many Requests",
        ));
    }
    // Twilio authenticates before it routes.
    let Some(account) = auth.and_then(|(sid, token)| {
        state
            .accounts
            .get(&sid)
            .filter(|a| a.auth_token == token)
            .cloned()
    }) else {
        return Err(error(StatusCode::UNAUTHORIZED, 20003, "Authenticate"));
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let answer = match (method, segments.as_slice()) {
        (&Method::POST, ["2010-04-01", "Accounts", sid, "Messages.json"]) => {
            if *sid != account.sid {
                return Err(not_found(path));
            }
            return accept_message(state, &account, form);
        }
        (&Method::GET, ["2010-04-01", "Accounts", sid, "Messages", file]) => {
            let message_sid = file.strip_suffix(".json").unwrap_or(file);
            match state.messages.iter().chain(&state.inbound).find(|m| {
                *sid == account.sid && m.account_sid == account.sid && m.sid == message_sid
            }) {
                Some(message) => (StatusCode::OK, message_json(message)),
                None => not_found(path),
            }
        }
        (&Method::GET, ["2010-04-01", "Accounts", sid, "Messages.json"]) => {
            if *sid != account.sid {
                return Err(not_found(path));
            }
            (StatusCode::OK, messages_page(state, &account, query))
        }
        (&Method::GET, ["2010-04-01", "Accounts", file]) => {
            let sid = file.strip_suffix(".json").unwrap_or(file);
            if sid != account.sid {
                return Err(not_found(path));
            }
            (StatusCode::OK, account_json(&account))
        }
        (&Method::GET, ["v1", "Services", service_sid]) => {
            match visible_service(state, &account, service_sid, path) {
                Ok(service) => (StatusCode::OK, service_json(service)),
                Err(answer) => answer,
            }
        }
        (&Method::GET, ["v1", "Services", service_sid, "PhoneNumbers"]) => {
            match visible_service(state, &account, service_sid, path) {
                Ok(service) => (StatusCode::OK, phone_numbers_page(service, query)),
                Err(answer) => answer,
            }
        }
        _ => not_found(path),
    };
    Ok((answer.0, answer.1, None))
}

/// Twilio's magic test numbers and the errors they produce.
fn magic_number_error(to: &str) -> Option<u64> {
    match to {
        "+15005550001" => Some(21211),
        "+15005550002" => Some(21612),
        "+15005550003" => Some(21408),
        "+15005550004" => Some(21610),
        "+15005550009" => Some(21614),
        _ => None,
    }
}

fn refusal(code: u64) -> (StatusCode, Value) {
    let message = match code {
        21211 => "Invalid 'To' Phone Number",
        21408 => {
            "Permission to send an SMS has not been enabled for the region indicated by the 'To' number"
        }
        21610 => "Attempt to send to unsubscribed recipient",
        21612 => "The 'To' phone number is not currently reachable via SMS",
        21614 => "'To' number is not a valid mobile number",
        21602 => "Message body is required.",
        21701 => "The Messaging Service does not exist",
        _ => "The message could not be sent",
    };
    error(StatusCode::BAD_REQUEST, code, message)
}

fn accept_message(
    state: &mut State,
    account: &SimAccount,
    form: &[(String, String)],
) -> Result<Answer, (StatusCode, Value)> {
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    if account.status != "active" {
        return Err(error(StatusCode::UNAUTHORIZED, 20003, "Authenticate"));
    }
    let to = field("To").unwrap_or_default();
    let body = field("Body").unwrap_or_default();
    let Some(service) = field("MessagingServiceSid")
        .and_then(|sid| state.services.get(sid))
        .filter(|service| service.account_sid == account.sid)
    else {
        return Err(refusal(21701));
    };
    if !is_e164(to) {
        return Err(refusal(21211));
    }
    if body.is_empty() {
        return Err(refusal(21602));
    }
    if let Some(code) = magic_number_error(to) {
        return Err(refusal(code));
    }
    let outcome = state
        .outcomes
        .get(to)
        .cloned()
        .unwrap_or(Outcome::Delivered);
    if let Outcome::Refused(code) = outcome {
        return Err(refusal(code));
    }
    let message = SimMessage {
        sid: format!("SM{}", random_hex(16)),
        account_sid: account.sid.clone(),
        messaging_service_sid: service.sid.clone(),
        to: to.to_owned(),
        from: service.phone_numbers.first().cloned().unwrap_or_default(),
        body: body.to_owned(),
        status_callback: field("StatusCallback")
            .filter(|url| !url.is_empty())
            .map(str::to_owned),
        created_at: time::OffsetDateTime::now_utc().unix_timestamp(),
        status: "accepted".to_owned(),
        error_code: None,
        validity_period: field("ValidityPeriod").and_then(|v| v.parse().ok()),
    };
    Ok((
        StatusCode::CREATED,
        message_json(&message),
        Some((message, outcome)),
    ))
}

fn is_e164(to: &str) -> bool {
    to.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit())
    })
}

fn rfc2822(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc2822)
                .ok()
        })
        .unwrap_or_else(|| DATE.to_owned())
}

fn message_json(message: &SimMessage) -> Value {
    let uri = format!(
        "/2010-04-01/Accounts/{}/Messages/{}.json",
        message.account_sid, message.sid
    );
    let date = rfc2822(message.created_at);
    json!({
        "account_sid": message.account_sid,
        "api_version": "2010-04-01",
        "body": message.body,
        "date_created": date,
        "date_sent": null,
        "date_updated": date,
        "direction": if message.status == "received" { "inbound" } else { "outbound-api" },
        "error_code": message.error_code,
        "error_message": null,
        "from": null,
        "messaging_service_sid": message.messaging_service_sid,
        "num_media": "0",
        "num_segments": "1",
        "price": null,
        "price_unit": "USD",
        "sid": message.sid,
        "status": message.status,
        "subresource_uris": { "media": uri.replace(".json", "/Media.json") },
        "to": message.to,
        "uri": uri,
    })
}

/// `GET .../Messages.json?To=...`: newest first, one page.
fn messages_page(state: &State, account: &SimAccount, query: &str) -> Value {
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let param = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let page_size = param("PageSize")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 1000);
    let to = param("To");
    let messages: Vec<Value> = state
        .messages
        .iter()
        .rev()
        .filter(|m| m.account_sid == account.sid && to.is_none_or(|to| m.to == to))
        .take(page_size)
        .map(message_json)
        .collect();
    let uri = format!("/2010-04-01/Accounts/{}/Messages.json", account.sid);
    json!({
        "messages": messages,
        "end": messages.len().saturating_sub(1),
        "first_page_uri": format!("{uri}?PageSize={page_size}&Page=0"),
        "next_page_uri": null,
        "page": 0,
        "page_size": page_size,
        "previous_page_uri": null,
        "start": 0,
        "uri": format!("{uri}?PageSize={page_size}&Page=0"),
    })
}

fn not_found(path: &str) -> (StatusCode, Value) {
    error(
        StatusCode::NOT_FOUND,
        20404,
        &format!("The requested resource {path} was not found"),
    )
}

/// Another account's services are invisible (404), as on Twilio.
fn visible_service<'a>(
    state: &'a State,
    account: &SimAccount,
    service_sid: &str,
    path: &str,
) -> Result<&'a SimService, (StatusCode, Value)> {
    let service = state
        .services
        .get(service_sid)
        .filter(|s| s.account_sid == account.sid || s.forbidden_to.contains(&account.sid))
        .ok_or_else(|| not_found(path))?;
    if service.forbidden_to.contains(&account.sid) {
        return Err(error(StatusCode::FORBIDDEN, 20403, "Permission denied"));
    }
    Ok(service)
}

const DATE: &str = "Thu, 26 Nov 2026 12:00:00 +0000";

fn account_json(account: &SimAccount) -> Value {
    let uri = format!("/2010-04-01/Accounts/{}.json", account.sid);
    json!({
        "auth_token": account.auth_token,
        "date_created": DATE,
        "date_updated": DATE,
        "friendly_name": account.friendly_name,
        "owner_account_sid": account.sid,
        "sid": account.sid,
        "status": account.status,
        "subresource_uris": {
            "messages": format!("/2010-04-01/Accounts/{}/Messages.json", account.sid),
        },
        "type": account.kind,
        "uri": uri,
    })
}

fn service_json(service: &SimService) -> Value {
    let url = format!("https://messaging.twilio.com/v1/Services/{}", service.sid);
    json!({
        "sid": service.sid,
        "account_sid": service.account_sid,
        "friendly_name": service.friendly_name,
        "date_created": "2026-11-26T12:00:00Z",
        "date_updated": "2026-11-26T12:00:00Z",
        "inbound_request_url": null,
        "inbound_method": "POST",
        "fallback_url": null,
        "fallback_method": "POST",
        "status_callback": null,
        "sticky_sender": true,
        "mms_converter": true,
        "smart_encoding": true,
        "scan_message_content": "inherit",
        "fallback_to_long_code": true,
        "area_code_geomatch": true,
        "synchronous_validation": false,
        "validity_period": 14400,
        "url": url,
        "links": { "phone_numbers": format!("{url}/PhoneNumbers") },
        "usecase": "marketing",
        "us_app_to_person_registered": false,
        "use_inbound_webhook_on_number": false,
    })
}

fn phone_numbers_page(service: &SimService, query: &str) -> Value {
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| *key == name)
            .and_then(|(_, value)| value.parse::<usize>().ok())
    };
    let page_size = param("PageSize").unwrap_or(50).clamp(1, 1000);
    let page = param("Page").unwrap_or(0);
    let base = format!(
        "https://messaging.twilio.com/v1/Services/{}/PhoneNumbers",
        service.sid
    );
    let items: Vec<Value> = service
        .phone_numbers
        .iter()
        .skip(page * page_size)
        .take(page_size)
        .map(|number| {
            json!({
                "sid": format!("PN{}", &random_hex(16)),
                "account_sid": service.account_sid,
                "service_sid": service.sid,
                "date_created": "2026-11-26T12:00:00Z",
                "date_updated": "2026-11-26T12:00:00Z",
                "phone_number": number,
                "country_code": "US",
                "capabilities": ["SMS"],
                "url": format!("{base}/PN"),
            })
        })
        .collect();
    let has_next = (page + 1) * page_size < service.phone_numbers.len();
    json!({
        "phone_numbers": items,
        "meta": {
            "page": page,
            "page_size": page_size,
            "first_page_url": format!("{base}?PageSize={page_size}&Page=0"),
            "previous_page_url": if page > 0 { Value::from(format!("{base}?PageSize={page_size}&Page={}", page - 1)) } else { Value::Null },
            "url": format!("{base}?PageSize={page_size}&Page={page}"),
            "next_page_url": if has_next { Value::from(format!("{base}?PageSize={page_size}&Page={}", page + 1)) } else { Value::Null },
            "key": "phone_numbers",
        },
    })
}
