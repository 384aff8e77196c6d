//! Housekeeping that no request waits for: audiences no campaign uses any
//! more (replaced in a draft, deleted with it, or half-written when the
//! process stopped) are removed, a chunk at a time.

use std::time::Duration;

use domain::{
    campaigns::audiences::discard_unused_audiences,
    clock::now,
    db::Pool,
    leases::{self, Holder},
};
use tokio::task::JoinHandle;

pub fn spawn(pool: Pool, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let holder = Holder::for_this_process();
        loop {
            ticker.tick().await;
            // Once per period across processes: whoever comes first.
            match leases::hold(
                &pool,
                "audience-janitor",
                &holder,
                now(),
                every.as_secs() as i64,
            )
            .await
            {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::error!(error = ?e, "could not take the janitor's lease");
                    continue;
                }
            }
            match discard_unused_audiences(&pool, now()).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "removed unused audiences"),
                Err(e) => tracing::error!(error = ?e, "could not remove unused audiences"),
            }
        }
    })
}
