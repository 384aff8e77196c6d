//! A group commit's own SQLite connection, used on a thread of its own.
//!
//! Through the pool, every statement is a hand-off to the connection's sqlx
//! thread and back; with both cores busy each wake-up waits for a core, and
//! a group's seven hand-offs (BEGIN, five statements, COMMIT) were most of
//! its 5.5 ms, BEGIN alone half a millisecond (BENCHMARKS.md, "What bounds
//! sending now"). Every callback waits for its group's commit, so that time
//! bounded how many callbacks a second Outreach could take. Here a group
//! runs from BEGIN to COMMIT on the one thread, through rusqlite on the
//! SQLite library sqlx links, with the pool's connection settings.

use std::{
    ffi::{c_char, c_int, c_void},
    future::Future,
    path::Path,
    sync::{
        Arc,
        mpsc::{Receiver, SyncSender, sync_channel},
    },
};

use anyhow::Context;
use futures_util::FutureExt;
use rusqlite::ffi;

use super::{
    Backend, SQLITE_SETTINGS,
    statements::{Arg, Columns, Statements},
};

pub struct OwnConnection {
    // Declared before `checkpoints`, so closed (and its WAL hook gone)
    // before the hook's sender is dropped.
    conn: rusqlite::Connection,
    /// Where this connection's WAL hook asks for checkpoints, once they
    /// are handed to a thread of their own (`checkpoint_elsewhere`).
    checkpoints: Option<Box<SyncSender<()>>>,
}

/// The WAL's length, in pages, at which a checkpoint is due: SQLite's own
/// default for its automatic checkpoints.
const CHECKPOINT_AT_PAGES: c_int = 1_000;

/// The WAL's length, in pages, past which a checkpoint holds writers back
/// until it is done (see `checkpoint_when_asked`).
const LONG_WAL_PAGES: i64 = 3 * CHECKPOINT_AT_PAGES as i64;

/// How many statements the connection keeps prepared. It runs nothing but
/// a group's statements, whose text changes with the group's size: kept,
/// the sizes seen while sending (one to a few dozen writes, for each of
/// the group's five or so statements) are parsed once instead of for every
/// group, which was a tenth of the writer thread's time.
const KEPT_PREPARED: usize = 256;

/// Settings of this connection alone, after the pool's. A group's
/// multi-row statements each keep a statement journal (the pages they
/// change, to undo that statement alone if it fails inside the group's
/// transaction). SQLite writes one past 64 KiB to a temporary file, which
/// it opens for the statement: a fifth of the writer thread's time went to
/// opening and writing those files (BENCHMARKS.md). Kept in memory instead,
/// a journal holds the pages of one statement of at most `MOST_PER_GROUP`
/// writes, and is freed when the statement ends. The pool's connections
/// keep temporary files: their sorts can be as large as a whole export.
const OWN_SETTINGS: &str = "PRAGMA temp_store = MEMORY";

impl OwnConnection {
    pub fn open(file: &Path) -> anyhow::Result<Self> {
        let conn = rusqlite::Connection::open(file)
            .with_context(|| format!("could not open the database {}", file.display()))?;
        for setting in SQLITE_SETTINGS
            .split(';')
            .chain([OWN_SETTINGS])
            .map(str::trim)
        {
            if setting.is_empty() {
                continue;
            }
            // `journal_mode` answers with a row: step each once.
            let mut statement = conn.prepare(setting)?;
            statement.query([])?.next()?;
        }
        conn.set_prepared_statement_cache_capacity(KEPT_PREPARED);
        Ok(Self {
            conn,
            checkpoints: None,
        })
    }

    /// Hands this connection's checkpoints to a thread of their own, with
    /// a connection of its own to `file`. A checkpoint copies the WAL's
    /// pages back into the database file and syncs it. SQLite runs one
    /// inside the commit that takes the WAL past 1,000 pages, so the group
    /// commit's thread did them, a fifth of its time, while every write
    /// waiting for the next group waited for the checkpoint too
    /// (BENCHMARKS.md). Now the commit only asks for one, and the thread
    /// copies while groups go on being committed; the `turn` at writing is
    /// taken only if the WAL gets long (see `checkpoint_when_asked`).
    pub fn checkpoint_elsewhere(
        &mut self,
        file: &Path,
        turn: Arc<tokio::sync::Mutex<()>>,
        what: &'static str,
    ) -> anyhow::Result<()> {
        let checkpointer = Self::open(file)?;
        // One request waiting is enough: the next checkpoint takes every
        // page committed by then.
        let (asks, asked) = sync_channel(1);
        std::thread::Builder::new()
            // Linux keeps 15 characters of a thread's name: the role
            // first, so that `ps` and `perf` tell it from the writer.
            .name(format!("checkpoints:{what}"))
            .spawn(move || checkpoint_when_asked(checkpointer, &turn, what, &asked))
            .context("could not start the checkpoints' thread")?;
        let asks = Box::new(asks);
        let arg = std::ptr::from_ref::<SyncSender<()>>(&asks)
            .cast_mut()
            .cast::<c_void>();
        // SAFETY: `arg` points into the box kept in `self.checkpoints`,
        // which is dropped after `self.conn` is closed, so the hook never
        // sees it freed. The hook only reads through it. Setting a WAL hook
        // turns this connection's automatic checkpoints off.
        unsafe {
            ffi::sqlite3_wal_hook(self.conn.handle(), Some(ask_for_checkpoint), arg);
        }
        self.checkpoints = Some(asks);
        Ok(())
    }

