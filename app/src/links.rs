//! The pages behind one-time links an Org Admin hands out: an invitation
//! (`/invitations/{secret}`) and a password reset
//! (`/password-resets/{secret}`). Open without signing in; the person sets
//! a password and is signed in. The secret is never logged (the request
//! log shows these paths without it).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::{
    auth::{SecretInput, ViewerRole},
    error::{AppError, FormField},
    form::Field,
};

pub const INVITATIONS: &str = "/invitations";
pub const PASSWORD_RESETS: &str = "/password-resets";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkKind {
    Invitation,
    PasswordReset,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkDetailsView {
    pub kind: LinkKind,
    pub email: String,
    pub organisation: String,
    pub role: Option<ViewerRole>,
}

#[server(endpoint = "link_details")]
pub async fn link_details(secret: SecretInput) -> Result<LinkDetailsView, AppError> {
    use domain::team::{self, LinkPurpose, LinkSecret};
    use secrecy::ExposeSecret;

    let state = crate::auth::ssr::state()?;
    let secret = LinkSecret::from_url_part(secret.into_secret().expose_secret());
    let details = team::inspect_link(&state.services.pool, &secret, domain::clock::now())
        .await
        .map_err(ssr::link_error)?;
    Ok(LinkDetailsView {
        kind: match details.purpose {
            LinkPurpose::Invitation => LinkKind::Invitation,
            LinkPurpose::PasswordReset => LinkKind::PasswordReset,
        },
        email: details.email,
        organisation: details.organisation,
        role: details.role.map(crate::settings::team::ssr::viewer_role),
    })
}

/// Sets the password the link is for and signs its person in.
#[server(endpoint = "use_link")]
pub async fn use_link(
    secret: SecretInput,
    new_password: SecretInput,
    confirm_password: SecretInput,
) -> Result<(), AppError> {
    use domain::team::{self, LinkSecret};
    use secrecy::ExposeSecret;

    let state = crate::auth::ssr::state()?;
    let session = crate::auth::ssr::request_session().await?;
    let secret = LinkSecret::from_url_part(secret.into_secret().expose_secret());
    let password = confirmed_password(new_password, confirm_password)?;
    let token = team::use_link(
        &state.services.pool,
        &secret,
        password,
        &session.user_agent,
        session.token.as_ref(),
        domain::clock::now(),
    )
    .await
    .map_err(ssr::link_error)?;
    crate::auth::ssr::set_session_cookie(&state, Some(&token));
    leptos_axum::redirect(crate::routes::HOME);
    Ok(())
}

/// The new password, when it was typed the same twice.
#[cfg(feature = "ssr")]
pub(crate) fn confirmed_password(
    new_password: SecretInput,
    confirm_password: SecretInput,
) -> Result<secrecy::SecretString, AppError> {
    use secrecy::ExposeSecret;

    let password = new_password.into_secret();
    if password.expose_secret() != confirm_password.into_secret().expose_secret() {
        return Err(AppError::Invalid(crate::error::FieldErrors::field(
            FormField::ConfirmPassword,
            "The two new passwords are not the same. Type the new password again in both fields.",
        )));
    }
    Ok(password)
}

#[cfg(feature = "ssr")]
pub(crate) fn weak_password_sentence(weak: &domain::users::WeakPassword) -> String {
    use domain::users::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, WeakPassword};
    match weak {
        WeakPassword::TooShort => {
            format!("Use at least {MIN_PASSWORD_CHARS} characters: a few unrelated words are long and easy to remember.")
        }
        WeakPassword::TooLong => format!("Use at most {MAX_PASSWORD_CHARS} characters."),
        WeakPassword::Common => "This password is on the list of common passwords that attackers try first. Choose another: a few unrelated words are long and easy to remember.".to_owned(),
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use domain::team::LinkError;

    use crate::error::{AppError, FieldErrors, FormField};

    pub fn link_error(error: LinkError) -> AppError {
        let form = |message: String| AppError::Invalid(FieldErrors::form(message));
        match error {
            LinkError::Unknown => form(
                "This link does not work. Check that it was copied in full, or ask an Org Admin of your organisation for a new one.".to_owned(),
            ),
            LinkError::Expired { organisation } => form(format!(
                "This link has expired: links work for 7 days. Ask an Org Admin of {organisation} for a new one."
            )),
            LinkError::Used => form(
                "This link has already been used: it works once. If you set your password with it, sign in.".to_owned(),
            ),
            LinkError::Revoked { organisation } => form(format!(
                "This link was revoked by an Org Admin of {organisation}. Ask them for a new one."
            )),
            LinkError::EmailTaken { email } => form(format!(
                "{email} already has an Outreach account, so this invitation cannot be used. Sign in with that account."
            )),
            LinkError::Disabled { email } => form(format!(
                "The account of {email} is disabled. Ask an Org Admin to enable it."
            )),
            LinkError::Weak(weak) => AppError::Invalid(FieldErrors::field(
                FormField::NewPassword,
                super::weak_password_sentence(&weak),
            )),
            LinkError::Internal(e) => AppError::internal(e),
        }
    }
}

/// Both kinds of link: what the link is for decides the words.
#[component]
pub fn LinkPage() -> impl IntoView {
    let params = use_params_map();
    let secret = move || params.read().get("secret").unwrap_or_default();
    let details = Resource::new(secret, |secret| link_details(secret.into()));
    view! {
        <leptos_meta::Title text="Set your password"/>
        <main class="standalone">
            <section class="panel sign-in" aria-labelledby="link-title">
                <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match details.await {
                            Ok(details) => view! { <SetPasswordForm details secret=secret()/> }.into_any(),
                            Err(e) => view! {
                                <h1 id="link-title">"This link does not work"</h1>
                                <p class="error" role="alert">{e.to_string()}</p>
                                <p><a href=crate::routes::SIGN_IN>"Go to sign in"</a></p>
                            }.into_any(),
                        }
                    })}
                </Suspense>
            </section>
        </main>
    }
}

