//! The errors server functions return to the browser: each one a fixed,
//! helpful sentence with the HTTP status that says what happened. Internal
//! causes go to the log, never over the wire.

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
        "Too many failed sign-in attempts. Try again in {minutes} minute{}.",
        if *minutes == 1 { "" } else { "s" }
    )]
    TooManyAttempts { minutes: i64 },
    #[error(
        "Your organisation has asked Twilio to check credentials too often. Try again in {minutes} minute{}.",
        if *minutes == 1 { "" } else { "s" }
    )]
    TooManyTwilioChecks { minutes: i64 },
    #[error("Outreach needs an active subscription for your organisation.")]
    SubscriptionRequired,
    /// Field by field: what is wrong with what was typed, or what Twilio said.
    #[error("{}", .0.summary())]
    Invalid(FieldErrors),
    /// Not in the signed-in person's organisation (or not at all).
    #[error("There is no such campaign in your organisation.")]
    NotFound,
    /// A person, invitation or session that is not (or no longer) the
    /// signed-in person's organisation's, or theirs.
    #[error(
        "There is no such person, link or session here. Reload the page to see the current list."
    )]
    NoSuchMember,
    #[error("{0}")]
    TooLarge(Limit),
    #[error(
        "Someone else changed these settings since you opened the form. Nothing was saved: reload the page to see their change, then edit again."
    )]
    SettingsChanged,
    #[error(
        "Outreach is busy with other work right now and nothing was changed. Try again in a moment."
    )]
    Busy,
    #[error("Something went wrong on our side and nothing was changed. Try again in a moment.")]
    Internal,
    /// The request itself failed (network, or a malformed request).
    #[error("{}", .0.sentence())]
    Request(RequestProblem),
}

/// What was too large, in a sentence that names the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Limit {
    /// The request body, in bytes.
    Request { max_bytes: u64 },
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Request { max_bytes } => write!(
                f,
                "What was sent is larger than Outreach accepts here ({}). Nothing was changed.",
                bytes_in_words(*max_bytes)
            ),
        }
    }
}

/// "64 MB", "8 KB".
pub fn bytes_in_words(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * KB;
    if bytes >= MB && bytes.is_multiple_of(MB) {
        format!("{} MB", bytes / MB)
    } else if bytes >= KB && bytes.is_multiple_of(KB) {
        format!("{} KB", bytes / KB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Why a request never reached a server function. Fixed sentences only:
/// nothing from the request (or from a crafted link) is repeated back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RequestProblem {
    /// The browser could not reach Outreach.
    Unreachable,
    /// The request or the answer could not be read.
    Malformed,
}

impl RequestProblem {
    fn sentence(self) -> &'static str {
        match self {
            Self::Unreachable => {
                "Outreach could not be reached. Check your connection, then try again."
            }
            Self::Malformed => {
                "The request could not be understood. Reload the page, then try again."
            }
        }
    }
}

impl AppError {
    /// The HTTP status a server function answers with.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotSignedIn | Self::InvalidCredentials => 401,
            Self::NotOrgAdmin | Self::SubscriptionRequired => 403,
            Self::NotFound | Self::NoSuchMember => 404,
            Self::SettingsChanged => 409,
            Self::TooLarge(_) => 413,
            Self::Invalid(_) => 422,
            Self::TooManyAttempts { .. } | Self::TooManyTwilioChecks { .. } => 429,
            Self::Request(_) => 400,
            Self::Busy => 503,
            Self::Internal => 500,
        }
    }
}

/// A field of one of Outreach's forms, named as the form names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormField {
    AccountSid,
    AuthToken,
    MessagingServiceSid,
    CampaignName,
    Audience,
    Message,
    Email,
    Password,
    CurrentPassword,
    NewPassword,
    ConfirmPassword,
    Phone,
    OptOutNumbers,
    AskedAgain,
    TimeZone,
    FailureGuardPercent,
    FailureGuardMessages,
    ScheduleDate,
    ScheduleTime,
    TestNumbers,
    ValidityHours,
    QuietHoursFrom,
    QuietHoursUntil,
    ContactsFile,
    ListName,
}

/// Errors to show under form fields, keyed by field; `form` is for the
/// form as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldErrors {
    pub fields: std::collections::BTreeMap<FormField, String>,
    pub form: Option<String>,
}

impl FieldErrors {
    /// One field's error.
    pub fn field(field: FormField, message: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.set(field, message);
        errors
    }

    /// An error about the form as a whole.
    pub fn form(message: impl Into<String>) -> Self {
        Self {
            form: Some(message.into()),
            ..Self::default()
        }
    }

    pub fn set(&mut self, field: FormField, message: impl Into<String>) {
        self.fields.insert(field, message.into());
    }

    /// The error under `field`, if any.
    pub fn get(&self, field: FormField) -> Option<String> {
        self.fields.get(&field).cloned()
    }

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
        Self::Request(match value {
            ServerFnErrorErr::Request(_) => RequestProblem::Unreachable,
            _ => RequestProblem::Malformed,
        })
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
    use super::*;

    #[test]
    fn the_throttle_message_counts_minutes_in_words() {
        assert_eq!(
            AppError::TooManyAttempts { minutes: 1 }.to_string(),
            "Too many failed sign-in attempts. Try again in 1 minute."
        );
        assert_eq!(
            AppError::TooManyAttempts { minutes: 15 }.to_string(),
            "Too many failed sign-in attempts. Try again in 15 minutes."
        );
    }

    #[test]
    fn each_error_answers_with_the_status_that_says_what_happened() {
        let table = [
            (AppError::NotSignedIn, 401),
            (AppError::NotOrgAdmin, 403),
            (AppError::SubscriptionRequired, 403),
            (AppError::NotFound, 404),
            (AppError::TooLarge(Limit::Request { max_bytes: 8192 }), 413),
            (AppError::Invalid(FieldErrors::default()), 422),
            (AppError::TooManyAttempts { minutes: 3 }, 429),
            (AppError::TooManyTwilioChecks { minutes: 3 }, 429),
            (AppError::Busy, 503),
            (AppError::Internal, 500),
        ];
        for (error, status) in table {
            assert_eq!(error.status(), status, "{error:?}");
        }
    }

    #[test]
    fn a_request_problem_repeats_nothing_it_was_given() {
        let error = AppError::from_server_fn_error(ServerFnErrorErr::Deserialization(
            "<script>call +1 555 0100</script>".into(),
        ));
        assert!(!error.to_string().contains("555"));
        assert_eq!(
            AppError::TooLarge(Limit::Request {
                max_bytes: 64 * 1024 * 1024
            })
            .to_string(),
            "What was sent is larger than Outreach accepts here (64 MB). Nothing was changed."
        );
    }
}
