//! Validating a set of credentials with Twilio before anything is saved.
//!
//! Two steps: asking Twilio ([`validate_with_twilio`]) yields typed
//! [`Finding`]s; [`describe`] words them for the form the Org Admin is
//! looking at. A finding about a value the admin typed goes under its
//! field; one about a value that was already saved (the Messaging Service
//! SID, when only the Auth Token is being replaced) is explained in the
//! open section, naming that saved value and what to do about it.

use crate::twilio::{AccountStatus, AccountType, TwilioClient, TwilioError};

use crate::twilio::credentials::{AccountSid, AuthToken, MessagingServiceSid};

/// A complete set of credentials, as it would be saved.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub account_sid: AccountSid,
    pub auth_token: AuthToken,
    pub messaging_service_sid: Option<MessagingServiceSid>,
}

/// Which of the values being validated the Org Admin typed just now; the
/// others come from the saved integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Typed {
    /// The Account SID and Auth Token.
    pub account: bool,
    pub messaging_service: bool,
}

impl Typed {
    pub const ALL: Self = Self {
        account: true,
        messaging_service: true,
    };
}

/// What Twilio said about credentials it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub account_type: Option<String>,
    pub trial: bool,
    /// The Messaging Service's phone numbers (its sender pool); `None`
    /// without a Messaging Service, or when Twilio could not list them.
    pub sender_numbers: Option<Vec<String>>,
}

/// What Twilio's answers showed to be wrong with a set of credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// 401 / 20003: the token is wrong, rotated, or not this account's.
    TokenRejected,
    /// 403 / 404 on the account itself.
    AccountUnreadable,
    AccountSuspended,
    AccountClosed,
    AccountInactive(String),
    /// 404, or a service owned by another account.
    ServiceNotOnAccount,
    /// 403: the account may not use the service.
    ServiceForbidden,
    Unreachable(String),
    RateLimited,
    Twilio {
        status: u16,
        code: Option<u64>,
        message: String,
    },
}

