//! How long saving the SMS settings takes when Twilio is slow: the Account
//! and the Messaging Service look-ups each delayed by the simulator, saved
//! through the real server function over HTTP. The look-ups run at the same
//! time, so a save should take about one delay, not two; the ratio to the
//! delay is what to read.
//!
//! `cargo bench -p server --bench saving_settings [-- <delay ms>]` (default 300)

mod support;

use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let delay_ms: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(300);
    let bench = support::start().await;
    bench.twilio.set_latency(Duration::from_millis(delay_ms));

    // Each organisation may ask Twilio 10 times in 15 minutes: 8 saves,
    // each after disconnecting, so that each asks about the account and
    // the Messaging Service again.
    let mut took = Vec::new();
    for save in 0..8 {
        if save > 0 {
            let version: i64 = sqlx::query_scalar(
                "SELECT version FROM twilio_integrations WHERE organisation_id = $1",
            )
            .bind(bench.organisation.id)
            .fetch_one(&bench.pool)
            .await
            .unwrap();
            let disconnected = bench
                .client
                .post(format!("{}/api/disconnect_twilio", bench.address))
                .header("cookie", &bench.cookie)
                .form(&[("version", version.to_string())])
                .send()
                .await
                .unwrap();
            assert!(disconnected.status().is_success());
        }
        let started = Instant::now();
        let (status, answer) = bench.save_settings(0).await;
        took.push(started.elapsed());
        assert!(status.is_success(), "save {save}: {status} {answer}");
    }
    took.sort();
    let median = took[took.len() / 2];
    let delay = Duration::from_millis(delay_ms);
    println!(
        "saving the SMS settings with every Twilio answer {delay_ms} ms late: median {:.0} ms, slowest {:.0} ms ({} saves): {:.2}x the delay",
        median.as_secs_f64() * 1000.0,
        took[took.len() - 1].as_secs_f64() * 1000.0,
        took.len(),
        median.as_secs_f64() / delay.as_secs_f64()
    );
}
