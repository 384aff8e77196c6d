//! Validating a set of credentials with Twilio before anything is saved.

use crate::twilio::{AccountStatus, AccountType, TwilioClient, TwilioError};

use super::credentials::{AccountSid, AuthToken, MessagingServiceSid};

/// A complete set of credentials, as it would be saved.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub account_sid: AccountSid,
    pub auth_token: AuthToken,
    pub messaging_service_sid: Option<MessagingServiceSid>,
}

/// What Twilio said about credentials it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub account_type: Option<String>,
    pub trial: bool,
}

/// Why credentials were not accepted, per field, in words that say what to
/// do. `form` is for failures no field caused (Twilio unreachable); the
/// caller says what that meant (nothing saved, status unchanged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems {
    pub account_sid: Option<String>,
    pub auth_token: Option<String>,
    pub messaging_service_sid: Option<String>,
    pub form: Option<String>,
    /// True when Twilio itself could not answer: saved credentials are then
    /// neither confirmed nor disproved.
    pub inconclusive: bool,
}

impl Problems {
    /// One sentence for a status line.
    pub fn summary(&self) -> String {
        [
            &self.form,
            &self.auth_token,
            &self.account_sid,
            &self.messaging_service_sid,
        ]
        .into_iter()
        .flatten()
        .next()
        .cloned()
        .unwrap_or_else(|| "Twilio did not accept the credentials.".to_owned())
    }
}

pub const TRIAL_WARNING: &str = "This is a Twilio trial account: it can only send messages to phone numbers verified in your Twilio Console.";

/// Asks Twilio about the account and, if given, the Messaging Service. The
/// two calls run concurrently: saving takes as long as the slower one.
pub async fn validate_with_twilio(
    client: &TwilioClient,
    credentials: &Credentials,
) -> Result<Accepted, Problems> {
    let account = client.fetch_account(&credentials.account_sid, &credentials.auth_token);
    let service = async {
        match &credentials.messaging_service_sid {
            Some(mg) => Some(
                client
                    .fetch_messaging_service(&credentials.account_sid, &credentials.auth_token, mg)
                    .await,
            ),
            None => None,
        }
    };
    let (account, service) = tokio::join!(account, service);

    let mut problems = Problems::default();
    let account = match account {
        Ok(account) => account,
        Err(error) => {
            transport_or_credentials_problem(&error, &mut problems);
            return Err(problems);
        }
    };
    match &account.status {
        AccountStatus::Active => {}
        AccountStatus::Suspended => {
            problems.account_sid = Some(
                "This Twilio account is suspended, so it cannot send messages. Reactivate it in Twilio or use another account."
                    .to_owned(),
            )
        }
        AccountStatus::Closed => {
            problems.account_sid =
                Some("This Twilio account is closed. Use the credentials of an active account.".to_owned())
        }
        AccountStatus::Other(status) => {
            problems.account_sid = Some(format!("This Twilio account is not active (Twilio says: {status})."))
        }
    }
    if let (Some(mg), Some(service)) = (&credentials.messaging_service_sid, service) {
        match service {
            Ok(service) if service.account_sid == credentials.account_sid.as_str() => {}
            Ok(_) | Err(TwilioError::NotFound) => {
                problems.messaging_service_sid = Some(format!(
                    "Twilio has no Messaging Service {mg} on this account. Check the SID under Messaging → Services in your Twilio Console."
                ))
            }
            Err(TwilioError::Forbidden { .. }) => {
                problems.messaging_service_sid = Some(format!(
                    "This Account SID does not have permission to use Messaging Service {mg}."
                ))
            }
            Err(error) => transport_or_credentials_problem(&error, &mut problems),
        }
    }
    if problems != Problems::default() {
        return Err(problems);
    }
    let (account_type, trial) = match account.kind {
        AccountType::Trial => (Some("Trial".to_owned()), true),
        AccountType::Full => (Some("Full".to_owned()), false),
        AccountType::Other(other) => (Some(other).filter(|o| !o.is_empty()), false),
    };
    Ok(Accepted {
        account_type,
        trial,
    })
}

fn transport_or_credentials_problem(error: &TwilioError, problems: &mut Problems) {
    match error {
        TwilioError::CredentialsRejected => {
            problems.auth_token = Some(
                "Twilio did not accept this Auth Token for this Account SID: it is incorrect or has been rotated in Twilio. Copy the current one from Account Info in your Twilio Console."
                    .to_owned(),
            );
            problems.account_sid = Some(
                "Check that this Account SID and the Auth Token come from the same Twilio account."
                    .to_owned(),
            );
        }
        TwilioError::Unreachable(reason) => {
            problems.form = Some(format!("Twilio could not be reached ({reason})."));
            problems.inconclusive = true;
        }
        TwilioError::RateLimited => {
            problems.form = Some(
                "Twilio is receiving too many requests right now; try again in a minute."
                    .to_owned(),
            );
            problems.inconclusive = true;
        }
        TwilioError::NotFound | TwilioError::Forbidden { .. } => {
            problems.account_sid = Some(
                "Twilio does not let these credentials read this account. Check that the Account SID is the one shown under Account Info."
                    .to_owned(),
            );
        }
        TwilioError::Api {
            status,
            code,
            message,
        } => {
            problems.form = Some(format!(
                "Twilio answered with an error ({status}{}): {message}.",
                code.map(|c| format!(", code {c}")).unwrap_or_default()
            ));
            problems.inconclusive = *status >= 500;
        }
    }
}
