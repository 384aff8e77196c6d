//! A campaign's page: its audience and message, `Run campaign` while a
//! draft, then live progress, pause / resume / cancel, the per-recipient
//! results and their CSV export.

use leptos::{either::Either, prelude::*};
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

use super::{
    CampaignId, CampaignRow, CampaignStatus, MessageState, UnknownOutcomeDecision, campaign_badge,
    progress_bar, refresh_while,
};
use crate::{
    auth::{Viewer, ViewerRole},
    error::{AppError, FieldErrors, FormField},
    form::Field,
    settings::sms::SmsCapabilityView,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignDetailsView {
    pub campaign: CampaignRow,
    pub first_recipients: Vec<String>,
    pub capability: SmsCapabilityView,
    /// One page of the per-recipient table (once it has run).
    pub results: Vec<RecipientRow>,
    pub results_page: i64,
    pub results_pages: i64,
    /// How many people replied, and the newest replies.
    pub reply_count: i64,
    pub replies: Vec<ReplyRow>,
    /// The organisation's quiet hours, while they can still matter to it.
    pub quiet_hours: Option<QuietHoursView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHoursView {
    /// "21:00–09:00".
    pub window: String,
    /// The organisation's zone, where a recipient's country has several.
    pub organisation_zone: String,
    pub exempt: bool,
    /// The viewer is an Org Admin: they may exempt it.
    pub may_exempt: bool,
    /// While it runs: what waits for quiet hours to end, zone by zone.
    pub waiting: Vec<WaitingRow>,
}

/// Messages to recipients in one zone, held back by quiet hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingRow {
    /// "Asia/Tokyo", or the organisation's zone.
    pub zone: String,
    pub messages: i64,
    /// "09:00": when quiet hours end there, on their clock.
    pub until_there: String,
    /// The same instant as the organisation reads it.
    pub until: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyRow {
    pub from: String,
    pub body: String,
    pub received: String,
    /// A HELP keyword (Twilio answered it).
    pub help: bool,
}

/// Replies shown on a campaign's page, newest first.
#[cfg(feature = "ssr")]
const REPLIES_SHOWN: i64 = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientRow {
    pub phone: String,
    pub state: MessageState,
    pub reason: Option<String>,
    pub attempts: i64,
}

#[server(endpoint = "campaign_details")]
pub async fn campaign_details(id: CampaignId, page: i64) -> Result<CampaignDetailsView, AppError> {
    super::ssr::about(id);
    use domain::campaigns::{
        results::{self, RESULTS_PER_PAGE},
        store,
    };

    let (user, state, _) = super::ssr::member().await?;
    let Some(campaign) = store::fetch_campaign(&state.services.pool, user.organisation_id, id)
        .await
        .map_err(AppError::internal)?
    else {
        return Err(AppError::NotFound);
    };
    let first_recipients = store::fetch_recipients(&state.services.pool, &campaign, 20)
        .await
        .map_err(AppError::internal)?;
    let capability = crate::settings::sms::ssr::capability(&state, user.organisation_id).await?;
    let total: i64 = campaign.messages.values().sum();
    let results_pages = (total + RESULTS_PER_PAGE - 1) / RESULTS_PER_PAGE;
    let results_page = page.clamp(1, results_pages.max(1));
    let results = results::fetch_results(&state.services.pool, campaign.id, results_page)
        .await
        .map_err(AppError::internal)?
        .into_iter()
        .map(|r| RecipientRow {
            phone: r.phone,
            state: r.state,
            reason: r.reason,
            attempts: r.attempts,
        })
        .collect();
    let (reply_count, replies) = domain::delivery::inbound::fetch_replies(
        &state.services.pool,
        user.organisation_id,
        campaign.id,
        REPLIES_SHOWN,
    )
    .await
    .map_err(AppError::internal)?;
    let quiet_hours = quiet_hours_view(&state, &user, &campaign).await?;
    Ok(CampaignDetailsView {
        quiet_hours,
        campaign: super::ssr::row(campaign, &user),
        first_recipients,
        capability,
        results,
        results_page,
        results_pages,
        reply_count,
        replies: replies
            .into_iter()
            .map(|r| ReplyRow {
                from: r.from,
                body: r.body,
                received: user.local_time(r.received_at),
                help: r.help,
            })
            .collect(),
    })
}

/// Quiet hours as the campaign's page shows them: `None` once it has
/// finished, or when the organisation has none.
#[cfg(feature = "ssr")]
async fn quiet_hours_view(
    state: &crate::state::AppState,
    user: &domain::sign_in::SignedInUser,
    campaign: &domain::campaigns::store::CampaignSummary,
) -> Result<Option<QuietHoursView>, AppError> {
    use domain::campaigns::{quiet_hours, store::CampaignStatus as Status};

    if matches!(campaign.status, Status::Completed | Status::Cancelled) {
        return Ok(None);
    }
    let pool = &state.services.pool;
    let Some((quiet, exempt)) = quiet_hours::of_campaign(pool, user.organisation_id, campaign.id)
        .await
        .map_err(AppError::internal)?
    else {
        return Ok(None);
    };
    let now = domain::clock::now();
    let held_back = quiet.waiting(now);
    let waiting = if exempt || campaign.status != Status::Running || held_back.is_empty() {
        Vec::new()
    } else {
        let queued = quiet_hours::queued_by_zone(pool, campaign.id)
            .await
            .map_err(AppError::internal)?;
        held_back
            .into_iter()
            .filter_map(|(zone, until)| {
                let messages = queued
                    .iter()
                    .find(|(queued_zone, _)| queued_zone.as_deref() == zone)
                    .map_or(0, |(_, count)| *count);
                let zone = zone.unwrap_or(&quiet.organisation_zone);
                (messages > 0).then(|| WaitingRow {
                    zone: zone.to_owned(),
                    messages,
                    until_there: domain::clock::local_fields(until, zone).1,
                    until: user.local_time(until),
                })
            })
            .collect()
    };
    Ok(Some(QuietHoursView {
        window: quiet.hours.label(),
        organisation_zone: quiet.organisation_zone.clone(),
        exempt,
        may_exempt: user.role == domain::users::Role::OrgAdmin,
        waiting,
    }))
}

/// Exempts a campaign from its organisation's quiet hours (`exempt` is
/// "yes"), or applies them to it again ("no"). Org Admins only.
#[server(endpoint = "set_quiet_hours_exemption")]
pub async fn set_quiet_hours_exemption(id: CampaignId, exempt: String) -> Result<(), AppError> {
    super::ssr::about(id);
    use domain::campaigns::store::{ExemptionError, set_quiet_hours_exempt};

    let (user, state, _) = crate::auth::ssr::require_subscribed_org_admin().await?;
    let exempt = match exempt.as_str() {
        "yes" => true,
        "no" => false,
        _ => {
            return Err(super::ssr::form_error(
                "Choose whether the campaign is exempt.",
            ));
        }
    };
    set_quiet_hours_exempt(
        &state.services.pool,
        user.organisation_id,
        id,
        exempt,
        &user.email,
        domain::clock::now(),
    )
    .await
    .map(|_| ())
    .map_err(|e| match e {
        ExemptionError::NotFound => AppError::NotFound,
        ExemptionError::Finished => super::ssr::form_error(e.to_string()),
        ExemptionError::Internal(e) => AppError::internal(e),
    })
}

#[cfg(feature = "ssr")]
fn control_error(error: domain::campaigns::lifecycle::ControlError) -> AppError {
    use domain::campaigns::lifecycle::ControlError;
    match error {
        ControlError::NotAllowed(reason) => super::ssr::form_error(reason.to_owned()),
        ControlError::WrongStatus(expected) => super::ssr::form_error(format!(
            "This campaign is no longer {expected}: reload the page to see where it is."
        )),
        ControlError::NotFound => AppError::NotFound,
        ControlError::Internal(e) => AppError::internal(e),
    }
}

#[server(endpoint = "pause_campaign")]
pub async fn pause_campaign(id: CampaignId) -> Result<(), AppError> {
    super::ssr::about(id);
    let (user, state, _) = super::ssr::member().await?;
    domain::campaigns::lifecycle::pause_campaign(
        &state.services.pool,
        user.organisation_id,
        id,
        domain::clock::now(),
    )
    .await
    .map_err(control_error)
}

#[server(endpoint = "resume_campaign")]
pub async fn resume_campaign(id: CampaignId) -> Result<(), AppError> {
    super::ssr::about(id);
    let (user, state, _) = super::ssr::member().await?;
    // The capability rule again: credentials may have become invalid.
    let configuration =
        crate::settings::sms::ssr::configuration(&state, user.organisation_id).await?;
    domain::campaigns::lifecycle::resume_campaign(
        &state.services.pool,
        user.organisation_id,
        id,
        configuration,
        domain::clock::now(),
    )
    .await
    .map_err(control_error)
}

#[server(endpoint = "cancel_campaign")]
pub async fn cancel_campaign(id: CampaignId) -> Result<u64, AppError> {
    super::ssr::about(id);
    let (user, state, _) = super::ssr::member().await?;
    domain::campaigns::lifecycle::cancel_campaign(
        &state.services.pool,
        user.organisation_id,
        id,
        domain::clock::now(),
    )
    .await
    .map_err(control_error)
}

#[server(endpoint = "decide_unknown_outcomes")]
pub async fn decide_unknown_outcomes(
    id: CampaignId,
    decision: UnknownOutcomeDecision,
) -> Result<u64, AppError> {
    super::ssr::about(id);
    let (user, state, _) = super::ssr::member().await?;
    domain::campaigns::lifecycle::decide_unknown_outcomes(
        &state.services.pool,
        user.organisation_id,
        id,
        decision,
        &user.email,
        domain::clock::now(),
    )
    .await
    .map_err(control_error)
}

#[server(endpoint = "run_campaign")]
pub async fn run_campaign(id: CampaignId) -> Result<usize, AppError> {
    super::ssr::about(id);
    use domain::campaigns::store::{RunError, RunOutcome};

    let (user, state, _) = super::ssr::member().await?;
    // The capability rule is checked again now, whatever the page showed.
    let configuration =
        crate::settings::sms::ssr::configuration(&state, user.organisation_id).await?;
    match domain::campaigns::store::run_campaign(
        &state.services.pool,
        user.organisation_id,
        id,
        configuration,
        domain::clock::now(),
    )
    .await
    {
        Ok(RunOutcome::Started { messages }) => Ok(messages),
        Ok(RunOutcome::AlreadyStarted) => Ok(0),
        Err(RunError::NotAllowed(reason)) => Err(super::ssr::form_error(reason.to_owned())),
        Err(RunError::NotFound) => Err(AppError::NotFound),
        Err(RunError::Internal(e)) => Err(AppError::internal(e)),
    }
}

/// Schedules a draft (or moves its time): the engine starts it then.
#[server(endpoint = "schedule_campaign")]
pub async fn schedule_campaign(id: CampaignId, date: String, time: String) -> Result<(), AppError> {
    super::ssr::about(id);
    use domain::campaigns::store::ScheduleError;

    let (user, state, _) = super::ssr::member().await?;
    let now = domain::clock::now();
    let at = super::ssr::scheduled_time(&user, &date, &time, now)?;
    domain::campaigns::store::schedule_campaign(
        &state.services.pool,
        user.organisation_id,
        id,
        at,
        now,
    )
    .await
    .map_err(|e| match e {
        ScheduleError::NotFound => AppError::NotFound,
        ScheduleError::NotDraft => super::ssr::form_error(e.to_string()),
        ScheduleError::InThePast => super::ssr::field_error(FormField::ScheduleDate, e),
        ScheduleError::Internal(e) => AppError::internal(e),
    })
}

/// Sets how long after its start a draft's messages may still be sent.
#[server(endpoint = "set_campaign_validity")]
pub async fn set_campaign_validity(id: CampaignId, hours: String) -> Result<(), AppError> {
    super::ssr::about(id);
    use domain::campaigns::store::{ScheduleError, ValidityHours, set_validity};

    let (user, state, _) = super::ssr::member().await?;
    let hours = ValidityHours::parse(&hours)
        .map_err(|e| super::ssr::field_error(FormField::ValidityHours, e))?;
    set_validity(&state.services.pool, user.organisation_id, id, hours)
        .await
        .map_err(|e| match e {
            ScheduleError::NotFound => AppError::NotFound,
            ScheduleError::Internal(e) => AppError::internal(e),
            other => super::ssr::form_error(other.to_string()),
        })
}

/// Takes a draft's scheduled time away.
#[server(endpoint = "unschedule_campaign")]
pub async fn unschedule_campaign(id: CampaignId) -> Result<(), AppError> {
    super::ssr::about(id);
    use domain::campaigns::store::ScheduleError;

    let (user, state, _) = super::ssr::member().await?;
    domain::campaigns::store::unschedule_campaign(&state.services.pool, user.organisation_id, id)
        .await
        .map_err(|e| match e {
            ScheduleError::NotFound => AppError::NotFound,
            ScheduleError::Internal(e) => AppError::internal(e),
            other => super::ssr::form_error(other.to_string()),
        })
}

#[server(endpoint = "update_draft")]
pub async fn update_draft(
    id: CampaignId,
    name: String,
    body: String,
    audience: Option<String>,
) -> Result<(), AppError> {
    use domain::campaigns::store::{DraftChanges, UpdateError};

    super::ssr::about(id);

    let (user, state, organisation) = super::ssr::member().await?;
    let (name, body) = super::ssr::name_and_body(&name, &body)?;
    let audience = match audience.filter(|a| !a.trim().is_empty()) {
        Some(text) => Some(
            super::ssr::parse_audience(&state, &organisation, text)
                .await?
                .0,
        ),
        None => None,
    };
    let changes = DraftChanges {
        name,
        body,
        audience,
    };
    match domain::campaigns::store::update_draft(
        &state.services.pool,
        user.organisation_id,
        id,
        changes,
        domain::clock::now(),
    )
    .await
    {
        Ok(()) => Ok(()),
        Err(UpdateError::NotFound) => Err(AppError::NotFound),
        Err(UpdateError::MessageTooLong(e)) => Err(super::ssr::field_error(FormField::Message, e)),
        Err(UpdateError::NotADraft) => Err(super::ssr::form_error(
            "Only draft campaigns can be edited; this one has already run.".to_owned(),
        )),
        Err(UpdateError::DuplicateName) => Err(super::ssr::field_error(
            FormField::CampaignName,
            super::ssr::DUPLICATE_NAME,
        )),
        Err(UpdateError::NoRecipients) => Err(super::ssr::field_error(
            FormField::Audience,
            "The new audience has no recipients.",
        )),
        Err(UpdateError::Internal(e)) => Err(AppError::internal(e)),
    }
}

#[server(endpoint = "delete_campaign")]
pub async fn delete_campaign(id: CampaignId) -> Result<(), AppError> {
    super::ssr::about(id);
    use domain::campaigns::store::DeleteError;

    let (user, state, _) = super::ssr::member().await?;
    match domain::campaigns::store::delete_draft(&state.services.pool, user.organisation_id, id)
        .await
    {
        Ok(()) => {
            leptos_axum::redirect(crate::routes::CAMPAIGNS);
            Ok(())
        }
        Err(DeleteError::NotFound) => Err(AppError::NotFound),
        Err(DeleteError::NotADraft) => Err(super::ssr::form_error(
            "Only draft campaigns can be deleted.".to_owned(),
        )),
        Err(DeleteError::Internal(e)) => Err(AppError::internal(e)),
    }
}

/// A new draft "NAME (copy)" with this campaign's channel, message and
/// audience; the browser goes to it.
#[server(endpoint = "duplicate_campaign")]
pub async fn duplicate_campaign(id: CampaignId) -> Result<CampaignId, AppError> {
    super::ssr::about(id);
    use domain::campaigns::store::DuplicateError;

    let (user, state, _) = super::ssr::member().await?;
    let configuration =
        crate::settings::sms::ssr::configuration(&state, user.organisation_id).await?;
    match domain::campaigns::store::duplicate_campaign(
        &state.services.pool,
        user.organisation_id,
        &user.email,
        id,
        configuration,
        domain::clock::now(),
    )
    .await
    {
        Ok((copy, _)) => {
            leptos_axum::redirect(&format!("{}/{copy}", crate::routes::CAMPAIGNS));
            Ok(copy)
        }
        Err(DuplicateError::NotFound) => Err(AppError::NotFound),
        Err(DuplicateError::NotAllowed(reason)) => Err(super::ssr::form_error(reason.to_owned())),
        Err(DuplicateError::NoAudience) => Err(super::ssr::form_error(
            "This campaign's audience was not kept, so it cannot be duplicated: create a new campaign instead.".to_owned(),
        )),
        Err(DuplicateError::Internal(e)) => Err(AppError::internal(e)),
    }
}

#[component]
pub fn CampaignPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<CampaignId>().ok())
            .unwrap_or(CampaignId(0))
    };
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|page| page.parse::<i64>().ok())
            .unwrap_or(1)
    };
    let actions = Actions::new();
    Effect::new(move |_| {
        actions.update.version().get();
        if let Some(Ok(())) = actions.update.value().get_untracked() {
            actions.saved_drafts.update(|n| *n += 1);
        }
    });
    Effect::new(move |_| {
        actions.cancel.version().get();
        actions.confirming_cancel.set(false);
    });
    // While messages are on their way the page refreshes itself.
    let live = RwSignal::new(false);
    let tick = refresh_while(live);
    let details = Resource::new(
        move || (id(), page(), actions.version(), tick.get()),
        |(id, page, _, _)| campaign_details(id, page),
    );
    Effect::new(move |_| {
        if let Some(Ok(details)) = details.get() {
            live.set(details.campaign.is_live());
        }
    });
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match details.await {
                    Ok(details) => view! { <CampaignView details actions/> }.into_any(),
                    Err(AppError::NotFound) => view! { <CampaignNotFound/> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Another organisation's campaign, or none at all: the same 404 page, so
/// nothing tells one from the other.
#[component]
fn CampaignNotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <leptos_meta::Title text="No such campaign"/>
        <section class="panel" aria-labelledby="not-found-title">
            <h1 id="not-found-title">"No such campaign"</h1>
            <p>{AppError::NotFound.to_string()}</p>
            <p><a href=crate::routes::CAMPAIGNS>"Back to Campaigns"</a></p>
        </section>
    }
}

