//! `Send a test`: a campaign's message, rendered for its first recipient,
//! sent to up to five numbers the person typed, through the organisation's
//! Messaging Service, before the campaign exists or runs. Test messages are
//! not the campaign's: no queue, no status callbacks, not counted. The help
//! page's rule applies as to a run (it needs the Messaging Service SID).

use crate::{
    campaigns::{audience::E164Phone, store::may_run},
    crypto::Keyring,
    db::Pool,
    opt_outs,
    organisations::OrganisationId,
    sms_settings::integration::{configuration, fetch_effective_integration, saved_auth_token},
    twilio::{OutgoingMessage, SendError, TwilioClient},
};

/// Test messages one `Send a test` may send.
pub const MAX_TEST_NUMBERS: usize = 5;

/// What happened to one test message, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestMessageOutcome {
    pub to: String,
    /// Twilio accepted it.
    pub sent: bool,
    pub outcome: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TestMessageError {
    /// The help page's rule: why SMS campaigns cannot run now.
    #[error("{0}")]
    NotAllowed(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Sends `body` to each number, one after another, and says what Twilio
/// answered for each.
pub async fn send_test_messages(
    pool: &Pool,
    keyring: &Keyring,
    twilio: &TwilioClient,
    organisation: OrganisationId,
    numbers: &[E164Phone],
    body: &str,
) -> Result<Vec<TestMessageOutcome>, TestMessageError> {
    let integration = fetch_effective_integration(pool, keyring, organisation).await?;
    may_run(configuration(integration.as_ref()))
        .map_err(|reason| TestMessageError::NotAllowed(reason.to_owned()))?;
    let integration = integration.expect("the rule allows running only with an integration");
    let token = saved_auth_token(keyring, &integration).map_err(TestMessageError::NotAllowed)?;
    let service = integration
        .messaging_service_sid
        .clone()
        .expect("the rule allows running only with a Messaging Service SID");
    let opted_out = opt_outs::numbers(pool, organisation).await?;
    let mut outcomes = Vec::with_capacity(numbers.len());
    for number in numbers.iter().take(MAX_TEST_NUMBERS) {
        let to = number.as_str().to_owned();
        if opted_out.contains(&to) {
            outcomes.push(TestMessageOutcome {
                to,
                sent: false,
                outcome: "Not sent: this number opted out of your organisation's messages."
                    .to_owned(),
            });
            continue;
        }
        let answer = twilio
            .send_message(
                &integration.account_sid,
                &token,
                &OutgoingMessage {
                    to: &to,
                    body,
                    messaging_service_sid: service.as_str(),
                    status_callback: "",
                    validity_period: None,
                },
            )
            .await;
        let (sent, outcome) = match answer {
            Ok(accepted) => (
                true,
                format!(
                    "Sent: Twilio accepted it ({}, {}).",
                    accepted.sid, accepted.status
                ),
            ),
            Err(SendError::Rejected(e)) => (false, format!("Not sent: {e}")),
            Err(e @ SendError::NotSent(_)) => (false, format!("Not sent: {e}.")),
            Err(SendError::OutcomeUnknown(why)) => (
                false,
                format!(
                    "Unknown: Twilio's answer did not arrive ({why}); look for it in Twilio's message logs before sending another."
                ),
            ),
        };
        outcomes.push(TestMessageOutcome { to, sent, outcome });
    }
    tracing::info!(
        organisation_id = %organisation,
        messages = outcomes.len(),
        sent = outcomes.iter().filter(|o| o.sent).count(),
        "test messages sent"
    );
    Ok(outcomes)
}
