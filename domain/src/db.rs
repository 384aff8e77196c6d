//! The SQLite connection pool and the embedded migrations.

use std::{str::FromStr, time::Duration};

use anyhow::Context;
pub use sqlx::SqlitePool;
use sqlx::{
    migrate::Migrator,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Opens (creating if needed) the database at `url`, its directory included,
/// and brings its schema up to date.
pub async fn connect(url: &str) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(url)
        .with_context(|| format!("OUTREACH_DATABASE_URL is not a SQLite URL: {url}"))?
        .create_if_missing(true)
        .foreign_keys(true)
        // WAL lets the web server read while a writer commits; NORMAL is
        // durable across application crashes in WAL mode.
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        // Deleted rows are overwritten, not left in free pages: a
        // disconnected organisation's encrypted Auth Token is really gone.
        .pragma("secure_delete", "on");

    let file = options.get_filename().to_path_buf();
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        // Only its owner may list or open what is in it.
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).with_context(|| {
            format!("could not create the database directory {}", dir.display())
        })?;
    }
    // Created here, empty and private, so SQLite opens a 0600 file (its WAL
    // and shared-memory files take the database file's permissions).
    if !file.exists() && file.as_os_str() != ":memory:" {
        let mut create = std::fs::OpenOptions::new();
        create.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
        match create.open(&file) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("could not create the database {}", file.display())));
            }
        }
    }

    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .with_context(|| format!("could not open the database {}", file.display()))?;
    MIGRATOR
        .run(&pool)
        .await
        .context("could not apply database migrations")?;
    Ok(pool)
}

/// The directory holding the database file, for files kept beside it.
pub fn database_directory(url: &str) -> Option<std::path::PathBuf> {
    let options = SqliteConnectOptions::from_str(url).ok()?;
    let dir = options.get_filename().parent()?.to_path_buf();
    Some(if dir.as_os_str().is_empty() {
        ".".into()
    } else {
        dir
    })
}

/// True when the database answers a trivial query.
pub async fn is_reachable(pool: &SqlitePool) -> bool {
    sqlx::query_scalar::<_, i64>("SELECT 1")
        .fetch_one(pool)
        .await
        .is_ok()
}

/// SQLite reports constraint failures as errors; callers turn these into
/// "already exists" answers.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

#[cfg(test)]
pub(crate) mod test_support {
    use sqlx::SqlitePool;

    /// A fresh database file in its own temporary directory.
    pub async fn fresh_database() -> (SqlitePool, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
        let pool = super::connect(&url).await.expect("database opens");
        (pool, dir)
    }
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_database_and_its_directory_are_private() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().expect("temporary directory");
        let data = dir.path().join("data");
        let url = format!("sqlite://{}?mode=rwc", data.join("outreach.db").display());
        let pool = super::connect(&url).await.expect("database opens");
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
}
