//! Save and Check now ask Twilio whether credentials work: from Outreach's
//! address, for anyone who can sign in as an Org Admin. Each organisation
//! gets a bounded number of such checks, so Outreach is not an oracle for
//! testing stolen Twilio credentials.

use anyhow::Context;

use crate::db::{InTurn, Pool};
use crate::{clock::UnixTime, organisations::OrganisationId};

/// Checks with Twilio one organisation may ask for within the window.
pub const MAX_TWILIO_CHECKS: i64 = 10;
pub const TWILIO_CHECK_WINDOW_SECS: i64 = 15 * 60;

/// Counts one check for the organisation, unless it has used them all;
/// then `Err` holds the seconds until the next one is allowed.
pub async fn claim_twilio_check(
    pool: &Pool,
    organisation: OrganisationId,
    now: UnixTime,
) -> anyhow::Result<Result<(), i64>> {
    let since = now - TWILIO_CHECK_WINDOW_SECS;
    sqlx::query("DELETE FROM twilio_checks WHERE organisation_id = $1 AND at <= $2")
        .bind(organisation)
        .bind(since)
        .execute(pool)
        .in_turn(pool)
        .await
        .context("could not purge old Twilio checks")?;
    // Parallel saves are counted one after another, on both databases.
    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    crate::db::Backend::one_at_a_time(&mut tx, &format!("twilio_checks {organisation}")).await?;
    let claimed = sqlx::query(
        "INSERT INTO twilio_checks (organisation_id, at)
         SELECT $1, $2 WHERE (SELECT COUNT(*) FROM twilio_checks
                              WHERE organisation_id = $1 AND at > $3) < $4",
    )
    .bind(organisation)
    .bind(now)
    .bind(since)
    .bind(MAX_TWILIO_CHECKS)
    .execute(&mut *tx)
    .await
    .context("could not count the Twilio checks")?
    .rows_affected()
        == 1;
    tx.commit()
        .await
        .context("could not count the Twilio checks")?;
    if claimed {
        return Ok(Ok(()));
    }
    let oldest = sqlx::query_scalar::<_, i64>(
        "SELECT at FROM twilio_checks WHERE organisation_id = $1 AND at > $2
         ORDER BY at DESC LIMIT 1 OFFSET $3",
    )
    .bind(organisation)
    .bind(since)
    .bind(MAX_TWILIO_CHECKS - 1)
    .fetch_optional(pool)
    .await
    .context("could not count the Twilio checks")?
    .unwrap_or(now);
    tracing::warn!(
        organisation_id = %organisation,
        "refused a Twilio check: the organisation used its allowance"
    );
    Ok(Err((oldest + TWILIO_CHECK_WINDOW_SECS - now).max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        db::testing::fresh_database,
        organisations::{OrganisationName, insert_organisation},
    };

    #[tokio::test]
    async fn each_organisation_gets_its_own_allowance_per_window() {
        let (pool, _dir) = fresh_database().await;
        let acme = insert_organisation(&pool, &OrganisationName::parse("Acme").unwrap(), true, 0)
            .await
            .unwrap();
        let globex =
            insert_organisation(&pool, &OrganisationName::parse("Globex").unwrap(), true, 0)
                .await
                .unwrap();
        for minute in 0..MAX_TWILIO_CHECKS {
            assert_eq!(
                claim_twilio_check(&pool, acme.id, minute * 60)
                    .await
                    .unwrap(),
                Ok(())
            );
        }

        let refused = claim_twilio_check(&pool, acme.id, 600).await.unwrap();
        let other = claim_twilio_check(&pool, globex.id, 600).await.unwrap();
        // The first check (t=0) leaves the window at t=900.
        let after = claim_twilio_check(&pool, acme.id, 901).await.unwrap();

        assert_eq!(refused, Err(300));
        assert_eq!(other, Ok(()));
        assert_eq!(after, Ok(()));
    }
}
