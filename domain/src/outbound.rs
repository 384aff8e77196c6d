//! The outbound queue: the one module that writes `outbound_messages`.
//! Writers that must share a transaction with another table's take a
//! connection. A message moves
//! `queued -> sending -> sent -> delivered | undelivered | failed | opted_out`;
//! `sending` carries a lease: when it runs out with no answer recorded, the
//! engine reconciles the message with Twilio instead of sending it again.

use anyhow::Context;
use sqlx::FromRow;

use crate::db::statements::{Arg, Statements};
use crate::db::{Backend, DbConnection, InTurn, Pool, group_commit};
use crate::{
    clock::UnixTime,
    db::is_unique_violation,
    ids::{CampaignId, MessageId},
    organisations::OrganisationId,
    twilio::status::{MessageState, TwilioStatus, UNSUBSCRIBED},
};

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ClaimedMessage {
    pub id: MessageId,
    pub campaign_id: CampaignId,
    pub organisation_id: OrganisationId,
    pub phone: String,
    pub body: String,
    pub claimed_at: UnixTime,
    /// When its campaign's validity runs out: after that it is not sent.
    pub expires_at: UnixTime,
}

/// Whose queued messages a claim may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipients {
    All,
    /// Only recipients whose quiet hours are read in this zone (`None`:
    /// the organisation's), an index seek during quiet hours.
    InZone(Option<String>),
}

/// A claim as the process's writer takes it (see `delivery::writer`): up
/// to `limit` of a running campaign's queued messages to `recipients`.
#[derive(Debug)]
pub struct Claim {
    pub campaign: CampaignId,
    pub recipients: Recipients,
    pub limit: usize,
    pub now: UnixTime,
    pub lease_secs: i64,
}

/// What a claim took: the messages to send, and how many it withheld
/// instead because their recipient opted out after the audience was
/// checked (a STOP reply during a long campaign, say).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Claimed {
    pub to_send: Vec<ClaimedMessage>,
    pub withheld: usize,
}

impl Claimed {
    /// How many messages were taken from the queue, sent or withheld.
    pub fn taken(&self) -> usize {
        self.to_send.len() + self.withheld
    }

    /// Adds what another claim (another zone, another campaign) took.
    pub fn add(&mut self, other: Claimed) {
        self.to_send.extend(other.to_send);
        self.withheld += other.withheld;
    }
}

impl Claim {
    /// Durably claims the messages, inside `conn`'s open transaction,
    /// before anything is sent: a crash after the commit leaves them
    /// `sending` with a lease, never forgotten and never blindly resent.
    /// Those whose recipient has opted out meanwhile become `opted_out`
    /// in the same transaction and are not returned to be sent.
    pub async fn apply<S: Statements>(&self, conn: &mut S) -> anyhow::Result<Claimed> {
        let sql = claim_sql(&self.recipients, conn.backend());
        let mut args = vec![
            Arg::from(self.now),
            self.lease_secs.into(),
            self.campaign.into(),
            (self.limit as i64).into(),
        ];
        if let Recipients::InZone(Some(zone)) = &self.recipients {
            args.push(zone.as_str().into());
        }
        // One of three texts: kept prepared.
        let rows: Vec<ClaimedRow> = conn
            .fetch(&sql, args, true)
            .await
            .context("could not claim messages")?;
        let mut to_send: Vec<ClaimedMessage> = rows
            .into_iter()
            .map(
                |(id, campaign_id, organisation_id, phone, body, claimed_at, expires_at)| {
                    ClaimedMessage {
                        id,
                        campaign_id,
                        organisation_id,
                        phone,
                        body,
                        claimed_at,
                        expires_at,
                    }
                },
            )
            .collect();
        let withheld = withhold_opted_out(conn, &mut to_send, self.now).await?;
        Ok(Claimed { to_send, withheld })
    }
}

/// Of these messages just claimed (one campaign's), those whose recipient
/// is an opt-out of the organisation become `opted_out` and leave the
/// list; returns how many. A read first: almost always nobody has opted
/// out. Each statement's text changes with the number claimed: not kept
/// prepared, where it would push out the statements run for every message.
async fn withhold_opted_out<S: Statements>(
    conn: &mut S,
    claimed: &mut Vec<ClaimedMessage>,
    now: UnixTime,
) -> anyhow::Result<usize> {
    let Some(organisation) = claimed.first().map(|m| m.organisation_id) else {
        return Ok(0);
    };
    let look = format!(
        "SELECT phone FROM opt_outs WHERE organisation_id = $1 AND phone IN ({})",
        crate::db::placeholder_list(2, claimed.len())
    );
    let mut args = vec![Arg::from(organisation)];
    args.extend(claimed.iter().map(|m| Arg::from(m.phone.as_str())));
    let opted_out: std::collections::HashSet<String> = conn
        .fetch::<String>(&look, args, false)
        .await
        .context("could not look for opted-out recipients")?
        .into_iter()
        .collect();
    if opted_out.is_empty() {
        return Ok(0);
    }
    let (withheld, to_send): (Vec<_>, Vec<_>) = std::mem::take(claimed)
        .into_iter()
        .partition(|m| opted_out.contains(&m.phone));
    *claimed = to_send;
    let sql = format!(
        "UPDATE outbound_messages{} SET state = 'opted_out', lease_until = NULL, updated_at = $1,
             error_message = 'Not sent: the recipient opted out before their message went.'
         WHERE state = 'sending' AND id IN ({})",
        conn.backend().by_id_only(),
        crate::db::placeholder_list(2, withheld.len())
    );
    let mut args = vec![Arg::from(now)];
    args.extend(withheld.iter().map(|m| Arg::from(m.id)));
    conn.execute(&sql, args, false)
        .await
        .context("could not withhold opted-out recipients")?;
    Ok(withheld.len())
}

/// A claimed message's row, in `claim_sql`'s order.
type ClaimedRow = (
    MessageId,
    CampaignId,
    OrganisationId,
    String,
    String,
    UnixTime,
    UnixTime,
);

/// The claim's statement. Each of its look-ups reads the next queued
/// messages in order through an index (`outbound_messages_queued` for
/// every zone, `outbound_messages_queued_in_zone` for one), never all of a
/// campaign's queued messages: claims run many times a second.
fn claim_sql(recipients: &Recipients, backend: Backend) -> String {
    let in_zone = match recipients {
        Recipients::All => "",
        Recipients::InZone(None) => " AND local_zone IS NULL",
        Recipients::InZone(Some(_)) => " AND local_zone = $5",
    };
    // The ids are picked once (materialised: PostgreSQL could otherwise
    // run a `LIMIT … SKIP LOCKED` subquery again per row and claim more
    // than `limit`), and `state = 'queued'` is checked again against each
    // row as it is when locked, so a row another process claimed
    // meanwhile is left alone.
    format!(
        "WITH picked AS MATERIALIZED (
             SELECT id FROM outbound_messages
             WHERE campaign_id = $3 AND state = 'queued'{in_zone}
               AND EXISTS (SELECT 1 FROM campaigns WHERE id = $3 AND status = 'running'
                           AND started_at + validity_hours * 3600 > $1)
             ORDER BY id LIMIT $4{})
         UPDATE outbound_messages{}
         SET state = 'sending', claimed_at = $1, lease_until = $1 + $2,
             attempts = attempts + 1, updated_at = $1
         WHERE id IN (SELECT id FROM picked) AND state = 'queued'
         RETURNING id, campaign_id,
                   (SELECT organisation_id FROM campaigns WHERE id = $3) AS organisation_id,
                   phone, body, claimed_at,
                   (SELECT started_at + validity_hours * 3600 FROM campaigns WHERE id = $3)
                       AS expires_at",
        backend.skip_locked(),
        backend.by_id_only(),
    )
}

