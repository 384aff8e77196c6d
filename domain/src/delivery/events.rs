//! Storing a verified status callback and applying it to its message.

use std::{future::Future, pin::Pin};

use anyhow::Context;

use crate::db::{DbConnection, group_commit};
use crate::{
    clock::UnixTime, ids::MessageId, organisations::OrganisationId, twilio::status::TwilioStatus,
};

/// A status callback's parameters, checked for the two Twilio always sends.
#[derive(Debug, Clone)]
pub struct StatusCallback {
    message_sid: String,
    message_status: String,
    error_code: Option<u64>,
    /// Everything Twilio posted, kept raw (the set varies).
    params: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedCallback {
    #[error("MessageSid is missing or is not a message SID")]
    MessageSid,
    #[error("MessageStatus is missing")]
    MessageStatus,
}

fn is_message_sid(raw: &str) -> bool {
    raw.len() == 34
        && (raw.starts_with("SM") || raw.starts_with("MM"))
        && raw[2..].chars().all(|c| c.is_ascii_hexdigit())
}

impl StatusCallback {
    pub fn parse(params: Vec<(String, String)>) -> Result<Self, MalformedCallback> {
        let field = |name: &str| {
            params
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.trim().to_owned())
        };
        let message_sid = field("MessageSid")
            .or_else(|| field("SmsSid"))
            .filter(|sid| is_message_sid(sid))
            .ok_or(MalformedCallback::MessageSid)?;
        let message_status = field("MessageStatus")
            .or_else(|| field("SmsStatus"))
            .filter(|status| !status.is_empty())
            .ok_or(MalformedCallback::MessageStatus)?;
        let error_code = field("ErrorCode").and_then(|code| code.parse().ok());
        Ok(Self {
            message_sid,
            message_status,
            error_code,
            params,
        })
    }

    pub fn message_sid(&self) -> &str {
        &self.message_sid
    }

    pub fn message_status(&self) -> &str {
        &self.message_status
    }

    pub fn error_code(&self) -> Option<u64> {
        self.error_code
    }
}

/// What recording a callback did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The message moved forward.
    Applied,
    /// The same (message, status) was already stored.
    Duplicate,
    /// Stored; the message already had this status or a later one.
    Stale,
    /// Stored raw; not a status Outreach knows, so nothing else changed.
    UnknownStatus,
    /// Stored raw; no message of this organisation matches it.
    NoSuchMessage,
}

/// A verified status callback to store: committed with the others that
/// arrive meanwhile (see `db::group_commit`), before Twilio gets its 200.
pub struct DeliveryEvent {
    pub organisation: OrganisationId,
    /// The hint from the callback URL, which finds a message whose send
    /// answer was lost and so has no SID recorded yet.
    pub message_id: Option<MessageId>,
    pub callback: StatusCallback,
    pub received_at: UnixTime,
}

impl group_commit::Write for DeliveryEvent {
    type Output = Recorded;

    fn apply<'c>(
        &'c self,
        conn: &'c mut DbConnection,
    ) -> Pin<Box<dyn Future<Output = anyhow::Result<Recorded>> + Send + 'c>> {
        Box::pin(record_delivery_event(conn, self))
    }
}

/// Stores the event (once), then moves its message forward, never back,
/// inside the caller's transaction.
pub async fn record_delivery_event(
    conn: &mut DbConnection,
    event: &DeliveryEvent,
) -> anyhow::Result<Recorded> {
    let DeliveryEvent {
        organisation,
        message_id,
        callback,
        received_at: now,
    } = event;
    let (organisation, now) = (*organisation, *now);
    let params = serde_json::to_string(&callback.params).context("params encode")?;
    let inserted = sqlx::query(
        "INSERT INTO delivery_events
             (organisation_id, message_sid, message_status, error_code, params, received_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (organisation_id, message_sid, message_status) DO NOTHING",
    )
    .bind(organisation)
    .bind(&callback.message_sid)
    .bind(&callback.message_status)
    .bind(callback.error_code.map(|c| c.to_string()))
    .bind(params)
    .bind(now)
    .execute(&mut *conn)
    .await
    .context("could not store the delivery event")?;
    if inserted.rows_affected() == 0 {
        return Ok(Recorded::Duplicate);
    }
    let Some(status) = TwilioStatus::parse(&callback.message_status) else {
        return Ok(Recorded::UnknownStatus);
    };
    // The hint must agree with the SID when both are known.
    let message = sqlx::query_as::<_, (MessageId, String, i64)>(
        "SELECT m.id, m.phone, m.status_rank FROM outbound_messages m
         JOIN campaigns c ON c.id = m.campaign_id
         WHERE c.organisation_id = $1
           AND (m.twilio_sid = $2 OR (m.id = $3 AND m.twilio_sid IS NULL))",
    )
    .bind(organisation)
    .bind(&callback.message_sid)
    .bind(*message_id)
    .fetch_optional(&mut *conn)
    .await
    .context("could not find the event's message")?;
    let Some((id, phone, rank)) = message else {
        return Ok(Recorded::NoSuchMessage);
    };
    let error_message = callback
        .params
        .iter()
        .find(|(key, _)| key == "ErrorMessage")
        .map(|(_, value)| value.as_str());
    let moved = crate::outbound::advance(
        conn,
        organisation,
        crate::outbound::MessageUpdate {
            id,
            phone: &phone,
            current_rank: rank,
            sid: &callback.message_sid,
            status,
            error_code: callback.error_code,
            error_message,
        },
        now,
    )
    .await?;
    Ok(if moved {
        Recorded::Applied
    } else {
        Recorded::Stale
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const SID: &str = "SM0123456789abcdef0123456789abcdef";

    #[test]
    fn a_callback_needs_a_message_sid_and_a_status() {
        let ok = StatusCallback::parse(params(&[
            ("MessageSid", SID),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", "30003"),
            ("Extra", "kept"),
        ]))
        .unwrap();
        assert_eq!(ok.message_status(), "undelivered");
        assert_eq!(ok.error_code, Some(30003));
        assert_eq!(ok.params.len(), 4);

        assert_eq!(
            StatusCallback::parse(params(&[("MessageStatus", "sent")])).unwrap_err(),
            MalformedCallback::MessageSid
        );
        assert_eq!(
            StatusCallback::parse(params(&[
                ("MessageSid", "SM123"),
                ("MessageStatus", "sent")
            ]))
            .unwrap_err(),
            MalformedCallback::MessageSid
        );
        assert_eq!(
            StatusCallback::parse(params(&[("MessageSid", SID)])).unwrap_err(),
            MalformedCallback::MessageStatus
        );
    }
}
