//! The database: SQLite (embedded, one process) or PostgreSQL (several
//! processes), behind one pool type so every query is written once.
//!
//! Queries use `$1`-style placeholders, which both SQLite and PostgreSQL
//! read. What the two dialects do differently lives here, by name: the
//! connection set-up, the migrations, `SKIP LOCKED`.

mod copy;
pub mod group_commit;
pub(crate) mod own_connection;
pub mod statements;

pub use copy::{CopiedTable, copy_database};

use std::{collections::HashMap, path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
use sqlx::{
    Executor,
    any::{AnyConnectOptions, AnyPoolOptions},
    migrate::{Migrate, Migrator},
};

/// One pool type for both databases.
pub type Pool = sqlx::AnyPool;
/// A connection (or, through `&mut *tx`, a transaction) of either database.
pub type DbConnection = sqlx::AnyConnection;

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database a URL or a pool is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "OUTREACH_DATABASE_URL must start with sqlite:// (one process, a file on this machine) or postgres:// (several processes); it starts with {scheme:?}"
)]
pub struct UnsupportedDatabase {
    /// Only the scheme: the rest of a URL may hold a password.
    scheme: String,
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Self, UnsupportedDatabase> {
        let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
        match scheme {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            _ => Err(UnsupportedDatabase {
                scheme: scheme.chars().take(20).collect(),
            }),
        }
    }

    pub fn of(pool: &Pool) -> Self {
        Self::of_url(pool.connect_options().database_url.as_str())
            .expect("a pool is only opened for a supported URL")
    }

    pub fn of_connection(conn: &DbConnection) -> Self {
        match conn.backend_name() {
            "PostgreSQL" => Self::Postgres,
            _ => Self::Sqlite,
        }
    }

    fn migrator(self) -> &'static Migrator {
        match self {
            Self::Sqlite => &SQLITE_MIGRATOR,
            Self::Postgres => &POSTGRES_MIGRATOR,
        }
    }

    /// Runs the rest of `conn`'s transaction one at a time with every other
    /// transaction that names the same `key`. Counting then inserting (a
    /// throttle) is atomic in SQLite, which writes one transaction at a
    /// time; PostgreSQL lets two transactions count the same rows, so it
    /// takes a transaction-level advisory lock.
    pub async fn one_at_a_time(conn: &mut DbConnection, key: &str) -> anyhow::Result<()> {
        if Self::of_connection(conn) == Self::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind(key)
                .execute(conn)
                .await
                .context("could not take an advisory lock")?;
        }
        Ok(())
    }

    /// Follows the table's name in a statement that finds its rows by id
    /// and also checks an indexed column (`WHERE id IN (…) AND state =
    /// 'queued'`). Without statistics SQLite may read that column's index
    /// instead: every queued message of every campaign, to find the few
    /// ids. `NOT INDEXED` keeps it to the ids (the rowid is not an index).
    /// PostgreSQL's planner has statistics.
    pub fn by_id_only(self) -> &'static str {
        match self {
            Self::Sqlite => " NOT INDEXED",
            Self::Postgres => "",
        }
    }

    /// Follows the table's name where SQLite, without statistics, would
    /// choose a worse index than `index` (and fails, rather than scan, if
    /// it cannot use it). PostgreSQL's planner has statistics.
    pub fn indexed_by(self, index: &str) -> String {
        match self {
            Self::Sqlite => format!(" INDEXED BY {index}"),
            Self::Postgres => String::new(),
        }
    }

    /// Whether a message's count changes are noted for the engine to fold
    /// (PostgreSQL, the large_campaigns migration), rather than counted in
    /// place by the triggers (SQLite, the counts_in_place migration).
    pub fn notes_count_changes(self) -> bool {
        match self {
            Self::Sqlite => false,
            Self::Postgres => true,
        }
    }

    /// Appended to a `SELECT … LIMIT n` that picks rows to claim: on
    /// PostgreSQL another process skips the rows this one is claiming
    /// instead of waiting for them, then claiming them again. SQLite has a
    /// single writer (and one process per file), so it needs nothing.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }
}