/// Messages changed per transaction when many change at once (a large
/// campaign cancelled, or its validity over): a few tens of milliseconds
/// of writing, so that other writers never wait long. Claims leave such
/// messages alone meanwhile: they check the campaign's status and validity.
pub const MESSAGES_PER_SETTLEMENT: i64 = 1_000;

/// Queued messages of started campaigns whose validity has run out are not
/// sent: they become `expired`, up to `MESSAGES_PER_SETTLEMENT` of them.
/// Returns how many.
pub async fn expire_overdue(pool: &Pool, now: UnixTime) -> anyhow::Result<u64> {
    let overdue = overdue(Backend::of(pool));
    if !any_of(pool, &overdue, now).await? {
        return Ok(0);
    }
    Ok(sqlx::query(&format!(
        "UPDATE outbound_messages SET state = 'expired', lease_until = NULL, updated_at = $1,
             error_message = 'Not sent: its campaign''s validity ran out before its turn.'
         WHERE id IN ({overdue})"
    ))
    .bind(now)
    .bind(MESSAGES_PER_SETTLEMENT)
    .execute(pool)
    .in_turn(pool)
    .await
    .context("could not expire overdue messages")?
    .rows_affected())
}

/// Up to $2 queued messages of the campaigns (`c`) matching `campaigns`.
/// The campaigns with queued messages are found by stepping through
/// `outbound_messages_queued` from one campaign to the next: a look-up per
/// such campaign, however many campaigns were ever cancelled or run. The
/// engine asks several times a second.
fn queued_messages_where(campaigns: &str, backend: Backend) -> String {
    // Without statistics SQLite may find the smallest campaign id through
    // another index that starts with the state: every queued message.
    let queued = format!(
        "SELECT MIN(campaign_id) FROM outbound_messages{} WHERE state = 'queued'",
        backend.indexed_by("outbound_messages_queued")
    );
    format!(
        "WITH RECURSIVE queuing (id) AS (
             SELECT ({queued})
             UNION ALL
             SELECT ({queued} AND campaign_id > queuing.id) FROM queuing WHERE id IS NOT NULL)
         SELECT id FROM outbound_messages
         WHERE state = 'queued' AND campaign_id IN
             (SELECT c.id FROM queuing q JOIN campaigns c ON c.id = q.id WHERE {campaigns})
         LIMIT $2"
    )
}

/// Queued messages of campaigns whose validity ran out ($1: now).
fn overdue(backend: Backend) -> String {
    queued_messages_where(
        "c.status IN ('running', 'paused') AND c.started_at + c.validity_hours * 3600 <= $1",
        backend,
    )
}

/// Queued messages of cancelled campaigns: what their cancellation did not
/// withdraw at once.
fn left_by_a_cancel(backend: Backend) -> String {
    queued_messages_where("c.status = 'cancelled'", backend)
}

/// Whether `query` (with $1: now, $2: a limit) finds any message. The
/// engine asks a few times a second: a read, where an UPDATE that matches
/// nothing would still take SQLite's write lock each time.
async fn any_of(pool: &Pool, query: &str, now: UnixTime) -> anyhow::Result<bool> {
    let found = sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM ({query}) q"))
        .bind(now)
        .bind(1_i64)
        .fetch_one(pool)
        .await
        .context("could not look for messages to settle")?;
    Ok(found > 0)
}

/// Why a cancelled campaign's message was not sent.
macro_rules! cancelled_reason {
    () => {
        "Not sent: the campaign was cancelled."
    };
}

const WITHDRAWN: &str = concat!(
    "state = 'cancelled', updated_at = $1, error_message = '",
    cancelled_reason!(),
    "'"
);

/// Withdraws up to `MESSAGES_PER_SETTLEMENT` queued messages of cancelled
/// campaigns; returns how many.
pub async fn withdraw_cancelled(pool: &Pool, now: UnixTime) -> anyhow::Result<u64> {
    let left = left_by_a_cancel(Backend::of(pool));
    if !any_of(pool, &left, now).await? {
        return Ok(0);
    }
    Ok(sqlx::query(&format!(
        "UPDATE outbound_messages SET {WITHDRAWN} WHERE id IN ({left})"
    ))
    .bind(now)
    .bind(MESSAGES_PER_SETTLEMENT)
    .execute(pool)
    .in_turn(pool)
    .await
    .context("could not withdraw the cancelled campaigns' messages")?
    .rows_affected())
}

/// Twilio created the message (201, or found by a look-up). A callback
/// that arrived first may already have moved it further: never back.
pub async fn record_accepted(
    conn: &mut DbConnection,
    id: MessageId,
    sid: &str,
    twilio_status: &str,
    now: UnixTime,
) -> anyhow::Result<()> {
    let answer = AcceptedAnswer {
        id,
        sid: sid.to_owned(),
        twilio_status: twilio_status.to_owned(),
        received_at: now,
    };
    record_accepted_answers(conn, &[&answer]).await
}

/// Twilio's acceptance of one send, to note with the others that arrive
/// meanwhile (see `db::group_commit`).
pub struct AcceptedAnswer {
    pub id: MessageId,
    pub sid: String,
    pub twilio_status: String,
    pub received_at: UnixTime,
}

impl group_commit::Write for AcceptedAnswer {
    type Output = ();

    async fn apply_all<'c, S: Statements>(
        writes: &'c [&'c Self],
        conn: &'c mut S,
    ) -> anyhow::Result<Vec<()>> {
        // Two answers for one message (never from one send) would make
        // one UPDATE's outcome depend on the join's order: one by one.
        let mut ids: Vec<MessageId> = writes.iter().map(|answer| answer.id).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() < writes.len() {
            for answer in writes {
                record_accepted_answers(&mut *conn, &[answer]).await?;
            }
        } else {
            record_accepted_answers(conn, writes).await?;
        }
        Ok(vec![(); writes.len()])
    }
}

/// Notes Twilio's answers (each for a different message) in one UPDATE:
/// each message gets its SID and moves to its answer's status unless a
/// callback already moved it as far.
pub(crate) async fn record_accepted_answers<S: Statements>(
    conn: &mut S,
    answers: &[&AcceptedAnswer],
) -> anyhow::Result<()> {
    if answers.is_empty() {
        return Ok(());
    }
    let sql = accepted_answers_sql(conn.backend(), answers.len());
    let mut args = Vec::with_capacity(6 * answers.len());
    for answer in answers {
        let status = TwilioStatus::parse(&answer.twilio_status).unwrap_or(TwilioStatus::Accepted);
        args.extend([
            Arg::from(answer.id),
            answer.sid.as_str().into(),
            status.rank().into(),
            status.message_state(None).as_str().into(),
            status.as_str().into(),
            answer.received_at.into(),
        ]);
    }
    // Its text changes with the group's size: only one answer's is kept
    // prepared, where more would push out the statements run per message.
    conn.execute(&sql, args, answers.len() == 1)
        .await
        .context("could not record the accepted messages")?;
    Ok(())
}

