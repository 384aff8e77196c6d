//! A large campaign starts at once and is queued a chunk per transaction
//! (and withdrawn so when cancelled); its page counts every recipient from
//! the start, it completes only once all are queued and sent, and its
//! counts always match its messages. The
//! app runs as a web process and the tests drive the engine's bookkeeping
//! themselves, so that they see each step.

use domain::{
    campaigns::store::{RECIPIENTS_PER_CHUNK, complete_finished_campaigns, queue_next_chunks},
    clock,
    db::Backend,
    outbound::{MESSAGES_PER_SETTLEMENT, fold_count_changes, queue_depth, withdraw_cancelled},
};
use model::{CampaignStatus, MessageState};
use reqwest::StatusCode;
use server::config::ProcessRole;

use crate::{
    helpers::{TestApp, spawn_app_with},
    sending::{configured_organisation, numbers, run_campaign_to},
};

/// Nine chunks of 500: the first queued before the answer.
const RECIPIENTS: usize = 4_500;
const CHUNK: usize = RECIPIENTS_PER_CHUNK as usize;

async fn web_process() -> TestApp {
    spawn_app_with(|config| config.role = ProcessRole::Web).await
}

async fn stored_messages(app: &TestApp, id: i64) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM outbound_messages WHERE campaign_id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn details(
    app: &TestApp,
    cookie: &str,
    id: i64,
    page: i64,
) -> app::campaigns::CampaignDetailsView {
    let response = app
        .call(
            "campaign_details",
            Some(cookie),
            &[("id", &id.to_string()), ("page", &page.to_string())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The campaign's counts as its page shows them.
async fn page_counts(app: &TestApp, cookie: &str, id: i64) -> Vec<(MessageState, i64)> {
    details(app, cookie, id, 1).await.campaign.messages
}

/// What `/metrics` reports as waiting to be queued (`outreach_queue_depth`).
async fn queued_depth(app: &TestApp) -> i64 {
    queue_depth(&app.pool)
        .await
        .unwrap()
        .into_iter()
        .find(|(state, _)| *state == MessageState::Queued)
        .map(|(_, n)| n)
        .unwrap()
}

/// The messages counted one by one, as the counts must always say.
async fn counted_one_by_one(app: &TestApp, id: i64) -> Vec<(MessageState, i64)> {
    let mut counted: Vec<(MessageState, i64)> = sqlx::query_as(
        "SELECT state, COUNT(*) FROM outbound_messages WHERE campaign_id = $1 GROUP BY state",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    counted.sort();
    counted
}

async fn queue_everything(app: &TestApp) -> Vec<usize> {
    let mut chunks = Vec::new();
    loop {
        let queued = queue_next_chunks(&app.pool, clock::now()).await.unwrap();
        if queued == 0 {
            return chunks;
        }
        chunks.push(queued);
    }
}

#[tokio::test]
async fn a_large_campaign_starts_at_once_and_is_queued_a_chunk_per_transaction() {
    let app = web_process().await;
    let admin = configured_organisation(&app).await;
    let recipients = numbers(RECIPIENTS);
    let id = run_campaign_to(&app, &admin, "Large", &recipients).await;

    // The answer came after the first chunk; the page counts everyone.
    assert_eq!(stored_messages(&app, id).await, RECIPIENTS_PER_CHUNK);
    assert_eq!(
        RECIPIENTS % CHUNK,
        0,
        "the last chunk is full: one more call ends queuing"
    );
    assert_eq!(
        page_counts(&app, &admin, id).await,
        [(MessageState::Queued, RECIPIENTS as i64)]
    );
    // Operators see the same backlog.
    assert_eq!(queued_depth(&app).await, RECIPIENTS as i64);
    // All it has queued so far are settled: it is not complete while
    // recipients remain to be queued.
    sqlx::query("UPDATE outbound_messages SET state = 'delivered' WHERE campaign_id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    assert!(
        complete_finished_campaigns(&app.pool, clock::now())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        page_counts(&app, &admin, id).await,
        [
            (
                MessageState::Queued,
                RECIPIENTS as i64 - RECIPIENTS_PER_CHUNK
            ),
            (MessageState::Delivered, RECIPIENTS_PER_CHUNK)
        ]
    );
    assert_eq!(
        queued_depth(&app).await,
        RECIPIENTS as i64 - RECIPIENTS_PER_CHUNK
    );

    assert_eq!(
        queue_everything(&app).await,
        [CHUNK; RECIPIENTS / CHUNK - 1]
    );
    // Every recipient once, in the campaign's number order.
    let phones: Vec<String> = sqlx::query_scalar(
        "SELECT phone FROM outbound_messages WHERE campaign_id = $1 ORDER BY phone",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut expected = recipients.clone();
    expected.sort();
    assert_eq!(phones, expected);
    // The recipient table's pages follow one another across chunks (of
    // five pages each).
    for page in [1, 5, 6, 44, 45] {
        let shown = details(&app, &admin, id, page).await;
        assert_eq!(shown.results_pages, 45);
        let phones: Vec<&str> = shown.results.iter().map(|r| r.phone.as_str()).collect();
        let first = (page as usize - 1) * 100;
        assert_eq!(phones, expected[first..first + 100], "page {page}");
    }
    let counted = counted_one_by_one(&app, id).await;
    assert_eq!(page_counts(&app, &admin, id).await, counted);
    // Folding the noted changes into the counts changes nothing they say.
    // PostgreSQL notes each change for the fold; SQLite, with one writer
    // at a time, counts in place and has none to fold.
    let folded = fold_count_changes(&app.pool).await.unwrap();
    match Backend::of(&app.pool) {
        Backend::Postgres => assert!(folded > 0),
        Backend::Sqlite => assert_eq!(folded, 0),
    }
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM message_count_changes")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(page_counts(&app, &admin, id).await, counted);
    assert_eq!(
        queued_depth(&app).await,
        RECIPIENTS as i64 - RECIPIENTS_PER_CHUNK
    );

    // Once every message is settled, it completes.
    sqlx::query("UPDATE outbound_messages SET state = 'delivered' WHERE campaign_id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        complete_finished_campaigns(&app.pool, clock::now())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        page_counts(&app, &admin, id).await,
        [(MessageState::Delivered, RECIPIENTS as i64)]
    );
    assert_eq!(queued_depth(&app).await, 0);
}

#[tokio::test]
async fn recipients_queued_after_a_campaign_was_cancelled_are_never_sent() {
    let app = web_process().await;
    let admin = configured_organisation(&app).await;
    let id = run_campaign_to(&app, &admin, "Cancelled early", &numbers(RECIPIENTS)).await;
    let cancelled = app
        .call("cancel_campaign", Some(&admin), &[("id", &id.to_string())])
        .await;
    assert_eq!(cancelled.status(), StatusCode::OK);

    assert_eq!(
        queue_everything(&app).await,
        [CHUNK; RECIPIENTS / CHUNK - 1]
    );
    let counted = counted_one_by_one(&app, id).await;
    assert_eq!(counted, [(MessageState::Cancelled, RECIPIENTS as i64)]);
    assert_eq!(page_counts(&app, &admin, id).await, counted);
    // Each says why, like a message withdrawn by the cancel itself.
    let reasons: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT DISTINCT error_message FROM outbound_messages WHERE campaign_id = $1",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        reasons,
        [Some("Not sent: the campaign was cancelled.".to_owned())]
    );
    let status: CampaignStatus = sqlx::query_scalar("SELECT status FROM campaigns WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, CampaignStatus::Cancelled);
}

#[tokio::test]
async fn two_queuers_at_once_queue_each_recipient_once() {
    let app = web_process().await;
    let admin = configured_organisation(&app).await;
    let id = run_campaign_to(&app, &admin, "Raced", &numbers(RECIPIENTS)).await;

    // As two processes' engines would, should both think they do the
    // housekeeping.
    loop {
        let (a, b) = tokio::join!(
            queue_next_chunks(&app.pool, clock::now()),
            queue_next_chunks(&app.pool, clock::now())
        );
        if a.unwrap() + b.unwrap() == 0 {
            break;
        }
    }
    assert_eq!(stored_messages(&app, id).await, RECIPIENTS as i64);
    assert_eq!(
        page_counts(&app, &admin, id).await,
        [(MessageState::Queued, RECIPIENTS as i64)]
    );
}

#[tokio::test]
async fn a_large_cancel_withdraws_a_chunk_at_once_and_the_engine_the_rest() {
    let app = web_process().await;
    let admin = configured_organisation(&app).await;
    let id = run_campaign_to(&app, &admin, "Cancelled late", &numbers(6_000)).await;
    queue_everything(&app).await;

    let cancelled = app
        .call("cancel_campaign", Some(&admin), &[("id", &id.to_string())])
        .await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    let withdrawn: u64 = cancelled.json().await.unwrap();
    assert_eq!(withdrawn, MESSAGES_PER_SETTLEMENT as u64);
    let mut by_the_engine = Vec::new();
    loop {
        match withdraw_cancelled(&app.pool, clock::now()).await.unwrap() {
            0 => break,
            n => by_the_engine.push(n),
        }
    }
    assert_eq!(
        by_the_engine, [MESSAGES_PER_SETTLEMENT as u64; 5],
        "the rest, a transaction each"
    );
    let counted = counted_one_by_one(&app, id).await;
    assert_eq!(counted, [(MessageState::Cancelled, 6_000)]);
    assert_eq!(page_counts(&app, &admin, id).await, counted);
}
