//! What Outreach counts for operators (`GET /metrics` on
//! `OUTREACH_METRICS_ADDR`, Prometheus' text format). Each process counts
//! its own; Prometheus adds processes up. Recorded through the `metrics`
//! facade: nothing is kept when no exporter is installed.

/// Names and help texts, for the exporter to describe.
pub const DESCRIPTIONS: &[(&str, &str)] = &[
    (MESSAGES_SENT, "Messages Twilio accepted from this process."),
    (
        MESSAGES_FAILED,
        "Messages that failed, by Twilio error code: refused when sent, or failed or undelivered in a status callback.",
    ),
    (
        STATUS_CALLBACKS,
        "Twilio status callbacks received, by outcome: accepted (verified and stored) or refused.",
    ),
    (
        QUEUE_DEPTH,
        "Messages waiting to be sent or settled, by state (the whole database, as of the scrape).",
    ),
    (
        TWILIO_REQUEST_SECONDS,
        "How long requests to Twilio took, by operation.",
    ),
    (
        SENDING_PASS_SECONDS,
        "How long one pass of the sending engine took.",
    ),
    (
        HTTP_REQUESTS,
        "HTTP requests answered, by route and status.",
    ),
    (
        GROUP_COMMIT_WAIT_SECONDS,
        "How long a write committed in a group (a status callback, a Twilio answer) waited until committed, by kind.",
    ),
    (
        GROUP_COMMIT_SECONDS,
        "How long one group's transaction took once it had its turn at writing, by kind.",
    ),
    (
        GROUP_COMMIT_TURN_WAIT_SECONDS,
        "How long a group waited for its turn at writing while other writes (queuing recipients, folding counts, a checkpoint of a long WAL) had it, by kind.",
    ),
    (
        GROUP_COMMIT_WRITES,
        "Writes committed together in one group, by kind.",
    ),
];

pub const MESSAGES_SENT: &str = "outreach_messages_sent_total";
pub const MESSAGES_FAILED: &str = "outreach_messages_failed_total";
pub const STATUS_CALLBACKS: &str = "outreach_status_callbacks_total";
pub const QUEUE_DEPTH: &str = "outreach_queue_depth";
pub const TWILIO_REQUEST_SECONDS: &str = "outreach_twilio_request_duration_seconds";
pub const SENDING_PASS_SECONDS: &str = "outreach_sending_pass_duration_seconds";
pub const HTTP_REQUESTS: &str = "outreach_http_requests_total";
pub const GROUP_COMMIT_WAIT_SECONDS: &str = "outreach_group_commit_wait_seconds";
pub const GROUP_COMMIT_SECONDS: &str = "outreach_group_commit_duration_seconds";
pub const GROUP_COMMIT_TURN_WAIT_SECONDS: &str = "outreach_group_commit_turn_wait_seconds";
pub const GROUP_COMMIT_WRITES: &str = "outreach_group_commit_writes";

pub fn message_sent() {
    metrics::counter!(MESSAGES_SENT).increment(1);
}

/// A message failed with this Twilio error code ("none" when Twilio gave
/// none).
pub fn message_failed(error_code: Option<u64>) {
    let code = error_code.map_or_else(|| "none".to_owned(), |code| code.to_string());
    metrics::counter!(MESSAGES_FAILED, "error_code" => code).increment(1);
}

/// A status callback was accepted (verified and stored) or refused.
pub fn status_callback(accepted: bool) {
    let outcome = if accepted { "accepted" } else { "refused" };
    metrics::counter!(STATUS_CALLBACKS, "outcome" => outcome).increment(1);
}

pub fn queue_depth(state: &'static str, messages: i64) {
    metrics::gauge!(QUEUE_DEPTH, "state" => state).set(messages as f64);
}

pub fn twilio_request(operation: &'static str, started: std::time::Instant) {
    metrics::histogram!(TWILIO_REQUEST_SECONDS, "operation" => operation)
        .record(started.elapsed().as_secs_f64());
}

pub fn sending_pass(started: std::time::Instant) {
    metrics::histogram!(SENDING_PASS_SECONDS).record(started.elapsed().as_secs_f64());
}

/// `route` is the route's pattern (`/campaigns/{id}`), never the path a
/// client sent: one series per route, whatever is requested.
pub fn http_request(route: String, status: u16) {
    metrics::counter!(HTTP_REQUESTS, "route" => route, "status" => status.to_string()).increment(1);
}

/// One write of this kind was committed, `queued` ago.
pub fn group_commit_wait(kind: &'static str, queued: std::time::Instant) {
    metrics::histogram!(GROUP_COMMIT_WAIT_SECONDS, "kind" => kind)
        .record(queued.elapsed().as_secs_f64());
}

/// A group of this kind got its turn at writing, `asked` ago.
pub fn group_commit_turn(kind: &'static str, asked: std::time::Instant) {
    metrics::histogram!(GROUP_COMMIT_TURN_WAIT_SECONDS, "kind" => kind)
        .record(asked.elapsed().as_secs_f64());
}

/// A group of `writes` writes of this kind committed, `started` ago.
pub fn group_commit(kind: &'static str, writes: usize, started: std::time::Instant) {
    metrics::histogram!(GROUP_COMMIT_SECONDS, "kind" => kind)
        .record(started.elapsed().as_secs_f64());
    metrics::histogram!(GROUP_COMMIT_WRITES, "kind" => kind).record(writes as f64);
}
