//! Replies to the organisation's numbers: STOP-type keywords opt the sender
//! out, START-type keywords opt them back in (Twilio's default keywords).

use anyhow::Context;

use crate::db::Pool;
use crate::{clock::UnixTime, organisations::OrganisationId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    OptOut,
    OptIn,
}

/// Twilio's opt-out and opt-in keywords, matched as the whole message,
/// ignoring case, surrounding spaces and trailing punctuation.
pub fn keyword(body: &str) -> Option<Keyword> {
    let word = body
        .trim()
        .trim_end_matches(['.', '!'])
        .trim()
        .to_ascii_uppercase();
    match word.as_str() {
        "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" | "OPTOUT" | "REVOKE" => {
            Some(Keyword::OptOut)
        }
        "START" | "YES" | "UNSTOP" => Some(Keyword::OptIn),
        _ => None,
    }
}

/// An inbound message as Twilio's webhook describes it.
#[derive(Debug, Clone, Copy)]
pub struct InboundMessage<'a> {
    /// Twilio's `MessageSid`: the same message posted twice is one message.
    pub message_sid: &'a str,
    pub from: &'a str,
    pub body: &'a str,
    /// When Twilio received it, or when Outreach did if Twilio cannot say.
    pub sent_at: UnixTime,
}

/// What an inbound message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundOutcome {
    /// A message seen before (a replayed webhook): nothing changed.
    Replayed,
    /// Not a keyword.
    Ignored,
    Applied(Keyword),
    /// A keyword sent before the last one applied for this number.
    Outdated(Keyword),
}

impl Keyword {
    fn as_str(self) -> &'static str {
        match self {
            Self::OptOut => "opt_out",
            Self::OptIn => "opt_in",
        }
    }
}

/// Applies an inbound reply, once per message and in the order people sent
/// them: a replayed message changes nothing, and an older keyword never
/// overrides a newer one.
pub async fn record_inbound_reply(
    pool: &Pool,
    organisation: OrganisationId,
    message: InboundMessage<'_>,
    now: UnixTime,
) -> anyhow::Result<InboundOutcome> {
    let Some(keyword) = keyword(message.body) else {
        return Ok(InboundOutcome::Ignored);
    };
    let mut tx = pool
        .begin()
        .await
        .context("could not start a transaction")?;
    let first_time = sqlx::query(
        "INSERT INTO inbound_messages (organisation_id, message_sid, phone, sent_at, received_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(organisation)
    .bind(message.message_sid)
    .bind(message.from)
    .bind(message.sent_at)
    .bind(now)
    .execute(&mut *tx)
    .await
    .context("could not record the inbound message")?
    .rows_affected()
        == 1;
    if !first_time {
        return Ok(InboundOutcome::Replayed);
    }
    // The latest keyword wins; a tie goes to the one that arrived last.
    let newest = sqlx::query(
        "INSERT INTO opt_out_keywords (organisation_id, phone, keyword, sent_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (organisation_id, phone) DO UPDATE SET
             keyword = excluded.keyword, sent_at = excluded.sent_at
         WHERE excluded.sent_at >= opt_out_keywords.sent_at",
    )
    .bind(organisation)
    .bind(message.from)
    .bind(keyword.as_str())
    .bind(message.sent_at)
    .execute(&mut *tx)
    .await
    .context("could not record the keyword")?
    .rows_affected()
        == 1;
    if !newest {
        tx.commit().await.context("could not commit the reply")?;
        tracing::info!(
            organisation_id = %organisation,
            ?keyword,
            "an older keyword arrived late; ignored"
        );
        return Ok(InboundOutcome::Outdated(keyword));
    }
    match keyword {
        Keyword::OptOut => {
            crate::opt_outs::insert(&mut tx, organisation, message.from, "stop_reply", now).await?
        }
        Keyword::OptIn => {
            crate::opt_outs::remove(&mut tx, organisation, message.from).await?;
        }
    }
    tx.commit().await.context("could not commit the reply")?;
    tracing::info!(
        organisation_id = %organisation,
        ?keyword,
        "opt-out keyword received"
    );
    Ok(InboundOutcome::Applied(keyword))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilios_keywords_are_recognised_and_nothing_else() {
        for body in [
            "STOP",
            "stop",
            " Stop. ",
            "unsubscribe",
            "STOPALL",
            "quit!",
            "End",
        ] {
            assert_eq!(keyword(body), Some(Keyword::OptOut), "{body}");
        }
        for body in ["START", "yes", "Unstop"] {
            assert_eq!(keyword(body), Some(Keyword::OptIn), "{body}");
        }
        for body in ["", "please stop", "STOP IT", "stopp", "thanks"] {
            assert_eq!(keyword(body), None, "{body}");
        }
    }
}
