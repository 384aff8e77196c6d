//! Who is signed in: sign-in, sign-out and the checks every server function
//! makes before it does anything.

use std::fmt;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What the browser learns about the signed-in person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub email: String,
    pub role: ViewerRole,
    pub organisation: String,
    pub subscription: Subscription,
    /// The organisation's time zone: every time on the page is in it.
    pub time_zone: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ViewerRole {
    OrgAdmin,
    Campaigner,
}

impl ViewerRole {
    pub fn label(self) -> &'static str {
        match self {
            Self::OrgAdmin => "Org Admin",
            Self::Campaigner => "Campaigner",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Subscription {
    Active,
    Inactive,
    Requested { at: String, by: String },
}

/// A password, Auth Token or link secret on its way to the server. Server function
/// arguments are `Debug`; this keeps the secret out of anything that prints
/// them. It is never sent the other way.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretInput(String);

/// Typed (or, for a one-time link's secret, read from the address) in
/// the browser.
impl From<String> for SecretInput {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl SecretInput {
    #[cfg(feature = "ssr")]
    pub(crate) fn into_secret(self) -> secrecy::SecretString {
        secrecy::SecretString::from(self.0)
    }
}

impl fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretInput([REDACTED])")
    }
}

#[server(endpoint = "current_viewer")]
pub async fn current_viewer() -> Result<Viewer, AppError> {
    let user = ssr::require_user().await?;
    ssr::viewer(&user).await
}

/// Where an open page asks whether it is still signed in (see
/// `layout::SignedOutWatcher`); the session middleware does not count the
/// question as use of the session.
pub const SESSION_STATUS_PATH: &str = "/api/session_status";

#[server(endpoint = "session_status")]
pub async fn session_status() -> Result<(), AppError> {
    ssr::require_user().await.map(|_| ())
}

#[server(endpoint = "sign_in")]
pub async fn sign_in(email: String, password: SecretInput) -> Result<(), AppError> {
    use domain::sign_in::SignInError;

    let state = ssr::state()?;
    let session = ssr::request_session().await?;
    let outcome = domain::sign_in::sign_in(
        &state.services.pool,
        &email,
        password.into_secret(),
        domain::sign_in::Client {
            address: &session.client,
            user_agent: &session.user_agent,
        },
        session.token.as_ref(),
        domain::clock::now(),
    )
    .await;
    match outcome {
        Ok(token) => {
            ssr::set_session_cookie(&state, Some(&token));
            leptos_axum::redirect(crate::routes::HOME);
            Ok(())
        }
        Err(SignInError::InvalidCredentials) => Err(AppError::InvalidCredentials),
        Err(SignInError::Throttled { retry_after_secs }) => Err(AppError::TooManyAttempts {
            minutes: (retry_after_secs + 59) / 60,
        }),
        Err(SignInError::TooLong) => {
            Err(AppError::Invalid(crate::error::FieldErrors::form(format!(
                "An email address has at most {} characters, and a password at most {}.",
                domain::limits::MAX_EMAIL_CHARS,
                domain::limits::MAX_PASSWORD_CHARS
            ))))
        }
        Err(SignInError::Busy) => Err(AppError::Busy),
        Err(SignInError::Internal(e)) => Err(AppError::internal(e)),
    }
}

#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    let state = ssr::state()?;
    let session = ssr::request_session().await?;
    if let Some(token) = &session.token {
        domain::sign_in::sign_out(&state.services.pool, token)
            .await
            .map_err(AppError::internal)?;
    }
    ssr::set_session_cookie(&state, None);
    leptos_axum::redirect(crate::routes::SIGN_IN);
    Ok(())
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use axum::{
        Extension,
        http::{HeaderValue, header::SET_COOKIE},
    };
    use domain::{
        organisations::{Organisation, SubscriptionState},
        sign_in::{SessionToken, SignedInUser},
        users::Role,
    };
    use leptos::prelude::*;

    use super::{Subscription, Viewer, ViewerRole};
    use crate::{error::AppError, state::AppState};

    pub const SESSION_COOKIE: &str = "outreach_session";
    /// Over https: the `__Host-` prefix makes browsers refuse the cookie
    /// unless it is `Secure`, for this exact host and `Path=/`, so no
    /// subdomain or plain-http page can plant or overwrite it.
    pub const SECURE_SESSION_COOKIE: &str = "__Host-outreach_session";

