//! Numbers that asked not to be messaged, per organisation: the one module
//! that writes `opt_outs`. A STOP reply adds one, START removes it,
//! Twilio's 21610 ("unsubscribed recipient") adds one too, and people add,
//! import and (when the person asked to be messaged again) remove them on
//! the Opt-outs page.

use std::collections::HashSet;

use anyhow::Context;
use futures_util::Stream;

use crate::db::statements::Statements;
use crate::db::{Backend, DbConnection, Pool};
use crate::{
    audit::{self, Topic},
    campaigns::audience::E164Phone,
    clock::{UnixTime, format_rfc3339},
    ids::OrganisationId,
    spreadsheet::{csv_in_parts, safe_cell},
};

/// Why a number is opted out, as stored.
pub const BY_HAND: &str = "manual";
pub const IMPORTED: &str = "import";

/// Records the opt-out, once: the first source is kept.
pub async fn insert<S: Statements>(
    conn: &mut S,
    organisation: OrganisationId,
    phone: &str,
    source: &str,
    now: UnixTime,
) -> anyhow::Result<()> {
    conn.execute(
        "INSERT INTO opt_outs (organisation_id, phone, source, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (organisation_id, phone) DO NOTHING",
        vec![organisation.into(), phone.into(), source.into(), now.into()],
        true,
    )
    .await
    .context("could not record the opt-out")?;
    Ok(())
}

pub async fn remove(
    conn: &mut DbConnection,
    organisation: OrganisationId,
    phone: &str,
) -> anyhow::Result<bool> {
    Ok(
        sqlx::query("DELETE FROM opt_outs WHERE organisation_id = $1 AND phone = $2")
            .bind(organisation)
            .bind(phone)
            .execute(conn)
            .await
            .context("could not remove the opt-out")?
            .rows_affected()
            == 1,
    )
}

/// Every opted-out number of the organisation, for leaving them out of a
/// new audience.
pub async fn numbers(pool: &Pool, organisation: OrganisationId) -> anyhow::Result<HashSet<String>> {
    Ok(
        sqlx::query_scalar::<_, String>("SELECT phone FROM opt_outs WHERE organisation_id = $1")
            .bind(organisation)
            .fetch_all(pool)
            .await
            .context("could not read opt-outs")?
            .into_iter()
            .collect(),
    )
}

/// Why a number opted out, in words.
pub fn reason(source: &str) -> &'static str {
    match source {
        "stop_reply" => "Replied STOP",
        "twilio_21610" => "Twilio reported them unsubscribed (21610)",
        BY_HAND => "Added by hand",
        IMPORTED => "Imported",
        _ => "Unknown",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptOut {
    pub phone: String,
    pub source: String,
    pub created_at: UnixTime,
    pub added_by: Option<String>,
}

/// One page of the organisation's opt-outs, newest first, of those whose
/// number contains `digits` (all of them when it is empty), and how many
/// match.
pub async fn list(
    pool: &Pool,
    organisation: OrganisationId,
    digits: &str,
    offset: i64,
    limit: i64,
) -> anyhow::Result<(i64, Vec<OptOut>)> {
    let pattern = format!("%{}%", digits.replace(['%', '_', '\\'], ""));
    let total = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM opt_outs WHERE organisation_id = $1 AND phone LIKE $2",
    )
    .bind(organisation)
    .bind(&pattern)
    .fetch_one(pool)
    .await
    .context("could not count opt-outs")?;
    let rows = sqlx::query_as::<_, (String, String, i64, Option<String>)>(
        "SELECT phone, source, created_at, added_by FROM opt_outs
         WHERE organisation_id = $1 AND phone LIKE $2
         ORDER BY created_at DESC, phone LIMIT $3 OFFSET $4",
    )
    .bind(organisation)
    .bind(&pattern)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
    .context("could not list opt-outs")?;
    Ok((
        total,
        rows.into_iter()
            .map(|(phone, source, created_at, added_by)| OptOut {
                phone,
                source,
                created_at,
                added_by,
            })
            .collect(),
    ))
}

