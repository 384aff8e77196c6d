//! Server-side sessions: the one module that writes `sessions`. A session
//! is found by the hash of its cookie's token, never by the token itself.

use anyhow::Context;

use crate::db::DbConnection;
use crate::{clock::UnixTime, ids::UserId};

pub async fn start(
    conn: &mut DbConnection,
    token_hash: &[u8],
    user: UserId,
    user_agent: &str,
    now: UnixTime,
    expires_at: UnixTime,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, user_agent, created_at, expires_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(user)
    .bind(user_agent)
    .bind(now)
    .bind(expires_at)
    .bind(now)
    .execute(conn)
    .await
    .context("could not store the session")?;
    Ok(())
}

/// Keeps the session alive: its idle time counts from now.
pub async fn note_use(
    conn: &mut DbConnection,
    token_hash: &[u8],
    now: UnixTime,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
        .bind(now)
        .bind(token_hash)
        .execute(conn)
        .await
        .context("could not note the session's use")?;
    Ok(())
}

pub async fn end(conn: &mut DbConnection, token_hash: &[u8]) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(conn)
        .await
        .context("could not end the session")?;
    Ok(())
}

/// Ends one session of the person; `false` when they have no such session.
pub async fn end_of(
    conn: &mut DbConnection,
    user: UserId,
    token_hash: &[u8],
) -> anyhow::Result<bool> {
    Ok(
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1 AND user_id = $2")
            .bind(token_hash)
            .bind(user)
            .execute(conn)
            .await
            .context("could not end the session")?
            .rows_affected()
            == 1,
    )
}

/// Ends every session of the person but one (the one they are using);
/// returns how many ended.
pub async fn end_all_but(
    conn: &mut DbConnection,
    user: UserId,
    keep_token_hash: &[u8],
) -> anyhow::Result<u64> {
    Ok(
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user)
            .bind(keep_token_hash)
            .execute(conn)
            .await
            .context("could not end the other sessions")?
            .rows_affected(),
    )
}

/// Ends every session of the person; returns how many there were.
pub async fn end_all(conn: &mut DbConnection, user: UserId) -> anyhow::Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user)
        .execute(conn)
        .await
        .context("could not end the sessions")?
        .rows_affected())
}

pub async fn purge_expired(conn: &mut DbConnection, now: UnixTime) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(conn)
        .await
        .context("could not purge expired sessions")?;
    Ok(())
}
