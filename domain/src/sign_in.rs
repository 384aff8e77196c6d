//! Signing in and out: password checks, throttling and server-side sessions.

use std::{fmt, sync::OnceLock};

use anyhow::Context;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use sqlx::FromRow;

use secrecy::ExposeSecret;

use crate::db::{InTurn, Pool};
use crate::{
    clock::UnixTime,
    limits::{MAX_EMAIL_CHARS, MAX_PASSWORD_CHARS},
    organisations::OrganisationId,
    sessions,
    users::{EmailAddress, Role, UserId, hash_password, verify_password},
    work::WorkError,
};

/// Attempts allowed for one email within [`THROTTLE_WINDOW_SECS`].
pub const MAX_FAILURES: i64 = 5;
/// Attempts allowed from one client address within the window, whatever
/// the emails: spraying one password over many accounts is throttled too.
pub const MAX_FAILURES_PER_CLIENT: i64 = 20;
pub const THROTTLE_WINDOW_SECS: i64 = 15 * 60;
/// A session ends this long after sign-in, whatever happens.
pub const SESSION_LIFETIME_SECS: i64 = 12 * 60 * 60;
/// A session ends after this long without a request, unless configured.
pub const DEFAULT_IDLE_TIMEOUT_SECS: i64 = 60 * 60;
/// `last_seen_at` is written at most this often per session: not on every
/// request.
const LAST_SEEN_GRANULARITY_SECS: i64 = 60;

/// The person behind a valid session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedInUser {
    pub user_id: UserId,
    pub organisation_id: OrganisationId,
    pub email: String,
    pub role: Role,
    /// Their organisation's time zone (an IANA name).
    pub time_zone: String,
}

impl SignedInUser {
    /// A time as this person reads it: in their organisation's time zone.
    pub fn local_time(&self, at: UnixTime) -> String {
        crate::clock::format_in(at, &self.time_zone)
    }
}

/// The secret in the session cookie. Only its SHA-256 is stored.
#[derive(Clone)]
pub struct SessionToken(String);

impl SessionToken {
    pub fn from_cookie(value: &str) -> Self {
        Self(value.to_owned())
    }

    /// For the `Set-Cookie` header, and nothing else.
    pub fn cookie_value(&self) -> &str {
        &self.0
    }

    pub(crate) fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }

    fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken([REDACTED])")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown email, wrong password and disabled account look the same
    /// from outside.
    #[error("the email or password is incorrect")]
    InvalidCredentials,
    #[error("too many failed sign-in attempts; try again in {retry_after_secs} seconds")]
    Throttled { retry_after_secs: i64 },
    /// Longer than any email or password Outreach accepts: refused before
    /// anything is looked up, recorded or hashed.
    #[error("the email or password is too long")]
    TooLong,
    /// Password checks are bounded (see `crate::work`) and all were busy.
    #[error("too many sign-ins at once; try again in a moment")]
    Busy,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(FromRow)]
struct Credentials {
    id: UserId,
    organisation_id: OrganisationId,
    email: String,
    role: String,
    password_hash: String,
}

/// Who is signing in, as far as the request tells: where it came from
/// (for the throttle) and its browser (shown on the Account page).
#[derive(Debug, Clone, Copy)]
pub struct Client<'a> {
    pub address: &'a str,
    pub user_agent: &'a str,
}

/// A client known by its address alone.
impl<'a> From<&'a str> for Client<'a> {
    fn from(address: &'a str) -> Self {
        Self {
            address,
            user_agent: "",
        }
    }
}

/// Browsers' `User-Agent` headers are long; this much tells them apart.
const MAX_USER_AGENT_CHARS: usize = 300;

