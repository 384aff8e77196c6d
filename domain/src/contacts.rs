//! An organisation's contacts: one per phone number (E.164), with first and
//! last names and any other columns of the files they came from, as
//! fields usable as placeholders. The one module that writes `contacts`.
//! Pages are read by number order from where the last one ended (a seek,
//! not an offset), so the millionth contact costs what the first does.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use futures_util::Stream;
use sqlx::FromRow;

use crate::{
    campaigns::audience::Audience,
    clock::UnixTime,
    db::{Backend, InTurn, Pool},
    ids::OrganisationId,
    spreadsheet::{csv_in_parts, safe_cell},
};

/// The columns that are a contact's names rather than fields.
pub const FIRST_NAME: &str = "first_name";
pub const LAST_NAME: &str = "last_name";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub phone: String,
    pub first_name: String,
    pub last_name: String,
    /// Other columns, as a JSON object of strings.
    pub fields: String,
    /// The number is on the organisation's opt-out list.
    pub opted_out: bool,
}

#[derive(FromRow)]
struct ContactRow {
    phone: String,
    first_name: String,
    last_name: String,
    fields: String,
    opted_out: i64,
}

impl From<ContactRow> for Contact {
    fn from(row: ContactRow) -> Self {
        Self {
            phone: row.phone,
            first_name: row.first_name,
            last_name: row.last_name,
            fields: row.fields,
            opted_out: row.opted_out == 1,
        }
    }
}

impl Contact {
    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_owned()
    }

    pub fn fields(&self) -> BTreeMap<String, String> {
        serde_json::from_str(&self.fields).unwrap_or_default()
    }
}

/// What a search typed on the Contacts page looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    All,
    /// Numbers containing these digits.
    Number(String),
    /// Names containing this text, in any case.
    Name(String),
}

impl Search {
    /// Digits (with spaces, `+`, dashes or brackets) search numbers;
    /// anything with a letter searches names.
    pub fn parse(typed: &str) -> Self {
        let typed = typed.trim();
        if typed.is_empty() {
            Self::All
        } else if typed.chars().any(char::is_alphabetic) {
            Self::Name(typed.to_lowercase())
        } else {
            let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
            if digits.is_empty() {
                Self::All
            } else {
                Self::Number(digits)
            }
        }
    }

    /// Where the organisation's contacts matching the search are read
    /// from (`c` the contact), the condition on them, and what `$n` is
    /// bound to, if anything.
    fn filter(&self, backend: Backend, organisation: OrganisationId, n: usize) -> Filter {
        let pattern = |text: &str| {
            let escaped = text
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        };
        let scan = |condition: String, bound: Option<String>| Filter {
            from: "contacts c".to_owned(),
            condition,
            bound,
        };
        match self {
            Self::All => scan(String::new(), None),
            Self::Number(digits) => scan(
                format!(" AND c.phone LIKE ${n} ESCAPE '\\'"),
                Some(pattern(digits)),
            ),
            // SQLite reads the contacts whose names contain the text from
            // their names' index (the contacts_found_by_name migration).
            // It indexes sequences of three characters: shorter text
            // scans, and finds many contacts soon.
            Self::Name(name) if backend == Backend::Sqlite && name.chars().count() >= 3 => Filter {
                from: format!("contacts_by_name(${n}) s CROSS JOIN contacts c ON c.id = s.rowid"),
                condition: String::new(),
                bound: Some(format!(
                    "organisation : \"~{organisation}~\" AND name : \"{}\"",
                    name.replace('"', "\"\"")
                )),
            },
            // PostgreSQL finds them with its trigram index of the same
            // expression (pg_trgm).
            Self::Name(name) => scan(
                format!(" AND LOWER(c.first_name || ' ' || c.last_name) LIKE ${n} ESCAPE '\\'"),
                Some(pattern(name)),
            ),
        }
    }
}

