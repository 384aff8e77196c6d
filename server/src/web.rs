//! The HTTP surface: the Leptos pages and server functions, `/healthz` and
//! Twilio's webhooks, and the middleware each kind of request passes
//! through.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use app::{
    App,
    auth::ssr::{RequestSession, session_token_from_cookies},
    error::{AppError, Limit},
    routes, shell,
    state::{AppState, CspNonce, provide_request_nonce},
};
use axum::{
    Router,
    body::Body,
    extract::{ConnectInfo, DefaultBodyLimit, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use domain::crypto::LinkSigner;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::{
    compression::CompressionLayer,
    trace::{DefaultOnResponse, TraceLayer},
};
use tracing::Level;

use crate::config::PublicUrl;

/// The whole application as a router: callable in tests without a socket.
/// A worker's only route: whether it runs and reaches the database.
pub fn health_router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .layer(middleware::from_fn(crate::metrics::count_request))
        .with_state(state)
}

/// The app's routes, listed once per process. Listing them runs the whole
/// app with resource loading suppressed through a process-wide flag
/// (leptos_server's `SuppressResourceLoad`): a page rendered by another
/// router in the same process at that moment would wait forever for its
/// data. Tests build many routers in one process; listing once, before any
/// of them serves, keeps their pages out of that window.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub fn router(
    state: AppState,
    public_url: PublicUrl,
    deliveries: domain::delivery::writer::DeliveryWriter,
) -> Router {
    let headers = ResponseHeaders::new(&state);
    machine_routes(deliveries)
        .merge(pages(&state, public_url))
        // Outermost last: trace -> headers, so that every answer, the
        // middleware's own included, carries them.
        .layer(middleware::map_response_with_state(
            headers,
            security_headers,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<Body>| {
                    // The path only: query strings are nobody's business in logs.
                    // Who is asking, and about which campaign, is recorded
                    // as the request is understood (see `resolve_session`).
                    // At ERROR level so that it is enabled whenever any of
                    // its events are (RUST_LOG=warn still shows the context).
                    tracing::error_span!(
                        "request",
                        id = %format!("{:08x}", rand::random::<u32>()),
                        method = %request.method(),
                        path = %logged_path(request.uri().path()),
                        organisation_id = tracing::field::Empty,
                        user_id = tracing::field::Empty,
                        campaign_id = tracing::field::Empty,
                    )
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                .on_failure(()),
        )
        .with_state(state)
}

/// The routes machines call, thousands of times a second while a campaign
/// sends: Twilio's webhooks (verified by their signature, never by a
/// session) and `/healthz`. They skip the pages' middleware (sessions,
/// cross-site checks, a fresh nonce, compression), which cost as much as
/// everything else `/healthz` does: it answered 12,000 requests a second
/// through them and 20,000-25,000 without (BENCHMARKS.md). Bodies are still
/// limited, and answers still carry the security headers.
fn machine_routes(deliveries: domain::delivery::writer::DeliveryWriter) -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .merge(crate::webhooks::router(deliveries))
        // After routing: it labels requests with their route's pattern.
        .layer(middleware::from_fn(crate::metrics::count_request))
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(limit_request_bodies))
}

