//! What people do to a campaign once it runs: pause, resume, cancel, and
//! decide about messages whose outcome is unknown.

use anyhow::Context;

use super::store::{
    CampaignId, CampaignStatus, MessageState, campaign_status, change_status, may_run,
};
use crate::db::Pool;
use crate::{capability::SmsConfiguration, clock::UnixTime, organisations::OrganisationId};

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
    pool: &Pool,
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

/// Stops claiming new messages; sends already in flight finish.
pub async fn pause_campaign(
    pool: &Pool,
    organisation: OrganisationId,
    id: CampaignId,
    now: UnixTime,
) -> Result<(), ControlError> {
    let mut conn = crate::db::write_connection(pool)
        .await
        .context("no database connection")?;
    let from = [CampaignStatus::Running];
    let changed = change_status(
        &mut conn,
        organisation,
        id,
        &from,
        CampaignStatus::Paused,
        now,
    )
    .await?;
    // The refusal's read needs no turn at writing: give it back first.
    drop(conn);
    if changed {
        Ok(())
    } else {
        Err(refusal(pool, organisation, id, "running").await)
    }
}

/// Resumes a paused campaign, if the capability rule lets it run now.
pub async fn resume_campaign(
    pool: &Pool,
    organisation: OrganisationId,
    id: CampaignId,
    configuration: SmsConfiguration,
    now: UnixTime,
) -> Result<(), ControlError> {
    if campaign_status(pool, organisation, id).await?.is_none() {
        return Err(ControlError::NotFound);
    }
    may_run(configuration).map_err(ControlError::NotAllowed)?;
    let mut conn = crate::db::write_connection(pool)
        .await
        .context("no database connection")?;
    let from = [CampaignStatus::Paused];
    let changed = change_status(
        &mut conn,
        organisation,
        id,
        &from,
        CampaignStatus::Running,
        now,
    )
    .await?;
    // The refusal's read needs no turn at writing: give it back first.
    drop(conn);
    if changed {
        Ok(())
    } else {
        Err(refusal(pool, organisation, id, "paused").await)
    }
}

/// Cancels a running or paused campaign: messages not yet sent never will
/// be. Returns how many were withdrawn.
pub async fn cancel_campaign(
    pool: &Pool,
    organisation: OrganisationId,
    id: CampaignId,
    now: UnixTime,
) -> Result<u64, ControlError> {
    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    let from = [CampaignStatus::Running, CampaignStatus::Paused];
    if !change_status(
        &mut tx,
        organisation,
        id,
        &from,
        CampaignStatus::Cancelled,
        now,
    )
    .await?
    {
        drop(tx);
        return Err(refusal(pool, organisation, id, "running or paused").await);
    }
    let withdrawn = crate::outbound::withdraw_queued(&mut tx, id, now).await?;
    tx.commit()
        .await
        .context("could not commit the cancellation")?;
    Ok(withdrawn)
}

pub use model::UnknownOutcomeDecision;

/// Applies the decision to every `unknown` message of the campaign.
pub async fn decide_unknown_outcomes(
    pool: &Pool,
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
    let mut conn = crate::db::write_connection(pool)
        .await
        .context("no database connection")?;
    Ok(
        crate::outbound::settle_unknown(
            &mut conn,
            organisation,
            id,
            state,
            message.as_deref(),
            now,
        )
        .await?,
    )
}