/// A search as SQL: see `Search::filter`.
struct Filter {
    from: String,
    condition: String,
    bound: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactsPage {
    pub contacts: Vec<Contact>,
    /// Contacts matching the search, counted for the first page only: a
    /// count of a million contacts costs more than reading a page.
    pub total: Option<i64>,
    /// Where the next page starts, when there is one.
    pub next_after: Option<String>,
}

const CONTACT_COLUMNS: &str = "c.phone, c.first_name, c.last_name, c.fields,
     CAST(CASE WHEN EXISTS (SELECT 1 FROM opt_outs o WHERE o.organisation_id = c.organisation_id
                            AND o.phone = c.phone) THEN 1 ELSE 0 END AS BIGINT) AS opted_out";

/// Up to `limit` of the organisation's contacts matching `search`, in number
/// order, after the number `after` (from the start when `None`).
pub async fn page(
    pool: &Pool,
    organisation: OrganisationId,
    search: &Search,
    after: Option<&str>,
    limit: i64,
) -> anyhow::Result<ContactsPage> {
    let backend = Backend::of(pool);
    let total = match after {
        Some(_) => None,
        None => {
            let filter = search.filter(backend, organisation, 2);
            let count_sql = count_sql(&filter);
            let mut count = sqlx::query_scalar::<_, i64>(&count_sql).bind(organisation);
            if let Some(bound) = filter.bound {
                count = count.bind(bound);
            }
            Some(
                count
                    .fetch_one(pool)
                    .await
                    .context("could not count contacts")?,
            )
        }
    };
    let filter = search.filter(backend, organisation, 3);
    let sql = page_sql(&filter, limit + 1);
    let mut query = sqlx::query_as::<_, ContactRow>(&sql)
        .bind(organisation)
        .bind(after.unwrap_or(""));
    if let Some(bound) = filter.bound {
        query = query.bind(bound);
    }
    let mut contacts: Vec<Contact> = query
        .fetch_all(pool)
        .await
        .context("could not list contacts")?
        .into_iter()
        .map(Contact::from)
        .collect();
    let next_after = if contacts.len() as i64 > limit {
        contacts.truncate(limit as usize);
        contacts.last().map(|c| c.phone.clone())
    } else {
        None
    };
    Ok(ContactsPage {
        contacts,
        total,
        next_after,
    })
}

/// The organisation's (`$1`) contacts matching the filter, counted.
fn count_sql(filter: &Filter) -> String {
    format!(
        "SELECT COUNT(*) FROM {} WHERE c.organisation_id = $1{}",
        filter.from, filter.condition
    )
}

/// Up to `rows` of the organisation's (`$1`) contacts matching the filter
/// after the number `$2`, in number order.
fn page_sql(filter: &Filter, rows: i64) -> String {
    format!(
        "SELECT {CONTACT_COLUMNS} FROM {}
         WHERE c.organisation_id = $1 AND c.phone > $2{}
         ORDER BY c.phone LIMIT {rows}",
        filter.from, filter.condition
    )
}

/// The contact with this number, if the organisation has one.
pub async fn find(
    pool: &Pool,
    organisation: OrganisationId,
    phone: &str,
) -> anyhow::Result<Option<Contact>> {
    Ok(sqlx::query_as::<_, ContactRow>(&format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.organisation_id = $1 AND c.phone = $2"
    ))
    .bind(organisation)
    .bind(phone)
    .fetch_optional(pool)
    .await
    .context("could not read the contact")?
    .map(Contact::from))
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub added: u64,
    pub updated: u64,
}

/// Rows per multi-row INSERT, and per transaction: a large import never
/// holds the database's write lock for long.
const CONTACTS_PER_INSERT: usize = 500;
const CONTACTS_PER_TRANSACTION: usize = 1_000;

