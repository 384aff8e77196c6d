//! Messages people send to the organisation's numbers. STOP-type
//! keywords opt the sender out, START-type keywords opt them back in, HELP
//! is recorded (Twilio answers it); every other message is a reply, kept
//! with the campaign it answers: the last one that messaged that number.

use anyhow::Context;

use crate::db::Pool;
use crate::{clock::UnixTime, ids::CampaignId, organisations::OrganisationId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    OptOut,
    OptIn,
    Help,
}

/// Twilio's default keywords, matched as the whole message, ignoring case,
/// surrounding spaces and trailing punctuation.
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
        "HELP" | "INFO" => Some(Keyword::Help),
        _ => None,
    }
}

/// What the message is. With Advanced Opt-Out, Twilio matched the message
/// against the Messaging Service's own keywords (in any language) and says
/// which kind it was in `OptOutType`; without it, Twilio's default
/// keywords apply.
pub fn classify(body: &str, opt_out_type: Option<&str>) -> Option<Keyword> {
    match opt_out_type
        .map(|t| t.trim().to_ascii_uppercase())
        .as_deref()
    {
        Some("STOP") => Some(Keyword::OptOut),
        Some("START") => Some(Keyword::OptIn),
        Some("HELP") => Some(Keyword::Help),
        _ => keyword(body),
    }
}

/// An inbound message as Twilio's webhook describes it.
#[derive(Debug, Clone, Copy)]
pub struct InboundMessage<'a> {
    /// Twilio's `MessageSid`: the same message posted twice is one message.
    pub message_sid: &'a str,
    pub from: &'a str,
    pub body: &'a str,
    /// Twilio's `OptOutType`, sent when the Messaging Service has Advanced
    /// Opt-Out and the message matched one of its keywords.
    pub opt_out_type: Option<&'a str>,
    /// When Twilio received it, or when Outreach did if Twilio cannot say.
    pub sent_at: UnixTime,
}

/// What an inbound message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundOutcome {
    /// A message seen before (a replayed webhook): nothing changed.
    Replayed,
    /// Not a keyword: kept as a reply.
    Reply,
    Applied(Keyword),
    /// An opt-out or opt-in keyword sent before the last one applied for
    /// this number.
    Outdated(Keyword),
}

/// The longest message text kept: Twilio's own limit.
const MAX_BODY_CHARS: usize = 1600;

impl Keyword {
    fn as_str(self) -> &'static str {
        match self {
            Self::OptOut => "opt_out",
            Self::OptIn => "opt_in",
            Self::Help => "help",
        }
    }
}

/// Records an inbound message, once per message, and applies its keyword
/// in the order people sent them: a replayed message changes nothing, and
/// an older keyword never overrides a newer one.
pub async fn record_inbound_reply(
    pool: &Pool,
    organisation: OrganisationId,
    message: InboundMessage<'_>,
    now: UnixTime,
) -> anyhow::Result<InboundOutcome> {
    let keyword = classify(message.body, message.opt_out_type);
    let body: String = message.body.chars().take(MAX_BODY_CHARS).collect();
    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    let first_time = sqlx::query(
        "INSERT INTO inbound_messages
             (organisation_id, message_sid, phone, sent_at, received_at, body, kind, campaign_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7,
             (SELECT c.id FROM campaigns c
              WHERE c.organisation_id = $1 AND c.started_at IS NOT NULL
                AND EXISTS (SELECT 1 FROM outbound_messages m
                            WHERE m.campaign_id = c.id AND m.phone = $3 AND m.twilio_sid IS NOT NULL)
              ORDER BY c.started_at DESC, c.id DESC LIMIT 1))
         ON CONFLICT DO NOTHING",
    )
    .bind(organisation)
    .bind(message.message_sid)
    .bind(message.from)
    .bind(message.sent_at)
    .bind(now)
    .bind(&body)
    .bind(keyword.map_or("reply", Keyword::as_str))
    .execute(&mut *tx)
    .await
    .context("could not record the inbound message")?
    .rows_affected()
        == 1;
    if !first_time {
        return Ok(InboundOutcome::Replayed);
    }
    let keyword = match keyword {
        None | Some(Keyword::Help) => {
            tx.commit().await.context("could not commit the reply")?;
            tracing::info!(organisation_id = %organisation, help = keyword.is_some(), "reply received");
            return Ok(keyword.map_or(InboundOutcome::Reply, InboundOutcome::Applied));
        }
        Some(keyword) => keyword,
    };
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
    if keyword == Keyword::OptOut {
        crate::opt_outs::insert(&mut tx, organisation, message.from, "stop_reply", now).await?;
    } else {
        crate::opt_outs::remove(&mut tx, organisation, message.from).await?;
    }
    tx.commit().await.context("could not commit the reply")?;
    tracing::info!(
        organisation_id = %organisation,
        ?keyword,
        "opt-out keyword received"
    );
    Ok(InboundOutcome::Applied(keyword))
}

