//! Group commit: many small writes that each must be durable before their
//! caller answers (a status callback before its 200, a Twilio answer before
//! its send slot is freed) share one transaction. Callers wait for the
//! commit that holds their write, as they waited for their own before; the
//! database does one commit, and touches each page once, for the lot. A
//! group takes its turn at writing (`db::write_turn`) with the engine's
//! other frequent writers.

use std::{future::Future, pin::Pin};

use anyhow::Context;
use tokio::sync::{mpsc, oneshot};

use super::{DbConnection, Pool};

/// What applying writes returns: a future on the transaction's connection.
pub type Applied<'c, T> = Pin<Box<dyn Future<Output = anyhow::Result<T>> + Send + 'c>>;

/// One write that may share a transaction with others.
pub trait Write: Send + Sync + 'static {
    type Output: Send + 'static;

    /// The write's kind, in metrics, where one queue takes several kinds;
    /// by default the queue's own name.
    fn kind(&self) -> Option<&'static str> {
        None
    }

    /// Applies the write inside `conn`'s open transaction. An error rolls
    /// the whole group back; each write is then retried on its own.
    fn apply<'c>(&'c self, conn: &'c mut DbConnection) -> Applied<'c, Self::Output>;

    /// Applies a group of writes inside `conn`'s open transaction, in
    /// order, answering each: by default one after the other. A kind of
    /// write whose group can share statements (one multi-row INSERT for
    /// all) does that here, with the same outcome as one by one.
    fn apply_all<'c>(
        writes: Vec<&'c Self>,
        conn: &'c mut DbConnection,
    ) -> Applied<'c, Vec<Self::Output>>
    where
        Self: Sized,
    {
        Box::pin(async move {
            let mut outputs = Vec::with_capacity(writes.len());
            for write in writes {
                outputs.push(write.apply(&mut *conn).await?);
            }
            Ok(outputs)
        })
    }
}

/// At most this many writes share a commit: enough to take a burst in a few
/// groups, few enough that a group holds SQLite's write lock for
/// milliseconds, not seconds.
const MOST_PER_GROUP: usize = 256;

struct Queued<W: Write> {
    write: W,
    answer: oneshot::Sender<anyhow::Result<W::Output>>,
}

/// A queue of writes and the task that commits them in groups.
pub struct GroupCommit<W: Write> {
    queue: mpsc::Sender<Queued<W>>,
    /// The kind of writes, in logs and metrics (`status_callbacks`).
    what: &'static str,
}

impl<W: Write> Clone for GroupCommit<W> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
            what: self.what,
        }
    }
}

impl<W: Write> GroupCommit<W> {
    /// Starts the committing task on the current runtime. It ends when the
    /// last handle is dropped.
    pub fn start(pool: Pool, what: &'static str) -> Self {
        let (queue, waiting) = mpsc::channel(4 * MOST_PER_GROUP);
        tokio::spawn(commit_in_groups(pool, what, waiting));
        Self { queue, what }
    }

    /// Applies `write` and returns once it is committed.
    pub async fn write(&self, write: W) -> anyhow::Result<W::Output> {
        let queued = std::time::Instant::now();
        let kind = write.kind().unwrap_or(self.what);
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(Queued { write, answer })
            .await
            .map_err(|_| anyhow::anyhow!("the database writer has stopped"))?;
        let output = answered
            .await
            .map_err(|_| anyhow::anyhow!("the database writer stopped before committing"))?;
        crate::metrics::group_commit_wait(kind, queued);
        output
    }
}

