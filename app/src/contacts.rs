//! Outreach > Contacts: the organisation's people, by phone number, with
//! their names and fields. Campaigners and Org Admins search and page
//! through them, import them from a CSV (checked first, like an audience;
//! numbers already there are updated), export them and delete one.

use leptos::{either::Either, prelude::*};
use leptos_router::{
    components::{A, Form},
    hooks::{use_params_map, use_query_map},
};
use serde::{Deserialize, Serialize};

use crate::{
    campaigns::InvalidLine,
    error::{AppError, FormField},
    form::Field,
};

pub const PAGE: &str = "/outreach/contacts";
pub const EXPORT: &str = "/outreach/contacts.csv";
#[cfg(feature = "ssr")]
const PER_PAGE: i64 = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactsView {
    pub rows: Vec<ContactRow>,
    /// Contacts matching the search, on the first page.
    pub total: Option<i64>,
    /// Where the next page starts, when there is one.
    pub next_after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRow {
    pub phone: String,
    pub name: String,
    /// "ward: North · volunteer: yes".
    pub fields: String,
    pub opted_out: bool,
}

/// What a contacts file holds (`Check contacts`), or what importing it did
/// (`Import contacts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactsImport {
    /// False for a check: nothing was saved.
    pub imported: bool,
    pub new: u64,
    pub updated: u64,
    pub duplicates: usize,
    /// Of the file's numbers, those on the opt-out list: they are
    /// contacts too, marked, and never messaged.
    pub opted_out: usize,
    pub invalid: Vec<InvalidLine>,
    pub invalid_total: usize,
    /// The columns besides the phone number: names and fields.
    pub columns: Vec<String>,
}

#[server(endpoint = "contacts")]
pub async fn contacts(search: String, after: Option<String>) -> Result<ContactsView, AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_member().await?;
    let page = domain::contacts::page(
        &state.services.pool,
        user.organisation_id,
        &domain::contacts::Search::parse(&search),
        after.as_deref().filter(|a| !a.is_empty()),
        PER_PAGE,
    )
    .await
    .map_err(AppError::internal)?;
    Ok(ContactsView {
        rows: page.contacts.into_iter().map(ssr::row).collect(),
        total: page.total,
        next_after: page.next_after,
    })
}

/// Checks a contacts file (`check` set) or imports it.
#[server(endpoint = "import_contacts")]
pub async fn import_contacts(
    file: String,
    check: Option<String>,
) -> Result<ContactsImport, AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_member().await?;
    let (result, _) = ssr::check_or_import(&user, &state, file, check.is_some()).await?;
    Ok(result)
}

/// One contact: their names, fields and lists, and the messages they sent
/// (replies, HELP, STOP and START), newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactDetailsView {
    pub contact: ContactRow,
    pub lists: Vec<(i64, String)>,
    pub messages: Vec<ContactMessageRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactMessageRow {
    pub body: String,
    pub received: String,
    /// "Reply", "HELP", "STOP" or "START".
    pub kind: String,
    /// The campaign it answered: the last one that messaged the number.
    pub campaign: Option<(i64, String)>,
}

/// Messages shown on a contact's page.
#[cfg(feature = "ssr")]
const MESSAGES_SHOWN: i64 = 50;

#[server(endpoint = "contact_details")]
pub async fn contact_details(phone: String) -> Result<ContactDetailsView, AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_member().await?;
    let pool = &state.services.pool;
    let Some(contact) = domain::contacts::find(pool, user.organisation_id, &phone)
        .await
        .map_err(AppError::internal)?
    else {
        return Err(AppError::NotFound);
    };
    let lists = domain::lists::of_contact(pool, user.organisation_id, &phone)
        .await
        .map_err(AppError::internal)?;
    let messages = domain::delivery::inbound::fetch_from_number(
        pool,
        user.organisation_id,
        &phone,
        MESSAGES_SHOWN,
    )
    .await
    .map_err(AppError::internal)?
    .into_iter()
    .map(|m| ContactMessageRow {
        kind: match m.kind.as_str() {
            "reply" => "Reply",
            "help" => "HELP",
            "opt_out" => "STOP",
            "opt_in" => "START",
            _ => "Keyword",
        }
        .to_owned(),
        body: m.body,
        received: user.local_time(m.received_at),
        campaign: m.campaign.map(|(id, name)| (id.0, name)),
    })
    .collect();
    Ok(ContactDetailsView {
        contact: ssr::row(contact),
        lists,
        messages,
    })
}