/// A message someone sent in answer to a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub from: String,
    pub body: String,
    pub received_at: UnixTime,
    /// A HELP keyword (Twilio answered it), not a free-text reply.
    pub help: bool,
}

/// How many replies the campaign has, and the newest `limit` of them.
pub async fn fetch_replies(
    pool: &Pool,
    organisation: OrganisationId,
    campaign: CampaignId,
    limit: i64,
) -> anyhow::Result<(i64, Vec<Reply>)> {
    let count = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM inbound_messages
         WHERE campaign_id = $1 AND organisation_id = $2 AND kind IN ('reply', 'help')",
    )
    .bind(campaign)
    .bind(organisation)
    .fetch_one(pool)
    .await
    .context("could not count the replies")?;
    let rows = sqlx::query_as::<_, (String, String, i64, String)>(
        "SELECT phone, body, received_at, kind FROM inbound_messages
         WHERE campaign_id = $1 AND organisation_id = $2 AND kind IN ('reply', 'help')
         ORDER BY received_at DESC, message_sid DESC LIMIT $3",
    )
    .bind(campaign)
    .bind(organisation)
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("could not read the replies")?;
    Ok((
        count,
        rows.into_iter()
            .map(|(from, body, received_at, kind)| Reply {
                from,
                body,
                received_at,
                help: kind == "help",
            })
            .collect(),
    ))
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
        for body in ["HELP", "info."] {
            assert_eq!(keyword(body), Some(Keyword::Help), "{body}");
        }
        for body in ["", "please stop", "STOP IT", "stopp", "thanks"] {
            assert_eq!(keyword(body), None, "{body}");
        }
    }

    #[test]
    fn advanced_opt_outs_type_decides_over_the_default_keywords() {
        // A Messaging Service's own keyword, in another language.
        assert_eq!(classify("ARRET", Some("STOP")), Some(Keyword::OptOut));
        assert_eq!(classify("commencer", Some("START")), Some(Keyword::OptIn));
        assert_eq!(classify("AIDE", Some("HELP")), Some(Keyword::Help));
        // Without it, or with a value Outreach does not know, the defaults.
        assert_eq!(classify("ARRET", None), None);
        assert_eq!(classify("STOP", Some("")), Some(Keyword::OptOut));
        assert_eq!(classify("thanks!", Some("SOMETHING")), None);
    }
}

/// A message a contact sent, with the campaign it answered (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactReply {
    pub body: String,
    pub received_at: UnixTime,
    pub kind: String,
    pub campaign: Option<(CampaignId, String)>,
}

/// The newest `limit` messages the number sent the organisation: replies,
/// HELP, and STOP/START keywords.
pub async fn fetch_from_number(
    pool: &Pool,
    organisation: OrganisationId,
    phone: &str,
    limit: i64,
) -> anyhow::Result<Vec<ContactReply>> {
    let rows = sqlx::query_as::<_, (String, i64, String, Option<CampaignId>, Option<String>)>(
        "SELECT i.body, i.received_at, i.kind, c.id, c.name FROM inbound_messages i
         LEFT JOIN campaigns c ON c.id = i.campaign_id AND c.organisation_id = i.organisation_id
         WHERE i.organisation_id = $1 AND i.phone = $2
         ORDER BY i.received_at DESC, i.message_sid DESC LIMIT $3",
    )
    .bind(organisation)
    .bind(phone)
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("could not read the number's messages")?;
    Ok(rows
        .into_iter()
        .map(|(body, received_at, kind, id, name)| ContactReply {
            body,
            received_at,
            kind,
            campaign: id.zip(name),
        })
        .collect())
}
