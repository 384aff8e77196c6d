//! Logging: human-readable by default, JSON with `OUTREACH_LOG_FORMAT=json`,
//! filtered by `RUST_LOG` (default `info`).

use std::io::IsTerminal;

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
        let layer = fmt::layer().with_writer(std::io::stderr);
        // Colours for a person at a terminal only (and not there either
        // with NO_COLOR, tracing-subscriber's default): a log file or the
        // journal would keep the escape codes, and formatting them was a
        // few percent of every request's work.
        let layer = if std::io::stderr().is_terminal() {
            layer
        } else {
            layer.with_ansi(false)
        };
        registry.with(layer).try_init()
    };
    // A second initialisation (in tests) keeps the first subscriber.
    let _ = result;
}
