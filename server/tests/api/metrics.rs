//! `GET /metrics` for operators, from a real `outreach` process.

use std::time::Duration;

use reqwest::StatusCode;
use twilio_simulator::Outcome;

use crate::processes::{Installation, free_port, many_numbers};

/// The value of the sample `name{labels}` (labels exactly as rendered).
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Whether the sample is there, at `least` or more.
fn at_least(metrics: &str, series: &str, least: f64) -> bool {
    sample(metrics, series).is_some_and(|n| n >= least)
}

#[tokio::test]
async fn operators_scrape_sends_failures_callbacks_queue_twilio_latency_passes_and_requests() {
    let database = domain::db::testing::scratch_database().await;
    let mut installation = Installation::new(&database.url).await;
    let metrics_port = free_port();
    installation.env = vec![(
        "OUTREACH_METRICS_ADDR".into(),
        format!("127.0.0.1:{metrics_port}"),
    )];
    let _outreach = installation.start("all", installation.public_port).await;
    let cookie = installation.configured_organisation().await;
    let recipients = many_numbers(10);
    installation
        .twilio
        .set_outcome(&recipients[0], Outcome::Refused(21211));
    installation
        .twilio
        .set_outcome(&recipients[1], Outcome::Undelivered(30003));
    let id = installation
        .run_campaign(&cookie, "Counted", &recipients)
        .await;
    installation
        .wait_until_completed(id, Duration::from_secs(60))
        .await;
    // A forged callback is refused.
    let forged = installation
        .client
        .post(format!(
            "{}/webhooks/twilio/status/not-an-organisation",
            installation.public_url()
        ))
        .form(&[("MessageSid", "SM0123"), ("MessageStatus", "delivered")])
        .send()
        .await
        .unwrap();
    assert_ne!(forged.status(), StatusCode::OK);

    let scraped = installation
        .client
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), StatusCode::OK);
    let metrics = scraped.text().await.unwrap();

    assert_eq!(
        sample(&metrics, "outreach_messages_sent_total"),
        Some(9.0),
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            r#"outreach_messages_failed_total{error_code="21211"}"#
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            r#"outreach_messages_failed_total{error_code="30003"}"#
        ),
        Some(1.0),
        "{metrics}"
    );
    // `sent` and a final status for each of the nine.
    assert!(
        at_least(
            &metrics,
            r#"outreach_status_callbacks_total{outcome="accepted"}"#,
            18.0
        ),
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            r#"outreach_status_callbacks_total{outcome="refused"}"#
        ),
        Some(1.0),
        "{metrics}"
    );
    for state in ["queued", "sending", "unknown"] {
        assert_eq!(
            sample(
                &metrics,
                &format!(r#"outreach_queue_depth{{state="{state}"}}"#)
            ),
            Some(0.0),
            "{metrics}"
        );
    }
    assert_eq!(
        sample(
            &metrics,
            r#"outreach_twilio_request_duration_seconds_count{operation="send_message"}"#
        ),
        Some(10.0),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"outreach_twilio_request_duration_seconds_bucket{operation="send_message",le="0.1"}"#
        ),
        "a histogram with buckets: {metrics}"
    );
    assert!(
        // A count: more than none is one or more.
        at_least(
            &metrics,
            "outreach_sending_pass_duration_seconds_count",
            1.0
        ),
        "{metrics}"
    );
    // Each of the nine answers Twilio accepted waited for its group's
    // commit (shared with status callbacks); groups are counted by size.
    assert_eq!(
        sample(
            &metrics,
            r#"outreach_group_commit_wait_seconds_count{kind="twilio_answers"}"#
        ),
        Some(9.0),
        "{metrics}"
    );
    assert!(
        at_least(
            &metrics,
            r#"outreach_group_commit_wait_seconds_count{kind="status_callbacks"}"#,
            18.0
        ),
        "{metrics}"
    );
    // The engine claimed the nine messages through the same writer.
    assert!(
        at_least(
            &metrics,
            r#"outreach_group_commit_wait_seconds_count{kind="claims"}"#,
            1.0
        ),
        "{metrics}"
    );
    // Each group took its turn at writing, waiting for it or not.
    assert!(
        at_least(
            &metrics,
            r#"outreach_group_commit_turn_wait_seconds_count{kind="twilio_answers_and_callbacks"}"#,
            1.0
        ),
        "{metrics}"
    );
    assert!(
        at_least(
            &metrics,
            r#"outreach_group_commit_writes_bucket{kind="twilio_answers_and_callbacks",le="256"}"#,
            1.0
        ),
        "group sizes have buckets of their own: {metrics}"
    );
    assert!(
        at_least(
            &metrics,
            r#"outreach_group_commit_duration_seconds_count{kind="twilio_answers_and_callbacks"}"#,
            1.0
        ),
        "{metrics}"
    );
    assert!(
        sample(
            &metrics,
            r#"outreach_http_requests_total{route="/webhooks/twilio/status/{public_id}",status="404"}"#
        )
        .is_some(),
        "requests by route pattern, not path: {metrics}"
    );
    assert!(
        !metrics.contains("not-an-organisation"),
        "a client's path never becomes a label"
    );
    assert!(
        metrics.contains("# HELP outreach_messages_sent_total"),
        "{metrics}"
    );

    // Never on the public address.
    let public = installation
        .client
        .get(format!("{}/metrics", installation.public_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
}