/// A turn at writing. Every write transaction (`begin_write`) holds one
/// until it ends, and so does every write outside a transaction (a single
/// statement, `InTurn::in_turn`, or a function that writes on a connection,
/// `write_connection`). Hold it across the write and no longer. It is not
/// re-entrant: never ask for a second turn while holding one (a function
/// holding it must not call one that writes in turn: it would wait for
/// ever), and never begin a write transaction while holding one (use
/// `begin_write_in_turn`).
///
/// SQLite writes one transaction at a time, and a connection that finds
/// the file locked sleeps in SQLite's busy handler (1, 2, 5, 10 … 100 ms
/// between tries), so writers of one process colliding lose milliseconds
/// each time while the lock sits free: during a large campaign that was
/// about a quarter of a second of sleeping per second, and every callback
/// waiting on it. And a writer that commits and begins again at once (an
/// import of a million contacts, one transaction after another) takes the
/// lock back before a sleeper wakes: another organisation's save waited
/// up to half a second for it, and a person renaming a list in a single
/// statement up to a second (BENCHMARKS.md). Here writers queue in order,
/// and the next starts as soon as the last has committed. PostgreSQL locks
/// rows, not the database: None.
pub async fn write_turn(pool: &Pool) -> Option<tokio::sync::OwnedMutexGuard<()>> {
    let turn = turn_of(pool.connect_options().database_url.as_str())?;
    Some(turn.lock_owned().await)
}

/// A write outside a transaction, run in its turn (`write_turn`):
/// `sqlx::query(…).execute(pool).in_turn(pool).await`. The turn is taken
/// when the write is awaited and given back as soon as it is done.
pub trait InTurn: Future + Send + Sized {
    fn in_turn(self, pool: &Pool) -> impl Future<Output = Self::Output> + Send {
        async move {
            let _turn = write_turn(pool).await;
            self.await
        }
    }
}

impl<F: Future + Send> InTurn for F {}

/// A transaction that will write. On SQLite it takes the write lock at
/// BEGIN (`BEGIN IMMEDIATE`, waiting in the busy handler if another
/// connection holds it). A plain BEGIN defers that to the first write, and
/// if it has read before it and another connection (the group commit's,
/// say, while a campaign sends) has committed since, SQLite refuses the
/// write at once with SQLITE_BUSY_SNAPSHOT (517, "database is locked"): no
/// busy handler helps, because the transaction's reads are out of date.
/// PostgreSQL locks rows as it writes: a plain BEGIN.
///
/// Every transaction starts here, whether or not it reads first today:
/// clippy.toml forbids `Pool::begin`, so a read added at the top of a
/// transaction later cannot bring the failure back.
///
/// On SQLite the transaction holds the write turn (`write_turn`) until it
/// commits or rolls back, so writers take the lock in the order they came.
pub async fn begin_write(pool: &Pool) -> sqlx::Result<WriteTransaction> {
    let turn = write_turn(pool).await;
    begin_write_in_turn(pool, turn).await
}

/// `begin_write` for a caller that took the turn itself (to measure its
/// wait); the transaction keeps it until it ends.
#[allow(clippy::disallowed_methods)] // The one place that may.
pub async fn begin_write_in_turn(
    pool: &Pool,
    turn: Option<tokio::sync::OwnedMutexGuard<()>>,
) -> sqlx::Result<WriteTransaction> {
    let tx = match Backend::of(pool) {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => pool.begin().await?,
    };
    Ok(WriteTransaction { tx, _turn: turn })
}

