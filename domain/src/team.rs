//! An organisation's people, managed by its Org Admins: invitations and
//! password resets by one-time link, roles, disabling and removal, with the
//! rule that an organisation always keeps an active Org Admin. Every change
//! is recorded in the audit log, in the transaction that makes it.

use std::fmt;

use anyhow::Context;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

use crate::db::{DbConnection, Pool};
use crate::{
    audit::{self, Topic},
    clock::UnixTime,
    ids::AccountLinkId,
    organisations::{self, OrganisationId},
    sessions,
    sign_in::{SessionToken, SignedInUser, open_session},
    users::{self, EmailAddress, Role, UserId, WeakPassword, check_new_password, hash_password},
};

/// How long an invitation or password reset link works.
pub const LINK_VALID_SECS: i64 = 7 * 24 * 60 * 60;

impl Role {
    /// As people read it: "Org Admin", "Campaigner".
    pub fn label(self) -> &'static str {
        match self {
            Self::OrgAdmin => "Org Admin",
            Self::Campaigner => "Campaigner",
        }
    }
}

/// The secret part of a one-time link. Shown once, to the Org Admin who
/// made it; only its SHA-256 is stored. Never logged: `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkSecret(String);

impl LinkSecret {
    pub fn from_url_part(value: &str) -> Self {
        Self(value.to_owned())
    }

    /// For the link shown to the Org Admin, and nothing else.
    pub fn url_part(&self) -> &str {
        &self.0
    }

    fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }
}

impl fmt::Debug for LinkSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkSecret([REDACTED])")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    Invitation,
    PasswordReset,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Invitation => "invitation",
            Self::PasswordReset => "password_reset",
        }
    }

    fn from_db(raw: &str) -> anyhow::Result<Self> {
        match raw {
            "invitation" => Ok(Self::Invitation),
            "password_reset" => Ok(Self::PasswordReset),
            other => anyhow::bail!("unknown account link purpose in the database: {other}"),
        }
    }
}

/// A link that has not been used or revoked (it may have expired).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLink {
    pub id: AccountLinkId,
    pub created_by: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