/// Checks the password and opens a new session. `client` is who asks;
/// `previous` is the session the browser presented, if any: it is ended,
/// so a session id planted before sign-in is never the one that becomes
/// authenticated.
pub async fn sign_in<'a>(
    pool: &Pool,
    raw_email: &str,
    password: SecretString,
    client: impl Into<Client<'a>>,
    previous: Option<&SessionToken>,
    now: UnixTime,
) -> Result<SessionToken, SignInError> {
    let Client {
        address: client,
        user_agent,
    } = client.into();
    if raw_email.chars().count() > MAX_EMAIL_CHARS
        || password.expose_secret().chars().count() > MAX_PASSWORD_CHARS
    {
        return Err(SignInError::TooLong);
    }
    // Throttle on what was typed (normalised), known account or not, so the
    // throttle itself does not reveal which emails have accounts.
    let email_hash = email_hash(raw_email);
    let attempt = record_attempt(pool, &email_hash, client, now).await?;

    let account = match EmailAddress::parse(raw_email) {
        Ok(email) => sqlx::query_as::<_, Credentials>(
            "SELECT id, organisation_id, email, role, password_hash FROM users
             WHERE email = $1 AND disabled_at IS NULL",
        )
        .bind(email.as_str())
        .fetch_optional(pool)
        .await
        .context("could not look up the user")?,
        Err(_) => None,
    };

    // Without an account, verify against a dummy hash anyway: an unknown
    // email then costs the same time as a wrong password.
    let stored_hash = match &account {
        Some(account) => account.password_hash.clone(),
        None => dummy_hash().await?,
    };
    let password_ok = match verify_password(password, stored_hash).await {
        Ok(ok) => ok,
        Err(e) => {
            // Not a failed guess: the attempt does not count.
            forget_attempt(pool, attempt).await?;
            return Err(match e {
                WorkError::Busy => SignInError::Busy,
                WorkError::Failed(e) => SignInError::Internal(e),
            });
        }
    };

    let Some(account) = account.filter(|_| password_ok) else {
        // The attempt stays recorded: it is the failure the throttle counts.
        let email = EmailAddress::parse(raw_email)
            .map(|e| e.to_string())
            .unwrap_or_else(|_| "(not an email address)".to_owned());
        tracing::warn!(client, email, "sign-in failed");
        return Err(SignInError::InvalidCredentials);
    };

    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    sqlx::query("DELETE FROM sign_in_attempts WHERE id = $1 OR email_hash = $2")
        .bind(attempt)
        .bind(&email_hash)
        .execute(&mut *tx)
        .await
        .context("could not clear failed sign-ins")?;
    let token = open_session(&mut tx, account.id, previous, user_agent, now).await?;
    tx.commit().await.context("could not commit the session")?;

    tracing::info!(user_id = %account.id, organisation_id = %account.organisation_id, role = account.role, email = %account.email, client, "signed in");
    Ok(token)
}

/// Forgets the failed attempts for an email, once its password was given.
pub(crate) async fn clear_attempts(
    conn: &mut crate::db::DbConnection,
    email_hash: &[u8],
) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM sign_in_attempts WHERE email_hash = $1")
        .bind(email_hash)
        .execute(conn)
        .await
        .context("could not clear failed attempts")?;
    Ok(())
}

/// What the throttle counts attempts by: the typed email, normalised.
pub(crate) fn email_hash(raw_email: &str) -> Vec<u8> {
    Sha256::digest(raw_email.trim().to_lowercase().as_bytes()).to_vec()
}

/// Starts a session for `user` (ending `previous`, the one the browser
/// presented) and notes the sign-in: after a password check, or when a
/// one-time link sets a password.
pub(crate) async fn open_session(
    tx: &mut crate::db::DbConnection,
    user: UserId,
    previous: Option<&SessionToken>,
    user_agent: &str,
    now: UnixTime,
) -> anyhow::Result<SessionToken> {
    let token = SessionToken::generate();
    sessions::purge_expired(tx, now).await?;
    if let Some(previous) = previous {
        sessions::end(tx, &previous.hash()).await?;
    }
    let user_agent: String = user_agent.chars().take(MAX_USER_AGENT_CHARS).collect();
    sessions::start(
        tx,
        &token.hash(),
        user,
        &user_agent,
        now,
        now + SESSION_LIFETIME_SECS,
    )
    .await?;
    crate::users::note_sign_in(tx, user, now).await?;
    Ok(token)
}

