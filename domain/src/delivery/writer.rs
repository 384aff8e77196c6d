//! What Twilio says about messages, committed in shared groups: its
//! answers to sends (the engine) and its status callbacks (the webhook).
//! On SQLite every commit waits its turn at the one write lock, and a
//! transaction has a fixed cost (its BEGIN, its COMMIT, its turn); one
//! group for both kinds pays it once where two groups paid it twice.

use crate::db::statements::Statements;
use crate::db::{Pool, group_commit};
use crate::outbound::AcceptedAnswer;

use super::events::{DeliveryEvent, Recorded, record_delivery_events};

/// One write about a message Twilio has.
pub enum DeliveryWrite {
    /// Twilio accepted a send.
    Answer(AcceptedAnswer),
    /// A verified status callback.
    Callback(DeliveryEvent),
}

/// The queue both kinds share, one per process.
pub type DeliveryWriter = group_commit::GroupCommit<DeliveryWrite>;

/// Starts the process's writer on the current runtime.
pub fn start(pool: Pool) -> DeliveryWriter {
    group_commit::GroupCommit::start(pool, "twilio_answers_and_callbacks")
}

/// Notes Twilio's acceptance of a send; returns once it is committed.
pub async fn record_answer(writer: &DeliveryWriter, answer: AcceptedAnswer) -> anyhow::Result<()> {
    writer.write(DeliveryWrite::Answer(answer)).await?;
    Ok(())
}

/// Records a verified status callback; returns once it is committed.
pub async fn record_callback(
    writer: &DeliveryWriter,
    event: DeliveryEvent,
) -> anyhow::Result<Recorded> {
    let recorded = writer.write(DeliveryWrite::Callback(event)).await?;
    Ok(recorded.expect("a callback's write says what it recorded"))
}

impl group_commit::Write for DeliveryWrite {
    /// What a callback recorded; nothing for an answer.
    type Output = Option<Recorded>;

    fn kind(&self) -> Option<&'static str> {
        Some(match self {
            Self::Answer(_) => "twilio_answers",
            Self::Callback(_) => "status_callbacks",
        })
    }

    /// The group's answers first, together, then its callbacks, together:
    /// Twilio answers a send before it posts the send's callbacks, and a
    /// callback that overtook its answer finds its message by the URL's
    /// hint either way (see `record_delivery_events`).
    async fn apply_all<'c, S: Statements>(
        writes: &'c [&'c Self],
        conn: &'c mut S,
    ) -> anyhow::Result<Vec<Option<Recorded>>> {
        let (mut answers, mut callbacks) = (Vec::new(), Vec::new());
        for write in writes {
            match write {
                Self::Answer(answer) => answers.push(answer),
                Self::Callback(event) => callbacks.push(event),
            }
        }
        AcceptedAnswer::apply_all(&answers, &mut *conn).await?;
        let mut recorded = record_delivery_events(conn, &callbacks).await?.into_iter();
        Ok(writes
            .iter()
            .map(|write| match write {
                Self::Answer(_) => None,
                Self::Callback(_) => recorded.next(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::group_commit::Write;
    use crate::db::own_connection::{OwnConnection, at_once};
    use crate::ids::MessageId;
    use crate::organisations::OrganisationId;

    /// An organisation's campaign with two messages being sent; their ids.
    async fn two_messages_being_sent(pool: &Pool) -> (OrganisationId, [MessageId; 2]) {
        let organisation: OrganisationId = sqlx::query_scalar(
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
        let mut ids = [MessageId(0); 2];
        for (n, id) in ids.iter_mut().enumerate() {
            *id = sqlx::query_scalar(
                "INSERT INTO outbound_messages (campaign_id, phone, body, state, lease_until, created_at)
                 VALUES ($1, $2, 'Hello', 'sending', 500, 1) RETURNING id",
            )
            .bind(campaign)
            .bind(format!("+1415555267{n}"))
            .fetch_one(pool)
            .await
            .unwrap();
        }
        (organisation, ids)
    }

    fn sid(n: usize) -> String {
        format!("SM0123456789abcdef0123456789abcd{n:02}")
    }

    /// A group holding both kinds gives what they give one by one, in the
    /// order they came: a callback that overtook its message's answer
    /// (found by the URL's hint) and one that followed it (by the SID).
    #[tokio::test]
    async fn answers_and_callbacks_in_one_group_give_what_they_give_one_by_one() {
        let (one_by_one, _dir_a) = crate::db::testing::fresh_database().await;
        let (together, _dir_b) = crate::db::testing::fresh_database().await;
        let (own, scratch_file) = crate::db::testing::fresh_database().await;
        let (organisation, ids) = two_messages_being_sent(&one_by_one).await;
        assert_eq!(
            two_messages_being_sent(&together).await,
            (organisation, ids)
        );
        assert_eq!(two_messages_being_sent(&own).await, (organisation, ids));
        let own = scratch_file.sqlite_file.is_some().then_some(own);
        let answer = |at: usize| {
            DeliveryWrite::Answer(AcceptedAnswer {
                id: ids[at],
                sid: sid(at),
                twilio_status: "queued".to_owned(),
                received_at: 100,
            })
        };
        let callback = |at: usize, status: &str| {
            let params = [
                ("MessageSid", sid(at)),
                ("MessageStatus", status.to_owned()),
            ]
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect();
            DeliveryWrite::Callback(DeliveryEvent {
                organisation,
                message_id: Some(ids[at]),
                callback: super::super::events::StatusCallback::parse(params).unwrap(),
                received_at: 100,
            })
        };
        let writes = [
            callback(0, "sent"),
            answer(0),
            answer(1),
            callback(1, "delivered"),
        ];
        let mut alone = Vec::new();
        for write in &writes {
            let mut conn = one_by_one.acquire().await.unwrap();
            alone.push(write.apply(&mut conn).await.unwrap());
        }
        let group: Vec<&DeliveryWrite> = writes.iter().collect();
        let mut tx = together.begin().await.unwrap();
        let grouped = DeliveryWrite::apply_all(&group, &mut *tx).await.unwrap();
        tx.commit().await.unwrap();

        assert_eq!(
            alone,
            [Some(Recorded::Applied), None, None, Some(Recorded::Applied)]
        );
        assert_eq!(grouped, alone);
        let rows = |pool| async move {
            sqlx::query_as::<_, (String, Option<String>, Option<String>, i64, Option<i64>)>(
                "SELECT state, twilio_sid, twilio_status, status_rank, lease_until
                 FROM outbound_messages ORDER BY id",
            )
            .fetch_all(pool)
            .await
            .unwrap()
        };
        assert_eq!(rows(&together).await, rows(&one_by_one).await);
        assert_eq!(
            rows(&together).await,
            [
                (
                    "sent".to_owned(),
                    Some(sid(0)),
                    Some("sent".to_owned()),
                    4,
                    None
                ),
                (
                    "delivered".to_owned(),
                    Some(sid(1)),
                    Some("delivered".to_owned()),
                    5,
                    None
                ),
            ]
        );
        // On SQLite the group commit runs its groups on a connection of its
        // own, outside sqlx: the same group there gives the same outcome.
        if let (Some(file), Some(own)) = (scratch_file.sqlite_file.as_ref(), own.as_ref()) {
            let mut conn = OwnConnection::open(file).unwrap();
            let on_own = conn
                .in_transaction(|conn| at_once(DeliveryWrite::apply_all(&group, conn)))
                .unwrap();
            assert_eq!(on_own, grouped);
            assert_eq!(rows(own).await, rows(&together).await);
        }
    }
}