#[component]
fn SetPasswordForm(details: LinkDetailsView, secret: String) -> impl IntoView {
    let action = ServerAction::<UseLink>::new();
    let error = move || action.value().get().and_then(Result::err);
    let field_error = move |field| {
        Signal::derive(move || match error() {
            Some(AppError::Invalid(errors)) => errors.get(field),
            _ => None,
        })
    };
    let form_error = move || match error() {
        Some(AppError::Invalid(errors)) => errors.form,
        Some(other) => Some(other.to_string()),
        None => None,
    };
    let (title, intro, button) = match details.kind {
        LinkKind::Invitation => (
            format!("Join {} on Outreach", details.organisation),
            format!(
                "You were invited as {} with the email {}. Choose a password to finish; you sign in with this email and password from now on.",
                details.role.map(ViewerRole::label).unwrap_or("a member"),
                details.email
            ),
            "Join Outreach",
        ),
        LinkKind::PasswordReset => (
            "Set a new password".to_owned(),
            format!(
                "For {} in {}. Your other sessions end when it is set.",
                details.email, details.organisation
            ),
            "Set password",
        ),
    };
    view! {
        <h1 id="link-title">{title}</h1>
        <p>{intro}</p>
        <ActionForm action>
            <input type="hidden" name="secret" value=secret/>
            // For password managers: the account the password is for.
            <input type="email" class="visually-hidden" tabindex="-1" aria-hidden="true" readonly autocomplete="username" value=details.email.clone()/>
            <Field id="new-password" label="New password" hint="At least 12 characters. A few unrelated words are long and easy to remember." error=field_error(FormField::NewPassword)>
                <input id="new-password" name="new_password" type="password" autocomplete="new-password" required minlength="12"
                    aria-describedby="new-password-hint new-password-error"/>
            </Field>
            <Field id="confirm-password" label="Confirm new password" hint="" error=field_error(FormField::ConfirmPassword)>
                <input id="confirm-password" name="confirm_password" type="password" autocomplete="new-password" required
                    aria-describedby="confirm-password-hint confirm-password-error"/>
            </Field>
            {move || form_error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <button type="submit" class="button primary" disabled=move || action.pending().get()>
                {move || if action.pending().get() { "Saving…" } else { button }}
            </button>
        </ActionForm>
    }
}
