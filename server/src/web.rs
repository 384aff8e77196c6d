//! The HTTP surface: the Leptos pages and server functions, `/healthz`, and
//! the middleware every request passes through.

use std::{sync::Arc, time::Duration};

use app::{
    App,
    auth::ssr::{RequestSession, session_token_from_cookies},
    error::AppError,
    routes, shell,
    state::AppState,
};
use axum::{
    Router,
    body::Body,
    extract::{DefaultBodyLimit, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::{
    compression::CompressionLayer,
    trace::{DefaultOnResponse, TraceLayer},
};
use tracing::Level;

use crate::config::PublicUrl;

/// The whole application as a router: callable in tests without a socket.
pub fn router(state: AppState, public_url: PublicUrl) -> Router {
    let routes = generate_route_list(App);
    let public_url = Arc::new(public_url);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/", get(|| async { Redirect::to(routes::HOME) }))
        .route("/outreach", get(|| async { Redirect::to(routes::HOME) }))
        .merge(crate::webhooks::router())
        .merge(crate::exports::router())
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn(status_of_app_errors))
        // An audience of 100,000 numbers is a few megabytes of text.
        .layer(DefaultBodyLimit::max(16 * 1024 * 1024))
        // The WASM bundle shrinks to about a third with gzip.
        .layer(CompressionLayer::new())
        // Outermost last: trace -> headers -> cross-site refusal -> session,
        // so the middleware's own answers (403, 303, 503) carry the headers.
        .layer(middleware::from_fn_with_state(state.clone(), resolve_session))
        .layer(middleware::from_fn_with_state(public_url, refuse_cross_site))
        .layer(middleware::map_response_with_state(
            state.clone(),
            security_headers,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<Body>| {
                    // The path only: query strings are nobody's business in logs.
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                .on_failure(()),
        )
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let reachable = tokio::time::timeout(
        Duration::from_secs(2),
        domain::db::is_reachable(&state.pool),
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
        .find_map(session_token_from_cookies);
    let user = match &token {
        Some(token) => {
            match domain::sign_in::fetch_session_user(&state.pool, token, domain::clock::now())
                .await
            {
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

    let path = request.uri().path();
    let is_page_load = request.method() == Method::GET;
    if is_page_load && user.is_none() && needs_sign_in(path) {
        return Redirect::to(routes::SIGN_IN).into_response();
    }
    if is_page_load && user.is_some() && path == routes::SIGN_IN {
        return Redirect::to(routes::HOME).into_response();
    }

    request
        .extensions_mut()
        .insert(RequestSession { token, user });
    next.run(request).await
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
        tracing::warn!(path = %request.uri().path(), "refused a cross-site request");
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

/// Headers for every response; `no-store` for everything but the static
/// bundle, so signed-in pages never sit in a shared or back-button cache.
async fn security_headers(
    State(state): State<AppState>,
    request_parts: axum::http::request::Parts,
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
    let pkg = format!("/{}/", state.leptos_options.site_pkg_dir);
    if !request_parts.uri.path().starts_with(&pkg) {
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