/// A write transaction and its turn at writing. It reads and writes as its
/// connection (`&mut *tx`); dropped without `commit` it rolls back.
pub struct WriteTransaction {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    // Declared after `tx`, so dropped after it: the next writer's turn
    // starts once this transaction has committed or rolled back. (Dropped
    // without either, after an error, sqlx only queues its rollback, and
    // the next writer may wait a moment in SQLite's busy handler.)
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTransaction {
    pub async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> sqlx::Result<()> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for WriteTransaction {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTransaction {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.tx
    }
}

/// A connection for writes outside a transaction that take a connection
/// (`&mut DbConnection`), holding the write turn until it is dropped. One
/// statement on the pool takes its turn with `InTurn::in_turn` instead.
pub async fn write_connection(pool: &Pool) -> sqlx::Result<WriteConnection> {
    // The turn first: a writer waiting for it holds no connection.
    let turn = write_turn(pool).await;
    Ok(WriteConnection {
        conn: pool.acquire().await?,
        _turn: turn,
    })
}

pub struct WriteConnection {
    conn: sqlx::pool::PoolConnection<sqlx::Any>,
    // After `conn`: given back once the connection is.
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl std::ops::Deref for WriteConnection {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for WriteConnection {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

/// The write turn of the SQLite file at `url`; None for PostgreSQL.
fn turn_of(url: &str) -> Option<Arc<tokio::sync::Mutex<()>>> {
    static TURNS: std::sync::LazyLock<
        std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    > = std::sync::LazyLock::new(Default::default);
    if Backend::of_url(url).ok()? != Backend::Sqlite {
        return None;
    }
    // One file, one queue (tests open many databases in one process).
    let turn = TURNS
        .lock()
        .expect("never poisoned")
        .entry(url.to_owned())
        .or_default()
        .clone();
    Some(turn)
}

/// Opens the database at `url` (creating a SQLite file and its directory
/// if needed) and brings its schema up to date.
pub async fn connect(url: &str) -> anyhow::Result<Pool> {
    let pool = open(url).await?;
    migrate(&pool).await?;
    Ok(pool)
}

/// Opens the database at `url` without touching its schema.
pub async fn open(url: &str) -> anyhow::Result<Pool> {
    let backend = Backend::of_url(url)?;
    sqlx::any::install_default_drivers();
    let options: AnyConnectOptions = url
        .parse()
        .map_err(|e| anyhow::anyhow!("OUTREACH_DATABASE_URL is not a database URL: {e}"))?;
    let pool = match backend {
        Backend::Sqlite => {
            let file = sqlite_file(url)?;
            create_private_file(&file)?;
            without_memory_statistics();
            AnyPoolOptions::new()
                .max_connections(8)
                // A file's connection cannot go stale, and the check before
                // each use is a round trip to its worker thread: during a
                // campaign's sending, a fifth of each group commit's time.
                .test_before_acquire(false)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(SQLITE_SETTINGS).await?;
                        Ok(())
                    })
                })
                .connect_with(options)
                .await
                .with_context(|| format!("could not open the database {}", file.display()))?
        }
        Backend::Postgres => AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            // The URL may hold a password: name only the database.
            .context("could not connect to the PostgreSQL database in OUTREACH_DATABASE_URL")?,
    };
    Ok(pool)
}

/// Turns off SQLite's count of the memory it uses, which Outreach never
/// reads: kept, every allocation of every connection takes one process-wide
/// mutex for it, and the group commit's thread allocates for each row. Only
/// possible before SQLite starts, at the first connection; later (a second
/// database in the same process, as in tests) it is refused, harmlessly.
fn without_memory_statistics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: SQLITE_CONFIG_MEMSTATUS takes one int. sqlite3_config
        // must not run beside other SQLite calls: every opening in Outreach
        // comes through `open` (a group commit's own connection after its
        // pool's), and `call_once` holds them back until it returns. If
        // SQLite has started already it answers SQLITE_MISUSE, changing
        // nothing.
        unsafe {
            rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0);
        }
    });
}

/// Every SQLite connection's settings. WAL lets the web server read while a
/// writer commits; NORMAL is durable across application crashes in WAL
/// mode. Deleted rows are overwritten, not left in free pages: a
/// disconnected organisation's encrypted Auth Token is really gone. The
/// busy timeout comes first, so that the others wait for a lock instead of
/// failing the new connection.
const SQLITE_SETTINGS: &str = "PRAGMA busy_timeout = 5000;
    PRAGMA foreign_keys = ON;
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    PRAGMA secure_delete = ON;";