    /// A passive checkpoint: as many pages as no reader still needs,
    /// without waiting for anyone. Returns the WAL's length in pages.
    fn checkpoint(&self) -> rusqlite::Result<i64> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))
    }

    /// Runs `apply` in a transaction, committed if it succeeds and rolled
    /// back if not. `IMMEDIATE` takes the write lock at BEGIN, through the
    /// busy timeout, rather than failing where a read would become a write.
    pub fn in_transaction<T>(
        &mut self,
        apply: impl FnOnce(&mut Self) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .context("could not start a transaction")?;
        let applied = apply(self).and_then(|output| {
            self.conn
                .execute_batch("COMMIT")
                .context("could not commit")?;
            Ok(output)
        });
        if applied.is_err() && !self.conn.is_autocommit() {
            // Rolled back so that the next group starts afresh; what went
            // wrong is the error already returned.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        applied
    }

    /// Runs `run` on the statement, kept prepared for the next time
    /// whatever the caller's `keep` (which is about a pool's connections,
    /// shared with every other statement; see `KEPT_PREPARED`).
    fn with_statement<T>(
        &self,
        sql: &str,
        run: impl FnOnce(&mut rusqlite::Statement<'_>) -> rusqlite::Result<T>,
    ) -> anyhow::Result<T> {
        Ok(run(&mut *self.conn.prepare_cached(sql)?)?)
    }
}

/// SQLite's WAL hook, called after each commit with the WAL's length: asks
/// the checkpoints' thread for a checkpoint once one is due. It must not
/// unwind into SQLite: `try_send` cannot panic.
unsafe extern "C" fn ask_for_checkpoint(
    asks: *mut c_void,
    _db: *mut ffi::sqlite3,
    _database: *const c_char,
    pages: c_int,
) -> c_int {
    if pages >= CHECKPOINT_AT_PAGES {
        // SAFETY: set by `checkpoint_elsewhere` to its boxed sender, which
        // outlives the connection.
        let asks = unsafe { &*asks.cast::<SyncSender<()>>() };
        // Full: a checkpoint is asked for already.
        let _ = asks.try_send(());
    }
    ffi::SQLITE_OK
}

/// The checkpoints' thread, until the connection that asks is closed.
///
/// The WAL starts again from its beginning only when a write begins after
/// a checkpoint copied all of it; otherwise it grows. Every commit asks
/// again while the WAL is 1,000 pages or more, and each checkpoint copies
/// only what was committed since the last, so one soon copies all before
/// the next group commits. Should the WAL still reach `LONG_WAL_PAGES`, a
/// checkpoint takes the `turn` at writing, so that nothing is committed
/// before it is done.
fn checkpoint_when_asked(
    conn: OwnConnection,
    turn: &tokio::sync::Mutex<()>,
    what: &'static str,
    asked: &Receiver<()>,
) {
    while asked.recv().is_ok() {
        let copied = conn.checkpoint().and_then(|pages| {
            if pages >= LONG_WAL_PAGES {
                let _turn = turn.blocking_lock();
                conn.checkpoint()?;
            }
            Ok(())
        });
        if let Err(e) = copied {
            // The next commit asks again; meanwhile the WAL grows.
            tracing::warn!(error = %e, what, "a checkpoint failed");
        }
    }
}

/// Binds `args` as sqlx does on SQLite, where the same text runs too: a
/// parameter written `$n` takes the n-th argument. SQLite numbers such
/// named parameters in the order they first appear, so bound by position
/// `… $3 … $1 …` would take the first argument for `$3`. A bare `?`
/// takes the argument at its position.
fn bind_all(statement: &mut rusqlite::Statement<'_>, args: &[Arg<'_>]) -> rusqlite::Result<()> {
    let count = statement.parameter_count();
    if count != args.len() {
        return Err(rusqlite::Error::InvalidParameterCount(args.len(), count));
    }
    for index in 1..=count {
        let numbered = statement
            .parameter_name(index)
            .and_then(|name| name.strip_prefix(['$', '?']))
            .and_then(|n| n.parse::<usize>().ok());
        let arg = numbered
            .unwrap_or(index)
            .checked_sub(1)
            .and_then(|at| args.get(at))
            .ok_or(rusqlite::Error::InvalidParameterCount(args.len(), count))?;
        statement.raw_bind_parameter(index, arg)?;
    }
    Ok(())
}

