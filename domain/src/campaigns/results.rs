//! A campaign's results: progress counts, the per-recipient table and the
//! CSV export.

use std::collections::BTreeMap;

use anyhow::Context;

use crate::db::Pool;
use crate::spreadsheet::safe_cell;
use sqlx::FromRow;

use crate::{
    clock::{UnixTime, format_rfc3339},
    ids::CampaignId,
    twilio::status::{MessageState, describe_error},
};

/// One recipient's message, with why it did not arrive in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientResult {
    pub phone: String,
    pub state: MessageState,
    pub twilio_sid: Option<String>,
    pub twilio_status: Option<String>,
    pub error_code: Option<i64>,
    pub reason: Option<String>,
    pub attempts: i64,
    pub updated_at: Option<UnixTime>,
}

#[derive(FromRow)]
struct ResultRow {
    phone: String,
    state: MessageState,
    twilio_sid: Option<String>,
    twilio_status: Option<String>,
    error_code: Option<i64>,
    error_message: Option<String>,
    attempts: i64,
    updated_at: Option<i64>,
}

fn reason(row: &ResultRow) -> Option<String> {
    match row.state {
        MessageState::Failed | MessageState::Undelivered | MessageState::OptedOut => {
            Some(describe_error(
                row.error_code.and_then(|c| u64::try_from(c).ok()),
                row.error_message.as_deref(),
            ))
        }
        MessageState::Unknown | MessageState::Cancelled | MessageState::Expired => {
            row.error_message.clone()
        }
        MessageState::Queued
        | MessageState::Sending
        | MessageState::Sent
        | MessageState::Delivered => None,
    }
}

impl From<ResultRow> for RecipientResult {
    fn from(row: ResultRow) -> Self {
        Self {
            reason: reason(&row),
            phone: row.phone,
            state: row.state,
            twilio_sid: row.twilio_sid,
            twilio_status: row.twilio_status,
            error_code: row.error_code,
            attempts: row.attempts,
            updated_at: row.updated_at,
        }
    }
}

const RESULT_COLUMNS: &str =
    "phone, state, twilio_sid, twilio_status, error_code, error_message, attempts, updated_at";

/// Recipients on a page of a campaign's recipient table.
pub const RESULTS_PER_PAGE: i64 = 100;

/// A page starting where queuing noted it would (`campaign_result_pages`).
fn results_page_sql() -> String {
    format!(
        "SELECT {RESULT_COLUMNS} FROM outbound_messages
         WHERE campaign_id = $1
           AND phone >= (SELECT first_phone FROM campaign_result_pages
                         WHERE campaign_id = $1 AND page = $2)
         ORDER BY phone LIMIT {RESULTS_PER_PAGE}"
    )
}

/// Page `page` (from 1) of the campaign's recipients, in number order.
pub async fn fetch_results(
    pool: &Pool,
    campaign: CampaignId,
    page: i64,
) -> anyhow::Result<Vec<RecipientResult>> {
    let rows = sqlx::query_as::<_, ResultRow>(&results_page_sql())
        .bind(campaign)
        .bind(page)
        .fetch_all(pool)
        .await
        .context("could not fetch the results")?;
    Ok(rows.into_iter().map(RecipientResult::from).collect())
}

/// Messages per state, e.g. `{Delivered: 98, Failed: 2}`.
pub async fn message_counts(
    pool: &Pool,
    campaign: CampaignId,
) -> anyhow::Result<BTreeMap<MessageState, i64>> {
    let mut counts = BTreeMap::new();
    for (state, _, n) in crate::outbound::counts_by_zone(pool, campaign).await? {
        *counts.entry(state).or_default() += n;
    }
    Ok(counts)
}

