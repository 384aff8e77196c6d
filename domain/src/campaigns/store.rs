//! Campaigns in the database: created as drafts (if the capability rule
//! allows), listed, deleted while drafts, and run exactly once.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use sqlx::FromRow;

use super::{
    audience::Audience,
    audiences::{self, AudienceId},
    message::{MAX_BODY_CHARS, Template, count_segments},
};
use crate::db::{DbConnection, InTurn, Pool};
use crate::limits::{MAX_CAMPAIGN_NAME_CHARS, MAX_RENDERED_CHARS};
use crate::{
    capability::{RunPermission, SmsConfiguration, sms_capability},
    clock::UnixTime,
    db::is_unique_violation,
    organisations::OrganisationId,
    outbound::NewMessage,
    quiet_hours::recipient_zone,
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
    .in_turn(pool)
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

#[derive(Debug, thiserror::Error)]
pub enum DuplicateError {
    #[error("no such campaign")]
    NotFound,
    #[error("{0}")]
    NotAllowed(&'static str),
    /// Campaigns from before audiences were stored keep no audience to copy.
    #[error("this campaign's audience was not kept, so it cannot be duplicated")]
    NoAudience,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The name of a copy: "NAME (copy)", or "NAME (copy 2)" and on when that
/// is taken, shortened to fit the longest name allowed.
pub fn copy_name(original: &str, attempt: usize) -> String {
    let suffix = match attempt {
        1 => " (copy)".to_owned(),
        n => format!(" (copy {n})"),
    };
    let room = CampaignName::MAX_CHARS - suffix.chars().count();
    let base: String = original.chars().take(room).collect();
    format!("{}{suffix}", base.trim_end())
}

/// Copies a campaign of the organisation, whatever its status, into a new
/// draft "NAME (copy)" with its channel, message and audience (audiences
/// are never changed once written, so the copy shares it). Creating it
/// follows the same rule as creating any SMS campaign.
pub async fn duplicate_campaign(
    pool: &Pool,
    organisation: OrganisationId,
    actor: &str,
    source: CampaignId,
    configuration: SmsConfiguration,
    now: UnixTime,
) -> Result<(CampaignId, String), DuplicateError> {
    let original = sqlx::query_as::<_, (String, String, i64, Option<AudienceId>)>(
        "SELECT name, body, estimated_segments, audience_id FROM campaigns
         WHERE id = $1 AND organisation_id = $2",
    )
    .bind(source)
    .bind(organisation)
    .fetch_optional(pool)
    .await
    .context("could not read the campaign")?;
    // Another organisation's campaign is as absent as one that never was,
    // whatever that organisation may do.
    let Some((name, body, segments, audience)) = original else {
        return Err(DuplicateError::NotFound);
    };
    if !sms_capability(configuration).can_create {
        return Err(DuplicateError::NotAllowed(SMS_NOT_AVAILABLE));
    }
    let audience = audience.ok_or(DuplicateError::NoAudience)?;
    const ATTEMPTS: usize = 100;
    for attempt in 1..=ATTEMPTS {
        let copy = copy_name(&name, attempt);
        let inserted = sqlx::query_scalar::<_, CampaignId>(
            "INSERT INTO campaigns (organisation_id, name, channel, body, status, created_by, created_at, estimated_segments, audience_id)
             VALUES ($1, $2, 'sms', $3, 'draft', $4, $5, $6, $7) RETURNING id",
        )
        .bind(organisation)
        .bind(&copy)
        .bind(&body)
        .bind(actor)
        .bind(now)
        .bind(segments)
        .bind(audience)
        .fetch_one(pool)
        .in_turn(pool)
        .await;
        match inserted {
            Ok(id) => {
                tracing::info!(organisation_id = %organisation, campaign_id = %id, from = %source, actor, "campaign duplicated");
                return Ok((id, copy));
            }
            Err(e) if is_unique_violation(&e) => continue,
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context("could not insert the copy")
                    .into());
            }
        }
    }
    Err(anyhow::anyhow!("{ATTEMPTS} copies of the campaign's name are taken").into())
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
    /// Whoever created it has since been removed from the organisation.
    pub created_by_former_member: bool,
    pub created_at: UnixTime,
    /// Outbound messages per state, once it has run.
    pub messages: BTreeMap<MessageState, i64>,
    /// Why Outreach paused it, when it did.
    pub paused_reason: Option<String>,
    pub audience_id: Option<AudienceId>,
    /// When the engine starts it (a draft only).
    pub scheduled_at: Option<UnixTime>,
    /// Why a scheduled start did not happen.
    pub schedule_problem: Option<String>,
    /// Its messages not sent this many hours after the start expire.
    pub validity_hours: i64,
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
    creator_left: i64,
    created_at: i64,
    paused_reason: Option<String>,
    audience_id: Option<AudienceId>,
    scheduled_at: Option<i64>,
    schedule_problem: Option<String>,
    validity_hours: i64,
    /// Recipients are still being queued (see `queue_next_chunks`).
    queuing: i64,
}

const SUMMARY_SELECT: &str =
    "SELECT c.id, c.name, c.status, c.body, c.estimated_segments, c.created_by,
        CASE WHEN EXISTS (SELECT 1 FROM users u WHERE u.email = c.created_by AND u.organisation_id = c.organisation_id)
             THEN 0 ELSE 1 END AS creator_left,
        c.created_at, c.paused_reason, c.scheduled_at, c.schedule_problem,
        c.validity_hours,
        CASE WHEN c.queued_through IS NULL THEN 0 ELSE 1 END AS queuing,
        c.audience_id, COALESCE(a.recipients, 0) AS audience_size
     FROM campaigns c LEFT JOIN audiences a ON a.id = c.audience_id";

fn summary(row: SummaryRow, mut messages: BTreeMap<MessageState, i64>) -> CampaignSummary {
    if row.queuing != 0 {
        *messages.entry(MessageState::Queued).or_default() +=
            crate::outbound::not_queued_yet(row.audience_size, messages.values().sum());
    }
    CampaignSummary {
        id: row.id,
        name: row.name,
        status: row.status,
        body: row.body,
        audience_size: row.audience_size,
        estimated_segments: row.estimated_segments,
        created_by: row.created_by,
        created_by_former_member: row.creator_left != 0,
        created_at: row.created_at,
        messages,
        paused_reason: row.paused_reason,
        audience_id: row.audience_id,
        scheduled_at: row.scheduled_at,
        schedule_problem: row.schedule_problem,
        validity_hours: row.validity_hours,
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
    let counts = crate::outbound::counts_of_organisation(pool, organisation).await?;
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
    .in_turn(pool)
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
    .in_turn(pool)
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

/// Every recipient's message: the template filled with their fields, and
/// the zone their quiet hours are read in. Lengths were checked when the
/// campaign was created or last edited, so a message that is now too long
/// means stored data changed under us.
pub fn render_messages(
    body: &str,
    recipients: Vec<(String, String)>,
) -> anyhow::Result<Vec<NewMessage>> {
    let template = Template::parse(body);
    recipients
        .into_iter()
        .map(|(phone, json)| {
            let fields: BTreeMap<String, String> = serde_json::from_str(&json).unwrap_or_default();
            let body = template
                .render(
                    |name| fields.get(name).map(String::as_str),
                    MAX_RENDERED_CHARS,
                )
                .context("a stored recipient's message is longer than Twilio accepts")?;
            let local_zone = recipient_zone::zone_of(&phone);
            Ok(NewMessage {
                phone,
                body,
                local_zone,
            })
        })
        .collect()
}

/// Recipients queued per transaction. Each message is written to six
/// indexes and counted: 500 hold SQLite's write lock for about 25 ms
/// (2,000 held it for about 100 ms, measured with scripts/bench-growth.sh),
/// so other writers (status callbacks, other organisations' campaigns)
/// never wait long.
pub const RECIPIENTS_PER_CHUNK: i64 = 500;

/// Moves a draft to `running`, then queues its first recipients' messages;
/// the engine queues the rest a chunk at a time (`queue_next_chunks`), so
/// that a million recipients start in well under a second and never hold
/// the database's write lock for long. The status change is the gate: a
/// second click, or a second person, finds it no longer a draft and adds
/// nothing.
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
    let mut tx = crate::db::begin_write(pool)
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
    sqlx::query("UPDATE campaigns SET queued_through = '', recipient_zones = '[]' WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .context("could not start queuing")?;
    let messages = sqlx::query_scalar::<_, i64>(
        "SELECT COALESCE(a.recipients, 0) FROM campaigns c
         LEFT JOIN audiences a ON a.id = c.audience_id WHERE c.id = $1",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await
    .context("could not count the recipients")?;
    tx.commit().await.context("could not commit the run")?;
    // A campaign that fits in one chunk is queued before the answer, as a
    // whole. Should this fail, the engine queues it: the run stands.
    if let Err(e) = queue_chunk(pool, id, now).await {
        tracing::warn!(campaign_id = %id, error = ?e, "the first chunk was left to the engine");
    }
    tracing::info!(
        organisation_id = %organisation,
        campaign_id = %id,
        messages,
        "campaign started"
    );
    Ok(RunOutcome::Started {
        messages: messages as usize,
    })
}

/// Queues the next chunk of recipients of each started campaign that has
/// some left, a transaction per chunk; returns how many messages were
/// queued (0: none is left). The housekeeping engine calls it, pausing in
/// between so that other writers get SQLite's lock. Two at once would only
/// waste work: each takes a chunk by moving the campaign's `queued_through`.
pub async fn queue_next_chunks(pool: &Pool, now: UnixTime) -> anyhow::Result<usize> {
    let queuing = sqlx::query_scalar::<_, CampaignId>(
        "SELECT id FROM campaigns WHERE queued_through IS NOT NULL ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .context("could not list the campaigns being queued")?;
    let mut queued = 0;
    for id in queuing {
        queued += queue_chunk(pool, id, now).await?;
    }
    Ok(queued)
}

/// Queues the campaign's next recipients after `queued_through`, in one
/// transaction that also marks how far it got (NULL once every recipient is
/// queued) and adds their zones to the campaign's. Returns how many were
/// stored: none if another queuer took the chunk first.
async fn queue_chunk(pool: &Pool, id: CampaignId, now: UnixTime) -> anyhow::Result<usize> {
    let Some((body, audience, after)) = sqlx::query_as::<_, (String, Option<AudienceId>, String)>(
        "SELECT body, audience_id, queued_through FROM campaigns
         WHERE id = $1 AND queued_through IS NOT NULL",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    .context("could not read where queuing got to")?
    else {
        return Ok(0);
    };
    // Read and rendered before the transaction, which then only writes.
    let recipients = match audience {
        Some(audience) => {
            audiences::read_recipients_after(pool, audience, &after, RECIPIENTS_PER_CHUNK).await?
        }
        None => Vec::new(),
    };
    let last = (recipients.len() as i64 == RECIPIENTS_PER_CHUNK)
        .then(|| recipients.last().map(|(phone, _)| phone.clone()))
        .flatten();
    // Rendering is CPU work: off the async workers.
    let messages = tokio::task::spawn_blocking(move || render_messages(&body, recipients))
        .await
        .context("rendering the messages failed")??;
    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    // Taken only if nobody moved on from where this read it.
    let Some((status, zones)) = sqlx::query_as::<_, (CampaignStatus, String)>(
        "UPDATE campaigns SET queued_through = $1
         WHERE id = $2 AND queued_through = $3
         RETURNING status, recipient_zones",
    )
    .bind(&last)
    .bind(id)
    .bind(&after)
    .fetch_optional(&mut *tx)
    .await
    .context("could not record how far queuing got")?
    else {
        return Ok(0);
    };
    // Cancelled meanwhile: the rest of its recipients are stored as not
    // sent, as its queued messages were withdrawn.
    let entry = if status == CampaignStatus::Cancelled {
        crate::outbound::Entry::Withdrawn
    } else {
        crate::outbound::Entry::Queued
    };
    crate::outbound::enqueue(&mut tx, id, &messages, entry, now).await?;
    note_result_pages(&mut tx, id, &messages).await?;
    let mut known: BTreeSet<Option<String>> = serde_json::from_str(&zones).unwrap_or_default();
    known.extend(messages.iter().map(|m| m.local_zone.map(str::to_owned)));
    sqlx::query("UPDATE campaigns SET recipient_zones = $1 WHERE id = $2")
        .bind(serde_json::to_string(&known).context("could not list the recipients' zones")?)
        .bind(id)
        .execute(&mut *tx)
        .await
        .context("could not record the recipients' zones")?;
    tx.commit()
        .await
        .context("could not commit the queued chunk")?;
    Ok(messages.len())
}

// Every chunk but the last fills whole pages of the recipient table.
const _: () = assert!(RECIPIENTS_PER_CHUNK % super::results::RESULTS_PER_PAGE == 0);

/// Notes where each page of the recipient table that starts in this chunk
/// starts. Chunks are queued in number order and all but the last are
/// whole pages, so the pages noted so far say where this chunk begins.
async fn note_result_pages(
    tx: &mut DbConnection,
    id: CampaignId,
    messages: &[NewMessage],
) -> anyhow::Result<()> {
    let noted = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM campaign_result_pages WHERE campaign_id = $1",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await
    .context("could not count the noted pages")?;
    let starts: Vec<&NewMessage> = messages
        .iter()
        .step_by(super::results::RESULTS_PER_PAGE as usize)
        .collect();
    let backend = crate::db::Backend::of_connection(tx);
    // 500 pages (50,000 recipients) per statement.
    for (chunk_index, chunk) in starts.chunks(500).enumerate() {
        let sql = format!(
            "INSERT INTO campaign_result_pages (campaign_id, page, first_phone) VALUES {}",
            backend.placeholder_rows(chunk.len(), 3)
        );
        let mut insert = sqlx::query(&sql);
        for (i, message) in chunk.iter().enumerate() {
            let page = noted + (chunk_index * 500 + i) as i64 + 1;
            insert = insert.bind(id).bind(page).bind(&message.phone);
        }
        insert
            .execute(&mut *tx)
            .await
            .context("could not note the result pages")?;
    }
    Ok(())
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
             schedule_problem = CASE WHEN $1 = 'running' THEN NULL ELSE schedule_problem END,
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

/// What the sender the engine makes from a saved integration depends on.
/// Every save writes a new envelope (a fresh nonce) and a new version; a
/// recheck or a rejection while sending changes the health. While the
/// stamp is the same, so is the sender: the engine keeps it in memory
/// instead of reading the integration and decrypting the token every pass.
#[derive(Clone, PartialEq, Eq)]
pub struct IntegrationStamp {
    pub version: i64,
    pub health: String,
    pub auth_token_envelope: String,
    pub messaging_service_sid: Option<String>,
}

/// Without the envelope: it is encrypted, but logs have no use for it.
impl std::fmt::Debug for IntegrationStamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntegrationStamp")
            .field("version", &self.version)
            .field("health", &self.health)
            .field("messaging_service_sid", &self.messaging_service_sid)
            .finish_non_exhaustive()
    }
}

/// A running campaign, as the engine claims its messages.
#[derive(Debug, Clone)]
pub struct RunningCampaign {
    pub organisation: OrganisationId,
    pub id: CampaignId,
    /// Its organisation's quiet hours, unless it is exempt.
    pub quiet_hours: Option<super::quiet_hours::CampaignQuietHours>,
    /// Its organisation's saved integration as it is now, if any: the
    /// engine keeps a sender while this stays the same.
    pub integration: Option<IntegrationStamp>,
}

#[derive(FromRow)]
struct RunningCampaignRow {
    organisation_id: OrganisationId,
    id: CampaignId,
    quiet_hours_from: Option<i64>,
    quiet_hours_until: Option<i64>,
    time_zone: String,
    quiet_hours_exempt: i64,
    recipient_zones: String,
    integration_version: Option<i64>,
    integration_health: Option<String>,
    auth_token_envelope: Option<String>,
    messaging_service_sid: Option<String>,
}

impl RunningCampaignRow {
    fn quiet_hours(&self) -> Option<super::quiet_hours::CampaignQuietHours> {
        (self.quiet_hours_exempt == 0)
            .then(|| {
                super::quiet_hours::CampaignQuietHours::from_stored(
                    self.quiet_hours_from,
                    self.quiet_hours_until,
                    &self.time_zone,
                    &self.recipient_zones,
                )
            })
            .flatten()
    }
}

/// The engine's reads of running campaigns, which run on every pass (a few
/// hundred times a second while sending), go through the index of running
/// campaigns (`campaigns_running`), not through every campaign ever
/// stored. The organisation's integration stamp comes with them: one read
/// a pass instead of two.
const RUNNING_CAMPAIGNS: &str =
    "SELECT c.organisation_id, c.id, o.quiet_hours_from, o.quiet_hours_until, o.time_zone,
            c.quiet_hours_exempt, c.recipient_zones,
            i.version AS integration_version, i.health AS integration_health,
            i.auth_token_envelope, i.messaging_service_sid
     FROM campaigns c
     JOIN organisations o ON o.id = c.organisation_id
     LEFT JOIN twilio_integrations i ON i.organisation_id = c.organisation_id
     WHERE c.status = 'running' AND o.subscription_state = 'active'
     ORDER BY c.started_at, c.id";

/// Running campaigns whose every message is final ($1: now, $2: how long
/// a sent message may wait for its receipt): none queued, being sent or
/// unknown, by the campaign's counts, and none sent in the last day still
/// waiting for its receipt, by `outbound_messages_awaiting_receipt`. Both
/// are a few rows' reads however many messages the campaign has. A
/// campaign with messages queued, as a sending one has for most of its
/// run, is passed over at one look-up in `outbound_messages_queued`:
/// PostgreSQL's counts include the changes not yet folded, thousands of
/// rows while sending.
fn finished() -> String {
    format!(
        "status = 'running' AND queued_through IS NULL
       AND CASE WHEN EXISTS (SELECT 1 FROM outbound_messages m WHERE m.campaign_id = campaigns.id
                             AND m.state = 'queued') THEN FALSE
                ELSE (SELECT COALESCE(SUM(n), 0) FROM ({COUNTS}) counted
                      WHERE state IN ('queued', 'sending', 'unknown')) = 0 END
       AND NOT EXISTS (SELECT 1 FROM outbound_messages m WHERE m.campaign_id = campaigns.id
                       AND m.state = 'sent' AND m.claimed_at > $1 - $2)",
        COUNTS = crate::outbound::counts_where("campaign_id = campaigns.id")
    )
}

/// Running campaigns of organisations whose subscription is not active:
/// each running campaign looks its organisation up (with `IN (SELECT …)`
/// SQLite went through every organisation, then every campaign of those
/// without a subscription).
const WITHOUT_SUBSCRIPTION: &str = "status = 'running' AND EXISTS
         (SELECT 1 FROM organisations o
          WHERE o.id = campaigns.organisation_id AND o.subscription_state <> 'active')";

const WATCHED_BY_FAILURE_GUARD: &str =
    "SELECT c.organisation_id, c.id, o.failure_guard_percent, o.failure_guard_messages
     FROM campaigns c JOIN organisations o ON o.id = c.organisation_id
     WHERE c.status = 'running' AND c.failure_guard = 'watching'";

/// Running campaigns of organisations that may use Outreach, oldest
/// first, with their organisation and the quiet hours that apply.
pub async fn running_campaigns(pool: &Pool) -> anyhow::Result<Vec<RunningCampaign>> {
    let rows = sqlx::query_as::<_, RunningCampaignRow>(RUNNING_CAMPAIGNS)
        .fetch_all(pool)
        .await
        .context("could not list running campaigns")?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let quiet_hours = row.quiet_hours();
            // All three are NULL together: the organisation has no integration.
            let integration = match (
                row.integration_version,
                row.integration_health,
                row.auth_token_envelope,
            ) {
                (Some(version), Some(health), Some(auth_token_envelope)) => {
                    Some(IntegrationStamp {
                        version,
                        health,
                        auth_token_envelope,
                        messaging_service_sid: row.messaging_service_sid,
                    })
                }
                _ => None,
            };
            RunningCampaign {
                organisation: row.organisation_id,
                id: row.id,
                quiet_hours,
                integration,
            }
        })
        .collect())
}

/// Running campaigns whose every message has a final state are completed.
/// `unknown` is not final: it waits for a person.
pub async fn complete_finished_campaigns(
    pool: &Pool,
    now: UnixTime,
) -> anyhow::Result<Vec<CampaignId>> {
    // A read first: this runs ten times a second, and while campaigns are
    // sending none is finished; an UPDATE would take SQLite's write lock
    // anyway.
    let any = sqlx::query_scalar::<_, i64>(&format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM campaigns WHERE {} LIMIT 1) c",
        finished()
    ))
    .bind(now)
    .bind(crate::outbound::NO_RECEIPT_AFTER_SECS)
    .fetch_one(pool)
    .await
    .context("could not look for finished campaigns")?;
    if any == 0 {
        return Ok(Vec::new());
    }
    let completed = sqlx::query_scalar::<_, CampaignId>(&format!(
        "UPDATE campaigns SET status = 'completed', finished_at = $1 WHERE {} RETURNING id",
        finished()
    ))
    .bind(now)
    .bind(crate::outbound::NO_RECEIPT_AFTER_SECS)
    .fetch_all(pool)
    .in_turn(pool)
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
    // A read first, as in `complete_finished_campaigns`: every pass.
    let any = sqlx::query_scalar::<_, i64>(&format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM campaigns WHERE {WITHOUT_SUBSCRIPTION} LIMIT 1) c"
    ))
    .fetch_one(pool)
    .await
    .context("could not look for organisations without a subscription")?;
    if any == 0 {
        return Ok(Vec::new());
    }
    sqlx::query_as::<_, (OrganisationId, CampaignId)>(&format!(
        "UPDATE campaigns SET status = 'paused', paused_reason = $1 WHERE {WITHOUT_SUBSCRIPTION}
         RETURNING organisation_id, id"
    ))
    .bind(PAUSED_WITHOUT_SUBSCRIPTION)
    .fetch_all(pool)
    .in_turn(pool)
    .await
    .context("could not pause the campaigns of organisations without a subscription")
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("no such campaign")]
    NotFound,
    #[error("This campaign has started: only a draft's start and expiry can be changed.")]
    NotDraft,
    #[error("Choose a time in the future.")]
    InThePast,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Schedules a draft (or moves its time): the engine starts it at `at`.