/// Code written against `Statements` awaits nothing but its statements,
/// and here those are done when they return: its future is ready at once.
pub fn at_once<T>(future: impl Future<Output = T>) -> T {
    future
        .now_or_never()
        .expect("statements on a group commit's own connection never wait")
}

impl Statements for OwnConnection {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn execute(
        &mut self,
        sql: &str,
        args: Vec<Arg<'_>>,
        _keep: bool,
    ) -> impl Future<Output = anyhow::Result<u64>> + Send {
        let changed = self.with_statement(sql, |statement| {
            bind_all(statement, &args)?;
            statement.raw_execute().map(|rows| rows as u64)
        });
        std::future::ready(changed)
    }

    fn fetch<R: Columns>(
        &mut self,
        sql: &str,
        args: Vec<Arg<'_>>,
        _keep: bool,
    ) -> impl Future<Output = anyhow::Result<Vec<R>>> + Send {
        let rows = self.with_statement(sql, |statement| {
            bind_all(statement, &args)?;
            let mut rows = statement.raw_query();
            let mut read = Vec::new();
            while let Some(row) = rows.next()? {
                read.push(R::from_sqlite(row)?);
            }
            Ok(read)
        });
        std::future::ready(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{
        Pool,
        testing::{ScratchDatabase, fresh_database},
    };

    const NEW_ORGANISATION: &str =
        "INSERT INTO organisations (name, public_id, subscription_state, created_at)
         VALUES ($1, $1, 'active', 0) RETURNING id";

    /// A fresh database's pool and its file opened once more as a group
    /// commit's own connection (and the scratch database, kept while they
    /// are used); None on PostgreSQL.
    async fn opened_twice() -> Option<(Pool, OwnConnection, ScratchDatabase)> {
        let (pool, scratch) = fresh_database().await;
        let conn = OwnConnection::open(scratch.sqlite_file.as_ref()?).unwrap();
        Some((pool, conn, scratch))
    }

    /// A group that fails half-way leaves nothing behind, and the next
    /// one starts afresh on the same connection.
    #[tokio::test]
    async fn a_failed_transaction_is_rolled_back_and_the_next_is_committed() {
        let Some((pool, mut conn, _scratch)) = opened_twice().await else {
            return; // SQLite only.
        };
        let failed = conn.in_transaction(|conn| {
            let _: Vec<i64> = at_once(conn.fetch(NEW_ORGANISATION, vec!["Acme".into()], true))?;
            let _: Vec<i64> = at_once(conn.fetch(NEW_ORGANISATION, vec!["Acme".into()], true))?;
            Ok(())
        });
        assert!(
            failed.unwrap_err().to_string().contains("UNIQUE"),
            "the second organisation named Acme is refused"
        );
        let ids = conn
            .in_transaction(|conn| {
                at_once(conn.fetch::<i64>(NEW_ORGANISATION, vec!["Beta".into()], true))
            })
            .unwrap();

        // Seen through the pool: committed, and the failed one is gone.
        let stored: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM organisations")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(stored, [(ids[0], "Beta".to_owned())]);
        // The pool's settings hold here too.
        let foreign_keys: Vec<i64> =
            at_once(conn.fetch("PRAGMA foreign_keys", Vec::new(), false)).unwrap();
        assert_eq!(foreign_keys, [1]);
        // Its own: statement journals in memory (2), not in files.
        let temp_store: Vec<i64> =
            at_once(conn.fetch("PRAGMA temp_store", Vec::new(), false)).unwrap();
        assert_eq!(temp_store, [2]);
    }

    /// `$n` is the n-th argument wherever it first appears, as through
    /// sqlx: statements shared with the pool (a claim's) name `$3` first.
    #[tokio::test]
    async fn numbered_parameters_take_their_numbered_argument() {
        let Some((_pool, mut conn, _scratch)) = opened_twice().await else {
            return; // SQLite only.
        };
        let args = || vec![Arg::from(1), Arg::from(10)];
        let difference: Vec<i64> =
            at_once(conn.fetch("SELECT $2 - $1 + $2", args(), true)).unwrap();
        assert_eq!(difference, [19]);
        let missing = at_once(conn.fetch::<i64>("SELECT $1 + $2 + $3", args(), true));
        assert!(missing.is_err(), "three parameters, two arguments");
    }
}
