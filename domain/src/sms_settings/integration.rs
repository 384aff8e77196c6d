//! The stored Twilio Integration: saving (validated, encrypted, versioned,
//! audited), re-checking its health, and rewrapping tokens under a new key.

use anyhow::Context;
use secrecy::SecretString;
use sqlx::FromRow;

use super::validation::{Credentials, Problems, Typed, describe, validate_with_twilio};
pub use crate::audit::AuditEvent;
use crate::audit::Topic;
use crate::db::{DbConnection, InTurn, Pool};
use crate::{
    capability::SmsConfiguration,
    clock::UnixTime,
    crypto::{Keyring, Purpose},
    organisations::OrganisationId,
    services::Services,
    twilio::credentials::{AccountSid, AuthToken, MessagingServiceSid},
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Valid,
    Invalid { reason: String },
}

#[derive(Debug, Clone)]
pub struct TwilioIntegration {
    pub organisation_id: OrganisationId,
    pub account_sid: AccountSid,
    auth_token_envelope: String,
    pub messaging_service_sid: Option<MessagingServiceSid>,
    pub account_type: Option<String>,
    /// The Messaging Service's phone numbers when last validated; `None`
    /// without a Messaging Service or when Twilio could not list them.
    pub sender_numbers: Option<Vec<String>>,
    pub health: Health,
    pub checked_at: UnixTime,
    pub updated_by: String,
    pub updated_at: UnixTime,
    pub version: i64,
}

impl TwilioIntegration {
    pub fn is_trial(&self) -> bool {
        self.account_type.as_deref() == Some("Trial")
    }

    /// The health to show and enforce: a token that no key in the keyring
    /// decrypts is invalid, whatever Twilio last said about it.
    pub fn with_effective_health(mut self, keyring: &Keyring) -> Self {
        if let Err(reason) = saved_auth_token(keyring, &self) {
            self.health = Health::Invalid { reason };
        }
        self
    }
}

/// The configuration state of the capability table.
pub fn configuration(integration: Option<&TwilioIntegration>) -> SmsConfiguration {
    match integration {
        None => SmsConfiguration::NoCredentials,
        Some(i) if i.health != Health::Valid => SmsConfiguration::InvalidCredentials,
        Some(i) if i.messaging_service_sid.is_none() => {
            SmsConfiguration::ValidWithoutMessagingService
        }
        Some(_) => SmsConfiguration::ValidWithMessagingService,
    }
}

#[derive(FromRow)]
struct IntegrationRow {
    organisation_id: OrganisationId,
    account_sid: String,
    auth_token_envelope: String,
    messaging_service_sid: Option<String>,
    account_type: Option<String>,
    sender_numbers: Option<String>,
    health: String,
    health_reason: Option<String>,
    checked_at: i64,
    updated_by: String,
    updated_at: i64,
    version: i64,
}

/// The storage edge: stored SIDs are parsed once, here.
impl TryFrom<IntegrationRow> for TwilioIntegration {
    type Error = anyhow::Error;

    fn try_from(row: IntegrationRow) -> anyhow::Result<Self> {
        Ok(Self {
            organisation_id: row.organisation_id,
            account_sid: AccountSid::parse(&row.account_sid)
                .context("a stored Account SID is malformed")?,
            auth_token_envelope: row.auth_token_envelope,
            messaging_service_sid: row
                .messaging_service_sid
                .as_deref()
                .map(MessagingServiceSid::parse)
                .transpose()
                .context("a stored Messaging Service SID is malformed")?,
            account_type: row.account_type,
            sender_numbers: row
                .sender_numbers
                .and_then(|json| serde_json::from_str(&json).ok()),
            health: match row.health.as_str() {
                "valid" => Health::Valid,
                _ => Health::Invalid {
                    reason: row
                        .health_reason
                        .unwrap_or_else(|| "Twilio rejected the credentials.".to_owned()),
                },
            },
            checked_at: row.checked_at,
            updated_by: row.updated_by,
            updated_at: row.updated_at,
            version: row.version,
        })
    }
}

const INTEGRATION_COLUMNS: &str = "i.organisation_id, i.account_sid, i.auth_token_envelope, \
     i.messaging_service_sid, i.account_type, i.sender_numbers, i.health, i.health_reason, i.checked_at, \
     i.updated_by, i.updated_at, i.version";

