//! Storing a verified status callback and applying it to its message.

use std::collections::{HashMap, HashSet};

use anyhow::Context;

use crate::db::statements::{Arg, Statements};
use crate::db::{group_commit, placeholder_list};
use crate::{
    clock::UnixTime,
    ids::MessageId,
    organisations::OrganisationId,
    outbound::Move,
    twilio::status::{MessageState, TwilioStatus},
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

    async fn apply_all<'c, S: Statements>(
        writes: &'c [&'c Self],
        conn: &'c mut S,
    ) -> anyhow::Result<Vec<Recorded>> {
        record_delivery_events(conn, writes).await
    }
}

/// Stores each event (once), then moves its message forward, never back,
/// inside the caller's transaction; answers in the events' order. A group
/// shares its statements: one INSERT stores every event, one SELECT finds
/// every message, one UPDATE moves every message that moves. On PostgreSQL,
/// where each statement is a round trip to the server, three statements
/// per callback were most of the work: sharing them tripled the callbacks
/// stored a second (BENCHMARKS.md, "Group commit").
pub async fn record_delivery_events<S: Statements>(
    conn: &mut S,
    events: &[&DeliveryEvent],
) -> anyhow::Result<Vec<Recorded>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let backend = conn.backend();
    let sql = format!(
        "INSERT INTO delivery_events
             (organisation_id, message_sid, message_status, error_code, params, received_at)
         VALUES {}
         ON CONFLICT (organisation_id, message_sid, message_status) DO NOTHING
         RETURNING organisation_id, message_sid, message_status",
        backend.placeholder_rows(events.len(), 6)
    );
    let mut args = Vec::with_capacity(6 * events.len());
    for event in events {
        let callback = &event.callback;
        args.extend([
            Arg::from(event.organisation),
            callback.message_sid.as_str().into(),
            callback.message_status.as_str().into(),
            callback.error_code.map(|c| c.to_string()).into(),
            serde_json::to_string(&callback.params)
                .context("params encode")?
                .into(),
            event.received_at.into(),
        ]);
    }
    // Only the events not stored before come back; within the group, the
    // first of two alike is the one stored. Its text changes with the
    // group's size: not kept prepared, where it would push out the
    // statements run for every message.
    let mut stored: HashSet<(OrganisationId, String, String)> = conn
        .fetch(&sql, args, false)
        .await
        .context("could not store the delivery events")?
        .into_iter()
        .collect();
    let mut recorded = Vec::with_capacity(events.len());
    let mut to_apply = Vec::new();
    for (at, event) in events.iter().enumerate() {
        let key = (
            event.organisation,
            event.callback.message_sid.clone(),
            event.callback.message_status.clone(),
        );
        recorded.push(if !stored.remove(&key) {
            Recorded::Duplicate
        } else if let Some(status) = TwilioStatus::parse(&event.callback.message_status) {
            to_apply.push((at, status));
            // Settled below.
            Recorded::NoSuchMessage
        } else {
            Recorded::UnknownStatus
        });
    }
    if to_apply.is_empty() {
        return Ok(recorded);
    }
    let messages = find_messages(conn, to_apply.iter().map(|&(at, _)| events[at])).await?;
    // A message's rank as this group moves it (sent, then delivered), and
    // where the group leaves it: one UPDATE moves every message at once.
    let mut ranks: HashMap<MessageId, i64> = HashMap::new();
    let mut moves: Vec<Move> = Vec::new();
    let mut move_of: HashMap<MessageId, usize> = HashMap::new();
    let mut moving = Vec::new();
    for (at, status) in to_apply {
        let event = events[at];
        // The hint must agree with the SID when both are known.
        let sid = event.callback.message_sid.as_str();
        let found = messages
            .iter()
            .find(|m| m.organisation == event.organisation && m.twilio_sid.as_deref() == Some(sid))
            .or_else(|| {
                messages.iter().find(|m| {
                    m.organisation == event.organisation
                        && m.twilio_sid.is_none()
                        && Some(m.id) == event.message_id
                })
            });
        let Some(message) = found else {
            continue;
        };
        let rank = ranks.entry(message.id).or_insert(message.status_rank);
        if status.rank() <= *rank {
            recorded[at] = Recorded::Stale;
            continue;
        }
        *rank = status.rank();
        let error_code = event.callback.error_code;
        let error_message = event
            .callback
            .params
            .iter()
            .find(|(key, _)| key == "ErrorMessage")
            .map(|(_, value)| value.as_str());
        let opted_out = status.message_state(error_code) == MessageState::OptedOut;
        match move_of.get(&message.id) {
            Some(&known) => {
                let step = &mut moves[known];
                step.sid = sid;
                step.status = status;
                step.error_code = error_code.or(step.error_code);
                step.error_message = error_message.or(step.error_message);
                step.opted_out |= opted_out;
                step.at = event.received_at;
            }
            None => {
                move_of.insert(message.id, moves.len());
                moves.push(Move {
                    organisation: event.organisation,
                    id: message.id,
                    phone: &message.phone,
                    sid,
                    status,
                    error_code,
                    error_message,
                    opted_out,
                    at: event.received_at,
                });
            }
        }
        moving.push((at, message.id));
    }
    // A message moved further meanwhile (by the engine, or another
    // process on PostgreSQL) is not moved back: its events are stale.
    let moved = crate::outbound::advance_all(conn, &moves).await?;
    for (at, id) in moving {
        recorded[at] = if moved.contains(&id) {
            Recorded::Applied
        } else {
            Recorded::Stale
        };
    }
    Ok(recorded)
}