#[server(endpoint = "delete_contact")]
pub async fn delete_contact(phone: String) -> Result<(), AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_member().await?;
    let deleted = domain::contacts::delete(&state.services.pool, user.organisation_id, &phone)
        .await
        .map_err(AppError::internal)?;
    if !deleted {
        return Err(AppError::NotFound);
    }
    tracing::info!("contact deleted");
    leptos_axum::redirect(PAGE);
    Ok(())
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use domain::{
        campaigns::audience::Audience, organisations::fetch_organisation, sign_in::SignedInUser,
    };

    use super::{ContactRow, ContactsImport};
    use crate::{
        campaigns::InvalidLine,
        error::{AppError, FieldErrors, FormField},
        state::AppState,
    };

    pub fn row(contact: domain::contacts::Contact) -> ContactRow {
        ContactRow {
            name: contact.name(),
            fields: contact
                .fields()
                .into_iter()
                .filter(|(_, value)| !value.is_empty())
                .map(|(name, value)| format!("{name}: {value}"))
                .collect::<Vec<_>>()
                .join(" · "),
            opted_out: contact.opted_out,
            phone: contact.phone,
        }
    }

    /// Reads a contacts file with the audience checker's rules and, unless
    /// `check`, imports it. Returns what it found or did, and the file's
    /// numbers.
    pub async fn check_or_import(
        user: &SignedInUser,
        state: &AppState,
        file: String,
        check: bool,
    ) -> Result<(ContactsImport, Vec<String>), AppError> {
        let pool = &state.services.pool;
        let organisation = fetch_organisation(pool, user.organisation_id)
            .await
            .map_err(AppError::internal)?;
        // Opted-out numbers are contacts too: nothing is left out for them.
        let audience = parse(&organisation.default_country, file).await?;
        let opted_out = domain::opt_outs::numbers(pool, user.organisation_id)
            .await
            .map_err(AppError::internal)?;
        let phones: Vec<String> = audience
            .recipients
            .iter()
            .map(|r| r.phone().as_str().to_owned())
            .collect();
        let (imported, new, updated) = if check {
            let existing = domain::contacts::count_existing(pool, user.organisation_id, &phones)
                .await
                .map_err(AppError::internal)?;
            (false, phones.len() as u64 - existing, existing)
        } else {
            let counts = domain::contacts::import(
                pool,
                user.organisation_id,
                &audience,
                domain::clock::now(),
            )
            .await
            .map_err(AppError::internal)?;
            tracing::info!(
                added = counts.added,
                updated = counts.updated,
                "contacts imported"
            );
            (true, counts.added, counts.updated)
        };
        let result = ContactsImport {
            imported,
            new,
            updated,
            duplicates: audience.duplicates,
            opted_out: phones.iter().filter(|p| opted_out.contains(*p)).count(),
            invalid_total: audience.invalid_total,
            invalid: audience
                .invalid
                .into_iter()
                .map(|row| InvalidLine {
                    line: row.line,
                    value: row.value,
                    reason: row.reason,
                })
                .collect(),
            columns: audience.columns,
        };
        Ok((result, phones))
    }

    /// The file read with the audience checker's rules, keeping opted-out
    /// numbers; its errors under the file's field.
    async fn parse(default_country: &str, file: String) -> Result<Audience, AppError> {
        let country = default_country.to_owned();
        domain::work::AUDIENCES
            .run(move || {
                domain::campaigns::audience::parse_audience(
                    &file,
                    &country,
                    &std::collections::HashSet::new(),
                )
            })
            .await
            .map_err(crate::campaigns::ssr::work_error)?
            .map_err(|e| {
                AppError::Invalid(FieldErrors::field(FormField::ContactsFile, e.to_string()))
            })
    }
}