/// Applies the migrations not yet applied; returns how many there were.
pub async fn migrate(pool: &Pool) -> anyhow::Result<usize> {
    let migrator = Backend::of(pool).migrator();
    let pending = {
        let mut conn = pool
            .acquire()
            .await
            .context("could not open the database")?;
        conn.ensure_migrations_table()
            .await
            .context("could not prepare the migrations table")?;
        let applied = conn
            .list_applied_migrations()
            .await
            .context("could not list applied migrations")?;
        migrator
            .iter()
            .filter(|m| !applied.iter().any(|a| a.version == m.version))
            .count()
    };
    migrator
        .run(pool)
        .await
        .context("could not apply database migrations")?;
    Ok(pending)
}

/// The newest migration this build knows, for `outreach db migrate`.
pub fn schema_version(backend: Backend) -> i64 {
    backend
        .migrator()
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

/// The file a `sqlite://` URL names.
fn sqlite_file(url: &str) -> anyhow::Result<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .with_context(|| format!("OUTREACH_DATABASE_URL is not a SQLite URL: {url}"))?;
    let path = rest.split(['?', '#']).next().unwrap_or_default();
    anyhow::ensure!(
        !path.is_empty() && path != ":memory:",
        "OUTREACH_DATABASE_URL names no SQLite file: {url}"
    );
    Ok(PathBuf::from(path))
}

/// Creates the SQLite file's directory (0700) and the file itself (0600),
/// empty, so SQLite opens a private file (its WAL and shared-memory files
/// take the database file's permissions).
fn create_private_file(file: &std::path::Path) -> anyhow::Result<()> {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).with_context(|| {
            format!("could not create the database directory {}", dir.display())
        })?;
    }
    let mut create = std::fs::OpenOptions::new();
    create.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
    match create.open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(anyhow::Error::new(e)
            .context(format!("could not create the database {}", file.display()))),
    }
}

/// The directory holding a SQLite database file, for files kept beside it
/// (demo mode's key and credentials). None for PostgreSQL.
pub fn database_directory(url: &str) -> Option<PathBuf> {
    let dir = sqlite_file(url).ok()?.parent()?.to_path_buf();
    Some(if dir.as_os_str().is_empty() {
        ".".into()
    } else {
        dir
    })
}

/// Held by the one `outreach serve` of a SQLite file for as long as it
/// runs: two would each send with their own engine.
#[derive(Debug)]
pub struct ServingLock {
    _file: std::fs::File,
}

/// Another process holds a SQLite file's serving lock.
#[derive(Debug, thiserror::Error)]
#[error(
    "another `outreach serve`{} is already using the SQLite database {}",
    holder.as_ref().map(|pid| format!(" (process {pid})")).unwrap_or_default(),
    file.display()
)]
pub struct SqliteInUse {
    file: PathBuf,
    holder: Option<String>,
}

/// Takes the SQLite file's serving lock (a lock file beside it); refused,
/// with what to do instead, while another process holds it. PostgreSQL
/// needs none: several processes share it safely.
pub fn lock_for_serving(url: &str) -> anyhow::Result<Option<ServingLock>> {
    if Backend::of_url(url)? != Backend::Sqlite {
        return Ok(None);
    }
    let file = sqlite_file(url)?;
    create_private_file(&file)?;
    let mut name = file.clone().into_os_string();
    name.push(".serve-lock");
    let path = PathBuf::from(name);
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut lock = options
        .open(&path)
        .with_context(|| format!("could not open {}", path.display()))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            return Err(SqliteInUse {
                file,
                holder: Some(holder.trim().to_owned()).filter(|h| !h.is_empty()),
            }
            .into());
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(anyhow::Error::new(e).context(format!("could not lock {}", path.display())));
        }
    }
    use std::io::{Seek, Write};
    lock.set_len(0)?;
    lock.rewind()?;
    write!(lock, "{}", std::process::id())?;
    Ok(Some(ServingLock { _file: lock }))
}