fn accepted_answers_sql(backend: Backend, answers: usize) -> String {
    format!(
        "WITH answers (message_id, sid, rank, state, twilio_status, received_at) AS (VALUES {})
         UPDATE outbound_messages
         SET twilio_sid = COALESCE(outbound_messages.twilio_sid, answers.sid),
             state = CASE WHEN outbound_messages.status_rank < answers.rank
                          THEN answers.state ELSE outbound_messages.state END,
             twilio_status = CASE WHEN outbound_messages.status_rank < answers.rank
                                  THEN answers.twilio_status ELSE outbound_messages.twilio_status END,
             status_rank = CASE WHEN outbound_messages.status_rank < answers.rank
                                THEN answers.rank ELSE outbound_messages.status_rank END,
             lease_until = NULL, reconcile_attempts = 0, updated_at = answers.received_at
         FROM answers
         WHERE outbound_messages.id = answers.message_id",
        backend.typed_placeholder_rows(
            answers,
            &["BIGINT", "TEXT", "BIGINT", "TEXT", "TEXT", "BIGINT"]
        )
    )
}

/// Twilio certainly did not create it (429, 401, no connection): it goes
/// back in the queue.
pub async fn release(pool: &Pool, id: MessageId, now: UnixTime) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE outbound_messages SET state = 'queued', lease_until = NULL, updated_at = $1
         WHERE id = $2 AND state = 'sending'",
    )
    .bind(now)
    .bind(id)
    .execute(pool)
    .in_turn(pool)
    .await
    .context("could not put the message back in the queue")?;
    Ok(())
}

/// Twilio refused this message for good (21211, 21610, ...). An
/// unsubscribed recipient is added to the organisation's opt-outs.
pub async fn record_refused(
    pool: &Pool,
    message: &ClaimedMessage,
    code: Option<u64>,
    twilio_message: &str,
    now: UnixTime,
) -> anyhow::Result<()> {
    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    let new_state = if code == Some(UNSUBSCRIBED) {
        MessageState::OptedOut
    } else {
        MessageState::Failed
    };
    sqlx::query(
        "UPDATE outbound_messages
         SET state = $1, error_code = $2, error_message = $3, lease_until = NULL, updated_at = $4
         WHERE id = $5 AND state = 'sending'",
    )
    .bind(new_state)
    .bind(code.map(|c| c as i64))
    .bind(twilio_message)
    .bind(now)
    .bind(message.id)
    .execute(&mut *tx)
    .await
    .context("could not record the refusal")?;
    if new_state == MessageState::OptedOut {
        crate::opt_outs::insert(
            &mut tx,
            message.organisation_id,
            &message.phone,
            "twilio_21610",
            now,
        )
        .await?;
    }
    tx.commit().await.context("could not commit the refusal")?;
    Ok(())
}

/// Read through `outbound_messages_leased`, which holds only the messages
/// being sent.
const EXPIRED_LEASES: &str = "SELECT m.id, m.campaign_id, c.organisation_id, m.phone, m.body,
            COALESCE(m.claimed_at, m.created_at) AS claimed_at,
            COALESCE(c.started_at, m.created_at) + c.validity_hours * 3600 AS expires_at
     FROM outbound_messages m JOIN campaigns c ON c.id = m.campaign_id
     WHERE m.state = 'sending' AND m.lease_until < $1
     ORDER BY m.lease_until LIMIT $2";

/// Messages whose send outcome nobody recorded before the lease ran out.
pub async fn expired_leases(
    pool: &Pool,
    now: UnixTime,
    limit: usize,
) -> anyhow::Result<Vec<ClaimedMessage>> {
    sqlx::query_as::<_, ClaimedMessage>(EXPIRED_LEASES)
        .bind(now)
        .bind(limit as i64)
        .fetch_all(pool)
        .await
        .context("could not list expired leases")
}

/// A look-up found the message at Twilio: adopt its SID. If that SID is
/// already another message's, this one was not sent.
pub async fn adopt_found(
    pool: &Pool,
    id: MessageId,
    sid: &str,
    twilio_status: &str,
    now: UnixTime,
) -> anyhow::Result<()> {
    let mut conn = crate::db::write_connection(pool)
        .await
        .context("no database connection")?;
    let adopted = record_accepted(&mut conn, id, sid, twilio_status, now).await;
    drop(conn);
    match adopted {
        Err(e)
            if e.downcast_ref::<sqlx::Error>()
                .is_some_and(is_unique_violation) =>
        {
            release(pool, id, now).await
        }
        other => other,
    }
}

/// Looks again after another lease.
pub async fn extend_lease(
    pool: &Pool,
    id: MessageId,
    now: UnixTime,
    lease_secs: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE outbound_messages SET lease_until = $1 WHERE id = $2 AND state = 'sending'",
    )
    .bind(now + lease_secs)
    .bind(id)
    .execute(pool)
    .in_turn(pool)
    .await
    .context("could not extend the lease")?;
    Ok(())
}

/// The look-up itself failed: try again after another lease; after
/// `max_attempts`, a person decides ("outcome unknown").
pub async fn postpone_reconciliation(
    pool: &Pool,
    id: MessageId,
    now: UnixTime,
    lease_secs: i64,
    max_attempts: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE outbound_messages
         SET reconcile_attempts = reconcile_attempts + 1,
             lease_until = $1 + $2, updated_at = $1,
             state = CASE WHEN reconcile_attempts + 1 >= $3 THEN 'unknown' ELSE state END,
             error_message = CASE WHEN reconcile_attempts + 1 >= $3
                 THEN 'Twilio could not confirm whether this message was sent.'
                 ELSE error_message END
         WHERE id = $4 AND state = 'sending'",
    )
    .bind(now)
    .bind(lease_secs)
    .bind(max_attempts)
    .bind(id)
    .execute(pool)
    .in_turn(pool)
    .await
    .context("could not postpone the reconciliation")?;
    Ok(())
}

/// Some carriers never confirm delivery, so Twilio's `sent` can be the
/// last status a message gets. A day after it was sent, it is taken as
/// final: the campaign can complete and Twilio is no longer asked.
pub const NO_RECEIPT_AFTER_SECS: i64 = 24 * 60 * 60;

/// A message Twilio has (`sent` or earlier) whose callbacks stopped coming.
#[derive(Debug, Clone, FromRow)]
pub struct QuietMessage {
    pub id: MessageId,
    pub organisation_id: OrganisationId,
    pub phone: String,
    pub twilio_sid: String,
    pub status_rank: i64,
}

/// Read through `outbound_messages_quiet`, which holds only the messages
/// sent and not yet delivered or failed.
const QUIET_MESSAGES: &str = "SELECT m.id, c.organisation_id, m.phone, m.twilio_sid, m.status_rank
     FROM outbound_messages m JOIN campaigns c ON c.id = m.campaign_id
     WHERE m.state = 'sent' AND m.twilio_sid IS NOT NULL AND m.updated_at < $1
       AND m.claimed_at > $2
     ORDER BY m.updated_at LIMIT $3";

/// Messages still `sent` with nothing heard since `quiet_since`: their
/// callbacks may have been lost (Twilio does not retry them), so the
/// engine asks Twilio for their status.
pub async fn quiet_messages(
    pool: &Pool,
    now: UnixTime,
    quiet_since: UnixTime,
    limit: usize,
) -> anyhow::Result<Vec<QuietMessage>> {
    sqlx::query_as::<_, QuietMessage>(QUIET_MESSAGES)
        .bind(quiet_since)
        .bind(now - NO_RECEIPT_AFTER_SECS)
        .bind(limit as i64)
        .fetch_all(pool)
        .await
        .context("could not list quiet messages")
}

