//! People who sign in: their email, role and password hash.

use std::fmt;

use anyhow::Context;
use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::db::Pool;
use crate::{clock::UnixTime, db::is_unique_violation, organisations::OrganisationId, sessions};

pub use crate::ids::UserId;

/// What a person may do in their organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Configures the organisation's settings (Twilio) and runs campaigns.
    OrgAdmin,
    /// Creates and runs campaigns.
    Campaigner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrgAdmin => "org_admin",
            Self::Campaigner => "campaigner",
        }
    }

    pub(crate) fn from_db(raw: &str) -> anyhow::Result<Self> {
        match raw {
            "org_admin" => Ok(Self::OrgAdmin),
            "campaigner" => Ok(Self::Campaigner),
            other => anyhow::bail!("unknown role in the database: {other}"),
        }
    }
}

/// A trimmed, lower-cased email address of a plausible shape. Delivery is
/// never attempted, so the check is deliberately modest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not an email address")]
pub struct InvalidEmailAddress(pub String);

impl EmailAddress {
    pub const MAX_LEN: usize = crate::limits::MAX_EMAIL_CHARS;

    pub fn parse(raw: &str) -> Result<Self, InvalidEmailAddress> {
        let email = raw.trim().to_lowercase();
        let invalid = || InvalidEmailAddress(raw.trim().to_owned());
        if email.len() > Self::MAX_LEN || email.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid());
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let domain_ok = !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.');
        if local.is_empty() || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    #[error("the password must be at least {min} characters long", min = MIN_PASSWORD_CHARS)]
    TooShort,
    #[error("the password must be at most {max} characters long", max = MAX_PASSWORD_CHARS)]
    TooLong,
}

pub const MIN_PASSWORD_CHARS: usize = 12;
pub use crate::limits::MAX_PASSWORD_CHARS;

/// Length is what makes a password strong; composition rules only annoy.
pub fn check_new_password(password: &SecretString) -> Result<(), WeakPassword> {
    let chars = password.expose_secret().chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Err(WeakPassword::TooShort)
    } else if chars > MAX_PASSWORD_CHARS {
        Err(WeakPassword::TooLong)
    } else {
        Ok(())
    }
}

/// argon2id with the crate's (OWASP-recommended) defaults, off the async
/// threads and a bounded number at a time (see `crate::work`).
pub async fn hash_password(password: SecretString) -> anyhow::Result<String> {
    crate::work::PASSWORDS
        .run(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.expose_secret().as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| anyhow::anyhow!("could not hash the password: {e}"))
        })
        .await
        .map_err(anyhow::Error::new)?
}

/// Checks `password` against a stored PHC hash, like [`hash_password`].
pub async fn verify_password(
    password: SecretString,
    stored_hash: String,
) -> Result<bool, crate::work::WorkError> {
    crate::work::PASSWORDS
        .run(move || {
            let hash = PasswordHash::new(&stored_hash)
                .map_err(|e| anyhow::anyhow!("a stored password hash is malformed: {e}"))?;
            anyhow::Ok(
                Argon2::default()
                    .verify_password(password.expose_secret().as_bytes(), &hash)
                    .is_ok(),
            )
        })
        .await?
        .map_err(crate::work::WorkError::from)
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("a user with the email {0} already exists")]
    DuplicateEmail(String),
    #[error(transparent)]
    Weak(#[from] WeakPassword),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub async fn insert_user(
    pool: &Pool,
    organisation: OrganisationId,
    email: &EmailAddress,
    role: Role,
    password: SecretString,
    now: UnixTime,
) -> Result<UserId, CreateUserError> {
    check_new_password(&password)?;
    let hash = hash_password(password).await?;
    let result = sqlx::query_scalar::<_, UserId>(
        "INSERT INTO users (organisation_id, email, password_hash, role, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(organisation)
    .bind(email.as_str())
    .bind(hash)
    .bind(role.as_str())
    .bind(now)
    .fetch_one(pool)
    .await;
    match result {
        Ok(id) => Ok(id),
        Err(e) if is_unique_violation(&e) => {
            Err(CreateUserError::DuplicateEmail(email.to_string()))
        }
        Err(e) => Err(anyhow::Error::new(e)
            .context("could not insert the user")
            .into()),
    }
}

/// Replaces a user's password and ends their sessions, so that whoever knew
/// the old one is signed out. Returns `false` when there is no such user.
pub async fn set_password(
    pool: &Pool,
    email: &EmailAddress,
    password: SecretString,
) -> Result<bool, CreateUserError> {
    check_new_password(&password)?;
    let hash = hash_password(password).await?;
    let mut tx = pool
        .begin()
        .await
        .context("could not start a transaction")?;
    let Some(id) = user_id(&mut tx, email).await? else {
        return Ok(false);
    };
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id)
        .execute(&mut *tx)
        .await
        .context("could not update the password")?;
    sessions::end_all(&mut tx, id).await?;
    tx.commit()
        .await
        .context("could not commit the new password")?;
    Ok(true)
}