#[component]
pub fn ContactsPage() -> impl IntoView {
    let import = ServerAction::<ImportContacts>::new();
    let delete = ServerAction::<DeleteContact>::new();
    let query = use_query_map();
    let search = move || query.read().get("q").unwrap_or_default();
    let after = move || query.read().get("after");
    let list = Resource::new(
        move || {
            (
                search(),
                after(),
                import.version().get() + delete.version().get(),
            )
        },
        |(search, after, _)| contacts(search, after),
    );
    view! {
        <leptos_meta::Title text="Contacts"/>
        <div class="page-heading">
            <h1>"Contacts"</h1>
        </div>
        <section class="panel" aria-labelledby="contacts-title">
            <header class="panel-header">
                <div>
                    <h2 id="contacts-title">"People"</h2>
                    <p class="muted">"Your organisation's contacts, by phone number. Opted-out contacts are marked: no campaign messages them."</p>
                </div>
                <a class="button" href=EXPORT download="contacts.csv">"Export contacts"</a>
            </header>
            <Form method="GET" action=PAGE attr:class="search-form">
                <label for="contact-search">"Search by number or name"</label>
                <div class="copy-row">
                    <input id="contact-search" name="q" type="search" value=search/>
                    <button type="submit" class="button">"Search"</button>
                </div>
            </Form>
            {move || query.read().get("delete").map(|phone| view! { <DeleteDialog phone delete/> })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(view) => Either::Left(view! { <ContactTable view search=search() paged=after().is_some()/> }),
                        Err(e) => Either::Right(view! { <p class="error" role="alert">{e.to_string()}</p> }),
                    }
                })}
            </Transition>
        </section>
        <ImportPanel import/>
    }
    .into_any()
}

