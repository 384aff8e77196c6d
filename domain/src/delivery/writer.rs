//! The sending's frequent writes, committed in shared groups: the engine's
//! claims, Twilio's answers to sends (the engine) and its status callbacks
//! (the webhook). On SQLite every commit waits its turn at the one write
//! lock, and a transaction has a fixed cost (its BEGIN, its COMMIT, its
//! turn); one group for all three kinds pays it once. Claims went through
//! the pool, taking the turn for a hand-off to sqlx's thread and back,
//! while the group commit's thread waited (0.4-0.5 ms a group), and the
//! thread's page cache started afresh after each (BENCHMARKS.md).

use crate::db::statements::Statements;
use crate::db::{Pool, group_commit};
use crate::outbound::{AcceptedAnswer, Claim, Claimed};

use super::events::{DeliveryEvent, Recorded, record_delivery_events};

/// One write about messages being sent.
pub enum DeliveryWrite {
    /// The engine claims queued messages before sending them.
    Claim(Claim),
    /// Twilio accepted a send.
    Answer(AcceptedAnswer),
    /// A verified status callback.
    Callback(DeliveryEvent),
}

/// What a write gives back.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    Answer,
    Callback(Recorded),
    Claim(Claimed),
}

/// The queue the three kinds share, one per process.
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

/// Claims queued messages (see `Claim::apply`); returns them once the
/// claim is committed.
pub async fn claim(writer: &DeliveryWriter, claim: Claim) -> anyhow::Result<Claimed> {
    match writer.write(DeliveryWrite::Claim(claim)).await? {
        Written::Claim(claimed) => Ok(claimed),
        _ => unreachable!("a claim's write gives its messages"),
    }
}

/// Records a verified status callback; returns once it is committed.
pub async fn record_callback(
    writer: &DeliveryWriter,
    event: DeliveryEvent,
) -> anyhow::Result<Recorded> {
    match writer.write(DeliveryWrite::Callback(event)).await? {
        Written::Callback(recorded) => Ok(recorded),
        _ => unreachable!("a callback's write says what it recorded"),
    }
}

impl group_commit::Write for DeliveryWrite {
    type Output = Written;