/// Every recipient's result as CSV (header row first).
pub async fn export_csv(pool: &Pool, campaign: CampaignId) -> anyhow::Result<Vec<u8>> {
    let rows = sqlx::query_as::<_, ResultRow>(&format!(
        "SELECT {RESULT_COLUMNS} FROM outbound_messages WHERE campaign_id = $1 ORDER BY phone"
    ))
    .bind(campaign)
    .fetch_all(pool)
    .await
    .context("could not read the results")?;
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 96));
    writer
        .write_record([
            "phone",
            "status",
            "reason",
            "twilio_status",
            "error_code",
            "message_sid",
            "attempts",
            "updated_at_utc",
        ])
        .context("csv")?;
    for row in rows {
        let result = RecipientResult::from(row);
        let cells = [
            result.phone.as_str(),
            result.state.as_str(),
            result.reason.as_deref().unwrap_or(""),
            result.twilio_status.as_deref().unwrap_or(""),
            &result.error_code.map(|c| c.to_string()).unwrap_or_default(),
            result.twilio_sid.as_deref().unwrap_or(""),
            &result.attempts.to_string(),
            &result.updated_at.map(format_rfc3339).unwrap_or_default(),
        ];
        // Reasons quote Twilio; statuses come from its callbacks: no formulas.
        writer
            .write_record(cells.iter().map(|cell| safe_cell(cell).into_owned()))
            .context("csv")?;
    }
    writer.into_inner().context("csv")
}

#[cfg(test)]
mod tests {
    use crate::db::testing::{fresh_database, sqlite_plan};

    /// What the campaign page and the campaign list read stays small with
    /// a million messages stored: their counts come from a few rows per
    /// campaign, and the recipient table seeks where its page starts.
    /// SQLite's plans, which need no statistics to be what production
    /// gets; PostgreSQL's depend on table sizes, so they are not checked.
    #[tokio::test]
    async fn the_campaign_page_and_list_never_scan_the_messages() {
        let (pool, _dir) = fresh_database().await;
        if crate::db::Backend::of(&pool) != crate::db::Backend::Sqlite {
            return;
        }
        let tables: Vec<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                .fetch_all(&pool)
                .await
                .unwrap();
        // Whole tables read, as against the rows of a subquery ("SCAN c").
        let scans = |plan: &[String]| -> Vec<String> {
            plan.iter()
                .filter(|step| {
                    step.strip_prefix("SCAN ")
                        .and_then(|rest| rest.split_whitespace().next())
                        .is_some_and(|name| tables.iter().any(|t| t == name))
                })
                .cloned()
                .collect()
        };
        let page = sqlite_plan(&pool, &super::results_page_sql()).await;
        assert!(scans(&page).is_empty(), "{page:?}");
        assert!(
            page.iter().any(|step| step.contains("outbound_messages")
                && step.contains("(campaign_id=? AND phone>?)")),
            "the page's first number is sought, however deep the page: {page:?}"
        );
        for counts in [
            crate::outbound::counts_by_zone_sql(),
            crate::outbound::counts_of_organisation_sql(),
        ] {
            let plan = sqlite_plan(&pool, &counts).await;
            assert!(scans(&plan).is_empty(), "{plan:?}");
            assert!(
                !plan.iter().any(|step| step.contains("outbound_messages")),
                "counts read no message: {plan:?}"
            );
        }
    }

    #[tokio::test]
    async fn the_database_refuses_a_message_state_outreach_does_not_know() {
        let (pool, _dir) = fresh_database().await;
        let campaign: i64 = sqlx::query_scalar(
            "INSERT INTO organisations (name, public_id, subscription_state, created_at)
             VALUES ('Acme', 'p', 'active', 0) RETURNING id",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO campaigns (id, organisation_id, name, channel, body, status, created_by, created_at, estimated_segments)
             VALUES (1, $1, 'C', 'sms', 'Hi', 'running', 'a@b.c', 0, 1)",
        )
        .bind(campaign)
        .execute(&pool)
        .await
        .unwrap();
        let insert = |state: &'static str| {
            sqlx::query(
                "INSERT INTO outbound_messages (campaign_id, phone, body, state, created_at)
                 VALUES (1, $1, 'Hi', $2, 0)",
            )
            .bind(format!("+1415555{:04}", state.len()))
            .bind(state)
            .execute(&pool)
        };

        assert!(insert("queued").await.is_ok());
        assert!(
            insert("canceled").await.is_err(),
            "Twilio's spelling is not ours"
        );
    }
}