impl Finding {
    /// Twilio itself could not answer: the credentials are neither
    /// confirmed nor disproved.
    pub fn is_inconclusive(&self) -> bool {
        match self {
            Self::Unreachable(_) | Self::RateLimited => true,
            Self::Twilio { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

/// Why credentials were not accepted, in words that say what to do: per
/// field for values the admin typed, `saved_values` for a saved value the
/// open form does not show, `form` for failures no value caused (Twilio
/// unreachable; the caller says what that meant).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems {
    pub account_sid: Option<String>,
    pub auth_token: Option<String>,
    pub messaging_service_sid: Option<String>,
    /// Complete sentences, "Nothing was saved." included.
    pub saved_values: Option<String>,
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
            &self.saved_values,
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

/// Pages of 50 sending numbers read for the settings page.
const SENDER_NUMBER_PAGES: usize = 4;

/// Asks Twilio about the account and, if given, the Messaging Service and
/// its phone numbers. The calls run concurrently: saving takes as long as
/// the slowest one.
pub async fn validate_with_twilio(
    client: &TwilioClient,
    credentials: &Credentials,
) -> Result<Accepted, Vec<Finding>> {
    let Credentials {
        account_sid,
        auth_token,
        messaging_service_sid,
    } = credentials;
    let account = client.fetch_account(account_sid, auth_token);
    let service = async {
        match messaging_service_sid {
            Some(mg) => Some(
                client
                    .fetch_messaging_service(account_sid, auth_token, mg)
                    .await,
            ),
            None => None,
        }
    };
    let numbers = async {
        match messaging_service_sid {
            Some(mg) => Some(
                client
                    .list_phone_numbers(account_sid, auth_token, mg, SENDER_NUMBER_PAGES)
                    .await,
            ),
            None => None,
        }
    };
    let (account, service, numbers) = tokio::join!(account, service, numbers);
    let findings = findings(&account, service.as_ref(), account_sid);
    if !findings.is_empty() {
        return Err(findings);
    }
    let kind = account.map(|a| a.kind).unwrap_or(AccountType::Full);
    let (account_type, trial) = match kind {
        AccountType::Trial => (Some("Trial".to_owned()), true),
        AccountType::Full => (Some("Full".to_owned()), false),
        AccountType::Other(other) => (Some(other).filter(|o| !o.is_empty()), false),
    };
    Ok(Accepted {
        account_type,
        trial,
        // Only a warning on the page: a failed listing fails nothing.
        sender_numbers: numbers.and_then(Result::ok),
    })
}

/// What Twilio's answers to the account and service look-ups show.
pub fn findings(
    account: &Result<crate::twilio::Account, TwilioError>,
    service: Option<&Result<crate::twilio::MessagingService, TwilioError>>,
    account_sid: &AccountSid,
) -> Vec<Finding> {
    let account = match account {
        Ok(account) => account,
        // Nothing about the service means anything without the account.
        Err(error) => return vec![account_error(error)],
    };
    let mut found = Vec::new();
    match &account.status {
        AccountStatus::Active => {}
        AccountStatus::Suspended => found.push(Finding::AccountSuspended),
        AccountStatus::Closed => found.push(Finding::AccountClosed),
        AccountStatus::Other(status) => found.push(Finding::AccountInactive(status.clone())),
    }
    match service {
        None => {}
        Some(Ok(service)) if service.account_sid == account_sid.as_str() => {}
        Some(Ok(_) | Err(TwilioError::NotFound)) => found.push(Finding::ServiceNotOnAccount),
        Some(Err(TwilioError::Forbidden { .. })) => found.push(Finding::ServiceForbidden),
        Some(Err(error)) => found.push(account_error(error)),
    }
    found
}

fn account_error(error: &TwilioError) -> Finding {
    match error {
        TwilioError::CredentialsRejected => Finding::TokenRejected,
        TwilioError::NotFound | TwilioError::Forbidden { .. } => Finding::AccountUnreadable,
        TwilioError::RateLimited => Finding::RateLimited,
        TwilioError::Unreachable(reason) => Finding::Unreachable(reason.clone()),
        TwilioError::Api {
            status,
            code,
            message,
        } => Finding::Twilio {
            status: *status,
            code: *code,
            message: message.clone(),
        },
    }
}

const MOVE_ACCOUNTS: &str = "If you are moving to another Twilio account, use Change Twilio account to enter the Account SID, Auth Token and Messaging Service SID together";

/// Words findings for the form the admin is looking at (see the module).
pub fn describe(findings: &[Finding], credentials: &Credentials, typed: Typed) -> Problems {
    let account = credentials.account_sid.as_str();
    let service = credentials
        .messaging_service_sid
        .as_ref()
        .map_or("", MessagingServiceSid::as_str);
    let mut problems = Problems {
        inconclusive: findings.iter().any(Finding::is_inconclusive),
        ..Problems::default()
    };
    for finding in findings {
        let saved = match finding {
            Finding::ServiceNotOnAccount | Finding::ServiceForbidden => !typed.messaging_service,
            Finding::Unreachable(_) | Finding::RateLimited | Finding::Twilio { .. } => false,
            _ => !typed.account,
        };
        if saved {
            let text = saved_value_problem(finding, account, service);
            problems.saved_values.get_or_insert(text);
            continue;
        }
        match finding {
            Finding::TokenRejected => {
                problems.auth_token = Some(
                    "Twilio did not accept this Auth Token for this Account SID: it is incorrect or has been rotated in Twilio. Copy the current one from Account Info in your Twilio Console."
                        .to_owned(),
                );
                problems.account_sid = Some(
                    "Check that this Account SID and the Auth Token come from the same Twilio account."
                        .to_owned(),
                );
            }
            Finding::AccountUnreadable => {
                problems.account_sid = Some(
                    "Twilio does not let these credentials read this account. Check that the Account SID is the one shown under Account Info."
                        .to_owned(),
                )
            }
            Finding::AccountSuspended => {
                problems.account_sid = Some(
                    "This Twilio account is suspended, so it cannot send messages. Reactivate it in Twilio or use another account."
                        .to_owned(),
                )
            }
            Finding::AccountClosed => {
                problems.account_sid = Some(
                    "This Twilio account is closed. Use the credentials of an active account."
                        .to_owned(),
                )
            }
            Finding::AccountInactive(status) => {
                problems.account_sid = Some(format!(
                    "This Twilio account is not active (Twilio says: {status})."
                ))
            }
            Finding::ServiceNotOnAccount => {
                problems.messaging_service_sid = Some(format!(
                    "Twilio has no Messaging Service {service} on this account. Check the SID under Messaging → Services in your Twilio Console."
                ))
            }
            Finding::ServiceForbidden => {
                problems.messaging_service_sid = Some(format!(
                    "This Account SID does not have permission to use Messaging Service {service}."
                ))
            }
            Finding::Unreachable(reason) => {
                problems.form = Some(format!("Twilio could not be reached ({reason})."))
            }
            Finding::RateLimited => {
                problems.form = Some(
                    "Twilio is receiving too many requests right now; try again in a minute."
                        .to_owned(),
                )
            }
            Finding::Twilio {
                status,
                code,
                message,
            } => {
                problems.form = Some(format!(
                    "Twilio answered with an error ({status}{}): {message}.",
                    code.map(|c| format!(", code {c}")).unwrap_or_default()
                ))
            }
        }
    }
    problems
}

/// A saved value failed while another was being changed: say which, and
/// how to get out of it.
fn saved_value_problem(finding: &Finding, account: &str, service: &str) -> String {
    match finding {
        Finding::TokenRejected => format!(
            "Twilio no longer accepts the saved Auth Token of account {account} (it was probably rotated in Twilio), so this change could not be checked. Nothing was saved. Edit Account SID and Auth Token to enter the current Auth Token first, or use Change Twilio account to move to another account."
        ),
        Finding::AccountUnreadable => format!(
            "Twilio no longer lets the saved credentials read account {account}, so this change could not be checked. Nothing was saved. Edit Account SID and Auth Token first, or use Change Twilio account to move to another account."
        ),
        Finding::AccountSuspended => format!(
            "The saved Twilio account {account} is suspended, so it cannot send messages. Nothing was saved. Reactivate it in Twilio, or use Change Twilio account to move to another account."
        ),
        Finding::AccountClosed => format!(
            "The saved Twilio account {account} is closed. Nothing was saved. Use Change Twilio account to move to an active account."
        ),
        Finding::AccountInactive(status) => format!(
            "The saved Twilio account {account} is not active (Twilio says: {status}). Nothing was saved. Reactivate it in Twilio, or use Change Twilio account to move to another account."
        ),
        Finding::ServiceNotOnAccount => format!(
            "The saved Messaging Service SID {service} is not a Messaging Service of Twilio account {account}. Nothing was saved. {MOVE_ACCOUNTS}; if the service was deleted in Twilio, edit the Messaging Service SID first."
        ),
        Finding::ServiceForbidden => format!(
            "Twilio account {account} does not have permission to use the saved Messaging Service SID {service}. Nothing was saved. {MOVE_ACCOUNTS}; otherwise edit the Messaging Service SID first."
        ),
        // Never about a saved value (see `describe`).
        Finding::Unreachable(_) | Finding::RateLimited | Finding::Twilio { .. } => {
            "Twilio could not check the saved values. Nothing was saved; try again.".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    const AC: &str = "AC0123456789abcdef0123456789abcdef";
    const MG: &str = "MG0123456789abcdef0123456789abcdef";

    fn credentials() -> Credentials {
        Credentials {
            account_sid: AccountSid::parse(AC).unwrap(),
            auth_token: AuthToken::parse(SecretString::from("token")).unwrap(),
            messaging_service_sid: Some(MessagingServiceSid::parse(MG).unwrap()),
        }
    }

    const ACCOUNT_SECTION: Typed = Typed {
        account: true,
        messaging_service: false,
    };
    const SERVICE_SECTION: Typed = Typed {
        account: false,
        messaging_service: true,
    };

    /// Which part of `Problems` each finding lands in, for each form.
    #[test]
    fn findings_go_under_a_typed_field_or_name_the_saved_value() {
        use Finding::*;
        // (finding, typed, field that is set, text it contains)
        let table: [(Finding, Typed, &str, &str); 12] = [
            (TokenRejected, Typed::ALL, "auth_token", "rotated in Twilio"),
            (
                TokenRejected,
                SERVICE_SECTION,
                "saved_values",
                "saved Auth Token of account AC0123",
            ),
            (AccountSuspended, Typed::ALL, "account_sid", "suspended"),
            (
                AccountSuspended,
                SERVICE_SECTION,
                "saved_values",
                "saved Twilio account AC0123",
            ),
            (
                AccountClosed,
                SERVICE_SECTION,
                "saved_values",
                "Change Twilio account",
            ),
            (
                AccountUnreadable,
                SERVICE_SECTION,
                "saved_values",
                "Edit Account SID and Auth Token",
            ),
            (
                ServiceNotOnAccount,
                Typed::ALL,
                "messaging_service_sid",
                "no Messaging Service MG0123",
            ),
            (
                ServiceNotOnAccount,
                ACCOUNT_SECTION,
                "saved_values",
                "saved Messaging Service SID MG0123",
            ),
            (
                ServiceForbidden,
                SERVICE_SECTION,
                "messaging_service_sid",
                "permission",
            ),
            (
                ServiceForbidden,
                ACCOUNT_SECTION,
                "saved_values",
                "saved Messaging Service SID MG0123",
            ),
            (
                Unreachable("timed out".into()),
                SERVICE_SECTION,
                "form",
                "could not be reached",
            ),
            (RateLimited, ACCOUNT_SECTION, "form", "too many requests"),
        ];
        for (finding, typed, field, text) in table {
            let problems = describe(std::slice::from_ref(&finding), &credentials(), typed);
            let value = match field {
                "auth_token" => &problems.auth_token,
                "account_sid" => &problems.account_sid,
                "messaging_service_sid" => &problems.messaging_service_sid,
                "saved_values" => &problems.saved_values,
                _ => &problems.form,
            };
            let value = value.as_deref().unwrap_or_else(|| {
                panic!("{finding:?} with {typed:?} set no {field}: {problems:?}")
            });
            assert!(value.contains(text), "{finding:?} {typed:?}: {value}");
            if field == "saved_values" {
                assert!(value.contains("Nothing was saved."), "{value}");
                // Nothing is pinned on a field the open form does not show.
                assert_eq!(problems.account_sid, None);
                assert_eq!(problems.messaging_service_sid, None);
            }
        }
    }

    #[test]
    fn only_twilio_failing_to_answer_is_inconclusive() {
        let inconclusive = |f: Finding| describe(&[f], &credentials(), Typed::ALL).inconclusive;
        assert!(inconclusive(Finding::Unreachable("reset".into())));
        assert!(inconclusive(Finding::RateLimited));
        assert!(inconclusive(Finding::Twilio {
            status: 503,
            code: None,
            message: "busy".into()
        }));
        assert!(!inconclusive(Finding::TokenRejected));
        assert!(!inconclusive(Finding::Twilio {
            status: 400,
            code: Some(20001),
            message: "bad".into()
        }));
    }

    #[test]
    fn a_service_of_another_account_is_not_on_this_account() {
        let account = Ok(crate::twilio::Account {
            sid: AC.into(),
            friendly_name: String::new(),
            status: AccountStatus::Active,
            kind: AccountType::Full,
        });
        let others = Ok(crate::twilio::MessagingService {
            sid: MG.into(),
            account_sid: "AC99999999999999999999999999999999".into(),
            friendly_name: String::new(),
        });
        let sid = AccountSid::parse(AC).unwrap();
        assert_eq!(
            findings(&account, Some(&others), &sid),
            vec![Finding::ServiceNotOnAccount]
        );
        assert_eq!(
            findings(&Err(TwilioError::CredentialsRejected), Some(&others), &sid),
            vec![Finding::TokenRejected]
        );
    }
}
