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

/// Everything logged so far.
pub fn captured() -> String {
    let buffer = LOGS.get().expect("capture() was called").lock().unwrap();
    String::from_utf8_lossy(&buffer).into_owned()
}