pub async fn schedule_campaign(
    pool: &Pool,
    organisation: OrganisationId,
    id: CampaignId,
    at: UnixTime,
    now: UnixTime,
) -> Result<(), ScheduleError> {
    if at <= now {
        return Err(ScheduleError::InThePast);
    }
    let changed = sqlx::query(
        "UPDATE campaigns SET scheduled_at = $1, schedule_problem = NULL
         WHERE id = $2 AND organisation_id = $3 AND status = 'draft'",
    )
    .bind(at)
    .bind(id)
    .bind(organisation)
    .execute(pool)
    .in_turn(pool)
    .await
    .context("could not schedule the campaign")?
    .rows_affected();
    if changed == 1 {
        Ok(())
    } else {
        Err(not_a_draft(pool, organisation, id).await)
    }
}

/// Why a change to a draft's schedule matched nothing: not this
/// organisation's campaign, or started since.
async fn not_a_draft(pool: &Pool, organisation: OrganisationId, id: CampaignId) -> ScheduleError {
    match campaign_status(pool, organisation, id).await {
        Ok(None) => ScheduleError::NotFound,
        Ok(Some(_)) => ScheduleError::NotDraft,
        Err(e) => ScheduleError::Internal(e),
    }
}

/// How long after its start a campaign's messages may still be sent, in
/// hours: from 1 to 720 (30 days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidityHours(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Enter a whole number of hours from 1 to 720 (30 days).")]
pub struct NotValidityHours;