/// Ends every session of the person; returns how many there were, or
/// `None` when there is no such person.
pub async fn end_sessions(pool: &Pool, email: &EmailAddress) -> anyhow::Result<Option<u64>> {
    let mut tx = pool
        .begin()
        .await
        .context("could not start a transaction")?;
    let Some(id) = user_id(&mut tx, email).await? else {
        return Ok(None);
    };
    let ended = sessions::end_all(&mut tx, id).await?;
    tx.commit().await.context("could not commit")?;
    Ok(Some(ended))
}

/// Disables (or enables) a person: a disabled person cannot sign in, and
/// their sessions end at once. Returns `false` when there is no such person.
pub async fn set_disabled(
    pool: &Pool,
    email: &EmailAddress,
    disabled: bool,
    now: UnixTime,
) -> anyhow::Result<bool> {
    let mut tx = pool
        .begin()
        .await
        .context("could not start a transaction")?;
    let Some(id) = user_id(&mut tx, email).await? else {
        return Ok(false);
    };
    sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
        .bind(disabled.then_some(now))
        .bind(id)
        .execute(&mut *tx)
        .await
        .context("could not change whether the person is disabled")?;
    if disabled {
        sessions::end_all(&mut tx, id).await?;
    }
    tx.commit().await.context("could not commit")?;
    Ok(true)
}

/// Deletes a person and (by cascade) their sessions. Campaigns they
/// created stay: they name their creator by email. Returns `false` when
/// there is no such person.
pub async fn delete_user(pool: &Pool, email: &EmailAddress) -> anyhow::Result<bool> {
    Ok(sqlx::query("DELETE FROM users WHERE email = $1")
        .bind(email.as_str())
        .execute(pool)
        .await
        .context("could not delete the person")?
        .rows_affected()
        == 1)
}

async fn user_id(
    conn: &mut crate::db::DbConnection,
    email: &EmailAddress,
) -> anyhow::Result<Option<UserId>> {
    sqlx::query_scalar::<_, UserId>("SELECT id FROM users WHERE email = $1")
        .bind(email.as_str())
        .fetch_optional(conn)
        .await
        .context("could not look up the person")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub email: String,
    pub role: Role,
    pub joined_at: UnixTime,
}

/// The organisation's people, by email.
pub async fn fetch_members(pool: &Pool, id: OrganisationId) -> anyhow::Result<Vec<Member>> {
    let rows = sqlx::query_as::<_, (String, String, i64)>(
        "SELECT email, role, created_at FROM users WHERE organisation_id = $1 ORDER BY email",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .context("could not list the organisation's members")?;
    rows.into_iter()
        .map(|(email, role, joined_at)| {
            Ok(Member {
                email,
                role: Role::from_db(&role)?,
                joined_at,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn email_addresses_are_trimmed_and_lower_cased() {
        assert_eq!(
            EmailAddress::parse("  Alice@Example.COM ")
                .unwrap()
                .as_str(),
            "alice@example.com"
        );
    }

    #[test]
    fn implausible_email_addresses_are_refused() {
        for raw in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a b@example.com",
            "a@b@c.com",
            "a@.com",
            "a@com.",
        ] {
            assert!(EmailAddress::parse(raw).is_err(), "{raw:?} was accepted");
        }
    }

    #[test]
    fn passwords_shorter_than_twelve_characters_are_weak() {
        assert_eq!(
            check_new_password(&"elevenchars".into()),
            Err(WeakPassword::TooShort)
        );
        assert_eq!(check_new_password(&"twelve chars".into()), Ok(()));
        // Characters, not bytes: twelve accented letters are enough.
        assert_eq!(check_new_password(&"éééééééééééé".into()), Ok(()));
    }

    #[tokio::test]
    async fn a_hash_verifies_its_own_password_only() {
        let hash = hash_password("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            verify_password("correct horse battery".into(), hash.clone())
                .await
                .unwrap()
        );
        assert!(
            !verify_password("correct horse battery!".into(), hash)
                .await
                .unwrap()
        );
    }

    proptest! {
        #[test]
        fn parsed_email_addresses_are_canonical(local in "[A-Za-z0-9._%+-]{1,30}", domain in "[A-Za-z0-9-]{1,20}\\.[A-Za-z]{2,6}") {
            let raw = format!("  {local}@{domain}\t");
            let email = EmailAddress::parse(&raw).unwrap();
            prop_assert_eq!(email.as_str(), format!("{local}@{domain}").to_lowercase());
            prop_assert_eq!(EmailAddress::parse(email.as_str()).unwrap(), email.clone());
        }

        #[test]
        fn nothing_with_inner_whitespace_is_an_email_address(a in "[a-z]{1,10}", b in "[a-z]{1,10}") {
            let raw = format!("{a} {b}@example.com");
            prop_assert!(EmailAddress::parse(&raw).is_err());
        }
    }
}
