//! Numbers that asked not to be messaged, per organisation: the one module
//! that writes `opt_outs`. A STOP reply adds one, START removes it,
//! Twilio's 21610 ("unsubscribed recipient") adds one too, and people add,
//! import and (when the person asked to be messaged again) remove them on
//! the Opt-outs page.

use std::collections::HashSet;

use anyhow::Context;

use crate::db::statements::Statements;
use crate::db::{Backend, DbConnection, Pool};
use crate::{
    audit::{self, Topic},
    campaigns::audience::E164Phone,
    clock::{UnixTime, format_rfc3339},
    ids::OrganisationId,
    spreadsheet::safe_cell,
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
pub async fn add(
    pool: &Pool,
    organisation: OrganisationId,
    phones: &[E164Phone],
    source: &'static str,
    by: &str,
    now: UnixTime,
) -> anyhow::Result<u64> {
    const ROWS_PER_INSERT: usize = 500;
    let mut tx = pool
        .begin()
        .await
        .context("could not start a transaction")?;
    let mut added = 0;
    for chunk in phones.chunks(ROWS_PER_INSERT) {
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
    let action = match (source, phones) {
        (BY_HAND, [phone]) => format!("Added an opt-out for {}", phone.as_str()),
        _ => format!(
            "Imported {} opt-out{} ({added} new)",
            phones.len(),
            if phones.len() == 1 { "" } else { "s" }
        ),
    };
    if added > 0 {
        audit::record(&mut tx, organisation, Topic::OptOuts, by, &action, now).await?;
    }
    tx.commit().await.context("could not commit the opt-outs")?;
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
    let mut tx = pool
        .begin()
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

/// Every opt-out of the organisation as CSV: phone, reason, when, who.
pub async fn export_csv(pool: &Pool, organisation: OrganisationId) -> anyhow::Result<Vec<u8>> {
    let (_, rows) = list(pool, organisation, "", 0, i64::MAX).await?;
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 64));
    writer
        .write_record(["phone", "reason", "opted_out_at_utc", "added_by"])
        .context("csv")?;
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