/// Adds opt-outs on someone's word (by hand or from a file), recording who;
/// numbers already opted out keep their first reason. Returns how many
/// were new.
///
/// A large file is written a transaction of `ROWS_PER_TRANSACTION` at a
/// time, so that it never holds SQLite's write lock for long (100,000 in
/// one transaction held it about 180 ms; BENCHMARKS.md). The audit log's
/// entry, with the count of new opt-outs, commits with the last of them.
/// A failure part-way keeps the opt-outs added before it, each with its
/// source, time and who added it; importing again adds the rest.
pub async fn add(
    pool: &Pool,
    organisation: OrganisationId,
    phones: &[E164Phone],
    source: &'static str,
    by: &str,
    now: UnixTime,
) -> anyhow::Result<u64> {
    const ROWS_PER_INSERT: usize = 500;
    const ROWS_PER_TRANSACTION: usize = 5_000;
    let mut added = 0;
    let mut batches = phones.chunks(ROWS_PER_TRANSACTION).peekable();
    while let Some(batch) = batches.next() {
        let mut tx = crate::db::begin_write(pool)
            .await
            .context("could not start a transaction")?;
        for chunk in batch.chunks(ROWS_PER_INSERT) {
            let values = Backend::of(pool).placeholder_rows(chunk.len(), 5);
            let sql = format!(
                "INSERT INTO opt_outs (organisation_id, phone, source, created_at, added_by) VALUES {values}
                 ON CONFLICT (organisation_id, phone) DO NOTHING"
            );
            let mut query = sqlx::query(&sql);
            for phone in chunk {
                query = query
                    .bind(organisation)
                    .bind(phone.as_str().to_owned())
                    .bind(source)
                    .bind(now)
                    .bind(by.to_owned());
            }
            added += query
                .execute(&mut *tx)
                .await
                .context("could not add the opt-outs")?
                .rows_affected();
        }
        if batches.peek().is_none() && added > 0 {
            let action = match (source, phones) {
                (BY_HAND, [phone]) => format!("Added an opt-out for {}", phone.as_str()),
                _ => format!(
                    "Imported {} opt-out{} ({added} new)",
                    phones.len(),
                    if phones.len() == 1 { "" } else { "s" }
                ),
            };
            audit::record(&mut tx, organisation, Topic::OptOuts, by, &action, now).await?;
        }
        tx.commit().await.context("could not commit the opt-outs")?;
    }
    Ok(added)
}

/// Removes an opt-out because the person asked to receive messages again
/// (the caller has that confirmed), and records who did it. `false` when
/// the number is not opted out.
pub async fn remove_on_request(
    pool: &Pool,
    organisation: OrganisationId,
    phone: &E164Phone,
    by: &str,
    now: UnixTime,
) -> anyhow::Result<bool> {
    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    if !remove(&mut tx, organisation, phone.as_str()).await? {
        return Ok(false);
    }
    let action = format!(
        "Removed the opt-out of {} (they asked to receive messages again)",
        phone.as_str()
    );
    audit::record(&mut tx, organisation, Topic::OptOuts, by, &action, now).await?;
    tx.commit().await.context("could not commit")?;
    Ok(true)
}

/// Opt-outs read at a time for a CSV export.
const EXPORT_ROWS_PER_PART: i64 = 5_000;

/// Every opt-out of the organisation as CSV (phone, reason, when, who), in
/// number order, in parts (see `spreadsheet::csv_in_parts`), each sought
/// through the organisation's numbers.
pub fn export_csv(
    pool: Pool,
    organisation: OrganisationId,
) -> impl Stream<Item = anyhow::Result<Vec<u8>>> + Send + 'static {
    export_csv_in_parts(pool, organisation, EXPORT_ROWS_PER_PART)
}

const EXPORT_PART_SQL: &str = "SELECT phone, source, created_at, added_by FROM opt_outs
     WHERE organisation_id = $1 AND phone > $2 ORDER BY phone LIMIT $3";