/// The page's server actions; any of them finishing reloads the details.
#[derive(Clone, Copy)]
struct Actions {
    run: ServerAction<RunCampaign>,
    update: ServerAction<UpdateDraft>,
    pause: ServerAction<PauseCampaign>,
    resume: ServerAction<ResumeCampaign>,
    cancel: ServerAction<CancelCampaign>,
    decide: ServerAction<DecideUnknownOutcomes>,
    duplicate: ServerAction<DuplicateCampaign>,
    schedule: ServerAction<ScheduleCampaign>,
    unschedule: ServerAction<UnscheduleCampaign>,
    validity: ServerAction<SetCampaignValidity>,
    exemption: ServerAction<SetQuietHoursExemption>,
    /// "Cancel the campaign?" is open. Kept here, outside the panels, so
    /// the page refreshing itself every 2 s does not close it.
    confirming_cancel: RwSignal<bool>,
    /// Draft edits that were saved: only those reload the page, so a
    /// refused edit keeps what was typed, with the errors under it.
    saved_drafts: RwSignal<usize>,
}

impl Actions {
    fn new() -> Self {
        Self {
            run: ServerAction::new(),
            update: ServerAction::new(),
            pause: ServerAction::new(),
            resume: ServerAction::new(),
            cancel: ServerAction::new(),
            decide: ServerAction::new(),
            duplicate: ServerAction::new(),
            schedule: ServerAction::new(),
            unschedule: ServerAction::new(),
            validity: ServerAction::new(),
            exemption: ServerAction::new(),
            confirming_cancel: RwSignal::new(false),
            saved_drafts: RwSignal::new(0),
        }
    }