/// The pages, their server functions, the bundle and the downloads.
fn pages(state: &AppState, public_url: PublicUrl) -> Router<AppState> {
    let routes = route_list();
    let public_url = Arc::new(public_url);
    let link_signer = Arc::new(state.services.keyring.link_signer());
    Router::new()
        .route("/", get(|| async { Redirect::to(routes::HOME) }))
        .route("/outreach", get(|| async { Redirect::to(routes::HOME) }))
        .merge(crate::exports::router())
        .merge(crate::bundle::router(&state.leptos_options))
        .leptos_routes_with_context(state, routes, provide_request_nonce, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(provide_request_nonce, shell))
        .layer(middleware::from_fn(status_of_app_errors))
        // After routing: it labels requests with their route's pattern.
        .layer(middleware::from_fn(crate::metrics::count_request))
        .layer(middleware::from_fn_with_state(
            link_signer,
            sign_error_links,
        ))
        // `limit_request_bodies` decides, route by route.
        .layer(DefaultBodyLimit::disable())
        // The WASM bundle shrinks to about a third with gzip.
        .layer(CompressionLayer::new())
        .layer(middleware::from_fn(limit_request_bodies))
        // Outermost last: nonce -> cross-site refusal -> session -> body
        // limits, so that the middleware's own answers (403, 303, 413, 503)
        // go out through the shared headers like any other.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            resolve_session,
        ))
        .layer(middleware::from_fn_with_state(
            public_url,
            refuse_cross_site,
        ))
        .layer(middleware::from_fn(content_security_policy))
}

/// The path as logged: a one-time link's secret is left out, as whoever
/// reads the logs could otherwise join the organisation with it.
fn logged_path(path: &str) -> &str {
    if path.starts_with("/invitations/") {
        "/invitations/{secret}"
    } else if path.starts_with("/password-resets/") {
        "/password-resets/{secret}"
    } else {
        path
    }
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let reachable = tokio::time::timeout(
        Duration::from_secs(2),
        domain::db::is_reachable(&state.services.pool),
    )
    .await
    .unwrap_or(false);
    if reachable {
        (StatusCode::OK, "ok")
    } else {
        tracing::error!("health check failed: the database does not answer");
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
    }
}

/// Server functions answer every error with 500; this gives each
/// [`AppError`] the status that says what happened (401, 403, 404, 413,
/// 422, 429, ...), in one place.
async fn status_of_app_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key("serverfnerror")
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // An error is a short JSON sentence; anything longer is not one of ours.
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Audience routes: they carry a whole audience (or a file of opt-outs or
/// contacts),
/// and parse or render it.
const AUDIENCE_ROUTES: [&str; 8] = [
    "/api/preview_audience",
    "/api/create_campaign",
    "/api/update_draft",
    "/api/import_opt_outs",
    "/api/import_contacts",
    "/api/import_into_list",
    "/api/save_as_list",
    "/api/save_campaign_as_list",
];

/// How many bytes a route may be sent, and whether it is an audience route.
fn allowance(path: &str) -> (usize, bool) {
    use domain::limits::*;
    if AUDIENCE_ROUTES.contains(&path) {
        (AUDIENCE_REQUEST_BYTES, true)
    } else if path == "/api/sign_in" {
        (SIGN_IN_REQUEST_BYTES, false)
    } else if path.starts_with("/webhooks/") {
        (WEBHOOK_REQUEST_BYTES, false)
    } else {
        (OTHER_REQUEST_BYTES, false)
    }
}

/// Audience requests read and hold up to 34 MB each: one at a time per
/// process (others wait, briefly), and only for people who are signed in.
static AUDIENCE_REQUESTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
const AUDIENCE_REQUEST_WAIT: Duration = Duration::from_secs(30);
/// A body that takes longer than this to arrive is refused (408), so a
/// slow sender cannot hold an audience slot.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Refuses bodies larger than their route accepts (413) before reading
/// them, and reads the rest whole, with a deadline, before any handler runs.
async fn limit_request_bodies(request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let path = request.uri().path().to_owned();
    let (limit, audience) = allowance(&path);
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return too_large(&path, limit);
    }
    let _slot = if audience {
        let signed_in = request
            .extensions()
            .get::<RequestSession>()
            .is_some_and(|session| session.user.is_some());
        if !signed_in {
            return app_error_response(AppError::NotSignedIn);
        }
        match tokio::time::timeout(AUDIENCE_REQUEST_WAIT, AUDIENCE_REQUESTS.acquire()).await {
            Ok(Ok(slot)) => Some(slot),
            _ => return app_error_response(AppError::Busy),
        }
    } else {
        None
    };
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(BODY_READ_TIMEOUT, read_body(body, limit, declared)).await;
    let bytes = match read {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(BodyError::TooLarge)) => return too_large(&path, limit),
        Ok(Err(BodyError::Broken)) => return StatusCode::BAD_REQUEST.into_response(),
        Err(_) => return StatusCode::REQUEST_TIMEOUT.into_response(),
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

enum BodyError {
    TooLarge,
    Broken,
}

/// Reads a body whole into one buffer of its declared size (never a second
/// copy: an audience is tens of megabytes), refusing it once it passes
/// `limit`, declared or not.
async fn read_body(
    mut body: Body,
    limit: usize,
    declared: Option<u64>,
) -> Result<bytes::Bytes, BodyError> {
    use http_body_util::BodyExt;

    let capacity = declared.unwrap_or(0).min(limit as u64) as usize;
    let mut buffer = bytes::BytesMut::with_capacity(capacity);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Broken)?;
        if let Ok(data) = frame.into_data() {
            if buffer.len() + data.len() > limit {
                return Err(BodyError::TooLarge);
            }
            buffer.extend_from_slice(&data);
        }
    }
    Ok(buffer.freeze())
}

