//! Outreach > Opt-outs: every number that asked not to be messaged, with
//! when and why; campaigners and Org Admins add them by hand or from a
//! file, export them, and remove one when its person asked to receive
//! messages again. Opted-out numbers are left out of every audience.

use leptos::{either::Either, prelude::*};
use leptos_router::{components::Form, hooks::use_query_map};
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::error::FieldErrors;
use crate::{
    campaigns::InvalidLine,
    error::{AppError, FormField},
    form::Field,
};

pub const PAGE: &str = "/outreach/opt-outs";
pub const EXPORT: &str = "/outreach/opt-outs.csv";
#[cfg(feature = "ssr")]
const PER_PAGE: i64 = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptOutsView {
    pub rows: Vec<OptOutRow>,
    /// Opt-outs matching the search.
    pub total: i64,
    pub page: i64,
    pub pages: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptOutRow {
    pub phone: String,
    pub reason: String,
    pub when: String,
    pub added_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportResult {
    pub added: u64,
    /// Numbers in the file that were opted out already.
    pub already: usize,
    pub duplicates: usize,
    pub invalid: Vec<InvalidLine>,
    pub invalid_total: usize,
}

#[server(endpoint = "opt_outs")]
pub async fn opt_outs(search: String, page: i64) -> Result<OptOutsView, AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_member().await?;
    let digits: String = search.chars().filter(char::is_ascii_digit).collect();
    let page = page.max(1);
    let (total, rows) = domain::opt_outs::list(
        &state.services.pool,
        user.organisation_id,
        &digits,
        (page - 1) * PER_PAGE,
        PER_PAGE,
    )
    .await
    .map_err(AppError::internal)?;
    Ok(OptOutsView {
        rows: rows
            .into_iter()
            .map(|o| OptOutRow {
                reason: domain::opt_outs::reason(&o.source).to_owned(),
                when: user.local_time(o.created_at),
                phone: o.phone,
                added_by: o.added_by,
            })
            .collect(),
        total,
        page,
        pages: ((total + PER_PAGE - 1) / PER_PAGE).max(1),
    })
}

#[server(endpoint = "add_opt_out")]
pub async fn add_opt_out(phone: String) -> Result<bool, AppError> {
    let (user, state, organisation) = crate::auth::ssr::require_subscribed_member().await?;
    let phone = ssr::parse_phone(&phone, &organisation.default_country)?;
    let added = domain::opt_outs::add(
        &state.services.pool,
        user.organisation_id,
        &[phone],
        domain::opt_outs::BY_HAND,
        &user.email,
        domain::clock::now(),
    )
    .await
    .map_err(AppError::internal)?;
    Ok(added == 1)
}

#[server(endpoint = "import_opt_outs")]
pub async fn import_opt_outs(numbers: String) -> Result<ImportResult, AppError> {
    let (user, state, organisation) = crate::auth::ssr::require_subscribed_member().await?;
    let (audience, _) = crate::campaigns::ssr::parse_audience(&state, &organisation, numbers)
        .await
        .map_err(|e| match e {
            AppError::Invalid(mut errors) => {
                if let Some(message) = errors.fields.remove(&FormField::Audience) {
                    errors.fields.insert(FormField::OptOutNumbers, message);
                }
                AppError::Invalid(errors)
            }
            other => other,
        })?;
    let phones: Vec<_> = audience.recipients.iter().map(|r| r.phone()).collect();
    let added = domain::opt_outs::add(
        &state.services.pool,
        user.organisation_id,
        &phones,
        domain::opt_outs::IMPORTED,
        &user.email,
        domain::clock::now(),
    )
    .await
    .map_err(AppError::internal)?;
    Ok(ImportResult {
        added,
        already: audience.opted_out,
        duplicates: audience.duplicates,
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
    })
}

/// Removes an opt-out: only when the person asked to receive messages
/// again, which the user confirms.
#[server(endpoint = "remove_opt_out")]
pub async fn remove_opt_out(phone: String, asked_again: Option<String>) -> Result<(), AppError> {
    let (user, state, organisation) = crate::auth::ssr::require_subscribed_member().await?;
    if asked_again.as_deref() != Some("yes") {
        return Err(AppError::Invalid(FieldErrors::field(
            FormField::AskedAgain,
            "Confirm that this person asked to receive messages again: an opt-out is only removed at their request.",
        )));
    }
    let phone = ssr::parse_phone(&phone, &organisation.default_country)?;
    let removed = domain::opt_outs::remove_on_request(
        &state.services.pool,
        user.organisation_id,
        &phone,
        &user.email,
        domain::clock::now(),
    )
    .await
    .map_err(AppError::internal)?;
    if !removed {
        return Err(AppError::Invalid(FieldErrors::form(format!(
            "{} is not opted out (anymore): nothing was changed.",
            phone.as_str()
        ))));
    }
    leptos_axum::redirect(PAGE);
    Ok(())
}

#[cfg(feature = "ssr")]
mod ssr {
    use domain::campaigns::audience::E164Phone;

    use crate::error::{AppError, FieldErrors, FormField};

    pub fn parse_phone(raw: &str, default_country: &str) -> Result<E164Phone, AppError> {
        E164Phone::parse(raw, default_country).map_err(|e| {
            AppError::Invalid(FieldErrors::field(
                FormField::Phone,
                format!("{e}. Enter a phone number like +14155552671."),
            ))
        })
    }
}

#[component]
pub fn OptOutsPage() -> impl IntoView {
    let add = ServerAction::<AddOptOut>::new();
    let import = ServerAction::<ImportOptOuts>::new();
    let remove = ServerAction::<RemoveOptOut>::new();
    let query = use_query_map();
    let search = move || query.read().get("q").unwrap_or_default();
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(1)
    };
    let list = Resource::new(
        move || {
            (
                search(),
                page(),
                add.version().get() + import.version().get() + remove.version().get(),
            )
        },
        |(search, page, _)| opt_outs(search, page),
    );
    view! {
        <leptos_meta::Title text="Opt-outs"/>
        <div class="page-heading">
            <h1>"Opt-outs"</h1>
        </div>
        <ListPanel list query remove/>
        <AddPanel add/>
        <ImportPanel import/>
    }
    .into_any()
}