/// Each of its look-ups is an index search (by SID, by id).
fn find_messages_sql(sids: usize, hints: usize) -> String {
    let by_hint = if hints == 0 {
        String::new()
    } else {
        format!(
            " OR (m.id IN ({}) AND m.twilio_sid IS NULL)",
            placeholder_list(1 + sids, hints)
        )
    };
    format!(
        "SELECT m.id, m.phone, m.status_rank, m.twilio_sid, c.organisation_id
         FROM outbound_messages m JOIN campaigns c ON c.id = m.campaign_id
         WHERE m.twilio_sid IN ({}){by_hint}",
        placeholder_list(1, sids)
    )
}

/// A message a status callback may be about: its id, phone, status rank,
/// SID and organisation, in `find_messages_sql`'s order.
type CallbackMessageRow = (MessageId, String, i64, Option<String>, OrganisationId);

struct CallbackMessage {
    id: MessageId,
    phone: String,
    status_rank: i64,
    twilio_sid: Option<String>,
    organisation: OrganisationId,
}

/// The messages the events name, in one look-up: by SID, or by the
/// callback URL's hint for a message whose send answer was lost (no SID
/// recorded yet).
async fn find_messages<S: Statements>(
    conn: &mut S,
    events: impl Iterator<Item = &DeliveryEvent>,
) -> anyhow::Result<Vec<CallbackMessage>> {
    let (mut sids, mut hints) = (Vec::new(), Vec::new());
    for event in events {
        sids.push(Arg::from(event.callback.message_sid.as_str()));
        hints.extend(event.message_id.map(Arg::from));
    }
    let sql = find_messages_sql(sids.len(), hints.len());
    sids.append(&mut hints);
    // Not kept prepared either (see `record_delivery_events`).
    let rows: Vec<CallbackMessageRow> = conn
        .fetch(&sql, sids, false)
        .await
        .context("could not find the events' messages")?;
    Ok(rows
        .into_iter()
        .map(
            |(id, phone, status_rank, twilio_sid, organisation)| CallbackMessage {
                id,
                phone,
                status_rank,
                twilio_sid,
                organisation,
            },
        )
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Backend;

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

    /// Two organisations, each with a running campaign and messages: one
    /// sent (`SM…01`, or `SM…11` for the second organisation), one whose
    /// send answer was lost (no SID, id returned), one delivered (`SM…03`).
    async fn messages_to_call_back(
        pool: &crate::db::Pool,
    ) -> (OrganisationId, OrganisationId, MessageId) {
        let organisations = [
            crate::organisations::testing::organisation(pool, "Acme").await,
            crate::organisations::testing::organisation(pool, "Globex").await,
        ];
        let mut lost = None;
        for (organisation, sids) in [
            (organisations[0], [Some("01"), None, Some("03")]),
            (organisations[1], [Some("11"), Some("12"), Some("13")]),
        ] {
            let campaign: i64 = sqlx::query_scalar(
                "INSERT INTO campaigns (organisation_id, name, channel, body, status, created_by, created_at, estimated_segments)
                 VALUES ($1, 'Spring appeal', 'sms', 'Hello', 'running', 'carol@acme.test', 1, 1) RETURNING id",
            )
            .bind(organisation)
            .fetch_one(pool)
            .await
            .unwrap();
            for (n, sid) in sids.into_iter().enumerate() {
                let (state, rank) = if sid == Some("03") {
                    ("delivered", 3)
                } else {
                    ("sent", 2)
                };
                let id: MessageId = sqlx::query_scalar(
                    "INSERT INTO outbound_messages
                         (campaign_id, phone, body, state, status_rank, twilio_sid, created_at, updated_at)
                     VALUES ($1, $2, 'Hello', $3, $4, $5, 1, 1) RETURNING id",
                )
                .bind(campaign)
                .bind(format!("+1415555267{n}"))
                .bind(if sid.is_none() { "sending" } else { state })
                .bind(if sid.is_none() { 0 } else { rank })
                .bind(sid.map(sid_of))
                .fetch_one(pool)
                .await
                .unwrap();
                if sid.is_none() {
                    lost = Some(id);
                }
            }
        }
        (organisations[0], organisations[1], lost.unwrap())
    }

    fn sid_of(n: &str) -> String {
        format!("SM0123456789abcdef0123456789abcd{n}")
    }

    async fn messages(
        pool: &crate::db::Pool,
    ) -> Vec<(String, String, Option<String>, i64, Option<i64>)> {
        sqlx::query_as(
            "SELECT phone, state, twilio_sid, status_rank, error_code FROM outbound_messages ORDER BY id",
        )
        .fetch_all(pool)
        .await
        .unwrap()
    }

    /// A group of callbacks shares its statements; the outcome must be
    /// exactly that of recording them one by one: duplicates inside the
    /// group and of earlier events, sent then delivered and the reverse,
    /// a message found by the URL's hint, a SID of another organisation,
    /// a status Outreach does not know, an undelivered message's code.
    #[tokio::test]
    async fn a_group_of_callbacks_is_recorded_exactly_as_one_by_one() {
        let (one_by_one, _dir_a) = crate::db::testing::fresh_database().await;
        let (together, _dir_b) = crate::db::testing::fresh_database().await;
        let (acme, globex, lost) = messages_to_call_back(&one_by_one).await;
        assert_eq!(messages_to_call_back(&together).await, (acme, globex, lost));
        let event =
            |organisation, sid: &str, status: &str, hint: Option<MessageId>, code: Option<&str>| {
                let mut pairs = vec![("MessageSid", sid), ("MessageStatus", status)];
                if let Some(code) = code {
                    pairs.push(("ErrorCode", code));
                    pairs.push(("ErrorMessage", "Unreachable destination handset"));
                }
                DeliveryEvent {
                    organisation,
                    message_id: hint,
                    callback: StatusCallback::parse(params(&pairs)).unwrap(),
                    received_at: 100,
                }
            };
        // Stored before the group: its repeat inside the group is a duplicate.
        let earlier = event(acme, &sid_of("03"), "delivered", None, None);
        let events = [
            event(acme, &sid_of("01"), "delivered", None, None),
            event(acme, &sid_of("01"), "delivered", None, None),
            event(acme, &sid_of("02"), "sent", Some(lost), None),
            event(acme, &sid_of("02"), "delivered", Some(lost), None),
            event(acme, &sid_of("03"), "delivered", None, None),
            event(globex, &sid_of("11"), "undelivered", None, Some("30003")),
            // A later status (read: delivered) keeps the error code and message.
            event(globex, &sid_of("11"), "read", None, None),
            // Unsubscribed: the recipient becomes an opt-out.
            event(globex, &sid_of("12"), "failed", None, Some("21610")),
            event(globex, &sid_of("12"), "sent", None, None),
            event(acme, &sid_of("13"), "delivered", None, None),
            event(globex, &sid_of("13"), "receiving", None, None),
        ];
        let mut alone = vec![];
        for pool in [&one_by_one, &together] {
            let mut conn = pool.acquire().await.unwrap();
            record_delivery_events(&mut conn, &[&earlier])
                .await
                .unwrap();
        }
        for e in &events {
            let mut conn = one_by_one.acquire().await.unwrap();
            alone.extend(record_delivery_events(&mut conn, &[e]).await.unwrap());
        }
        let mut tx = crate::db::begin_write(&together).await.unwrap();
        let grouped = record_delivery_events(&mut tx, &events.iter().collect::<Vec<_>>())
            .await
            .unwrap();
        tx.commit().await.unwrap();

        use Recorded::*;
        assert_eq!(
            alone,
            [
                Applied,
                Duplicate,
                Applied,
                Applied,
                Duplicate,
                Applied,
                Applied,
                Applied,
                Stale,
                NoSuchMessage,
                UnknownStatus
            ]
        );
        assert_eq!(grouped, alone);
        assert_eq!(messages(&together).await, messages(&one_by_one).await);
        let lost_now: (String, Option<String>) =
            sqlx::query_as("SELECT state, twilio_sid FROM outbound_messages WHERE id = $1")
                .bind(lost)
                .fetch_one(&together)
                .await
                .unwrap();
        assert_eq!(lost_now, ("delivered".to_owned(), Some(sid_of("02"))));
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM delivery_events")
            .fetch_one(&together)
            .await
            .unwrap();
        assert_eq!(stored, 10);
        let opt_outs = |pool| async move {
            sqlx::query_as::<_, (OrganisationId, String)>(
                "SELECT organisation_id, phone FROM opt_outs ORDER BY organisation_id, phone",
            )
            .fetch_all(pool)
            .await
            .unwrap()
        };
        assert_eq!(opt_outs(&together).await, opt_outs(&one_by_one).await);
        assert_eq!(
            opt_outs(&together).await,
            [(globex, "+14155552671".to_owned())]
        );
        let read: (String, Option<i64>, Option<String>) = sqlx::query_as(
            "SELECT state, error_code, error_message FROM outbound_messages WHERE twilio_sid = $1",
        )
        .bind(sid_of("11"))
        .fetch_one(&together)
        .await
        .unwrap();
        assert_eq!(
            read,
            (
                "delivered".to_owned(),
                Some(30003),
                Some("Unreachable destination handset".to_owned())
            )
        );
    }

    /// The group's look-up reads only the messages it names, with or
    /// without hints: a million messages stored must not slow callbacks.
    #[tokio::test]
    async fn a_group_finds_its_messages_through_indexes() {
        let (pool, _dir) = crate::db::testing::fresh_database().await;
        if Backend::of(&pool) != Backend::Sqlite {
            return; // PostgreSQL's plans depend on table sizes.
        }
        for (sids, hints) in [(1, 0), (3, 0), (3, 2)] {
            let plan =
                crate::db::testing::sqlite_plan(&pool, &find_messages_sql(sids, hints)).await;
            assert!(
                !plan
                    .iter()
                    .any(|step| step.starts_with("SCAN outbound_messages")),
                "{plan:?}"
            );
            assert!(
                plan.iter()
                    .any(|step| step.contains("outbound_messages_by_sid (twilio_sid=?)")),
                "{plan:?}"
            );
        }
    }
}