/// Records the attempt before anything is checked, in one statement with
/// the throttle's counts: parallel attempts are counted one after another,
/// never all against the same old count. Returns the attempt's id, or the
/// seconds until another attempt is allowed.
pub(crate) async fn record_attempt(
    pool: &Pool,
    email_hash: &[u8],
    client: &str,
    now: UnixTime,
) -> Result<i64, SignInError> {
    let since = now - THROTTLE_WINDOW_SECS;
    // Attempts older than the window count for nothing: purge them.
    sqlx::query("DELETE FROM sign_in_attempts WHERE attempted_at <= $1")
        .bind(since)
        .execute(pool)
        .in_turn(pool)
        .await
        .context("could not purge old sign-in attempts")?;
    // Parallel guesses are counted one after another, on both databases.
    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    crate::db::Backend::one_at_a_time(&mut tx, "sign_in_attempts").await?;
    let recorded = sqlx::query_scalar::<_, i64>(
        "INSERT INTO sign_in_attempts (email_hash, client, attempted_at)
         SELECT $1, $2, $3
         WHERE (SELECT COUNT(*) FROM sign_in_attempts
                WHERE email_hash = $1 AND attempted_at > $4) < $5
           AND (SELECT COUNT(*) FROM sign_in_attempts
                WHERE client = $2 AND attempted_at > $4) < $6
         RETURNING id",
    )
    .bind(email_hash)
    .bind(client)
    .bind(now)
    .bind(since)
    .bind(MAX_FAILURES)
    .bind(MAX_FAILURES_PER_CLIENT)
    .fetch_optional(&mut *tx)
    .await
    .context("could not record the sign-in attempt")?;
    tx.commit()
        .await
        .context("could not record the sign-in attempt")?;
    if let Some(id) = recorded {
        return Ok(id);
    }
    // Throttled: another attempt is allowed once the oldest counted one
    // leaves the window (for the email, or the client, whichever is later).
    let oldest_counted = |column: &'static str, limit: i64| {
        let sql = format!(
            "SELECT attempted_at FROM sign_in_attempts WHERE {column} = $1 AND attempted_at > $2
             ORDER BY attempted_at DESC LIMIT 1 OFFSET $3"
        );
        async move {
            let query = sqlx::query_scalar::<_, i64>(&sql);
            let query = if column == "email_hash" {
                query.bind(email_hash.to_vec())
            } else {
                query.bind(client.to_owned())
            };
            query
                .bind(since)
                .bind(limit - 1)
                .fetch_optional(pool)
                .await
                .context("could not count sign-in attempts")
        }
    };
    let by_email = oldest_counted("email_hash", MAX_FAILURES).await?;
    let by_client = oldest_counted("client", MAX_FAILURES_PER_CLIENT).await?;
    let retry_after_secs = by_email
        .into_iter()
        .chain(by_client)
        .map(|at| (at + THROTTLE_WINDOW_SECS - now).max(1))
        .max()
        .unwrap_or(1);
    tracing::warn!(client, retry_after_secs, "sign-in throttled");
    Err(SignInError::Throttled { retry_after_secs })
}

pub(crate) async fn forget_attempt(pool: &Pool, attempt: i64) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM sign_in_attempts WHERE id = $1")
        .bind(attempt)
        .execute(pool)
        .in_turn(pool)
        .await
        .context("could not forget a sign-in attempt")?;
    Ok(())
}

/// A hash of a password nobody knows, with the same parameters as real ones.
async fn dummy_hash() -> anyhow::Result<String> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash.clone());
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let hash = hash_password(URL_SAFE_NO_PAD.encode(bytes).into()).await?;
    Ok(DUMMY.get_or_init(|| hash).clone())
}

