//! Outreach > Settings: Org Admins only. The organisation section lives here;
//! each further section (SMS) is its own module.

pub mod audit_log;
pub mod sms;
pub mod team;

use leptos::prelude::*;
use leptos_router::components::{A, Outlet};
use serde::{Deserialize, Serialize};

use crate::{
    auth::{Viewer, ViewerRole},
    error::AppError,
    layout::Forbidden,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationDetails {
    pub name: String,
    pub subscription_active: bool,
    pub default_country: String,
    /// The organisation's time zone, and those to choose from.
    pub time_zone: String,
    pub time_zones: Vec<String>,
    /// The failure guard: pause a campaign when more than this share of
    /// its first messages fail with carrier errors.
    pub failure_guard_percent: i64,
    pub failure_guard_messages: i64,
    /// "21:00" and "09:00": when campaigns send nothing; `None` when they
    /// send at any hour.
    pub quiet_hours: Option<(String, String)>,
    pub members: Vec<MemberRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRow {
    pub email: String,
    pub role: ViewerRole,
    pub joined: String,
}

#[server(endpoint = "organisation_overview")]
pub async fn organisation_overview() -> Result<OrganisationDetails, AppError> {
    use domain::{
        organisations,
        users::{self, Role},
    };

    let (user, state, organisation) = crate::auth::ssr::require_subscribed_org_admin().await?;
    let members = users::fetch_members(&state.services.pool, user.organisation_id)
        .await
        .map_err(AppError::internal)?;
    Ok(OrganisationDetails {
        name: organisation.name,
        subscription_active: organisation.subscription == organisations::SubscriptionState::Active,
        default_country: organisation.default_country,
        time_zone: organisation.time_zone,
        time_zones: domain::clock::time_zone_names(),
        failure_guard_percent: organisation.failure_guard.percent,
        failure_guard_messages: organisation.failure_guard.first_messages,
        quiet_hours: organisation
            .quiet_hours
            .map(|quiet| (quiet.from_label(), quiet.until_label())),
        members: members
            .into_iter()
            .map(|m| MemberRow {
                email: m.email,
                role: match m.role {
                    Role::OrgAdmin => ViewerRole::OrgAdmin,
                    Role::Campaigner => ViewerRole::Campaigner,
                },
                joined: user.local_time(m.joined_at),
            })
            .collect(),
    })
}

/// Sets the time zone the organisation's people read times in.
#[server(endpoint = "save_time_zone")]
pub async fn save_time_zone(time_zone: String) -> Result<(), AppError> {
    use crate::error::{FieldErrors, FormField};

    let (user, state, _) = crate::auth::ssr::require_subscribed_org_admin().await?;
    let zone = domain::clock::TimeZoneName::parse(&time_zone).map_err(|_| {
        AppError::Invalid(FieldErrors::field(
            FormField::TimeZone,
            "Choose a time zone from the list, like Europe/London.",
        ))
    })?;
    domain::organisations::set_time_zone(
        &state.services.pool,
        user.organisation_id,
        &zone,
        &user.email,
        domain::clock::now(),
    )
    .await
    .map_err(AppError::internal)?;
    Ok(())
}

/// Sets when the engine pauses a campaign for carrier errors.
#[server(endpoint = "save_failure_guard")]
pub async fn save_failure_guard(percent: String, first_messages: String) -> Result<(), AppError> {
    use crate::error::{FieldErrors, FormField};
    use domain::failure_guard::{GuardSettings, GuardSettingsError};

    let (user, state, _) = crate::auth::ssr::require_subscribed_org_admin().await?;
    let guard = GuardSettings::parse(&percent, &first_messages).map_err(|errors| {
        let mut fields = FieldErrors::default();
        for error in errors {
            let field = match error {
                GuardSettingsError::Percent => FormField::FailureGuardPercent,
                GuardSettingsError::FirstMessages => FormField::FailureGuardMessages,
            };
            fields.set(field, error.to_string());
        }
        AppError::Invalid(fields)
    })?;
    domain::organisations::set_failure_guard(
        &state.services.pool,
        user.organisation_id,
        guard,
        &user.email,
        domain::clock::now(),
    )
    .await
    .map_err(AppError::internal)?;
    Ok(())
}

/// Sets the organisation's quiet hours, or (with `turn_off`) removes
/// them: one form, two buttons.
#[server(endpoint = "save_quiet_hours")]
pub async fn save_quiet_hours(
    from: String,
    until: String,
    turn_off: Option<String>,
) -> Result<(), AppError> {
    use crate::error::{FieldErrors, FormField};
    use domain::quiet_hours::{QuietHours, QuietHoursError};

    let (user, state, _) = crate::auth::ssr::require_subscribed_org_admin().await?;
    let quiet_hours = if turn_off.is_some() {
        None
    } else {
        Some(QuietHours::parse(&from, &until).map_err(|errors| {
            let mut fields = FieldErrors::default();
            for error in errors {
                let field = match error {
                    QuietHoursError::From | QuietHoursError::Same => FormField::QuietHoursFrom,
                    QuietHoursError::Until => FormField::QuietHoursUntil,
                };
                fields.set(field, error.to_string());
            }
            AppError::Invalid(fields)
        })?)
    };
    domain::organisations::set_quiet_hours(
        &state.services.pool,
        user.organisation_id,
        quiet_hours,
        &user.email,
        domain::clock::now(),
    )
    .await
    .map_err(AppError::internal)?;
    Ok(())
}

/// Settings pages share a heading and a section navigation; campaigners get
/// the 403 page instead (the server functions refuse them as well).
#[component]
pub fn SettingsLayout() -> impl IntoView {
    let viewer = expect_context::<Viewer>();
    if viewer.role != ViewerRole::OrgAdmin {
        return view! { <Forbidden/> }.into_any();
    }
    view! {
        <div class="page-heading">
            <h1>"Settings"</h1>
        </div>
        <div class="settings">
            <nav class="subnav" aria-label="Settings sections">
                <A href="/outreach/settings" exact=true>"Organisation"</A>
                <A href=sms::PAGE>"SMS"</A>
                <A href=team::PAGE>"Team"</A>
                <A href=audit_log::PAGE>"Audit log"</A>
            </nav>
            <div class="settings-body">
                <Outlet/>
            </div>
        </div>
    }
    .into_any()
}

#[component]
pub fn OrganisationSettings() -> impl IntoView {
    let save_zone = ServerAction::<SaveTimeZone>::new();
    let save_guard = ServerAction::<SaveFailureGuard>::new();
    let save_quiet = ServerAction::<SaveQuietHours>::new();
    let overview = Resource::new(
        move || {
            (
                save_zone.version().get(),
                save_guard.version().get(),
                save_quiet.version().get(),
            )
        },
        |_| organisation_overview(),
    );
    view! {
        <leptos_meta::Title text="Organisation settings"/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(overview) => view! { <OrganisationPanel overview save_zone save_guard save_quiet/> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn OrganisationPanel(
    overview: OrganisationDetails,
    save_zone: ServerAction<SaveTimeZone>,
    save_guard: ServerAction<SaveFailureGuard>,
    save_quiet: ServerAction<SaveQuietHours>,
) -> impl IntoView {
    let zone_error = Signal::derive(move || match save_zone.value().get() {
        Some(Err(AppError::Invalid(errors))) => errors.get(crate::error::FormField::TimeZone),
        Some(Err(other)) => Some(other.to_string()),
        _ => None,
    });
    let saved = move || matches!(save_zone.value().get(), Some(Ok(())));
    let current_zone = overview.time_zone.clone();
    let zone_options = overview
        .time_zones
        .iter()
        .map(|zone| {
            let selected = *zone == current_zone;
            view! { <option value=zone.clone() selected=selected>{zone.clone()}</option> }
        })
        .collect_view();
    let (badge_class, badge_text) = if overview.subscription_active {
        ("badge ok", "Active")
    } else {
        ("badge warn", "Inactive")
    };
    view! {
        <section class="panel" aria-labelledby="organisation-title">
            <header class="panel-header">
                <div>
                    <h2 id="organisation-title">"Organisation"</h2>
                    <p class="muted">"Your organisation and the people who can sign in to it."</p>
                </div>
            </header>
            <dl class="facts">
                <dt>"Name"</dt>
                <dd>{overview.name}</dd>
                <dt>"Outreach subscription"</dt>
                <dd><span class=badge_class>{badge_text}</span></dd>
                <dt>"Default country"</dt>
                <dd>{overview.default_country}<span class="muted small">" — phone numbers without a country code are read as numbers of this country"</span></dd>
                <dt>"Time zone"</dt>
                <dd>{overview.time_zone.clone()}<span class="muted small">" — times in Outreach are shown in it"</span></dd>
            </dl>
            <ActionForm action=save_zone attr:class="time-zone-form">
                <crate::form::Field id="time-zone" label="Time zone" hint="Everyone in your organisation sees times in this zone." error=zone_error>
                    <select id="time-zone" name="time_zone" aria-describedby="time-zone-hint time-zone-error">{zone_options}</select>
                </crate::form::Field>
                {move || saved().then(|| view! { <p class="confirmation" role="status">"The time zone was saved."</p> })}
                <button type="submit" class="button" disabled=move || save_zone.pending().get()>"Save time zone"</button>
            </ActionForm>
            <FailureGuardForm
                percent=overview.failure_guard_percent
                first_messages=overview.failure_guard_messages
                save=save_guard
            />
            <QuietHoursForm
                current=overview.quiet_hours.clone()
                zone=overview.time_zone.clone()
                save=save_quiet
            />
            <h3>"Members"</h3>
            <div class="table-scroll" tabindex="0" role="region" aria-label="Members (scrolls sideways)">
                <table>
                    <thead>
                        <tr><th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"Added"</th></tr>
                    </thead>
                    <tbody>
                        {overview
                            .members
                            .into_iter()
                            .map(|m| view! {
                                <tr><td>{m.email}</td><td>{m.role.label()}</td><td>{m.joined}</td></tr>
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
            <p class="muted small">
                "Invite people, change their roles and disable or remove them on "<A href=team::PAGE>"Team"</A>"."
            </p>
        </section>
    }
}

/// The failure guard's two numbers.
#[component]
fn FailureGuardForm(
    percent: i64,
    first_messages: i64,
    save: ServerAction<SaveFailureGuard>,
) -> impl IntoView {
    use crate::error::FormField;

    let error_for = move |field: FormField| {
        Signal::derive(move || match save.value().get() {
            Some(Err(AppError::Invalid(errors))) => errors.get(field),
            _ => None,
        })
    };
    let form_error = move || match save.value().get() {
        Some(Err(AppError::Invalid(_))) | Some(Ok(())) | None => None,
        Some(Err(other)) => Some(other.to_string()),
    };
    let saved = move || matches!(save.value().get(), Some(Ok(())));
    view! {
        <h3 id="failure-guard-title">"Failure guard"</h3>
        <p class="muted">
            "Outreach pauses a running campaign when more than this share of its first messages fail with carrier errors (an unregistered sending number, messages filtered as spam, numbers out of service), and says why on the campaign's page. Resuming it lets it finish: the guard does not pause it again."
        </p>
        <ActionForm action=save attr:class="failure-guard-form" attr:aria-labelledby="failure-guard-title">
            <crate::form::Field id="failure-guard-percent" label="Share of failures (%)" hint="From 1 to 100; 20 unless changed." error=error_for(FormField::FailureGuardPercent)>
                <input id="failure-guard-percent" name="percent" type="number" min="1" max="100" step="1" inputmode="numeric" value=percent.to_string() aria-describedby="failure-guard-percent-hint failure-guard-percent-error"/>
            </crate::form::Field>
            <crate::form::Field id="failure-guard-messages" label="Of the first messages" hint="From 10 to 10,000; 200 unless changed." error=error_for(FormField::FailureGuardMessages)>
                <input id="failure-guard-messages" name="first_messages" type="number" min="10" max="10000" step="1" inputmode="numeric" value=first_messages.to_string() aria-describedby="failure-guard-messages-hint failure-guard-messages-error"/>
            </crate::form::Field>
            {move || form_error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || saved().then(|| view! { <p class="confirmation" role="status">"The failure guard was saved."</p> })}
            <button type="submit" class="button" disabled=move || save.pending().get()>"Save failure guard"</button>
        </ActionForm>
    }
    .into_any()
}

/// When campaigns send nothing, in each recipient's local time.
#[component]
fn QuietHoursForm(
    current: Option<(String, String)>,
    zone: String,
    save: ServerAction<SaveQuietHours>,
) -> impl IntoView {
    use crate::error::FormField;

    let error_for = move |field: FormField| {
        Signal::derive(move || match save.value().get() {
            Some(Err(AppError::Invalid(errors))) => errors.get(field),
            _ => None,
        })
    };
    let form_error = move || match save.value().get() {
        Some(Err(AppError::Invalid(_))) | Some(Ok(())) | None => None,
        Some(Err(other)) => Some(other.to_string()),
    };
    let saved = move || matches!(save.value().get(), Some(Ok(())));
    let is_on = current.is_some();
    let state = match &current {
        Some((from, until)) => format!("On: campaigns send nothing from {from} to {until}."),
        None => "Off: campaigns send at any hour.".to_owned(),
    };
    let (from, until) = current.unwrap_or_else(|| ("21:00".to_owned(), "09:00".to_owned()));
    view! {
        <h3 id="quiet-hours-title">"Quiet hours"</h3>
        <p class="muted">
            {format!("Messages due inside quiet hours wait until they end. They are read in each recipient's local time where their number's country has one time zone, and in the organisation's ({zone}) otherwise. An Org Admin may exempt a campaign on its page.")}
        </p>
        <p><strong>{state}</strong></p>
        <ActionForm action=save attr:class="quiet-hours-form" attr:aria-labelledby="quiet-hours-title">
            <crate::form::Field id="quiet-hours-from" label="Quiet from" hint="A 24-hour time, such as 21:00." error=error_for(FormField::QuietHoursFrom)>
                <input id="quiet-hours-from" name="from" type="time" value=from aria-describedby="quiet-hours-from-hint quiet-hours-from-error"/>
            </crate::form::Field>
            <crate::form::Field id="quiet-hours-until" label="Quiet until" hint="Before the start time for a window over midnight, such as 09:00." error=error_for(FormField::QuietHoursUntil)>
                <input id="quiet-hours-until" name="until" type="time" value=until aria-describedby="quiet-hours-until-hint quiet-hours-until-error"/>
            </crate::form::Field>
            {move || form_error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || saved().then(|| view! { <p class="confirmation" role="status">"The quiet hours were saved."</p> })}
            <div class="actions">
                <button type="submit" class="button" disabled=move || save.pending().get()>"Save quiet hours"</button>
                {is_on.then(|| view! {
                    <button type="submit" name="turn_off" value="yes" class="button secondary" disabled=move || save.pending().get()>"Turn off quiet hours"</button>
                })}
            </div>
        </ActionForm>
    }
    .into_any()
}