fn too_large(path: &str, limit: usize) -> Response {
    tracing::warn!(
        path,
        limit,
        "refused a request body larger than its route accepts"
    );
    if path.starts_with("/api/") {
        app_error_response(AppError::TooLarge(Limit::Request {
            max_bytes: limit as u64,
        }))
    } else {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The request is larger than {limit} bytes."),
        )
            .into_response()
    }
}

/// An [`AppError`] as a server function would answer it.
fn app_error_response(error: AppError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_string(&error).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Before the WASM loads, a failed form post comes back to its page with
/// the error in the address (`?__path=…&__err=…`), which Leptos shows. So
/// that a crafted link cannot put words on Outreach's pages, the error is
/// signed on its way out and shown only if the signature holds.
async fn sign_error_links(
    State(signer): State<Arc<LinkSigner>>,
    mut request: Request,
    next: Next,
) -> Response {
    const LIFETIME_SECS: i64 = 10 * 60;
    let now = domain::clock::now();
    if request.method() == Method::GET
        && let Some(query) = request.uri().query()
        && query.contains("__err")
    {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        let get = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let genuine = match (get("__path"), get("__err"), get("__sig")) {
            (Some(path), Some(error), Some(signature)) => {
                signer.verify(&format!("{path}\n{error}"), signature, now)
            }
            _ => false,
        };
        if !genuine {
            tracing::warn!(path = %logged_path(request.uri().path()), "ignored an unsigned form error in a link");
            let kept: Vec<&(String, String)> = pairs
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "__path" | "__err" | "__sig"))
                .collect();
            let query = serde_urlencoded::to_string(kept).unwrap_or_default();
            let path = request.uri().path();
            let rewritten = if query.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{query}")
            };
            if let Ok(uri) = rewritten.parse() {
                *request.uri_mut() = uri;
            }
        }
    }
    let mut response = next.run(request).await;
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.contains("__err="))
        .map(str::to_owned);
    if let Some(location) = location {
        let query = location.split_once('?').map_or("", |(_, q)| q);
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        if let (Some(path), Some(error)) = (get("__path"), get("__err")) {
            let signature = signer.sign(&format!("{path}\n{error}"), now + LIFETIME_SECS);
            let signed = format!(
                "{location}&{}",
                serde_urlencoded::to_string([("__sig", signature)]).unwrap_or_default()
            );
            if let Ok(value) = HeaderValue::from_str(&signed) {
                response.headers_mut().insert(header::LOCATION, value);
            }
        }
    }
    response
}

