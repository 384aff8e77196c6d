//! Outreach > Settings: Org Admins only. The organisation section lives here;
//! each further section (SMS) is its own module.

pub mod sms;

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
        members: members
            .into_iter()
            .map(|m| MemberRow {
                email: m.email,
                role: match m.role {
                    Role::OrgAdmin => ViewerRole::OrgAdmin,
                    Role::Campaigner => ViewerRole::Campaigner,
                },
                joined: domain::clock::format_utc(m.joined_at),
            })
            .collect(),
    })
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
    let overview = Resource::new(|| (), |_| organisation_overview());
    view! {
        <leptos_meta::Title text="Organisation settings"/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(overview) => view! { <OrganisationPanel overview/> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn OrganisationPanel(overview: OrganisationDetails) -> impl IntoView {
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
            </dl>
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
                "Members are added by the server operator with "<code>"outreach user create"</code>"."
            </p>
        </section>
    }
}
