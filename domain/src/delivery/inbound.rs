//! Replies to the organisation's numbers: STOP-type keywords opt the sender
//! out, START-type keywords opt them back in (Twilio's default keywords).

use anyhow::Context;
use sqlx::{Sqlite, SqlitePool, Transaction};

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

pub(crate) async fn insert_opt_out(
    tx: &mut Transaction<'_, Sqlite>,
    organisation: OrganisationId,
    phone: &str,
    source: &str,
    now: UnixTime,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO opt_outs (organisation_id, phone, source, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (organisation_id, phone) DO NOTHING",
    )
    .bind(organisation)
    .bind(phone)
    .bind(source)
    .bind(now)
    .execute(&mut **tx)
    .await
    .context("could not record the opt-out")?;
    Ok(())
}

/// Applies an inbound reply. Returns what it did, if anything.
pub async fn record_inbound_reply(
    pool: &SqlitePool,
    organisation: OrganisationId,
    from: &str,
    body: &str,
    now: UnixTime,
) -> anyhow::Result<Option<Keyword>> {
    let Some(keyword) = keyword(body) else {
        return Ok(None);
    };
    let mut tx = pool
        .begin()
        .await
        .context("could not start a transaction")?;
    match keyword {
        Keyword::OptOut => insert_opt_out(&mut tx, organisation, from, "stop_reply", now).await?,
        Keyword::OptIn => {
            sqlx::query("DELETE FROM opt_outs WHERE organisation_id = ? AND phone = ?")
                .bind(organisation)
                .bind(from)
                .execute(&mut *tx)
                .await
                .context("could not remove the opt-out")?;
        }
    }
    tx.commit().await.context("could not commit the reply")?;
    tracing::info!(
        organisation_id = organisation,
        ?keyword,
        "opt-out keyword received"
    );
    Ok(Some(keyword))
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
