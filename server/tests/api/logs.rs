//! Every log line the in-process apps write during the test run, at TRACE,
//! kept so the secrecy tests can search them.

use std::{
    io::Write,
    sync::{Arc, Mutex, OnceLock},
};

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn capture() {
    LOGS.get_or_init(|| {
        show_recent_logs_on_failure();
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = Sink(buffer.clone());
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .init();
        buffer
    });
}

/// A failing test prints what the apps logged at INFO and above in the
/// last minute (every test's app: they share the process), so a request
/// that hung or failed in CI can be read about afterwards; with
/// `OUTREACH_TEST_LOG_DUMP=FILE` it also writes every captured line there.
fn show_recent_logs_on_failure() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        let Some(buffer) = LOGS.get() else { return };
        let Ok(buffer) = buffer.try_lock() else {
            return;
        };
        // Everything, TRACE included, for whoever investigates.
        if let Some(path) = std::env::var_os("OUTREACH_TEST_LOG_DUMP") {
            let _ = std::fs::write(path, &buffer[..]);
        }
        let text = String::from_utf8_lossy(&buffer);
        let since = (seconds_into_today() - 60).max(0);
        let recent: Vec<&str> = text
            .lines()
            .filter(|line| !line.contains(" TRACE ") && !line.contains(" DEBUG "))
            .filter(|line| seconds_of(line).is_some_and(|at| at >= since))
            .collect();
        let shown = &recent[recent.len().saturating_sub(300)..];
        eprintln!(
            "--- the last {} log lines at INFO and above ---",
            shown.len()
        );
        for line in shown {
            eprintln!("{line}");
        }
    }));
}

/// Seconds since the epoch now, and of a log line's RFC 3339 timestamp
/// (`2026-11-28T15:35:51.337690Z …`), compared within one day's lines.
fn seconds_into_today() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    now % 86_400
}

fn seconds_of(line: &str) -> Option<i64> {
    let time = line.get(11..19)?;
    let mut parts = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
    Some(h * 3600 + m * 60 + s)
}

/// Everything logged so far.
pub fn captured() -> String {
    let buffer = LOGS.get().expect("capture() was called").lock().unwrap();
    String::from_utf8_lossy(&buffer).into_owned()
}
