//! Outreach > Settings > SMS: the Twilio Integration panel.
//!
//! Every page works before the WASM loads: `Edit` and `Cancel` are GET
//! forms that change `?edit=`, and saving is a plain form post.

use leptos::{either::Either, prelude::*};
use leptos_router::{components::Form, hooks::use_query_map};
use serde::{Deserialize, Serialize};

use crate::{
    auth::SecretInput,
    error::{AppError, FieldErrors, FormField},
    form::Field,
};

pub const PAGE: &str = "/outreach/settings/sms";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsSettingsView {
    pub integration: Option<IntegrationView>,
    /// What campaigners can do now, in a sentence.
    pub campaigners: String,
    /// Where Twilio should post replies, for STOP / START handling.
    pub inbound_webhook_url: String,
    /// Newest first.
    pub changes: Vec<ChangeRow>,
    /// Campaigns sending now: what a change here would affect.
    pub running_campaigns: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationView {
    pub account_sid: String,
    pub messaging_service_sid: Option<String>,
    /// The Messaging Service's phone numbers when last validated; `None`
    /// when Twilio did not list them (or there is no Messaging Service).
    pub sender_numbers: Option<Vec<String>>,
    pub health: HealthView,
    pub checked_at: String,
    /// Shown while the account is a Twilio trial.
    pub trial_warning: Option<String>,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HealthView {
    Valid,
    Invalid { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRow {
    pub at: String,
    pub actor: String,
    pub action: String,
}

/// Which part of the panel a save comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// All three fields, when nothing is configured yet.
    Everything,
    AccountSidAndAuthToken,
    MessagingServiceSid,
    /// `Change Twilio account`: all three, empty, checked together.
    NewAccount,
}

impl Section {
    fn from_query(value: &str) -> Option<Self> {
        match value {
            "everything" => Some(Self::Everything),
            "account_sid_and_auth_token" => Some(Self::AccountSidAndAuthToken),
            "messaging_service_sid" => Some(Self::MessagingServiceSid),
            "new_account" => Some(Self::NewAccount),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Everything => "everything",
            Self::AccountSidAndAuthToken => "account_sid_and_auth_token",
            Self::MessagingServiceSid => "messaging_service_sid",
            Self::NewAccount => "new_account",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    pub warning: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckResult {
    NotConfigured,
    Valid,
    Invalid { reason: String },
    Inconclusive { reason: String },
}

/// The capability rule, for the campaign wizard and anything else that
/// renders from it. Any signed-in member may ask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsCapabilityView {
    pub sms_option_enabled: bool,
    pub can_create: bool,
    pub can_run: bool,
    /// Why SMS cannot be used (or run), when it cannot.
    pub reason: Option<String>,
}

/// After a save the page comes back with `?saved=<version>`, after a
/// disconnection with `?saved=disconnected`: the confirmation is built
/// from what is stored, never from text in the address.
const SAVED: &str = "saved";
const DISCONNECTED: &str = "disconnected";

#[server(endpoint = "sms_settings")]
pub async fn sms_settings() -> Result<SmsSettingsView, AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_org_admin().await?;
    ssr::load(&state, &user).await
}

#[server(endpoint = "save_twilio_integration")]
pub async fn save_twilio_integration(
    section: Section,
    account_sid: Option<String>,
    auth_token: Option<SecretInput>,
    messaging_service_sid: Option<String>,
    version: i64,
) -> Result<Saved, AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_org_admin().await?;
    let change = ssr::parse_change(section, account_sid, auth_token, messaging_service_sid)?;
    ssr::claim_twilio_check(&state, user.organisation_id).await?;
    let (saved, version) = ssr::save(&state, &user, change, version).await?;
    leptos_axum::redirect(&format!("{PAGE}?{SAVED}={version}"));
    Ok(saved)
}

/// `Disconnect Twilio`: `version` is the one the page showed.
#[server(endpoint = "disconnect_twilio")]
pub async fn disconnect_twilio(version: i64) -> Result<(), AppError> {
    use domain::sms_settings::integration::{DisconnectError, disconnect_integration};

    let (user, state, _) = crate::auth::ssr::require_subscribed_org_admin().await?;
    disconnect_integration(
        &state.services.pool,
        user.organisation_id,
        &user.email,
        version,
        domain::clock::now(),
    )
    .await
    .map_err(|e| match e {
        DisconnectError::Stale => AppError::SettingsChanged,
        DisconnectError::Internal(e) => AppError::internal(e),
    })?;
    leptos_axum::redirect(&format!("{PAGE}?{SAVED}={DISCONNECTED}"));
    Ok(())
}

#[server(endpoint = "check_twilio_now")]
pub async fn check_twilio_now() -> Result<CheckResult, AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_org_admin().await?;
    ssr::claim_twilio_check(&state, user.organisation_id).await?;
    ssr::check(&state, user.organisation_id).await
}

#[server(endpoint = "sms_capability")]
pub async fn sms_capability() -> Result<SmsCapabilityView, AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_member().await?;
    ssr::capability(&state, user.organisation_id).await
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use domain::{
        capability::{RunPermission, SmsConfiguration, sms_capability},
        clock::now,
        organisations::OrganisationId,
        sign_in::SignedInUser,
        sms_settings::{
            integration::{
                Change, CheckOutcome, Health, SaveError, check_integration,
                configuration as configuration_of, fetch_audit_events, fetch_effective_integration,
                save_integration,
            },
            validation::TRIAL_WARNING,
        },
        twilio::credentials::{AccountSid, AuthToken, MessagingServiceSid},
    };

    use super::*;
    use crate::state::AppState;

    pub async fn load(
        state: &AppState,
        viewer: &SignedInUser,
    ) -> Result<SmsSettingsView, AppError> {
        let organisation = viewer.organisation_id;
        let integration = fetch_effective_integration(
            &state.services.pool,
            &state.services.keyring,
            organisation,
        )
        .await
        .map_err(AppError::internal)?;
        let changes = fetch_audit_events(&state.services.pool, organisation, 50)
            .await
            .map_err(AppError::internal)?;
        let running_campaigns =
            domain::campaigns::store::count_running_campaigns(&state.services.pool, organisation)
                .await
                .map_err(AppError::internal)?;
        let capability = sms_capability(configuration_of(integration.as_ref()));
        let campaigners = match (capability.can_create, capability.run) {
            (true, RunPermission::Allowed) => "Campaigners can create and run SMS campaigns.".to_owned(),
            // The help page's sentence, as it is written there.
            (true, run) => format!(
                "Campaigners can create SMS campaigns but cannot run them. {}",
                run.reason().unwrap_or_default()
            ),
            (false, _) => "Campaigners cannot select SMS in the campaign wizard until valid Twilio credentials are saved.".to_owned(),
        };
        let public_id =
            domain::organisations::fetch_organisation(&state.services.pool, organisation)
                .await
                .map_err(AppError::internal)?
                .public_id;
        Ok(SmsSettingsView {
            inbound_webhook_url: format!(
                "{}/webhooks/twilio/inbound/{public_id}",
                state.public_origin
            ),
            integration: integration.map(|i| IntegrationView {
                trial_warning: i.is_trial().then(|| TRIAL_WARNING.to_owned()),
                account_sid: i.account_sid.to_string(),
                sender_numbers: i.messaging_service_sid.as_ref().and(i.sender_numbers),
                messaging_service_sid: i.messaging_service_sid.as_ref().map(ToString::to_string),
                health: match i.health {
                    Health::Valid => HealthView::Valid,
                    Health::Invalid { reason } => HealthView::Invalid { reason },
                },
                checked_at: viewer.local_time(i.checked_at),
                version: i.version,
            }),
            campaigners,
            changes: changes
                .into_iter()
                .map(|e| ChangeRow {
                    at: viewer.local_time(e.at),
                    actor: e.actor,
                    action: e.action,
                })
                .collect(),
            running_campaigns,
        })
    }

    /// Local checks first: each a field error, and no call to Twilio.
    pub fn parse_change(
        section: Section,
        account_sid: Option<String>,
        auth_token: Option<SecretInput>,
        messaging_service_sid: Option<String>,
    ) -> Result<Change, AppError> {
        let mut errors = FieldErrors::default();
        let mut parse_account_sid =
            || match AccountSid::parse(account_sid.as_deref().unwrap_or_default()) {
                Ok(sid) => Some(sid),
                Err(e) => {
                    errors.set(FormField::AccountSid, e.to_string());
                    None
                }
            };
        let account = match section {
            Section::MessagingServiceSid => None,
            _ => parse_account_sid(),
        };
        let token = match section {
            Section::MessagingServiceSid => None,
            _ => {
                match AuthToken::parse(auth_token.map(SecretInput::into_secret).unwrap_or_default())
                {
                    Ok(token) => Some(token),
                    Err(e) => {
                        errors.set(FormField::AuthToken, e.to_string());
                        None
                    }
                }
            }
        };
        // The help page lets the Messaging Service SID be left empty.
        let service = match messaging_service_sid
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(raw) => match MessagingServiceSid::parse(raw) {
                Ok(sid) => Some(sid),
                Err(e) => {
                    errors.set(FormField::MessagingServiceSid, e.to_string());
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        Ok(match section {
            Section::Everything => Change::Everything {
                account_sid: account.expect("checked above"),
                auth_token: token.expect("checked above"),
                messaging_service_sid: service,
            },
            Section::NewAccount => Change::NewAccount {
                account_sid: account.expect("checked above"),
                auth_token: token.expect("checked above"),
                messaging_service_sid: service,
            },
            Section::AccountSidAndAuthToken => Change::AccountSidAndAuthToken {
                account_sid: account.expect("checked above"),
                auth_token: token.expect("checked above"),
            },
            Section::MessagingServiceSid => Change::MessagingServiceSid(service),
        })
    }

    /// Counts a call to Twilio against the organisation's allowance.
    pub async fn claim_twilio_check(
        state: &AppState,
        organisation: OrganisationId,
    ) -> Result<(), AppError> {
        domain::sms_settings::throttle::claim_twilio_check(
            &state.services.pool,
            organisation,
            now(),
        )
        .await
        .map_err(AppError::internal)?
        .map_err(|retry_after_secs| AppError::TooManyTwilioChecks {
            minutes: (retry_after_secs + 59) / 60,
        })
    }

    /// Saves, and returns the new version (for the confirmation).
    pub async fn save(
        state: &AppState,
        user: &SignedInUser,
        change: Change,
        version: i64,
    ) -> Result<(Saved, i64), AppError> {
        let saved = save_integration(
            &state.services,
            user.organisation_id,
            &user.email,
            change,
            version,
            now(),
        )
        .await
        .map_err(|e| match e {
            SaveError::Rejected(problems) => {
                let problems = *problems;
                let mut errors = FieldErrors::default();
                for (field, problem) in [
                    (FormField::AccountSid, problems.account_sid),
                    (FormField::AuthToken, problems.auth_token),
                    (
                        FormField::MessagingServiceSid,
                        problems.messaging_service_sid,
                    ),
                ] {
                    if let Some(problem) = problem {
                        errors.set(field, problem);
                    }
                }
                errors.form = problems.saved_values.or(problems
                    .form
                    .map(|f| format!("{f} Nothing was saved; try again.")));
                AppError::Invalid(errors)
            }
            SaveError::Stale | SaveError::NotConfigured => AppError::SettingsChanged,
            SaveError::SavedTokenUnusable(reason) => {
                AppError::Invalid(FieldErrors::form(format!("{reason} Nothing was saved.")))
            }
            SaveError::Internal(e) => AppError::internal(e),
        })?;
        Ok((
            Saved {
                warning: saved.trial.then(|| TRIAL_WARNING.to_owned()),
            },
            saved.integration.version,
        ))
    }

    pub async fn check(
        state: &AppState,
        organisation: OrganisationId,
    ) -> Result<CheckResult, AppError> {
        let outcome = check_integration(&state.services, organisation, now())
            .await
            .map_err(AppError::internal)?;
        Ok(match outcome {
            CheckOutcome::NotConfigured => CheckResult::NotConfigured,
            CheckOutcome::Valid => CheckResult::Valid,
            CheckOutcome::Invalid { reason } => CheckResult::Invalid { reason },
            CheckOutcome::Inconclusive { reason } => CheckResult::Inconclusive { reason },
        })
    }

    /// The organisation's row of the capability table, as enforced: a saved
    /// token no key decrypts counts as invalid.
    pub async fn configuration(
        state: &AppState,
        organisation: OrganisationId,
    ) -> Result<SmsConfiguration, AppError> {
        let integration = fetch_effective_integration(
            &state.services.pool,
            &state.services.keyring,
            organisation,
        )
        .await
        .map_err(AppError::internal)?;
        Ok(configuration_of(integration.as_ref()))
    }

    pub async fn capability(
        state: &AppState,
        organisation: OrganisationId,
    ) -> Result<SmsCapabilityView, AppError> {
        let capability = sms_capability(configuration(state, organisation).await?);
        Ok(SmsCapabilityView {
            sms_option_enabled: capability.sms_option_enabled,
            can_create: capability.can_create,
            can_run: capability.run == RunPermission::Allowed,
            reason: capability.run.reason().map(str::to_owned),
        })
    }
}

/// "1 campaign is running." / "3 campaigns are running."
fn campaigns_running(n: i64) -> String {
    if n == 1 {
        "1 campaign is running.".to_owned()
    } else {
        format!("{n} campaigns are running.")
    }
}

/// The page.
/// Served as islands (`crate::ISLAND_PAGES`): the server renders the panel
/// from `?edit=`, `?confirm=` and `?saved=`, and only the forms, the
/// disconnect dialog and the status with its `Check now` button hydrate.
/// Saving and disconnecting come back through the address (the server
/// functions' redirect); reached in the app's router instead, the page
/// loads its settings again when `?saved=` changes.
#[component]
pub fn SmsSettingsPage() -> impl IntoView {
    let query = use_query_map();
    let settings = Resource::new(move || query.read().get(SAVED), |_| sms_settings());
    view! {
        <leptos_meta::Title text="SMS settings"/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Ok(settings) => Either::Left(view! { <TwilioIntegrationPanel settings/> }),
                    Err(e) => Either::Right(view! { <p class="error" role="alert">{e.to_string()}</p> }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn TwilioIntegrationPanel(settings: SmsSettingsView) -> impl IntoView {
    let query = use_query_map();
    let editing = move || {
        query
            .read()
            .get("edit")
            .as_deref()
            .and_then(Section::from_query)
    };
    let SmsSettingsView {
        integration,
        campaigners,
        inbound_webhook_url,
        changes,
        running_campaigns,
    } = settings;
    let version = integration.as_ref().map_or(0, |i| i.version);
    // "Saved." and what changed, when the page came back from a save.
    let latest_change = changes.first().map(|c| c.action.clone());
    let configured = integration.is_some();
    let confirmation = move || {
        let saved = query.read().get(SAVED)?;
        let action = latest_change.clone()?;
        if saved == DISCONNECTED && !configured {
            Some(format!("{action}."))
        } else if configured && saved.parse::<i64>().ok() == Some(version) {
            Some(format!("Saved. {action}."))
        } else {
            None
        }
    };

    let body = match integration {
        None => Either::Left(view! {
            <p class="status-line"><span class="badge warn">"Not configured"</span></p>
            {move || match editing() {
                Some(Section::Everything) => Either::Left(view! {
                    <CredentialsForm section=Section::Everything version running_campaigns account_sid=String::new() messaging_service_sid=String::new()/>
                }),
                _ => Either::Right(view! {
                    <p>"No Twilio credentials are saved. SMS campaigns cannot be created or run until an Org Admin saves a valid Account SID and Auth Token."</p>
                }),
            }}
        }),
        Some(integration) => Either::Right(
            view! { <ConfiguredIntegration integration running_campaigns editing=Signal::derive(editing)/> },
        ),
    };

    view! {
        <section class="panel" aria-labelledby="twilio-title">
            <header class="panel-header">
                <div>
                    <h2 id="twilio-title">"Twilio Integration"</h2>
                    <p class="muted">"SMS campaigns are sent through your Twilio account and Messaging Service."</p>
                </div>
                {move || (version == 0 && editing() != Some(Section::Everything))
                    .then(|| view! { <EditButton section=Section::Everything/> })}
            </header>
            {move || confirmation().map(|text| view! { <p class="confirmation" role="status">{text}</p> })}
            {body}
            <p class="muted small campaigners">{campaigners}</p>
            <p class="muted small">
                "Replies: so that STOP and START replies opt people out and back in, set your Messaging Service's incoming message webhook in the Twilio Console to "
                <code class="webhook-url">{inbound_webhook_url}</code>
                " (HTTP POST). Delivery updates need no setup: every message names its own status callback."
            </p>
        </section>
        <ChangesPanel changes/>
    }
}

#[component]
fn ConfiguredIntegration(
    integration: IntegrationView,
    running_campaigns: i64,
    editing: Signal<Option<Section>>,
) -> impl IntoView {
    let IntegrationView {
        account_sid,
        messaging_service_sid,
        sender_numbers,
        health,
        checked_at,
        trial_warning,
        version,
    } = integration;
    let query = use_query_map();
    let confirming_disconnect =
        move || query.read().get("confirm").as_deref() == Some("disconnect");
    let sid_for_form = account_sid.clone();
    let mg_for_form = messaging_service_sid.clone().unwrap_or_default();
    let has_service = messaging_service_sid.is_some();
    view! {
        <TwilioStatus health checked_at/>
        {trial_warning.map(|w| view! { <p class="notice">{w}</p> })}

        <section class="subsection" aria-labelledby="credentials-title">
            <header class="subsection-header">
                <h3 id="credentials-title">"Account SID and Auth Token"</h3>
                {move || (editing.get() != Some(Section::AccountSidAndAuthToken)).then(|| view! { <EditButton section=Section::AccountSidAndAuthToken/> })}
            </header>
            {move || if editing.get() == Some(Section::AccountSidAndAuthToken) {
                Either::Left(view! {
                    <CredentialsForm section=Section::AccountSidAndAuthToken version running_campaigns account_sid=sid_for_form.clone() messaging_service_sid=String::new()/>
                })
            } else {
                Either::Right(view! {
                    <dl class="facts">
                        <dt>"Account SID"</dt>
                        <dd><code>{account_sid.clone()}</code></dd>
                        <dt>"Auth Token"</dt>
                        // Never the value, its length or its last characters.
                        // The dots are decoration; screen readers get words.
                        <dd><span class="masked" aria-hidden="true">"••••••••••••"</span>
                            <span class="visually-hidden">"Hidden. "</span>
                            <span class="muted small">" Saved and encrypted; it cannot be shown. Edit to enter a new one."</span></dd>
                    </dl>
                })
            }}
        </section>

        <section class="subsection" aria-labelledby="messaging-service-title">
            <header class="subsection-header">
                <h3 id="messaging-service-title">"Messaging Service SID"</h3>
                {move || (editing.get() != Some(Section::MessagingServiceSid)).then(|| view! { <EditButton section=Section::MessagingServiceSid/> })}
            </header>
            {move || if editing.get() == Some(Section::MessagingServiceSid) {
                Either::Left(view! {
                    <CredentialsForm section=Section::MessagingServiceSid version running_campaigns account_sid=String::new() messaging_service_sid=mg_for_form.clone()/>
                })
            } else {
                Either::Right(view! {
                    <dl class="facts">
                        <dt>"Messaging Service SID"</dt>
                        <dd>{match messaging_service_sid.clone() {
                            Some(sid) => Either::Left(view! { <code>{sid}</code> }),
                            None => Either::Right(view! { <span class="badge warn">"Not set — required to run SMS campaigns"</span> }),
                        }}</dd>
                        {has_service.then(|| view! {
                            <dt>"Sending numbers"</dt>
                            <dd>{sender_pool(sender_numbers.clone())}</dd>
                        })}
                    </dl>
                    {(sender_numbers.as_ref().is_some_and(Vec::is_empty)).then(|| view! {
                        <p class="callout warn" role="note">
                            "This Messaging Service has no phone numbers, so every send will fail until a number is added to its Sender Pool in the Twilio Console (Messaging → Services)."
                        </p>
                    })}
                })
            }}
        </section>

        {move || match (editing.get(), confirming_disconnect()) {
            (Some(Section::NewAccount), _) => view! {
                <section class="subsection" aria-labelledby="new-account-title">
                    <header class="subsection-header">
                        <h3 id="new-account-title">"Change Twilio account"</h3>
                    </header>
                    <p class="small">
                        "Enter the Account SID, Auth Token and Messaging Service SID of the other Twilio account. "
                        "Twilio checks the three together, whatever is saved now; the saved values are replaced only if all of them are accepted. "
                        "Messages already sent keep their history."
                    </p>
                    <CredentialsForm section=Section::NewAccount version running_campaigns account_sid=String::new() messaging_service_sid=String::new()/>
                </section>
            }.into_any(),
            (_, true) => view! { <DisconnectDialog version running_campaigns/> }.into_any(),
            _ => view! {
                <div class="form-actions panel-footer">
                    <Form method="GET" action=PAGE attr:class="inline">
                        <input type="hidden" name="edit" value=Section::NewAccount.as_str()/>
                        <button type="submit" class="button">"Change Twilio account"</button>
                    </Form>
                    <Form method="GET" action=PAGE attr:class="inline">
                        <input type="hidden" name="confirm" value="disconnect"/>
                        <button type="submit" class="button danger">"Disconnect Twilio"</button>
                    </Form>
                </div>
            }.into_any(),
        }}
    }
}

/// The saved status and `Check now`. A check that reached Twilio may have
/// changed what the whole page says (the status, what campaigners can do):
/// the page loads again. One that could not says so here.
#[island(lazy)]
fn TwilioStatus(health: HealthView, checked_at: String) -> impl IntoView {
    let check = ServerAction::<CheckTwilioNow>::new();
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(Ok(result)) = check.value().get()
            && !matches!(result, CheckResult::Inconclusive { .. })
        {
            _ = window().location().reload();
        }
    });
    let (badge, reason) = match health {
        HealthView::Valid => (
            view! { <span class="badge ok">"Valid"</span> }.into_any(),
            None,
        ),
        HealthView::Invalid { reason } => (
            view! { <span class="badge bad">"Invalid"</span> }.into_any(),
            Some(reason),
        ),
    };
    let check_message = move || {
        check.value().get().map(|result| match result {
            Ok(CheckResult::Inconclusive { reason }) => view! {
                <p class="notice" role="status">{format!("Could not check just now: {reason} The saved status is unchanged.")}</p>
            }.into_any(),
            Ok(_) => view! { <p class="muted small" role="status">"Checked with Twilio just now."</p> }.into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })
    };
    view! {
        <div class="status-line">
            <span class="muted">"Status"</span>
            {badge}
            <span class="muted small">"Last checked " {checked_at}</span>
            <ActionForm action=check attr:class="inline">
                <button type="submit" class="button small" disabled=move || check.pending().get()>
                    {move || if check.pending().get() { "Checking…" } else { "Check now" }}
                </button>
            </ActionForm>
        </div>
        {reason.map(|r| view! { <p class="error" role="alert">{r}</p> })}
        {check_message}
    }
}

/// The sending numbers, a few at most, in words.
fn sender_pool(numbers: Option<Vec<String>>) -> String {
    const SHOWN: usize = 10;
    match numbers {
        None => "Not known: Twilio did not list them when the credentials were last checked. Check now asks again.".to_owned(),
        Some(numbers) if numbers.is_empty() => "None".to_owned(),
        Some(numbers) => {
            let mut text = numbers
                .iter()
                .take(SHOWN)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if numbers.len() > SHOWN {
                text.push_str(&format!(" and {} more", numbers.len() - SHOWN));
            }
            text
        }
    }
}

/// `Disconnect Twilio`, confirmed: a dialog in the page (it works before
/// the WASM loads, as a GET form opens it and a plain post confirms it).
#[island(lazy)]
fn DisconnectDialog(version: i64, running_campaigns: i64) -> impl IntoView {
    let disconnect = ServerAction::<DisconnectTwilio>::new();
    let cancel = NodeRef::<leptos::html::Button>::new();
    // Focus moves into the dialog when it opens.
    Effect::new(move |_| {
        if let Some(button) = cancel.get() {
            let _ = button.focus();
        }
    });
    let error = move || disconnect.value().get().and_then(Result::err);
    view! {
        <div class="dialog" role="alertdialog" aria-labelledby="disconnect-title" aria-describedby="disconnect-description">
            <h3 id="disconnect-title">"Disconnect Twilio?"</h3>
            <p id="disconnect-description">
                "The saved Account SID, Auth Token and Messaging Service SID will be deleted, the encrypted Auth Token included. "
                "SMS will be disabled in the campaign wizard until an Org Admin connects a Twilio account again. "
                {(running_campaigns > 0).then(|| format!(
                    "{} {}",
                    campaigns_running(running_campaigns),
                    if running_campaigns == 1 { "It will be paused." } else { "They will be paused." }
                ))}
            </p>
            {move || error().map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
            <div class="form-actions">
                <ActionForm action=disconnect attr:class="inline">
                    <input type="hidden" name="version" value=version.to_string()/>
                    <button type="submit" class="button danger-filled" disabled=move || disconnect.pending().get()>"Disconnect"</button>
                </ActionForm>
                // A plain form: an island has no router.
                <form method="GET" action=PAGE class="inline">
                    <button type="submit" class="button" node_ref=cancel>"Cancel"</button>
                </form>
            </div>
        </div>
    }
}

/// `Edit` opens a section; as a GET form it works without JavaScript.
#[component]
fn EditButton(section: Section) -> impl IntoView {
    view! {
        <Form method="GET" action=PAGE attr:class="inline">
            <input type="hidden" name="edit" value=section.as_str()/>
            <button type="submit" class="button" aria-describedby=format!("{}-title", section_title_id(section))>"Edit"</button>
        </Form>
    }
}

fn section_title_id(section: Section) -> &'static str {
    match section {
        Section::Everything => "twilio",
        Section::AccountSidAndAuthToken => "credentials",
        Section::MessagingServiceSid => "messaging-service",
        Section::NewAccount => "new-account",
    }
}

/// What saving this section does to the campaigns sending now.
fn running_campaigns_notice(section: Section, running: i64) -> Option<String> {
    if running == 0 {
        return None;
    }
    let effect = match section {
        Section::Everything => return None,
        Section::AccountSidAndAuthToken => {
            "They keep sending with the new Auth Token once it is saved."
        }
        Section::MessagingServiceSid => {
            "A new Messaging Service SID sends their remaining messages from its phone numbers; removing it pauses them."
        }
        Section::NewAccount => {
            "Their remaining messages will be sent through the new account's Messaging Service (if you leave its SID empty, they pause)."
        }
    };
    Some(format!("{} {effect}", campaigns_running(running)))
}

/// A section's form. Saved, the server function sends the browser back to
/// the page with `?saved=`; refused, the errors show here and the form
/// keeps what was typed (never the Auth Token).
#[island(lazy)]
fn CredentialsForm(
    section: Section,
    version: i64,
    running_campaigns: i64,
    account_sid: String,
    messaging_service_sid: String,
) -> impl IntoView {
    let save = ServerAction::<SaveTwilioIntegration>::new();
    let errors = move || match save.value().get() {
        Some(Err(AppError::Invalid(errors))) => errors,
        Some(Err(other)) => FieldErrors::form(other.to_string()),
        _ => FieldErrors::default(),
    };
    // A rejected token is cleared: it is not worth keeping, and the field
    // must never hold a secret longer than needed.
    let token_input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let (Some(Err(_)), Some(input)) = (save.value().get(), token_input.get()) {
            input.set_value("");
        }
    });
    let form_id = format!("twilio-form-{}", section.as_str());
    let shows_sid_and_token = section != Section::MessagingServiceSid;
    let shows_service = section != Section::AccountSidAndAuthToken;
    view! {
        {running_campaigns_notice(section, running_campaigns).map(|text| view! {
            <p class="notice" role="note">{text}</p>
        })}
        <ActionForm action=save attr:id=form_id.clone() attr:class="credentials-form" attr:novalidate=true>
            <input type="hidden" name="section" value=section.as_str()/>
            <input type="hidden" name="version" value=version.to_string()/>
            {shows_sid_and_token.then(|| view! {
                <Field id="account_sid" label="Account SID" hint="Starts with AC. Found in your Twilio Console under Account Info."
                    error=Signal::derive(move || errors().get(FormField::AccountSid))>
                    <input id="account_sid" name="account_sid" type="text" value=account_sid.clone()
                        autocomplete="off" spellcheck="false" maxlength="64" required
                        aria-describedby="account_sid-hint account_sid-error"
                        aria-invalid=move || errors().get(FormField::AccountSid).is_some().to_string()/>
                </Field>
                <Field id="auth_token" label="Auth Token" hint="Found in your Twilio Console under Account Info. It is encrypted when saved and never shown again."
                    error=Signal::derive(move || errors().get(FormField::AuthToken))>
                    // Never pre-filled, not even after a failed save.
                    <input node_ref=token_input id="auth_token" name="auth_token" type="password" autocomplete="off"
                        spellcheck="false" maxlength="256" required
                        aria-describedby="auth_token-hint auth_token-error"
                        aria-invalid=move || errors().get(FormField::AuthToken).is_some().to_string()/>
                </Field>
            })}
            {shows_service.then(|| view! {
                <Field id="messaging_service_sid" label="Messaging Service SID"
                    hint="Starts with MG. Found under Messaging → Services. Optional now, but required to run SMS campaigns."
                    error=Signal::derive(move || errors().get(FormField::MessagingServiceSid))>
                    <input id="messaging_service_sid" name="messaging_service_sid" type="text"
                        value=messaging_service_sid.clone() autocomplete="off" spellcheck="false" maxlength="64"
                        aria-describedby="messaging_service_sid-hint messaging_service_sid-error"
                        aria-invalid=move || errors().get(FormField::MessagingServiceSid).is_some().to_string()/>
                </Field>
            })}
            {move || errors().form.map(|message| view! { <p class="error" role="alert">{message}</p> })}
            {move || {
                let e = errors();
                (e.form.is_none() && !e.is_empty())
                    .then(|| view! { <p class="error" role="alert">"Nothing was saved: correct the fields marked above."</p> })
            }}
        </ActionForm>
        <div class="form-actions">
            <button type="submit" form=form_id class="button primary" disabled=move || save.pending().get()>
                {move || if save.pending().get() { "Checking with Twilio…" } else { "Save" }}
            </button>
            // A plain form: an island has no router.
            <form method="GET" action=PAGE class="inline">
                <button type="submit" class="button">"Cancel"</button>
            </form>
        </div>
    }
}

#[component]
fn ChangesPanel(changes: Vec<ChangeRow>) -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="changes-title">
            <header class="panel-header">
                <div>
                    <h2 id="changes-title">"Changes"</h2>
                    <p class="muted">"Who saved or changed the Twilio Integration, and when. Secrets are never recorded."</p>
                </div>
            </header>
            {if changes.is_empty() {
                Either::Left(view! { <p class="muted">"No changes yet."</p> })
            } else {
                Either::Right(view! {
                    <div class="table-scroll" tabindex="0" role="region" aria-label="Changes (scrolls sideways)">
                        <table class="changes">
                            <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th></tr></thead>
                            <tbody>
                                {changes.into_iter().map(|c| view! {
                                    <tr><td class="nowrap">{c.at}</td><td>{c.actor}</td><td class="what">{c.action}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                })
            }}
        </section>
    }
}