#[component]
fn ListPanel(
    list: Resource<Result<OptOutsView, AppError>>,
    query: Memo<leptos_router::params::ParamsMap>,
    remove: ServerAction<RemoveOptOut>,
) -> impl IntoView {
    let search = move || query.read().get("q").unwrap_or_default();
    view! {
        <section class="panel" aria-labelledby="opt-outs-title">
            <header class="panel-header">
                <div>
                    <h2 id="opt-outs-title">"Opted-out numbers"</h2>
                    <p class="muted">"Numbers that asked not to be messaged. They are left out of every campaign's audience."</p>
                </div>
                <a class="button" href=EXPORT download="opt-outs.csv">"Export opt-outs"</a>
            </header>
            <Form method="GET" action=PAGE attr:class="search-form">
                <label for="opt-out-search">"Search by number"</label>
                <div class="copy-row">
                    <input id="opt-out-search" name="q" type="search" inputmode="tel" value=search/>
                    <button type="submit" class="button">"Search"</button>
                </div>
            </Form>
            {move || query.read().get("remove").map(|phone| view! { <RemoveDialog phone remove/> })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(view) => Either::Left(view! { <OptOutTable view search=search()/> }),
                        Err(e) => Either::Right(view! { <p class="error" role="alert">{e.to_string()}</p> }),
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

#[component]
fn OptOutTable(view: OptOutsView, search: String) -> impl IntoView {
    let OptOutsView {
        rows,
        total,
        page,
        pages,
    } = view;
    if rows.is_empty() {
        let text = if search.is_empty() {
            "No number has opted out."
        } else {
            "No opted-out number matches this search."
        };
        return view! { <p class="muted">{text}</p> }.into_any();
    }
    // The search is digits only (see `opt_outs`): safe in an address as it is.
    let digits: String = search.chars().filter(char::is_ascii_digit).collect();
    let query = move |page: i64| {
        if digits.is_empty() {
            format!("{PAGE}?page={page}")
        } else {
            format!("{PAGE}?q={digits}&page={page}")
        }
    };
    view! {
        <p class="muted small">{format!("{total} opted-out number{}", if total == 1 { "" } else { "s" })}</p>
        <div class="table-scroll" tabindex="0" role="region" aria-label="Opted-out numbers (scrolls sideways)">
            <table>
                <thead>
                    <tr>
                        <th scope="col">"Number"</th>
                        <th scope="col">"Why"</th>
                        <th scope="col">"Since"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|row| {
                        let remove_label = format!("Remove the opt-out of {}", row.phone);
                        view! {
                            <tr>
                                <th scope="row">{row.phone.clone()}</th>
                                <td>
                                    {row.reason}
                                    {row.added_by.map(|by| view! { <span class="muted small block">{format!("by {by}")}</span> })}
                                </td>
                                <td class="nowrap">{row.when}</td>
                                <td>
                                    <Form method="GET" action=PAGE attr:class="inline">
                                        <input type="hidden" name="remove" value=row.phone/>
                                        <button type="submit" class="button small" aria-label=remove_label>"Remove"</button>
                                    </Form>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        {(pages > 1).then(|| view! {
            <nav class="pager" aria-label="Opt-out pages">
                {(page > 1).then(|| view! { <a href=query(page - 1)>"Previous"</a> })}
                <span class="small">{format!("Page {page} of {pages}")}</span>
                {(page < pages).then(|| view! { <a href=query(page + 1)>"Next"</a> })}
            </nav>
        })}
    }
    .into_any()
}

/// Removing an opt-out, confirmed: the person must have asked for it.
#[component]
fn RemoveDialog(phone: String, remove: ServerAction<RemoveOptOut>) -> impl IntoView {
    let error = move || remove.value().get().and_then(Result::err);
    let confirm_error = Signal::derive(move || match error() {
        Some(AppError::Invalid(errors)) => errors.get(FormField::AskedAgain),
        _ => None,
    });
    let other_error = move || match error() {
        Some(AppError::Invalid(errors)) => errors.form,
        Some(other) => Some(other.to_string()),
        None => None,
    };
    view! {
        <div class="dialog" role="alertdialog" aria-labelledby="remove-opt-out-title" aria-describedby="remove-opt-out-description">
            <h3 id="remove-opt-out-title">{format!("Remove the opt-out of {phone}?")}</h3>
            <p id="remove-opt-out-description">
                "Campaigns will message this number again. Remove an opt-out only when the person asked to receive messages again; who removed it, and when, is recorded. "
                "If they opted out by replying STOP, Twilio itself keeps refusing to send to them until they reply START."
            </p>
            <ActionForm action=remove>
                <input type="hidden" name="phone" value=phone.clone()/>
                <div class="field">
                    <label class="checkbox">
                        <input type="checkbox" name="asked_again" value="yes" required
                            aria-describedby="asked_again-error"/>
                        " This person asked to receive messages again"
                    </label>
                    <p class="field-error" id="asked_again-error" aria-live="polite">{move || confirm_error.get()}</p>
                </div>
                {move || other_error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <div class="form-actions">
                    <button type="submit" class="button danger-filled" disabled=move || remove.pending().get()>"Remove opt-out"</button>
                    <a class="button" href=PAGE>"Cancel"</a>
                </div>
            </ActionForm>
        </div>
    }
}

#[component]
fn AddPanel(add: ServerAction<AddOptOut>) -> impl IntoView {
    let error = move || add.value().get().and_then(Result::err);
    let phone_error = Signal::derive(move || match error() {
        Some(AppError::Invalid(errors)) => errors.get(FormField::Phone),
        Some(other) => Some(other.to_string()),
        None => None,
    });
    let done = move || {
        add.value().get().and_then(Result::ok).map(|added| {
            if added {
                "Added: this number will not be messaged."
            } else {
                "This number was opted out already."
            }
        })
    };
    view! {
        <section class="panel" aria-labelledby="add-opt-out-title">
            <header class="panel-header">
                <div>
                    <h2 id="add-opt-out-title">"Add opt-out"</h2>
                    <p class="muted">"For someone who asked, by phone or in person, not to be messaged."</p>
                </div>
            </header>
            {move || done().map(|text| view! { <p class="confirmation" role="status">{text}</p> }.into_any())}
            <ActionForm action=add>
                <Field id="opt-out-phone" label="Phone number" hint="With its country code, like +14155552671; without one it is read as a number of your organisation's default country." error=phone_error>
                    <input id="opt-out-phone" name="phone" type="tel" required autocomplete="off"
                        aria-describedby="opt-out-phone-hint opt-out-phone-error"/>
                </Field>
                <button type="submit" class="button primary" disabled=move || add.pending().get()>"Add opt-out"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

#[component]
fn ImportPanel(import: ServerAction<ImportOptOuts>) -> impl IntoView {
    let error = move || import.value().get().and_then(Result::err);
    let numbers_error = Signal::derive(move || match error() {
        Some(AppError::Invalid(errors)) => errors.get(FormField::OptOutNumbers).or(errors.form),
        Some(other) => Some(other.to_string()),
        None => None,
    });
    view! {
        <section class="panel" aria-labelledby="import-opt-outs-title">
            <header class="panel-header">
                <div>
                    <h2 id="import-opt-outs-title">"Import opt-outs"</h2>
                    <p class="muted">"Opt-outs kept elsewhere, added all at once. Numbers already opted out keep their reason."</p>
                </div>
            </header>
            <ActionForm action=import>
                <Field id="opt-out-numbers" label="Phone numbers or CSV" hint="One or more numbers per line, or a CSV with a phone column." error=numbers_error>
                    <textarea id="opt-out-numbers" name="numbers" rows="5" spellcheck="false" required
                        aria-describedby="opt-out-numbers-hint opt-out-numbers-error"></textarea>
                </Field>
                <button type="submit" class="button" disabled=move || import.pending().get()>
                    {move || if import.pending().get() { "Importing…" } else { "Import opt-outs" }}
                </button>
            </ActionForm>
            {move || import.value().get().and_then(Result::ok).map(|result| view! { <ImportSummary result/> }.into_any())}
        </section>
    }
    .into_any()
}

#[component]
fn ImportSummary(result: ImportResult) -> impl IntoView {
    view! {
        <div class="audience-summary" role="status">
            <p><strong>{format!("{} opt-out{} added", result.added, if result.added == 1 { "" } else { "s" })}</strong>
                {format!(" · {} already opted out · {} duplicates merged · {} invalid", result.already, result.duplicates, result.invalid_total)}
            </p>
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