pub async fn fetch_integration(
    pool: &Pool,
    organisation: OrganisationId,
) -> anyhow::Result<Option<TwilioIntegration>> {
    sqlx::query_as::<_, IntegrationRow>(&format!(
        "SELECT {INTEGRATION_COLUMNS} FROM twilio_integrations i WHERE i.organisation_id = $1"
    ))
    .bind(organisation)
    .fetch_optional(pool)
    .await
    .context("could not fetch the Twilio integration")?
    .map(TwilioIntegration::try_from)
    .transpose()
}

/// The integration of the organisation a webhook URL names, in one query
/// (every status callback needs it to check its signature).
pub async fn fetch_integration_by_public_id(
    pool: &Pool,
    public_id: &str,
) -> anyhow::Result<Option<TwilioIntegration>> {
    sqlx::query_as::<_, IntegrationRow>(&format!(
        "SELECT {INTEGRATION_COLUMNS} FROM twilio_integrations i
         JOIN organisations o ON o.id = i.organisation_id WHERE o.public_id = $1"
    ))
    .bind(public_id)
    .fetch_optional(pool)
    .await
    .context("could not fetch the Twilio integration")?
    .map(TwilioIntegration::try_from)
    .transpose()
}

/// The saved integration with the health to show and enforce (a token no
/// key decrypts makes it invalid): what pages, server functions and the
/// sending engine all decide from.
pub async fn fetch_effective_integration(
    pool: &Pool,
    keyring: &Keyring,
    organisation: OrganisationId,
) -> anyhow::Result<Option<TwilioIntegration>> {
    Ok(fetch_integration(pool, organisation)
        .await?
        .map(|i| i.with_effective_health(keyring)))
}

pub const UNDECRYPTABLE_TOKEN: &str = "The saved Auth Token can no longer be decrypted (its master key is not available). Re-enter the Auth Token.";

/// The saved Auth Token, decrypted, or why it cannot be.
pub fn saved_auth_token(
    keyring: &Keyring,
    integration: &TwilioIntegration,
) -> Result<AuthToken, String> {
    let plaintext = keyring
        .open(Purpose::TwilioAuthToken, integration.organisation_id, &integration.auth_token_envelope)
        .map_err(|e| {
            tracing::warn!(organisation_id = %integration.organisation_id, error = %e, "a stored Auth Token does not decrypt");
            UNDECRYPTABLE_TOKEN.to_owned()
        })?;
    let text = String::from_utf8(plaintext.to_vec()).map_err(|_| UNDECRYPTABLE_TOKEN.to_owned())?;
    AuthToken::parse(SecretString::from(text)).map_err(|_| UNDECRYPTABLE_TOKEN.to_owned())
}

