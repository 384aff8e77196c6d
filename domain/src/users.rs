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
    #[error(
        "this password is one of the first that attackers try; choose another (a few unrelated words are easy to remember)"
    )]
    Common,
}

pub const MIN_PASSWORD_CHARS: usize = 12;
pub use crate::limits::MAX_PASSWORD_CHARS;

/// Length is what makes a password strong; composition rules only annoy.
/// Long but well-known passwords are refused too.
pub fn check_new_password(password: &SecretString) -> Result<(), WeakPassword> {
    let password = password.expose_secret();
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Err(WeakPassword::TooShort)
    } else if chars > MAX_PASSWORD_CHARS {
        Err(WeakPassword::TooLong)
    } else if is_common_password(password) {
        Err(WeakPassword::Common)
    } else {
        Ok(())
    }
}

/// The bundled list (see the file for where it comes from and how it is
/// matched).
static COMMON_PASSWORDS: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
    std::sync::LazyLock::new(|| {
        include_str!("../data/common-passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .collect()
    });

/// Whether `password` is on the bundled list once what people usually add
/// to a common password is taken off: capitals, digits and symbols at
/// either end ("Password2024!"), look-alike digits ("p4ssw0rd") and
/// repetition ("passwordpassword"). Passwords without letters are common
/// when they are a run ("123456789012") or use three characters or fewer.
pub fn is_common_password(password: &str) -> bool {
    let lower = password.to_lowercase();
    let core = lower.trim_matches(|c: char| !c.is_alphabetic());
    if core.is_empty() {
        return is_run_or_repetition(&lower);
    }
    let readable: String = core
        .chars()
        .map(|c| match c {
            '0' => 'o',
            '1' | '!' => 'i',
            '3' => 'e',
            '4' | '@' => 'a',
            '5' | '$' => 's',
            '7' => 't',
            other => other,
        })
        .collect();
    [core, readable.as_str()]
        .into_iter()
        .any(is_listed_or_repeated)
}

fn is_listed_or_repeated(candidate: &str) -> bool {
    if COMMON_PASSWORDS.contains(candidate) {
        return true;
    }
    // "passwordpassword", "abcabcabcabc": one piece said again.
    let chars: Vec<char> = candidate.chars().collect();
    (1..=chars.len() / 2).any(|len| {
        chars.len().is_multiple_of(len)
            && chars.chunks(len).all(|chunk| chunk == &chars[..len])
            && {
                let piece: String = chars[..len].iter().collect();
                len < 4 || COMMON_PASSWORDS.contains(piece.as_str())
            }
    })
}

/// "111111111111", "123456789012", "987654321098", "121212121212".
fn is_run_or_repetition(password: &str) -> bool {
    let chars: Vec<char> = password.chars().collect();
    let distinct: std::collections::HashSet<&char> = chars.iter().collect();
    if distinct.len() <= 3 {
        return true;
    }
    let steps: Vec<i64> = chars
        .windows(2)
        .map(|pair| (pair[1] as i64 - pair[0] as i64).rem_euclid(10))
        .collect();
    chars.iter().all(char::is_ascii_digit)
        && (steps.iter().all(|&step| step == 1) || steps.iter().all(|&step| step == 9))
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
    let mut conn = crate::db::write_connection(pool)
        .await
        .context("no database connection")?;
    insert_hashed(&mut conn, organisation, email.as_str(), role, &hash, now)
        .await?
        .ok_or_else(|| CreateUserError::DuplicateEmail(email.to_string()))
}

/// Replaces a user's password and ends their sessions, so that whoever knew
/// the old one is signed out. Returns `false` when there is no such user.
pub async fn set_password(
    pool: &Pool,
    email: &EmailAddress,
    password: SecretString,
    now: UnixTime,
) -> Result<bool, CreateUserError> {
    check_new_password(&password)?;
    let hash = hash_password(password).await?;
    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    let Some((id, organisation)) = person(&mut tx, email).await? else {
        return Ok(false);
    };
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id)
        .execute(&mut *tx)
        .await
        .context("could not update the password")?;
    sessions::end_all(&mut tx, id).await?;
    audit_operator_change(
        &mut tx,
        organisation,
        &format!("Set a new password for {email}"),
        now,
    )
    .await?;
    tx.commit()
        .await
        .context("could not commit the new password")?;
    Ok(true)
}