impl PendingLink {
    pub fn has_expired(&self, now: UnixTime) -> bool {
        self.expires_at <= now
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: UserId,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    pub joined_at: UnixTime,
    pub last_sign_in_at: Option<UnixTime>,
    /// A password reset link made for them and not used yet.
    pub reset_link: Option<PendingLink>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub email: String,
    pub role: Role,
    pub link: PendingLink,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Team {
    /// By email.
    pub members: Vec<Member>,
    /// Not used and not revoked, newest first.
    pub invitations: Vec<Invitation>,
}

/// The Org Admin making a change: their organisation and, for the audit
/// log, who they are.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub organisation: OrganisationId,
    pub user: UserId,
    pub email: &'a str,
}

impl<'a> From<&'a SignedInUser> for Actor<'a> {
    fn from(user: &'a SignedInUser) -> Self {
        Self {
            organisation: user.organisation_id,
            user: user.user_id,
            email: &user.email,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    /// Not a person (or link) of the actor's organisation.
    #[error("there is no such person in your organisation")]
    NoSuchPerson,
    #[error("there is no such link in your organisation")]
    NoSuchLink,
    #[error(
        "{email} is the organisation's only active Org Admin; make someone else an Org Admin first, so that someone can still manage the organisation"
    )]
    LastOrgAdmin { email: String },
    #[error("{email} is already a member of your organisation")]
    AlreadyMember { email: String },
    /// Emails are unique across organisations: people sign in with theirs.
    #[error("{email} already has an Outreach account in another organisation")]
    EmailTaken { email: String },
    #[error("{email} is disabled; enable them first")]
    Disabled { email: String },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The organisation's people and open invitations.
pub async fn fetch_team(pool: &Pool, organisation: OrganisationId) -> anyhow::Result<Team> {
    let members = sqlx::query_as::<_, (UserId, String, String, Option<i64>, i64, Option<i64>)>(
        "SELECT id, email, role, disabled_at, created_at, last_sign_in_at FROM users
         WHERE organisation_id = $1 ORDER BY email",
    )
    .bind(organisation)
    .fetch_all(pool)
    .await
    .context("could not list the organisation's people")?;
    let links = sqlx::query_as::<_, LinkRow>(
        "SELECT id, purpose, email, role, user_id, created_by, created_at, expires_at FROM account_links
         WHERE organisation_id = $1 AND used_at IS NULL AND revoked_at IS NULL
         ORDER BY id DESC",
    )
    .bind(organisation)
    .fetch_all(pool)
    .await
    .context("could not list the organisation's links")?;

    let mut team = Team::default();
    for (id, email, role, disabled_at, joined_at, last_sign_in_at) in members {
        let reset_link = links
            .iter()
            .find(|link| link.purpose == "password_reset" && link.user_id == Some(id))
            .map(LinkRow::pending);
        team.members.push(Member {
            id,
            email,
            role: Role::from_db(&role)?,
            disabled: disabled_at.is_some(),
            joined_at,
            last_sign_in_at,
            reset_link,
        });
    }
    for link in &links {
        if link.purpose == "invitation" {
            team.invitations.push(Invitation {
                email: link.email.clone(),
                role: Role::from_db(link.role.as_deref().unwrap_or_default())?,
                link: link.pending(),
            });
        }
    }
    Ok(team)
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    id: AccountLinkId,
    purpose: String,
    email: String,
    role: Option<String>,
    user_id: Option<UserId>,
    created_by: String,
    created_at: i64,
    expires_at: i64,
}

impl LinkRow {
    fn pending(&self) -> PendingLink {
        PendingLink {
            id: self.id,
            created_by: self.created_by.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
        }
    }
}

/// A new invitation's or reset's link, shown once.
#[derive(Debug)]
pub struct NewLink {
    pub secret: LinkSecret,
    pub expires_at: UnixTime,
    /// Whose link it is.
    pub email: String,
}

/// Invites `email` to join as `role`. An earlier invitation of the same
/// email that is still open is revoked: its link was shown once, and this is
/// how an Org Admin who lost it gets a new one.
pub async fn invite(
    pool: &Pool,
    actor: Actor<'_>,
    email: &EmailAddress,
    role: Role,
    now: UnixTime,
) -> Result<NewLink, TeamError> {
    let mut tx = begin_team_change(pool, actor.organisation).await?;
    let existing = sqlx::query_scalar::<_, OrganisationId>(
        "SELECT organisation_id FROM users WHERE email = $1",
    )
    .bind(email.as_str())
    .fetch_optional(&mut *tx)
    .await
    .context("could not look up the email")?;
    match existing {
        Some(organisation) if organisation == actor.organisation => {
            return Err(TeamError::AlreadyMember {
                email: email.to_string(),
            });
        }
        Some(_) => {
            return Err(TeamError::EmailTaken {
                email: email.to_string(),
            });
        }
        None => {}
    }
    let replaced = sqlx::query(
        "UPDATE account_links SET revoked_at = $1
         WHERE organisation_id = $2 AND purpose = 'invitation' AND email = $3
           AND used_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(actor.organisation)
    .bind(email.as_str())
    .execute(&mut *tx)
    .await
    .context("could not revoke the earlier invitation")?
    .rows_affected();
    let link = insert_link(
        &mut tx,
        actor,
        LinkPurpose::Invitation,
        email.as_str(),
        Some(role),
        None,
        now,
    )
    .await?;
    let action = if replaced > 0 {
        format!(
            "Invited {email} as {} again (the earlier link no longer works)",
            role.label()
        )
    } else {
        format!("Invited {email} as {}", role.label())
    };
    finish_team_change(tx, actor, &action, now).await?;
    tracing::info!(organisation_id = %actor.organisation, %email, role = role.as_str(), "invited");
    Ok(link)
}

/// A one-time link for `person` to set a new password with. Their current
/// password keeps working until the link is used.
pub async fn create_password_reset(
    pool: &Pool,
    actor: Actor<'_>,
    person: UserId,
    now: UnixTime,
) -> Result<NewLink, TeamError> {
    let mut tx = begin_team_change(pool, actor.organisation).await?;
    let member = member(&mut tx, actor.organisation, person).await?;
    if member.disabled {
        return Err(TeamError::Disabled {
            email: member.email,
        });
    }
    let replaced = sqlx::query(
        "UPDATE account_links SET revoked_at = $1
         WHERE user_id = $2 AND purpose = 'password_reset' AND used_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(person)
    .execute(&mut *tx)
    .await
    .context("could not revoke the earlier reset link")?
    .rows_affected();
    let link = insert_link(
        &mut tx,
        actor,
        LinkPurpose::PasswordReset,
        &member.email,
        None,
        Some(person),
        now,
    )
    .await?;
    let action = if replaced > 0 {
        format!(
            "Made a new password reset link for {} (the earlier link no longer works)",
            member.email
        )
    } else {
        format!("Made a password reset link for {}", member.email)
    };
    finish_team_change(tx, actor, &action, now).await?;
    Ok(link)
}

async fn insert_link(
    tx: &mut DbConnection,
    actor: Actor<'_>,
    purpose: LinkPurpose,
    email: &str,
    role: Option<Role>,
    user: Option<UserId>,
    now: UnixTime,
) -> anyhow::Result<NewLink> {
    let secret = LinkSecret::generate();
    let expires_at = now + LINK_VALID_SECS;
    sqlx::query(
        "INSERT INTO account_links
             (organisation_id, purpose, token_hash, email, role, user_id, created_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(actor.organisation)
    .bind(purpose.as_str())
    .bind(secret.hash())
    .bind(email)
    .bind(role.map(Role::as_str))
    .bind(user)
    .bind(actor.email)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *tx)
    .await
    .context("could not store the link")?;
    Ok(NewLink {
        secret,
        expires_at,
        email: email.to_owned(),
    })
}

/// Revokes an invitation or password reset link that has not been used.
pub async fn revoke_link(
    pool: &Pool,
    actor: Actor<'_>,
    link: AccountLinkId,
    now: UnixTime,
) -> Result<(), TeamError> {
    let mut tx = begin_team_change(pool, actor.organisation).await?;
    let revoked = sqlx::query_as::<_, (String, String)>(
        "UPDATE account_links SET revoked_at = $1
         WHERE id = $2 AND organisation_id = $3 AND used_at IS NULL AND revoked_at IS NULL
         RETURNING purpose, email",
    )
    .bind(now)
    .bind(link)
    .bind(actor.organisation)
    .fetch_optional(&mut *tx)
    .await
    .context("could not revoke the link")?;
    let Some((purpose, email)) = revoked else {
        return Err(TeamError::NoSuchLink);
    };
    let action = match LinkPurpose::from_db(&purpose)? {
        LinkPurpose::Invitation => format!("Revoked the invitation of {email}"),
        LinkPurpose::PasswordReset => format!("Revoked the password reset link of {email}"),
    };
    finish_team_change(tx, actor, &action, now).await?;
    Ok(())
}

pub async fn change_role(
    pool: &Pool,
    actor: Actor<'_>,
    person: UserId,
    role: Role,
    now: UnixTime,
) -> Result<(), TeamError> {
    let mut tx = begin_team_change(pool, actor.organisation).await?;
    let member = member(&mut tx, actor.organisation, person).await?;
    if member.role == role {
        return Ok(());
    }
    users::set_role(&mut tx, person, role).await?;
    keeps_an_org_admin(&mut tx, actor.organisation, &member.email).await?;
    let action = format!(
        "Changed the role of {} from {} to {}",
        member.email,
        member.role.label(),
        role.label()
    );
    finish_team_change(tx, actor, &action, now).await?;
    Ok(())
}

/// Disables (their sessions end at once, and they cannot sign in) or
/// enables a person.
pub async fn set_disabled(
    pool: &Pool,
    actor: Actor<'_>,
    person: UserId,
    disabled: bool,
    now: UnixTime,
) -> Result<(), TeamError> {
    let mut tx = begin_team_change(pool, actor.organisation).await?;
    let member = member(&mut tx, actor.organisation, person).await?;
    if member.disabled == disabled {
        return Ok(());
    }
    users::set_disabled_at(&mut tx, person, disabled.then_some(now)).await?;
    let action = if disabled {
        keeps_an_org_admin(&mut tx, actor.organisation, &member.email).await?;
        let ended = sessions::end_all(&mut tx, person).await?;
        // A reset link must not bring a disabled person back.
        sqlx::query(
            "UPDATE account_links SET revoked_at = $1
             WHERE user_id = $2 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(person)
        .execute(&mut *tx)
        .await
        .context("could not revoke the person's links")?;
        format!(
            "Disabled {} ({ended} session{} ended)",
            member.email,
            if ended == 1 { "" } else { "s" }
        )
    } else {
        format!("Enabled {}", member.email)
    };
    finish_team_change(tx, actor, &action, now).await?;
    tracing::info!(organisation_id = %actor.organisation, user_id = %person, disabled, "changed whether a person is disabled");
    Ok(())
}

/// Removes a person: their sessions and links go with them; campaigns they
/// created stay, naming them as a former member.
pub async fn remove(
    pool: &Pool,
    actor: Actor<'_>,
    person: UserId,
    now: UnixTime,
) -> Result<(), TeamError> {
    let mut tx = begin_team_change(pool, actor.organisation).await?;
    let member = member(&mut tx, actor.organisation, person).await?;
    users::delete(&mut tx, person).await?;
    keeps_an_org_admin(&mut tx, actor.organisation, &member.email).await?;
    let action = format!("Removed {} ({})", member.email, member.role.label());
    finish_team_change(tx, actor, &action, now).await?;
    tracing::info!(organisation_id = %actor.organisation, user_id = %person, "removed a person");
    Ok(())
}

/// Team changes of one organisation happen one at a time, so that two Org
/// Admins demoting each other at once cannot leave it without one: each
/// holds the organisation's row first.
/// Records the change in the audit log and commits it with the change.
async fn finish_team_change(
    mut tx: crate::db::WriteTransaction,
    actor: Actor<'_>,
    action: &str,
    now: UnixTime,
) -> anyhow::Result<()> {
    audit::record(
        &mut tx,
        actor.organisation,
        Topic::Team,
        actor.email,
        action,
        now,
    )
    .await?;
    tx.commit()
        .await
        .context("could not commit the team change")
}

async fn begin_team_change(
    pool: &Pool,
    organisation: OrganisationId,
) -> anyhow::Result<crate::db::WriteTransaction> {
    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    organisations::hold(&mut tx, organisation).await?;
    Ok(tx)
}

struct MemberRow {
    email: String,
    role: Role,
    disabled: bool,
}

async fn member(
    conn: &mut DbConnection,
    organisation: OrganisationId,
    person: UserId,
) -> Result<MemberRow, TeamError> {
    let row = sqlx::query_as::<_, (String, String, Option<i64>)>(
        "SELECT email, role, disabled_at FROM users WHERE id = $1 AND organisation_id = $2",
    )
    .bind(person)
    .bind(organisation)
    .fetch_optional(conn)
    .await
    .context("could not look up the person")?;
    let (email, role, disabled_at) = row.ok_or(TeamError::NoSuchPerson)?;
    Ok(MemberRow {
        email,
        role: Role::from_db(&role)?,
        disabled: disabled_at.is_some(),
    })
}

/// Checked after the change, in its transaction: refuses it (and the
/// caller's transaction is dropped, so rolled back) when no active Org
/// Admin would be left.
async fn keeps_an_org_admin(
    conn: &mut DbConnection,
    organisation: OrganisationId,
    changed: &str,
) -> Result<(), TeamError> {
    let admins = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM users
         WHERE organisation_id = $1 AND role = 'org_admin' AND disabled_at IS NULL",
    )
    .bind(organisation)
    .fetch_one(conn)
    .await
    .context("could not count the Org Admins")?;
    if admins == 0 {
        return Err(TeamError::LastOrgAdmin {
            email: changed.to_owned(),
        });
    }
    Ok(())
}

/// What the page behind a link shows before a password is typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkDetails {
    pub purpose: LinkPurpose,
    pub email: String,
    pub organisation: String,
    /// An invitation's role.
    pub role: Option<Role>,
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("this link is not a valid Outreach link; check that it was copied in full")]
    Unknown,
    #[error("this link has expired; ask an Org Admin of {organisation} for a new one")]
    Expired { organisation: String },
    #[error("this link has already been used; it works once")]
    Used,
    #[error("this link was revoked by an Org Admin of {organisation}; ask them for a new one")]
    Revoked { organisation: String },
    /// The invitee signed up elsewhere meanwhile.
    #[error("{email} already has an Outreach account; sign in with it instead")]
    EmailTaken { email: String },
    #[error("the account of {email} is disabled")]
    Disabled { email: String },
    #[error(transparent)]
    Weak(#[from] WeakPassword),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(sqlx::FromRow)]
struct StoredLink {
    organisation_id: OrganisationId,
    organisation: String,
    purpose: String,
    email: String,
    role: Option<String>,
    user_id: Option<UserId>,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
}

async fn load_link(
    conn: &mut DbConnection,
    secret: &LinkSecret,
) -> anyhow::Result<Option<StoredLink>> {
    sqlx::query_as::<_, StoredLink>(
        "SELECT l.organisation_id, o.name AS organisation, l.purpose, l.email, l.role,
                l.user_id, l.expires_at, l.used_at, l.revoked_at
         FROM account_links l JOIN organisations o ON o.id = l.organisation_id
         WHERE l.token_hash = $1",
    )
    .bind(secret.hash())
    .fetch_optional(conn)
    .await
    .context("could not look up the link")
}

/// The link, if it still works; otherwise why not.
async fn find_link(
    conn: &mut DbConnection,
    secret: &LinkSecret,
    now: UnixTime,
) -> Result<StoredLink, LinkError> {
    let link = load_link(conn, secret).await?.ok_or(LinkError::Unknown)?;
    if link.used_at.is_some() {
        Err(LinkError::Used)
    } else if link.revoked_at.is_some() {
        Err(LinkError::Revoked {
            organisation: link.organisation,
        })
    } else if link.expires_at <= now {
        Err(LinkError::Expired {
            organisation: link.organisation,
        })
    } else {
        Ok(link)
    }
}

/// What a link is for, if it still works.
pub async fn inspect_link(
    pool: &Pool,
    secret: &LinkSecret,
    now: UnixTime,
) -> Result<LinkDetails, LinkError> {
    let mut conn = pool.acquire().await.context("no database connection")?;
    let link = find_link(&mut conn, secret, now).await?;
    Ok(LinkDetails {
        purpose: LinkPurpose::from_db(&link.purpose)?,
        email: link.email,
        organisation: link.organisation,
        role: link.role.as_deref().map(Role::from_db).transpose()?,
    })
}

/// Uses a link: an invitation creates the person's account with
/// `password`, a reset replaces their password and ends their other
/// sessions. Either way the person is signed in (ending `previous`, the
/// session the browser presented) and the link never works again.
pub async fn use_link(
    pool: &Pool,
    secret: &LinkSecret,
    password: SecretString,
    user_agent: &str,
    previous: Option<&SessionToken>,
    now: UnixTime,
) -> Result<SessionToken, LinkError> {
    // Checked before the (slow) hashing, so a used or expired link says so
    // at once, whatever the password.
    inspect_link(pool, secret, now).await?;
    check_new_password(&password)?;
    let hash = hash_password(password).await?;

    let mut tx = crate::db::begin_write(pool)
        .await
        .context("could not start a transaction")?;
    // Marked used first: of two tabs using the link at once, one wins (and
    // on SQLite, a transaction that writes first waits for the lock).
    let marked = sqlx::query(
        "UPDATE account_links SET used_at = $1
         WHERE token_hash = $2 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(secret.hash())
    .execute(&mut *tx)
    .await
    .context("could not mark the link used")?;
    if marked.rows_affected() == 0 {
        // Say why not, as things are now.
        drop(tx);
        let mut conn = pool.acquire().await.context("no database connection")?;
        find_link(&mut conn, secret, now).await?;
        return Err(LinkError::Used);
    }
    let link = load_link(&mut tx, secret)
        .await?
        .context("a link marked used has gone")?;
    let (user, action) = match LinkPurpose::from_db(&link.purpose)? {
        LinkPurpose::Invitation => {
            let role = Role::from_db(link.role.as_deref().unwrap_or_default())?;
            let Some(user) =
                users::insert_hashed(&mut tx, link.organisation_id, &link.email, role, &hash, now)
                    .await?
            else {
                return Err(LinkError::EmailTaken { email: link.email });
            };
            (
                user,
                format!("Accepted the invitation and joined as {}", role.label()),
            )
        }
        LinkPurpose::PasswordReset => {
            let user = link.user_id.context("a password reset link names nobody")?;
            if !users::set_password_hash_unless_disabled(&mut tx, user, &hash).await? {
                return Err(LinkError::Disabled { email: link.email });
            }
            sessions::end_all(&mut tx, user).await?;
            (
                user,
                "Set a new password with a password reset link".to_owned(),
            )
        }
    };
    let token = open_session(&mut tx, user, previous, user_agent, now).await?;
    audit::record(
        &mut tx,
        link.organisation_id,
        Topic::Team,
        &link.email,
        &action,
        now,
    )
    .await?;
    tx.commit().await.context("could not commit")?;
    tracing::info!(organisation_id = %link.organisation_id, user_id = %user, purpose = link.purpose, "used a one-time link");
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        account,
        db::testing::{ScratchDatabase, fresh_database},
        organisations::{OrganisationName, insert_organisation},
        sign_in::{self, fetch_session_user},
        users::insert_user,
    };

    const PASSWORD: &str = "a long enough password";
    const NEW_PASSWORD: &str = "another long enough one";
    const IDLE: i64 = 24 * 60 * 60;
    const NOW: UnixTime = 1_000_000;

    struct World {
        pool: Pool,
        acme: OrganisationId,
        alice: SignedInUser,
        _db: ScratchDatabase,
    }

    async fn person(
        pool: &Pool,
        organisation: OrganisationId,
        email: &str,
        role: Role,
    ) -> SignedInUser {
        let parsed = EmailAddress::parse(email).unwrap();
        let user_id = insert_user(pool, organisation, &parsed, role, PASSWORD.into(), 0)
            .await
            .unwrap();
        SignedInUser {
            user_id,
            organisation_id: organisation,
            email: email.to_owned(),
            role,
            time_zone: "UTC".to_owned(),
        }
    }

    /// Acme, with alice its only Org Admin.
    async fn world() -> World {
        let (pool, db) = fresh_database().await;
        let acme = insert_organisation(&pool, &OrganisationName::parse("Acme").unwrap(), true, 0)
            .await
            .unwrap()
            .id;
        let alice = person(&pool, acme, "alice@acme.test", Role::OrgAdmin).await;
        World {
            pool,
            acme,
            alice,
            _db: db,
        }
    }

    async fn signed_in(pool: &Pool, email: &str, password: &str) -> Option<SessionToken> {
        sign_in::sign_in(pool, email, password.into(), "192.0.2.1", None, NOW)
            .await
            .ok()
    }

    async fn is_signed_in(pool: &Pool, token: &SessionToken) -> bool {
        fetch_session_user(pool, token, IDLE, NOW + 1)
            .await
            .unwrap()
            .is_some()
    }

    async fn team_log(pool: &Pool, organisation: OrganisationId) -> Vec<String> {
        audit::fetch(pool, organisation, Some(Topic::Team), None, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| format!("{}: {}", e.actor, e.action))
            .collect()
    }

    #[tokio::test]
    async fn the_only_active_org_admin_cannot_be_demoted_disabled_or_removed() {
        let w = world().await;
        let me = Actor::from(&w.alice);
        let alice = w.alice.user_id;

        let demoted = change_role(&w.pool, me, alice, Role::Campaigner, NOW).await;
        let disabled = set_disabled(&w.pool, me, alice, true, NOW).await;
        let removed = remove(&w.pool, me, alice, NOW).await;

        for outcome in [demoted, disabled, removed] {
            assert!(
                matches!(outcome, Err(TeamError::LastOrgAdmin { ref email }) if email == "alice@acme.test"),
                "{outcome:?}"
            );
        }
        let team = fetch_team(&w.pool, w.acme).await.unwrap();
        assert_eq!(team.members.len(), 1);
        assert_eq!(team.members[0].role, Role::OrgAdmin);
        assert!(!team.members[0].disabled);
        assert!(team_log(&w.pool, w.acme).await.is_empty());
    }

    #[tokio::test]
    async fn with_a_second_org_admin_one_may_step_down_and_then_the_other_is_the_last() {
        let w = world().await;
        let bob = person(&w.pool, w.acme, "bob@acme.test", Role::OrgAdmin).await;
        let carol = person(&w.pool, w.acme, "carol@acme.test", Role::Campaigner).await;

        change_role(
            &w.pool,
            (&w.alice).into(),
            w.alice.user_id,
            Role::Campaigner,
            NOW,
        )
        .await
        .unwrap();
        // A disabled Org Admin does not count.
        let by_bob = Actor::from(&bob);
        set_disabled(&w.pool, by_bob, carol.user_id, true, NOW)
            .await
            .unwrap();
        let refused = set_disabled(&w.pool, by_bob, bob.user_id, true, NOW).await;

        assert!(matches!(refused, Err(TeamError::LastOrgAdmin { .. })));
        assert_eq!(
            team_log(&w.pool, w.acme).await,
            [
                "bob@acme.test: Disabled carol@acme.test (0 sessions ended)",
                "alice@acme.test: Changed the role of alice@acme.test from Org Admin to Campaigner",
            ]
        );
    }

    #[tokio::test]
    async fn an_invitation_link_works_once_and_signs_the_new_person_in() {
        let w = world().await;
        let email = EmailAddress::parse("dan@acme.test").unwrap();
        let link = invite(&w.pool, (&w.alice).into(), &email, Role::Campaigner, NOW)
            .await
            .unwrap();
        assert_eq!(link.expires_at, NOW + 7 * 24 * 60 * 60);

        let details = inspect_link(&w.pool, &link.secret, NOW + 10).await.unwrap();
        let token = use_link(
            &w.pool,
            &link.secret,
            NEW_PASSWORD.into(),
            "Firefox",
            None,
            NOW + 20,
        )
        .await
        .unwrap();
        let again = use_link(
            &w.pool,
            &link.secret,
            NEW_PASSWORD.into(),
            "",
            None,
            NOW + 30,
        )
        .await;

        assert_eq!(details.email, "dan@acme.test");
        assert_eq!(details.organisation, "Acme");
        assert_eq!(details.role, Some(Role::Campaigner));
        let user = fetch_session_user(&w.pool, &token, IDLE, NOW + 21)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (user.email.as_str(), user.role),
            ("dan@acme.test", Role::Campaigner)
        );
        assert_eq!(user.organisation_id, w.acme);
        assert!(matches!(again, Err(LinkError::Used)));
        assert!(
            signed_in(&w.pool, "dan@acme.test", NEW_PASSWORD)
                .await
                .is_some()
        );
        let team = fetch_team(&w.pool, w.acme).await.unwrap();
        assert!(team.invitations.is_empty());
        assert_eq!(team.members.len(), 2);
        assert_eq!(
            team_log(&w.pool, w.acme).await,
            [
                "dan@acme.test: Accepted the invitation and joined as Campaigner",
                "alice@acme.test: Invited dan@acme.test as Campaigner",
            ]
        );
    }

    #[tokio::test]
    async fn expired_revoked_replaced_and_unknown_links_do_not_work() {
        let w = world().await;
        let me = Actor::from(&w.alice);
        let dan = EmailAddress::parse("dan@acme.test").unwrap();
        let erin = EmailAddress::parse("erin@acme.test").unwrap();
        let expiring = invite(&w.pool, me, &erin, Role::Campaigner, NOW)
            .await
            .unwrap();
        let first = invite(&w.pool, me, &dan, Role::Campaigner, NOW)
            .await
            .unwrap();
        let second = invite(&w.pool, me, &dan, Role::OrgAdmin, NOW)
            .await
            .unwrap();
        let team = fetch_team(&w.pool, w.acme).await.unwrap();
        let second_id = team
            .invitations
            .iter()
            .find(|i| i.email == "dan@acme.test")
            .unwrap()
            .link
            .id;
        revoke_link(&w.pool, me, second_id, NOW).await.unwrap();

        let later = NOW + LINK_VALID_SECS;
        let expired = use_link(
            &w.pool,
            &expiring.secret,
            NEW_PASSWORD.into(),
            "",
            None,
            later,
        )
        .await;
        let replaced = use_link(
            &w.pool,
            &first.secret,
            NEW_PASSWORD.into(),
            "",
            None,
            NOW + 1,
        )
        .await;
        let revoked = use_link(
            &w.pool,
            &second.secret,
            NEW_PASSWORD.into(),
            "",
            None,
            NOW + 1,
        )
        .await;
        let unknown = inspect_link(&w.pool, &LinkSecret::from_url_part("made-up"), NOW).await;

        assert!(
            matches!(expired, Err(LinkError::Expired { .. })),
            "{expired:?}"
        );
        assert!(
            matches!(replaced, Err(LinkError::Revoked { .. })),
            "{replaced:?}"
        );
        assert!(
            matches!(revoked, Err(LinkError::Revoked { .. })),
            "{revoked:?}"
        );
        assert!(matches!(unknown, Err(LinkError::Unknown)));
        assert_eq!(fetch_team(&w.pool, w.acme).await.unwrap().members.len(), 1);
        // Still listed, as expired, until revoked.
        let team = fetch_team(&w.pool, w.acme).await.unwrap();
        assert_eq!(team.invitations.len(), 1);
        assert!(team.invitations[0].link.has_expired(later));
    }

    #[tokio::test]
    async fn a_weak_password_leaves_the_link_usable() {
        let w = world().await;
        let email = EmailAddress::parse("dan@acme.test").unwrap();
        let link = invite(&w.pool, (&w.alice).into(), &email, Role::Campaigner, NOW)
            .await
            .unwrap();

        let weak = use_link(&w.pool, &link.secret, "Password2024!".into(), "", None, NOW).await;
        let fine = use_link(&w.pool, &link.secret, NEW_PASSWORD.into(), "", None, NOW).await;

        assert!(
            matches!(weak, Err(LinkError::Weak(WeakPassword::Common))),
            "{weak:?}"
        );
        assert!(fine.is_ok());
    }

    #[tokio::test]
    async fn members_and_emails_of_other_organisations_are_out_of_reach() {
        let w = world().await;
        let globex = insert_organisation(
            &w.pool,
            &OrganisationName::parse("Globex").unwrap(),
            true,
            0,
        )
        .await
        .unwrap()
        .id;
        let mallory = person(&w.pool, globex, "mallory@globex.test", Role::OrgAdmin).await;
        let by_mallory = Actor::from(&mallory);
        let dan = EmailAddress::parse("dan@acme.test").unwrap();
        invite(&w.pool, (&w.alice).into(), &dan, Role::Campaigner, NOW)
            .await
            .unwrap();
        let acme_link = fetch_team(&w.pool, w.acme).await.unwrap().invitations[0]
            .link
            .id;
        let alice = w.alice.user_id;

        let outcomes = [
            change_role(&w.pool, by_mallory, alice, Role::Campaigner, NOW).await,
            set_disabled(&w.pool, by_mallory, alice, true, NOW).await,
            remove(&w.pool, by_mallory, alice, NOW).await,
            create_password_reset(&w.pool, by_mallory, alice, NOW)
                .await
                .map(|_| ()),
        ];
        let revoked = revoke_link(&w.pool, by_mallory, acme_link, NOW).await;
        let alice_email = EmailAddress::parse("alice@acme.test").unwrap();
        let taken = invite(&w.pool, by_mallory, &alice_email, Role::OrgAdmin, NOW).await;
        let member = invite(
            &w.pool,
            (&w.alice).into(),
            &alice_email,
            Role::OrgAdmin,
            NOW,
        )
        .await;

        for outcome in outcomes {
            assert!(
                matches!(outcome, Err(TeamError::NoSuchPerson)),
                "{outcome:?}"
            );
        }
        assert!(matches!(revoked, Err(TeamError::NoSuchLink)), "{revoked:?}");
        assert!(
            matches!(taken, Err(TeamError::EmailTaken { .. })),
            "{taken:?}"
        );
        assert!(
            matches!(member, Err(TeamError::AlreadyMember { .. })),
            "{member:?}"
        );
        let team = fetch_team(&w.pool, w.acme).await.unwrap();
        assert_eq!(team.invitations.len(), 1);
        assert_eq!(team.members[0].role, Role::OrgAdmin);
        assert!(
            fetch_team(&w.pool, globex)
                .await
                .unwrap()
                .invitations
                .is_empty()
        );
    }

    #[tokio::test]
    async fn disabling_someone_ends_their_sessions_and_revokes_their_reset_link() {
        let w = world().await;
        let carol = person(&w.pool, w.acme, "carol@acme.test", Role::Campaigner).await;
        let session = signed_in(&w.pool, "carol@acme.test", PASSWORD)
            .await
            .unwrap();
        let reset = create_password_reset(&w.pool, (&w.alice).into(), carol.user_id, NOW)
            .await
            .unwrap();

        set_disabled(&w.pool, (&w.alice).into(), carol.user_id, true, NOW)
            .await
            .unwrap();

        assert!(!is_signed_in(&w.pool, &session).await);
        assert!(
            signed_in(&w.pool, "carol@acme.test", PASSWORD)
                .await
                .is_none()
        );
        let used = use_link(&w.pool, &reset.secret, NEW_PASSWORD.into(), "", None, NOW).await;
        assert!(matches!(used, Err(LinkError::Revoked { .. })), "{used:?}");

        set_disabled(&w.pool, (&w.alice).into(), carol.user_id, false, NOW)
            .await
            .unwrap();
        assert!(
            signed_in(&w.pool, "carol@acme.test", PASSWORD)
                .await
                .is_some()
        );
    }

    #[tokio::test]
    async fn a_reset_link_replaces_the_password_and_ends_every_other_session() {
        let w = world().await;
        let carol = person(&w.pool, w.acme, "carol@acme.test", Role::Campaigner).await;
        let old_session = signed_in(&w.pool, "carol@acme.test", PASSWORD)
            .await
            .unwrap();
        let reset = create_password_reset(&w.pool, (&w.alice).into(), carol.user_id, NOW)
            .await
            .unwrap();

        let new_session = use_link(&w.pool, &reset.secret, NEW_PASSWORD.into(), "", None, NOW)
            .await
            .unwrap();

        assert!(!is_signed_in(&w.pool, &old_session).await);
        assert!(is_signed_in(&w.pool, &new_session).await);
        assert!(
            signed_in(&w.pool, "carol@acme.test", PASSWORD)
                .await
                .is_none()
        );
        assert!(
            signed_in(&w.pool, "carol@acme.test", NEW_PASSWORD)
                .await
                .is_some()
        );
    }

    #[tokio::test]
    async fn a_removed_persons_sessions_end_and_their_email_can_be_invited_again() {
        let w = world().await;
        let carol = person(&w.pool, w.acme, "carol@acme.test", Role::Campaigner).await;
        let session = signed_in(&w.pool, "carol@acme.test", PASSWORD)
            .await
            .unwrap();

        remove(&w.pool, (&w.alice).into(), carol.user_id, NOW)
            .await
            .unwrap();

        assert!(!is_signed_in(&w.pool, &session).await);
        let email = EmailAddress::parse("carol@acme.test").unwrap();
        assert!(
            invite(&w.pool, (&w.alice).into(), &email, Role::Campaigner, NOW)
                .await
                .is_ok()
        );
        assert_eq!(
            team_log(&w.pool, w.acme).await[1],
            "alice@acme.test: Removed carol@acme.test (Campaigner)"
        );
    }

    #[tokio::test]
    async fn changing_ones_password_needs_the_current_one_and_ends_the_other_sessions() {
        let w = world().await;
        let here = signed_in(&w.pool, "alice@acme.test", PASSWORD)
            .await
            .unwrap();
        let elsewhere = signed_in(&w.pool, "alice@acme.test", PASSWORD)
            .await
            .unwrap();

        let wrong = account::change_password(
            &w.pool,
            &w.alice,
            "not the password".into(),
            NEW_PASSWORD.into(),
            &here,
            "192.0.2.1",
            NOW,
        )
        .await;
        assert!(matches!(
            wrong,
            Err(account::ChangePasswordError::WrongCurrentPassword)
        ));
        assert!(is_signed_in(&w.pool, &elsewhere).await);

        let ended = account::change_password(
            &w.pool,
            &w.alice,
            PASSWORD.into(),
            NEW_PASSWORD.into(),
            &here,
            "192.0.2.1",
            NOW,
        )
        .await
        .unwrap();

        assert_eq!(ended, 1);
        assert!(is_signed_in(&w.pool, &here).await);
        assert!(!is_signed_in(&w.pool, &elsewhere).await);
        assert!(
            signed_in(&w.pool, "alice@acme.test", NEW_PASSWORD)
                .await
                .is_some()
        );
        assert_eq!(
            team_log(&w.pool, w.acme).await,
            ["alice@acme.test: Changed their password (1 other session ended)"]
        );
    }

    #[tokio::test]
    async fn people_see_their_own_sessions_and_end_only_their_own() {
        let w = world().await;
        let bob = person(&w.pool, w.acme, "bob@acme.test", Role::Campaigner).await;
        let here = signed_in(&w.pool, "alice@acme.test", PASSWORD)
            .await
            .unwrap();
        let elsewhere = signed_in(&w.pool, "alice@acme.test", PASSWORD)
            .await
            .unwrap();
        let bobs = signed_in(&w.pool, "bob@acme.test", PASSWORD).await.unwrap();
        let bobs_id = account::list_sessions(&w.pool, &bob, &bobs, IDLE, NOW)
            .await
            .unwrap()[0]
            .id
            .clone();

        let sessions = account::list_sessions(&w.pool, &w.alice, &here, IDLE, NOW)
            .await
            .unwrap();
        let other = sessions.iter().find(|s| !s.current).unwrap();

        assert_eq!(sessions.len(), 2);
        assert_eq!(sessions.iter().filter(|s| s.current).count(), 1);
        assert!(
            !account::end_session(&w.pool, &w.alice, &bobs_id)
                .await
                .unwrap()
        );
        assert!(is_signed_in(&w.pool, &bobs).await);
        assert!(
            account::end_session(&w.pool, &w.alice, &other.id)
                .await
                .unwrap()
        );
        assert!(!is_signed_in(&w.pool, &elsewhere).await);
        assert!(is_signed_in(&w.pool, &here).await);
    }
}
