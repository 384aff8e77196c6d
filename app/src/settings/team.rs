//! Settings > Team: the organisation's people and open invitations, and
//! what Org Admins do about them: invite, change roles, disable, enable,
//! remove, and hand out password reset links.

use leptos::prelude::*;
use leptos_router::{components::Form, hooks::use_query_map};
use serde::{Deserialize, Serialize};

use crate::{auth::ViewerRole, error::AppError, form::Field};

pub const PAGE: &str = "/outreach/settings/team";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamView {
    pub members: Vec<MemberView>,
    pub invitations: Vec<InvitationView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub id: i64,
    pub email: String,
    pub role: ViewerRole,
    pub disabled: bool,
    pub joined: String,
    pub last_sign_in: Option<String>,
    pub reset_link: Option<LinkView>,
    /// The Org Admin looking at the page.
    pub is_you: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub email: String,
    pub role: ViewerRole,
    pub link: LinkView,
}

/// An open one-time link, without its secret (which only its maker saw).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkView {
    pub id: i64,
    pub created_by: String,
    pub created: String,
    pub expires: String,
    pub expired: bool,
}

/// A link just made: shown once, to the Org Admin who made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLinkView {
    pub email: String,
    pub url: String,
    pub expires: String,
    pub purpose: NewLinkPurpose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NewLinkPurpose {
    Invitation,
    PasswordReset,
}

#[server(endpoint = "team")]
pub async fn team() -> Result<TeamView, AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_org_admin().await?;
    ssr::team_view(&state, &user).await
}

#[server(endpoint = "invite_member")]
pub async fn invite_member(email: String, role: String) -> Result<NewLinkView, AppError> {
    use crate::error::{FieldErrors, FormField};
    use domain::{team, users::EmailAddress};

    let (user, state, _) = crate::auth::ssr::require_subscribed_org_admin().await?;
    let role = ssr::parse_role(&role)?;
    let email = EmailAddress::parse(&email).map_err(|_| {
        AppError::Invalid(FieldErrors::field(
            FormField::Email,
            "Enter the email address the person will sign in with, like name@example.org.",
        ))
    })?;
    let link = team::invite(
        &state.services.pool,
        (&user).into(),
        &email,
        role,
        domain::clock::now(),
    )
    .await
    .map_err(ssr::team_error)?;
    Ok(ssr::new_link(
        &state,
        &user,
        NewLinkPurpose::Invitation,
        link,
    ))
}

#[server(endpoint = "revoke_link")]
pub async fn revoke_link(link: i64) -> Result<(), AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_org_admin().await?;
    domain::team::revoke_link(
        &state.services.pool,
        (&user).into(),
        domain::ids::AccountLinkId(link),
        domain::clock::now(),
    )
    .await
    .map_err(ssr::team_error)
}

#[server(endpoint = "change_member_role")]
pub async fn change_member_role(member: i64, role: String) -> Result<(), AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_org_admin().await?;
    let role = ssr::parse_role(&role)?;
    domain::team::change_role(
        &state.services.pool,
        (&user).into(),
        domain::users::UserId(member),
        role,
        domain::clock::now(),
    )
    .await
    .map_err(ssr::team_error)
}

#[server(endpoint = "set_member_disabled")]
pub async fn set_member_disabled(member: i64, disabled: bool) -> Result<(), AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_org_admin().await?;
    domain::team::set_disabled(
        &state.services.pool,
        (&user).into(),
        domain::users::UserId(member),
        disabled,
        domain::clock::now(),
    )
    .await
    .map_err(ssr::team_error)
}

#[server(endpoint = "remove_member")]
pub async fn remove_member(member: i64) -> Result<(), AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_org_admin().await?;
    domain::team::remove(
        &state.services.pool,
        (&user).into(),
        domain::users::UserId(member),
        domain::clock::now(),
    )
    .await
    .map_err(ssr::team_error)?;
    leptos_axum::redirect(PAGE);
    Ok(())
}

