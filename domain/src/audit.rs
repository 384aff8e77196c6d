//! The audit log: who changed what, and when. Written in the same
//! transaction as the change it describes; never holds a secret.

use anyhow::Context;

use crate::db::{DbConnection, Pool};
use crate::{clock::UnixTime, organisations::OrganisationId};

/// What a change was about: the SMS page shows the Twilio Integration's,
/// Settings > Audit log every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    TwilioIntegration,
    Team,
    OptOuts,
    Organisation,
}

impl Topic {
    fn as_str(self) -> &'static str {
        match self {
            Self::TwilioIntegration => "twilio_integration",
            Self::Team => "team",
            Self::OptOuts => "opt_outs",
            Self::Organisation => "organisation",
        }
    }
}

/// Entries in one page of the audit log.
pub const PAGE_SIZE: i64 = 50;

pub async fn record(
    conn: &mut DbConnection,
    organisation: OrganisationId,
    topic: Topic,
    actor: &str,
    action: &str,
    now: UnixTime,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO audit_events (organisation_id, topic, actor, action, at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(organisation)
    .bind(topic.as_str())
    .bind(actor)
    .bind(action)
    .bind(now)
    .execute(conn)
    .await
    .context("could not record the audit event")?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: i64,
    pub actor: String,
    pub action: String,
    pub at: UnixTime,
}

/// Up to `limit` entries, newest first, older than the entry `before` when
/// it is given (the previous page's last), of one topic or of all.
pub async fn fetch(
    pool: &Pool,
    organisation: OrganisationId,
    topic: Option<Topic>,
    before: Option<i64>,
    limit: i64,
) -> anyhow::Result<Vec<AuditEvent>> {
    let rows = sqlx::query_as::<_, (i64, String, String, i64)>(
        "SELECT id, actor, action, at FROM audit_events
         WHERE organisation_id = $1 AND ($2 IS NULL OR topic = $2) AND id < $3
         ORDER BY id DESC LIMIT $4",
    )
    .bind(organisation)
    .bind(topic.map(Topic::as_str))
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("could not fetch the audit log")?;
    Ok(rows
        .into_iter()
        .map(|(id, actor, action, at)| AuditEvent {
            id,
            actor,
            action,
            at,
        })
        .collect())
}