/// True when the database answers a trivial query.
pub async fn is_reachable(pool: &Pool) -> bool {
    sqlx::query_scalar::<_, i64>("SELECT 1")
        .fetch_one(pool)
        .await
        .is_ok()
}

/// Both databases report constraint failures as errors; callers turn these
/// into "already exists" answers.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// `$first, $first+1, …`: `count` placeholders for an `IN (…)` list (a
/// few hundred at most: see `placeholder_rows`).
pub(crate) fn placeholder_list(first: usize, count: usize) -> String {
    use std::fmt::Write;
    let mut list = String::with_capacity(count * 6);
    for n in first..first + count {
        let comma = if n == first { "" } else { ", " };
        write!(list, "{comma}${n}").expect("a String takes any text");
    }
    list
}

impl Backend {
    /// `rows` rows of `columns` placeholders for a multi-row `VALUES`, the
    /// statement's only placeholders: `($1, $2), ($3, $4), …` for
    /// PostgreSQL; bare `(?, ?), (?, ?), …` for SQLite, which looks each
    /// named (`$n`) parameter up in a list as it binds it, so thousands of
    /// them cost a quadratic amount of time.
    ///
    /// Written into one string: the group commit's writer makes these for
    /// every group (a statement kept prepared is found by its text), and
    /// three small strings a row were 2.4 % of its time (BENCHMARKS.md).
    pub(crate) fn placeholder_rows(self, rows: usize, columns: usize) -> String {
        use std::fmt::Write;
        let mut all = String::with_capacity(rows * columns * 6);
        for row in 0..rows {
            all.push_str(if row == 0 { "(" } else { ", (" });
            for column in 0..columns {
                let comma = if column == 0 { "" } else { ", " };
                match self {
                    Self::Postgres => write!(all, "{comma}${}", 1 + row * columns + column)
                        .expect("a String takes any text"),
                    Self::Sqlite => {
                        all.push_str(comma);
                        all.push('?');
                    }
                }
            }
            all.push(')');
        }
        all
    }

