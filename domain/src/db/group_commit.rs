//! Group commit: many small writes that each must be durable before their
//! caller answers (a status callback before its 200, a Twilio answer before
//! its send slot is freed) share one transaction. Callers wait for the
//! commit that holds their write, as they waited for their own before; the
//! database does one commit, and touches each page once, for the lot. A
//! group takes its turn at writing (`db::write_turn`) with the engine's
//! other frequent writers. On SQLite the groups run on a thread and a
//! connection of their own (`own_connection`), without a hand-off to
//! sqlx's connection thread for each statement.

use std::{future::Future, sync::Arc};

use anyhow::Context;
use tokio::sync::{mpsc, oneshot};

use super::{
    Backend, Pool,
    own_connection::{OwnConnection, at_once},
    statements::Statements,
};

/// One write that may share a transaction with others.
pub trait Write: Send + Sync + 'static {
    type Output: Send + 'static;

    /// The write's kind, in metrics, where one queue takes several kinds;
    /// by default the queue's own name.
    fn kind(&self) -> Option<&'static str> {
        None
    }

    /// Applies a group of writes inside `conn`'s open transaction, in
    /// order, answering each, with the outcome each would have alone (a
    /// group of one is a write alone). A kind of write whose group can
    /// share statements (one multi-row INSERT for all) does that here. An
    /// error rolls the whole group back; each write is then retried alone.
    ///
    /// On SQLite `conn` is the group commit's own connection, whose
    /// statements are done when they return: await nothing else.
    fn apply_all<'c, S: Statements>(
        writes: &'c [&'c Self],
        conn: &'c mut S,
    ) -> impl Future<Output = anyhow::Result<Vec<Self::Output>>> + Send + 'c
    where
        Self: Sized;

    /// Applies this write alone inside `conn`'s open transaction.
    fn apply<'c, S: Statements>(
        &'c self,
        conn: &'c mut S,
    ) -> impl Future<Output = anyhow::Result<Self::Output>> + Send + 'c
    where
        Self: Sized,
    {
        async move {
            let alone = [self];
            let mut outputs = Self::apply_all(&alone, conn).await?;
            Ok(outputs.pop().expect("one output per write"))
        }
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

/// A queue of writes and the task (or thread) that commits them in groups.
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
    /// Starts committing: on SQLite on a thread of its own with a connection
    /// of its own (see `own_connection`), on PostgreSQL as a task on the
    /// current runtime with the pool's connections. Either ends when the last
    /// handle is dropped.
    pub fn start(pool: Pool, what: &'static str) -> Self {
        let (queue, waiting) = mpsc::channel(4 * MOST_PER_GROUP);
        match own_connection(&pool, what) {
            Some((conn, turn)) => {
                std::thread::Builder::new()
                    // The role first: Linux keeps 15 characters of a name.
                    .name(format!("writer:{what}"))
                    .spawn(move || commit_on_own_connection(conn, turn, what, waiting))
                    .expect("could not start a group commit's thread");
            }
            None => {
                tokio::spawn(commit_in_groups(pool, what, waiting));
            }
        }
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

/// A SQLite pool's file opened once more, for a group commit, and the
/// file's write turn. None for PostgreSQL, or (logged) if the file cannot
/// be opened: the group commit then uses the pool as well.
fn own_connection(pool: &Pool, what: &'static str) -> Option<(OwnConnection, Arc<WriteTurn>)> {
    let url = pool.connect_options().database_url.as_str().to_owned();
    if Backend::of_url(&url).ok()? != Backend::Sqlite {
        return None;
    }
    let turn = super::turn_of(&url)?;
    let opened = super::sqlite_file(&url).and_then(|file| {
        let mut conn = OwnConnection::open(&file)?;
        if let Err(e) = conn.checkpoint_elsewhere(&file, Arc::clone(&turn), what) {
            // Its commits then checkpoint, as the pool's do.
            tracing::warn!(error = ?e, what, "a group commit's checkpoints stay on its thread");
        }
        Ok(conn)
    });
    match opened {
        Ok(conn) => Some((conn, turn)),
        Err(e) => {
            tracing::warn!(error = ?e, what, "a group commit could not open its own connection; it writes through the pool");
            None
        }
    }
}

type WriteTurn = tokio::sync::Mutex<()>;

/// Takes up to `MOST_PER_GROUP` writes: waits for one, then takes those
/// queued meanwhile. False once every handle has been dropped.
fn next_group<W: Write>(
    waiting: &mut mpsc::Receiver<Queued<W>>,
    group: &mut Vec<Queued<W>>,
) -> bool {
    let Some(first) = waiting.blocking_recv() else {
        return false;
    };
    group.push(first);
    while group.len() < MOST_PER_GROUP {
        match waiting.try_recv() {
            Ok(queued) => group.push(queued),
            Err(_) => break,
        }
    }
    true
}

fn commit_on_own_connection<W: Write>(
    mut conn: OwnConnection,
    turn: Arc<WriteTurn>,
    what: &'static str,
    mut waiting: mpsc::Receiver<Queued<W>>,
) {
    let mut group = Vec::with_capacity(MOST_PER_GROUP);
    while next_group(&mut waiting, &mut group) {
        let together = {
            let asked = std::time::Instant::now();
            let _turn = turn.blocking_lock();
            crate::metrics::group_commit_turn(what, asked);
            let started = std::time::Instant::now();
            let writes: Vec<&W> = group.iter().map(|queued| &queued.write).collect();
            let outputs = conn.in_transaction(|conn| at_once(W::apply_all(&writes, conn)));
            if outputs.is_ok() {
                crate::metrics::group_commit(what, group.len(), started);
            }
            outputs
        };
        match together {
            Ok(outputs) => answer_each(&mut group, outputs),
            Err(e) => {
                group_failed(e, what, group.len());
                for queued in group.drain(..) {
                    let _turn = turn.blocking_lock();
                    let output = conn.in_transaction(|conn| at_once(queued.write.apply(conn)));
                    let _ = queued.answer.send(output);
                }
            }
        }
    }
}

async fn commit_in_groups<W: Write>(
    pool: Pool,
    what: &'static str,
    mut waiting: mpsc::Receiver<Queued<W>>,
) {
    let mut group = Vec::with_capacity(MOST_PER_GROUP);
    while waiting.recv_many(&mut group, MOST_PER_GROUP).await > 0 {
        let writes: Vec<&W> = group.iter().map(|queued| &queued.write).collect();
        match apply_together(&pool, what, &writes).await {
            Ok(outputs) => answer_each(&mut group, outputs),
            Err(e) => {
                group_failed(e, what, group.len());
                for queued in group.drain(..) {
                    let output = apply_alone(&pool, &queued.write).await;
                    let _ = queued.answer.send(output);
                }
            }
        }
    }
}

/// Answers each write of a group committed together.
fn answer_each<W: Write>(group: &mut Vec<Queued<W>>, outputs: Vec<W::Output>) {
    for (queued, output) in group.drain(..).zip(outputs) {
        let _ = queued.answer.send(Ok(output));
    }
}

/// One bad write (a unique violation, say) must not fail the others: after
/// a group fails, each of its writes goes again in a transaction of its own.
fn group_failed(error: anyhow::Error, what: &'static str, size: usize) {
    tracing::debug!(
        ?error,
        what,
        size,
        "a group commit failed; writing one by one"
    );
}

async fn apply_together<W: Write>(
    pool: &Pool,
    what: &'static str,
    writes: &[&W],
) -> anyhow::Result<Vec<W::Output>> {
    let asked = std::time::Instant::now();
    let turn = super::write_turn(pool).await;
    crate::metrics::group_commit_turn(what, asked);
    let started = std::time::Instant::now();
    let mut tx = super::begin_write_in_turn(pool, turn)
        .await
        .context("could not start a transaction")?;
    let outputs = W::apply_all(writes, &mut *tx).await?;
    tx.commit().await.context("could not commit")?;
    crate::metrics::group_commit(what, writes.len(), started);
    Ok(outputs)
}

async fn apply_alone<W: Write>(pool: &Pool, write: &W) -> anyhow::Result<W::Output> {
    let mut tx = super::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    let output = write.apply(&mut *tx).await?;
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

        async fn apply_all<'c, S: Statements>(
            writes: &'c [&'c Self],
            conn: &'c mut S,
        ) -> anyhow::Result<Vec<i64>> {
            let mut ids = Vec::new();
            for write in writes {
                let mut id: Vec<i64> = conn
                    .fetch(
                        "INSERT INTO organisations (name, public_id, subscription_state, created_at)
                         VALUES ($1, $1, 'active', 0) RETURNING id",
                        vec![write.0.into()],
                        true,
                    )
                    .await?;
                ids.push(id.pop().context("no id")?);
            }
            Ok(ids)
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

    /// Adds a row of 16 KB: four pages of the WAL or more.
    struct LargeRow;

    impl Write for LargeRow {
        type Output = ();

        async fn apply_all<'c, S: Statements>(
            writes: &'c [&'c Self],
            conn: &'c mut S,
        ) -> anyhow::Result<Vec<()>> {
            for _ in writes {
                conn.execute(
                    "INSERT INTO large_rows (content) VALUES (randomblob(16000))",
                    Vec::new(),
                    true,
                )
                .await?;
            }
            Ok(vec![(); writes.len()])
        }
    }

    /// The group commit's checkpoints run on a thread of their own; the
    /// WAL still starts again from its beginning once checkpointed, so it
    /// stays short however much is written.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_stays_short_while_only_the_group_commit_writes() {
        let (pool, scratch) = fresh_database().await;
        let Some(file) = scratch.sqlite_file.clone() else {
            return; // SQLite only.
        };
        sqlx::query("CREATE TABLE large_rows (content BLOB NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        let writer = GroupCommit::start(pool.clone(), "test_writes");

        // 3,000 rows: 12,000 pages and more, 48 MB, if never checkpointed.
        for _ in 0..3_000 {
            writer.write(LargeRow).await.unwrap();
        }

        let size = |suffix: &str| {
            let mut name = file.clone().into_os_string();
            name.push(suffix);
            std::fs::metadata(name).map_or(0, |meta| meta.len())
        };
        // By a thread of its own (named as Linux keeps it, 15 bytes).
        let threads: Vec<String> = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .map(|name| name.trim().to_owned())
            .collect();
        assert!(
            threads.iter().any(|name| name == "checkpoints:tes"),
            "{threads:?}"
        );
        // The rows are in the database file: checkpointed.
        assert!(size("") > 40_000_000, "database file: {} bytes", size(""));
        // At most about 3,000 pages (12 MB) and what a checkpoint holding
        // writers back finds: far shorter than what was written.
        assert!(size("-wal") < 24_000_000, "WAL: {} bytes", size("-wal"));
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