#[server(endpoint = "reset_member_password")]
pub async fn reset_member_password(member: i64) -> Result<NewLinkView, AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_org_admin().await?;
    let link = domain::team::create_password_reset(
        &state.services.pool,
        (&user).into(),
        domain::users::UserId(member),
        domain::clock::now(),
    )
    .await
    .map_err(ssr::team_error)?;
    Ok(ssr::new_link(
        &state,
        &user,
        NewLinkPurpose::PasswordReset,
        link,
    ))
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use domain::{
        clock::now,
        sign_in::SignedInUser,
        team::{self, NewLink, PendingLink, TeamError},
        users::Role,
    };

    use super::*;
    use crate::{
        error::{FieldErrors, FormField},
        state::AppState,
    };

    pub fn parse_role(raw: &str) -> Result<Role, AppError> {
        match raw {
            "org_admin" => Ok(Role::OrgAdmin),
            "campaigner" => Ok(Role::Campaigner),
            _ => Err(AppError::Invalid(FieldErrors::form(
                "Choose a role: Org Admin or Campaigner.",
            ))),
        }
    }

    pub fn viewer_role(role: Role) -> ViewerRole {
        match role {
            Role::OrgAdmin => ViewerRole::OrgAdmin,
            Role::Campaigner => ViewerRole::Campaigner,
        }
    }

    pub fn team_error(error: TeamError) -> AppError {
        let refused = |message: String| AppError::Invalid(FieldErrors::form(message));
        match error {
            TeamError::NoSuchPerson | TeamError::NoSuchLink => AppError::NoSuchMember,
            TeamError::LastOrgAdmin { email } => refused(format!(
                "Nothing was changed: {email} is the organisation's only active Org Admin, and an organisation always keeps one so that someone can manage it. Make someone else an Org Admin first."
            )),
            TeamError::AlreadyMember { email } => AppError::Invalid(FieldErrors::field(
                FormField::Email,
                format!("{email} is already a member of your organisation."),
            )),
            TeamError::EmailTaken { email } => AppError::Invalid(FieldErrors::field(
                FormField::Email,
                format!(
                    "{email} already has an Outreach account in another organisation. People sign in with their email alone, so it can belong to one organisation only."
                ),
            )),
            TeamError::Disabled { email } => refused(format!(
                "{email} is disabled: enable them first, then make a password reset link."
            )),
            TeamError::Internal(e) => AppError::internal(e),
        }
    }

    fn link_view(link: PendingLink, viewer: &SignedInUser, now: i64) -> LinkView {
        LinkView {
            id: link.id.0,
            expired: link.has_expired(now),
            created_by: link.created_by,
            created: viewer.local_time(link.created_at),
            expires: viewer.local_time(link.expires_at),
        }
    }

    pub fn new_link(
        state: &AppState,
        viewer: &SignedInUser,
        purpose: NewLinkPurpose,
        link: NewLink,
    ) -> NewLinkView {
        let path = match purpose {
            NewLinkPurpose::Invitation => crate::links::INVITATIONS,
            NewLinkPurpose::PasswordReset => crate::links::PASSWORD_RESETS,
        };
        NewLinkView {
            email: link.email,
            url: format!("{}{path}/{}", state.public_origin, link.secret.url_part()),
            expires: viewer.local_time(link.expires_at),
            purpose,
        }
    }

    pub async fn team_view(state: &AppState, user: &SignedInUser) -> Result<TeamView, AppError> {
        let team = team::fetch_team(&state.services.pool, user.organisation_id)
            .await
            .map_err(AppError::internal)?;
        let now = now();
        Ok(TeamView {
            members: team
                .members
                .into_iter()
                .map(|m| MemberView {
                    id: m.id.0,
                    is_you: m.id == user.user_id,
                    email: m.email,
                    role: viewer_role(m.role),
                    disabled: m.disabled,
                    joined: user.local_time(m.joined_at),
                    last_sign_in: m.last_sign_in_at.map(|at| user.local_time(at)),
                    reset_link: m.reset_link.map(|link| link_view(link, user, now)),
                })
                .collect(),
            invitations: team
                .invitations
                .into_iter()
                .map(|i| InvitationView {
                    email: i.email,
                    role: viewer_role(i.role),
                    link: link_view(i.link, user, now),
                })
                .collect(),
        })
    }
}

