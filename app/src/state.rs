//! What every server function and page render can reach on the server.

use std::sync::Arc;

use axum::extract::FromRef;
use domain::services::Services;
use leptos::config::LeptosOptions;

/// Cloned for every request (axum's `State`) and every server function, a
/// status callback's included: one reference count to bump, not each
/// setting's strings to copy.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub leptos_options: LeptosOptions,
    /// The database, the master keys and Twilio.
    pub services: Services,
    /// Set when `OUTREACH_PUBLIC_URL` is https: cookies then carry `Secure`.
    pub secure_cookies: bool,
    /// `OUTREACH_PUBLIC_URL`'s origin: Twilio's webhooks are shown on it.
    pub public_origin: String,
    /// `OUTREACH_SESSION_IDLE_MINUTES`, in seconds.
    pub session_idle_secs: i64,
    /// `OUTREACH_TRUSTED_PROXIES`: only requests from these addresses may
    /// name the client's address in `X-Forwarded-For`.
    pub trusted_proxies: Arc<[std::net::IpAddr]>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// This response's script nonce, chosen by the server's middleware (which
/// also sends it in the Content-Security-Policy header) before Leptos
/// renders the page.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

/// Gives Leptos the request's nonce for its hydration scripts: called in
/// every page render's context.
pub fn provide_request_nonce() {
    use leptos::prelude::{provide_context, use_context};

    if let Some(nonce) = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CspNonce>().cloned())
    {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
}