/// What an Org Admin submits: one of the panel's sections.
pub enum Change {
    /// The whole panel, when nothing is configured yet.
    Everything {
        account_sid: AccountSid,
        auth_token: AuthToken,
        messaging_service_sid: Option<MessagingServiceSid>,
    },
    /// Section "Account SID and Auth Token": a new token is always required.
    AccountSidAndAuthToken {
        account_sid: AccountSid,
        auth_token: AuthToken,
    },
    /// Section "Messaging Service SID"; `None` removes it.
    MessagingServiceSid(Option<MessagingServiceSid>),
    /// `Change Twilio account`: three new values, validated together and
    /// independently of what is saved (which may be dead: a rotated token,
    /// a deleted service).
    NewAccount {
        account_sid: AccountSid,
        auth_token: AuthToken,
        messaging_service_sid: Option<MessagingServiceSid>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("Twilio did not accept the credentials")]
    Rejected(Box<Problems>),
    #[error("the settings changed since the form was opened")]
    Stale,
    #[error("nothing is configured yet to change")]
    NotConfigured,
    #[error("{0}")]
    SavedTokenUnusable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub struct Saved {
    pub integration: TwilioIntegration,
    pub trial: bool,
    /// What changed, as the Changes list records it.
    pub action: String,
    /// Running campaigns this save paused (it removed the Messaging Service SID).
    pub paused_campaigns: u64,
}

/// A change, resolved against what is saved: the credentials to validate
/// and store, which of them the admin typed, and the audit entry.
struct Plan {
    credentials: Credentials,
    typed: Typed,
    action: String,
}

fn not_set(sid: Option<&MessagingServiceSid>) -> String {
    sid.map_or("not set".to_owned(), ToString::to_string)
}

/// Which credentials a change means, given what is saved. No I/O besides
/// decrypting the saved token when the change keeps it.
fn plan(
    change: Change,
    current: Option<&TwilioIntegration>,
    keyring: &Keyring,
) -> Result<Plan, SaveError> {
    Ok(match (change, current) {
        (
            Change::Everything {
                account_sid,
                auth_token,
                messaging_service_sid,
            },
            None,
        ) => Plan {
            action: format!(
                "Configured the Twilio Integration (Account SID {account_sid}, Messaging Service SID {})",
                not_set(messaging_service_sid.as_ref())
            ),
            credentials: Credentials {
                account_sid,
                auth_token,
                messaging_service_sid,
            },
            typed: Typed::ALL,
        },
        (Change::Everything { .. }, Some(_)) => return Err(SaveError::Stale),
        (_, None) => return Err(SaveError::NotConfigured),
        (
            Change::NewAccount {
                account_sid,
                auth_token,
                messaging_service_sid,
            },
            Some(current),
        ) => Plan {
            action: format!(
                "Changed the Twilio account from {} to {account_sid} (Messaging Service SID {})",
                current.account_sid,
                not_set(messaging_service_sid.as_ref())
            ),
            credentials: Credentials {
                account_sid,
                auth_token,
                messaging_service_sid,
            },
            typed: Typed::ALL,
        },
        (
            Change::AccountSidAndAuthToken {
                account_sid,
                auth_token,
            },
            Some(current),
        ) => Plan {
            action: if account_sid == current.account_sid {
                "Replaced the Auth Token".to_owned()
            } else {
                format!("Changed the Account SID to {account_sid} and replaced the Auth Token")
            },
            credentials: Credentials {
                account_sid,
                auth_token,
                messaging_service_sid: current.messaging_service_sid.clone(),
            },
            typed: Typed {
                account: true,
                messaging_service: false,
            },
        },
        (Change::MessagingServiceSid(messaging_service_sid), Some(current)) => Plan {
            action: match &messaging_service_sid {
                Some(mg) => format!("Set the Messaging Service SID to {mg}"),
                None => "Removed the Messaging Service SID".to_owned(),
            },
            credentials: Credentials {
                account_sid: current.account_sid.clone(),
                auth_token: saved_auth_token(keyring, current)
                    .map_err(SaveError::SavedTokenUnusable)?,
                messaging_service_sid,
            },
            typed: Typed {
                account: false,
                messaging_service: true,
            },
        },
    })
}

/// Why campaigns paused when their organisation's Messaging Service SID
/// was removed.
pub const PAUSED_WITHOUT_MESSAGING_SERVICE: &str = "Paused: the Messaging Service SID was removed. A Messaging Service SID is required to run SMS campaigns.";

/// Validates the change together with the other saved values, and applies
/// it only if Twilio accepts the result and nobody saved in between.
/// `expected_version` is the version the form was loaded at (0: not configured).
#[allow(clippy::too_many_arguments)]
pub async fn save_integration(
    services: &Services,
    organisation: OrganisationId,
    actor: &str,
    change: Change,
    expected_version: i64,
    now: UnixTime,
) -> Result<Saved, SaveError> {
    let (pool, keyring, twilio) = (&services.pool, &*services.keyring, &services.twilio);
    let current = fetch_integration(pool, organisation).await?;
    if current.as_ref().map_or(0, |c| c.version) != expected_version {
        return Err(SaveError::Stale);
    }
    let Plan {
        credentials,
        typed,
        action,
    } = plan(change, current.as_ref(), keyring)?;

    let accepted = validate_with_twilio(twilio, &credentials)
        .await
        .map_err(|findings| {
            SaveError::Rejected(Box::new(describe(&findings, &credentials, typed)))
        })?;

    let envelope = keyring.seal(
        Purpose::TwilioAuthToken,
        organisation,
        credentials.auth_token.expose_secret().as_bytes(),
    );
    let sender_numbers = accepted
        .sender_numbers
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .context("could not encode the sending numbers")?;
    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    let written = upsert_integration(
        &mut tx,
        &Upsert {
            organisation,
            credentials: &credentials,
            envelope: &envelope,
            account_type: accepted.account_type.as_deref(),
            sender_numbers: sender_numbers.as_deref(),
            actor,
            expected_version,
            now,
        },
    )
    .await;
    match written {
        Ok(true) => {}
        // Another save got in between the check above and this write.
        Ok(false) => return Err(SaveError::Stale),
        Err(e) if crate::db::is_unique_violation(&e) => return Err(SaveError::Stale),
        Err(e) => {
            return Err(anyhow::Error::new(e)
                .context("could not save the Twilio integration")
                .into());
        }
    }
    // Without a Messaging Service nothing can be sent: say so on the
    // campaigns now rather than at the engine's next pass.
    let paused_campaigns = if credentials.messaging_service_sid.is_none() {
        crate::campaigns::store::pause_running_campaigns(
            &mut tx,
            organisation,
            PAUSED_WITHOUT_MESSAGING_SERVICE,
        )
        .await?
    } else {
        0
    };
    let recorded = match paused_campaigns {
        0 => action.clone(),
        n => format!("{action}; {n} running campaign{} paused", plural(n)),
    };
    insert_audit_event(&mut tx, organisation, actor, &recorded, now).await?;
    tx.commit()
        .await
        .context("could not commit the Twilio integration")?;
    tracing::info!(
        organisation_id = %organisation,
        actor,
        action = recorded,
        "Twilio integration saved"
    );

    let integration = fetch_integration(pool, organisation)
        .await?
        .context("the integration vanished right after it was saved")?;
    Ok(Saved {
        integration,
        trial: accepted.trial,
        action: recorded,
        paused_campaigns,
    })
}

/// A checked integration, ready to be written.
struct Upsert<'a> {
    organisation: OrganisationId,
    credentials: &'a Credentials,
    envelope: &'a str,
    account_type: Option<&'a str>,
    sender_numbers: Option<&'a str>,
    actor: &'a str,
    expected_version: i64,
    now: UnixTime,
}

