//! What everyone may do with their own account: change their password and
//! see and end their sessions.

use anyhow::Context;
use secrecy::SecretString;

use crate::db::Pool;
use crate::{
    audit::{self, Topic},
    clock::UnixTime,
    sessions,
    sign_in::{self, SessionToken, SignedInUser},
    users::{self, WeakPassword, check_new_password, hash_password, verify_password},
    work::WorkError,
};

#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    #[error("the current password is incorrect")]
    WrongCurrentPassword,
    /// Wrong current passwords count towards the sign-in throttle: a
    /// session left open is not a way to guess the password.
    #[error("too many incorrect passwords; try again in {retry_after_secs} seconds")]
    Throttled { retry_after_secs: i64 },
    #[error(transparent)]
    Weak(#[from] WeakPassword),
    #[error("too many password checks at once; try again in a moment")]
    Busy,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Replaces the signed-in person's password, given their current one, and
/// ends their other sessions (`keep` is the one they are using). Returns
/// how many sessions ended.
pub async fn change_password(
    pool: &Pool,
    user: &SignedInUser,
    current: SecretString,
    new: SecretString,
    keep: &SessionToken,
    client: &str,
    now: UnixTime,
) -> Result<u64, ChangePasswordError> {
    check_new_password(&new)?;
    let email_hash = sign_in::email_hash(&user.email);
    let attempt = sign_in::record_attempt(pool, &email_hash, client, now)
        .await
        .map_err(|e| match e {
            sign_in::SignInError::Throttled { retry_after_secs } => {
                ChangePasswordError::Throttled { retry_after_secs }
            }
            other => ChangePasswordError::Internal(anyhow::Error::new(other)),
        })?;
    let stored = sqlx::query_scalar::<_, String>("SELECT password_hash FROM users WHERE id = $1")
        .bind(user.user_id)
        .fetch_one(pool)
        .await
        .context("could not look up the password")?;
    match verify_password(current, stored).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(user_id = %user.user_id, client, "a password change gave a wrong current password");
            return Err(ChangePasswordError::WrongCurrentPassword);
        }
        Err(e) => {
            sign_in::forget_attempt(pool, attempt).await?;
            return Err(match e {
                WorkError::Busy => ChangePasswordError::Busy,
                WorkError::Failed(e) => ChangePasswordError::Internal(e),
            });
        }
    }
    let hash = hash_password(new).await?;
    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    // A person disabled meanwhile keeps their old password, and is signed
    // out anyway.
    if !users::set_password_hash_unless_disabled(&mut tx, user.user_id, &hash).await? {
        return Err(
            anyhow::anyhow!("the person was disabled while changing their password").into(),
        );
    }
    let ended = sessions::end_all_but(&mut tx, user.user_id, &keep.hash()).await?;
    sign_in::clear_attempts(&mut tx, &email_hash).await?;
    let action = format!(
        "Changed their password ({ended} other session{} ended)",
        if ended == 1 { "" } else { "s" }
    );
    audit::record(
        &mut tx,
        user.organisation_id,
        Topic::Team,
        &user.email,
        &action,
        now,
    )
    .await?;
    tx.commit()
        .await
        .context("could not commit the new password")?;
    tracing::info!(user_id = %user.user_id, ended, "changed their password");
    Ok(ended)
}

/// One of a person's sessions, as the Account page lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSession {
    /// The hex of the stored hash of the session's token: names the
    /// session to its owner without being its secret.
    pub id: String,
    pub user_agent: String,
    pub signed_in_at: UnixTime,
    pub last_seen_at: UnixTime,
    /// The session this request came with.
    pub current: bool,
}

/// The person's sessions that still work, most recently used first.
pub async fn list_sessions(
    pool: &Pool,
    user: &SignedInUser,
    current: &SessionToken,
    idle_timeout_secs: i64,
    now: UnixTime,
) -> anyhow::Result<Vec<ActiveSession>> {
    let rows = sqlx::query_as::<_, (Vec<u8>, String, i64, i64)>(
        "SELECT token_hash, user_agent, created_at, last_seen_at FROM sessions
         WHERE user_id = $1 AND expires_at > $2 AND last_seen_at > $3
         ORDER BY last_seen_at DESC, created_at DESC",
    )
    .bind(user.user_id)
    .bind(now)
    .bind(now - idle_timeout_secs)
    .fetch_all(pool)
    .await
    .context("could not list the sessions")?;
    let current = current.hash();
    Ok(rows
        .into_iter()
        .map(
            |(hash, user_agent, signed_in_at, last_seen_at)| ActiveSession {
                id: to_hex(&hash),
                current: hash == current,
                user_agent,
                signed_in_at,
                last_seen_at,
            },
        )
        .collect())
}

/// Ends one of the person's own sessions; `false` when they have no such
/// session.
pub async fn end_session(pool: &Pool, user: &SignedInUser, id: &str) -> anyhow::Result<bool> {
    let Some(hash) = from_hex(id) else {
        return Ok(false);
    };
    let mut conn = crate::db::write_connection(pool)
        .await
        .context("no database connection")?;
    let ended = sessions::end_of(&mut conn, user.user_id, &hash).await?;
    Ok(ended)
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

/// "Firefox on Linux", from a `User-Agent` header: enough for people to
/// recognise their own browsers.
pub fn describe_browser(user_agent: &str) -> String {
    let browser = if user_agent.contains("Edg/") {
        "Edge"
    } else if user_agent.contains("OPR/") {
        "Opera"
    } else if user_agent.contains("Firefox/") {
        "Firefox"
    } else if user_agent.contains("Chrome/") || user_agent.contains("CriOS/") {
        "Chrome"
    } else if user_agent.contains("Safari/") {
        "Safari"
    } else if user_agent.contains("curl/") {
        "curl"
    } else {
        return if user_agent.is_empty() {
            "An unknown browser".to_owned()
        } else {
            "An unrecognised browser".to_owned()
        };
    };
    let system = if user_agent.contains("iPhone") {
        Some("iPhone")
    } else if user_agent.contains("iPad") {
        Some("iPad")
    } else if user_agent.contains("Android") {
        Some("Android")
    } else if user_agent.contains("Windows") {
        Some("Windows")
    } else if user_agent.contains("Mac OS X") || user_agent.contains("Macintosh") {
        Some("macOS")
    } else if user_agent.contains("CrOS") {
        Some("ChromeOS")
    } else if user_agent.contains("Linux") {
        Some("Linux")
    } else {
        None
    };
    match system {
        Some(system) => format!("{browser} on {system}"),
        None => browser.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_are_named_with_their_system() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
                "Safari on macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari on iPhone",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
                "Chrome on Linux",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            ("", "An unknown browser"),
            ("SomethingElse/1.0", "An unrecognised browser"),
        ];
        for (user_agent, expected) in cases {
            assert_eq!(describe_browser(user_agent), expected, "{user_agent}");
        }
    }

    #[test]
    fn session_ids_read_back_and_nothing_else_does() {
        let hash: Vec<u8> = (0u8..32).collect();
        assert_eq!(from_hex(&to_hex(&hash)), Some(hash));
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex(&"zz".repeat(32)), None);
        assert_eq!(from_hex(&"é".repeat(32)), None);
    }
}
