//! Stored audiences: the `audiences` and `audience_recipients` tables.
//!
//! An audience is written once, in short chunks, and only then attached to
//! a campaign (see `store`): writing a million recipients never holds the
//! database's write lock for more than a chunk, so other organisations'
//! sending and webhooks keep going. An audience no campaign uses (replaced
//! in a draft, deleted with it, or left half-written by a crash) is removed
//! later by [`discard_unused_audiences`], also in chunks.

use std::time::Duration;

use anyhow::Context;

use super::audience::Audience;
use crate::db::{Backend, InTurn, Pool};
use crate::{clock::UnixTime, organisations::OrganisationId};

pub use crate::ids::AudienceId;

/// Rows per INSERT, and per transaction: a few milliseconds of writing.
const ROWS_PER_CHUNK: usize = 500;
/// Chunks per transaction: ~2,500 rows, well under 100 ms of lock.
const CHUNKS_PER_TRANSACTION: usize = 5;
/// A pause between transactions, so writers waiting for the lock get it.
const PAUSE_BETWEEN_TRANSACTIONS: Duration = Duration::from_millis(2);
/// An unused audience younger than this may still be being written.
const UNUSED_GRACE_SECS: i64 = 60 * 60;

/// Writes the audience in short transactions and returns its id. It is
/// nobody's until a campaign points at it.
pub async fn write_audience(
    pool: &Pool,
    organisation: OrganisationId,
    audience: &Audience,
    now: UnixTime,
) -> anyhow::Result<AudienceId> {
    let id = sqlx::query_scalar::<_, AudienceId>(
        "INSERT INTO audiences (organisation_id, recipients, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(organisation)
    .bind(audience.recipients.len() as i64)
    .bind(now)
    .fetch_one(pool)
    .in_turn(pool)
    .await
    .context("could not create the audience")?;
    for group in audience
        .recipients
        .chunks(ROWS_PER_CHUNK * CHUNKS_PER_TRANSACTION)
    {
        let mut tx = crate::db::begin_write(pool)
            .await
            .context("could not start a transaction")?;
        for chunk in group.chunks(ROWS_PER_CHUNK) {
            let sql = format!(
                "INSERT INTO audience_recipients (audience_id, phone, fields) VALUES {}",
                Backend::of(pool).placeholder_rows(chunk.len(), 3)
            );
            let mut insert = sqlx::query(&sql);
            for recipient in chunk {
                insert = insert
                    .bind(id)
                    .bind(recipient.phone().as_str().to_owned())
                    .bind(audience.fields_json(recipient));
            }
            insert
                .execute(&mut *tx)
                .await
                .context("could not write recipients")?;
        }
        tx.commit().await.context("could not commit recipients")?;
        tokio::time::sleep(PAUSE_BETWEEN_TRANSACTIONS).await;
    }
    Ok(id)
}

/// The first recipients' numbers, for the campaign page.
pub async fn first_phones(
    pool: &Pool,
    audience: AudienceId,
    limit: i64,
) -> anyhow::Result<Vec<String>> {
    sqlx::query_scalar::<_, String>(
        "SELECT phone FROM audience_recipients WHERE audience_id = $1 ORDER BY phone LIMIT $2",
    )
    .bind(audience)
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("could not read recipients")
}

/// Every recipient as (phone, fields JSON), in phone order.
pub async fn read_recipients(
    conn: impl sqlx::AnyExecutor<'_>,
    audience: AudienceId,
) -> anyhow::Result<Vec<(String, String)>> {
    sqlx::query_as::<_, (String, String)>(
        "SELECT phone, fields FROM audience_recipients WHERE audience_id = $1 ORDER BY phone",
    )
    .bind(audience)
    .fetch_all(conn)
    .await
    .context("could not read the recipients")
}

/// Up to `limit` recipients numbered after `after` (`""`: from the first),
/// as (phone, fields JSON), in phone order: a seek on the primary key.
pub async fn read_recipients_after(
    conn: impl sqlx::AnyExecutor<'_>,
    audience: AudienceId,
    after: &str,
    limit: i64,
) -> anyhow::Result<Vec<(String, String)>> {
    sqlx::query_as::<_, (String, String)>(
        "SELECT phone, fields FROM audience_recipients
         WHERE audience_id = $1 AND phone > $2 ORDER BY phone LIMIT $3",
    )
    .bind(audience)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await
    .context("could not read the recipients")
}

/// Removes audiences no campaign uses (older than an hour, so none still
/// being written), a chunk of recipients per transaction. Returns how
/// many audiences went.
pub async fn discard_unused_audiences(pool: &Pool, now: UnixTime) -> anyhow::Result<usize> {
    let unused = sqlx::query_scalar::<_, AudienceId>(
        "SELECT a.id FROM audiences a
         WHERE a.created_at < $1
           AND NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.audience_id = a.id)
         LIMIT 100",
    )
    .bind(now - UNUSED_GRACE_SECS)
    .fetch_all(pool)
    .await
    .context("could not list unused audiences")?;
    for audience in &unused {
        loop {
            let removed = sqlx::query(
                "DELETE FROM audience_recipients WHERE audience_id = $1 AND phone IN
                     (SELECT phone FROM audience_recipients WHERE audience_id = $1 LIMIT $2)",
            )
            .bind(audience)
            .bind((ROWS_PER_CHUNK * CHUNKS_PER_TRANSACTION) as i64)
            .execute(pool)
            .in_turn(pool)
            .await
            .context("could not remove an unused audience's recipients")?
            .rows_affected();
            if removed == 0 {
                break;
            }
            tokio::time::sleep(PAUSE_BETWEEN_TRANSACTIONS).await;
        }
        // Only if still unused: a campaign may have taken it meanwhile.
        sqlx::query(
            "DELETE FROM audiences WHERE id = $1
             AND NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.audience_id = audiences.id)",
        )
        .bind(audience)
        .execute(pool)
        .in_turn(pool)
        .await
        .context("could not remove an unused audience")?;
    }
    Ok(unused.len())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::{
        campaigns::audience::parse_audience,
        db::testing::fresh_database,
        organisations::{OrganisationName, insert_organisation},
    };

    #[tokio::test]
    async fn audiences_no_campaign_uses_are_removed_once_they_are_an_hour_old() {
        let (pool, _dir) = fresh_database().await;
        let acme = insert_organisation(&pool, &OrganisationName::parse("Acme").unwrap(), true, 0)
            .await
            .unwrap();
        let numbers: String = (0..3000).map(|i| format!("+1415555{:04}\n", i)).collect();
        let audience = parse_audience(&format!("phone\n{numbers}"), "US", &HashSet::new()).unwrap();
        let used = write_audience(&pool, acme.id, &audience, 1_000)
            .await
            .unwrap();
        let unused = write_audience(&pool, acme.id, &audience, 1_000)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO campaigns (organisation_id, name, channel, body, status, created_by, created_at, estimated_segments, audience_id)
             VALUES ($1, 'Kept', 'sms', 'Hi', 'draft', 'a@b.c', 1000, 1, $2)",
        )
        .bind(acme.id)
        .bind(used)
        .execute(&pool)
        .await
        .unwrap();
        let rows = |id: AudienceId| {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM audience_recipients WHERE audience_id = $1",
                )
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap()
            }
        };

        // Still being written, as far as anyone knows: kept.
        assert_eq!(
            discard_unused_audiences(&pool, 1_000 + 60).await.unwrap(),
            0
        );
        assert_eq!(
            discard_unused_audiences(&pool, 1_000 + 2 * 3600)
                .await
                .unwrap(),
            1
        );

        assert_eq!(rows(used).await, 3000);
        assert_eq!(rows(unused).await, 0);
    }
}