/// Writes the integration as valid, if its version is still the one the
/// person saw; returns whether it was written.
async fn upsert_integration(
    conn: &mut DbConnection,
    row: &Upsert<'_>,
) -> Result<bool, sqlx::Error> {
    let written = sqlx::query(
        "INSERT INTO twilio_integrations
             (organisation_id, account_sid, auth_token_envelope, messaging_service_sid, account_type,
              health, health_reason, checked_at, updated_by, updated_at, version, sender_numbers)
         VALUES ($1, $2, $3, $4, $5, 'valid', NULL, $6, $7, $6, 1, $9)
         ON CONFLICT (organisation_id) DO UPDATE SET
             account_sid = excluded.account_sid,
             auth_token_envelope = excluded.auth_token_envelope,
             messaging_service_sid = excluded.messaging_service_sid,
             account_type = excluded.account_type,
             health = 'valid',
             health_reason = NULL,
             checked_at = excluded.checked_at,
             updated_by = excluded.updated_by,
             updated_at = excluded.updated_at,
             sender_numbers = excluded.sender_numbers,
             version = twilio_integrations.version + 1
         WHERE twilio_integrations.version = $8",
    )
    .bind(row.organisation)
    .bind(row.credentials.account_sid.as_str())
    .bind(row.envelope)
    .bind(
        row.credentials
            .messaging_service_sid
            .as_ref()
            .map(MessagingServiceSid::as_str),
    )
    .bind(row.account_type)
    .bind(row.now)
    .bind(row.actor)
    .bind(row.expected_version)
    .bind(row.sender_numbers)
    .execute(conn)
    .await?;
    Ok(written.rows_affected() == 1)
}

fn plural(n: u64) -> &'static str {
    if n == 1 { " was" } else { "s were" }
}

/// Why campaigns paused when Twilio was disconnected.
pub const PAUSED_DISCONNECTED: &str = "Paused: Twilio was disconnected from Outreach. An Org Admin must connect a Twilio account in Outreach > Settings > SMS before sending can resume.";

