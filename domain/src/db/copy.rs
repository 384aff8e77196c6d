//! `outreach db copy`: every table of one database into another, empty
//! one (SQLite to PostgreSQL when an installation outgrows one machine).
//! Ids are kept, so links between rows hold; encrypted Auth Tokens are
//! copied as they are and need the same master keys.

use anyhow::{Context, bail};
use futures_util::TryStreamExt;
use sqlx::{Row, any::AnyRow};

use super::{Backend, Pool};

/// The tables copied, parents before the rows that refer to them. Leases
/// and sending allowances are not: they describe the processes running
/// now, and start afresh. Nor are message counts, nor SQLite's index of
/// contacts' names: the target's triggers (or PostgreSQL's index) count
/// every message and index every contact as it is copied.
const TABLES: &[&str] = &[
    "organisations",
    "users",
    "sessions",
    "sign_in_attempts",
    "twilio_integrations",
    "audit_events",
    "account_links",
    "twilio_checks",
    "opt_outs",
    "opt_out_keywords",
    "audiences",
    "audience_recipients",
    "campaigns",
    "inbound_messages",
    "outbound_messages",
    "campaign_result_pages",
    "delivery_events",
    "contacts",
    "contact_lists",
    "list_members",
];

/// Rows per INSERT: well under PostgreSQL's 65,535 parameters.
const ROWS_PER_INSERT: usize = 500;

/// How a column's values are read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Real,
    Text,
    Bytes,
}

impl Kind {
    fn of_declared(declared: &str) -> anyhow::Result<Self> {
        let declared = declared.to_ascii_lowercase();
        Ok(match declared.as_str() {
            "integer" | "bigint" | "int8" | "int" | "int4" => Self::Integer,
            "real" | "double precision" | "float8" => Self::Real,
            "text" => Self::Text,
            "blob" | "bytea" => Self::Bytes,
            other => bail!("a column of type {other} cannot be copied"),
        })
    }
}

/// A table's row count in both databases once copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiedTable {
    pub table: &'static str,
    pub rows: i64,
}

/// Copies every table of `from` into `to`, which must be empty (both
/// migrated to this build's schema), and checks each table's row count.
pub async fn copy_database(from: &Pool, to: &Pool) -> anyhow::Result<Vec<CopiedTable>> {
    for table in TABLES {
        let rows = count(to, table).await?;
        if rows > 0 {
            bail!(
                "the target database is not empty ({table} has {rows} row(s)): copy only into a new, empty database"
            );
        }
    }
    let mut copied = Vec::new();
    let mut with_ids = Vec::new();
    let mut tx = super::begin_write(to)
        .await
        .context("could not start the copy")?;
    for &table in TABLES {
        let columns = columns(to, table).await?;
        let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
        if names.contains(&"id") {
            with_ids.push(table);
        }
        let select = format!("SELECT {} FROM {table}", names.join(", "));
        let mut rows = sqlx::query(&select).fetch(from);
        let mut batch: Vec<AnyRow> = Vec::with_capacity(ROWS_PER_INSERT);
        while let Some(row) = rows
            .try_next()
            .await
            .with_context(|| format!("could not read {table}"))?
        {
            batch.push(row);
            if batch.len() == ROWS_PER_INSERT {
                insert(&mut tx, table, &columns, &batch).await?;
                batch.clear();
            }
        }
        insert(&mut tx, table, &columns, &batch).await?;
        copied.push(table);
    }
    if Backend::of(to) == Backend::Postgres {
        // Identity columns continue after the copied ids.
        for table in with_ids {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false)
                 FROM {table}"
            ))
            .execute(&mut *tx)
            .await
            .with_context(|| format!("could not continue {table}'s ids"))?;
        }
    }
    tx.commit().await.context("could not commit the copy")?;

    let mut counted = Vec::new();
    for table in copied {
        let (source, target) = (count(from, table).await?, count(to, table).await?);
        if source != target {
            bail!("{table}: {source} row(s) in the source but {target} copied");
        }
        counted.push(CopiedTable {
            table,
            rows: target,
        });
    }
    Ok(counted)
}

async fn count(pool: &Pool, table: &str) -> anyhow::Result<i64> {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .with_context(|| format!("could not count {table}"))
}

/// The target table's columns, in order, with how to copy each.
async fn columns(pool: &Pool, table: &str) -> anyhow::Result<Vec<(String, Kind)>> {
    let query = match Backend::of(pool) {
        Backend::Sqlite => "SELECT name, type FROM pragma_table_info($1) ORDER BY cid",
        Backend::Postgres => {
            "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT)
             FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1
             ORDER BY ordinal_position"
        }
    };
    let declared: Vec<(String, String)> =
        sqlx::query_as(query)
            .bind(table)
            .fetch_all(pool)
            .await
            .with_context(|| format!("could not read {table}'s columns"))?;
    if declared.is_empty() {
        bail!("the target database has no table {table}");
    }
    declared
        .into_iter()
        .map(|(name, declared)| Ok((name, Kind::of_declared(&declared)?)))
        .collect()
}

async fn insert(
    conn: &mut super::DbConnection,
    table: &str,
    columns: &[(String, Kind)],
    rows: &[AnyRow],
) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES {}",
        names.join(", "),
        Backend::of_connection(conn).placeholder_rows(rows.len(), columns.len())
    );
    let mut query = sqlx::query(&sql);
    for row in rows {
        for (at, (name, kind)) in columns.iter().enumerate() {
            let read = |e| anyhow::anyhow!("{table}.{name}: {e}");
            query = match kind {
                Kind::Integer => query.bind(row.try_get::<Option<i64>, _>(at).map_err(read)?),
                Kind::Real => query.bind(row.try_get::<Option<f64>, _>(at).map_err(read)?),
                Kind::Text => query.bind(row.try_get::<Option<String>, _>(at).map_err(read)?),
                Kind::Bytes => query.bind(row.try_get::<Option<Vec<u8>>, _>(at).map_err(read)?),
            };
        }
    }
    query
        .execute(&mut *conn)
        .await
        .with_context(|| format!("could not write {table}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    /// A table added by a migration but missing here would be left behind
    /// by a copy, silently.
    #[tokio::test]
    async fn every_table_but_the_running_processes_and_counts_is_copied() {
        let database = crate::db::testing::scratch_database().await;
        if database.sqlite_file.is_none() {
            return; // The schemas match (the migrations are tested on both).
        }
        let pool = crate::db::connect(&database.url).await.unwrap();
        let mut tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table'
             AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'
             AND name NOT IN ('work_leases', 'send_allowances',
                              'campaign_message_counts', 'message_count_changes')
             AND name NOT LIKE 'contacts\\_by\\_name%' ESCAPE '\\'",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        tables.sort();
        let mut copied: Vec<&str> = super::TABLES.to_vec();
        copied.sort();
        assert_eq!(tables, copied);
    }
}