/// Adds the audience's recipients as contacts; a number that is already a
/// contact is updated: the names and fields the file has replace theirs,
/// those it lacks are kept. Returns how many were added and updated.
pub async fn import(
    pool: &Pool,
    organisation: OrganisationId,
    audience: &Audience,
    now: UnixTime,
) -> anyhow::Result<ImportCounts> {
    let backend = Backend::of(pool);
    let has = |column: &str| audience.columns.iter().any(|c| c == column);
    let keep_or_replace = |column: &str| {
        if has(column) {
            format!("excluded.{column}")
        } else {
            format!("contacts.{column}")
        }
    };
    let has_fields = audience
        .columns
        .iter()
        .any(|c| c != FIRST_NAME && c != LAST_NAME);
    let fields = match (has_fields, backend) {
        (false, _) => "contacts.fields".to_owned(),
        (true, Backend::Sqlite) => "json_patch(contacts.fields, excluded.fields)".to_owned(),
        (true, Backend::Postgres) => {
            "(contacts.fields::jsonb || excluded.fields::jsonb)::text".to_owned()
        }
    };
    let upsert = |rows: usize| {
        format!(
            "INSERT INTO contacts
                 (organisation_id, phone, first_name, last_name, fields, created_at, updated_at)
             VALUES {}
             ON CONFLICT (organisation_id, phone) DO UPDATE SET
                 first_name = {}, last_name = {}, fields = {fields},
                 updated_at = excluded.updated_at",
            backend.placeholder_rows(rows, 7),
            keep_or_replace(FIRST_NAME),
            keep_or_replace(LAST_NAME),
        )
    };
    let mut counts = ImportCounts::default();
    for batch in audience.recipients.chunks(CONTACTS_PER_TRANSACTION) {
        let mut tx = crate::db::begin_write(pool)
            .await
            .context("could not start a transaction")?;
        for chunk in batch.chunks(CONTACTS_PER_INSERT) {
            let phones: Vec<String> = chunk
                .iter()
                .map(|r| r.phone().as_str().to_owned())
                .collect();
            let existing_sql = format!(
                "SELECT COUNT(*) FROM contacts WHERE organisation_id = $1 AND phone IN ({})",
                crate::db::placeholder_list(2, phones.len())
            );
            let mut existing = sqlx::query_scalar::<_, i64>(&existing_sql).bind(organisation);
            for phone in &phones {
                existing = existing.bind(phone);
            }
            let existing = existing
                .fetch_one(&mut *tx)
                .await
                .context("could not look up existing contacts")? as u64;
            let sql = upsert(chunk.len());
            let mut insert = sqlx::query(&sql);
            for (recipient, phone) in chunk.iter().zip(&phones) {
                let mut first_name = String::new();
                let mut last_name = String::new();
                let mut fields = BTreeMap::new();
                for (column, value) in audience.fields(recipient) {
                    match column {
                        FIRST_NAME => first_name = value.to_owned(),
                        LAST_NAME => last_name = value.to_owned(),
                        _ => {
                            fields.insert(column, value);
                        }
                    }
                }
                insert = insert
                    .bind(organisation)
                    .bind(phone)
                    .bind(first_name)
                    .bind(last_name)
                    .bind(serde_json::to_string(&fields).context("fields as JSON")?)
                    .bind(now)
                    .bind(now);
            }
            insert
                .execute(&mut *tx)
                .await
                .context("could not import contacts")?;
            counts.updated += existing;
            counts.added += chunk.len() as u64 - existing;
        }
        if backend == Backend::Sqlite {
            // The names' index merges no segments by itself (the
            // contacts_found_by_name migration): each transaction adds one,
            // and merges about as much as a few transactions add.
            sqlx::query(
                "INSERT INTO contacts_by_name (contacts_by_name, rank) VALUES ('merge', $1)",
            )
            .bind(NAME_INDEX_PAGES_MERGED)
            .execute(&mut *tx)
            .await
            .context("could not merge the names' index")?;
        }
        tx.commit()
            .await
            .context("could not commit the imported contacts")?;
    }
    Ok(counts)
}

/// Pages of the names' index merged after each import transaction: enough
/// to keep up with what a transaction adds, bounded so that the merge holds
/// the write lock for milliseconds.
const NAME_INDEX_PAGES_MERGED: i64 = 200;

