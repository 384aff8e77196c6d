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
        // Colours for a person at a terminal only: a log file or the
        // journal would keep the escape codes, and formatting them was a
        // few percent of every request's work.
        let colours = std::io::stderr().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
        registry
            .with(fmt::layer().with_ansi(colours).with_writer(std::io::stderr))
            .try_init()
    };
    // A second initialisation (in tests) keeps the first subscriber.
    let _ = result;
}