/// The signed-in user behind `token`, if the session exists, has neither
/// expired nor been idle for `idle_timeout_secs`, and its person is not
/// disabled. Using a session keeps it alive (noted once a minute at most).
pub async fn fetch_session_user(
    pool: &Pool,
    token: &SessionToken,
    idle_timeout_secs: i64,
    now: UnixTime,
) -> anyhow::Result<Option<SignedInUser>> {
    session_user(pool, token, idle_timeout_secs, now, true).await
}

/// Like [`fetch_session_user`], without keeping the session alive: for an
/// open page asking whether it is still signed in, which must not stop
/// the session from ending when its person has walked away.
pub async fn peek_session_user(
    pool: &Pool,
    token: &SessionToken,
    idle_timeout_secs: i64,
    now: UnixTime,
) -> anyhow::Result<Option<SignedInUser>> {
    session_user(pool, token, idle_timeout_secs, now, false).await
}

async fn session_user(
    pool: &Pool,
    token: &SessionToken,
    idle_timeout_secs: i64,
    now: UnixTime,
    note_use: bool,
) -> anyhow::Result<Option<SignedInUser>> {
    let hash = token.hash();
    let row = sqlx::query_as::<_, (UserId, OrganisationId, String, String, i64, String)>(
        "SELECT u.id, u.organisation_id, u.email, u.role, s.last_seen_at, o.time_zone
         FROM sessions s JOIN users u ON u.id = s.user_id
              JOIN organisations o ON o.id = u.organisation_id
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3
           AND u.disabled_at IS NULL",
    )
    .bind(&hash)
    .bind(now)
    .bind(now - idle_timeout_secs)
    .fetch_optional(pool)
    .await
    .context("could not look up the session")?;
    let Some((user_id, organisation_id, email, role, last_seen_at, time_zone)) = row else {
        return Ok(None);
    };
    if note_use && now - last_seen_at >= LAST_SEEN_GRANULARITY_SECS {
        let mut conn = crate::db::write_connection(pool)
            .await
            .context("no database connection")?;
        sessions::note_use(&mut conn, &hash, now).await?;
    }
    Ok(Some(SignedInUser {
        user_id,
        organisation_id,
        email,
        role: Role::from_db(&role)?,
        time_zone,
    }))
}