async fn commit_in_groups<W: Write>(
    pool: Pool,
    what: &'static str,
    mut waiting: mpsc::Receiver<Queued<W>>,
) {
    let mut group = Vec::with_capacity(MOST_PER_GROUP);
    while waiting.recv_many(&mut group, MOST_PER_GROUP).await > 0 {
        match apply_together(&pool, what, &group).await {
            Ok(outputs) => {
                for (queued, output) in group.drain(..).zip(outputs) {
                    let _ = queued.answer.send(Ok(output));
                }
            }
            Err(e) => {
                // One bad write (a unique violation, say) must not fail the
                // others: each goes again in a transaction of its own.
                tracing::debug!(error = ?e, what, size = group.len(), "a group commit failed; writing one by one");
                for queued in group.drain(..) {
                    let output = apply_alone(&pool, &queued.write).await;
                    let _ = queued.answer.send(output);
                }
            }
        }
    }
}

async fn apply_together<W: Write>(
    pool: &Pool,
    what: &'static str,
    group: &[Queued<W>],
) -> anyhow::Result<Vec<W::Output>> {
    let _turn = super::write_turn(pool).await;
    let started = std::time::Instant::now();
    let mut tx = pool
        .begin()
        .await
        .context("could not start a transaction")?;
    let writes = group.iter().map(|queued| &queued.write).collect();
    let outputs = W::apply_all(writes, &mut tx).await?;
    tx.commit().await.context("could not commit")?;
    crate::metrics::group_commit(what, group.len(), started);
    Ok(outputs)
}

async fn apply_alone<W: Write>(pool: &Pool, write: &W) -> anyhow::Result<W::Output> {
    let _turn = super::write_turn(pool).await;
    let mut tx = pool
        .begin()
        .await
        .context("could not start a transaction")?;
    let output = write.apply(&mut tx).await?;
    tx.commit().await.context("could not commit")?;
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::fresh_database;

    /// Names an organisation; a name already taken fails (unique).
    struct NewOrganisation(&'static str);

    impl Write for NewOrganisation {
        type Output = i64;

        fn apply<'c>(
            &'c self,
            conn: &'c mut DbConnection,
        ) -> Pin<Box<dyn Future<Output = anyhow::Result<i64>> + Send + 'c>> {
            Box::pin(async move {
                let id = sqlx::query_scalar(
                    "INSERT INTO organisations (name, public_id, subscription_state, created_at)
                     VALUES ($1, $1, 'active', 0) RETURNING id",
                )
                .bind(self.0)
                .fetch_one(conn)
                .await?;
                Ok(id)
            })
        }
    }

    #[tokio::test]
    async fn writes_arriving_together_are_committed_and_one_bad_write_fails_alone() {
        let (pool, _dir) = fresh_database().await;
        let writer = GroupCommit::start(pool.clone(), "test_writes");
        let names: Vec<&'static str> = vec!["A", "B", "C", "A", "D", "E", "F", "G"];

        // Queued before the writer runs (this runtime has one thread), so
        // they are committed as one group.
        let pending: Vec<_> = names
            .iter()
            .map(|name| {
                let writer = writer.clone();
                let name = *name;
                tokio::spawn(async move { writer.write(NewOrganisation(name)).await })
            })
            .collect();
        let mut answers = Vec::new();
        for answer in pending {
            answers.push(answer.await.unwrap());
        }

        // The second "A" is refused; every other write is committed.
        let refused: Vec<usize> = answers
            .iter()
            .enumerate()
            .filter_map(|(i, answer)| answer.is_err().then_some(i))
            .collect();
        assert_eq!(refused, vec![3]);
        let stored: Vec<String> =
            sqlx::query_scalar("SELECT name FROM organisations ORDER BY name")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(stored, ["A", "B", "C", "D", "E", "F", "G"]);
    }

    #[tokio::test]
    async fn a_write_returns_only_once_it_is_committed() {
        let (pool, _dir) = fresh_database().await;
        let writer = GroupCommit::start(pool.clone(), "test_writes");

        let id = writer.write(NewOrganisation("Acme")).await.unwrap();

        // Another connection sees it: it was committed before the answer.
        let seen: i64 = sqlx::query_scalar("SELECT id FROM organisations WHERE name = 'Acme'")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(seen, id);
    }
}
