//! A campaign's page: its audience, message and status, and `Run campaign`.

use leptos::{either::Either, prelude::*};
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use super::{CampaignRow, status_badge};
use crate::{
    auth::{Viewer, ViewerRole},
    error::AppError,
    settings::sms::SmsCapabilityView,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignDetailsView {
    pub campaign: CampaignRow,
    pub first_recipients: Vec<String>,
    pub capability: SmsCapabilityView,
}

#[server(endpoint = "campaign_details")]
pub async fn campaign_details(id: i64) -> Result<Option<CampaignDetailsView>, AppError> {
    let (user, state, _) = super::ssr::member().await?;
    let Some(campaign) =
        domain::campaigns::store::fetch_campaign(&state.pool, user.organisation_id, id)
            .await
            .map_err(AppError::internal)?
    else {
        return Ok(None);
    };
    let first_recipients = domain::campaigns::store::fetch_recipients(&state.pool, campaign.id, 20)
        .await
        .map_err(AppError::internal)?;
    let capability = crate::settings::sms::ssr::capability(&state, user.organisation_id).await?;
    Ok(Some(CampaignDetailsView {
        campaign: super::ssr::row(campaign),
        first_recipients,
        capability,
    }))
}

#[server(endpoint = "run_campaign")]
pub async fn run_campaign(id: i64) -> Result<usize, AppError> {
    use domain::campaigns::store::{RunError, RunOutcome};

    let (user, state, _) = super::ssr::member().await?;
    // The capability rule is checked again now, whatever the page showed.
    let configuration =
        crate::settings::sms::ssr::configuration(&state, user.organisation_id).await?;
    match domain::campaigns::store::run_campaign(
        &state.pool,
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
        Err(RunError::NotFound) => Err(super::ssr::form_error(
            "There is no such campaign.".to_owned(),
        )),
        Err(RunError::Internal(e)) => Err(AppError::internal(e)),
    }
}

#[server(endpoint = "update_draft")]
pub async fn update_draft(
    id: i64,
    name: String,
    body: String,
    audience: Option<String>,
) -> Result<(), AppError> {
    use domain::campaigns::store::{CampaignName, DraftChanges, SmsBody, UpdateError};

    let (user, state, organisation) = super::ssr::member().await?;
    let name = CampaignName::parse(&name).map_err(super::ssr::form_error)?;
    let body = SmsBody::parse(&body).map_err(super::ssr::form_error)?;
    let audience = match audience.filter(|a| !a.trim().is_empty()) {
        Some(text) => Some(
            super::ssr::parse_audience(&state, &organisation, &text)
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
    match domain::campaigns::store::update_draft(&state.pool, user.organisation_id, id, changes)
        .await
    {
        Ok(()) => Ok(()),
        Err(UpdateError::NotADraft) => Err(super::ssr::form_error(
            "Only draft campaigns can be edited; this one has already run.".to_owned(),
        )),
        Err(UpdateError::DuplicateName) => Err(super::ssr::form_error(
            "A campaign with this name already exists in your organisation.".to_owned(),
        )),
        Err(UpdateError::NoRecipients) => Err(super::ssr::form_error(
            "The new audience has no recipients.".to_owned(),
        )),
        Err(UpdateError::Internal(e)) => Err(AppError::internal(e)),
    }
}

#[server(endpoint = "delete_campaign")]
pub async fn delete_campaign(id: i64) -> Result<(), AppError> {
    let (user, state, _) = super::ssr::member().await?;
    let deleted = domain::campaigns::store::delete_draft(&state.pool, user.organisation_id, id)
        .await
        .map_err(AppError::internal)?;
    if !deleted {
        return Err(super::ssr::form_error(
            "Only draft campaigns can be deleted.".to_owned(),
        ));
    }
    leptos_axum::redirect(crate::routes::CAMPAIGNS);
    Ok(())
}

#[component]
pub fn CampaignPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or_default()
    };
    let run = ServerAction::<RunCampaign>::new();
    let update = ServerAction::<UpdateDraft>::new();
    let details = Resource::new(
        move || (id(), run.version().get(), update.version().get()),
        |(id, _, _)| campaign_details(id),
    );
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match details.await {
                    Ok(Some(details)) => Either::Left(view! { <CampaignView details run update/> }),
                    Ok(None) => Either::Right(view! { <p class="panel">"There is no such campaign."</p> }.into_any()),
                    Err(e) => Either::Right(view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any()),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CampaignView(
    details: CampaignDetailsView,
    run: ServerAction<RunCampaign>,
    update: ServerAction<UpdateDraft>,
) -> impl IntoView {
    let is_admin = use_context::<Viewer>().is_some_and(|v| v.role == ViewerRole::OrgAdmin);
    let CampaignDetailsView {
        campaign,
        first_recipients,
        capability,
    } = details;
    let delete = ServerAction::<DeleteCampaign>::new();
    let confirming = RwSignal::new(false);
    let is_draft = campaign.status == "draft";
    let id = campaign.id;
    let reason = capability.reason.clone();
    let recipients = campaign.audience_size;
    let segments = campaign.estimated_segments;
    let (draft_name, draft_body) = (campaign.name.clone(), campaign.body.clone());
    view! {
        <leptos_meta::Title text=campaign.name.clone()/>
        <div class="page-heading">
            <h1>{campaign.name.clone()}</h1>
            {status_badge(&campaign.status)}
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
                <dt>"Estimated segments"</dt><dd>{segments}</dd>
                <dt>"Created"</dt><dd>{format!("{} by {}", campaign.created_at, campaign.created_by)}</dd>
                {(!campaign.messages.is_empty()).then(|| view! {
                    <dt>"Messages"</dt>
                    <dd>{campaign.messages.iter().map(|(state, n)| format!("{n} {state}")).collect::<Vec<_>>().join(", ")}</dd>
                })}
            </dl>
            {(!campaign.messages.is_empty()).then(|| view! {
                <p class="muted small">"Messages wait in the queue until the sending engine delivers them through Twilio."</p>
            })}
        </section>
        {is_draft.then(|| view! {
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
                    <div class="field">
                        <label for="edit-name">"Campaign name"</label>
                        <input id="edit-name" name="name" type="text" maxlength="100" value=draft_name.clone()/>
                    </div>
                    <div class="field">
                        <label for="edit-body">"Message"</label>
                        <textarea id="edit-body" name="body" rows="5" maxlength="1600">{draft_body.clone()}</textarea>
                    </div>
                    <div class="field">
                        <label for="edit-audience">"Replace the audience"</label>
                        <textarea id="edit-audience" name="audience" rows="4" spellcheck="false"></textarea>
                        <p class="hint muted small">"Leave empty to keep the current recipients."</p>
                    </div>
                    {move || update.value().get().map(|result| match result {
                        Ok(()) => Either::Left(view! { <p class="muted small" role="status">"Saved."</p> }),
                        Err(e) => Either::Right(view! {
                            <p class="error" role="alert">{match e { AppError::Invalid(f) => f.summary(), other => other.to_string() }}</p>
                        }),
                    })}
                    <button type="submit" class="button" disabled=move || update.pending().get()>"Save changes"</button>
                </ActionForm>
            </section>
        })}
    }
}