/// Resolves the session cookie once per request, for pages and server
/// functions alike, and sends people who are not signed in to `/login`.
async fn resolve_session(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|cookies| session_token_from_cookies(cookies, state.secure_cookies));
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    let client = client_address(peer, request.headers(), &state.trusted_proxies);
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    // An open page asks now and then whether it is still signed in: that
    // question must not keep an idle session alive.
    let keep_alive = request.uri().path() != app::auth::SESSION_STATUS_PATH;
    let user = match &token {
        Some(token) => {
            let (pool, idle, now) = (
                &state.services.pool,
                state.session_idle_secs,
                domain::clock::now(),
            );
            let found = if keep_alive {
                domain::sign_in::fetch_session_user(pool, token, idle, now).await
            } else {
                domain::sign_in::peek_session_user(pool, token, idle, now).await
            };
            match found {
                Ok(user) => user,
                Err(e) => {
                    tracing::error!(error = ?e, "could not resolve the session");
                    return (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Outreach cannot reach its database right now. Try again in a moment.",
                    )
                        .into_response();
                }
            }
        }
        None => None,
    };

    if let Some(user) = &user {
        let span = tracing::Span::current();
        span.record(
            "organisation_id",
            tracing::field::display(user.organisation_id),
        );
        span.record("user_id", tracing::field::display(user.user_id));
    }
    let path = request.uri().path();
    let is_page_load = request.method() == Method::GET;
    if is_page_load && user.is_none() && needs_sign_in(path) {
        return Redirect::to(routes::SIGN_IN).into_response();
    }
    if is_page_load && user.is_some() && path == routes::SIGN_IN {
        return Redirect::to(routes::HOME).into_response();
    }

    request.extensions_mut().insert(RequestSession {
        token,
        user,
        client,
        user_agent,
    });
    next.run(request).await
}

/// The address a request came from: the peer's, or (only when the peer is
/// a proxy the operator named) the last address in `X-Forwarded-For` that
/// is not one of the trusted proxies. A header nobody vouches for is
/// ignored: anyone can write one.
fn client_address(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> String {
    let Some(peer) = peer else {
        return "unknown".to_owned();
    };
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|address| !trusted.contains(address))
        .unwrap_or(peer)
        .to_string()
}

fn needs_sign_in(path: &str) -> bool {
    path == "/" || path == "/outreach" || path.starts_with("/outreach/")
}

/// Refuses state-changing requests that a browser made on behalf of another
/// site. `SameSite=Lax` already keeps the session cookie off them; this
/// turns them away before they run at all.
async fn refuse_cross_site(
    State(public_url): State<Arc<PublicUrl>>,
    request: Request,
    next: Next,
) -> Response {
    let safe_method = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe_method && is_cross_site(request.headers(), &public_url) {
        tracing::warn!(path = %logged_path(request.uri().path()), "refused a cross-site request");
        return (
            StatusCode::FORBIDDEN,
            "Cross-site request refused: submit the form from Outreach itself.",
        )
            .into_response();
    }
    next.run(request).await
}

fn is_cross_site(headers: &HeaderMap, public_url: &PublicUrl) -> bool {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"))
    {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        // Not sent by a browser (or by one too old to matter): nothing to check.
        return false;
    };
    let Ok(origin) = origin.to_str() else {
        return true;
    };
    let origin = origin.trim_end_matches('/').to_ascii_lowercase();
    if origin == public_url.origin() {
        return false;
    }
    // The address the browser actually used, when it differs from the
    // configured one (localhost and 127.0.0.1, say).
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_ascii_lowercase);
    let origin_authority = origin.split_once("://").map(|(_, authority)| authority);
    !(host.is_some() && origin_authority == host.as_deref())
}

/// Every HTML page gets a policy with a fresh nonce, chosen here before
/// Leptos renders it (see `app::state::provide_request_nonce`); every other
/// answer a policy that allows nothing.
async fn content_security_policy(mut request: Request, next: Next) -> Response {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use rand::RngCore;

    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let nonce = URL_SAFE_NO_PAD.encode(bytes);
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut response = next.run(request).await;
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    // Any other answer gets `NOTHING_ALLOWED` from `security_headers`.
    if is_page && let Ok(value) = HeaderValue::from_str(&app::content_security_policy(&nonce)) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// The policy of every answer that is not an HTML page.
const NOTHING_ALLOWED: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// Outreach uses none of these.
const PERMISSIONS_POLICY: &str =
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), display-capture=()";

