//! The periodic re-check of saved Twilio credentials: a token rotated in
//! Twilio or a suspended account shows up as invalid without anyone having
//! to press `Check now`.

use std::time::Duration;

use domain::{
    clock::now,
    leases::{self, Holder},
    services::Services,
    sms_settings::integration::{CheckOutcome, check_integration, configured_organisations},
};
use tokio::task::JoinHandle;
use tracing::Instrument;

pub fn spawn(services: Services, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is immediate; credentials were checked when saved.
        ticker.tick().await;
        let holder = Holder::for_this_process();
        loop {
            ticker.tick().await;
            // Once per period across processes: whoever comes first; if
            // that process dies, another takes over a period later.
            match leases::hold(
                &services.pool,
                "twilio-recheck",
                &holder,
                now(),
                every.as_secs() as i64,
            )
            .await
            {
                Ok(true) => recheck_all(&services).await,
                Ok(false) => {}
                Err(e) => tracing::error!(error = ?e, "could not take the re-check's lease"),
            }
        }
    })
}

async fn recheck_all(services: &Services) {
    let organisations = match configured_organisations(&services.pool).await {
        Ok(organisations) => organisations,
        Err(e) => {
            tracing::error!(error = ?e, "could not list integrations to re-check");
            return;
        }
    };
    for organisation in organisations {
        // ERROR level: enabled whenever its events are (see web.rs).
        let span = tracing::error_span!("recheck", organisation_id = %organisation);
        let checked = check_integration(services, organisation, now())
            .instrument(span.clone())
            .await;
        let _in_span = span.enter();
        match checked {
            Ok(CheckOutcome::Inconclusive { reason }) => {
                tracing::warn!(
                    organisation_id = %organisation,
                    reason,
                    "could not re-check Twilio credentials"
                )
            }
            Ok(outcome) => tracing::debug!(
                organisation_id = %organisation,
                ?outcome,
                "re-checked Twilio credentials"
            ),
            Err(e) => {
                tracing::error!(organisation_id = %organisation, error = ?e, "re-checking Twilio credentials failed")
            }
        }
    }
}
