//! Storing a verified status callback and applying it to its message.

use std::collections::{HashMap, HashSet};

use anyhow::Context;
use serde::Serialize;

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
    error_message: Option<String>,
    /// Everything Twilio posted, kept raw (the set varies): the pairs in
    /// their order, as the JSON array `delivery_events.params` stores.
    params: String,
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
    /// Reads the posted pairs where they were parsed (borrowed from the
    /// body, at thousands of callbacks a second): only what is kept is
    /// copied.
    pub fn parse<K, V>(params: &[(K, V)]) -> Result<Self, MalformedCallback>
    where
        K: AsRef<str> + Serialize,
        V: AsRef<str> + Serialize,
    {
        let value = |name: &str| {
            params
                .iter()
                .find(|(key, _)| key.as_ref() == name)
                .map(|(_, value)| value.as_ref())
        };
        let field = |name: &str| value(name).map(|value| value.trim().to_owned());
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
            error_message: value("ErrorMessage").map(str::to_owned),
            params: serde_json::to_string(params).expect("pairs of strings always encode"),
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
    /// The message the callback URL was made for (its `m`): every message
    /// Outreach sends asks for its callbacks at such a URL. A callback
    /// without one is about no message Outreach sent.
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
/// shares its statements: one SELECT finds every message, one INSERT
/// stores every event, one UPDATE moves every message that moves. On
/// PostgreSQL, where each statement is a round trip to the server, three
/// statements per callback were most of the work: sharing them tripled the
/// callbacks stored a second (BENCHMARKS.md, "Group commit").
///
/// An event's message is the one its URL names, if it is the
/// organisation's and has the event's SID or none recorded yet (its send
/// answer was lost). An event is the same as one stored before when it is
/// about the same message and status; one about no known message, when it
/// has the same SID and status. Neither look-up is keyed by the random SID,
/// so a group writes pages near each other (BENCHMARKS.md).
pub async fn record_delivery_events<S: Statements>(
    conn: &mut S,
    events: &[&DeliveryEvent],
) -> anyhow::Result<Vec<Recorded>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let messages = find_messages(conn, events).await?;
    let message_of: Vec<Option<&CallbackMessage>> = events
        .iter()
        .map(|event| {
            let message = messages.get(&event.message_id?)?;
            let sid = event.callback.message_sid.as_str();
            (message.organisation == event.organisation
                && message
                    .twilio_sid
                    .as_deref()
                    .is_none_or(|known| known == sid))
            .then_some(message)
        })
        .collect();
    let backend = conn.backend();
    let sql = format!(
        "INSERT INTO delivery_events
             (organisation_id, message_id, message_sid, message_status, error_code, params, received_at)
         VALUES {}
         ON CONFLICT DO NOTHING
         RETURNING organisation_id, message_id, message_sid, message_status",
        backend.placeholder_rows(events.len(), 7)
    );
    let mut args = Vec::with_capacity(7 * events.len());
    for (event, message) in events.iter().zip(&message_of) {
        let callback = &event.callback;
        args.extend([
            Arg::from(event.organisation),
            message.map(|m| m.id.0).into(),
            callback.message_sid.as_str().into(),
            callback.message_status.as_str().into(),
            callback.error_code.map(|c| c.to_string()).into(),
            callback.params.as_str().into(),
            event.received_at.into(),
        ]);
    }
    // Only the events not stored before come back; within the group, the
    // first of two alike is the one stored. Its text changes with the
    // group's size: not kept prepared, where it would push out the
    // statements run for every message.
    type Key = (OrganisationId, Option<i64>, String, String);
    let mut stored: HashSet<Key> = conn
        .fetch(&sql, args, false)
        .await
        .context("could not store the delivery events")?
        .into_iter()
        .collect();
    let mut recorded = Vec::with_capacity(events.len());
    // A message's rank as this group moves it (sent, then delivered), and
    // where the group leaves it: one UPDATE moves every message at once.
    let mut ranks: HashMap<MessageId, i64> = HashMap::new();
    let mut moves: Vec<Move> = Vec::new();
    let mut move_of: HashMap<MessageId, usize> = HashMap::new();
    let mut moving = Vec::new();
    for (at, (event, message)) in events.iter().zip(&message_of).enumerate() {
        let key = (
            event.organisation,
            message.map(|m| m.id.0),
            event.callback.message_sid.clone(),
            event.callback.message_status.clone(),
        );
        if !stored.remove(&key) {
            recorded.push(Recorded::Duplicate);
            continue;
        }
        let Some(status) = TwilioStatus::parse(&event.callback.message_status) else {
            recorded.push(Recorded::UnknownStatus);
            continue;
        };
        let Some(message) = message else {
            recorded.push(Recorded::NoSuchMessage);
            continue;
        };
        let rank = ranks.entry(message.id).or_insert(message.status_rank);
        if status.rank() <= *rank {
            recorded.push(Recorded::Stale);
            continue;
        }
        // Settled once the UPDATE says whether it moved.
        recorded.push(Recorded::Stale);
        *rank = status.rank();
        let sid = event.callback.message_sid.as_str();
        let error_code = event.callback.error_code;
        let error_message = event.callback.error_message.as_deref();
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
        if moved.contains(&id) {
            recorded[at] = Recorded::Applied;
        }
    }
    Ok(recorded)
}