impl ValidityHours {
    pub fn parse(raw: &str) -> Result<Self, NotValidityHours> {
        raw.trim()
            .parse::<i64>()
            .ok()
            .filter(|h| (1..=720).contains(h))
            .map(Self)
            .ok_or(NotValidityHours)
    }
}

/// Sets a draft's validity: its messages not sent this long after the
/// start expire (and Twilio is told, through `ValidityPeriod`).
pub async fn set_validity(
    pool: &Pool,
    organisation: OrganisationId,
    id: CampaignId,
    hours: ValidityHours,
) -> Result<(), ScheduleError> {
    let changed = sqlx::query(
        "UPDATE campaigns SET validity_hours = $1
         WHERE id = $2 AND organisation_id = $3 AND status = 'draft'",
    )
    .bind(hours.0)
    .bind(id)
    .bind(organisation)
    .execute(pool)
    .in_turn(pool)
    .await
    .context("could not set the campaign's validity")?
    .rows_affected();
    if changed == 1 {
        Ok(())
    } else {
        Err(not_a_draft(pool, organisation, id).await)
    }
}

/// Takes a draft's scheduled time away: it waits for someone to run it.
pub async fn unschedule_campaign(
    pool: &Pool,
    organisation: OrganisationId,
    id: CampaignId,
) -> Result<(), ScheduleError> {
    let changed = sqlx::query(
        "UPDATE campaigns SET scheduled_at = NULL, schedule_problem = NULL
         WHERE id = $1 AND organisation_id = $2 AND status = 'draft'",
    )
    .bind(id)
    .bind(organisation)
    .execute(pool)
    .in_turn(pool)
    .await
    .context("could not unschedule the campaign")?
    .rows_affected();
    if changed == 1 {
        Ok(())
    } else {
        Err(not_a_draft(pool, organisation, id).await)
    }
}

