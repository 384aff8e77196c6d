//! Outreach > Account: everyone's own password and sessions. Open to every
//! signed-in person, whatever their role or their organisation's
//! subscription.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    auth::SecretInput,
    error::{AppError, FormField},
    form::Field,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub email: String,
    pub sessions: Vec<SessionView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: String,
    pub browser: String,
    pub user_agent: String,
    pub signed_in: String,
    pub last_seen: String,
    pub current: bool,
}

#[server(endpoint = "account")]
pub async fn account() -> Result<AccountView, AppError> {
    use domain::{account, clock};

    let user = crate::auth::ssr::require_user().await?;
    let state = crate::auth::ssr::state()?;
    let session = crate::auth::ssr::request_session().await?;
    let token = session.token.ok_or(AppError::NotSignedIn)?;
    let sessions = account::list_sessions(
        &state.services.pool,
        &user,
        &token,
        state.session_idle_secs,
        clock::now(),
    )
    .await
    .map_err(AppError::internal)?;
    Ok(AccountView {
        email: user.email.clone(),
        sessions: sessions
            .into_iter()
            .map(|s| SessionView {
                browser: account::describe_browser(&s.user_agent),
                id: s.id,
                user_agent: s.user_agent,
                signed_in: user.local_time(s.signed_in_at),
                last_seen: user.local_time(s.last_seen_at),
                current: s.current,
            })
            .collect(),
    })
}

/// Returns how many other sessions ended.
#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: SecretInput,
    new_password: SecretInput,
    confirm_password: SecretInput,
) -> Result<u64, AppError> {
    use crate::error::FieldErrors;
    use domain::account::{self, ChangePasswordError};

    let user = crate::auth::ssr::require_user().await?;
    let state = crate::auth::ssr::state()?;
    let session = crate::auth::ssr::request_session().await?;
    let token = session.token.ok_or(AppError::NotSignedIn)?;
    let new = crate::links::confirmed_password(new_password, confirm_password)?;
    let outcome = account::change_password(
        &state.services.pool,
        &user,
        current_password.into_secret(),
        new,
        &token,
        &session.client,
        domain::clock::now(),
    )
    .await;
    match outcome {
        Ok(ended) => Ok(ended),
        Err(ChangePasswordError::WrongCurrentPassword) => {
            Err(AppError::Invalid(FieldErrors::field(
                FormField::CurrentPassword,
                "This is not your current password.",
            )))
        }
        Err(ChangePasswordError::Weak(weak)) => Err(AppError::Invalid(FieldErrors::field(
            FormField::NewPassword,
            crate::links::weak_password_sentence(&weak),
        ))),
        Err(ChangePasswordError::Throttled { retry_after_secs }) => {
            Err(AppError::TooManyAttempts {
                minutes: (retry_after_secs + 59) / 60,
            })
        }
        Err(ChangePasswordError::Busy) => Err(AppError::Busy),
        Err(ChangePasswordError::Internal(e)) => Err(AppError::internal(e)),
    }
}

#[server(endpoint = "end_session")]
pub async fn end_session(session: String) -> Result<(), AppError> {
    let user = crate::auth::ssr::require_user().await?;
    let state = crate::auth::ssr::state()?;
    if domain::account::end_session(&state.services.pool, &user, &session)
        .await
        .map_err(AppError::internal)?
    {
        Ok(())
    } else {
        Err(AppError::NoSuchMember)
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let end = ServerAction::<EndSession>::new();
    let overview = Resource::new(
        move || (change.version().get(), end.version().get()),
        |_| account(),
    );
    view! {
        <leptos_meta::Title text="Account"/>
        <div class="page-heading">
            <h1>"Account"</h1>
        </div>
        <PasswordPanel change/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(account) => view! { <SessionsPanel account end/> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn PasswordPanel(change: ServerAction<ChangePassword>) -> impl IntoView {
    let error = move || change.value().get().and_then(Result::err);
    let field_error = move |field| {
        Signal::derive(move || match error() {
            Some(AppError::Invalid(errors)) => errors.get(field),
            _ => None,
        })
    };
    let other_error = move || match error() {
        Some(AppError::Invalid(_)) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let done = move || {
        change
            .value()
            .get()
            .and_then(Result::ok)
            .map(|ended| match ended {
                0 => "Your password was changed.".to_owned(),
                1 => "Your password was changed, and your 1 other session was ended.".to_owned(),
                n => format!("Your password was changed, and your {n} other sessions were ended."),
            })
    };
    view! {
        <section class="panel" aria-labelledby="password-title">
            <header class="panel-header">
                <div>
                    <h2 id="password-title">"Password"</h2>
                    <p class="muted">"Changing it signs you out everywhere else."</p>
                </div>
            </header>
            {move || done().map(|text| view! { <p class="confirmation" role="status">{text}</p> })}
            <ActionForm action=change>
                <Field id="current-password" label="Current password" hint="" error=field_error(FormField::CurrentPassword)>
                    <input id="current-password" name="current_password" type="password" autocomplete="current-password" required
                        aria-describedby="current-password-hint current-password-error"/>
                </Field>
                <Field id="new-password" label="New password" hint="At least 12 characters. A few unrelated words are long and easy to remember." error=field_error(FormField::NewPassword)>
                    <input id="new-password" name="new_password" type="password" autocomplete="new-password" required minlength="12"
                        aria-describedby="new-password-hint new-password-error"/>
                </Field>
                <Field id="confirm-password" label="Confirm new password" hint="" error=field_error(FormField::ConfirmPassword)>
                    <input id="confirm-password" name="confirm_password" type="password" autocomplete="new-password" required
                        aria-describedby="confirm-password-hint confirm-password-error"/>
                </Field>
                {move || other_error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <button type="submit" class="button primary" disabled=move || change.pending().get()>
                    {move || if change.pending().get() { "Changing…" } else { "Change password" }}
                </button>
            </ActionForm>
        </section>
    }
}

#[component]
fn SessionsPanel(account: AccountView, end: ServerAction<EndSession>) -> impl IntoView {
    let error = move || end.value().get().and_then(Result::err);
    view! {
        <section class="panel" aria-labelledby="sessions-title">
            <header class="panel-header">
                <div>
                    <h2 id="sessions-title">"Sessions"</h2>
                    <p class="muted">{format!("Where {} is signed in. End any session you do not recognise, then change your password.", account.email)}</p>
                </div>
            </header>
            {move || error().map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
            <div class="table-scroll" tabindex="0" role="region" aria-label="Sessions (scrolls sideways)">
                <table>
                    <thead>
                        <tr>
                            <th scope="col">"Browser"</th>
                            <th scope="col">"Signed in"</th>
                            <th scope="col">"Last seen"</th>
                            <th scope="col">"Actions"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {account.sessions.into_iter().map(|s| view! {
                            <tr>
                                <th scope="row" title=s.user_agent.clone()>
                                    {s.browser.clone()}
                                    {s.current.then(|| view! { " " <span class="badge ok">"This session"</span> })}
                                </th>
                                <td>{s.signed_in.clone()}</td>
                                <td>{s.last_seen.clone()}</td>
                                <td>
                                    {if s.current {
                                        view! { <span class="muted small">"Use Sign out to end it"</span> }.into_any()
                                    } else {
                                        view! {
                                            <ActionForm action=end attr:class="inline">
                                                <input type="hidden" name="session" value=s.id.clone()/>
                                                <button type="submit" class="button small" aria-label=format!("End session: {}, last seen {}", s.browser, s.last_seen)>"End session"</button>
                                            </ActionForm>
                                        }.into_any()
                                    }}
                                </td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}
