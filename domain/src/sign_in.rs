//! Signing in and out: password checks, throttling and server-side sessions.

use std::{fmt, sync::OnceLock};

use anyhow::Context;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use sqlx::{FromRow, SqlitePool};

use crate::{
    clock::UnixTime,
    organisations::OrganisationId,
    users::{EmailAddress, Role, UserId, hash_password, verify_password},
};

/// Failures allowed for one email within [`THROTTLE_WINDOW_SECS`].
pub const MAX_FAILURES: i64 = 5;
pub const THROTTLE_WINDOW_SECS: i64 = 15 * 60;
/// A session ends this long after sign-in, whatever happens.
pub const SESSION_LIFETIME_SECS: i64 = 12 * 60 * 60;

/// The person behind a valid session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedInUser {
    pub user_id: UserId,
    pub organisation_id: OrganisationId,
    pub email: String,
    pub role: Role,
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

    fn hash(&self) -> Vec<u8> {
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
    /// Unknown email and wrong password look the same from outside.
    #[error("the email or password is incorrect")]
    InvalidCredentials,
    #[error("too many failed sign-in attempts; try again in {retry_after_secs} seconds")]
    Throttled { retry_after_secs: i64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(FromRow)]
struct Credentials {
    id: i64,
    organisation_id: i64,
    email: String,
    role: String,
    password_hash: String,
}

/// Checks the password and opens a new session. `previous` is the session
/// the browser presented, if any: it is ended, so a session id planted
/// before sign-in is never the one that becomes authenticated.
pub async fn sign_in(
    pool: &SqlitePool,
    raw_email: &str,
    password: SecretString,
    previous: Option<&SessionToken>,
    now: UnixTime,
) -> Result<SessionToken, SignInError> {
    // Throttle on what was typed (normalised), known account or not, so the
    // throttle itself does not reveal which emails have accounts.
    let throttle_key = raw_email.trim().to_lowercase();
    if let Some(retry_after_secs) = throttled_for(pool, &throttle_key, now).await? {
        return Err(SignInError::Throttled { retry_after_secs });
    }

    let account = match EmailAddress::parse(raw_email) {
        Ok(email) => sqlx::query_as::<_, Credentials>(
            "SELECT id, organisation_id, email, role, password_hash FROM users WHERE email = ?",
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
    let password_ok = verify_password(password, stored_hash).await?;

    let Some(account) = account.filter(|_| password_ok) else {
        sqlx::query("INSERT INTO sign_in_failures (email, failed_at) VALUES (?, ?)")
            .bind(&throttle_key)
            .bind(now)
            .execute(pool)
            .await
            .context("could not record the failed sign-in")?;
        return Err(SignInError::InvalidCredentials);
    };

    let token = SessionToken::generate();
    let mut tx = pool
        .begin()
        .await
        .context("could not start a transaction")?;
    sqlx::query("DELETE FROM sign_in_failures WHERE email = ?")
        .bind(&throttle_key)
        .execute(&mut *tx)
        .await
        .context("could not clear failed sign-ins")?;
    sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("could not purge expired sessions")?;
    if let Some(previous) = previous {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(previous.hash())
            .execute(&mut *tx)
            .await
            .context("could not end the previous session")?;
    }
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
    )
    .bind(token.hash())
    .bind(account.id)
    .bind(now)
    .bind(now + SESSION_LIFETIME_SECS)
    .execute(&mut *tx)
    .await
    .context("could not store the session")?;
    tx.commit().await.context("could not commit the session")?;

    tracing::info!(user_id = account.id, organisation_id = account.organisation_id, role = account.role, email = %account.email, "signed in");
    Ok(token)
}

/// Seconds until another attempt is allowed, if the email is throttled.
async fn throttled_for(
    pool: &SqlitePool,
    throttle_key: &str,
    now: UnixTime,
) -> anyhow::Result<Option<i64>> {
    // The MAX_FAILURES-th most recent failure inside the window: once it
    // leaves the window, fewer than MAX_FAILURES remain.
    let oldest_counted = sqlx::query_scalar::<_, i64>(
        "SELECT failed_at FROM sign_in_failures
         WHERE email = ? AND failed_at > ?
         ORDER BY failed_at DESC LIMIT 1 OFFSET ?",
    )
    .bind(throttle_key)
    .bind(now - THROTTLE_WINDOW_SECS)
    .bind(MAX_FAILURES - 1)
    .fetch_optional(pool)
    .await
    .context("could not count failed sign-ins")?;
    Ok(oldest_counted.map(|at| (at + THROTTLE_WINDOW_SECS - now).max(1)))
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

/// The signed-in user behind `token`, if the session exists and has not expired.
pub async fn fetch_session_user(
    pool: &SqlitePool,
    token: &SessionToken,
    now: UnixTime,
) -> anyhow::Result<Option<SignedInUser>> {
    let row = sqlx::query_as::<_, (i64, i64, String, String)>(
        "SELECT u.id, u.organisation_id, u.email, u.role
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = ? AND s.expires_at > ?",
    )
    .bind(token.hash())
    .bind(now)
    .fetch_optional(pool)
    .await
    .context("could not look up the session")?;
    row.map(|(user_id, organisation_id, email, role)| {
        Ok(SignedInUser {
            user_id,
            organisation_id,
            email,
            role: Role::from_db(&role)?,
        })
    })
    .transpose()
}

/// Ends the session server-side: the cookie is worthless afterwards.
pub async fn sign_out(pool: &SqlitePool, token: &SessionToken) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
        .bind(token.hash())
        .execute(pool)
        .await
        .context("could not end the session")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        db::test_support::fresh_database,
        organisations::{OrganisationName, insert_organisation},
        users::insert_user,
    };

    const PASSWORD: &str = "a long enough password";

    async fn database_with_alice() -> (SqlitePool, tempfile::TempDir) {
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

        let token = sign_in(&pool, " Alice@Example.com", PASSWORD.into(), None, 1000)
            .await
            .unwrap();

        let user = fetch_session_user(&pool, &token, 1001)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.email, "alice@example.com");
        assert_eq!(user.role, Role::OrgAdmin);
    }

    #[tokio::test]
    async fn sessions_expire() {
        let (pool, _dir) = database_with_alice().await;
        let token = sign_in(&pool, "alice@example.com", PASSWORD.into(), None, 1000)
            .await
            .unwrap();

        let later = 1000 + SESSION_LIFETIME_SECS;

        assert_eq!(
            fetch_session_user(&pool, &token, later).await.unwrap(),
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
                None,
                minute * 60,
            )
            .await;
            assert!(matches!(result, Err(SignInError::InvalidCredentials)));
        }

        let result = sign_in(&pool, "alice@example.com", PASSWORD.into(), None, 300).await;

        // The first failure (t=0) leaves the window at t=900.
        assert!(matches!(
            result,
            Err(SignInError::Throttled {
                retry_after_secs: 600
            })
        ));
        assert!(
            sign_in(&pool, "alice@example.com", PASSWORD.into(), None, 901)
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn unknown_emails_are_throttled_like_known_ones() {
        let (pool, _dir) = database_with_alice().await;
        for _ in 0..5 {
            let result = sign_in(&pool, "nobody@example.com", PASSWORD.into(), None, 10).await;
            assert!(matches!(result, Err(SignInError::InvalidCredentials)));
        }

        let result = sign_in(&pool, "nobody@example.com", PASSWORD.into(), None, 11).await;

        assert!(matches!(result, Err(SignInError::Throttled { .. })));
    }

    #[tokio::test]
    async fn signing_in_ends_the_session_the_browser_presented() {
        let (pool, _dir) = database_with_alice().await;
        let first = sign_in(&pool, "alice@example.com", PASSWORD.into(), None, 10)
            .await
            .unwrap();

        let second = sign_in(
            &pool,
            "alice@example.com",
            PASSWORD.into(),
            Some(&first),
            20,
        )
        .await
        .unwrap();

        assert_ne!(first.cookie_value(), second.cookie_value());
        assert_eq!(fetch_session_user(&pool, &first, 21).await.unwrap(), None);
        assert!(
            fetch_session_user(&pool, &second, 21)
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn signing_out_ends_the_session() {
        let (pool, _dir) = database_with_alice().await;
        let token = sign_in(&pool, "alice@example.com", PASSWORD.into(), None, 10)
            .await
            .unwrap();

        sign_out(&pool, &token).await.unwrap();

        assert_eq!(fetch_session_user(&pool, &token, 11).await.unwrap(), None);
    }
}
