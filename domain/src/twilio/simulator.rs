//! A local Twilio for tests and demo mode: a real HTTP server that speaks
//! the parts of Twilio's API that Outreach uses, faithful to Twilio (its
//! OpenAPI shapes and error bodies), not to our client.
//!
//! It checks Basic auth against the accounts it was seeded with, answers
//! 20003 / 20404 / 403 / 429 like Twilio, can rotate a token, suspend an
//! account and add latency, and records every request it received.

use std::{
    collections::HashMap,
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use base64::{Engine, engine::general_purpose::STANDARD};
use http_body_util::Full;
use hyper::{
    Method, Request, Response, StatusCode,
    body::{Bytes, Incoming},
    header,
    server::conn::http1,
    service::service_fn,
};
use hyper_util::rt::TokioIo;
use rand::RngCore;
use serde_json::{Value, json};
use tokio::{net::TcpListener, task::JoinHandle};

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
}

/// Cheap to clone; every clone controls the same simulated Twilio.
#[derive(Clone, Default)]
pub struct Simulator {
    state: Arc<Mutex<State>>,
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
        f(&mut self
            .state
            .lock()
            .expect("the simulator's state is never poisoned"))
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

    /// Serves on `address` (port 0 picks a free port) until dropped.
    pub async fn start(&self, address: SocketAddr) -> std::io::Result<RunningSimulator> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let simulator = self.clone();
        let handle = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let simulator = simulator.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let simulator = simulator.clone();
                        async move { Ok::<_, Infallible>(simulator.answer(request).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(RunningSimulator {
            url: format!("http://{address}"),
            address,
            handle,
        })
    }

    async fn answer(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        if let Some(control) = request.uri().path().strip_prefix("/_simulator/") {
            let (status, body) = self.control(request.method(), control);
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
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let query = request.uri().query().unwrap_or_default().to_owned();
        let auth = basic_auth(&request);
        let (status, body) = self.with_state(|s| route(s, &method, &path, &query, auth));
        self.with_state(|s| {
            s.requests.push(RecordedRequest {
                method: method.to_string(),
                path: path.clone(),
                status: status.as_u16(),
            })
        });
        json_response(status, &body)
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

fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a valid response")
}

fn basic_auth(request: &Request<Incoming>) -> Option<(String, String)> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
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

fn route(
    state: &mut State,
    method: &Method,
    path: &str,
    query: &str,
    auth: Option<(String, String)>,
) -> (StatusCode, Value) {
    if state.rate_limit_next > 0 {
        state.rate_limit_next -= 1;
        return error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests");
    }
    // Twilio authenticates before it routes.
    let Some(account) = auth.and_then(|(sid, token)| {
        state
            .accounts
            .get(&sid)
            .filter(|a| a.auth_token == token)
            .cloned()
    }) else {
        return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (&Method::GET, ["2010-04-01", "Accounts", file]) => {
            let sid = file.strip_suffix(".json").unwrap_or(file);
            if sid != account.sid {
                return not_found(path);
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
    }
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
