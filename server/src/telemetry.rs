//! Logging: human-readable by default, JSON with `OUTREACH_LOG_FORMAT=json`,
//! filtered by `RUST_LOG` (default `info`).

use tracing::Instrument;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

pub fn init(format: crate::config::LogFormat) {
    // sqlx logs every statement at INFO; that is noise, not operations.
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let json = format == crate::config::LogFormat::Json;
    let registry = tracing_subscriber::registry().with(filter);
    // Logs go to stderr; stdout is for what commands print for people.
    let result = if json {
        registry
            .with(fmt::layer().json().with_writer(std::io::stderr))
            .try_init()
    } else {
        registry
            .with(fmt::layer().with_writer(std::io::stderr))
            .try_init()
    };
    // A second initialisation (in tests) keeps the first subscriber.
    let _ = result;
}

/// Tokio, spawning each task in the span current where it was spawned.
struct SpannedTokio;

impl any_spawner::CustomExecutor for SpannedTokio {
    fn spawn(&self, task: any_spawner::PinnedFuture<()>) {
        tokio::spawn(task.in_current_span());
    }

    fn spawn_local(&self, task: any_spawner::PinnedLocalFuture<()>) {
        tokio::task::spawn_local(task.in_current_span());
    }

    fn poll_local(&self) {}
}

/// Leptos loads a page's data in tasks of their own; spawned this way, their
/// log lines still name the request that rendered the page. Must run before
/// Leptos sets its own executor (the first one set stays).
pub fn spawn_leptos_tasks_in_their_span() {
    let _ = any_spawner::Executor::init_custom_executor(SpannedTokio);
}