/// What `security_headers` needs, taken from the app's state once rather
/// than cloned with it for every request.
#[derive(Clone)]
struct ResponseHeaders {
    secure_cookies: bool,
    /// `/pkg/`: the static bundle, which may be cached.
    bundle_prefix: Arc<str>,
}

impl ResponseHeaders {
    fn new(state: &AppState) -> Self {
        Self {
            secure_cookies: state.secure_cookies,
            bundle_prefix: format!("/{}/", state.leptos_options.site_pkg_dir).into(),
        }
    }
}

/// Headers for every response; `no-store` for everything but the static
/// bundle, so signed-in pages never sit in a shared or back-button cache;
/// a policy that allows nothing unless a page has its own (with a nonce,
/// from `content_security_policy`).
async fn security_headers(
    State(settings): State<ResponseHeaders>,
    // The URI alone: the whole request's parts would be a copy of its
    // headers for every request.
    uri: axum::http::Uri,
    mut response: Response,
) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static(PERMISSIONS_POLICY),
    );
    if settings.secure_cookies {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(NOTHING_ALLOWED),
        );
    }
    if !uri.path().starts_with(&*settings.bundle_prefix) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn one_time_link_secrets_are_left_out_of_logged_paths() {
        let invitation = format!("{}/s3cr3t-part", app::links::INVITATIONS);
        let reset = format!("{}/s3cr3t-part", app::links::PASSWORD_RESETS);
        assert_eq!(logged_path(&invitation), "/invitations/{secret}");
        assert_eq!(logged_path(&reset), "/password-resets/{secret}");
        assert_eq!(
            logged_path("/outreach/campaigns/7"),
            "/outreach/campaigns/7"
        );
    }

    #[test]
    fn the_client_address_comes_from_a_header_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let forwarded = headers(&[("x-forwarded-for", "203.0.113.9, 198.51.100.2, 10.0.0.1")]);
        let peer = Some("192.0.2.7".parse().unwrap());

        // Nobody trusted: the header is anyone's to write.
        assert_eq!(client_address(peer, &forwarded, &[]), "192.0.2.7");
        // Behind the proxy: the last address it did not add itself.
        assert_eq!(
            client_address(Some(proxy), &forwarded, &[proxy]),
            "198.51.100.2"
        );
        assert_eq!(
            client_address(Some(proxy), &headers(&[]), &[proxy]),
            "10.0.0.1"
        );
        assert_eq!(client_address(None, &forwarded, &[proxy]), "unknown");
    }

    #[test]
    fn cross_site_requests_are_recognised() {
        let ours = PublicUrl::parse("https://outreach.example.org").unwrap();
        let cases = [
            (headers(&[]), false),
            (
                headers(&[("origin", "https://outreach.example.org")]),
                false,
            ),
            (headers(&[("origin", "https://evil.example")]), true),
            (headers(&[("origin", "null")]), true),
            (headers(&[("sec-fetch-site", "cross-site")]), true),
            (
                headers(&[
                    ("sec-fetch-site", "same-origin"),
                    ("origin", "https://outreach.example.org"),
                ]),
                false,
            ),
            (
                headers(&[
                    ("origin", "http://localhost:3000"),
                    ("host", "localhost:3000"),
                ]),
                false,
            ),
            (
                headers(&[
                    ("origin", "http://evil.example"),
                    ("host", "localhost:3000"),
                ]),
                true,
            ),
        ];
        for (headers, expected) in cases {
            assert_eq!(is_cross_site(&headers, &ours), expected, "{headers:?}");
        }
    }
}