    fn cookie_name(secure: bool) -> &'static str {
        if secure {
            SECURE_SESSION_COOKIE
        } else {
            SESSION_COOKIE
        }
    }

    /// The session the request carried, resolved once per request by the
    /// server's session middleware, and the address the request came from.
    #[derive(Debug, Clone, Default)]
    pub struct RequestSession {
        pub token: Option<SessionToken>,
        pub user: Option<SignedInUser>,
        /// The client's address (behind a trusted proxy, the one it reported).
        pub client: String,
        /// Its `User-Agent`, to name the browser of a session it starts.
        pub user_agent: String,
    }

    /// The session token in a `Cookie` header, if there is one.
    pub fn session_token_from_cookies(header: &str, secure: bool) -> Option<SessionToken> {
        let wanted = cookie_name(secure);
        header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, value)| *name == wanted && !value.is_empty())
            .map(|(_, value)| SessionToken::from_cookie(value))
    }

    /// `Some` sets a new session cookie, `None` clears it.
    pub fn session_cookie(token: Option<&SessionToken>, secure: bool) -> String {
        let name = cookie_name(secure);
        let secure = if secure { "; Secure" } else { "" };
        match token {
            Some(token) => format!(
                "{name}={}; Path=/; HttpOnly; SameSite=Lax{secure}",
                token.cookie_value()
            ),
            None => format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
        }
    }

    pub fn state() -> Result<AppState, AppError> {
        use_context::<AppState>().ok_or_else(|| {
            AppError::internal(anyhow::anyhow!(
                "AppState is missing from the server context"
            ))
        })
    }

    pub async fn request_session() -> Result<RequestSession, AppError> {
        leptos_axum::extract::<Extension<RequestSession>>()
            .await
            .map(|Extension(session)| session)
            .map_err(|e| {
                AppError::internal(anyhow::anyhow!("the session middleware did not run: {e}"))
            })
    }

    pub(crate) fn set_session_cookie(state: &AppState, token: Option<&SessionToken>) {
        let cookie = session_cookie(token, state.secure_cookies);
        if let (Some(response), Ok(value)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            HeaderValue::from_str(&cookie),
        ) {
            response.append_header(SET_COOKIE, value);
        }
    }

    /// Every server function starts here (or with [`require_org_admin`]).
    pub async fn require_user() -> Result<SignedInUser, AppError> {
        request_session().await?.user.ok_or(AppError::NotSignedIn)
    }

    pub async fn require_org_admin() -> Result<SignedInUser, AppError> {
        let user = require_user().await?;
        match user.role {
            Role::OrgAdmin => Ok(user),
            Role::Campaigner => Err(AppError::NotOrgAdmin),
        }
    }

    /// A signed-in member of an organisation whose Outreach subscription is
    /// active, with that organisation: every server function that reads or
    /// changes Outreach data starts here (or with
    /// [`require_subscribed_org_admin`]).
    pub async fn require_subscribed_member()
    -> Result<(SignedInUser, AppState, Organisation), AppError> {
        subscribed(require_user().await?).await
    }

    pub async fn require_subscribed_org_admin()
    -> Result<(SignedInUser, AppState, Organisation), AppError> {
        subscribed(require_org_admin().await?).await
    }

    async fn subscribed(
        user: SignedInUser,
    ) -> Result<(SignedInUser, AppState, Organisation), AppError> {
        let state = state()?;
        let organisation =
            domain::organisations::fetch_organisation(&state.services.pool, user.organisation_id)
                .await
                .map_err(AppError::internal)?;
        if organisation.subscription != SubscriptionState::Active {
            return Err(AppError::SubscriptionRequired);
        }
        Ok((user, state, organisation))
    }

    pub(crate) async fn viewer(user: &SignedInUser) -> Result<Viewer, AppError> {
        let state = state()?;
        let organisation =
            domain::organisations::fetch_organisation(&state.services.pool, user.organisation_id)
                .await
                .map_err(AppError::internal)?;
        Ok(Viewer {
            email: user.email.clone(),
            role: match user.role {
                Role::OrgAdmin => ViewerRole::OrgAdmin,
                Role::Campaigner => ViewerRole::Campaigner,
            },
            organisation: organisation.name.clone(),
            subscription: subscription_view(&organisation),
            time_zone: organisation.time_zone.clone(),
        })
    }

    pub(crate) fn subscription_view(
        organisation: &domain::organisations::Organisation,
    ) -> Subscription {
        match organisation.subscription {
            SubscriptionState::Active => Subscription::Active,
            SubscriptionState::Inactive => Subscription::Inactive,
            SubscriptionState::Requested => Subscription::Requested {
                at: organisation
                    .access_requested_at
                    .map(|at| domain::clock::format_in(at, &organisation.time_zone))
                    .unwrap_or_else(|| "an unknown time".to_owned()),
                by: organisation.access_requested_by.clone().unwrap_or_default(),
            },
        }
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::ssr::{session_cookie, session_token_from_cookies};

    #[test]
    fn the_session_token_is_found_among_other_cookies() {
        let token =
            session_token_from_cookies("theme=dark; outreach_session=abc123; other=1", false);
        assert_eq!(
            token.map(|t| t.cookie_value().to_owned()),
            Some("abc123".to_owned())
        );
        assert!(session_token_from_cookies("theme=dark", false).is_none());
        assert!(session_token_from_cookies("outreach_session=", false).is_none());
        assert!(session_token_from_cookies("xoutreach_session=abc", false).is_none());
    }

    #[test]
    fn over_https_only_the_host_prefixed_cookie_counts() {
        assert!(session_token_from_cookies("outreach_session=abc", true).is_none());
        let token = session_token_from_cookies("__Host-outreach_session=abc", true).unwrap();
        assert_eq!(token.cookie_value(), "abc");
    }

    #[test]
    fn session_cookies_are_http_only_and_lax_and_host_prefixed_and_secure_over_https() {
        let token = session_token_from_cookies("outreach_session=abc", false).unwrap();
        assert_eq!(
            session_cookie(Some(&token), false),
            "outreach_session=abc; Path=/; HttpOnly; SameSite=Lax"
        );
        assert_eq!(
            session_cookie(Some(&token), true),
            "__Host-outreach_session=abc; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(session_cookie(None, false).contains("Max-Age=0"));
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let password: super::SecretInput = serde_json::from_str("\"hunter2 hunter2\"").unwrap();
        assert_eq!(format!("{password:?}"), "SecretInput([REDACTED])");
    }
}