/// Ends the session server-side: the cookie is worthless afterwards.
pub async fn sign_out(pool: &Pool, token: &SessionToken) -> anyhow::Result<()> {
    let mut conn = crate::db::write_connection(pool)
        .await
        .context("no database connection")?;
    sessions::end(&mut conn, &token.hash()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        db::testing::fresh_database,
        organisations::{OrganisationName, insert_organisation},
        users::insert_user,
    };

    const PASSWORD: &str = "a long enough password";
    /// The idle timeout the tests run with: longer than any of them.
    const IDLE: i64 = 24 * 60 * 60;

    async fn database_with_alice() -> (Pool, crate::db::testing::ScratchDatabase) {
        let (pool, dir) = fresh_database().await;
        let org = insert_organisation(&pool, &OrganisationName::parse("Acme").unwrap(), true, 0)
            .await
            .unwrap();
        let email = EmailAddress::parse("alice@example.com").unwrap();
        insert_user(&pool, org.id, &email, Role::OrgAdmin, PASSWORD.into(), 0)
            .await
            .unwrap();
        (pool, dir)
    }

    #[tokio::test]
    async fn the_right_password_opens_a_session_for_that_user() {
        let (pool, _dir) = database_with_alice().await;

        let token = sign_in(
            &pool,
            " Alice@Example.com",
            PASSWORD.into(),
            "192.0.2.1",
            None,
            1000,
        )
        .await
        .unwrap();

        let user = fetch_session_user(&pool, &token, IDLE, 1001)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.email, "alice@example.com");
        assert_eq!(user.role, Role::OrgAdmin);
    }

    #[tokio::test]
    async fn sessions_expire() {
        let (pool, _dir) = database_with_alice().await;
        let token = sign_in(
            &pool,
            "alice@example.com",
            PASSWORD.into(),
            "192.0.2.1",
            None,
            1000,
        )
        .await
        .unwrap();

        let later = 1000 + SESSION_LIFETIME_SECS;

        assert_eq!(
            fetch_session_user(&pool, &token, IDLE, later)
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn the_sixth_attempt_within_fifteen_minutes_is_refused_even_with_the_right_password() {
        let (pool, _dir) = database_with_alice().await;
        for minute in 0..5 {
            let result = sign_in(
                &pool,
                "alice@example.com",
                "wrong password!".into(),
                "192.0.2.1",
                None,
                minute * 60,
            )
            .await;
            assert!(matches!(result, Err(SignInError::InvalidCredentials)));
        }

        let result = sign_in(
            &pool,
            "alice@example.com",
            PASSWORD.into(),
            "192.0.2.1",
            None,
            300,
        )
        .await;

        // The first failure (t=0) leaves the window at t=900.
        assert!(matches!(
            result,
            Err(SignInError::Throttled {
                retry_after_secs: 600
            })
        ));
        assert!(
            sign_in(
                &pool,
                "alice@example.com",
                PASSWORD.into(),
                "192.0.2.1",
                None,
                901
            )
            .await
            .is_ok()
        );
    }

    #[tokio::test]
    async fn unknown_emails_are_throttled_like_known_ones() {
        let (pool, _dir) = database_with_alice().await;
        for _ in 0..5 {
            let result = sign_in(
                &pool,
                "nobody@example.com",
                PASSWORD.into(),
                "192.0.2.1",
                None,
                10,
            )
            .await;
            assert!(matches!(result, Err(SignInError::InvalidCredentials)));
        }

        let result = sign_in(
            &pool,
            "nobody@example.com",
            PASSWORD.into(),
            "192.0.2.1",
            None,
            11,
        )
        .await;

        assert!(matches!(result, Err(SignInError::Throttled { .. })));
    }

    #[tokio::test]
    async fn signing_in_ends_the_session_the_browser_presented() {
        let (pool, _dir) = database_with_alice().await;
        let first = sign_in(
            &pool,
            "alice@example.com",
            PASSWORD.into(),
            "192.0.2.1",
            None,
            10,
        )
        .await
        .unwrap();

        let second = sign_in(
            &pool,
            "alice@example.com",
            PASSWORD.into(),
            "192.0.2.1",
            Some(&first),
            20,
        )
        .await
        .unwrap();

        assert_ne!(first.cookie_value(), second.cookie_value());
        assert_eq!(
            fetch_session_user(&pool, &first, IDLE, 21).await.unwrap(),
            None
        );
        assert!(
            fetch_session_user(&pool, &second, IDLE, 21)
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn signing_out_ends_the_session() {
        let (pool, _dir) = database_with_alice().await;
        let token = sign_in(
            &pool,
            "alice@example.com",
            PASSWORD.into(),
            "192.0.2.1",
            None,
            10,
        )
        .await
        .unwrap();

        sign_out(&pool, &token).await.unwrap();

        assert_eq!(
            fetch_session_user(&pool, &token, IDLE, 11).await.unwrap(),
            None
        );
    }

    async fn attempts(pool: &Pool) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM sign_in_attempts")
            .fetch_one(pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_parallel_burst_of_guesses_gets_five_and_no_more() {
        let (pool, _dir) = database_with_alice().await;

        let guesses = (0..20).map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move {
                sign_in(
                    &pool,
                    "alice@example.com",
                    format!("guess number {i}").into(),
                    "192.0.2.1",
                    None,
                    100,
                )
                .await
            })
        });
        let mut results = Vec::new();
        for guess in guesses.collect::<Vec<_>>() {
            results.push(guess.await.unwrap());
        }

        let checked = results
            .iter()
            .filter(|r| matches!(r, Err(SignInError::InvalidCredentials)))
            .count();
        let throttled = results
            .iter()
            .filter(|r| matches!(r, Err(SignInError::Throttled { .. })))
            .count();
        assert_eq!(checked, MAX_FAILURES as usize);
        assert_eq!(throttled, 20 - MAX_FAILURES as usize);
    }

    #[tokio::test]
    async fn spraying_one_password_over_many_emails_is_throttled_per_client() {
        let (pool, _dir) = database_with_alice().await;
        for i in 0..MAX_FAILURES_PER_CLIENT {
            let email = format!("person{i}@example.com");
            let result = sign_in(
                &pool,
                &email,
                "Summer2026!!!".into(),
                "198.51.100.7",
                None,
                50,
            )
            .await;
            assert!(matches!(result, Err(SignInError::InvalidCredentials)));
        }

        let sprayed = sign_in(
            &pool,
            "alice@example.com",
            PASSWORD.into(),
            "198.51.100.7",
            None,
            60,
        )
        .await;
        let elsewhere = sign_in(
            &pool,
            "alice@example.com",
            PASSWORD.into(),
            "192.0.2.1",
            None,
            60,
        )
        .await;

        assert!(matches!(
            sprayed,
            Err(SignInError::Throttled {
                retry_after_secs: 890
            })
        ));
        assert!(elsewhere.is_ok(), "another client is not throttled");
    }

    #[tokio::test]
    async fn attempts_are_purged_once_they_leave_the_window() {
        let (pool, _dir) = database_with_alice().await;
        for _ in 0..3 {
            let _ = sign_in(
                &pool,
                "nobody@example.com",
                PASSWORD.into(),
                "192.0.2.1",
                None,
                10,
            )
            .await;
        }
        assert_eq!(attempts(&pool).await, 3);

        let _ = sign_in(
            &pool,
            "nobody@example.com",
            PASSWORD.into(),
            "192.0.2.1",
            None,
            10 + THROTTLE_WINDOW_SECS,
        )
        .await;

        assert_eq!(attempts(&pool).await, 1, "only the new attempt is kept");
    }

    #[tokio::test]
    async fn an_email_or_password_longer_than_accepted_is_refused_before_anything() {
        let (pool, _dir) = database_with_alice().await;
        let long_email = format!("{}@example.com", "a".repeat(10_000));

        let email = sign_in(&pool, &long_email, PASSWORD.into(), "192.0.2.1", None, 10).await;
        let password = sign_in(
            &pool,
            "alice@example.com",
            "p".repeat(2000).into(),
            "192.0.2.1",
            None,
            10,
        )
        .await;

        assert!(matches!(email, Err(SignInError::TooLong)));
        assert!(matches!(password, Err(SignInError::TooLong)));
        assert_eq!(attempts(&pool).await, 0);
    }

    #[tokio::test]
    async fn an_unused_session_ends_after_the_idle_timeout_and_use_keeps_it_alive() {
        let (pool, _dir) = database_with_alice().await;
        let token = sign_in(
            &pool,
            "alice@example.com",
            PASSWORD.into(),
            "192.0.2.1",
            None,
            1000,
        )
        .await
        .unwrap();
        let idle = 600;

        // Used every five minutes: alive for an hour.
        for minutes in (5..=60).step_by(5) {
            let at = 1000 + minutes * 60;
            assert!(
                fetch_session_user(&pool, &token, idle, at)
                    .await
                    .unwrap()
                    .is_some(),
                "ended after {minutes} minutes of use"
            );
        }
        // Then ten minutes without a request.
        let last = 1000 + 60 * 60;
        assert_eq!(
            fetch_session_user(&pool, &token, idle, last + idle)
                .await
                .unwrap(),
            None
        );
    }
}