fn export_csv_in_parts(
    pool: Pool,
    organisation: OrganisationId,
    rows_per_part: i64,
) -> impl Stream<Item = anyhow::Result<Vec<u8>>> + Send + 'static {
    let read = move |after: String, limit: i64| {
        let pool = pool.clone();
        async move {
            let rows = sqlx::query_as::<_, (String, String, i64, Option<String>)>(EXPORT_PART_SQL)
                .bind(organisation)
                .bind(after)
                .bind(limit)
                .fetch_all(&pool)
                .await
                .context("could not read the opt-outs")?;
            Ok(rows
                .into_iter()
                .map(|(phone, source, created_at, added_by)| OptOut {
                    phone,
                    source,
                    created_at,
                    added_by,
                })
                .collect())
        }
    };
    csv_in_parts(
        rows_per_part,
        |row: &OptOut| row.phone.clone(),
        read,
        opt_outs_csv,
    )
}

fn opt_outs_csv(header: bool, rows: Vec<OptOut>) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 64 + 64));
    if header {
        writer
            .write_record(["phone", "reason", "opted_out_at_utc", "added_by"])
            .context("csv")?;
    }
    for row in rows {
        let cells = [
            row.phone.as_str(),
            reason(&row.source),
            &format_rfc3339(row.created_at),
            row.added_by.as_deref().unwrap_or(""),
        ];
        writer
            .write_record(cells.iter().map(|cell| safe_cell(cell).into_owned()))
            .context("csv")?;
    }
    writer.into_inner().context("csv")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::{fresh_database, sqlite_plan};

    /// Read two at a time, the export is the same file as read at once:
    /// the header, then every opt-out of the organisation once, in number
    /// order; another organisation's stay out. Each part is a seek.
    #[tokio::test]
    async fn an_export_read_in_parts_is_the_whole_file() {
        use futures_util::TryStreamExt;
        let (pool, _dir) = fresh_database().await;
        let (acme, globex) = (
            crate::organisations::testing::organisation(&pool, "Acme").await,
            crate::organisations::testing::organisation(&pool, "Globex").await,
        );
        let mut conn = pool.acquire().await.unwrap();
        for phone in [
            "+14155550103",
            "+14155550101",
            "+14155550105",
            "+14155550102",
            "+14155550104",
        ] {
            insert(&mut *conn, acme, phone, BY_HAND, 1_700_000_000)
                .await
                .unwrap();
        }
        insert(&mut *conn, globex, "+14155550100", IMPORTED, 0)
            .await
            .unwrap();
        let export = |rows_per_part| {
            export_csv_in_parts(pool.clone(), acme, rows_per_part).try_collect::<Vec<Vec<u8>>>()
        };

        let in_parts = export(2).await.unwrap();
        let at_once = export(100).await.unwrap();

        assert_eq!(in_parts.len(), 3, "2 + 2 + 1 opt-outs");
        assert_eq!(at_once.len(), 1);
        let file = String::from_utf8(in_parts.concat()).unwrap();
        assert_eq!(file, String::from_utf8(at_once.concat()).unwrap());
        let lines: Vec<&str> = file.lines().collect();
        assert_eq!(lines[0], "phone,reason,opted_out_at_utc,added_by");
        let numbers: Vec<&str> = lines[1..]
            .iter()
            .map(|line| line.split(',').next().unwrap())
            .collect();
        assert_eq!(
            numbers,
            [
                "+14155550101",
                "+14155550102",
                "+14155550103",
                "+14155550104",
                "+14155550105"
            ]
        );
        assert!(lines[1].starts_with("+14155550101,Added by hand,2023-11-14T22:13:20Z"));
        // Nothing opted out: the header alone.
        let empty = export_csv_in_parts(pool.clone(), OrganisationId(999), 2)
            .try_collect::<Vec<Vec<u8>>>()
            .await
            .unwrap();
        assert_eq!(empty.concat(), b"phone,reason,opted_out_at_utc,added_by\n");

        if crate::db::Backend::of(&pool) == crate::db::Backend::Sqlite {
            let plan = sqlite_plan(&pool, EXPORT_PART_SQL).await;
            assert!(
                plan.iter()
                    .any(|step| step.contains("(organisation_id=? AND phone>?)")),
                "{plan:?}"
            );
        }
    }
}