/// Scheduled drafts whose time has come, earliest first.
pub async fn due_campaigns(
    pool: &Pool,
    now: UnixTime,
) -> anyhow::Result<Vec<(OrganisationId, CampaignId, bool)>> {
    let rows = sqlx::query_as::<_, (OrganisationId, CampaignId, String)>(
        "SELECT c.organisation_id, c.id, o.subscription_state FROM campaigns c
         JOIN organisations o ON o.id = c.organisation_id
         WHERE c.status = 'draft' AND c.scheduled_at IS NOT NULL AND c.scheduled_at <= $1
         ORDER BY c.scheduled_at, c.id",
    )
    .bind(now)
    .fetch_all(pool)
    .await
    .context("could not list the campaigns due to start")?;
    Ok(rows
        .into_iter()
        .map(|(organisation, id, subscription)| (organisation, id, subscription == "active"))
        .collect())
}

/// A scheduled start that the help page's rule refused: the draft stays a
/// draft, unscheduled, and says why.
pub async fn scheduled_start_refused(
    pool: &Pool,
    id: CampaignId,
    problem: &str,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE campaigns SET scheduled_at = NULL, schedule_problem = $1
         WHERE id = $2 AND status = 'draft'",
    )
    .bind(problem)
    .bind(id)
    .execute(pool)
    .in_turn(pool)
    .await
    .context("could not note why the campaign did not start")?;
    Ok(())
}