/// How many of these numbers are already the organisation's contacts: an
/// import's preview says how many it would add and update.
pub async fn count_existing(
    pool: &Pool,
    organisation: OrganisationId,
    phones: &[String],
) -> anyhow::Result<u64> {
    let mut total = 0;
    for chunk in phones.chunks(CONTACTS_PER_INSERT) {
        let sql = format!(
            "SELECT COUNT(*) FROM contacts WHERE organisation_id = $1 AND phone IN ({})",
            crate::db::placeholder_list(2, chunk.len())
        );
        let mut query = sqlx::query_scalar::<_, i64>(&sql).bind(organisation);
        for phone in chunk {
            query = query.bind(phone);
        }
        total += query
            .fetch_one(pool)
            .await
            .context("could not look up existing contacts")? as u64;
    }
    Ok(total)
}

/// Deletes the organisation's contact with this number (and their list
/// memberships). The messages sent to the number stay in their campaigns'
/// results, which never held the contact's name. Returns whether there was
/// one.
pub async fn delete(
    pool: &Pool,
    organisation: OrganisationId,
    phone: &str,
) -> anyhow::Result<bool> {
    Ok(
        sqlx::query("DELETE FROM contacts WHERE organisation_id = $1 AND phone = $2")
            .bind(organisation)
            .bind(phone)
            .execute(pool)
            .in_turn(pool)
            .await
            .context("could not delete the contact")?
            .rows_affected()
            == 1,
    )
}

/// Contacts read per query while exporting.
const EXPORT_PAGE: i64 = 10_000;

/// The names of every field any of the organisation's contacts has, read
/// from the stored JSON by the database in one query (the export's header).
async fn field_names(
    pool: &Pool,
    organisation: OrganisationId,
) -> anyhow::Result<BTreeSet<String>> {
    let sql = match Backend::of(pool) {
        Backend::Sqlite => {
            "SELECT DISTINCT f.key FROM contacts c, json_each(c.fields) f
             WHERE c.organisation_id = $1"
        }
        Backend::Postgres => {
            "SELECT DISTINCT f FROM contacts c CROSS JOIN LATERAL json_object_keys(c.fields::json) f
             WHERE c.organisation_id = $1"
        }
    };
    Ok(sqlx::query_scalar::<_, String>(sql)
        .bind(organisation)
        .fetch_all(pool)
        .await
        .context("could not read the contacts' field names")?
        .into_iter()
        .collect())
}

/// Every contact of the organisation as CSV: phone, names, whether opted
/// out, then one column per field any of them has. Cells that a
/// spreadsheet would run as formulas are neutralised.
///
/// The header needs every field's name, read before this returns. Then the
/// file comes in parts, a page of contacts each, in number order (see
/// `spreadsheet::csv_in_parts`): a download holds one page in memory,
/// never the whole file.
pub async fn export_csv(
    pool: Pool,
    organisation: OrganisationId,
) -> anyhow::Result<impl Stream<Item = anyhow::Result<Vec<u8>>> + Send + 'static> {
    export_csv_in_pages(pool, organisation, EXPORT_PAGE).await
}