/// Whether `password` is the person's password (`false` too when there is
/// no such person).
pub async fn password_is(
    pool: &Pool,
    email: &EmailAddress,
    password: SecretString,
) -> anyhow::Result<bool> {
    let stored =
        sqlx::query_scalar::<_, String>("SELECT password_hash FROM users WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(pool)
            .await
            .context("could not look up the person")?;
    match stored {
        Some(stored) => Ok(verify_password(password, stored).await?),
        None => Ok(false),
    }
}

/// Ends every session of the person; returns how many there were, or
/// `None` when there is no such person.
pub async fn end_sessions(pool: &Pool, email: &EmailAddress) -> anyhow::Result<Option<u64>> {
    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    let Some((id, _)) = person(&mut tx, email).await? else {
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
    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    let Some((id, organisation)) = person(&mut tx, email).await? else {
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
    let action = if disabled { "Disabled" } else { "Enabled" };
    audit_operator_change(&mut tx, organisation, &format!("{action} {email}"), now).await?;
    tx.commit().await.context("could not commit")?;
    Ok(true)
}

/// Deletes a person and (by cascade) their sessions. Campaigns they
/// created stay: they name their creator by email. Returns `false` when
/// there is no such person.
pub async fn delete_user(pool: &Pool, email: &EmailAddress, now: UnixTime) -> anyhow::Result<bool> {
    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    let Some((id, organisation)) = person(&mut tx, email).await? else {
        return Ok(false);
    };
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .context("could not delete the person")?;
    audit_operator_change(&mut tx, organisation, &format!("Removed {email}"), now).await?;
    tx.commit().await.context("could not commit")?;
    Ok(true)
}

/// Adds a person whose password is already hashed; `None` when the email
/// has an account already (in any organisation).
pub(crate) async fn insert_hashed(
    conn: &mut crate::db::DbConnection,
    organisation: OrganisationId,
    email: &str,
    role: Role,
    password_hash: &str,
    now: UnixTime,
) -> anyhow::Result<Option<UserId>> {
    let result = sqlx::query_scalar::<_, UserId>(
        "INSERT INTO users (organisation_id, email, password_hash, role, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(organisation)
    .bind(email)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now)
    .fetch_one(conn)
    .await;
    match result {
        Ok(id) => Ok(Some(id)),
        Err(e) if is_unique_violation(&e) => Ok(None),
        Err(e) => Err(anyhow::Error::new(e).context("could not add the person")),
    }
}

pub(crate) async fn set_role(
    conn: &mut crate::db::DbConnection,
    person: UserId,
    role: Role,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
        .bind(role.as_str())
        .bind(person)
        .execute(conn)
        .await
        .context("could not change the role")?;
    Ok(())
}

/// `Some(when)` disables the person, `None` enables them.
pub(crate) async fn set_disabled_at(
    conn: &mut crate::db::DbConnection,
    person: UserId,
    disabled_at: Option<UnixTime>,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
        .bind(disabled_at)
        .bind(person)
        .execute(conn)
        .await
        .context("could not change whether the person is disabled")?;
    Ok(())
}

/// Deletes the person; their sessions and links go by cascade.
pub(crate) async fn delete(
    conn: &mut crate::db::DbConnection,
    person: UserId,
) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(person)
        .execute(conn)
        .await
        .context("could not remove the person")?;
    Ok(())
}

/// Stores a new password hash, unless the person is disabled; `false`
/// when nothing was stored.
pub(crate) async fn set_password_hash_unless_disabled(
    conn: &mut crate::db::DbConnection,
    person: UserId,
    password_hash: &str,
) -> anyhow::Result<bool> {
    Ok(
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND disabled_at IS NULL")
            .bind(password_hash)
            .bind(person)
            .execute(conn)
            .await
            .context("could not set the password")?
            .rows_affected()
            == 1,
    )
}

/// Shown on the Team page as "Last sign-in".
pub(crate) async fn note_sign_in(
    conn: &mut crate::db::DbConnection,
    person: UserId,
    now: UnixTime,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE users SET last_sign_in_at = $1 WHERE id = $2")
        .bind(now)
        .bind(person)
        .execute(conn)
        .await
        .context("could not note the sign-in")?;
    Ok(())
}

async fn person(
    conn: &mut crate::db::DbConnection,
    email: &EmailAddress,
) -> anyhow::Result<Option<(UserId, OrganisationId)>> {
    sqlx::query_as::<_, (UserId, OrganisationId)>(
        "SELECT id, organisation_id FROM users WHERE email = $1",
    )
    .bind(email.as_str())
    .fetch_optional(conn)
    .await
    .context("could not look up the person")
}

/// Who the audit log names for changes made with `outreach user …`.
pub const OPERATOR: &str = "The server operator (command line)";

async fn audit_operator_change(
    conn: &mut crate::db::DbConnection,
    organisation: OrganisationId,
    action: &str,
    now: UnixTime,
) -> anyhow::Result<()> {
    crate::audit::record(
        conn,
        organisation,
        crate::audit::Topic::Team,
        OPERATOR,
        action,
        now,
    )
    .await
}

/// Records, for the organisation's audit log, that the operator created a
/// person on the command line.
pub async fn audit_created_by_operator(
    pool: &Pool,
    organisation: OrganisationId,
    email: &EmailAddress,
    role: Role,
    now: UnixTime,
) -> anyhow::Result<()> {
    let mut conn = crate::db::write_connection(pool)
        .await
        .context("no database connection")?;
    audit_operator_change(
        &mut conn,
        organisation,
        &format!("Added {email} as {}", role.label()),
        now,
    )
    .await
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
        assert_eq!(check_new_password(&"éàüöçñâêîôûë".into()), Ok(()));
    }

    #[test]
    fn well_known_passwords_are_refused_however_they_are_dressed_up() {
        for common in [
            "password1234",
            "Password2024!",
            "P4ssw0rd12345",
            "passwordpassword",
            "qwertyuiop123",
            "!!iloveyou2000!!",
            "123456789012",
            "098765432109",
            "111111111111",
            "121212121212",
            "abcabcabcabc",
            "Welcome12345",
        ] {
            assert_eq!(
                check_new_password(&common.into()),
                Err(WeakPassword::Common),
                "{common:?} was accepted"
            );
        }
    }

    #[test]
    fn passwords_that_merely_contain_a_common_word_are_accepted() {
        for fine in [
            "correct horse battery staple",
            "password is a bad password",
            "purple monkey dishwasher",
            "830261947155",
            "summer in the hills 1987",
        ] {
            assert_eq!(check_new_password(&fine.into()), Ok(()), "{fine:?}");
        }
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