    fn version(&self) -> usize {
        self.run.version().get()
            + self.saved_drafts.get()
            + self.pause.version().get()
            + self.resume.version().get()
            + self.cancel.version().get()
            + self.decide.version().get()
            + self.schedule.version().get()
            + self.unschedule.version().get()
            + self.validity.version().get()
            + self.exemption.version().get()
    }

    /// The latest error of the sending controls, in words.
    fn control_error(&self) -> Option<String> {
        let message = |e: AppError| match e {
            AppError::Invalid(f) => f.summary(),
            other => other.to_string(),
        };
        [
            self.pause.value().get().and_then(Result::err),
            self.resume.value().get().and_then(Result::err),
            self.cancel.value().get().and_then(|r| r.err()),
            self.decide.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(message)
    }
}

#[component]
fn CampaignView(details: CampaignDetailsView, actions: Actions) -> impl IntoView {
    let CampaignDetailsView {
        campaign,
        first_recipients,
        capability,
        results,
        results_page,
        results_pages,
        reply_count,
        replies,
        quiet_hours,
    } = details;
    let is_draft = campaign.status == CampaignStatus::Draft;
    let recipients = campaign.audience_size;
    let has_run = !campaign.messages.is_empty();
    view! {
        <leptos_meta::Title text=campaign.name.clone()/>
        <div class="page-heading">
            <h1>{campaign.name.clone()}</h1>
            {campaign_badge(&campaign)}
            <DuplicateButton id=campaign.id duplicate=actions.duplicate/>
        </div>
        <section class="panel" aria-labelledby="campaign-facts">
            <h2 id="campaign-facts" class="visually-hidden">"Campaign"</h2>
            <dl class="facts">
                <dt>"Delivery channel"</dt><dd>"SMS"</dd>
                <dt>"Audience"</dt>
                <dd>{format!("{recipients} recipients")}
                    <span class="muted small">{format!(" ({}{})", first_recipients.join(", "), if recipients > first_recipients.len() as i64 { ", …" } else { "" })}</span>
                </dd>
                <dt>"Message"</dt><dd class="message-body">{campaign.body.clone()}</dd>
                <dt>"Estimated segments"</dt><dd>{campaign.estimated_segments}</dd>
                <dt>"Expiry"</dt><dd>{format!("Messages not sent within {} hours of the start are not sent.", campaign.validity_hours)}</dd>
                <dt>"Created"</dt><dd>{format!("{} by {}", campaign.created_at, campaign.created_by)}</dd>
            </dl>
            <crate::lists::SaveCampaignAsList id=campaign.id/>
        </section>
        {has_run.then(|| view! { <ProgressPanel campaign=campaign.clone() capability=capability.clone() actions/> }.into_any())}
        {quiet_hours.map(|quiet| view! { <QuietHoursPanel id=campaign.id quiet actions/> }.into_any())}
        {has_run.then(|| view! { <RepliesPanel count=reply_count replies/> }.into_any())}
        {has_run.then(|| view! { <ResultsPanel id=campaign.id results page=results_page pages=results_pages/> }.into_any())}
        {is_draft.then(|| view! { <SchedulePanel campaign=campaign.clone() actions/> }.into_any())}
        {is_draft.then(|| view! { <DraftPanels campaign=campaign.clone() capability actions/> }.into_any())}
    }
}

#[component]
fn ProgressPanel(
    campaign: CampaignRow,
    capability: SmsCapabilityView,
    actions: Actions,
) -> impl IntoView {
    let id = campaign.id;
    let unknown = campaign
        .progress()
        .iter()
        .find(|(label, _)| *label == "Outcome unknown")
        .map(|(_, n)| *n)
        .unwrap_or(0);
    let confirming_cancel = actions.confirming_cancel;
    let is_admin = use_context::<Viewer>().is_some_and(|v| v.role == ViewerRole::OrgAdmin);
    let status = campaign.status;
    let running = status == CampaignStatus::Running;
    let paused = status == CampaignStatus::Paused;
    let can_send_again = running || paused;
    let can_resume = capability.can_run;
    let resume_reason = capability.reason.clone();
    view! {
        <section class="panel" aria-labelledby="progress-title">
            <h2 id="progress-title">"Progress"</h2>
            {campaign.paused_reason.clone().map(|reason| view! {
                // Each reason is a sentence of its own ("Paused: ...").
                <p class="callout warn" role="status">
                    {reason}
                    {is_admin.then(|| view! { " " <a href="/outreach/settings/sms">"Go to SMS settings"</a> })}
                </p>
            })}
            {progress_bar(&campaign)}
            <dl class="counts">
                {campaign.progress().into_iter().map(|(label, n)| view! {
                    <div><dt>{label}</dt><dd>{n}</dd></div>
                }).collect_view()}
            </dl>
            <div class="form-actions">
                {running.then(|| view! {
                    <ActionForm action=actions.pause attr:class="inline">
                        <input type="hidden" name="id" value=id.to_string()/>
                        <button type="submit" class="button">"Pause sending"</button>
                    </ActionForm>
                }.into_any())}
                {paused.then(|| view! {
                    <ActionForm action=actions.resume attr:class="inline">
                        <input type="hidden" name="id" value=id.to_string()/>
                        <button type="submit" class="button primary" disabled=!can_resume
                            aria-describedby="resume-availability">"Resume sending"</button>
                    </ActionForm>
                    {resume_reason.clone().filter(|_| !can_resume).map(|reason| view! {
                        <p id="resume-availability" class="hint small">{reason}</p>
                    })}
                }.into_any())}
                {(running || paused).then(|| view! {
                    <Show when=move || !confirming_cancel.get()>
                        <button type="button" class="button danger" on:click=move |_| confirming_cancel.set(true)>"Cancel campaign"</button>
                    </Show>
                    <Show when=move || confirming_cancel.get()>
                        <p role="status">"Messages not sent yet will never be sent. Cancel the campaign?"</p>
                        <ActionForm action=actions.cancel attr:class="inline">
                            <input type="hidden" name="id" value=id.to_string()/>
                            <button type="submit" class="button danger">"Yes, cancel the campaign"</button>
                        </ActionForm>
                        <button type="button" class="button" on:click=move |_| confirming_cancel.set(false)>"Keep sending"</button>
                    </Show>
                }.into_any())}
                <a class="button" href=format!("/outreach/campaigns/{id}/results.csv") download="">"Export results (CSV)"</a>
            </div>
            {(unknown > 0).then(|| view! {
                <div class="callout warn" role="group" aria-labelledby="unknown-title">
                    <h3 id="unknown-title">{format!("Outcome unknown: {unknown}")}</h3>
                    <p class="small">"Twilio could not confirm whether these messages were sent. Sending them again may message those recipients twice."</p>
                    <div class="form-actions">
                        {can_send_again.then(|| view! {
                            <ActionForm action=actions.decide attr:class="inline">
                                <input type="hidden" name="id" value=id.to_string()/>
                                <input type="hidden" name="decision" value=UnknownOutcomeDecision::SendAgain.as_str()/>
                                <button type="submit" class="button">"Send them again"</button>
                            </ActionForm>
                        })}
                        <ActionForm action=actions.decide attr:class="inline">
                            <input type="hidden" name="id" value=id.to_string()/>
                            <input type="hidden" name="decision" value=UnknownOutcomeDecision::DoNotSend.as_str()/>
                            <button type="submit" class="button">"Don't send them"</button>
                        </ActionForm>
                    </div>
                </div>
            }.into_any())}
            {move || actions.control_error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}

#[component]
fn ResultsPanel(
    id: CampaignId,
    results: Vec<RecipientRow>,
    page: i64,
    pages: i64,
) -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="results-title">
            <h2 id="results-title">"Recipients"</h2>
            // Focusable, so people using a keyboard can scroll it sideways.
            <div class="table-scroll" tabindex="0" role="region" aria-label="Recipient results (scrolls sideways)">
                <table>
                    <thead>
                        <tr>
                            <th scope="col">"Recipient"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Reason"</th>
                            <th scope="col">"Attempts"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {results.into_iter().map(|r| view! {
                            <tr>
                                <td>{r.phone}</td>
                                <td>{message_badge(r.state)}</td>
                                <td>{r.reason.unwrap_or_default()}</td>
                                <td>{r.attempts}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            {(pages > 1).then(|| view! {
                <nav class="pager" aria-label="Recipient pages">
                    {(page > 1).then(|| view! { <a href=format!("/outreach/campaigns/{id}?page={}", page - 1)>"Previous"</a> })}
                    <span class="small">{format!("Page {page} of {pages}")}</span>
                    {(page < pages).then(|| view! { <a href=format!("/outreach/campaigns/{id}?page={}", page + 1)>"Next"</a> })}
                </nav>
            })}
        </section>
    }
}

/// `Duplicate`: on any campaign, whatever its status.
#[component]
fn DuplicateButton(id: CampaignId, duplicate: ServerAction<DuplicateCampaign>) -> impl IntoView {
    let error = move || duplicate.value().get().and_then(Result::err);
    view! {
        <ActionForm action=duplicate attr:class="inline heading-action">
            <input type="hidden" name="id" value=id.to_string()/>
            <button type="submit" class="button" disabled=move || duplicate.pending().get()>
                {move || if duplicate.pending().get() { "Duplicating…" } else { "Duplicate" }}
            </button>
        </ActionForm>
        {move || error().map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any())}
    }
    .into_any()
}

/// What recipients wrote back, newest first (STOP and START are not
/// replies: they change opt-outs).
#[component]
fn RepliesPanel(count: i64, replies: Vec<ReplyRow>) -> impl IntoView {
    let shown = replies.len() as i64;
    view! {
        <section class="panel" aria-labelledby="replies-title">
            <header class="panel-header">
                <div>
                    <h2 id="replies-title">{format!("Replies ({count})")}</h2>
                    <p class="muted">"Messages recipients sent back to this campaign's numbers, newest first. Outreach does not answer them; Twilio answers HELP."</p>
                </div>
            </header>
            {if replies.is_empty() {
                view! { <p class="muted">"No replies yet."</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll" tabindex="0" role="region" aria-label="Replies (scrolls sideways)">
                        <table class="changes">
                            <thead><tr><th scope="col">"Received"</th><th scope="col">"From"</th><th scope="col">"Message"</th></tr></thead>
                            <tbody>
                                {replies.into_iter().map(|r| view! {
                                    <tr>
                                        <td class="nowrap">{r.received}</td>
                                        <td class="nowrap">{r.from}</td>
                                        <td class="what">
                                            {r.help.then(|| view! { <span class="badge warn">"HELP"</span>" " })}
                                            {r.body}
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    {(count > shown).then(|| view! {
                        <p class="muted small">{format!("The newest {shown} of {count} are shown.")}</p>
                    })}
                }
                .into_any()
            }}
        </section>
    }
    .into_any()
}

fn message_badge(state: MessageState) -> impl IntoView + use<> {
    let class = match state {
        MessageState::Delivered => "badge ok",
        MessageState::Undelivered | MessageState::Failed | MessageState::OptedOut => "badge bad",
        MessageState::Unknown => "badge warn",
        MessageState::Queued
        | MessageState::Sending
        | MessageState::Sent
        | MessageState::Cancelled
        | MessageState::Expired => "badge",
    };
    view! { <span class=class>{state.label()}</span> }
}

/// A draft's start time: when it is scheduled, `Unschedule`; a date and
/// time to `Schedule` it (or move it); why a scheduled start did not happen;
/// how long after the start its messages may still be sent.
/// The organisation's quiet hours, what waits for them to end, and an Org
/// Admin's exemption.
#[component]
fn QuietHoursPanel(id: CampaignId, quiet: QuietHoursView, actions: Actions) -> impl IntoView {
    let exemption = actions.exemption;
    let error = move || match exemption.value().get() {
        Some(Err(AppError::Invalid(errors))) => Some(errors.summary()),
        Some(Err(other)) => Some(other.to_string()),
        _ => None,
    };
    let QuietHoursView {
        window,
        organisation_zone,
        exempt,
        may_exempt,
        waiting,
    } = quiet;
    let rule = if exempt {
        format!(
            "Exempt: this campaign sends at any hour, through the organisation's quiet hours ({window})."
        )
    } else {
        format!(
            "No messages are sent during the organisation's quiet hours, {window}, in each recipient's local time: their country's time zone where it has one, {organisation_zone} otherwise."
        )
    };
    let (button, value) = if exempt {
        ("Apply quiet hours", "no")
    } else {
        ("Exempt from quiet hours", "yes")
    };
    view! {
        <section class="panel" aria-labelledby="quiet-hours-title">
            <h2 id="quiet-hours-title">"Quiet hours"</h2>
            <p>{rule}</p>
            {(!waiting.is_empty()).then(|| view! {
                <p role="status"><strong>"Waiting for quiet hours to end:"</strong></p>
                <ul class="waiting">
                    {waiting.into_iter().map(|row| view! {
                        <li>{format!(
                            "{} {} to recipients in {} {} until {} there ({}).",
                            row.messages,
                            if row.messages == 1 { "message" } else { "messages" },
                            row.zone,
                            if row.messages == 1 { "waits" } else { "wait" },
                            row.until_there,
                            row.until,
                        )}</li>
                    }).collect_view()}
                </ul>
            })}
            {may_exempt.then(|| view! {
                <ActionForm action=exemption attr:class="exemption-form">
                    <input type="hidden" name="id" value=id.to_string()/>
                    <input type="hidden" name="exempt" value=value/>
                    {move || error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                    <button type="submit" class="button secondary" disabled=move || exemption.pending().get()>{button}</button>
                </ActionForm>
            })}
        </section>
    }
    .into_any()
}

#[component]
fn SchedulePanel(campaign: CampaignRow, actions: Actions) -> impl IntoView {
    let (schedule, unschedule, validity) = (actions.schedule, actions.unschedule, actions.validity);
    let validity_error = Signal::derive(move || match validity.value().get() {
        Some(Err(AppError::Invalid(errors))) => {
            errors.get(FormField::ValidityHours).or(errors.form)
        }
        Some(Err(other)) => Some(other.to_string()),
        _ => None,
    });
    let time_zone = use_context::<Viewer>()
        .map(|v| v.time_zone)
        .unwrap_or_else(|| "UTC".to_owned());
    let id = campaign.id;
    let error_for = move |field: FormField| {
        Signal::derive(move || match schedule.value().get() {
            Some(Err(AppError::Invalid(errors))) => errors.get(field),
            _ => None,
        })
    };
    let form_error = move || {
        [
            schedule.value().get().and_then(Result::err),
            unschedule.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .find_map(|e| match e {
            AppError::Invalid(f) => f.form,
            other => Some(other.to_string()),
        })
    };
    view! {
        <section class="panel" aria-labelledby="schedule-title">
            <h2 id="schedule-title">"Schedule"</h2>
            {campaign.schedule_problem.clone().map(|problem| view! {
                <p class="callout warn" role="status">{problem}</p>
            })}
            {match campaign.scheduled_for.clone() {
                Some(at) => view! {
                    <p role="status"><strong>{format!("Scheduled for {at}.")}</strong>
                        " Outreach starts it then, if SMS campaigns can run at that time; until then it can be edited below."</p>
                    <ActionForm action=unschedule attr:class="inline">
                        <input type="hidden" name="id" value=id.to_string()/>
                        <button type="submit" class="button" disabled=move || unschedule.pending().get()>"Unschedule"</button>
                    </ActionForm>
                }.into_any(),
                None => view! { <p class="muted">"Not scheduled: it waits for someone to run it, or for a date and time below."</p> }.into_any(),
            }}
            <ActionForm action=schedule attr:class="schedule-form">
                <input type="hidden" name="id" value=id.to_string()/>
                <div class="schedule-fields">
                    <Field id="schedule-date" label="Date" hint=""
                        error=error_for(FormField::ScheduleDate)>
                        <input id="schedule-date" name="date" type="date" required value=campaign.schedule_date.clone()
                            aria-describedby="schedule-date-error schedule-zone"/>
                    </Field>
                    <Field id="schedule-time" label="Time" hint=""
                        error=error_for(FormField::ScheduleTime)>
                        <input id="schedule-time" name="time" type="time" required value=campaign.schedule_time.clone()
                            aria-describedby="schedule-time-error schedule-zone"/>
                    </Field>
                </div>
                <p id="schedule-zone" class="muted small">{format!("In your organisation's time zone, {time_zone}.")}</p>
                {move || form_error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <button type="submit" class="button" disabled=move || schedule.pending().get()>"Schedule"</button>
            </ActionForm>
            <ActionForm action=validity attr:class="validity-form">
                <input type="hidden" name="id" value=id.to_string()/>
                <Field id="validity-hours" label="Expiry (hours)"
                    hint="Messages not yet sent this many hours after the start are not sent, and Twilio is told not to deliver them late. 24 unless changed."
                    error=validity_error>
                    <input id="validity-hours" name="hours" type="number" min="1" max="720" step="1" inputmode="numeric"
                        value=campaign.validity_hours.to_string()
                        aria-describedby="validity-hours-hint validity-hours-error"/>
                </Field>
                <button type="submit" class="button" disabled=move || validity.pending().get()>"Save expiry"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

#[component]
fn DraftPanels(
    campaign: CampaignRow,
    capability: SmsCapabilityView,
    actions: Actions,
) -> impl IntoView {
    let is_admin = use_context::<Viewer>().is_some_and(|v| v.role == ViewerRole::OrgAdmin);
    let (run, update) = (actions.run, actions.update);
    let delete = ServerAction::<DeleteCampaign>::new();
    let confirming = RwSignal::new(false);
    let id = campaign.id;
    let reason = capability.reason.clone();
    let recipients = campaign.audience_size;
    let segments = campaign.estimated_segments;
    let (draft_name, draft_body) = (campaign.name.clone(), campaign.body.clone());
    let errors = move || match update.value().get() {
        Some(Err(AppError::Invalid(errors))) => errors,
        Some(Err(other)) => FieldErrors::form(other.to_string()),
        _ => FieldErrors::default(),
    };
    view! {
        <section class="panel" aria-labelledby="run-title">
            <h2 id="run-title">"Run"</h2>
            <Show when=move || !confirming.get()>
                <button type="button" class="button primary" disabled=!capability.can_run
                    aria-describedby="run-availability" on:click=move |_| confirming.set(true)>"Run campaign"</button>
            </Show>
            <Show when=move || confirming.get()>
                <p role="status">{format!("Send {recipients} messages (about {segments} segments) now?")}</p>
                <div class="form-actions">
                    <button type="button" class="button primary" disabled=move || run.pending().get()
                        on:click=move |_| { run.dispatch(RunCampaign { id }); }>"Start sending"</button>
                    <button type="button" class="button" on:click=move |_| confirming.set(false)>"Cancel"</button>
                </div>
            </Show>
            <p id="run-availability" class="hint small">
                {match reason.clone().filter(|_| !capability.can_run) {
                    Some(reason) => Either::Left(view! {
                        <span>{reason}</span>
                        {is_admin.then(|| view! { " " <a href="/outreach/settings/sms">"Go to SMS settings"</a> })}
                    }),
                    None => Either::Right(view! { <span class="muted">"Each recipient gets one message, exactly once."</span> }),
                }}
            </p>
            {move || run.value().get().and_then(Result::err).map(|e| view! {
                <p class="error" role="alert">{match e { AppError::Invalid(f) => f.summary(), other => other.to_string() }}</p>
            })}
            <ActionForm action=delete attr:class="inline">
                <input type="hidden" name="id" value=id.to_string()/>
                <button type="submit" class="button link danger">"Delete draft"</button>
            </ActionForm>
        </section>
        <section class="panel" aria-labelledby="edit-title">
            <h2 id="edit-title">"Edit draft"</h2>
            <ActionForm action=update attr:class="credentials-form">
                <input type="hidden" name="id" value=id.to_string()/>
                <Field id="edit-name" label="Campaign name" hint="Unique within your organisation."
                    error=Signal::derive(move || errors().get(FormField::CampaignName))>
                    <input id="edit-name" name="name" type="text" maxlength="100" value=draft_name.clone()
                        aria-describedby="edit-name-hint edit-name-error"
                        aria-invalid=move || errors().get(FormField::CampaignName).is_some().to_string()/>
                </Field>
                <Field id="edit-body" label="Message" hint="At most 1,600 characters; placeholders such as {first_name} are filled in per recipient."
                    error=Signal::derive(move || errors().get(FormField::Message))>
                    <textarea id="edit-body" name="body" rows="5" maxlength="1600"
                        aria-describedby="edit-body-hint edit-body-error"
                        aria-invalid=move || errors().get(FormField::Message).is_some().to_string()>{draft_body.clone()}</textarea>
                </Field>
                <Field id="edit-audience" label="Replace the audience" hint="Leave empty to keep the current recipients."
                    error=Signal::derive(move || errors().get(FormField::Audience))>
                    <textarea id="edit-audience" name="audience" rows="4" spellcheck="false"
                        aria-describedby="edit-audience-hint edit-audience-error"
                        aria-invalid=move || errors().get(FormField::Audience).is_some().to_string()></textarea>
                </Field>
                {move || match update.value().get() {
                    Some(Ok(())) => Some(Either::Left(view! { <p class="muted small" role="status">"Saved."</p> })),
                    Some(Err(_)) => {
                        let errors = errors();
                        Some(Either::Right(view! { <p class="error" role="alert">{errors.summary()}</p> }))
                    }
                    None => None,
                }}
                <button type="submit" class="button" disabled=move || update.pending().get()>"Save changes"</button>
            </ActionForm>
        </section>
    }
}
