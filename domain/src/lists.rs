//! Named lists of an organisation's contacts, for campaigns' audiences.
//! The one module that writes `contact_lists` and `list_members`. A list
//! holds contacts, not numbers: deleting a contact takes it off every
//! list, and deleting a list leaves its contacts.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use sqlx::FromRow;

use crate::{
    clock::UnixTime,
    contacts::{FIRST_NAME, LAST_NAME},
    db::{Backend, InTurn, Pool, is_unique_violation},
    ids::OrganisationId,
};

pub const MAX_LIST_NAME_CHARS: usize = 100;

/// A list's name: trimmed, 1 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListNameError {
    #[error("Give the list a name.")]
    Empty,
    #[error("A list's name can be at most {MAX_LIST_NAME_CHARS} characters.")]
    TooLong,
}

impl ListName {
    pub fn parse(raw: &str) -> Result<Self, ListNameError> {
        let name = raw.trim();
        if name.is_empty() {
            Err(ListNameError::Empty)
        } else if name.chars().count() > MAX_LIST_NAME_CHARS {
            Err(ListNameError::TooLong)
        } else {
            Ok(Self(name.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("There is no such list.")]
    NotFound,
    #[error("A list named \"{0}\" exists already: choose another name.")]
    NameTaken(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ListSummary {
    pub id: i64,
    pub name: String,
    pub members: i64,
    pub created_at: UnixTime,
}

const LIST_COLUMNS: &str = "l.id, l.name,
     (SELECT COUNT(*) FROM list_members m WHERE m.list_id = l.id) AS members, l.created_at";

/// The organisation's lists by name, with their member counts.
pub async fn all(pool: &Pool, organisation: OrganisationId) -> anyhow::Result<Vec<ListSummary>> {
    sqlx::query_as::<_, ListSummary>(&format!(
        "SELECT {LIST_COLUMNS} FROM contact_lists l WHERE l.organisation_id = $1
         ORDER BY l.name, l.id"
    ))
    .bind(organisation)
    .fetch_all(pool)
    .await
    .context("could not read the lists")
}

/// The organisation's list, if it has one with this id.
pub async fn find(
    pool: &Pool,
    organisation: OrganisationId,
    id: i64,
) -> anyhow::Result<Option<ListSummary>> {
    sqlx::query_as::<_, ListSummary>(&format!(
        "SELECT {LIST_COLUMNS} FROM contact_lists l WHERE l.id = $1 AND l.organisation_id = $2"
    ))
    .bind(id)
    .bind(organisation)
    .fetch_optional(pool)
    .await
    .context("could not read the list")
}

/// Whether the organisation has this list: a look-up without counting
/// its members, for changes to them.
pub async fn exists(pool: &Pool, organisation: OrganisationId, id: i64) -> anyhow::Result<bool> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT id FROM contact_lists WHERE id = $1 AND organisation_id = $2",
    )
    .bind(id)
    .bind(organisation)
    .fetch_optional(pool)
    .await
    .context("could not read the list")?
    .is_some())
}

pub async fn create(
    pool: &Pool,
    organisation: OrganisationId,
    name: &ListName,
    now: UnixTime,
) -> Result<i64, ListError> {
    sqlx::query_scalar::<_, i64>(
        "INSERT INTO contact_lists (organisation_id, name, created_at) VALUES ($1, $2, $3)
         RETURNING id",
    )
    .bind(organisation)
    .bind(name.as_str())
    .bind(now)
    .fetch_one(pool)
    .in_turn(pool)
    .await
    .map_err(|e| name_error(e, name))
}

fn name_error(error: sqlx::Error, name: &ListName) -> ListError {
    if is_unique_violation(&error) {
        ListError::NameTaken(name.as_str().to_owned())
    } else {
        ListError::Internal(anyhow::Error::new(error).context("could not save the list"))
    }
}

pub async fn rename(
    pool: &Pool,
    organisation: OrganisationId,
    id: i64,
    name: &ListName,
) -> Result<(), ListError> {
    let renamed =
        sqlx::query("UPDATE contact_lists SET name = $1 WHERE id = $2 AND organisation_id = $3")
            .bind(name.as_str())
            .bind(id)
            .bind(organisation)
            .execute(pool)
            .in_turn(pool)
            .await
            .map_err(|e| name_error(e, name))?;
    if renamed.rows_affected() == 0 {
        return Err(ListError::NotFound);
    }
    Ok(())
}

/// Rows written or removed per transaction when a list gains or loses many
/// members: a million-member list never holds SQLite's write lock for
/// more than milliseconds at a time, so other organisations' saves and
/// sending go in between (100,000 members in one transaction held it
/// about 340 ms; BENCHMARKS.md).
const MEMBERS_PER_TRANSACTION: usize = 5_000;

/// Deletes the list; its contacts stay. Its members go first, a
/// transaction at a time, then the list.
pub async fn delete(pool: &Pool, organisation: OrganisationId, id: i64) -> Result<(), ListError> {
    if !exists(pool, organisation, id).await? {
        return Err(ListError::NotFound);
    }
    loop {
        let mut tx = crate::db::begin_write(pool)
            .await
            .context("could not start a transaction")?;
        let removed = sqlx::query(
            "DELETE FROM list_members WHERE list_id = $1 AND contact_id IN
                 (SELECT contact_id FROM list_members WHERE list_id = $1 LIMIT $2)",
        )
        .bind(id)
        .bind(MEMBERS_PER_TRANSACTION as i64)
        .execute(&mut *tx)
        .await
        .context("could not remove the list's members")?
        .rows_affected();
        tx.commit()
            .await
            .context("could not commit the removed members")?;
        if removed == 0 {
            break;
        }
    }
    let deleted = sqlx::query("DELETE FROM contact_lists WHERE id = $1 AND organisation_id = $2")
        .bind(id)
        .bind(organisation)
        .execute(pool)
        .in_turn(pool)
        .await
        .context("could not delete the list")?;
    if deleted.rows_affected() == 0 {
        return Err(ListError::NotFound);
    }
    Ok(())
}

/// Numbers per statement when adding members.
const MEMBERS_PER_INSERT: usize = 500;

/// Adds the organisation's contacts with these numbers to its list (those
/// on it already stay once). Returns how many joined.
pub async fn add_members(
    pool: &Pool,
    organisation: OrganisationId,
    id: i64,
    phones: &[String],
) -> Result<u64, ListError> {
    if !exists(pool, organisation, id).await? {
        return Err(ListError::NotFound);
    }
    let conflict = match Backend::of(pool) {
        Backend::Sqlite => "INSERT OR IGNORE INTO list_members (list_id, contact_id)",
        Backend::Postgres => "INSERT INTO list_members (list_id, contact_id)",
    };
    let tail = match Backend::of(pool) {
        Backend::Sqlite => "",
        Backend::Postgres => " ON CONFLICT DO NOTHING",
    };
    let mut added = 0;
    // A failure part-way keeps the members added before it; adding again
    // adds the rest.
    for batch in phones.chunks(MEMBERS_PER_TRANSACTION) {
        let mut tx = crate::db::begin_write(pool)
            .await
            .context("could not start a transaction")?;
        for chunk in batch.chunks(MEMBERS_PER_INSERT) {
            let sql = format!(
                "{conflict} SELECT $1, id FROM contacts WHERE organisation_id = $2 AND phone IN ({}){tail}",
                crate::db::placeholder_list(3, chunk.len())
            );
            let mut insert = sqlx::query(&sql).bind(id).bind(organisation);
            for phone in chunk {
                insert = insert.bind(phone);
            }
            added += insert
                .execute(&mut *tx)
                .await
                .context("could not add the list's members")?
                .rows_affected();
        }
        tx.commit()
            .await
            .context("could not commit the list's members")?;
    }
    Ok(added)
}

/// Takes the contact with this number off the list; returns whether it
/// was on it.
pub async fn remove_member(
    pool: &Pool,
    organisation: OrganisationId,
    id: i64,
    phone: &str,
) -> Result<bool, ListError> {
    if !exists(pool, organisation, id).await? {
        return Err(ListError::NotFound);
    }
    Ok(sqlx::query(
        "DELETE FROM list_members WHERE list_id = $1 AND contact_id IN
             (SELECT id FROM contacts WHERE organisation_id = $2 AND phone = $3)",
    )
    .bind(id)
    .bind(organisation)
    .bind(phone)
    .execute(pool)
    .in_turn(pool)
    .await
    .context("could not remove the member")?
    .rows_affected()
        == 1)
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Member {
    pub phone: String,
    pub first_name: String,
    pub last_name: String,
    pub fields: String,
}

/// The lists the organisation's contact with this number is on, by name.
pub async fn of_contact(
    pool: &Pool,
    organisation: OrganisationId,
    phone: &str,
) -> anyhow::Result<Vec<(i64, String)>> {
    sqlx::query_as::<_, (i64, String)>(
        "SELECT l.id, l.name FROM contact_lists l
         JOIN list_members m ON m.list_id = l.id
         JOIN contacts c ON c.id = m.contact_id
         WHERE l.organisation_id = $1 AND c.organisation_id = $1 AND c.phone = $2
         ORDER BY l.name",
    )
    .bind(organisation)
    .bind(phone)
    .fetch_all(pool)
    .await
    .context("could not read the contact's lists")
}

/// Up to `limit` of the list's members in number order, after `after`.
pub async fn members(
    pool: &Pool,
    organisation: OrganisationId,
    id: i64,
    after: Option<&str>,
    limit: i64,
) -> anyhow::Result<Vec<Member>> {
    sqlx::query_as::<_, Member>(
        "SELECT c.phone, c.first_name, c.last_name, c.fields
         FROM list_members m JOIN contacts c ON c.id = m.contact_id
         JOIN contact_lists l ON l.id = m.list_id
         WHERE m.list_id = $1 AND l.organisation_id = $2 AND c.phone > $3
         ORDER BY c.phone LIMIT $4",
    )
    .bind(id)
    .bind(organisation)
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("could not read the list's members")
}

/// The members of the organisation's lists `ids`, each contact once, as an
/// audience CSV (phone, names, fields) for the campaign wizard, which
/// checks it like any audience. Lists that are not the organisation's
/// give nobody.
pub async fn audience_csv(
    pool: &Pool,
    organisation: OrganisationId,
    ids: &[i64],
) -> anyhow::Result<(String, usize)> {
    if ids.is_empty() {
        return Ok((String::new(), 0));
    }
    let sql = format!(
        "SELECT c.phone, c.first_name, c.last_name, c.fields FROM contacts c
         WHERE c.organisation_id = $1 AND c.id IN
             (SELECT m.contact_id FROM list_members m JOIN contact_lists l ON l.id = m.list_id
              WHERE l.organisation_id = $1 AND m.list_id IN ({}))
         ORDER BY c.phone",
        crate::db::placeholder_list(2, ids.len())
    );
    let mut query = sqlx::query_as::<_, Member>(&sql).bind(organisation);
    for id in ids {
        query = query.bind(id);
    }
    let members = query
        .fetch_all(pool)
        .await
        .context("could not read the lists' members")?;
    let count = members.len();
    let rows = members.into_iter().map(|member| {
        let mut fields: BTreeMap<String, String> =
            serde_json::from_str(&member.fields).unwrap_or_default();
        fields.insert(FIRST_NAME.to_owned(), member.first_name);
        fields.insert(LAST_NAME.to_owned(), member.last_name);
        (member.phone, fields)
    });
    Ok((audience_csv_of(rows.collect())?, count))
}

/// The members of the organisation's campaign's audience as an audience
/// CSV, to save as a list; `None` when it is not the organisation's.
pub async fn campaign_audience_csv(
    pool: &Pool,
    organisation: OrganisationId,
    campaign: crate::ids::CampaignId,
) -> anyhow::Result<Option<String>> {
    let audience = sqlx::query_scalar::<_, Option<crate::ids::AudienceId>>(
        "SELECT audience_id FROM campaigns WHERE id = $1 AND organisation_id = $2",
    )
    .bind(campaign)
    .bind(organisation)
    .fetch_optional(pool)
    .await
    .context("could not read the campaign")?;
    let Some(audience) = audience else {
        return Ok(None);
    };
    let recipients = match audience {
        Some(audience) => crate::campaigns::audiences::read_recipients(pool, audience).await?,
        None => Vec::new(),
    };
    let rows = recipients
        .into_iter()
        .map(|(phone, fields)| (phone, serde_json::from_str(&fields).unwrap_or_default()));
    Ok(Some(audience_csv_of(rows.collect())?))
}

/// Rows of (phone, fields) as a CSV: phone, then every field any row has.
fn audience_csv_of(rows: Vec<(String, BTreeMap<String, String>)>) -> anyhow::Result<String> {
    let columns: BTreeSet<&String> = rows.iter().flat_map(|(_, fields)| fields.keys()).collect();
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = std::iter::once("phone").chain(columns.iter().map(|c| c.as_str()));
    writer.write_record(header).context("csv")?;
    for (phone, fields) in &rows {
        let record = std::iter::once(phone.as_str()).chain(
            columns
                .iter()
                .map(|c| fields.get(*c).map_or("", String::as_str)),
        );
        writer.write_record(record).context("csv")?;
    }
    String::from_utf8(writer.into_inner().context("csv")?).context("csv")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_names_are_trimmed_and_bounded() {
        assert_eq!(
            ListName::parse("  Volunteers ").unwrap().as_str(),
            "Volunteers"
        );
        assert_eq!(ListName::parse(" "), Err(ListNameError::Empty));
        assert_eq!(
            ListName::parse(&"x".repeat(101)),
            Err(ListNameError::TooLong)
        );
    }
}
