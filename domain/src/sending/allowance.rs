//! Each organisation's sending rate (`OUTREACH_SEND_RATE`), shared by every
//! process that sends: a token bucket kept in the database, so two workers
//! together send no faster than one would.

use anyhow::Context;

use crate::{
    db::{InTurn, Pool},
    ids::OrganisationId,
};

/// A bucket refilled at `rate` tokens a second that saves up a second's
/// worth at most: after `elapsed_ms`, up to `wanted` whole tokens are
/// taken. Returns (taken, tokens left).
pub fn refill_and_take(tokens: f64, elapsed_ms: i64, rate: f64, wanted: usize) -> (usize, f64) {
    let capacity = rate.max(1.0);
    let available = (tokens + elapsed_ms.max(0) as f64 / 1000.0 * rate).min(capacity);
    let taken = (available.max(0.0).floor() as usize).min(wanted);
    (taken, available - taken as f64)
}

/// Takes up to `wanted` sends from the organisation's allowance at `now_ms`
/// (Unix milliseconds).
pub async fn take(
    pool: &Pool,
    organisation: OrganisationId,
    wanted: usize,
    rate: f64,
    now_ms: i64,
) -> anyhow::Result<usize> {
    if wanted == 0 {
        return Ok(0);
    }
    // Another process may write between the read and the write: then the
    // write matches nothing and the bucket is read again.
    for _ in 0..20 {
        let row: Option<(f64, i64, i64)> = sqlx::query_as(
            "SELECT tokens, refilled_at_ms, version FROM send_allowances
             WHERE organisation_id = $1",
        )
        .bind(organisation)
        .fetch_optional(pool)
        .await
        .context("could not read the sending allowance")?;
        let Some((tokens, refilled_at_ms, version)) = row else {
            // A full bucket to start with.
            sqlx::query(
                "INSERT INTO send_allowances (organisation_id, tokens, refilled_at_ms, version)
                 VALUES ($1, $2, $3, 0) ON CONFLICT DO NOTHING",
            )
            .bind(organisation)
            .bind(rate.max(1.0))
            .bind(now_ms)
            .execute(pool)
            .in_turn(pool)
            .await
            .context("could not create the sending allowance")?;
            continue;
        };
        let (taken, left) = refill_and_take(tokens, now_ms - refilled_at_ms, rate, wanted);
        if taken == 0 {
            // Nothing changes until a whole token has built up.
            return Ok(0);
        }
        let written = sqlx::query(
            "UPDATE send_allowances SET tokens = $1, refilled_at_ms = $2, version = version + 1
             WHERE organisation_id = $3 AND version = $4",
        )
        .bind(left)
        .bind(now_ms.max(refilled_at_ms))
        .bind(organisation)
        .bind(version)
        .execute(pool)
        .in_turn(pool)
        .await
        .context("could not take from the sending allowance")?
        .rows_affected();
        if written == 1 {
            return Ok(taken);
        }
    }
    // Twenty processes in a row got there first: try again next pass.
    Ok(0)
}

/// Returns sends taken but not used (nothing was left to claim).
pub async fn give_back(
    pool: &Pool,
    organisation: OrganisationId,
    unused: usize,
) -> anyhow::Result<()> {
    if unused == 0 {
        return Ok(());
    }
    sqlx::query(
        "UPDATE send_allowances SET tokens = tokens + $1, version = version + 1
         WHERE organisation_id = $2",
    )
    .bind(unused as f64)
    .bind(organisation)
    .execute(pool)
    .in_turn(pool)
    .await
    .context("could not give back to the sending allowance")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::fresh_database;

    #[test]
    fn a_bucket_saves_up_one_second_and_takes_whole_tokens() {
        // Full at 10/s: ten now, then one per 100 ms.
        assert_eq!(refill_and_take(10.0, 0, 10.0, 50), (10, 0.0));
        assert_eq!(refill_and_take(0.0, 250, 10.0, 50).0, 2);
        assert!((refill_and_take(0.0, 250, 10.0, 50).1 - 0.5).abs() < 1e-9);
        // Never more than a second's worth, however long it waited.
        assert_eq!(refill_and_take(0.0, 60_000, 10.0, 50).0, 10);
        // Slower than one a second: one token at most, when it is whole.
        assert_eq!(refill_and_take(0.0, 1_000, 0.5, 5).0, 0);
        assert_eq!(refill_and_take(0.0, 2_000, 0.5, 5).0, 1);
        // Never more than wanted; a clock that went back adds nothing.
        assert_eq!(refill_and_take(10.0, 0, 10.0, 3), (3, 7.0));
        assert_eq!(refill_and_take(0.0, -5_000, 10.0, 3).0, 0);
    }

    #[tokio::test]
    async fn takers_in_parallel_share_one_allowance() {
        let (pool, _database) = fresh_database().await;
        let organisation = crate::organisations::insert_organisation(
            &pool,
            &crate::organisations::OrganisationName::parse("Acme").unwrap(),
            true,
            0,
        )
        .await
        .unwrap()
        .id;

        // Eight takers at the same instant: 20 tokens between them.
        let takers = (0..8).map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { take(&pool, organisation, 5, 20.0, 1_000).await.unwrap() })
        });
        let mut total = 0;
        for taker in takers {
            total += taker.await.unwrap();
        }
        assert_eq!(total, 20);

        // Half a second later, ten more; what is given back is taken again.
        assert_eq!(
            take(&pool, organisation, 50, 20.0, 1_500).await.unwrap(),
            10
        );
        give_back(&pool, organisation, 4).await.unwrap();
        assert_eq!(take(&pool, organisation, 50, 20.0, 1_500).await.unwrap(), 4);
    }
}
