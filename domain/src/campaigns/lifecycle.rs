//! What people do to a campaign once it runs: pause, resume, cancel, and
//! decide about messages whose outcome is unknown.

use anyhow::Context;
use sqlx::SqlitePool;

use super::store::{CampaignId, CampaignStatus, MessageState, SMS_NOT_AVAILABLE, campaign_status};
use crate::{
    clock::UnixTime,
    organisations::OrganisationId,
    sms_settings::capability::{RunPermission, SmsConfiguration, sms_capability},
};

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("{0}")]
    NotAllowed(&'static str),
    #[error("the campaign is not {0}")]
    WrongStatus(&'static str),
    /// Not a campaign of this organisation.
    #[error("no such campaign")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Why a status change matched nothing: not this organisation's campaign,
/// or no longer in a status it can change from.
async fn refusal(
    pool: &SqlitePool,
    organisation: OrganisationId,
    id: CampaignId,
    expected: &'static str,
) -> ControlError {
    match campaign_status(pool, organisation, id).await {
        Ok(None) => ControlError::NotFound,
        Ok(Some(_)) => ControlError::WrongStatus(expected),
        Err(e) => ControlError::Internal(e),
    }
}

async fn transition(
    pool: &SqlitePool,
    organisation: OrganisationId,
    id: CampaignId,
    from: &[&str],
    to: &str,
) -> anyhow::Result<bool> {
    let placeholders = vec!["?"; from.len()].join(", ");
    let sql = format!(
        "UPDATE campaigns SET status = ?, paused_reason = NULL
         WHERE id = ? AND organisation_id = ? AND status IN ({placeholders})"
    );
    let mut query = sqlx::query(&sql).bind(to).bind(id).bind(organisation);
    for status in from {
        query = query.bind(*status);
    }
    Ok(query
        .execute(pool)
        .await
        .context("could not change the campaign's status")?
        .rows_affected()
        == 1)
}

/// Stops claiming new messages; sends already in flight finish.
pub async fn pause_campaign(
    pool: &SqlitePool,
    organisation: OrganisationId,
    id: CampaignId,
) -> Result<(), ControlError> {
    if transition(pool, organisation, id, &["running"], "paused").await? {
        Ok(())
    } else {
        Err(refusal(pool, organisation, id, "running").await)
    }
}

/// Resumes a paused campaign, if the capability rule lets it run now.
pub async fn resume_campaign(
    pool: &SqlitePool,
    organisation: OrganisationId,
    id: CampaignId,
    configuration: SmsConfiguration,
) -> Result<(), ControlError> {
    if campaign_status(pool, organisation, id).await?.is_none() {
        return Err(ControlError::NotFound);
    }
    let run = sms_capability(configuration).run;
    if run != RunPermission::Allowed {
        return Err(ControlError::NotAllowed(
            run.reason().unwrap_or(SMS_NOT_AVAILABLE),
        ));
    }
    if transition(pool, organisation, id, &["paused"], "running").await? {
        Ok(())
    } else {
        Err(refusal(pool, organisation, id, "paused").await)
    }
}

/// Cancels a running or paused campaign: messages not yet sent never will
/// be. Returns how many were withdrawn.
pub async fn cancel_campaign(
    pool: &SqlitePool,
    organisation: OrganisationId,
    id: CampaignId,
    now: UnixTime,
) -> Result<u64, ControlError> {
    let mut tx = pool
        .begin()
        .await
        .context("could not start a transaction")?;
    let cancelled = sqlx::query(
        "UPDATE campaigns SET status = 'cancelled', paused_reason = NULL, finished_at = ?
         WHERE id = ? AND organisation_id = ? AND status IN ('running', 'paused')",
    )
    .bind(now)
    .bind(id)
    .bind(organisation)
    .execute(&mut *tx)
    .await
    .context("could not cancel the campaign")?;
    if cancelled.rows_affected() == 0 {
        drop(tx);
        return Err(refusal(pool, organisation, id, "running or paused").await);
    }
    let withdrawn = sqlx::query(
        "UPDATE outbound_messages SET state = 'cancelled', updated_at = ?,
             error_message = 'Not sent: the campaign was cancelled.'
         WHERE campaign_id = ? AND state = 'queued'",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await
    .context("could not withdraw the queued messages")?
    .rows_affected();
    tx.commit()
        .await
        .context("could not commit the cancellation")?;
    Ok(withdrawn)
}

pub use model::UnknownOutcomeDecision;

/// Applies the decision to every `unknown` message of the campaign.
pub async fn decide_unknown_outcomes(
    pool: &SqlitePool,
    organisation: OrganisationId,
    id: CampaignId,
    decision: UnknownOutcomeDecision,
    actor: &str,
    now: UnixTime,
) -> Result<u64, ControlError> {
    let Some(status) = campaign_status(pool, organisation, id).await? else {
        return Err(ControlError::NotFound);
    };
    // A cancelled campaign sends nothing more.
    if decision == UnknownOutcomeDecision::SendAgain
        && !matches!(status, CampaignStatus::Running | CampaignStatus::Paused)
    {
        return Err(ControlError::WrongStatus("running or paused"));
    }
    let (state, message) = match decision {
        UnknownOutcomeDecision::SendAgain => (MessageState::Queued, None),
        UnknownOutcomeDecision::DoNotSend => (
            MessageState::Failed,
            Some(format!(
                "The outcome was unknown; {actor} chose not to send it again."
            )),
        ),
    };
    Ok(sqlx::query(
        "UPDATE outbound_messages SET state = ?, error_message = ?, lease_until = NULL,
             reconcile_attempts = 0, updated_at = ?
         WHERE state = 'unknown' AND campaign_id =
             (SELECT id FROM campaigns WHERE id = ? AND organisation_id = ?)",
    )
    .bind(state)
    .bind(message)
    .bind(now)
    .bind(id)
    .bind(organisation)
    .execute(pool)
    .await
    .context("could not apply the decision")?
    .rows_affected())
}
