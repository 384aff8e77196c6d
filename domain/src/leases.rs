//! Work one process at a time does, when several share a database:
//! reconciling sends whose outcome is unknown, completing campaigns,
//! re-checking credentials, removing unused audiences. A process holds a
//! named lease while it keeps renewing it; when it stops (or dies), the
//! lease expires and another process takes the work over.

use anyhow::Context;

use crate::{
    clock::UnixTime,
    db::{InTurn, Pool},
};

/// This process, as a lease holder: its id and a random part, so a
/// restarted process with a reused pid is someone else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder(String);

impl Holder {
    pub fn for_this_process() -> Self {
        use rand::Rng;
        Self(format!(
            "pid {} ({:08x})",
            std::process::id(),
            rand::thread_rng().r#gen::<u32>()
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Takes or renews the lease `name` until `now + ttl_secs`; true when this
/// holder has it (it was free, expired, or already this holder's).
pub async fn hold(
    pool: &Pool,
    name: &str,
    holder: &Holder,
    now: UnixTime,
    ttl_secs: i64,
) -> anyhow::Result<bool> {
    let held: Option<String> = sqlx::query_scalar(
        "INSERT INTO work_leases (name, holder, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE work_leases.holder = excluded.holder OR work_leases.expires_at <= $4
         RETURNING holder",
    )
    .bind(name)
    .bind(holder.as_str())
    .bind(now + ttl_secs)
    .bind(now)
    .fetch_optional(pool)
    .in_turn(pool)
    .await
    .with_context(|| format!("could not take the {name} lease"))?;
    Ok(held.is_some())
}

/// Gives the lease up at once (a clean shutdown), so another process need
/// not wait for it to expire.
pub async fn release(pool: &Pool, name: &str, holder: &Holder) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM work_leases WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder.as_str())
        .execute(pool)
        .in_turn(pool)
        .await
        .with_context(|| format!("could not release the {name} lease"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::fresh_database;

    #[tokio::test]
    async fn one_holder_at_a_time_until_it_expires_or_is_released() {
        let (pool, _database) = fresh_database().await;
        let (a, b) = (Holder::for_this_process(), Holder::for_this_process());
        assert_ne!(a, b);

        assert!(hold(&pool, "work", &a, 100, 10).await.unwrap());
        assert!(!hold(&pool, "work", &b, 105, 10).await.unwrap());
        // The holder renews it; another lease is independent.
        assert!(hold(&pool, "work", &a, 108, 10).await.unwrap());
        assert!(hold(&pool, "other", &b, 108, 10).await.unwrap());
        assert!(!hold(&pool, "work", &b, 117, 10).await.unwrap());
        // Not renewed (its process died): taken over once expired.
        assert!(hold(&pool, "work", &b, 118, 10).await.unwrap());
        assert!(!hold(&pool, "work", &a, 119, 10).await.unwrap());
        // Released: anyone's at once.
        release(&pool, "work", &b).await.unwrap();
        assert!(hold(&pool, "work", &a, 120, 10).await.unwrap());
    }

    #[tokio::test]
    async fn of_many_at_once_exactly_one_takes_a_free_lease() {
        let (pool, _database) = fresh_database().await;
        let takers = (0..8).map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                hold(&pool, "work", &Holder::for_this_process(), 100, 10)
                    .await
                    .unwrap()
            })
        });
        let mut held = 0;
        for taker in takers {
            held += usize::from(taker.await.unwrap());
        }
        assert_eq!(held, 1);
    }
}
