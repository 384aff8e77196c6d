//! The errors server functions return to the browser: each one a fixed,
//! helpful sentence. Internal causes go to the log, never over the wire.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("You are not signed in, or your session has ended. Sign in again.")]
    NotSignedIn,
    #[error("You need to be an Org Admin to do this.")]
    NotOrgAdmin,
    #[error("The email or password is incorrect.")]
    InvalidCredentials,
    #[error(
        "Too many failed sign-in attempts for this email. Try again in {minutes} minute{}.",
        if *minutes == 1 { "" } else { "s" }
    )]
    TooManyAttempts { minutes: i64 },
    #[error("Outreach needs an active subscription for your organisation.")]
    SubscriptionRequired,
    /// Field by field: what is wrong with what was typed, or what Twilio said.
    #[error("{}", .0.summary())]
    Invalid(FieldErrors),
    #[error(
        "Someone else changed these settings since you opened the form. Nothing was saved: reload the page to see their change, then edit again."
    )]
    SettingsChanged,
    #[error("Something went wrong on our side and nothing was changed. Try again in a moment.")]
    Internal,
    /// The request itself failed (network, or a malformed request).
    #[error("The request could not be completed: {0}")]
    Request(String),
}

/// Errors to show under form fields; `form` is for the form as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldErrors {
    pub account_sid: Option<String>,
    pub auth_token: Option<String>,
    pub messaging_service_sid: Option<String>,
    pub form: Option<String>,
}

impl FieldErrors {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    pub fn summary(&self) -> String {
        match &self.form {
            Some(form) => form.clone(),
            None => "Nothing was saved: correct the fields marked below.".to_owned(),
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Request(value.to_string())
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// Logs an unexpected failure with its cause chain, once, at the
    /// boundary, and hides it from the browser.
    pub fn internal(error: anyhow::Error) -> Self {
        tracing::error!(error = ?error, "a server function failed");
        Self::Internal
    }
}

#[cfg(test)]
mod tests {
    use super::AppError;

    #[test]
    fn the_throttle_message_counts_minutes_in_words() {
        assert_eq!(
            AppError::TooManyAttempts { minutes: 1 }.to_string(),
            "Too many failed sign-in attempts for this email. Try again in 1 minute."
        );
        assert_eq!(
            AppError::TooManyAttempts { minutes: 15 }.to_string(),
            "Too many failed sign-in attempts for this email. Try again in 15 minutes."
        );
    }
}