/// One contact's page.
#[component]
pub fn ContactPage() -> impl IntoView {
    let params = use_params_map();
    let details = Resource::new(
        move || params.read().get("phone").unwrap_or_default(),
        contact_details,
    );
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match details.await {
                    Ok(details) => view! { <ContactView details/> }.into_any(),
                    Err(AppError::NotFound) => view! {
                        <crate::layout::Missing title="No such contact" back_to=PAGE back_label="Back to Contacts"/>
                    }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn ContactView(details: ContactDetailsView) -> impl IntoView {
    let ContactDetailsView {
        contact,
        lists,
        messages,
    } = details;
    let title = if contact.name.is_empty() {
        contact.phone.clone()
    } else {
        format!("{} ({})", contact.name, contact.phone)
    };
    view! {
        <leptos_meta::Title text=title.clone()/>
        <div class="page-heading">
            <h1>{title}</h1>
            {contact.opted_out.then(|| view! { <span class="badge warn">"Opted out"</span> })}
            <a href=PAGE class="button">"All contacts"</a>
        </div>
        <section class="panel" aria-labelledby="contact-facts">
            <h2 id="contact-facts" class="visually-hidden">"Contact"</h2>
            <dl class="facts">
                <dt>"Number"</dt><dd>{contact.phone.clone()}</dd>
                <dt>"Name"</dt><dd>{if contact.name.is_empty() { "—".to_owned() } else { contact.name.clone() }}</dd>
                <dt>"Fields"</dt><dd>{if contact.fields.is_empty() { "—".to_owned() } else { contact.fields.clone() }}</dd>
                <dt>"Lists"</dt>
                <dd>
                    {if lists.is_empty() {
                        view! { "—" }.into_any()
                    } else {
                        lists.into_iter().map(|(id, name)| view! {
                            <A href=format!("{}/{id}", crate::lists::PAGE)>{name}</A>" "
                        }).collect_view().into_any()
                    }}
                </dd>
            </dl>
        </section>
        <section class="panel" aria-labelledby="contact-messages">
            <h2 id="contact-messages">{format!("Replies ({})", messages.len())}</h2>
            {if messages.is_empty() {
                view! { <p class="muted">"They have not sent your organisation a message."</p> }.into_any()
            } else {
                view! {
                    <ul class="replies">
                        {messages.into_iter().map(|m| view! {
                            <li>
                                <p class="message-body">{m.body}</p>
                                <p class="muted small">
                                    {format!("{} · {}", m.kind, m.received)}
                                    {m.campaign.map(|(id, name)| view! {
                                        " · answering " <A href=format!("{}/{id}", crate::routes::CAMPAIGNS)>{name}</A>
                                    })}
                                </p>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
    .into_any()
}

/// An address on the Contacts page with these query values, encoded.
fn page_address(pairs: &[(&str, &str)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{name}={}", encode_query_value(value)))
        .collect();
    if query.is_empty() {
        PAGE.to_owned()
    } else {
        format!("{PAGE}?{}", query.join("&"))
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub(crate) fn encode_query_value(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[component]
fn ContactTable(view: ContactsView, search: String, paged: bool) -> impl IntoView {
    let ContactsView {
        rows,
        total,
        next_after,
    } = view;
    if rows.is_empty() && !paged {
        let text = if search.trim().is_empty() {
            "No contacts yet: import them from a CSV below."
        } else {
            "No contact matches this search."
        };
        return view! { <p class="muted">{text}</p> }.into_any();
    }
    view! {
        {total.map(|total| view! {
            <p class="muted small">{format!("{total} contact{}", if total == 1 { "" } else { "s" })}</p>
        })}
        <div class="table-scroll" tabindex="0" role="region" aria-label="Contacts (scrolls sideways)">
            <table>
                <thead>
                    <tr>
                        <th scope="col">"Number"</th>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Fields"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|row| {
                        let delete_label = format!("Delete the contact {}", row.phone);
                        let address = format!("{PAGE}/{}", encode_query_value(&row.phone));
                        let shown = row.phone.clone();
                        view! {
                            <tr>
                                <th scope="row">
                                    <A href=address>{shown}</A>
                                    {row.opted_out.then(|| view! { " " <span class="badge warn">"Opted out"</span> })}
                                </th>
                                <td>{row.name}</td>
                                <td class="small">{row.fields}</td>
                                <td>
                                    <Form method="GET" action=PAGE attr:class="inline">
                                        <input type="hidden" name="delete" value=row.phone/>
                                        <button type="submit" class="button small" aria-label=delete_label>"Delete"</button>
                                    </Form>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        {(paged || next_after.is_some()).then(|| view! {
            <nav class="pager" aria-label="Contact pages">
                {paged.then(|| view! { <a href=page_address(&[("q", &search)])>"First page"</a> })}
                {next_after.map(|after| view! { <a href=page_address(&[("q", &search), ("after", &after)])>"Next page"</a> })}
            </nav>
        })}
    }
    .into_any()
}

/// Deleting a contact, confirmed.
#[component]
fn DeleteDialog(phone: String, delete: ServerAction<DeleteContact>) -> impl IntoView {
    let error = move || {
        delete
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    view! {
        <div class="dialog" role="alertdialog" aria-labelledby="delete-contact-title" aria-describedby="delete-contact-description">
            <h3 id="delete-contact-title">{format!("Delete the contact {phone}?")}</h3>
            <p id="delete-contact-description">
                "Their name and fields are deleted, and they leave every list. The messages campaigns sent to the number stay in those campaigns' results. An opt-out of the number stays."
            </p>
            <ActionForm action=delete>
                <input type="hidden" name="phone" value=phone.clone()/>
                {move || error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <div class="form-actions">
                    <button type="submit" class="button danger-filled" disabled=move || delete.pending().get()>"Delete contact"</button>
                    <a class="button" href=PAGE>"Cancel"</a>
                </div>
            </ActionForm>
        </div>
    }
}

#[component]
fn ImportPanel(import: ServerAction<ImportContacts>) -> impl IntoView {
    let file = RwSignal::new(String::new());
    let error = move || import.value().get().and_then(Result::err);
    let file_error = Signal::derive(move || match error() {
        Some(AppError::Invalid(errors)) => errors.get(FormField::ContactsFile).or(errors.form),
        Some(other) => Some(other.to_string()),
        None => None,
    });
    let on_file =
        move |ev: leptos::ev::Event| crate::form::read_chosen_file(ev, move |text| file.set(text));
    view! {
        <section class="panel" aria-labelledby="import-contacts-title">
            <header class="panel-header">
                <div>
                    <h2 id="import-contacts-title">"Import contacts"</h2>
                    <p class="muted">"A CSV with a phone column; first_name and last_name are names, other columns are fields usable as placeholders. Numbers that are contacts already are updated: the columns the file has replace theirs."</p>
                </div>
            </header>
            <ActionForm action=import>
                <Field id="contacts-file" label="Contacts CSV" hint="Paste it, or upload a file below. Numbers without a country code are read as numbers of your organisation's default country." error=file_error>
                    <textarea id="contacts-file" name="file" rows="6" spellcheck="false" required
                        aria-describedby="contacts-file-hint contacts-file-error"
                        prop:value=move || file.get()
                        on:input=move |e| file.set(event_target_value(&e))></textarea>
                </Field>
                <div class="field">
                    <label for="contacts-upload">"Upload a CSV"</label>
                    <input id="contacts-upload" type="file" accept=".csv,text/csv,text/plain" on:change=on_file/>
                </div>
                <div class="form-actions">
                    <button type="submit" name="check" value="yes" class="button" disabled=move || import.pending().get()>"Check contacts"</button>
                    <button type="submit" class="button primary" disabled=move || import.pending().get()>
                        {move || if import.pending().get() { "Importing…" } else { "Import contacts" }}
                    </button>
                </div>
            </ActionForm>
            {move || import.value().get().and_then(Result::ok).map(|result| view! { <ImportSummary result/> }.into_any())}
        </section>
    }
    .into_any()
}

#[component]
pub fn ImportSummary(result: ContactsImport) -> impl IntoView {
    let headline = if result.imported {
        format!(
            "Imported: {} new contact{}, {} updated",
            result.new,
            if result.new == 1 { "" } else { "s" },
            result.updated
        )
    } else {
        format!(
            "Ready to import: {} new contact{}, {} to update",
            result.new,
            if result.new == 1 { "" } else { "s" },
            result.updated
        )
    };
    let columns = if result.columns.is_empty() {
        "Columns: phone only".to_owned()
    } else {
        format!("Columns: {}", result.columns.join(", "))
    };
    view! {
        <div class="audience-summary" role="status">
            <p><strong>{headline}</strong>
                {format!(" · {} duplicates merged · {} opted out · {} invalid", result.duplicates, result.opted_out, result.invalid_total)}
            </p>
            <p class="muted small">{columns}</p>
            {(!result.invalid.is_empty()).then(|| view! {
                <table class="invalid-rows">
                    <thead><tr><th scope="col">"Line"</th><th scope="col">"Value"</th><th scope="col">"Why"</th></tr></thead>
                    <tbody>
                        {result.invalid.into_iter().map(|row| view! {
                            <tr><td>{row.line}</td><td>{row.value}</td><td>{row.reason}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    #[test]
    fn searches_and_cursors_survive_the_address() {
        assert_eq!(super::encode_query_value("+44 7400"), "%2B44%207400");
        assert_eq!(super::encode_query_value("Zoë&x"), "Zo%C3%AB%26x");
        assert_eq!(
            super::page_address(&[("q", ""), ("after", "+447400")]),
            "/outreach/contacts?after=%2B447400"
        );
        assert_eq!(super::page_address(&[("q", "")]), "/outreach/contacts");
    }
}
