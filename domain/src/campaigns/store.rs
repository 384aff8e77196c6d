//! Campaigns in the database: created as drafts (if the capability rule
//! allows), listed, deleted while drafts, and run exactly once.

use std::collections::BTreeMap;

use anyhow::Context;
use sqlx::FromRow;

use super::{
    audience::Audience,
    audiences::{self, AudienceId},
    message::{MAX_BODY_CHARS, Template, count_segments},
};
use crate::db::{DbConnection, Pool};
use crate::limits::{MAX_CAMPAIGN_NAME_CHARS, MAX_RENDERED_CHARS};
use crate::{
    capability::{RunPermission, SmsConfiguration, sms_capability},
    clock::UnixTime,
    db::is_unique_violation,
    organisations::OrganisationId,
};
pub use model::{CampaignStatus, MessageState};

pub use crate::ids::CampaignId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignName(String);

impl CampaignName {
    pub const MAX_CHARS: usize = MAX_CAMPAIGN_NAME_CHARS;

    pub fn parse(raw: &str) -> Result<Self, CampaignNameError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(CampaignNameError::Blank);
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(CampaignNameError::TooLong);
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CampaignNameError {
    #[error("Enter a name for the campaign.")]
    Blank,
    #[error("Use at most {} characters.", CampaignName::MAX_CHARS)]
    TooLong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SmsBodyError {
    #[error("Write the message.")]
    Blank,
    #[error("The message is {chars} characters; the most is {MAX_BODY_CHARS}.")]
    TooLong { chars: usize },
}

/// A message body: not blank, at most 1,600 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsBody(String);

impl SmsBody {
    pub fn parse(raw: &str) -> Result<Self, SmsBodyError> {
        if raw.trim().is_empty() {
            return Err(SmsBodyError::Blank);
        }
        let chars = raw.chars().count();
        if chars > MAX_BODY_CHARS {
            return Err(SmsBodyError::TooLong { chars });
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub struct NewCampaign {
    pub name: CampaignName,
    pub body: SmsBody,
    pub audience: Audience,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("{0}")]
    NotAllowed(&'static str),
    #[error("a campaign with this name already exists")]
    DuplicateName,
    #[error("the audience has no recipients")]
    NoRecipients,
    #[error(transparent)]
    MessageTooLong(#[from] MessageTooLong),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// With their own values filled in, some recipients' messages would be
/// longer than Twilio accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "With their own values filled in, the message for {first} would be longer than {MAX_RENDERED_CHARS} characters ({recipients} recipient{} in all). Shorten the message or those values.",
    if *recipients == 1 { "" } else { "s" }
)]
pub struct MessageTooLong {
    /// The first such recipient's number.
    pub first: String,
    pub recipients: usize,
}

pub(crate) const SMS_NOT_AVAILABLE: &str = "SMS is not available: an Org Admin must save valid Twilio credentials in Outreach > Settings > SMS.";

/// The segments billed if every recipient gets the body with their own
/// placeholders filled in, or which recipients' messages would be too long.
/// CPU work in proportion to the audience: call it off the async workers.
pub fn estimate_segments(body: &SmsBody, audience: &Audience) -> Result<i64, MessageTooLong> {
    let template = Template::parse(body.as_str());
    let mut total = 0;
    let mut too_long: Option<MessageTooLong> = None;
    for recipient in &audience.recipients {
        match template.render(|name| audience.field(recipient, name), MAX_RENDERED_CHARS) {
            Ok(message) => total += count_segments(&message).segments as i64,
            Err(_) => note_too_long(&mut too_long, recipient.phone().as_str()),
        }
    }
    too_long.map_or(Ok(total), Err)
}

/// The same, for recipients stored with their values as JSON.
pub fn estimate_stored_segments(
    body: &SmsBody,
    recipients: &[(String, String)],
) -> Result<i64, MessageTooLong> {
    let template = Template::parse(body.as_str());
    let decoded = recipients.iter().map(|(phone, json)| {
        let fields: BTreeMap<String, String> = serde_json::from_str(json).unwrap_or_default();
        (phone.as_str(), fields)
    });
    let mut total = 0;
    let mut too_long: Option<MessageTooLong> = None;
    for (phone, fields) in decoded {
        match template.render(
            |name| fields.get(name).map(String::as_str),
            MAX_RENDERED_CHARS,
        ) {
            Ok(message) => total += count_segments(&message).segments as i64,
            Err(_) => note_too_long(&mut too_long, phone),
        }
    }
    too_long.map_or(Ok(total), Err)
}

fn note_too_long(too_long: &mut Option<MessageTooLong>, phone: &str) {
    too_long
        .get_or_insert_with(|| MessageTooLong {
            first: phone.to_owned(),
            recipients: 0,
        })
        .recipients += 1;
}

pub async fn insert_campaign(
    pool: &Pool,
    organisation: OrganisationId,
    actor: &str,
    campaign: NewCampaign,
    configuration: SmsConfiguration,
    now: UnixTime,
) -> Result<CampaignId, CreateError> {
    // Enforced here, whatever the browser sent.
    if !sms_capability(configuration).can_create {
        return Err(CreateError::NotAllowed(SMS_NOT_AVAILABLE));
    }
    if campaign.audience.recipients.is_empty() {
        return Err(CreateError::NoRecipients);
    }
    if name_taken(pool, organisation, &campaign.name, None).await? {
        return Err(CreateError::DuplicateName);
    }
    // Rendering every recipient's message: off the async workers.
    let (segments, campaign) = crate::work::AUDIENCES
        .run(move || {
            (
                estimate_segments(&campaign.body, &campaign.audience),
                campaign,
            )
        })
        .await
        .map_err(anyhow::Error::new)?;
    let segments = segments?;
    let audience = audiences::write_audience(pool, organisation, &campaign.audience, now).await?;
    let inserted = sqlx::query_scalar::<_, CampaignId>(
        "INSERT INTO campaigns (organisation_id, name, channel, body, status, created_by, created_at, estimated_segments, audience_id)
         VALUES ($1, $2, 'sms', $3, 'draft', $4, $5, $6, $7) RETURNING id",
    )
    .bind(organisation)
    .bind(campaign.name.as_str())
    .bind(campaign.body.as_str())
    .bind(actor)
    .bind(now)
    .bind(segments)
    .bind(audience)
    .fetch_one(pool)
    .await;
    // On failure the written audience is nobody's: it is discarded later.
    let id = match inserted {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => return Err(CreateError::DuplicateName),
        Err(e) => {
            return Err(anyhow::Error::new(e)
                .context("could not insert the campaign")
                .into());
        }
    };
    tracing::info!(
        organisation_id = %organisation,
        campaign_id = %id,
        actor,
        recipients = campaign.audience.recipients.len(),
        "campaign created"
    );
    Ok(id)
}

/// Whether another campaign of the organisation has this name.
async fn name_taken(
    pool: &Pool,
    organisation: OrganisationId,
    name: &CampaignName,
    except: Option<CampaignId>,
) -> anyhow::Result<bool> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM campaigns WHERE organisation_id = $1 AND name = $2 COLLATE NOCASE
         AND id IS DISTINCT FROM $3",
    )
    .bind(organisation)
    .bind(name.as_str())
    .bind(except)
    .fetch_one(pool)
    .await
    .context("could not check the campaign's name")?
        > 0)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignSummary {
    pub id: CampaignId,
    pub name: String,
    pub status: CampaignStatus,
    pub body: String,
    pub audience_size: i64,
    pub estimated_segments: i64,
    pub created_by: String,
    pub created_at: UnixTime,
    /// Outbound messages per state, once it has run.
    pub messages: BTreeMap<MessageState, i64>,
    /// Why Outreach paused it, when it did.
    pub paused_reason: Option<String>,
    pub audience_id: Option<AudienceId>,
}

#[derive(FromRow)]
struct SummaryRow {
    id: CampaignId,
    name: String,
    status: CampaignStatus,
    body: String,
    audience_size: i64,
    estimated_segments: i64,
    created_by: String,
    created_at: i64,
    paused_reason: Option<String>,
    audience_id: Option<AudienceId>,
}

const SUMMARY_SELECT: &str =
    "SELECT c.id, c.name, c.status, c.body, c.estimated_segments, c.created_by, c.created_at, c.paused_reason,
        c.audience_id, COALESCE(a.recipients, 0) AS audience_size
     FROM campaigns c LEFT JOIN audiences a ON a.id = c.audience_id";

fn summary(row: SummaryRow, messages: BTreeMap<MessageState, i64>) -> CampaignSummary {
    CampaignSummary {
        id: row.id,
        name: row.name,
        status: row.status,
        body: row.body,
        audience_size: row.audience_size,
        estimated_segments: row.estimated_segments,
        created_by: row.created_by,
        created_at: row.created_at,
        messages,
        paused_reason: row.paused_reason,
        audience_id: row.audience_id,
    }
}

pub async fn list_campaigns(
    pool: &Pool,
    organisation: OrganisationId,
) -> anyhow::Result<Vec<CampaignSummary>> {
    let rows = sqlx::query_as::<_, SummaryRow>(&format!(
        "{SUMMARY_SELECT} WHERE c.organisation_id = $1 ORDER BY c.created_at DESC, c.id DESC"
    ))
    .bind(organisation)
    .fetch_all(pool)
    .await
    .context("could not list campaigns")?;
    // Every campaign's message counts in one query, not one per campaign.
    let counts = sqlx::query_as::<_, (CampaignId, MessageState, i64)>(
        "SELECT m.campaign_id, m.state, COUNT(*) FROM outbound_messages m
         JOIN campaigns c ON c.id = m.campaign_id
         WHERE c.organisation_id = $1 GROUP BY m.campaign_id, m.state",
    )
    .bind(organisation)
    .fetch_all(pool)
    .await
    .context("could not count the campaigns' messages")?;
    let mut by_campaign: BTreeMap<CampaignId, BTreeMap<MessageState, i64>> = BTreeMap::new();
    for (campaign, state, count) in counts {
        by_campaign
            .entry(campaign)
            .or_default()
            .insert(state, count);
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let messages = by_campaign.remove(&row.id).unwrap_or_default();
            summary(row, messages)
        })
        .collect())
}

/// `None` when there is no such campaign in this organisation.
pub async fn fetch_campaign(
    pool: &Pool,
    organisation: OrganisationId,
    id: CampaignId,
) -> anyhow::Result<Option<CampaignSummary>> {
    let Some(row) = sqlx::query_as::<_, SummaryRow>(&format!(
        "{SUMMARY_SELECT} WHERE c.organisation_id = $1 AND c.id = $2"
    ))
    .bind(organisation)
    .bind(id)
    .fetch_optional(pool)
    .await
    .context("could not fetch the campaign")?
    else {
        return Ok(None);
    };
    let messages = super::results::message_counts(pool, row.id).await?;
    Ok(Some(summary(row, messages)))
}

/// The first recipients, for the campaign page.
pub async fn fetch_recipients(
    pool: &Pool,
    campaign: &CampaignSummary,
    limit: i64,
) -> anyhow::Result<Vec<String>> {
    match campaign.audience_id {
        Some(audience) => audiences::first_phones(pool, audience, limit).await,
        None => Ok(Vec::new()),
    }
}

pub struct DraftChanges {
    pub name: CampaignName,
    pub body: SmsBody,
    /// `None` keeps the current audience.
    pub audience: Option<Audience>,
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("only draft campaigns can be edited")]
    NotADraft,
    #[error("no such campaign")]
    NotFound,
    #[error(transparent)]
    MessageTooLong(#[from] MessageTooLong),
    #[error("a campaign with this name already exists")]
    DuplicateName,
    #[error("the audience has no recipients")]
    NoRecipients,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Changes a draft's name, message and (optionally) audience. Running and
/// finished campaigns are never edited. A new audience is written first,
/// in short transactions, then swapped in with the rest in one: the old
/// one stays the campaign's until then.
pub async fn update_draft(
    pool: &Pool,
    organisation: OrganisationId,
    id: CampaignId,
    changes: DraftChanges,
    now: UnixTime,
) -> Result<(), UpdateError> {
    let current = sqlx::query_as::<_, (CampaignStatus, Option<AudienceId>)>(
        "SELECT status, audience_id FROM campaigns WHERE id = $1 AND organisation_id = $2",
    )
    .bind(id)
    .bind(organisation)
    .fetch_optional(pool)
    .await
    .context("could not look up the campaign")?;
    let current_audience = match current {
        None => return Err(UpdateError::NotFound),
        Some((status, _)) if status != CampaignStatus::Draft => {
            return Err(UpdateError::NotADraft);
        }
        Some((_, audience)) => audience,
    };
    if name_taken(pool, organisation, &changes.name, Some(id)).await? {
        return Err(UpdateError::DuplicateName);
    }
    let DraftChanges {
        name,
        body,
        audience,
    } = changes;
    let (segments, audience) = match audience {
        Some(audience) => {
            if audience.recipients.is_empty() {
                return Err(UpdateError::NoRecipients);
            }
            let estimate_body = body.clone();
            let (segments, audience) = crate::work::AUDIENCES
                .run(move || (estimate_segments(&estimate_body, &audience), audience))
                .await
                .map_err(anyhow::Error::new)?;
            let segments = segments?;
            let written = audiences::write_audience(pool, organisation, &audience, now).await?;
            (segments, Some(written))
        }
        None => {
            let stored = match current_audience {
                Some(audience) => audiences::read_recipients(pool, audience).await?,
                None => Vec::new(),
            };
            let estimate_body = body.clone();
            let segments = crate::work::AUDIENCES
                .run(move || estimate_stored_segments(&estimate_body, &stored))
                .await
                .map_err(anyhow::Error::new)??;
            (segments, current_audience)
        }
    };
    let updated = sqlx::query(
        "UPDATE campaigns SET name = $1, body = $2, estimated_segments = $3, audience_id = $4
         WHERE id = $5 AND organisation_id = $6 AND status = 'draft'",
    )
    .bind(name.as_str())
    .bind(body.as_str())
    .bind(segments)
    .bind(audience)
    .bind(id)
    .bind(organisation)
    .execute(pool)
    .await;
    match updated {
        Ok(result) if result.rows_affected() == 1 => Ok(()),
        // It started (or went) while the new audience was being written.
        Ok(_) => Err(UpdateError::NotADraft),
        Err(e) if is_unique_violation(&e) => Err(UpdateError::DuplicateName),
        Err(e) => Err(anyhow::Error::new(e)
            .context("could not update the campaign")
            .into()),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    #[error("only draft campaigns can be deleted")]
    NotADraft,
    #[error("no such campaign")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Deletes a draft; running and finished campaigns are never deleted.
pub async fn delete_draft(
    pool: &Pool,
    organisation: OrganisationId,
    id: CampaignId,
) -> Result<(), DeleteError> {
    let status = sqlx::query_scalar::<_, String>(
        "DELETE FROM campaigns WHERE id = $1 AND organisation_id = $2 AND status = 'draft'
         RETURNING status",
    )
    .bind(id)
    .bind(organisation)
    .fetch_optional(pool)
    .await
    .context("could not delete the campaign")?;
    if status.is_some() {
        return Ok(());
    }
    Err(match campaign_status(pool, organisation, id).await? {
        None => DeleteError::NotFound,
        Some(_) => DeleteError::NotADraft,
    })
}

/// The campaign's status, if it is one of this organisation's: `None` is
/// the same answer for another organisation's campaign and for none.
pub(crate) async fn campaign_status(
    conn: impl sqlx::AnyExecutor<'_>,
    organisation: OrganisationId,
    id: CampaignId,
) -> anyhow::Result<Option<CampaignStatus>> {
    sqlx::query_scalar::<_, CampaignStatus>(
        "SELECT status FROM campaigns WHERE id = $1 AND organisation_id = $2",
    )
    .bind(id)
    .bind(organisation)
    .fetch_optional(conn)
    .await
    .context("could not look up the campaign")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    Started {
        messages: usize,
    },
    /// Someone (or an earlier click) already started it: nothing was added.
    AlreadyStarted,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    NotAllowed(&'static str),
    #[error("no such campaign")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Whether the capability rule lets campaigns run now; the reason in the
/// help page's words when it does not.
pub fn may_run(configuration: SmsConfiguration) -> Result<(), &'static str> {
    match sms_capability(configuration).run {
        RunPermission::Allowed => Ok(()),
        refused => Err(refused.reason().unwrap_or(SMS_NOT_AVAILABLE)),
    }
}

/// Every recipient's message: the template filled with their fields.
/// Lengths were checked when the campaign was created or last edited, so a
/// message that is now too long means stored data changed under us.
pub fn render_messages(
    body: &str,
    recipients: Vec<(String, String)>,
) -> anyhow::Result<Vec<(String, String)>> {
    let template = Template::parse(body);
    recipients
        .into_iter()
        .map(|(phone, json)| {
            let fields: BTreeMap<String, String> = serde_json::from_str(&json).unwrap_or_default();
            let message = template
                .render(
                    |name| fields.get(name).map(String::as_str),
                    MAX_RENDERED_CHARS,
                )
                .context("a stored recipient's message is longer than Twilio accepts")?;
            Ok((phone, message))
        })
        .collect()
}

/// Moves a draft to `running` and creates one queued outbound message per
/// recipient, in one transaction. The status change is the gate: a second
/// click, or a second person, finds it no longer a draft and adds nothing.
pub async fn run_campaign(
    pool: &Pool,
    organisation: OrganisationId,
    id: CampaignId,
    configuration: SmsConfiguration,
    now: UnixTime,
) -> Result<RunOutcome, RunError> {
    if campaign_status(pool, organisation, id).await?.is_none() {
        return Err(RunError::NotFound);
    }
    may_run(configuration).map_err(RunError::NotAllowed)?;
    let mut tx = pool
        .begin()
        .await
        .context("could not start a transaction")?;
    if !change_status(
        &mut tx,
        organisation,
        id,
        &[CampaignStatus::Draft],
        CampaignStatus::Running,
        now,
    )
    .await?
    {
        return match campaign_status(&mut *tx, organisation, id).await? {
            None => Err(RunError::NotFound),
            Some(_) => Ok(RunOutcome::AlreadyStarted),
        };
    }
    let (body, audience) = sqlx::query_as::<_, (String, Option<AudienceId>)>(
        "SELECT body, audience_id FROM campaigns WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await
    .context("could not read the campaign's message")?;
    let recipients = match audience {
        Some(audience) => audiences::read_recipients(&mut *tx, audience).await?,
        None => Vec::new(),
    };
    // Rendering a million messages is CPU work: off the async workers.
    let messages = tokio::task::spawn_blocking(move || render_messages(&body, recipients))
        .await
        .context("rendering the messages failed")??;
    crate::outbound::enqueue(&mut tx, id, &messages, now).await?;
    tx.commit().await.context("could not commit the run")?;
    tracing::info!(
        organisation_id = %organisation,
        campaign_id = %id,
        messages = messages.len(),
        "campaign started"
    );
    Ok(RunOutcome::Started {
        messages: messages.len(),
    })
}

/// Changes the organisation's campaign from one of `from` to `to`, clearing
/// any pause reason and stamping when it started or finished. Returns
/// whether it changed: nothing matches another organisation's campaign or
/// one that has moved on.
pub async fn change_status(
    conn: &mut DbConnection,
    organisation: OrganisationId,
    id: CampaignId,
    from: &[CampaignStatus],
    to: CampaignStatus,
    now: UnixTime,
) -> anyhow::Result<bool> {
    let placeholders = crate::db::placeholder_list(5, from.len());
    let sql = format!(
        "UPDATE campaigns SET status = $1, paused_reason = NULL,
             started_at = CASE WHEN $1 = 'running' THEN COALESCE(started_at, $2) ELSE started_at END,
             finished_at = CASE WHEN $1 IN ('completed', 'cancelled') THEN $2 ELSE finished_at END
         WHERE id = $3 AND organisation_id = $4 AND status IN ({placeholders})"
    );
    let mut query = sqlx::query(&sql)
        .bind(to)
        .bind(now)
        .bind(id)
        .bind(organisation);
    for status in from {
        query = query.bind(*status);
    }
    Ok(query
        .execute(conn)
        .await
        .context("could not change the campaign's status")?
        .rows_affected()
        == 1)
}

/// Running campaigns of organisations that may use Outreach, oldest
/// first, with their organisation.
pub async fn running_campaigns(pool: &Pool) -> anyhow::Result<Vec<(OrganisationId, CampaignId)>> {
    sqlx::query_as::<_, (OrganisationId, CampaignId)>(
        "SELECT c.organisation_id, c.id FROM campaigns c
         JOIN organisations o ON o.id = c.organisation_id
         WHERE c.status = 'running' AND o.subscription_state = 'active'
         ORDER BY c.started_at, c.id",
    )
    .fetch_all(pool)
    .await
    .context("could not list running campaigns")
}

/// Running campaigns whose every message has a final state are completed.
/// `unknown` is not final: it waits for a person.
pub async fn complete_finished_campaigns(
    pool: &Pool,
    now: UnixTime,
) -> anyhow::Result<Vec<CampaignId>> {
    // Two NOT EXISTS, each an index search on (campaign_id, state): one
    // with an OR would read every message of the campaign on every pass.
    let completed = sqlx::query_scalar::<_, CampaignId>(
        "UPDATE campaigns SET status = 'completed', finished_at = $1
         WHERE status = 'running'
           AND NOT EXISTS (SELECT 1 FROM outbound_messages m WHERE m.campaign_id = campaigns.id
                           AND m.state IN ('queued', 'sending', 'unknown'))
           AND NOT EXISTS (SELECT 1 FROM outbound_messages m WHERE m.campaign_id = campaigns.id
                           AND m.state = 'sent' AND m.claimed_at > $1 - $2)
         RETURNING id",
    )
    .bind(now)
    .bind(crate::outbound::NO_RECEIPT_AFTER_SECS)
    .fetch_all(pool)
    .await
    .context("could not complete campaigns")?;
    for campaign in &completed {
        tracing::info!(campaign_id = %campaign, "campaign completed");
    }
    Ok(completed)
}

/// Pauses every running campaign of the organisation, saying why.
pub async fn pause_running_campaigns(
    conn: &mut DbConnection,
    organisation: OrganisationId,
    reason: &str,
) -> anyhow::Result<u64> {
    Ok(sqlx::query(
        "UPDATE campaigns SET status = 'paused', paused_reason = $1
         WHERE organisation_id = $2 AND status = 'running'",
    )
    .bind(reason)
    .bind(organisation)
    .execute(conn)
    .await
    .context("could not pause the campaigns")?
    .rows_affected())
}

/// Why campaigns paused when their organisation's subscription was withdrawn.
pub const PAUSED_WITHOUT_SUBSCRIPTION: &str =
    "Paused: this organisation's Outreach subscription is not active.";

/// Pauses the running campaigns of every organisation whose Outreach
/// subscription is not active; returns them as (organisation, campaign).
pub async fn pause_campaigns_without_subscription(
    pool: &Pool,
) -> anyhow::Result<Vec<(OrganisationId, CampaignId)>> {
    sqlx::query_as::<_, (OrganisationId, CampaignId)>(
        "UPDATE campaigns SET status = 'paused', paused_reason = $1
         WHERE status = 'running' AND organisation_id IN
             (SELECT id FROM organisations WHERE subscription_state <> 'active')
         RETURNING organisation_id, id",
    )
    .bind(PAUSED_WITHOUT_SUBSCRIPTION)
    .fetch_all(pool)
    .await
    .context("could not pause the campaigns of organisations without a subscription")
}

/// How many of the organisation's campaigns are sending now: what a change
/// of the SMS settings would affect.
pub async fn count_running_campaigns(
    pool: &Pool,
    organisation: OrganisationId,
) -> anyhow::Result<i64> {
    sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM campaigns WHERE organisation_id = $1 AND status = 'running'",
    )
    .bind(organisation)
    .fetch_one(pool)
    .await
    .context("could not count running campaigns")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn campaigns_may_run_only_with_valid_credentials_and_a_messaging_service() {
        use SmsConfiguration::*;
        let table = [
            (NoCredentials, Err(RunPermission::NeedsCredentials)),
            (
                InvalidCredentials,
                Err(RunPermission::NeedsValidCredentials),
            ),
            (
                ValidWithoutMessagingService,
                Err(RunPermission::NeedsMessagingService),
            ),
            (ValidWithMessagingService, Ok(())),
        ];
        for (configuration, expected) in table {
            assert_eq!(
                may_run(configuration),
                expected.map_err(|p| p.reason().unwrap()),
                "{configuration:?}"
            );
        }
    }

    #[test]
    fn each_recipient_gets_the_template_filled_with_their_own_fields() {
        let recipients = vec![
            (
                "+15551230001".to_owned(),
                r#"{"first_name":"Ada"}"#.to_owned(),
            ),
            ("+15551230002".to_owned(), "{}".to_owned()),
        ];
        let messages = render_messages("Hi {first_name}!", recipients).unwrap();
        assert_eq!(
            messages[0],
            ("+15551230001".to_owned(), "Hi Ada!".to_owned())
        );
        assert_eq!(messages[1].0, "+15551230002");
        assert!(!messages[1].1.contains('{'), "{}", messages[1].1);
    }

    #[test]
    fn a_stored_recipient_whose_message_grew_too_long_is_an_error_not_a_truncation() {
        let long = "x".repeat(MAX_RENDERED_CHARS + 1);
        let recipients = vec![(
            "+15551230001".to_owned(),
            serde_json::json!({ "note": long }).to_string(),
        )];
        assert!(render_messages("{note}", recipients).is_err());
    }
}
