//! A campaign's results: progress counts, the per-recipient table and the
//! CSV export.

use std::collections::BTreeMap;

use anyhow::Context;
use futures_util::Stream;

use crate::db::Pool;
use crate::spreadsheet::{csv_in_parts, safe_cell};
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

/// Recipients read at a time for a CSV export.
const EXPORT_ROWS_PER_PART: i64 = 5_000;

/// Every recipient's result as CSV (header row first), in number order, in
/// parts of a few thousand recipients. Each part is read on its own,
/// starting after the last number of the part before, so a download holds
/// one part in memory, never the whole file, and no database connection
/// while the browser takes it in. Built whole, a million-recipient
/// campaign's file took hundreds of megabytes (BENCHMARKS.md).
pub fn export_csv(
    pool: Pool,
    campaign: CampaignId,
) -> impl Stream<Item = anyhow::Result<Vec<u8>>> + Send + 'static {
    export_csv_in_parts(pool, campaign, EXPORT_ROWS_PER_PART)
}

fn export_csv_in_parts(
    pool: Pool,
    campaign: CampaignId,
    rows_per_part: i64,
) -> impl Stream<Item = anyhow::Result<Vec<u8>>> + Send + 'static {
    let read = move |after: String, limit: i64| {
        let pool = pool.clone();
        async move {
            sqlx::query_as::<_, ResultRow>(&export_part_sql())
                .bind(campaign)
                .bind(after)
                .bind(limit)
                .fetch_all(&pool)
                .await
                .context("could not read the results")
        }
    };
    csv_in_parts(
        rows_per_part,
        |row: &ResultRow| row.phone.clone(),
        read,
        results_csv,
    )
}

/// A part of an export: the recipients after a number (every number is
/// after the empty one), sought through the campaign's numbers.
fn export_part_sql() -> String {
    format!(
        "SELECT {RESULT_COLUMNS} FROM outbound_messages
         WHERE campaign_id = $1 AND phone > $2 ORDER BY phone LIMIT $3"
    )
}

fn results_csv(header: bool, rows: Vec<ResultRow>) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 96 + 96));
    if header {
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
    }
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
        let export = sqlite_plan(&pool, &super::export_part_sql()).await;
        assert!(scans(&export).is_empty(), "{export:?}");
        assert!(
            export.iter().any(|step| step.contains("outbound_messages")
                && step.contains("(campaign_id=? AND phone>?)"))
                && !export.iter().any(|step| step.contains("TEMP B-TREE")),
            "each part of an export is sought after the last: {export:?}"
        );
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

    /// Read in parts of two, an export is the same file as read at once:
    /// the header once, every recipient once, in number order.
    #[tokio::test]
    async fn an_export_read_in_parts_is_the_whole_file() {
        use futures_util::TryStreamExt;
        let (pool, _dir) = fresh_database().await;
        let organisation: i64 = sqlx::query_scalar(
            "INSERT INTO organisations (name, public_id, subscription_state, created_at)
             VALUES ('Acme', 'p', 'active', 0) RETURNING id",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        for (campaign, phones) in [
            (
                1,
                [
                    "+14155550103",
                    "+14155550101",
                    "+14155550105",
                    "+14155550102",
                    "+14155550104",
                ],
            ),
            (2, ["+14155550100"; 5]),
        ] {
            sqlx::query(
                "INSERT INTO campaigns (id, organisation_id, name, channel, body, status, created_by, created_at, estimated_segments)
                 VALUES ($1, $2, 'C' || $1, 'sms', 'Hi', 'running', 'a@b.c', 0, 1)",
            )
            .bind(campaign)
            .bind(organisation)
            .execute(&pool)
            .await
            .unwrap();
            for phone in if campaign == 1 {
                &phones[..]
            } else {
                &phones[..1]
            } {
                sqlx::query(
                    "INSERT INTO outbound_messages (campaign_id, phone, body, state, error_code, created_at)
                     VALUES ($1, $2, 'Hi', 'failed', 21610, 0)",
                )
                .bind(campaign)
                .bind(phone)
                .execute(&pool)
                .await
                .unwrap();
            }
        }
        let export = |rows_per_part| {
            super::export_csv_in_parts(pool.clone(), crate::ids::CampaignId(1), rows_per_part)
                .try_collect::<Vec<Vec<u8>>>()
        };

        let in_parts = export(2).await.unwrap();
        let at_once = export(100).await.unwrap();

        assert_eq!(in_parts.len(), 3, "2 + 2 + 1 recipients");
        assert_eq!(at_once.len(), 1);
        let file = String::from_utf8(in_parts.concat()).unwrap();
        assert_eq!(file, String::from_utf8(at_once.concat()).unwrap());
        let numbers: Vec<&str> = file
            .lines()
            .map(|line| line.split(',').next().unwrap())
            .collect();
        assert_eq!(
            numbers,
            [
                "phone",
                "+14155550101",
                "+14155550102",
                "+14155550103",
                "+14155550104",
                "+14155550105"
            ]
        );
        // Exactly a part's worth: the read after it finds nothing more.
        let exactly_one_part = export(5).await.unwrap();
        assert_eq!(exactly_one_part, at_once);
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