/// Applies a status learnt by looking the message up (forward only), and
/// notes the look-up (even a failed one, `None`) so the message is not
/// asked about again until it has been quiet for a while more.
pub async fn record_looked_up_status(
    pool: &Pool,
    message: &QuietMessage,
    found: Option<&crate::twilio::AcceptedMessage>,
    now: UnixTime,
) -> anyhow::Result<()> {
    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    let moved = match found.and_then(|f| Some((f, TwilioStatus::parse(&f.status)?))) {
        Some((found, status)) => {
            advance(
                &mut tx,
                message.organisation_id,
                MessageUpdate {
                    id: message.id,
                    phone: &message.phone,
                    current_rank: message.status_rank,
                    sid: &message.twilio_sid,
                    status,
                    error_code: found.error_code,
                    error_message: found.error_message.as_deref(),
                },
                now,
            )
            .await?
        }
        None => false,
    };
    if !moved {
        sqlx::query("UPDATE outbound_messages SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(message.id)
            .execute(&mut *tx)
            .await
            .context("could not note the look-up")?;
    }
    tx.commit().await.context("could not commit the look-up")?;
    Ok(())
}
/// A status learnt for one message, from a callback or a look-up.
pub struct MessageUpdate<'a> {
    pub id: MessageId,
    pub phone: &'a str,
    pub current_rank: i64,
    pub sid: &'a str,
    pub status: TwilioStatus,
    pub error_code: Option<u64>,
    pub error_message: Option<&'a str>,
}

/// Moves the message to `status` if that is forward in Twilio's order;
/// an unsubscribed recipient (21610) becomes an opt-out. Returns whether
/// it moved.
pub async fn advance(
    conn: &mut DbConnection,
    organisation: OrganisationId,
    update: MessageUpdate<'_>,
    now: UnixTime,
) -> anyhow::Result<bool> {
    let status = update.status;
    if status.rank() <= update.current_rank {
        return Ok(false);
    }
    let moved = advance_all(
        conn,
        &[Move {
            organisation,
            id: update.id,
            phone: update.phone,
            sid: update.sid,
            status,
            error_code: update.error_code,
            error_message: update.error_message,
            opted_out: status.message_state(update.error_code) == MessageState::OptedOut,
            at: now,
        }],
    )
    .await?;
    Ok(moved.contains(&update.id))
}

/// Where a group of status updates leaves one message: the last status
/// that moved it forward, the last error code and message given, and
/// whether one of them made the recipient an opt-out.
pub struct Move<'a> {
    pub organisation: OrganisationId,
    pub id: MessageId,
    pub phone: &'a str,
    pub sid: &'a str,
    pub status: TwilioStatus,
    pub error_code: Option<u64>,
    pub error_message: Option<&'a str>,
    pub opted_out: bool,
    pub at: UnixTime,
}

/// Moves each message (one move per message) to its status if that is
/// still forward of where it is, in one UPDATE; the recipients of those
/// that moved and opted out become opt-outs. Returns the ids that moved.
pub async fn advance_all<S: Statements>(
    conn: &mut S,
    moves: &[Move<'_>],
) -> anyhow::Result<std::collections::HashSet<MessageId>> {
    if moves.is_empty() {
        return Ok(Default::default());
    }
    let sql = advance_all_sql(conn.backend(), moves.len());
    let mut args = Vec::with_capacity(8 * moves.len());
    for step in moves {
        args.extend([
            Arg::from(step.id),
            step.sid.into(),
            step.status.as_str().into(),
            step.status.rank().into(),
            step.status.message_state(step.error_code).as_str().into(),
            step.error_code.map(|c| c as i64).into(),
            step.error_message.into(),
            step.at.into(),
        ]);
    }
    // Only one move's text is kept prepared (see `record_accepted_answers`).
    let moved: std::collections::HashSet<MessageId> = conn
        .fetch(&sql, args, moves.len() == 1)
        .await
        .context("could not update the messages")?
        .into_iter()
        .collect();
    for step in moves {
        if step.opted_out && moved.contains(&step.id) {
            crate::opt_outs::insert(conn, step.organisation, step.phone, "twilio_21610", step.at)
                .await?;
        }
    }
    Ok(moved)
}

fn advance_all_sql(backend: Backend, moves: usize) -> String {
    format!(
        "WITH moves (message_id, sid, twilio_status, rank, state, error_code, error_message, moved_at)
             AS (VALUES {})
         UPDATE outbound_messages
         SET twilio_sid = moves.sid, twilio_status = moves.twilio_status,
             status_rank = moves.rank, state = moves.state,
             error_code = COALESCE(moves.error_code, outbound_messages.error_code),
             error_message = COALESCE(moves.error_message, outbound_messages.error_message),
             lease_until = NULL, updated_at = moves.moved_at
         FROM moves
         WHERE outbound_messages.id = moves.message_id
           AND outbound_messages.status_rank < moves.rank
         RETURNING outbound_messages.id",
        backend.typed_placeholder_rows(
            moves,
            &["BIGINT", "TEXT", "TEXT", "BIGINT", "TEXT", "BIGINT", "TEXT", "BIGINT"]
        )
    )
}

/// Rows per multi-row INSERT of queued messages.
const MESSAGES_PER_INSERT: usize = 500;

/// A campaign's message to one recipient, about to be queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub phone: String,
    pub body: String,
    /// The zone the recipient's quiet hours are read in; `None`: the
    /// organisation's.
    pub local_zone: Option<&'static str>,
}

/// How a campaign's messages are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// Queued, to be sent.
    Queued,
    /// Already withdrawn: the campaign was cancelled while its recipients
    /// were still being queued. Stored all the same, so that its recipient
    /// table lists every recipient.
    Withdrawn,
}

/// Stores the campaign's messages, queued or withdrawn.
pub async fn enqueue(
    conn: &mut DbConnection,
    campaign: CampaignId,
    messages: &[NewMessage],
    entry: Entry,
    now: UnixTime,
) -> anyhow::Result<()> {
    let backend = Backend::of_connection(conn);
    let (state, reason) = match entry {
        Entry::Queued => (MessageState::Queued, None),
        Entry::Withdrawn => (MessageState::Cancelled, Some(cancelled_reason!())),
    };
    for chunk in messages.chunks(MESSAGES_PER_INSERT) {
        let sql = format!(
            "INSERT INTO outbound_messages
                 (campaign_id, phone, body, local_zone, state, error_message, created_at, updated_at)
             VALUES {}",
            backend.placeholder_rows(chunk.len(), 8)
        );
        let mut insert = sqlx::query(&sql);
        for message in chunk {
            insert = insert
                .bind(campaign)
                .bind(&message.phone)
                .bind(&message.body)
                .bind(message.local_zone)
                .bind(state)
                .bind(reason)
                .bind(now)
                .bind(now);
        }
        insert
            .execute(&mut *conn)
            .await
            .context("could not queue messages")?;
    }
    Ok(())
}