/// A look-up by primary key for each message named.
fn find_messages_sql(ids: usize) -> String {
    format!(
        "SELECT m.id, m.phone, m.status_rank, m.twilio_sid, c.organisation_id
         FROM outbound_messages m JOIN campaigns c ON c.id = m.campaign_id
         WHERE m.id IN ({})",
        placeholder_list(1, ids)
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

/// The messages the events' URLs name, in one look-up.
async fn find_messages<S: Statements>(
    conn: &mut S,
    events: &[&DeliveryEvent],
) -> anyhow::Result<HashMap<MessageId, CallbackMessage>> {
    let ids: HashSet<MessageId> = events.iter().filter_map(|e| e.message_id).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = find_messages_sql(ids.len());
    // Not kept prepared either (see `record_delivery_events`).
    let rows: Vec<CallbackMessageRow> = conn
        .fetch(&sql, ids.into_iter().map(Arg::from).collect(), false)
        .await
        .context("could not find the events' messages")?;
    Ok(rows
        .into_iter()
        .map(|(id, phone, status_rank, twilio_sid, organisation)| {
            let message = CallbackMessage {
                id,
                phone,
                status_rank,
                twilio_sid,
                organisation,
            };
            (id, message)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Backend;

    const SID: &str = "SM0123456789abcdef0123456789abcdef";

    #[test]
    fn a_callback_needs_a_message_sid_and_a_status() {
        let ok = StatusCallback::parse(&[
            ("MessageSid", SID),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", "30003"),
            ("ErrorMessage", " Unreachable "),
            ("Extra", "kept \"as is\""),
        ])
        .unwrap();
        assert_eq!(ok.message_status(), "undelivered");
        assert_eq!(ok.error_code, Some(30003));
        assert_eq!(ok.error_message.as_deref(), Some(" Unreachable "));
        assert_eq!(
            ok.params,
            format!(
                r#"[["MessageSid","{SID}"],["MessageStatus","undelivered"],["ErrorCode","30003"],["ErrorMessage"," Unreachable "],["Extra","kept \"as is\""]]"#
            )
        );

        assert_eq!(
            StatusCallback::parse(&[("MessageStatus", "sent")]).unwrap_err(),
            MalformedCallback::MessageSid
        );
        assert_eq!(
            StatusCallback::parse(&[("MessageSid", "SM123"), ("MessageStatus", "sent")])
                .unwrap_err(),
            MalformedCallback::MessageSid
        );
        assert_eq!(
            StatusCallback::parse(&[("MessageSid", SID)]).unwrap_err(),
            MalformedCallback::MessageStatus
        );
    }

    /// Two organisations, each with a running campaign and messages: one
    /// sent (`SM…01`, or `SM…11` for the second organisation), one whose
    /// send answer was lost (no SID yet; its callbacks will say `SM…02`),
    /// one delivered (`SM…03`). Returns the organisations and each
    /// message's id by its SID's last two digits.
    async fn messages_to_call_back(
        pool: &crate::db::Pool,
    ) -> (
        OrganisationId,
        OrganisationId,
        HashMap<&'static str, MessageId>,
    ) {
        let organisations = [
            crate::organisations::testing::organisation(pool, "Acme").await,
            crate::organisations::testing::organisation(pool, "Globex").await,
        ];
        let mut ids = HashMap::new();
        for (organisation, sids) in [
            (
                organisations[0],
                [("01", true), ("02", false), ("03", true)],
            ),
            (organisations[1], [("11", true), ("12", true), ("13", true)]),
        ] {
            let campaign: i64 = sqlx::query_scalar(
                "INSERT INTO campaigns (organisation_id, name, channel, body, status, created_by, created_at, estimated_segments)
                 VALUES ($1, 'Spring appeal', 'sms', 'Hello', 'running', 'carol@acme.test', 1, 1) RETURNING id",
            )
            .bind(organisation)
            .fetch_one(pool)
            .await
            .unwrap();
            for (n, (sid, answered)) in sids.into_iter().enumerate() {
                let (state, rank) = match (answered, sid) {
                    (false, _) => ("sending", 0),
                    (true, "03") => ("delivered", 3),
                    (true, _) => ("sent", 2),
                };
                let id: MessageId = sqlx::query_scalar(
                    "INSERT INTO outbound_messages
                         (campaign_id, phone, body, state, status_rank, twilio_sid, created_at, updated_at)
                     VALUES ($1, $2, 'Hello', $3, $4, $5, 1, 1) RETURNING id",
                )
                .bind(campaign)
                .bind(format!("+1415555267{n}"))
                .bind(state)
                .bind(rank)
                .bind(answered.then(|| sid_of(sid)))
                .fetch_one(pool)
                .await
                .unwrap();
                ids.insert(sid, id);
            }
        }
        (organisations[0], organisations[1], ids)
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
    /// a message whose send answer was lost, another organisation's
    /// message, a SID that is not the message's, a URL without a message,
    /// a status Outreach does not know, an undelivered message's code.
    #[tokio::test]
    async fn a_group_of_callbacks_is_recorded_exactly_as_one_by_one() {
        let (one_by_one, _dir_a) = crate::db::testing::fresh_database().await;
        let (together, _dir_b) = crate::db::testing::fresh_database().await;
        let (acme, globex, ids) = messages_to_call_back(&one_by_one).await;
        assert_eq!(
            messages_to_call_back(&together).await,
            (acme, globex, ids.clone())
        );
        // As Twilio posts it: to the URL made for the message `hint`.
        let event = |organisation, sid: &str, status: &str, hint: &str, code: Option<&str>| {
            let mut pairs = vec![("MessageSid", sid), ("MessageStatus", status)];
            if let Some(code) = code {
                pairs.push(("ErrorCode", code));
                pairs.push(("ErrorMessage", "Unreachable destination handset"));
            }
            DeliveryEvent {
                organisation,
                message_id: ids.get(hint).copied(),
                callback: StatusCallback::parse(&pairs).unwrap(),
                received_at: 100,
            }
        };
        // Stored before the group: its repeat inside the group is a duplicate.
        let earlier = event(acme, &sid_of("03"), "delivered", "03", None);
        let events = [
            event(acme, &sid_of("01"), "delivered", "01", None),
            event(acme, &sid_of("01"), "delivered", "01", None),
            // The lost answer's message, found by its URL alone.
            event(acme, &sid_of("02"), "sent", "02", None),
            event(acme, &sid_of("02"), "delivered", "02", None),
            event(acme, &sid_of("03"), "delivered", "03", None),
            event(globex, &sid_of("11"), "undelivered", "11", Some("30003")),
            // A later status (read: delivered) keeps the error code and message.
            event(globex, &sid_of("11"), "read", "11", None),
            // Unsubscribed: the recipient becomes an opt-out.
            event(globex, &sid_of("12"), "failed", "12", Some("21610")),
            event(globex, &sid_of("12"), "sent", "12", None),
            // Signed by Acme, about Globex's message.
            event(acme, &sid_of("13"), "delivered", "13", None),
            event(globex, &sid_of("13"), "receiving", "13", None),
            // Message 01's URL, another message's SID.
            event(acme, &sid_of("09"), "delivered", "01", None),
            // No message in the URL (not one Outreach sent), twice.
            event(acme, &sid_of("08"), "delivered", "none", None),
            event(acme, &sid_of("08"), "delivered", "none", None),
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
                UnknownStatus,
                NoSuchMessage,
                NoSuchMessage,
                Duplicate
            ]
        );
        assert_eq!(grouped, alone);
        assert_eq!(messages(&together).await, messages(&one_by_one).await);
        let lost_now: (String, Option<String>) =
            sqlx::query_as("SELECT state, twilio_sid FROM outbound_messages WHERE id = $1")
                .bind(ids["02"])
                .fetch_one(&together)
                .await
                .unwrap();
        assert_eq!(lost_now, ("delivered".to_owned(), Some(sid_of("02"))));
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM delivery_events")
            .fetch_one(&together)
            .await
            .unwrap();
        assert_eq!(stored, 12);
        // Each stored with the message it is about, or none.
        let about = |pool| async move {
            sqlx::query_as::<_, (String, String, Option<i64>)>(
                "SELECT message_sid, message_status, message_id FROM delivery_events
                 WHERE message_sid IN ($1, $2, $3) ORDER BY id",
            )
            .bind(sid_of("02"))
            .bind(sid_of("08"))
            .bind(sid_of("09"))
            .fetch_all(pool)
            .await
            .unwrap()
        };
        assert_eq!(about(&together).await, about(&one_by_one).await);
        assert_eq!(
            about(&together).await,
            [
                (sid_of("02"), "sent".to_owned(), Some(ids["02"].0)),
                (sid_of("02"), "delivered".to_owned(), Some(ids["02"].0)),
                (sid_of("09"), "delivered".to_owned(), None),
                (sid_of("08"), "delivered".to_owned(), None),
            ]
        );
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

    /// Events stored before callbacks were keyed by message are tied to
    /// their messages by the upgrade, so that their repeats are still
    /// recognised; one about no known message stays unique by its SID.
    #[tokio::test]
    async fn the_upgrade_ties_stored_events_to_their_messages() {
        let (pool, _dir) = crate::db::testing::database_before("callbacks by message").await;
        let (acme, _, ids) = messages_to_call_back(&pool).await;
        for sid in ["01", "07"] {
            sqlx::query(
                "INSERT INTO delivery_events
                     (organisation_id, message_sid, message_status, params, received_at)
                 VALUES ($1, $2, 'sent', '[]', 1)",
            )
            .bind(acme)
            .bind(sid_of(sid))
            .execute(&pool)
            .await
            .unwrap();
        }

        crate::db::migrate(&pool).await.unwrap();

        let tied: Vec<(String, Option<i64>)> =
            sqlx::query_as("SELECT message_sid, message_id FROM delivery_events ORDER BY id")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(
            tied,
            [(sid_of("01"), Some(ids["01"].0)), (sid_of("07"), None)]
        );
        let again = |sid: &str, hint| DeliveryEvent {
            organisation: acme,
            message_id: hint,
            callback: StatusCallback::parse(&[
                ("MessageSid", sid_of(sid).as_str()),
                ("MessageStatus", "sent"),
            ])
            .unwrap(),
            received_at: 2,
        };
        let mut conn = pool.acquire().await.unwrap();
        let recorded = record_delivery_events(
            &mut conn,
            &[&again("01", Some(ids["01"])), &again("07", None)],
        )
        .await
        .unwrap();
        assert_eq!(recorded, [Recorded::Duplicate, Recorded::Duplicate]);
    }

    /// The group's look-up reads only the messages it names: a million
    /// messages stored must not slow callbacks.
    #[tokio::test]
    async fn a_group_finds_its_messages_through_indexes() {
        let (pool, _dir) = crate::db::testing::fresh_database().await;
        if Backend::of(&pool) != Backend::Sqlite {
            return; // PostgreSQL's plans depend on table sizes.
        }
        for ids in [1, 3] {
            let plan = crate::db::testing::sqlite_plan(&pool, &find_messages_sql(ids)).await;
            assert!(
                !plan.iter().any(|step| step.starts_with("SCAN")),
                "{plan:?}"
            );
            assert!(
                plan.iter()
                    .any(|step| step.contains("m USING INTEGER PRIMARY KEY (rowid=?)")),
                "{plan:?}"
            );
        }
    }
}