async fn export_csv_in_pages(
    pool: Pool,
    organisation: OrganisationId,
    page_size: i64,
) -> anyhow::Result<impl Stream<Item = anyhow::Result<Vec<u8>>> + Send + 'static> {
    let columns = field_names(&pool, organisation).await?;
    let header: Vec<String> = ["phone", FIRST_NAME, LAST_NAME, "opted_out"]
        .into_iter()
        .map(str::to_owned)
        .chain(columns.iter().cloned())
        .collect();
    Ok(csv_in_parts(
        page_size,
        |contact: &Contact| contact.phone.clone(),
        move |after, page_size| {
            let pool = pool.clone();
            async move {
                // After "": from the first number, without the count the
                // Contacts page shows.
                let page = page(&pool, organisation, &Search::All, Some(&after), page_size);
                Ok(page.await?.contacts)
            }
        },
        move |first, contacts| {
            let mut writer = csv::Writer::from_writer(Vec::with_capacity(contacts.len() * 64));
            if first {
                writer
                    .write_record(header.iter().map(|cell| safe_cell(cell).into_owned()))
                    .context("csv")?;
            }
            for contact in &contacts {
                let fields = contact.fields();
                let cells = [
                    contact.phone.as_str(),
                    &contact.first_name,
                    &contact.last_name,
                    if contact.opted_out { "yes" } else { "no" },
                ]
                .into_iter()
                .map(str::to_owned)
                .chain(
                    columns
                        .iter()
                        .map(|column| fields.get(column).cloned().unwrap_or_default()),
                );
                writer
                    .write_record(cells.map(|cell| safe_cell(&cell).into_owned()))
                    .context("csv")?;
            }
            writer.into_inner().context("csv")
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large import takes its turn at writing for each transaction, so
    /// a writer that asked meanwhile (another organisation's save, the
    /// engine's) goes between two of them, not after the whole import.
    #[tokio::test]
    async fn another_writer_goes_between_an_imports_transactions() {
        let (pool, _dir) = crate::db::testing::fresh_database().await;
        let organisation = crate::organisations::testing::organisation(&pool, "Acme").await;
        let Some(held) = crate::db::write_turn(&pool).await else {
            return; // PostgreSQL locks rows: no turns to take.
        };
        let file: String = std::iter::once("phone".to_owned())
            .chain((0..3 * CONTACTS_PER_TRANSACTION).map(|n| format!("+1415555{n:04}")))
            .collect::<Vec<_>>()
            .join("\n");
        let audience =
            crate::campaigns::audience::parse_audience(&file, "US", &Default::default()).unwrap();
        assert_eq!(audience.recipients.len(), 3 * CONTACTS_PER_TRANSACTION);
        let pause = || tokio::time::sleep(std::time::Duration::from_millis(200));
        // The import asks for its first turn while the test holds one…
        let import = tokio::spawn({
            let pool = pool.clone();
            async move { import(&pool, organisation, &audience, 0).await }
        });
        pause().await;
        // …and another writer asks after it.
        let other = tokio::spawn({
            let pool = pool.clone();
            async move {
                let mut tx = crate::db::begin_write(&pool).await.unwrap();
                let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contacts")
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                seen
            }
        });
        pause().await;
        assert!(!import.is_finished(), "the import waits for its turn");
        drop(held);
        assert_eq!(
            other.await.unwrap(),
            CONTACTS_PER_TRANSACTION as i64,
            "the other writer wrote after the import's first transaction, before its second"
        );
        let counts = import.await.unwrap().unwrap();
        assert_eq!(counts.added, 3 * CONTACTS_PER_TRANSACTION as u64);
    }

    /// Contacts stored before the names' index are in it after the
    /// upgrade.
    #[tokio::test]
    async fn contacts_stored_before_the_upgrade_are_found_by_name() {
        let (pool, _dir) = crate::db::testing::database_before("contacts found by name").await;
        let organisation = crate::organisations::testing::organisation(&pool, "Acme").await;
        for (phone, first, last) in [
            ("+447400123001", "Ada", "Lovelace"),
            ("+447400123002", "Grace", "Hopper"),
        ] {
            sqlx::query(
                "INSERT INTO contacts (organisation_id, phone, first_name, last_name, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, 0, 0)",
            )
            .bind(organisation)
            .bind(phone)
            .bind(first)
            .bind(last)
            .execute(&pool)
            .await
            .unwrap();
        }

        crate::db::migrate(&pool).await.unwrap();

        let found = page(&pool, organisation, &Search::parse("LOVELACE"), None, 50)
            .await
            .unwrap();
        assert_eq!(found.total, Some(1));
        assert_eq!(found.contacts[0].phone, "+447400123001");
        let found = page(&pool, organisation, &Search::parse("race hop"), None, 50)
            .await
            .unwrap();
        assert_eq!(found.total, Some(1));
    }

    /// A name search of three or more characters reads the names' index
    /// and then only the contacts it names, counted or paged: never the
    /// organisation's contacts one by one (1.1 s at a million). SQLite's
    /// plans; PostgreSQL's depend on table sizes (see BENCHMARKS.md).
    #[tokio::test]
    async fn a_name_search_reads_the_names_index_not_every_contact() {
        let (pool, _dir) = crate::db::testing::fresh_database().await;
        if Backend::of(&pool) != Backend::Sqlite {
            return;
        }
        let filter = Search::parse("Lovel").filter(Backend::Sqlite, OrganisationId(1), 3);
        for sql in [count_sql(&filter), page_sql(&filter, 51)] {
            let plan = crate::db::testing::sqlite_plan(&pool, &sql).await;
            assert!(
                plan.iter()
                    .any(|step| step.starts_with("SCAN s VIRTUAL TABLE"))
                    && plan
                        .iter()
                        .any(|step| step == "SEARCH c USING INTEGER PRIMARY KEY (rowid=?)")
                    && !plan.iter().any(|step| step.starts_with("SCAN c")),
                "{sql}: {plan:?}"
            );
        }
    }

    /// Read a page of two at a time, the export is the same file as read
    /// at once: every field any contact has in the header, every contact
    /// once, in number order.
    #[tokio::test]
    async fn an_export_read_in_pages_is_the_whole_file() {
        use futures_util::TryStreamExt;
        let (pool, _dir) = crate::db::testing::fresh_database().await;
        let organisation: OrganisationId = sqlx::query_scalar(
            "INSERT INTO organisations (name, public_id, subscription_state, created_at)
             VALUES ('Acme', 'p', 'active', 0) RETURNING id",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        for (phone, fields) in [
            ("+14155550103", r#"{"ward":"North"}"#),
            ("+14155550101", "{}"),
            ("+14155550105", r#"{"ward":"South","team":"Blue"}"#),
            ("+14155550102", "{}"),
            ("+14155550104", r#"{"age":"40"}"#),
        ] {
            sqlx::query(
                "INSERT INTO contacts (organisation_id, phone, first_name, fields, created_at, updated_at)
                 VALUES ($1, $2, 'Ada', $3, 0, 0)",
            )
            .bind(organisation)
            .bind(phone)
            .bind(fields)
            .execute(&pool)
            .await
            .unwrap();
        }
        let export = |page_size| {
            let pool = pool.clone();
            async move {
                export_csv_in_pages(pool, organisation, page_size)
                    .await
                    .unwrap()
                    .try_collect::<Vec<Vec<u8>>>()
                    .await
                    .unwrap()
            }
        };

        let in_pages = export(2).await;
        let at_once = export(100).await;

        assert_eq!(
            in_pages.len(),
            3,
            "the header and 2 contacts, then 2, then 1"
        );
        assert_eq!(in_pages.concat(), at_once.concat());
        let file = String::from_utf8(in_pages.concat()).unwrap();
        let lines: Vec<&str> = file.lines().collect();
        assert_eq!(
            lines[0],
            "phone,first_name,last_name,opted_out,age,team,ward"
        );
        assert_eq!(lines[1], "+14155550101,Ada,,no,,,");
        assert_eq!(lines[5], "+14155550105,Ada,,no,,Blue,South");
        assert_eq!(lines.len(), 6);
    }

    #[test]
    fn digits_search_numbers_and_letters_search_names() {
        assert_eq!(Search::parse("  "), Search::All);
        assert_eq!(
            Search::parse("+44 7400-123"),
            Search::Number("447400123".into())
        );
        assert_eq!(Search::parse("Ada L"), Search::Name("ada l".into()));
        assert_eq!(Search::parse("+-"), Search::All);
        let bound = |name: &str, backend| {
            Search::Name(name.into())
                .filter(backend, OrganisationId(7), 2)
                .bound
                .unwrap()
        };
        // Wildcards typed are looked for as themselves.
        assert_eq!(bound("50%_off", Backend::Postgres), "%50\\%\\_off%");
        // So are the names index's quotes.
        assert_eq!(
            bound("o\"neil", Backend::Sqlite),
            "organisation : \"~7~\" AND name : \"o\"\"neil\""
        );
        // Two characters are too few for it: they scan.
        assert_eq!(bound("al", Backend::Sqlite), "%al%");
    }
}