/// Running campaigns the failure guard still watches, with their
/// organisation's guard (see `sending::failure_guard`).
pub async fn watched_by_failure_guard(
    pool: &Pool,
) -> anyhow::Result<
    Vec<(
        OrganisationId,
        CampaignId,
        crate::failure_guard::GuardSettings,
    )>,
> {
    let rows =
        sqlx::query_as::<_, (OrganisationId, CampaignId, i64, i64)>(WATCHED_BY_FAILURE_GUARD)
            .fetch_all(pool)
            .await
            .context("could not list the campaigns the failure guard watches")?;
    Ok(rows
        .into_iter()
        .map(|(organisation, campaign, percent, first_messages)| {
            (
                organisation,
                campaign,
                crate::failure_guard::GuardSettings {
                    percent,
                    first_messages,
                },
            )
        })
        .collect())
}

/// The campaign's first messages settled without tripping the guard: it is
/// not looked at again.
pub async fn failure_guard_passed(pool: &Pool, id: CampaignId) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE campaigns SET failure_guard = 'passed' WHERE id = $1 AND failure_guard = 'watching'",
    )
    .bind(id)
    .execute(pool)
    .in_turn(pool)
    .await
    .context("could not note that the campaign passed the failure guard")?;
    Ok(())
}

/// Pauses a running campaign the guard watches, saying why; once resumed it
/// is not watched again. Returns whether it paused it (not if a person
/// paused or cancelled it meanwhile).
pub async fn trip_failure_guard(pool: &Pool, id: CampaignId, reason: &str) -> anyhow::Result<bool> {
    Ok(sqlx::query(
        "UPDATE campaigns SET status = 'paused', paused_reason = $1, failure_guard = 'tripped'
         WHERE id = $2 AND status = 'running' AND failure_guard = 'watching'",
    )
    .bind(reason)
    .bind(id)
    .execute(pool)
    .in_turn(pool)
    .await
    .context("could not pause the campaign for the failure guard")?
    .rows_affected()
        == 1)
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

#[derive(Debug, thiserror::Error)]
pub enum ExemptionError {
    #[error("no such campaign")]
    NotFound,
    #[error("This campaign has finished: quiet hours no longer matter to it.")]
    Finished,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Exempts the organisation's campaign from its quiet hours (or applies
/// them again), and records who did. Returns whether it changed.
pub async fn set_quiet_hours_exempt(
    pool: &Pool,
    organisation: OrganisationId,
    id: CampaignId,
    exempt: bool,
    actor: &str,
    now: UnixTime,
) -> Result<bool, ExemptionError> {
    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    let Some((name, status)) = sqlx::query_as::<_, (String, String)>(
        "SELECT name, status FROM campaigns WHERE id = $1 AND organisation_id = $2",
    )
    .bind(id)
    .bind(organisation)
    .fetch_optional(&mut *tx)
    .await
    .context("could not read the campaign")?
    else {
        return Err(ExemptionError::NotFound);
    };
    if matches!(status.as_str(), "completed" | "cancelled") {
        return Err(ExemptionError::Finished);
    }
    let changed = sqlx::query(
        "UPDATE campaigns SET quiet_hours_exempt = $1
         WHERE id = $2 AND organisation_id = $3 AND quiet_hours_exempt <> $1",
    )
    .bind(i64::from(exempt))
    .bind(id)
    .bind(organisation)
    .execute(&mut *tx)
    .await
    .context("could not change the campaign's exemption")?
    .rows_affected()
        == 1;
    if changed {
        let what = if exempt {
            format!("Exempted the campaign \"{name}\" from quiet hours")
        } else {
            format!("Applied quiet hours to the campaign \"{name}\" again")
        };
        crate::audit::record(
            &mut tx,
            organisation,
            crate::audit::Topic::Organisation,
            actor,
            &what,
            now,
        )
        .await?;
    }
    tx.commit()
        .await
        .context("could not commit the exemption")?;
    Ok(changed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_copy_is_named_after_its_original_and_fits() {
        assert_eq!(super::copy_name("Spring appeal", 1), "Spring appeal (copy)");
        assert_eq!(
            super::copy_name("Spring appeal", 2),
            "Spring appeal (copy 2)"
        );
        let long = "x".repeat(super::CampaignName::MAX_CHARS);
        let copy = super::copy_name(&long, 12);
        assert_eq!(copy.chars().count(), super::CampaignName::MAX_CHARS);
        assert!(copy.ends_with("x (copy 12)"));
    }

    use super::*;

    /// The engine's every-pass reads of running campaigns go through the
    /// index of running ones: with a shared service's thousands of
    /// finished campaigns, each pass read all of them four times.
    #[tokio::test]
    async fn the_engine_finds_running_campaigns_without_reading_every_campaign() {
        let (pool, _dir) = crate::db::testing::fresh_database().await;
        if crate::db::Backend::of(&pool) != crate::db::Backend::Sqlite {
            return; // PostgreSQL's plans depend on table sizes.
        }
        for query in [
            RUNNING_CAMPAIGNS.to_owned(),
            format!("SELECT 1 FROM campaigns WHERE {} LIMIT 1", finished()),
            format!(
                "UPDATE campaigns SET status = 'completed' WHERE {}",
                finished()
            ),
            format!("SELECT 1 FROM campaigns WHERE {WITHOUT_SUBSCRIPTION} LIMIT 1"),
            WATCHED_BY_FAILURE_GUARD.to_owned(),
        ] {
            let plan = crate::db::testing::sqlite_plan(&pool, &query).await;
            assert!(
                plan.iter()
                    .any(|step| step.contains("INDEX campaigns_running")),
                "{query}: {plan:?}"
            );
            // Each organisation and integration found by its key.
            assert!(
                !plan
                    .iter()
                    .any(|step| step.starts_with("SCAN o") || step.starts_with("SCAN i")),
                "{query}: {plan:?}"
            );
            assert!(
                !plan.iter().any(|step| step == "SCAN campaigns"
                    || step == "SCAN c"
                    || step.contains("TEMP B-TREE")),
                "{query}: {plan:?}"
            );
            // Nor any campaign's every message: whether one is finished is
            // read from its counts and the messages awaiting a receipt.
            assert!(
                !plan.iter().any(|step| step.starts_with("SCAN m")
                    || step.contains("sqlite_autoindex_outbound_messages")),
                "{query}: {plan:?}"
            );
        }
    }

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
        assert_eq!(messages[0].phone, "+15551230001");
        assert_eq!(messages[0].body, "Hi Ada!");
        assert_eq!(messages[1].phone, "+15551230002");
        assert!(!messages[1].body.contains('{'), "{}", messages[1].body);
        // Quiet hours: a US number's in the organisation's zone, a
        // Japanese number's in Japan's.
        assert_eq!(messages[0].local_zone, None);
        let japan = vec![("+81312345678".to_owned(), "{}".to_owned())];
        assert_eq!(
            render_messages("Hi", japan).unwrap()[0].local_zone,
            Some("Asia/Tokyo")
        );
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