#[derive(Debug, thiserror::Error)]
pub enum DisconnectError {
    #[error("the settings changed since the page was opened")]
    Stale,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub struct Disconnected {
    pub action: String,
    pub paused_campaigns: u64,
}

/// `Disconnect Twilio`: deletes the stored credentials, the encrypted Auth
/// Token included, and pauses the organisation's running campaigns, in one
/// transaction. `expected_version` is the version the page showed: a
/// disconnect never deletes credentials someone saved after that.
pub async fn disconnect_integration(
    pool: &Pool,
    organisation: OrganisationId,
    actor: &str,
    expected_version: i64,
    now: UnixTime,
) -> Result<Disconnected, DisconnectError> {
    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    let deleted = sqlx::query_scalar::<_, String>(
        "DELETE FROM twilio_integrations WHERE organisation_id = $1 AND version = $2
         RETURNING account_sid",
    )
    .bind(organisation)
    .bind(expected_version)
    .fetch_optional(&mut *tx)
    .await
    .context("could not delete the Twilio integration")?;
    let Some(account_sid) = deleted else {
        return Err(DisconnectError::Stale);
    };
    let paused_campaigns = crate::campaigns::store::pause_running_campaigns(
        &mut tx,
        organisation,
        PAUSED_DISCONNECTED,
    )
    .await?;
    let action = match paused_campaigns {
        0 => format!(
            "Disconnected Twilio (Account SID {account_sid}); the saved credentials were deleted"
        ),
        n => format!(
            "Disconnected Twilio (Account SID {account_sid}); the saved credentials were deleted and {n} running campaign{} paused",
            plural(n)
        ),
    };
    insert_audit_event(&mut tx, organisation, actor, &action, now).await?;
    tx.commit()
        .await
        .context("could not commit the disconnection")?;
    tracing::info!(
        organisation_id = %organisation,
        actor,
        action,
        "Twilio disconnected"
    );
    Ok(Disconnected {
        action,
        paused_campaigns,
    })
}

async fn insert_audit_event(
    tx: &mut crate::db::DbConnection,
    organisation: OrganisationId,
    actor: &str,
    action: &str,
    now: UnixTime,
) -> anyhow::Result<()> {
    crate::audit::record(
        tx,
        organisation,
        Topic::TwilioIntegration,
        actor,
        action,
        now,
    )
    .await
}

/// The Twilio Integration's changes, newest first.
pub async fn fetch_audit_events(
    pool: &Pool,
    organisation: OrganisationId,
    limit: i64,
) -> anyhow::Result<Vec<AuditEvent>> {
    crate::audit::fetch(
        pool,
        organisation,
        Some(Topic::TwilioIntegration),
        None,
        limit,
    )
    .await
}

/// The result of re-checking saved credentials with Twilio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    NotConfigured,
    Valid,
    Invalid {
        reason: String,
    },
    /// Twilio could not answer; the saved health is left as it was.
    Inconclusive {
        reason: String,
    },
}

/// Asks Twilio whether the saved credentials still work and records the
/// answer. A rejected token (20003, e.g. rotated in Twilio) or a suspended
/// account makes them invalid; a network error changes nothing.
pub async fn check_integration(
    services: &Services,
    organisation: OrganisationId,
    now: UnixTime,
) -> anyhow::Result<CheckOutcome> {
    let (pool, keyring, twilio) = (&services.pool, &*services.keyring, &services.twilio);
    let Some(integration) = fetch_integration(pool, organisation).await? else {
        return Ok(CheckOutcome::NotConfigured);
    };
    let mut sender_numbers = integration.sender_numbers.clone();
    let outcome = match saved_auth_token(keyring, &integration) {
        Err(reason) => CheckOutcome::Invalid { reason },
        Ok(auth_token) => {
            let credentials = Credentials {
                account_sid: integration.account_sid.clone(),
                auth_token,
                messaging_service_sid: integration.messaging_service_sid.clone(),
            };
            match validate_with_twilio(twilio, &credentials).await {
                Ok(accepted) => {
                    sender_numbers = accepted.sender_numbers;
                    CheckOutcome::Valid
                }
                Err(findings) => {
                    let problems = describe(&findings, &credentials, Typed::ALL);
                    if problems.inconclusive {
                        CheckOutcome::Inconclusive {
                            reason: problems.summary(),
                        }
                    } else {
                        CheckOutcome::Invalid {
                            reason: invalid_reason(&problems),
                        }
                    }
                }
            }
        }
    };
    let (health, reason) = match &outcome {
        CheckOutcome::Valid => ("valid", None),
        CheckOutcome::Invalid { reason } => ("invalid", Some(reason.as_str())),
        CheckOutcome::Inconclusive { .. } | CheckOutcome::NotConfigured => return Ok(outcome),
    };
    // Only if nobody saved new credentials while Twilio was being asked.
    let sender_numbers = sender_numbers
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .context("could not encode the sending numbers")?;
    sqlx::query(
        "UPDATE twilio_integrations
         SET health = $1, health_reason = $2, checked_at = $3, sender_numbers = $4
         WHERE organisation_id = $5 AND version = $6",
    )
    .bind(health)
    .bind(reason)
    .bind(now)
    .bind(sender_numbers)
    .bind(organisation)
    .bind(integration.version)
    .execute(pool)
    .in_turn(pool)
    .await
    .context("could not record the credential check")?;
    if integration.health == Health::Valid && health == "invalid" {
        tracing::warn!(
            organisation_id = %organisation,
            reason,
            "saved Twilio credentials are no longer valid"
        );
    }
    Ok(outcome)
}

