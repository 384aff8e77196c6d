//! Organisations and their Outreach subscription.

use std::fmt;

use anyhow::Context;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use crate::db::{InTurn, Pool};
use crate::{clock::UnixTime, db::is_unique_violation};

pub use crate::ids::OrganisationId;

/// A trimmed, non-empty organisation name of at most 100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganisationName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidOrganisationName {
    #[error("the organisation name is empty")]
    Empty,
    #[error("the organisation name is longer than {max} characters", max = OrganisationName::MAX_CHARS)]
    TooLong,
    #[error("the organisation name contains a control character")]
    ControlCharacter,
}

impl OrganisationName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, InvalidOrganisationName> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(InvalidOrganisationName::Empty);
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(InvalidOrganisationName::TooLong);
        }
        if name.chars().any(char::is_control) {
            return Err(InvalidOrganisationName::ControlCharacter);
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrganisationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether the organisation may use Outreach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubscriptionState {
    Active,
    Inactive,
    /// Inactive, and someone in the organisation has asked for access.
    Requested,
}

impl SubscriptionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Requested => "requested",
        }
    }

    fn from_db(raw: &str) -> anyhow::Result<Self> {
        match raw {
            "active" => Ok(Self::Active),
            "inactive" => Ok(Self::Inactive),
            "requested" => Ok(Self::Requested),
            other => anyhow::bail!("unknown subscription state in the database: {other}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub id: OrganisationId,
    pub name: String,
    pub public_id: String,
    pub subscription: SubscriptionState,
    pub access_requested_at: Option<UnixTime>,
    pub access_requested_by: Option<String>,
    /// ISO 3166 alpha-2: how phone numbers without a country code are read.
    pub default_country: String,
    /// An IANA name: the time zone its people read times in.
    pub time_zone: String,
    /// When the engine pauses a campaign for carrier errors.
    pub failure_guard: crate::failure_guard::GuardSettings,
    /// When its campaigns send nothing; `None`: they send at any hour.
    pub quiet_hours: Option<crate::quiet_hours::QuietHours>,
}

#[derive(FromRow)]
struct OrganisationRow {
    id: OrganisationId,
    name: String,
    public_id: String,
    subscription_state: String,
    access_requested_at: Option<i64>,
    access_requested_by: Option<String>,
    default_country: String,
    time_zone: String,
    failure_guard_percent: i64,
    failure_guard_messages: i64,
    quiet_hours_from: Option<i64>,
    quiet_hours_until: Option<i64>,
}

impl TryFrom<OrganisationRow> for Organisation {
    type Error = anyhow::Error;

    fn try_from(row: OrganisationRow) -> anyhow::Result<Self> {
        Ok(Self {
            id: row.id,
            name: row.name,
            public_id: row.public_id,
            subscription: SubscriptionState::from_db(&row.subscription_state)?,
            access_requested_at: row.access_requested_at,
            access_requested_by: row.access_requested_by,
            default_country: row.default_country,
            time_zone: row.time_zone,
            failure_guard: crate::failure_guard::GuardSettings {
                percent: row.failure_guard_percent,
                first_messages: row.failure_guard_messages,
            },
            quiet_hours: crate::quiet_hours::QuietHours::from_stored(
                row.quiet_hours_from,
                row.quiet_hours_until,
            ),
        })
    }
}

const ORGANISATION_COLUMNS: &str = "id, name, public_id, subscription_state, \
     access_requested_at, access_requested_by, default_country, time_zone, \
     failure_guard_percent, failure_guard_messages, quiet_hours_from, quiet_hours_until";

#[derive(Debug, thiserror::Error)]
pub enum CreateOrganisationError {
    #[error("an organisation named \"{0}\" already exists")]
    DuplicateName(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// `subscription` is `Active` or `Inactive`: a request is something a user does.
pub async fn insert_organisation(
    pool: &Pool,
    name: &OrganisationName,
    active: bool,
    now: UnixTime,
) -> Result<Organisation, CreateOrganisationError> {
    let state = if active {
        SubscriptionState::Active
    } else {
        SubscriptionState::Inactive
    };
    let result = sqlx::query_as::<_, OrganisationRow>(&format!(
        "INSERT INTO organisations (name, public_id, subscription_state, created_at)
         VALUES ($1, $2, $3, $4) RETURNING {ORGANISATION_COLUMNS}"
    ))
    .bind(name.as_str())
    .bind(new_public_id())
    .bind(state.as_str())
    .bind(now)
    .fetch_one(pool)
    .in_turn(pool)
    .await;
    match result {
        Ok(row) => Ok(row.try_into()?),
        Err(e) if is_unique_violation(&e) => {
            Err(CreateOrganisationError::DuplicateName(name.to_string()))
        }
        Err(e) => Err(anyhow::Error::new(e)
            .context("could not insert the organisation")
            .into()),
    }
}

/// 128 random bits, hex: safe to put in a URL, impossible to guess.
fn new_public_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn fetch_organisation_by_name(
    pool: &Pool,
    name: &OrganisationName,
) -> anyhow::Result<Option<Organisation>> {
    sqlx::query_as::<_, OrganisationRow>(&format!(
        "SELECT {ORGANISATION_COLUMNS} FROM organisations WHERE name = $1"
    ))
    .bind(name.as_str())
    .fetch_optional(pool)
    .await
    .context("could not look up the organisation by name")?
    .map(Organisation::try_from)
    .transpose()
}

/// The organisation a webhook URL names.
pub async fn fetch_organisation_by_public_id(
    pool: &Pool,
    public_id: &str,
) -> anyhow::Result<Option<Organisation>> {
    sqlx::query_as::<_, OrganisationRow>(&format!(
        "SELECT {ORGANISATION_COLUMNS} FROM organisations WHERE public_id = $1"
    ))
    .bind(public_id)
    .fetch_optional(pool)
    .await
    .context("could not look up the organisation by public id")?
    .map(Organisation::try_from)
    .transpose()
}

pub async fn fetch_organisation(pool: &Pool, id: OrganisationId) -> anyhow::Result<Organisation> {
    sqlx::query_as::<_, OrganisationRow>(&format!(
        "SELECT {ORGANISATION_COLUMNS} FROM organisations WHERE id = $1"
    ))
    .bind(id)
    .fetch_one(pool)
    .await
    .context("could not fetch the organisation")?
    .try_into()
}

/// Grants (`active = true`) or withdraws Outreach. Withdrawing clears any
/// earlier access request, so the organisation can ask again.
/// Returns `false` when no organisation has that name.
pub async fn set_subscription(
    pool: &Pool,
    name: &OrganisationName,
    active: bool,
) -> anyhow::Result<bool> {
    let state = if active {
        SubscriptionState::Active
    } else {
        SubscriptionState::Inactive
    };
    let updated = sqlx::query(
        "UPDATE organisations
         SET subscription_state = $1,
             access_requested_at = CASE WHEN $2 THEN access_requested_at END,
             access_requested_by = CASE WHEN $3 THEN access_requested_by END
         WHERE name = $4",
    )
    .bind(state.as_str())
    .bind(active)
    .bind(active)
    .bind(name.as_str())
    .execute(pool)
    .in_turn(pool)
    .await
    .context("could not update the subscription")?;
    Ok(updated.rows_affected() == 1)
}

/// Records that `requested_by` asked for Outreach. The first request's time is
/// kept if people press the button again; an active organisation is left alone.
pub async fn request_access(
    pool: &Pool,
    id: OrganisationId,
    // The signed-in person's stored email.
    requested_by: &str,
    now: UnixTime,
) -> anyhow::Result<Organisation> {
    sqlx::query(
        "UPDATE organisations
         SET subscription_state = 'requested',
             access_requested_at = COALESCE(access_requested_at, $1),
             access_requested_by = COALESCE(access_requested_by, $2)
         WHERE id = $3 AND subscription_state <> 'active'",
    )
    .bind(now)
    .bind(requested_by)
    .bind(id)
    .execute(pool)
    .in_turn(pool)
    .await
    .context("could not record the access request")?;
    fetch_organisation(pool, id).await
}

/// Holds the organisation's row until the transaction ends, by writing it
/// (changing nothing): changes that must see each other, like those to one
/// organisation's team, then happen one at a time. PostgreSQL locks the
/// row; SQLite takes its one write lock at once. (On SQLite, a transaction
/// that read first and then wants to write while another writes is refused
/// at once, "database is locked", instead of waiting: hence a write first.)
pub async fn hold(conn: &mut crate::db::DbConnection, id: OrganisationId) -> anyhow::Result<()> {
    sqlx::query("UPDATE organisations SET id = id WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await
        .context("could not hold the organisation")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{db::testing::fresh_database, users::EmailAddress};

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            OrganisationName::parse("  Acme  ").unwrap().as_str(),
            "Acme"
        );
        assert_eq!(
            OrganisationName::parse("   "),
            Err(InvalidOrganisationName::Empty)
        );
        assert_eq!(
            OrganisationName::parse(&"x".repeat(101)),
            Err(InvalidOrganisationName::TooLong)
        );
        assert_eq!(
            OrganisationName::parse("a\u{0}b"),
            Err(InvalidOrganisationName::ControlCharacter)
        );
    }

    #[tokio::test]
    async fn a_second_organisation_with_the_same_name_in_another_case_is_refused() {
        let (pool, _dir) = fresh_database().await;
        let name = OrganisationName::parse("Acme").unwrap();
        insert_organisation(&pool, &name, true, 1).await.unwrap();

        let again = OrganisationName::parse("ACME").unwrap();
        let result = insert_organisation(&pool, &again, false, 2).await;

        assert!(matches!(
            result,
            Err(CreateOrganisationError::DuplicateName(_))
        ));
    }

    #[tokio::test]
    async fn requesting_access_keeps_the_first_request_and_granting_clears_nothing_else() {
        let (pool, _dir) = fresh_database().await;
        let name = OrganisationName::parse("Acme").unwrap();
        let org = insert_organisation(&pool, &name, false, 1).await.unwrap();
        let alice = EmailAddress::parse("alice@example.com").unwrap();
        let bob = EmailAddress::parse("bob@example.com").unwrap();

        let first = request_access(&pool, org.id, alice.as_str(), 100)
            .await
            .unwrap();
        let second = request_access(&pool, org.id, bob.as_str(), 200)
            .await
            .unwrap();

        assert_eq!(first.subscription, SubscriptionState::Requested);
        assert_eq!(second.access_requested_at, Some(100));
        assert_eq!(
            second.access_requested_by.as_deref(),
            Some("alice@example.com")
        );

        assert!(set_subscription(&pool, &name, true).await.unwrap());
        let granted = fetch_organisation(&pool, org.id).await.unwrap();
        assert_eq!(granted.subscription, SubscriptionState::Active);

        assert!(set_subscription(&pool, &name, false).await.unwrap());
        let withdrawn = fetch_organisation(&pool, org.id).await.unwrap();
        assert_eq!(withdrawn.subscription, SubscriptionState::Inactive);
        assert_eq!(withdrawn.access_requested_at, None);
    }

    #[tokio::test]
    async fn an_active_organisation_stays_active_when_someone_requests_access() {
        let (pool, _dir) = fresh_database().await;
        let name = OrganisationName::parse("Acme").unwrap();
        let org = insert_organisation(&pool, &name, true, 1).await.unwrap();
        let alice = EmailAddress::parse("alice@example.com").unwrap();

        let after = request_access(&pool, org.id, alice.as_str(), 100)
            .await
            .unwrap();

        assert_eq!(after.subscription, SubscriptionState::Active);
        assert_eq!(after.access_requested_at, None);
    }
}

/// Sets how phone numbers without a country code are read, as an ISO 3166
/// alpha-2 code the phone-number library knows (`GB`, `US`, ...).
pub async fn set_default_country(
    pool: &Pool,
    id: OrganisationId,
    code: &CountryCode,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE organisations SET default_country = $1 WHERE id = $2")
        .bind(&code.0)
        .bind(id)
        .execute(pool)
        .in_turn(pool)
        .await
        .context("could not set the default country")?;
    Ok(())
}

/// Sets the time zone the organisation's people read times in, and records
/// who changed it from what. Returns whether it changed.
pub async fn set_time_zone(
    pool: &Pool,
    id: OrganisationId,
    zone: &crate::clock::TimeZoneName,
    actor: &str,
    now: UnixTime,
) -> anyhow::Result<bool> {
    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    hold(&mut tx, id).await?;
    let before =
        sqlx::query_scalar::<_, String>("SELECT time_zone FROM organisations WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .context("could not read the time zone")?;
    if before == zone.as_str() {
        return Ok(false);
    }
    sqlx::query("UPDATE organisations SET time_zone = $1 WHERE id = $2")
        .bind(zone.as_str())
        .bind(id)
        .execute(&mut *tx)
        .await
        .context("could not set the time zone")?;
    crate::audit::record(
        &mut tx,
        id,
        crate::audit::Topic::Organisation,
        actor,
        &format!("Changed the time zone from {before} to {}", zone.as_str()),
        now,
    )
    .await?;
    tx.commit()
        .await
        .context("could not commit the time zone")?;
    Ok(true)
}

/// Sets when the engine pauses a campaign for carrier errors, and records
/// who changed it from what. Returns whether it changed.
pub async fn set_failure_guard(
    pool: &Pool,
    id: OrganisationId,
    guard: crate::failure_guard::GuardSettings,
    actor: &str,
    now: UnixTime,
) -> anyhow::Result<bool> {
    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    hold(&mut tx, id).await?;
    let (percent, first_messages) = sqlx::query_as::<_, (i64, i64)>(
        "SELECT failure_guard_percent, failure_guard_messages FROM organisations WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await
    .context("could not read the failure guard")?;
    let before = crate::failure_guard::GuardSettings {
        percent,
        first_messages,
    };
    if before == guard {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE organisations SET failure_guard_percent = $1, failure_guard_messages = $2
         WHERE id = $3",
    )
    .bind(guard.percent)
    .bind(guard.first_messages)
    .bind(id)
    .execute(&mut *tx)
    .await
    .context("could not set the failure guard")?;
    crate::audit::record(
        &mut tx,
        id,
        crate::audit::Topic::Organisation,
        actor,
        &format!("Changed the failure guard from \"{before}\" to \"{guard}\""),
        now,
    )
    .await?;
    tx.commit()
        .await
        .context("could not commit the failure guard")?;
    Ok(true)
}

/// Sets or (with `None`) removes the organisation's quiet hours, and
/// records who changed them from what. Returns whether they changed.
pub async fn set_quiet_hours(
    pool: &Pool,
    id: OrganisationId,
    quiet_hours: Option<crate::quiet_hours::QuietHours>,
    actor: &str,
    now: UnixTime,
) -> anyhow::Result<bool> {
    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    hold(&mut tx, id).await?;
    let (from, until) = sqlx::query_as::<_, (Option<i64>, Option<i64>)>(
        "SELECT quiet_hours_from, quiet_hours_until FROM organisations WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await
    .context("could not read the quiet hours")?;
    let before = crate::quiet_hours::QuietHours::from_stored(from, until);
    if before == quiet_hours {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE organisations SET quiet_hours_from = $1, quiet_hours_until = $2 WHERE id = $3",
    )
    .bind(quiet_hours.map(|q| q.from_minute()))
    .bind(quiet_hours.map(|q| q.until_minute()))
    .bind(id)
    .execute(&mut *tx)
    .await
    .context("could not set the quiet hours")?;
    let label = |q: Option<crate::quiet_hours::QuietHours>| {
        q.map_or_else(|| "none".to_owned(), |q| q.label())
    };
    crate::audit::record(
        &mut tx,
        id,
        crate::audit::Topic::Organisation,
        actor,
        &format!(
            "Changed the quiet hours from {} to {}",
            label(before),
            label(quiet_hours)
        ),
        now,
    )
    .await?;
    tx.commit()
        .await
        .context("could not commit the quiet hours")?;
    Ok(true)
}

/// An ISO 3166 alpha-2 country code that the phone-number library knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountryCode(String);

impl CountryCode {
    pub fn parse(raw: &str) -> Result<Self, NotACountryCode> {
        let code = raw.trim().to_ascii_uppercase();
        if code.len() != 2 || code.parse::<phonenumber::country::Id>().is_err() {
            return Err(NotACountryCode(raw.trim().to_owned()));
        }
        Ok(Self(code))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a country code such as GB or US")]
pub struct NotACountryCode(pub String);

/// For other modules' tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A new organisation named `name`, with an active subscription.
    pub async fn organisation(pool: &Pool, name: &str) -> OrganisationId {
        let name = OrganisationName::parse(name).unwrap();
        insert_organisation(pool, &name, true, 0).await.unwrap().id
    }
}