/// A cancelled campaign's queued messages will never be sent: withdraws
/// up to `MESSAGES_PER_SETTLEMENT` of them (the engine withdraws any left,
/// see `withdraw_cancelled`); returns how many.
pub async fn withdraw_queued(
    conn: &mut DbConnection,
    campaign: CampaignId,
    now: UnixTime,
) -> anyhow::Result<u64> {
    Ok(sqlx::query(&format!(
        "UPDATE outbound_messages SET {WITHDRAWN}
         WHERE id IN (SELECT id FROM outbound_messages
                      WHERE campaign_id = $2 AND state = 'queued' LIMIT $3)"
    ))
    .bind(now)
    .bind(campaign)
    .bind(MESSAGES_PER_SETTLEMENT)
    .execute(conn)
    .await
    .context("could not withdraw the queued messages")?
    .rows_affected())
}

/// Found through `outbound_messages_unknown`, which holds only those.
const SETTLE_UNKNOWN: &str =
    "UPDATE outbound_messages SET state = $1, error_message = $2, lease_until = NULL,
         reconcile_attempts = 0, updated_at = $3
     WHERE state = 'unknown' AND campaign_id =
         (SELECT id FROM campaigns WHERE id = $4 AND organisation_id = $5)";

/// Moves every `unknown` message of the organisation's campaign to `state`
/// (queued again, or failed with `reason`); returns how many moved.
pub async fn settle_unknown(
    conn: &mut DbConnection,
    organisation: OrganisationId,
    campaign: CampaignId,
    state: MessageState,
    reason: Option<&str>,
    now: UnixTime,
) -> anyhow::Result<u64> {
    Ok(sqlx::query(SETTLE_UNKNOWN)
        .bind(state)
        .bind(reason)
        .bind(now)
        .bind(campaign)
        .bind(organisation)
        .execute(conn)
        .await
        .context("could not apply the decision")?
        .rows_affected())
}

/// Found through `outbound_messages_failed`, which holds only failures.
const FAILURES_BY_CODE: &str = "SELECT error_code, COUNT(*) FROM outbound_messages
     WHERE campaign_id = $1 AND state IN ('undelivered', 'failed') AND error_code IS NOT NULL
     GROUP BY error_code";

/// What the failure guard looks at for one campaign: how many messages it
/// has (up to `first_messages`), how many reached a final state (from its
/// counts), and the carrier failures among them by error code (through
/// `outbound_messages_failed`, which holds only failures). The guard
/// stops asking once the first messages have settled.
pub async fn failure_guard_counts(
    pool: &Pool,
    campaign: CampaignId,
    first_messages: i64,
) -> anyhow::Result<crate::failure_guard::GuardCounts> {
    let window = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM (SELECT 1 FROM outbound_messages WHERE campaign_id = $1 LIMIT $2) w",
    )
    .bind(campaign)
    .bind(first_messages)
    .fetch_one(pool)
    .await
    .context("could not count the campaign's first messages")?;
    let settled = sqlx::query_scalar::<_, i64>(&format!(
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM ({COUNTS}) c
         WHERE state IN ('delivered', 'undelivered', 'failed')",
        COUNTS = counts_where("campaign_id = $1")
    ))
    .bind(campaign)
    .fetch_one(pool)
    .await
    .context("could not count the campaign's settled messages")?;
    let failures = sqlx::query_as::<_, (i64, i64)>(FAILURES_BY_CODE)
        .bind(campaign)
        .fetch_all(pool)
        .await
        .context("could not count the campaign's failures")?;
    Ok(crate::failure_guard::GuardCounts {
        window,
        settled,
        failures: failures
            .into_iter()
            .filter(|(code, _)| crate::failure_guard::is_carrier_error(*code))
            .collect(),
    })
}

/// How many of a campaign's recipients, while it is still being queued
/// (see `campaigns::store::queue_next_chunks`), are not stored as messages
/// yet: they wait as the queued ones do, on its page and in `/metrics`.
pub(crate) fn not_queued_yet(audience_size: i64, messages_stored: i64) -> i64 {
    (audience_size - messages_stored).max(0)
}

/// How many messages wait in each unsettled state (queued, sending,
/// unknown), across the database: read from the campaigns' counts, with
/// the recipients not stored as messages yet counted as queued (see
/// `not_queued_yet`).
pub async fn queue_depth(pool: &Pool) -> anyhow::Result<Vec<(MessageState, i64)>> {
    let mut counted = sqlx::query_as::<_, (MessageState, i64)>(&format!(
        "SELECT state, CAST(SUM(n) AS BIGINT) FROM ({COUNTS}) c
         WHERE state IN ('queued', 'sending', 'unknown') GROUP BY state",
        COUNTS = counts_where("TRUE")
    ))
    .fetch_all(pool)
    .await
    .context("could not count the queue")?;
    // Each campaign still being queued: its audience and its messages.
    let queuing = sqlx::query_as::<_, (i64, i64)>(&format!(
        "SELECT COALESCE(a.recipients, 0), CAST(COALESCE(m.n, 0) AS BIGINT)
         FROM campaigns c
         LEFT JOIN audiences a ON a.id = c.audience_id
         LEFT JOIN (SELECT campaign_id, SUM(n) AS n FROM ({COUNTS}) x GROUP BY campaign_id) m
           ON m.campaign_id = c.id
         WHERE c.queued_through IS NOT NULL",
        COUNTS = counts_where(
            "campaign_id IN (SELECT id FROM campaigns WHERE queued_through IS NOT NULL)"
        )
    ))
    .fetch_all(pool)
    .await
    .context("could not count the recipients still to queue")?;
    let unqueued: i64 = queuing
        .into_iter()
        .map(|(audience, stored)| not_queued_yet(audience, stored))
        .sum();
    if unqueued > 0 {
        match counted
            .iter_mut()
            .find(|(state, _)| *state == MessageState::Queued)
        {
            Some((_, n)) => *n += unqueued,
            None => counted.push((MessageState::Queued, unqueued)),
        }
    }
    Ok([
        MessageState::Queued,
        MessageState::Sending,
        MessageState::Unknown,
    ]
    .into_iter()
    .map(|state| {
        let n = counted
            .iter()
            .find(|(s, _)| *s == state)
            .map_or(0, |(_, n)| *n);
        (state, n)
    })
    .collect())
}

/// The rows to add up for message counts: the folded counts and the
/// changes not folded yet (see the large_campaigns migration; none on
/// SQLite, which counts in place), of the
/// campaigns matching `filter` (on `campaign_id`), as (campaign_id, state,
/// local_zone, n).
pub(crate) fn counts_where(filter: &str) -> String {
    format!(
        "SELECT campaign_id, state, local_zone, messages AS n
           FROM campaign_message_counts WHERE {filter}
         UNION ALL
         SELECT campaign_id, to_state, local_zone, 1 FROM message_count_changes WHERE {filter}
         UNION ALL
         SELECT campaign_id, from_state, local_zone, -1 FROM message_count_changes
          WHERE from_state IS NOT NULL AND {filter}"
    )
}

pub(crate) fn counts_by_zone_sql() -> String {
    format!(
        "SELECT state, local_zone, CAST(SUM(n) AS BIGINT) FROM ({COUNTS}) c
         GROUP BY state, local_zone HAVING SUM(n) <> 0",
        COUNTS = counts_where("campaign_id = $1")
    )
}

pub(crate) fn counts_of_organisation_sql() -> String {
    format!(
        "SELECT campaign_id, state, CAST(SUM(n) AS BIGINT) FROM ({COUNTS}) c
         GROUP BY campaign_id, state HAVING SUM(n) <> 0",
        COUNTS =
            counts_where("campaign_id IN (SELECT id FROM campaigns WHERE organisation_id = $1)")
    )
}

