//! A campaign's page: its audience and message, `Run campaign` while a
//! draft, then live progress, pause / resume / cancel, the per-recipient
//! results and their CSV export.

use leptos::{either::Either, prelude::*};
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

use super::{
    CampaignId, CampaignRow, CampaignStatus, MessageState, UnknownOutcomeDecision, progress_bar,
    refresh_while, status_badge,
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
}

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
    use domain::campaigns::{results, store};
    const RESULTS_PER_PAGE: i64 = 100;

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
    let results = results::fetch_results(
        &state.services.pool,
        campaign.id,
        (results_page - 1) * RESULTS_PER_PAGE,
        RESULTS_PER_PAGE,
    )
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
    Ok(CampaignDetailsView {
        campaign: super::ssr::row(campaign),
        first_recipients,
        capability,
        results,
        results_page,
        results_pages,
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
    } = details;
    let is_draft = campaign.status == CampaignStatus::Draft;
    let recipients = campaign.audience_size;
    let has_run = !campaign.messages.is_empty();
    view! {
        <leptos_meta::Title text=campaign.name.clone()/>
        <div class="page-heading">
            <h1>{campaign.name.clone()}</h1>
            {status_badge(campaign.status)}
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
                <dt>"Created"</dt><dd>{format!("{} by {}", campaign.created_at, campaign.created_by)}</dd>
            </dl>
        </section>
        {has_run.then(|| view! { <ProgressPanel campaign=campaign.clone() capability=capability.clone() actions/> }.into_any())}
        {has_run.then(|| view! { <ResultsPanel id=campaign.id results page=results_page pages=results_pages/> }.into_any())}
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

fn message_badge(state: MessageState) -> impl IntoView + use<> {
    let class = match state {
        MessageState::Delivered => "badge ok",
        MessageState::Undelivered | MessageState::Failed | MessageState::OptedOut => "badge bad",
        MessageState::Unknown => "badge warn",
        MessageState::Queued
        | MessageState::Sending
        | MessageState::Sent
        | MessageState::Cancelled => "badge",
    };
    view! { <span class=class>{state.label()}</span> }
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