    fn kind(&self) -> Option<&'static str> {
        Some(match self {
            Self::Claim(_) => "claims",
            Self::Answer(_) => "twilio_answers",
            Self::Callback(_) => "status_callbacks",
        })
    }

    /// The group's answers first, together, then its callbacks, together:
    /// Twilio answers a send before it posts the send's callbacks, and a
    /// callback that overtook its answer finds its message by its URL
    /// either way (see `record_delivery_events`). Then each claim: they
    /// take queued messages, which no answer or callback is about.
    async fn apply_all<'c, S: Statements>(
        writes: &'c [&'c Self],
        conn: &'c mut S,
    ) -> anyhow::Result<Vec<Written>> {
        let (mut answers, mut callbacks) = (Vec::new(), Vec::new());
        for write in writes {
            match write {
                Self::Answer(answer) => answers.push(answer),
                Self::Callback(event) => callbacks.push(event),
                Self::Claim(_) => {}
            }
        }
        AcceptedAnswer::apply_all(&answers, &mut *conn).await?;
        let mut recorded = record_delivery_events(&mut *conn, &callbacks)
            .await?
            .into_iter();
        let mut written = Vec::with_capacity(writes.len());
        for write in writes {
            written.push(match write {
                Self::Answer(_) => Written::Answer,
                Self::Callback(_) => {
                    Written::Callback(recorded.next().expect("one outcome per callback"))
                }
                Self::Claim(claim) => Written::Claim(claim.apply(&mut *conn).await?),
            });
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::group_commit::Write;
    use crate::db::own_connection::{OwnConnection, at_once};
    use crate::ids::MessageId;
    use crate::organisations::OrganisationId;
    use crate::outbound::ClaimedMessage;

    /// An organisation's running campaign with two messages being sent
    /// (their ids) and a third still queued.
    async fn two_messages_being_sent(pool: &Pool) -> (OrganisationId, [MessageId; 2]) {
        let organisation: OrganisationId = sqlx::query_scalar(
            "INSERT INTO organisations (name, public_id, subscription_state, created_at)
             VALUES ('Acme', 'acme', 'active', 0) RETURNING id",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        let campaign: i64 = sqlx::query_scalar(
            "INSERT INTO campaigns (organisation_id, name, channel, body, status, created_by, created_at, estimated_segments, started_at)
             VALUES ($1, 'Spring appeal', 'sms', 'Hello', 'running', 'carol@acme.test', 1, 1, 1) RETURNING id",
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
        sqlx::query(
            "INSERT INTO outbound_messages (campaign_id, phone, body, state, created_at)
             VALUES ($1, '+14155552679', 'Hello', 'queued', 1)",
        )
        .bind(campaign)
        .execute(pool)
        .await
        .unwrap();
        (organisation, ids)
    }

    fn sid(n: usize) -> String {
        format!("SM0123456789abcdef0123456789abcd{n:02}")
    }

    /// A group holding the three kinds gives what they give one by one, in
    /// the order they came: a callback that overtook its message's answer,
    /// one that followed it, and a claim of the queued message.
    #[tokio::test]
    async fn claims_answers_and_callbacks_in_one_group_give_what_they_give_one_by_one() {
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
            ];
            DeliveryWrite::Callback(DeliveryEvent {
                organisation,
                message_id: Some(ids[at]),
                callback: super::super::events::StatusCallback::parse(&params).unwrap(),
                received_at: 100,
            })
        };
        let campaign = crate::ids::CampaignId(
            sqlx::query_scalar("SELECT id FROM campaigns")
                .fetch_one(&one_by_one)
                .await
                .unwrap(),
        );
        let claim = DeliveryWrite::Claim(Claim {
            campaign,
            recipients: crate::outbound::Recipients::All,
            limit: 5,
            now: 100,
            lease_secs: 60,
        });
        let writes = [
            callback(0, "sent"),
            claim,
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
        let mut tx = crate::db::begin_write(&together).await.unwrap();
        let grouped = DeliveryWrite::apply_all(&group, &mut *tx).await.unwrap();
        tx.commit().await.unwrap();

        let claimed = ClaimedMessage {
            id: MessageId(ids[1].0 + 1),
            campaign_id: campaign,
            organisation_id: organisation,
            phone: "+14155552679".to_owned(),
            body: "Hello".to_owned(),
            claimed_at: 100,
            expires_at: 1 + 24 * 3600,
        };
        assert_eq!(
            alone,
            [
                Written::Callback(Recorded::Applied),
                Written::Claim(Claimed {
                    to_send: vec![claimed],
                    withheld: 0,
                }),
                Written::Answer,
                Written::Answer,
                Written::Callback(Recorded::Applied),
            ]
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
                ("sending".to_owned(), None, None, 0, Some(160)),
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

    /// A recipient who opted out after the audience was checked (a STOP
    /// during a long campaign) is withheld by the claim itself: marked
    /// `opted_out` in the claim's transaction, and not handed out to send.
    /// Another organisation's opt-out of the same number changes nothing.
    #[tokio::test]
    async fn a_claim_withholds_recipients_who_opted_out_since() {
        let (pool, _dir) = crate::db::testing::fresh_database().await;
        let (organisation, _) = two_messages_being_sent(&pool).await;
        let other = crate::organisations::testing::organisation(&pool, "Globex").await;
        let campaign = crate::ids::CampaignId(
            sqlx::query_scalar("SELECT id FROM campaigns")
                .fetch_one(&pool)
                .await
                .unwrap(),
        );
        sqlx::query(
            "INSERT INTO outbound_messages (campaign_id, phone, body, state, created_at)
             VALUES ($1, '+14155552680', 'Hello', 'queued', 1)",
        )
        .bind(campaign)
        .execute(&pool)
        .await
        .unwrap();
        let mut conn = pool.acquire().await.unwrap();
        crate::opt_outs::insert(&mut conn, organisation, "+14155552679", "reply", 50)
            .await
            .unwrap();
        crate::opt_outs::insert(&mut conn, other, "+14155552680", "reply", 50)
            .await
            .unwrap();
        drop(conn);

        let writer = start(pool.clone());
        let claimed = claim(
            &writer,
            Claim {
                campaign,
                recipients: crate::outbound::Recipients::All,
                limit: 5,
                now: 100,
                lease_secs: 60,
            },
        )
        .await
        .unwrap();

        let phones: Vec<&str> = claimed.to_send.iter().map(|m| m.phone.as_str()).collect();
        assert_eq!((phones, claimed.withheld), (vec!["+14155552680"], 1));
        let states: Vec<(String, String, Option<i64>)> = sqlx::query_as(
            "SELECT phone, state, lease_until FROM outbound_messages
             WHERE phone IN ('+14155552679', '+14155552680') ORDER BY phone",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(
            states,
            [
                ("+14155552679".to_owned(), "opted_out".to_owned(), None),
                ("+14155552680".to_owned(), "sending".to_owned(), Some(160)),
            ]
        );
    }
}