    /// As `placeholder_rows`, for a `VALUES` that is not inserted into a
    /// table (a CTE to join): PostgreSQL cannot tell its columns' types
    /// from their use, so each placeholder is cast to its column's type.
    /// SQLite's values carry their own type.
    pub(crate) fn typed_placeholder_rows(self, rows: usize, types: &[&str]) -> String {
        match self {
            Self::Sqlite => self.placeholder_rows(rows, types.len()),
            Self::Postgres => (0..rows)
                .map(|row| {
                    let first = 1 + row * types.len();
                    let cast = types
                        .iter()
                        .enumerate()
                        .map(|(column, ty)| format!("CAST(${} AS {ty})", first + column))
                        .collect::<Vec<_>>()
                        .join(", ");
                    format!("({cast})")
                })
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// Scratch databases for tests: a SQLite file in a temporary directory, or,
/// when `OUTREACH_TEST_POSTGRES_URL` names a PostgreSQL server, a fresh
/// database on it (dropped again when the guard goes).
#[cfg(any(test, feature = "test-support"))]
pub mod testing {
    use super::*;

    /// The PostgreSQL server tests run against, if any.
    pub fn postgres_server() -> Option<String> {
        std::env::var("OUTREACH_TEST_POSTGRES_URL")
            .ok()
            .filter(|url| !url.is_empty())
    }

    /// Which database this test run uses.
    pub fn backend() -> Backend {
        if postgres_server().is_some() {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// A scratch database's URL; keep the guard for as long as it is used.
    pub struct ScratchDatabase {
        pub url: String,
        /// The SQLite file, for tests about what is on disk.
        pub sqlite_file: Option<PathBuf>,
        dir: tempfile::TempDir,
        postgres: Option<(String, String)>,
    }

    impl ScratchDatabase {
        /// A directory that lives as long as the database, for files
        /// beside it.
        pub fn dir(&self) -> &std::path::Path {
            self.dir.path()
        }
    }

    pub async fn scratch_database() -> ScratchDatabase {
        let dir = tempfile::tempdir().expect("a temporary directory");
        match postgres_server() {
            None => {
                let file = dir.path().join("outreach.db");
                ScratchDatabase {
                    url: format!("sqlite://{}?mode=rwc", file.display()),
                    sqlite_file: Some(file),
                    dir,
                    postgres: None,
                }
            }
            Some(server) => {
                use rand::Rng;
                let name = format!(
                    "outreach_test_{}_{:016x}",
                    std::process::id(),
                    rand::thread_rng().r#gen::<u64>()
                );
                sqlx::any::install_default_drivers();
                let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&server)
                    .await
                    .expect("the test PostgreSQL server answers");
                admin
                    .execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .expect("a scratch database is created");
                let url = with_database(&server, &name);
                ScratchDatabase {
                    url,
                    sqlite_file: None,
                    dir,
                    postgres: Some((server, name)),
                }
            }
        }
    }

    /// `server` with its database name replaced by `name`.
    fn with_database(server: &str, name: &str) -> String {
        let mut url: url::Url = server.parse().expect("OUTREACH_TEST_POSTGRES_URL is a URL");
        url.set_path(&format!("/{name}"));
        url.to_string()
    }

    impl Drop for ScratchDatabase {
        fn drop(&mut self) {
            let Some((server, name)) = self.postgres.take() else {
                return;
            };
            // Drop cannot await: a thread of its own drops the database,
            // ending connections a test left open.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                runtime.block_on(async move {
                    if let Ok(mut admin) =
                        <sqlx::AnyConnection as sqlx::Connection>::connect(&server).await
                    {
                        let _ = admin
                            .execute(
                                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                            )
                            .await;
                    }
                });
            })
            .join();
        }
    }