fn invalid_reason(problems: &Problems) -> String {
    if problems.auth_token.is_some() {
        "Twilio rejected the saved Auth Token (error 20003): it was probably rotated in Twilio. Enter the current Auth Token.".to_owned()
    } else {
        problems.summary()
    }
}

/// Every organisation with saved credentials and an active subscription,
/// for the periodic re-check: Outreach asks Twilio nothing for an
/// organisation that may not use it.
pub async fn configured_organisations(pool: &Pool) -> anyhow::Result<Vec<OrganisationId>> {
    sqlx::query_scalar::<_, OrganisationId>(
        "SELECT i.organisation_id FROM twilio_integrations i
         JOIN organisations o ON o.id = i.organisation_id
         WHERE o.subscription_state = 'active'
         ORDER BY i.organisation_id",
    )
    .fetch_all(pool)
    .await
    .context("could not list configured organisations")
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct RewrapReport {
    pub rewrapped: usize,
    pub already_current: usize,
    /// Organisations whose token no key in the keyring decrypts.
    pub undecryptable: Vec<OrganisationId>,
}

/// Re-encrypts every stored token under the keyring's active key, so that
/// older keys can be retired.
pub async fn rewrap_tokens(pool: &Pool, keyring: &Keyring) -> anyhow::Result<RewrapReport> {
    let rows = sqlx::query_as::<_, (OrganisationId, String)>(
        "SELECT organisation_id, auth_token_envelope FROM twilio_integrations",
    )
    .fetch_all(pool)
    .await
    .context("could not read the stored tokens")?;
    let mut report = RewrapReport::default();
    for (organisation, envelope) in rows {
        if Keyring::envelope_key_id(&envelope) == Some(keyring.active_key_id()) {
            report.already_current += 1;
            continue;
        }
        let Ok(plaintext) = keyring.open(Purpose::TwilioAuthToken, organisation, &envelope) else {
            report.undecryptable.push(organisation);
            continue;
        };
        let rewrapped = keyring.seal(Purpose::TwilioAuthToken, organisation, &plaintext);
        // Compare-and-swap: a concurrent save keeps its own, newer envelope.
        sqlx::query(
            "UPDATE twilio_integrations SET auth_token_envelope = $1
             WHERE organisation_id = $2 AND auth_token_envelope = $3",
        )
        .bind(&rewrapped)
        .bind(organisation)
        .bind(&envelope)
        .execute(pool)
        .in_turn(pool)
        .await
        .context("could not store a rewrapped token")?;
        report.rewrapped += 1;
    }
    Ok(report)
}

pub const REJECTED_WHILE_SENDING: &str = "Twilio rejected the saved Auth Token (error 20003) while sending: it was probably rotated in Twilio. Running campaigns were paused: enter the current Auth Token, then resume them.";

/// What the campaigns paused by [`REJECTED_WHILE_SENDING`] say.
pub const PAUSED_TOKEN_REJECTED: &str = "Paused: Twilio rejected the saved Auth Token (error 20003) while sending; it was probably rotated in Twilio. An Org Admin must enter the current Auth Token in Outreach > Settings > SMS before sending can resume.";

/// Twilio answered a send with 20003: the credentials saved at `version`
/// are invalid and every running campaign of the organisation is paused,
/// saying why. Nothing changes if someone saved new credentials since.
pub async fn mark_rejected_while_sending(
    pool: &Pool,
    organisation: OrganisationId,
    version: i64,
    now: UnixTime,
) -> anyhow::Result<bool> {
    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    let marked = sqlx::query(
        "UPDATE twilio_integrations SET health = 'invalid', health_reason = $1, checked_at = $2
         WHERE organisation_id = $3 AND version = $4 AND health = 'valid'",
    )
    .bind(REJECTED_WHILE_SENDING)
    .bind(now)
    .bind(organisation)
    .bind(version)
    .execute(&mut *tx)
    .await
    .context("could not mark the credentials invalid")?;
    if marked.rows_affected() == 0 {
        return Ok(false);
    }
    insert_audit_event(
        &mut tx,
        organisation,
        "Outreach",
        "Twilio rejected the Auth Token while sending; running campaigns were paused",
        now,
    )
    .await?;
    crate::campaigns::store::pause_running_campaigns(&mut tx, organisation, PAUSED_TOKEN_REJECTED)
        .await?;
    tx.commit().await.context("could not commit")?;
    tracing::warn!(
        organisation_id = %organisation,
        "Twilio rejected the saved Auth Token while sending; campaigns paused"
    );
    Ok(true)
}