/// A campaign's messages by state and by their recipients' zone (`None`:
/// the organisation's), without the states it has none in. A few rows
/// however many messages there are.
pub async fn counts_by_zone(
    pool: &Pool,
    campaign: CampaignId,
) -> anyhow::Result<Vec<(MessageState, Option<String>, i64)>> {
    let rows = sqlx::query_as::<_, (MessageState, String, i64)>(&counts_by_zone_sql())
        .bind(campaign)
        .fetch_all(pool)
        .await
        .context("could not count the campaign's messages")?;
    Ok(rows
        .into_iter()
        .map(|(state, zone, n)| (state, (!zone.is_empty()).then_some(zone), n))
        .collect())
}

/// Every campaign of the organisation's messages by state, in one query.
pub async fn counts_of_organisation(
    pool: &Pool,
    organisation: OrganisationId,
) -> anyhow::Result<Vec<(CampaignId, MessageState, i64)>> {
    sqlx::query_as::<_, (CampaignId, MessageState, i64)>(&counts_of_organisation_sql())
        .bind(organisation)
        .fetch_all(pool)
        .await
        .context("could not count the campaigns' messages")
}

/// Changes folded into the counts per transaction: a few milliseconds of
/// writing, so other writers never wait long.
const CHANGES_PER_FOLD: i64 = 2_000;

