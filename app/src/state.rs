//! What every server function and page render can reach on the server.

use axum::extract::FromRef;
use domain::db::SqlitePool;
use leptos::config::LeptosOptions;

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: SqlitePool,
    /// Set when `OUTREACH_PUBLIC_URL` is https: cookies then carry `Secure`.
    pub secure_cookies: bool,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
