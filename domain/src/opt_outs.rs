//! Numbers that asked not to be messaged, per organisation: the one module
//! that writes `opt_outs`. A STOP reply adds one, START removes it, and
//! Twilio's 21610 ("unsubscribed recipient") adds one too.

use std::collections::HashSet;

use anyhow::Context;

use crate::db::{DbConnection, Pool};
use crate::{clock::UnixTime, ids::OrganisationId};

/// Records the opt-out, once: the first source is kept.
pub async fn insert(
    conn: &mut DbConnection,
    organisation: OrganisationId,
    phone: &str,
    source: &str,
    now: UnixTime,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO opt_outs (organisation_id, phone, source, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (organisation_id, phone) DO NOTHING",
    )
    .bind(organisation)
    .bind(phone)
    .bind(source)
    .bind(now)
    .execute(conn)
    .await
    .context("could not record the opt-out")?;
    Ok(())
}

pub async fn remove(
    conn: &mut DbConnection,
    organisation: OrganisationId,
    phone: &str,
) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM opt_outs WHERE organisation_id = $1 AND phone = $2")
        .bind(organisation)
        .bind(phone)
        .execute(conn)
        .await
        .context("could not remove the opt-out")?;
    Ok(())
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