    /// SQLite's plan for `sql` (EXPLAIN QUERY PLAN), a line per step, e.g.
    /// "SEARCH m USING INDEX outbound_messages_queued (campaign_id=?)".
    /// Its `$n` parameters are bound to NULL: plans do not depend on values.
    pub async fn sqlite_plan(pool: &Pool, sql: &str) -> Vec<String> {
        let parameters = (1..100)
            .take_while(|n| sql.contains(&format!("${n}")))
            .count();
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain);
        for _ in 0..parameters {
            query = query.bind(None::<i64>);
        }
        query
            .fetch_all(pool)
            .await
            .unwrap_or_else(|e| panic!("no plan for {sql}: {e}"))
            .into_iter()
            .map(|(_, _, _, step)| step)
            .collect()
    }

    /// A scratch database with the migrations before the one `description`
    /// names (its file name's words) applied: for tests of what a migration
    /// does to rows stored before it. `migrate` applies the rest.
    pub async fn database_before(description: &str) -> (Pool, ScratchDatabase) {
        let scratch = scratch_database().await;
        let pool = open(&scratch.url).await.expect("the database opens");
        let migrator = Backend::of(&pool).migrator();
        let version = migrator
            .iter()
            .find(|m| m.description == description)
            .unwrap_or_else(|| panic!("no migration named {description:?}"))
            .version;
        let mut conn = pool.acquire().await.expect("a connection");
        conn.ensure_migrations_table()
            .await
            .expect("the migrations table");
        for migration in migrator.iter().filter(|m| m.version < version) {
            conn.apply(migration)
                .await
                .unwrap_or_else(|e| panic!("migration {}: {e}", migration.version));
        }
        drop(conn);
        (pool, scratch)
    }

    /// A migrated scratch database.
    pub async fn fresh_database() -> (Pool, ScratchDatabase) {
        let scratch = scratch_database().await;
        let pool = connect(&scratch.url).await.expect("the database opens");
        (pool, scratch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sqlite_and_postgres_urls_are_accepted_and_a_refusal_shows_no_password() {
        assert_eq!(
            Backend::of_url("sqlite://data/outreach.db?mode=rwc").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::of_url("postgres://u:p@db/outreach").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::of_url("postgresql://db/outreach").unwrap(),
            Backend::Postgres
        );
        let refused = Backend::of_url("mysql://root:hunter2@db/outreach")
            .unwrap_err()
            .to_string();
        assert!(refused.contains("\"mysql\""), "{refused}");
        assert!(!refused.contains("hunter2"), "{refused}");
        assert!(Backend::of_url("data/outreach.db").is_err());
    }

    #[test]
    fn placeholders_number_rows_in_order() {
        assert_eq!(placeholder_list(5, 3), "$5, $6, $7");
        assert_eq!(
            Backend::Postgres.placeholder_rows(2, 3),
            "($1, $2, $3), ($4, $5, $6)"
        );
        assert_eq!(Backend::Sqlite.placeholder_rows(2, 2), "(?, ?), (?, ?)");
        assert_eq!(
            Backend::Postgres.typed_placeholder_rows(2, &["BIGINT", "TEXT"]),
            "(CAST($1 AS BIGINT), CAST($2 AS TEXT)), (CAST($3 AS BIGINT), CAST($4 AS TEXT))"
        );
        assert_eq!(
            Backend::Sqlite.typed_placeholder_rows(1, &["BIGINT", "TEXT"]),
            "(?, ?)"
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_database_and_its_directory_are_private() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().expect("temporary directory");
        let data = dir.path().join("data");
        let url = format!("sqlite://{}?mode=rwc", data.join("outreach.db").display());
        let pool = connect(&url).await.expect("database opens");
        sqlx::query("CREATE TABLE t (x)")
            .execute(&pool)
            .await
            .unwrap();

        let mode =
            |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        for name in ["outreach.db", "outreach.db-wal", "outreach.db-shm"] {
            assert_eq!(mode(&data.join(name)), 0o600, "{name}");
        }
    }

    #[tokio::test]
    async fn every_sqlite_connection_gets_the_settings() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/outreach.db?mode=rwc", dir.path().display());
        let pool = connect(&url).await.unwrap();
        for (pragma, expected) in [
            ("journal_mode", "wal"),
            ("synchronous", "1"),
            ("busy_timeout", "5000"),
            ("secure_delete", "1"),
            ("foreign_keys", "1"),
        ] {
            let row: sqlx::any::AnyRow = sqlx::query(&format!("PRAGMA {pragma}"))
                .fetch_one(&pool)
                .await
                .unwrap();
            use sqlx::Row;
            let value = row
                .try_get::<String, _>(0)
                .or_else(|_| row.try_get::<i64, _>(0).map(|n| n.to_string()))
                .unwrap();
            assert_eq!(value, expected, "{pragma}");
        }
    }

    #[test]
    fn a_second_server_on_one_sqlite_file_is_refused_until_the_first_stops() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/outreach.db?mode=rwc", dir.path().display());
        let first = lock_for_serving(&url).unwrap();
        assert!(first.is_some());
        let refused = lock_for_serving(&url).unwrap_err().to_string();
        assert!(
            refused.contains("already using the SQLite database"),
            "{refused}"
        );
        assert!(
            refused.contains(&format!("process {}", std::process::id())),
            "{refused}"
        );
        drop(first);
        assert!(lock_for_serving(&url).unwrap().is_some());
        assert!(
            lock_for_serving("postgres://db/outreach")
                .unwrap()
                .is_none()
        );
    }

    /// SQLite keeps no count of its memory (`without_memory_statistics`):
    /// the setting comes before the first connection starts SQLite.
    #[tokio::test]
    async fn sqlite_keeps_no_count_of_its_memory() {
        let (pool, _dir) = testing::fresh_database().await;
        if Backend::of(&pool) != Backend::Sqlite {
            return;
        }
        sqlx::query("SELECT count(*) FROM organisations")
            .execute(&pool)
            .await
            .unwrap();
        // Counted, it would be hundreds of kilobytes: page caches, schemas.
        // SAFETY: reads a counter; no arguments.
        let counted = unsafe { rusqlite::ffi::sqlite3_memory_used() };
        assert_eq!(counted, 0);
    }

    /// A write transaction on SQLite holds the write lock from BEGIN, so a
    /// write committed by another connection meanwhile cannot make its
    /// reads stale (SQLITE_BUSY_SNAPSHOT): the other writer waits instead.
    #[tokio::test]
    async fn a_write_transaction_holds_the_sqlite_write_lock_from_its_start() {
        let (pool, scratch) = testing::fresh_database().await;
        let Some(file) = scratch.sqlite_file.clone() else {
            return;
        };
        // Another connection, as the group commit's is. rusqlite waits up
        // to 5 s for a lock by default: refused at once instead.
        let other = rusqlite::Connection::open(&file).unwrap();
        other.busy_timeout(std::time::Duration::ZERO).unwrap();
        let mut tx = begin_write(&pool).await.unwrap();
        sqlx::query("SELECT count(*) FROM organisations")
            .execute(&mut *tx)
            .await
            .unwrap();
        let refused = other.execute_batch("BEGIN IMMEDIATE").unwrap_err();
        assert_eq!(
            refused.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy),
            "{refused}"
        );
        tx.commit().await.unwrap();
        other.execute_batch("BEGIN IMMEDIATE; COMMIT").unwrap();
    }

    /// The engine's frequent writers take turns per SQLite file: the next
    /// gets its turn the moment the last gives it up, and another file's
    /// writers do not wait. PostgreSQL needs no turns.
    #[tokio::test]
    async fn writers_of_one_sqlite_file_take_turns() {
        let (pool, _dir) = testing::fresh_database().await;
        let Some(first) = write_turn(&pool).await else {
            assert_eq!(Backend::of(&pool), Backend::Postgres);
            return;
        };
        let (other, _other_dir) = testing::fresh_database().await;
        assert!(
            write_turn(&other).await.is_some(),
            "another file's turn is its own"
        );
        let waiting = tokio::spawn({
            let pool = pool.clone();
            async move { write_turn(&pool).await.is_some() }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(
            !waiting.is_finished(),
            "a second writer waits for the first"
        );
        drop(first);
        assert!(waiting.await.unwrap());
    }

    /// A statement outside a transaction (`in_turn`) and a connection for
    /// such writes (`write_connection`) wait for the turn like a
    /// transaction, and write once they have it.
    #[tokio::test]
    async fn writes_outside_a_transaction_wait_for_the_turn() {
        let (pool, _dir) = testing::fresh_database().await;
        let Some(held) = write_turn(&pool).await else {
            assert_eq!(Backend::of(&pool), Backend::Postgres);
            return;
        };
        let statement = tokio::spawn({
            let pool = pool.clone();
            async move {
                sqlx::query(
                    "INSERT INTO organisations (name, public_id, subscription_state, created_at)
                     VALUES ('Acme', 'acme', 'active', 0)",
                )
                .execute(&pool)
                .in_turn(&pool)
                .await
                .unwrap();
            }
        });
        let connection = tokio::spawn({
            let pool = pool.clone();
            async move {
                let mut conn = write_connection(&pool).await.unwrap();
                sqlx::query(
                    "INSERT INTO organisations (name, public_id, subscription_state, created_at)
                     VALUES ('Globex', 'globex', 'active', 0)",
                )
                .execute(&mut *conn)
                .await
                .unwrap();
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!statement.is_finished() && !connection.is_finished());
        let count = || async {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM organisations")
                .fetch_one(&pool)
                .await
                .unwrap()
        };
        assert_eq!(count().await, 0, "nothing written before the turn");
        drop(held);
        statement.await.unwrap();
        connection.await.unwrap();
        assert_eq!(count().await, 2);
    }
}