/// Every action of the page, so that each refreshes the list and any of
/// their errors shows in one place.
#[derive(Clone, Copy)]
struct TeamActions {
    invite: ServerAction<InviteMember>,
    revoke: ServerAction<RevokeLink>,
    change_role: ServerAction<ChangeMemberRole>,
    set_disabled: ServerAction<SetMemberDisabled>,
    remove: ServerAction<RemoveMember>,
    reset: ServerAction<ResetMemberPassword>,
}

impl TeamActions {
    fn versions(self) -> usize {
        self.invite.version().get()
            + self.revoke.version().get()
            + self.change_role.version().get()
            + self.set_disabled.version().get()
            + self.remove.version().get()
            + self.reset.version().get()
    }

    /// The error of whichever action failed last, other than the
    /// invitation form's (shown in the form).
    fn error(self) -> Option<AppError> {
        let err = |r: Option<Result<(), AppError>>| r.and_then(Result::err);
        err(self.revoke.value().get())
            .or_else(|| err(self.change_role.value().get()))
            .or_else(|| err(self.set_disabled.value().get()))
            .or_else(|| err(self.remove.value().get()))
            .or_else(|| self.reset.value().get().and_then(Result::err))
    }
}

#[component]
pub fn TeamPage() -> impl IntoView {
    let actions = TeamActions {
        invite: ServerAction::new(),
        revoke: ServerAction::new(),
        change_role: ServerAction::new(),
        set_disabled: ServerAction::new(),
        remove: ServerAction::new(),
        reset: ServerAction::new(),
    };
    let team_view = Resource::new(move || actions.versions(), |_| team());
    view! {
        <leptos_meta::Title text="Team"/>
        <InvitePanel actions/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match team_view.await {
                    Ok(team) => view! { <TeamPanel team actions/> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn InvitePanel(actions: TeamActions) -> impl IntoView {
    let invite = actions.invite;
    let error = move || invite.value().get().and_then(Result::err);
    let field_error = move |field| {
        Signal::derive(move || match error() {
            Some(AppError::Invalid(errors)) => errors.get(field),
            _ => None,
        })
    };
    let form_error = move || match error() {
        Some(AppError::Invalid(errors)) if errors.fields.is_empty() => Some(errors.summary()),
        Some(AppError::Invalid(_)) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let new_link = move || {
        invite
            .value()
            .get()
            .and_then(Result::ok)
            .or_else(|| actions.reset.value().get().and_then(Result::ok))
    };
    view! {
        <section class="panel" aria-labelledby="invite-title">
            <header class="panel-header">
                <div>
                    <h2 id="invite-title">"Invite someone"</h2>
                    <p class="muted">"Outreach makes a link for them to set their password with. It sends no email: you send the link."</p>
                </div>
            </header>
            <ActionForm action=invite attr:class="invite-form">
                <Field id="invite-email" label="Email" hint="The address they will sign in with." error=field_error(crate::error::FormField::Email)>
                    <input id="invite-email" name="email" type="email" required autocomplete="off"
                        aria-describedby="invite-email-hint invite-email-error"/>
                </Field>
                <div class="field">
                    <label for="invite-role">"Role"</label>
                    <select id="invite-role" name="role">
                        <option value="campaigner" selected>"Campaigner"</option>
                        <option value="org_admin">"Org Admin"</option>
                    </select>
                    <p class="hint muted small">"Campaigners create and run campaigns; Org Admins also manage settings and the team."</p>
                </div>
                {move || form_error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <button type="submit" class="button primary" disabled=move || invite.pending().get()>
                    {move || if invite.pending().get() { "Inviting…" } else { "Invite" }}
                </button>
            </ActionForm>
            {move || new_link().map(|link| view! { <NewLinkNotice link/> })}
        </section>
    }
    .into_any()
}

/// The link just made, once, with a way to copy it.
#[component]
fn NewLinkNotice(link: NewLinkView) -> impl IntoView {
    let (copied, set_copied) = signal(false);
    let url = link.url.clone();
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let _ = window().navigator().clipboard().write_text(&url);
            set_copied.set(true);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&url, set_copied);
    };
    let (label, what) = match link.purpose {
        NewLinkPurpose::Invitation => (
            "Invitation link",
            format!(
                "Send this link to {}: with it they set a password and join your organisation.",
                link.email
            ),
        ),
        NewLinkPurpose::PasswordReset => (
            "Password reset link",
            format!(
                "Send this link to {}: with it they set a new password, and their sessions end.",
                link.email
            ),
        ),
    };
    view! {
        <div class="callout new-link" role="status">
            <p>{what}" "{format!("It works once, until {}. It is shown only now: copy it before leaving the page.", link.expires)}</p>
            <div class="field">
                <label for="new-link">{label}</label>
                <div class="copy-row">
                    <input id="new-link" type="text" readonly value=link.url.clone() on:focus=|ev| {
                        #[cfg(feature = "hydrate")]
                        event_target::<web_sys::HtmlInputElement>(&ev).select();
                        #[cfg(not(feature = "hydrate"))]
                        let _ = ev;
                    }/>
                    <button type="button" class="button" on:click=copy>"Copy link"</button>
                </div>
                <p class="hint muted small" aria-live="polite">{move || if copied.get() { "Copied." } else { "" }}</p>
            </div>
        </div>
    }
}

#[component]
fn TeamPanel(team: TeamView, actions: TeamActions) -> impl IntoView {
    let query = use_query_map();
    let confirming_removal = move || {
        query
            .read()
            .get("remove")
            .and_then(|id| id.parse::<i64>().ok())
    };
    let members = team.members.clone();
    let removal =
        move || confirming_removal().and_then(|id| members.iter().find(|m| m.id == id).cloned());
    view! {
        <section class="panel" aria-labelledby="team-title">
            <header class="panel-header">
                <div>
                    <h2 id="team-title">"Team"</h2>
                    <p class="muted">"Everyone who can sign in to your organisation, and who has been invited. An organisation always keeps at least one active Org Admin."</p>
                </div>
            </header>
            {move || actions.error().map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
            {move || removal().map(|member| view! { <RemoveDialog member remove=actions.remove/> })}
            <div class="table-scroll" tabindex="0" role="region" aria-label="Team (scrolls sideways)">
                <table class="team">
                    <thead>
                        <tr>
                            <th scope="col">"Email"</th>
                            <th scope="col">"Role"</th>
                            <th scope="col">"State"</th>
                            <th scope="col">"Last sign-in"</th>
                            <th scope="col">"Actions"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {team.members.into_iter().map(|member| view! { <MemberRow member actions/> }).collect_view()}
                        {team.invitations.into_iter().map(|invitation| view! { <InvitationRow invitation actions/> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn MemberRow(member: MemberView, actions: TeamActions) -> impl IntoView {
    let MemberView {
        id,
        email,
        role,
        disabled,
        joined,
        last_sign_in,
        reset_link,
        is_you,
    } = member;
    let id_text = id.to_string();
    let state = if disabled {
        view! { <span class="badge warn">"Disabled"</span> }.into_any()
    } else {
        view! { <span class="badge ok">"Active"</span> }.into_any()
    };
    let other_role = match role {
        ViewerRole::OrgAdmin => ("campaigner", "Make Campaigner"),
        ViewerRole::Campaigner => ("org_admin", "Make Org Admin"),
    };
    let reset_status = reset_link.as_ref().map(|link| {
        let text = if link.expired {
            format!("Password reset link expired {}", link.expires)
        } else {
            format!("Password reset link open until {}", link.expires)
        };
        view! { <span class="muted small block">{text}</span> }
    });
    let reset_label = format!("Reset password of {email}");
    let reset_button = (!disabled).then(|| {
        let member = id_text.clone();
        view! {
            <ActionForm action=actions.reset attr:class="inline">
                <input type="hidden" name="member" value=member/>
                <button type="submit" class="button small" aria-label=reset_label>"Reset password"</button>
            </ActionForm>
        }
    });
    let revoke_label = format!("Revoke the password reset link of {email}");
    let revoke_button = reset_link.map(|link| {
        view! {
            <ActionForm action=actions.revoke attr:class="inline">
                <input type="hidden" name="link" value=link.id.to_string()/>
                <button type="submit" class="button small" aria-label=revoke_label>"Revoke link"</button>
            </ActionForm>
        }
    });
    let role_label = format!("{}: {email}", other_role.1);
    let (id_for_role, id_for_disable) = (id_text.clone(), id_text.clone());
    let remove_label = format!("Remove {email}");
    let (enable_or_disable, enable_or_disable_label) = if disabled {
        ("Enable", format!("Enable {email}"))
    } else {
        ("Disable", format!("Disable {email}"))
    };
    view! {
        <tr>
            <th scope="row">
                {email.clone()}
                {is_you.then(|| view! { <span class="muted small">" (you)"</span> })}
                <span class="muted small block">{format!("Joined {joined}")}</span>
            </th>
            <td>{role.label()}</td>
            <td>{state}{reset_status}</td>
            <td>{last_sign_in.unwrap_or_else(|| "Never".to_owned())}</td>
            <td><div class="row-actions">
                <ActionForm action=actions.change_role attr:class="inline">
                    <input type="hidden" name="member" value=id_for_role/>
                    <input type="hidden" name="role" value=other_role.0/>
                    <button type="submit" class="button small" aria-label=role_label>
                        {other_role.1}
                    </button>
                </ActionForm>
                <ActionForm action=actions.set_disabled attr:class="inline">
                    <input type="hidden" name="member" value=id_for_disable/>
                    <input type="hidden" name="disabled" value=(!disabled).to_string()/>
                    <button type="submit" class="button small" aria-label=enable_or_disable_label>{enable_or_disable}</button>
                </ActionForm>
                {reset_button}
                {revoke_button}
                <Form method="GET" action=PAGE attr:class="inline">
                    <input type="hidden" name="remove" value=id_text/>
                    <button type="submit" class="button small danger" aria-label=remove_label>"Remove"</button>
                </Form>
            </div></td>
        </tr>
    }
}

#[component]
fn InvitationRow(invitation: InvitationView, actions: TeamActions) -> impl IntoView {
    let InvitationView { email, role, link } = invitation;
    let (badge, until) = if link.expired {
        (
            view! { <span class="badge bad">"Invitation expired"</span> }.into_any(),
            format!("Expired {}", link.expires),
        )
    } else {
        (
            view! { <span class="badge warn">"Invited"</span> }.into_any(),
            format!("Link open until {}", link.expires),
        )
    };
    view! {
        <tr>
            <th scope="row">
                {email.clone()}
                <span class="muted small block">{format!("Invited by {} on {}", link.created_by, link.created)}</span>
            </th>
            <td>{role.label()}</td>
            <td>{badge}<span class="muted small block">{until}</span></td>
            <td>"Never"</td>
            <td><div class="row-actions">
                <ActionForm action=actions.revoke attr:class="inline">
                    <input type="hidden" name="link" value=link.id.to_string()/>
                    <button type="submit" class="button small" aria-label=format!("Revoke the invitation of {email}")>"Revoke"</button>
                </ActionForm>
            </div></td>
        </tr>
    }
}

/// `Remove`, confirmed: like `Disconnect Twilio`, a GET form opens it and
/// a plain post confirms it, so it works before the WASM loads.
#[component]
fn RemoveDialog(member: MemberView, remove: ServerAction<RemoveMember>) -> impl IntoView {
    let cancel = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if let Some(button) = cancel.get() {
            let _ = button.focus();
        }
    });
    let what = if member.is_you {
        "You will be signed out and cannot sign in again. ".to_owned()
    } else {
        format!(
            "{} will be signed out and cannot sign in again. ",
            member.email
        )
    };
    view! {
        <div class="dialog" role="alertdialog" aria-labelledby="remove-title" aria-describedby="remove-description">
            <h3 id="remove-title">{format!("Remove {}?", member.email)}</h3>
            <p id="remove-description">
                {what}
                "Campaigns they created stay, shown as created by a former member. To let them back later, invite them again."
            </p>
            <div class="form-actions">
                <ActionForm action=remove attr:class="inline">
                    <input type="hidden" name="member" value=member.id.to_string()/>
                    <button type="submit" class="button danger-filled" disabled=move || remove.pending().get()>{format!("Remove {}", member.email)}</button>
                </ActionForm>
                <Form method="GET" action=PAGE attr:class="inline">
                    <button type="submit" class="button" node_ref=cancel>"Cancel"</button>
                </Form>
            </div>
        </div>
    }
}