/// Folds noted count changes into the campaigns' counts, a chunk per
/// transaction, until none are left; returns how many were folded. The
/// housekeeping engine calls it beside sending, a few times a second, where
/// changes are noted (`Backend::notes_count_changes`: PostgreSQL). On
/// SQLite it only has work in a database not yet upgraded.
pub async fn fold_count_changes(pool: &Pool) -> anyhow::Result<u64> {
    const OLDEST: &str = "id IN (SELECT id FROM message_count_changes ORDER BY id LIMIT $1)";
    let mut folded = 0;
    loop {
        // A read first: most of the time there is nothing to fold, and a
        // write transaction would take SQLite's write lock for nothing.
        let pending = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM (SELECT 1 FROM message_count_changes LIMIT 1) c",
        )
        .fetch_one(pool)
        .await
        .context("could not look for count changes")?;
        if pending == 0 {
            return Ok(folded);
        }
        let mut tx = crate::db::begin_write(pool)
            .await
            .context("could not start a transaction")?;
        let chunk = match Backend::of(pool) {
            // Each change deleted is added exactly once. A change with a
            // smaller id may still be uncommitted: a later fold takes it.
            Backend::Postgres => sqlx::query_scalar::<_, i64>(&format!(
                "WITH gone AS (
                     DELETE FROM message_count_changes WHERE {OLDEST}
                     RETURNING campaign_id, from_state, to_state, local_zone),
                 added AS (
                     SELECT campaign_id, to_state AS state, local_zone, 1 AS n FROM gone
                     UNION ALL
                     SELECT campaign_id, from_state, local_zone, -1 FROM gone
                      WHERE from_state IS NOT NULL),
                 upserted AS (
                     INSERT INTO campaign_message_counts (campaign_id, state, local_zone, messages)
                     SELECT campaign_id, state, local_zone, SUM(n) FROM added
                     GROUP BY campaign_id, state, local_zone
                     ON CONFLICT (campaign_id, state, local_zone)
                     DO UPDATE SET messages = campaign_message_counts.messages + excluded.messages
                     RETURNING 1)
                 SELECT COUNT(*) FROM gone"
            ))
            .bind(CHANGES_PER_FOLD)
            .fetch_one(&mut *tx)
            .await
            .context("could not fold the count changes")?,
            // The INSERT takes the write lock, so nothing is added between
            // it and the DELETE: both see the same oldest changes.
            Backend::Sqlite => {
                sqlx::query(&format!(
                    "INSERT INTO campaign_message_counts (campaign_id, state, local_zone, messages)
                     SELECT campaign_id, state, local_zone, SUM(n) FROM (
                         SELECT campaign_id, to_state AS state, local_zone, 1 AS n
                           FROM message_count_changes WHERE {OLDEST}
                         UNION ALL
                         SELECT campaign_id, from_state, local_zone, -1
                           FROM message_count_changes WHERE from_state IS NOT NULL AND {OLDEST}
                     ) c WHERE TRUE
                     GROUP BY campaign_id, state, local_zone
                     ON CONFLICT (campaign_id, state, local_zone)
                     DO UPDATE SET messages = campaign_message_counts.messages + excluded.messages"
                ))
                .bind(CHANGES_PER_FOLD)
                .execute(&mut *tx)
                .await
                .context("could not fold the count changes")?;
                sqlx::query(&format!("DELETE FROM message_count_changes WHERE {OLDEST}"))
                    .bind(CHANGES_PER_FOLD)
                    .execute(&mut *tx)
                    .await
                    .context("could not remove the folded count changes")?
                    .rows_affected() as i64
            }
        };
        tx.commit()
            .await
            .context("could not commit the folded counts")?;
        folded += chunk as u64;
        if chunk < CHANGES_PER_FOLD {
            return Ok(folded);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::db::testing::{fresh_database, sqlite_plan};

    /// A claim reads the next few queued messages in order, whatever the
    /// zone: never every queued message of the campaign, sorted (which is
    /// what a million-recipient campaign's every sending pass once did).
    #[tokio::test]
    async fn claims_read_the_next_messages_in_order_through_an_index() {
        let (pool, _dir) = fresh_database().await;
        if crate::db::Backend::of(&pool) != crate::db::Backend::Sqlite {
            return; // PostgreSQL's plans depend on table sizes.
        }
        for recipients in [
            super::Recipients::All,
            super::Recipients::InZone(None),
            super::Recipients::InZone(Some("America/New_York".to_owned())),
        ] {
            let sql = super::claim_sql(&recipients, crate::db::Backend::Sqlite);
            let plan = sqlite_plan(&pool, &sql).await;
            assert!(
                plan.iter()
                    .any(|step| step.starts_with("SEARCH outbound_messages USING ")
                        && step.contains("(campaign_id=?")),
                "{recipients:?}: {plan:?}"
            );
            // And the claimed rows are updated by id, not found again
            // among every queued message.
            assert!(
                plan.iter()
                    .any(|step| step
                        == "SEARCH outbound_messages USING INTEGER PRIMARY KEY (rowid=?)"),
                "{recipients:?}: {plan:?}"
            );
            assert!(
                !plan.iter().any(|step| step.contains("TEMP B-TREE")
                    || step.starts_with("SCAN outbound_messages")),
                "{recipients:?}: {plan:?}"
            );
        }
    }

    /// Claims for one zone, settling a campaign's `unknown` messages and
    /// the failure guard's failures each read only the messages they ask
    /// about, through an index of only those: never every message of the
    /// campaign (its numbers' index), nor an index every message is in.
    #[tokio::test]
    async fn look_ups_of_a_few_messages_read_only_those() {
        let (pool, _dir) = fresh_database().await;
        if crate::db::Backend::of(&pool) != crate::db::Backend::Sqlite {
            return; // PostgreSQL's plans depend on table sizes.
        }
        for (query, index) in [
            (
                super::claim_sql(&super::Recipients::InZone(None), crate::db::Backend::Sqlite),
                "outbound_messages_queued_in_zone (campaign_id=? AND local_zone=?)",
            ),
            (
                super::claim_sql(
                    &super::Recipients::InZone(Some("America/Chicago".to_owned())),
                    crate::db::Backend::Sqlite,
                ),
                "outbound_messages_queued_in_zone (campaign_id=? AND local_zone=?)",
            ),
            (
                super::SETTLE_UNKNOWN.to_owned(),
                "outbound_messages_unknown (campaign_id=?)",
            ),
            (
                super::FAILURES_BY_CODE.to_owned(),
                "outbound_messages_failed (campaign_id=? AND error_code>?)",
            ),
        ] {
            let plan = sqlite_plan(&pool, &query).await;
            assert!(
                plan.iter()
                    .any(|step| step.starts_with("SEARCH outbound_messages USING ")
                        && step.ends_with(index)),
                "{query}: {plan:?}"
            );
            assert!(
                !plan
                    .iter()
                    .any(|step| step.starts_with("SCAN outbound_messages")
                        || step.contains("sqlite_autoindex_outbound_messages")
                        || step.contains("TEMP B-TREE")),
                "{query}: {plan:?}"
            );
        }
    }

    /// Withdrawing what a cancel left and expiring what waited too long
    /// run beside sending, every quarter of a second: they look up queued
    /// messages campaign by campaign, never through every message (or
    /// every queued message of every campaign, or every campaign) stored.
    #[tokio::test]
    async fn settling_many_messages_reads_only_the_campaigns_concerned() {
        let (pool, _dir) = fresh_database().await;
        if crate::db::Backend::of(&pool) != crate::db::Backend::Sqlite {
            return; // PostgreSQL's plans depend on table sizes.
        }
        for query in [
            super::overdue(crate::db::Backend::Sqlite),
            super::left_by_a_cancel(crate::db::Backend::Sqlite),
        ] {
            let plan = sqlite_plan(&pool, &query).await;
            assert!(
                plan.iter().any(|step| step
                    == "SEARCH outbound_messages USING COVERING INDEX outbound_messages_queued (campaign_id=?)"),
                "{plan:?}"
            );
            assert!(
                !plan
                    .iter()
                    .any(|step| step.starts_with("SCAN outbound_messages")),
                "{plan:?}"
            );
            // Nor through every campaign ever cancelled or run: the
            // campaigns with queued messages come from the queued index.
            assert!(
                !plan.iter().any(|step| step.starts_with("SCAN campaigns")
                    || step.contains("outbound_messages_by_state_and_update")),
                "{plan:?}"
            );
            assert!(
                plan.iter().any(|step| step
                    == "SEARCH outbound_messages USING COVERING INDEX outbound_messages_queued (campaign_id>?)"),
                "{plan:?}"
            );
        }
    }

    /// The counts by (state, zone), as readers see them, and counted
    /// message by message.
    async fn counts_both_ways(pool: &crate::db::Pool) -> [Vec<(String, String, i64)>; 2] {
        let counted = sqlx::query_as(
            "SELECT state, local_zone, messages FROM campaign_message_counts
             WHERE messages <> 0 ORDER BY state, local_zone",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        let one_by_one = sqlx::query_as(
            "SELECT state, COALESCE(local_zone, ''), COUNT(*) FROM outbound_messages
             GROUP BY state, COALESCE(local_zone, '') ORDER BY 1, 2",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        [counted, one_by_one]
    }

    /// SQLite counts in place since the counts_in_place migration. The
    /// upgrade folds what was noted before it; nothing is noted after, and
    /// the counts always match the messages.
    #[tokio::test]
    async fn the_upgrade_counts_in_place_what_was_noted() {
        use crate::db::{Backend, testing};
        if testing::backend() != Backend::Sqlite {
            return; // PostgreSQL notes changes for the fold (large_campaigns).
        }
        let (pool, _dir) = testing::database_before("counts in place").await;
        let ids = messages_being_sent(&pool, 5).await;
        let set = |state: &'static str, id: super::MessageId| {
            let pool = pool.clone();
            async move {
                sqlx::query("UPDATE outbound_messages SET state = $1 WHERE id = $2")
                    .bind(state)
                    .bind(id)
                    .execute(&pool)
                    .await
                    .unwrap();
            }
        };
        let changes = || async {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM message_count_changes")
                .fetch_one(&pool)
                .await
                .unwrap()
        };
        // Some changes folded before the upgrade, some not.
        set("sent", ids[0]).await;
        set("sent", ids[1]).await;
        assert!(super::fold_count_changes(&pool).await.unwrap() > 0);
        set("delivered", ids[0]).await;
        set("failed", ids[2]).await;
        assert_eq!(changes().await, 2);

        crate::db::migrate(&pool).await.unwrap();

        assert_eq!(changes().await, 0);
        let [counted, one_by_one] = counts_both_ways(&pool).await;
        assert_eq!(counted, one_by_one);
        // A message queued in another zone and more moves, counted at once.
        sqlx::query(
            "INSERT INTO outbound_messages
                 (campaign_id, phone, body, state, status_rank, reconcile_attempts, created_at, local_zone)
             SELECT campaign_id, '+12125550100', body, 'queued', 0, 0, 2, 'America/New_York'
             FROM outbound_messages WHERE id = $1",
        )
        .bind(ids[0])
        .execute(&pool)
        .await
        .unwrap();
        set("delivered", ids[1]).await;
        set("undelivered", ids[3]).await;
        assert_eq!(changes().await, 0);
        assert_eq!(super::fold_count_changes(&pool).await.unwrap(), 0);
        let [counted, one_by_one] = counts_both_ways(&pool).await;
        assert_eq!(counted, one_by_one);
        assert_eq!(
            counted,
            [
                ("delivered".to_owned(), String::new(), 2),
                ("failed".to_owned(), String::new(), 1),
                ("queued".to_owned(), "America/New_York".to_owned(), 1),
                ("sending".to_owned(), String::new(), 1),
                ("undelivered".to_owned(), String::new(), 1),
            ]
        );
    }

    /// The failure guard adds up each error code's failures, whether
    /// Twilio called them `undelivered` or `failed`, and counts every
    /// settled message, carrier failure or not.
    #[tokio::test]
    async fn the_failure_guard_counts_each_code_once_across_both_failed_states() {
        let (pool, _dir) = fresh_database().await;
        let ids = messages_being_sent(&pool, 9).await;
        for (id, state, code) in [
            (ids[0], "undelivered", Some(30005)),
            (ids[1], "failed", Some(30005)),
            (ids[2], "undelivered", Some(30005)),
            (ids[3], "failed", Some(30003)),
            (ids[4], "failed", Some(30003)),
            // Not a carrier's error: settled, and not a carrier failure.
            (ids[5], "failed", Some(21610)),
            (ids[6], "delivered", None),
            (ids[7], "sent", None),
        ] {
            sqlx::query("UPDATE outbound_messages SET state = $1, error_code = $2 WHERE id = $3")
                .bind(state)
                .bind(code)
                .bind(id)
                .execute(&pool)
                .await
                .unwrap();
        }
        let campaign: crate::ids::CampaignId =
            sqlx::query_scalar("SELECT campaign_id FROM outbound_messages WHERE id = $1")
                .bind(ids[0])
                .fetch_one(&pool)
                .await
                .unwrap();
        let mut counts = super::failure_guard_counts(&pool, campaign, 5)
            .await
            .unwrap();
        counts.failures.sort();
        assert_eq!(counts.window, 5);
        assert_eq!(counts.settled, 7);
        assert_eq!(counts.failures, [(30003, 2), (30005, 3)]);
    }

    /// A sending campaign's messages, as claimed: `sending`, no SID.
    /// Returns their ids.
    async fn messages_being_sent(pool: &crate::db::Pool, count: usize) -> Vec<super::MessageId> {
        let organisation: i64 = sqlx::query_scalar(
            "INSERT INTO organisations (name, public_id, subscription_state, created_at)
             VALUES ('Acme', 'acme', 'active', 0) RETURNING id",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        let campaign: i64 = sqlx::query_scalar(
            "INSERT INTO campaigns (organisation_id, name, channel, body, status, created_by, created_at, estimated_segments)
             VALUES ($1, 'Spring appeal', 'sms', 'Hello', 'running', 'carol@acme.test', 1, 1) RETURNING id",
        )
        .bind(organisation)
        .fetch_one(pool)
        .await
        .unwrap();
        let mut ids = Vec::new();
        for n in 0..count {
            ids.push(
                sqlx::query_scalar(
                    "INSERT INTO outbound_messages
                         (campaign_id, phone, body, state, status_rank, lease_until, reconcile_attempts, created_at)
                     VALUES ($1, $2, 'Hello', 'sending', 0, 500, 1, 1) RETURNING id",
                )
                .bind(campaign)
                .bind(format!("+141555526{n:02}"))
                .fetch_one(pool)
                .await
                .unwrap(),
            );
        }
        ids
    }

    type MessageRow = (
        String,
        Option<String>,
        Option<String>,
        i64,
        Option<i64>,
        i64,
        Option<i64>,
    );

    async fn message_rows(pool: &crate::db::Pool) -> Vec<MessageRow> {
        sqlx::query_as(
            "SELECT state, twilio_sid, twilio_status, status_rank, lease_until, reconcile_attempts, updated_at
             FROM outbound_messages ORDER BY id",
        )
        .fetch_all(pool)
        .await
        .unwrap()
    }

    /// Twilio's answers committed together share one UPDATE; the outcome
    /// must be exactly that of noting them one by one: a message a
    /// callback already moved further keeps its status (and gets its SID
    /// if the callback found it by the URL's hint), one moved less far
    /// moves on, an unknown status counts as accepted, and a group naming
    /// one message twice is noted in order.
    #[tokio::test]
    async fn a_group_of_answers_is_recorded_exactly_as_one_by_one() {
        use super::AcceptedAnswer;
        use crate::db::group_commit::Write;

        let (one_by_one, _dir_a) = fresh_database().await;
        let (together, _dir_b) = fresh_database().await;
        let ids = messages_being_sent(&one_by_one, 5).await;
        assert_eq!(messages_being_sent(&together, 5).await, ids);
        let sid = |n: usize| format!("SM0123456789abcdef0123456789abcd{n:02}");
        for pool in [&one_by_one, &together] {
            // Callbacks that came before the answers: delivered, found by
            // the hint (no SID yet), and queued, found by its SID.
            sqlx::query(
                "UPDATE outbound_messages SET state = 'delivered', twilio_status = 'delivered',
                     status_rank = 5, updated_at = 50
                 WHERE id = $1",
            )
            .bind(ids[1])
            .execute(pool)
            .await
            .unwrap();
            sqlx::query(
                "UPDATE outbound_messages SET twilio_sid = $1, twilio_status = 'queued',
                     status_rank = 2, updated_at = 50
                 WHERE id = $2",
            )
            .bind(sid(2))
            .bind(ids[2])
            .execute(pool)
            .await
            .unwrap();
        }
        let answer = |at: usize, status: &str, received_at| AcceptedAnswer {
            id: ids[at],
            sid: sid(at),
            twilio_status: status.to_owned(),
            received_at,
        };
        let answers = [
            answer(0, "accepted", 100),
            answer(1, "queued", 101),
            answer(2, "sent", 102),
            answer(3, "a-status-twilio-adds-later", 103),
        ];
        for a in &answers {
            let mut conn = one_by_one.acquire().await.unwrap();
            a.apply(&mut conn).await.unwrap();
        }
        let mut tx = crate::db::begin_write(&together).await.unwrap();
        let outputs = AcceptedAnswer::apply_all(&answers.iter().collect::<Vec<_>>(), &mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(outputs.len(), answers.len());
        let rows = message_rows(&together).await;
        assert_eq!(rows, message_rows(&one_by_one).await);
        assert_eq!(
            rows[1],
            (
                "delivered".into(),
                Some(sid(1)),
                Some("delivered".into()),
                5,
                None,
                0,
                Some(101)
            )
        );
        assert_eq!(rows[2].0, "sent");
        assert_eq!(rows[3].2.as_deref(), Some("accepted"));
        assert_eq!(rows[4].0, "sending", "not answered: untouched");

        // The same message twice in a group: one by one, in order.
        let twice = [answer(4, "queued", 200), answer(4, "sent", 201)];
        for a in &twice {
            let mut conn = one_by_one.acquire().await.unwrap();
            a.apply(&mut conn).await.unwrap();
        }
        let mut tx = crate::db::begin_write(&together).await.unwrap();
        AcceptedAnswer::apply_all(&twice.iter().collect::<Vec<_>>(), &mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let rows = message_rows(&together).await;
        assert_eq!(rows, message_rows(&one_by_one).await);
        assert_eq!(rows[4].0, "sent");
    }

    /// The engine's look-ups for stuck messages read only the messages in
    /// the state they ask for, through the partial indexes that hold just
    /// those, ordered as asked: no scan, no sort.
    #[tokio::test]
    async fn stuck_messages_are_read_from_indexes_of_just_those() {
        let (pool, _dir) = fresh_database().await;
        if crate::db::Backend::of(&pool) != crate::db::Backend::Sqlite {
            return; // PostgreSQL's plans depend on table sizes.
        }
        for (sql, index) in [
            (
                super::EXPIRED_LEASES,
                "outbound_messages_leased (lease_until<?)",
            ),
            (
                super::QUIET_MESSAGES,
                "outbound_messages_quiet (updated_at<?)",
            ),
        ] {
            let plan = sqlite_plan(&pool, sql).await;
            assert!(
                plan.iter()
                    .any(|step| step == &format!("SEARCH m USING INDEX {index}")),
                "{plan:?}"
            );
            assert!(
                !plan
                    .iter()
                    .any(|step| step.starts_with("SCAN") || step.contains("TEMP B-TREE")),
                "{plan:?}"
            );
        }
    }

    /// The UPDATEs of a group of answers and of a group of callbacks find
    /// each message by its id, whatever the number of messages stored.
    #[tokio::test]
    async fn groups_of_answers_and_callbacks_update_their_messages_by_id() {
        let (pool, _dir) = fresh_database().await;
        if crate::db::Backend::of(&pool) != crate::db::Backend::Sqlite {
            return; // PostgreSQL's plans depend on table sizes.
        }
        for sql in [1, 3].into_iter().flat_map(|group| {
            [
                super::accepted_answers_sql(crate::db::Backend::Sqlite, group),
                super::advance_all_sql(crate::db::Backend::Sqlite, group),
            ]
        }) {
            let plan = sqlite_plan(&pool, &sql).await;
            assert!(
                plan.iter()
                    .any(|step| step
                        == "SEARCH outbound_messages USING INTEGER PRIMARY KEY (rowid=?)"),
                "{plan:?}"
            );
            assert!(
                !plan
                    .iter()
                    .any(|step| step.starts_with("SCAN outbound_messages")),
                "{plan:?}"
            );
        }
    }
}
