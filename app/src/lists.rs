//! Outreach > Lists: named lists of contacts, for campaigns' audiences.
//! Campaigners and Org Admins create, rename and delete them, add contacts
//! from a CSV, take members off, and choose lists in the campaign wizard
//! (or save a checked audience as a list there).

use leptos::{either::Either, prelude::*};
use leptos_router::{
    components::{A, Form},
    hooks::{use_params_map, use_query_map},
};
use serde::{Deserialize, Serialize};

use crate::{
    contacts::{ContactRow, ContactsImport},
    error::{AppError, FormField},
    form::Field,
};

pub const PAGE: &str = "/outreach/lists";
#[cfg(feature = "ssr")]
const MEMBERS_PER_PAGE: i64 = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRow {
    pub id: i64,
    pub name: String,
    pub members: i64,
    pub created: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListDetailsView {
    pub list: ListRow,
    pub members: Vec<ContactRow>,
    pub next_after: Option<String>,
}

/// The members of chosen lists, as an audience for the wizard to check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListAudienceView {
    pub csv: String,
    pub members: usize,
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use domain::lists::{ListError, ListName, ListSummary};

    use super::ListRow;
    use crate::error::{AppError, FieldErrors, FormField};

    pub fn name(raw: &str) -> Result<ListName, AppError> {
        ListName::parse(raw)
            .map_err(|e| AppError::Invalid(FieldErrors::field(FormField::ListName, e.to_string())))
    }

    pub fn error(error: ListError) -> AppError {
        match error {
            ListError::NotFound => AppError::NotFound,
            ListError::NameTaken(_) => {
                AppError::Invalid(FieldErrors::field(FormField::ListName, error.to_string()))
            }
            ListError::Internal(e) => AppError::internal(e),
        }
    }

    pub fn row(list: ListSummary, viewer: &domain::sign_in::SignedInUser) -> ListRow {
        ListRow {
            id: list.id,
            name: list.name,
            members: list.members,
            created: viewer.local_time(list.created_at),
        }
    }
}

#[server(endpoint = "lists")]
pub async fn lists() -> Result<Vec<ListRow>, AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_member().await?;
    Ok(
        domain::lists::all(&state.services.pool, user.organisation_id)
            .await
            .map_err(AppError::internal)?
            .into_iter()
            .map(|list| ssr::row(list, &user))
            .collect(),
    )
}

#[server(endpoint = "create_list")]
pub async fn create_list(name: String) -> Result<i64, AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_member().await?;
    let name = ssr::name(&name)?;
    domain::lists::create(
        &state.services.pool,
        user.organisation_id,
        &name,
        domain::clock::now(),
    )
    .await
    .map_err(ssr::error)
}

#[server(endpoint = "rename_list")]
pub async fn rename_list(id: i64, name: String) -> Result<(), AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_member().await?;
    let name = ssr::name(&name)?;
    domain::lists::rename(&state.services.pool, user.organisation_id, id, &name)
        .await
        .map_err(ssr::error)?;
    leptos_axum::redirect(PAGE);
    Ok(())
}

#[server(endpoint = "delete_list")]
pub async fn delete_list(id: i64) -> Result<(), AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_member().await?;
    domain::lists::delete(&state.services.pool, user.organisation_id, id)
        .await
        .map_err(ssr::error)?;
    leptos_axum::redirect(PAGE);
    Ok(())
}

#[server(endpoint = "list_details")]
pub async fn list_details(id: i64, after: Option<String>) -> Result<ListDetailsView, AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_member().await?;
    let pool = &state.services.pool;
    let Some(list) = domain::lists::find(pool, user.organisation_id, id)
        .await
        .map_err(AppError::internal)?
    else {
        return Err(AppError::NotFound);
    };
    let mut members = domain::lists::members(
        pool,
        user.organisation_id,
        id,
        after.as_deref().filter(|a| !a.is_empty()),
        MEMBERS_PER_PAGE + 1,
    )
    .await
    .map_err(AppError::internal)?;
    let next_after = if members.len() as i64 > MEMBERS_PER_PAGE {
        members.truncate(MEMBERS_PER_PAGE as usize);
        members.last().map(|m| m.phone.clone())
    } else {
        None
    };
    Ok(ListDetailsView {
        list: ssr::row(list, &user),
        members: members
            .into_iter()
            .map(|m| ContactRow {
                name: format!("{} {}", m.first_name, m.last_name)
                    .trim()
                    .to_owned(),
                fields: String::new(),
                opted_out: false,
                phone: m.phone,
            })
            .collect(),
        next_after,
    })
}

/// Imports a CSV of contacts (as the Contacts page does) and adds them to
/// the list; with `check`, only says what it would do.
#[server(endpoint = "import_into_list")]
pub async fn import_into_list(
    id: i64,
    file: String,
    check: Option<String>,
) -> Result<ContactsImport, AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_member().await?;
    let pool = &state.services.pool;
    // Checked before the file is read: another organisation's list
    // imports nothing. `add_members` checks it again.
    if !domain::lists::exists(pool, user.organisation_id, id)
        .await
        .map_err(AppError::internal)?
    {
        return Err(AppError::NotFound);
    }
    let (result, phones) =
        crate::contacts::ssr::check_or_import(&user, &state, file, check.is_some()).await?;
    if result.imported {
        domain::lists::add_members(pool, user.organisation_id, id, &phones)
            .await
            .map_err(ssr::error)?;
    }
    Ok(result)
}

#[server(endpoint = "remove_from_list")]
pub async fn remove_from_list(id: i64, phone: String) -> Result<(), AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_member().await?;
    let removed =
        domain::lists::remove_member(&state.services.pool, user.organisation_id, id, &phone)
            .await
            .map_err(ssr::error)?;
    if !removed {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// The members of the lists (ids separated by commas), each contact once,
/// as an audience CSV.
#[server(endpoint = "list_audience")]
pub async fn list_audience(ids: String) -> Result<ListAudienceView, AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_member().await?;
    let ids: Vec<i64> = ids
        .split(',')
        .filter(|id| !id.trim().is_empty())
        .map(|id| id.trim().parse::<i64>().map_err(|_| AppError::NotFound))
        .collect::<Result<_, _>>()?;
    let (csv, members) =
        domain::lists::audience_csv(&state.services.pool, user.organisation_id, &ids)
            .await
            .map_err(AppError::internal)?;
    Ok(ListAudienceView { csv, members })
}

/// Saves an audience typed or uploaded in the wizard as a new list: its
/// recipients become contacts (numbers already there are updated with the
/// audience's columns) and members of the list.
#[server(endpoint = "save_as_list")]
pub async fn save_as_list(name: String, audience: String) -> Result<ListRow, AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_member().await?;
    let pool = &state.services.pool;
    let name = ssr::name(&name)?;
    // Checked first: an audience the checker refuses, or a name already
    // taken, changes nothing.
    crate::contacts::ssr::check_or_import(&user, &state, audience.clone(), true).await?;
    let id = domain::lists::create(pool, user.organisation_id, &name, domain::clock::now())
        .await
        .map_err(ssr::error)?;
    let (_, phones) = crate::contacts::ssr::check_or_import(&user, &state, audience, false).await?;
    domain::lists::add_members(pool, user.organisation_id, id, &phones)
        .await
        .map_err(ssr::error)?;
    let list = domain::lists::find(pool, user.organisation_id, id)
        .await
        .map_err(AppError::internal)?
        .ok_or(AppError::NotFound)?;
    Ok(ssr::row(list, &user))
}

/// Saves a campaign's audience as a new list, as the wizard's `Save as a
/// list` does.
#[server(endpoint = "save_campaign_as_list")]
pub async fn save_campaign_as_list(
    id: crate::campaigns::CampaignId,
    name: String,
) -> Result<ListRow, AppError> {
    let (user, state, _) = crate::auth::ssr::require_subscribed_member().await?;
    let name = ssr::name(&name)?;
    let Some(audience) =
        domain::lists::campaign_audience_csv(&state.services.pool, user.organisation_id, id)
            .await
            .map_err(AppError::internal)?
    else {
        return Err(AppError::NotFound);
    };
    save_as_list(name.as_str().to_owned(), audience).await
}

#[component]
pub fn ListsPage() -> impl IntoView {
    let create = ServerAction::<CreateList>::new();
    let rename = ServerAction::<RenameList>::new();
    let delete = ServerAction::<DeleteList>::new();
    let query = use_query_map();
    let all = Resource::new(
        move || create.version().get() + rename.version().get() + delete.version().get(),
        |_| lists(),
    );
    let name_error = Signal::derive(move || match create.value().get() {
        Some(Err(AppError::Invalid(errors))) => errors.get(FormField::ListName).or(errors.form),
        Some(Err(other)) => Some(other.to_string()),
        _ => None,
    });
    view! {
        <leptos_meta::Title text="Lists"/>
        <div class="page-heading">
            <h1>"Lists"</h1>
        </div>
        <section class="panel" aria-labelledby="lists-title">
            <header class="panel-header">
                <div>
                    <h2 id="lists-title">"Your lists"</h2>
                    <p class="muted">"Named lists of contacts. Choose them as a campaign's audience in its wizard: members of several lists are messaged once."</p>
                </div>
            </header>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match all.await {
                        Ok(rows) => Either::Left(view! {
                            <ListDialog rows=rows.clone() query rename delete/>
                            <ListTable rows/>
                        }),
                        Err(e) => Either::Right(view! { <p class="error" role="alert">{e.to_string()}</p> }),
                    }
                })}
            </Transition>
        </section>
        <section class="panel" aria-labelledby="create-list-title">
            <h2 id="create-list-title">"Create list"</h2>
            <ActionForm action=create>
                <Field id="list-name" label="Name" hint="Up to 100 characters, different from your other lists'." error=name_error>
                    <input id="list-name" name="name" type="text" required maxlength="100" autocomplete="off"
                        aria-describedby="list-name-hint list-name-error"/>
                </Field>
                {move || matches!(create.value().get(), Some(Ok(_))).then(|| view! { <p class="confirmation" role="status">"The list was created."</p> })}
                <button type="submit" class="button primary" disabled=move || create.pending().get()>"Create list"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

/// The rename or delete dialog the address asks for (`?rename=ID`,
/// `?delete=ID`), so both work before the page's code has loaded.
#[component]
fn ListDialog(
    rows: Vec<ListRow>,
    query: Memo<leptos_router::params::ParamsMap>,
    rename: ServerAction<RenameList>,
    delete: ServerAction<DeleteList>,
) -> impl IntoView {
    move || {
        let q = query.read();
        let find = |key: &str| {
            let id = q.get(key).and_then(|v| v.parse::<i64>().ok())?;
            rows.iter().find(|row| row.id == id).cloned()
        };
        match (find("rename"), find("delete")) {
            (Some(list), _) => view! { <RenameDialog list rename/> }.into_any(),
            (None, Some(list)) => view! { <DeleteDialog list delete/> }.into_any(),
            _ => ().into_any(),
        }
    }
}

#[component]
fn ListTable(rows: Vec<ListRow>) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="muted">"No lists yet: create one below."</p> }.into_any();
    }
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label="Lists (scrolls sideways)">
            <table>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Members"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|row| {
                        let rename_label = format!("Rename the list {}", row.name);
                        let delete_label = format!("Delete the list {}", row.name);
                        view! {
                            <tr>
                                <th scope="row"><A href=format!("{PAGE}/{}", row.id)>{row.name.clone()}</A></th>
                                <td>{row.members}</td>
                                <td class="nowrap">{row.created}</td>
                                <td class="nowrap">
                                    <Form method="GET" action=PAGE attr:class="inline">
                                        <input type="hidden" name="rename" value=row.id.to_string()/>
                                        <button type="submit" class="button small" aria-label=rename_label>"Rename"</button>
                                    </Form>
                                    " "
                                    <Form method="GET" action=PAGE attr:class="inline">
                                        <input type="hidden" name="delete" value=row.id.to_string()/>
                                        <button type="submit" class="button small" aria-label=delete_label>"Delete"</button>
                                    </Form>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn RenameDialog(list: ListRow, rename: ServerAction<RenameList>) -> impl IntoView {
    let name_error = Signal::derive(move || match rename.value().get() {
        Some(Err(AppError::Invalid(errors))) => errors.get(FormField::ListName).or(errors.form),
        Some(Err(other)) => Some(other.to_string()),
        _ => None,
    });
    view! {
        <div class="dialog" role="dialog" aria-labelledby="rename-list-title">
            <h3 id="rename-list-title">{format!("Rename the list {}", list.name)}</h3>
            <ActionForm action=rename>
                <input type="hidden" name="id" value=list.id.to_string()/>
                <Field id="new-list-name" label="New name" hint="Up to 100 characters." error=name_error>
                    <input id="new-list-name" name="name" type="text" required maxlength="100" value=list.name.clone()
                        aria-describedby="new-list-name-hint new-list-name-error"/>
                </Field>
                <div class="form-actions">
                    <button type="submit" class="button primary" disabled=move || rename.pending().get()>"Save name"</button>
                    <a class="button" href=PAGE>"Cancel"</a>
                </div>
            </ActionForm>
        </div>
    }
}

#[component]
fn DeleteDialog(list: ListRow, delete: ServerAction<DeleteList>) -> impl IntoView {
    view! {
        <div class="dialog" role="alertdialog" aria-labelledby="delete-list-title" aria-describedby="delete-list-description">
            <h3 id="delete-list-title">{format!("Delete the list {}?", list.name)}</h3>
            <p id="delete-list-description">
                {format!("The list goes; its {} members stay in Contacts, and campaigns already created from it keep their audience.", list.members)}
            </p>
            <ActionForm action=delete>
                <input type="hidden" name="id" value=list.id.to_string()/>
                <div class="form-actions">
                    <button type="submit" class="button danger-filled" disabled=move || delete.pending().get()>"Delete list"</button>
                    <a class="button" href=PAGE>"Cancel"</a>
                </div>
            </ActionForm>
        </div>
    }
}

/// One list: its members, taking them off, and adding contacts from a CSV.
#[component]
pub fn ListPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let import = ServerAction::<ImportIntoList>::new();
    let remove = ServerAction::<RemoveFromList>::new();
    let details = Resource::new(
        move || {
            (
                id(),
                query.read().get("after"),
                import.version().get() + remove.version().get(),
            )
        },
        |(id, after, _)| list_details(id, after),
    );
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match details.await {
                    Ok(details) => view! { <ListView details import remove/> }.into_any(),
                    Err(AppError::NotFound) => view! {
                        <crate::layout::Missing title="No such list" back_to=PAGE back_label="Back to Lists"/>
                    }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn ListView(
    details: ListDetailsView,
    import: ServerAction<ImportIntoList>,
    remove: ServerAction<RemoveFromList>,
) -> impl IntoView {
    let ListDetailsView {
        list,
        members,
        next_after,
    } = details;
    let here = format!("{PAGE}/{}", list.id);
    let file_error = Signal::derive(move || match import.value().get() {
        Some(Err(AppError::Invalid(errors))) => errors.get(FormField::ContactsFile).or(errors.form),
        Some(Err(other)) => Some(other.to_string()),
        _ => None,
    });
    view! {
        <leptos_meta::Title text=list.name.clone()/>
        <div class="page-heading">
            <h1>{list.name.clone()}</h1>
            <a href=PAGE class="button">"All lists"</a>
        </div>
        <section class="panel" aria-labelledby="members-title">
            <h2 id="members-title">{format!("Members ({})", list.members)}</h2>
            {if members.is_empty() {
                view! { <p class="muted">"No members yet: add contacts from a CSV below."</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll" tabindex="0" role="region" aria-label="Members (scrolls sideways)">
                        <table>
                            <thead><tr><th scope="col">"Number"</th><th scope="col">"Name"</th><th scope="col">"Actions"</th></tr></thead>
                            <tbody>
                                {members.into_iter().map(|member| {
                                    let label = format!("Remove {} from the list", member.phone);
                                    view! {
                                        <tr>
                                            <th scope="row">{member.phone.clone()}</th>
                                            <td>{member.name}</td>
                                            <td>
                                                <ActionForm action=remove attr:class="inline">
                                                    <input type="hidden" name="id" value=list.id.to_string()/>
                                                    <input type="hidden" name="phone" value=member.phone/>
                                                    <button type="submit" class="button small" aria-label=label>"Remove"</button>
                                                </ActionForm>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
            {next_after.map(|after| view! {
                <nav class="pager" aria-label="Member pages">
                    <a href=here.clone()>"First page"</a>
                    <a href=format!("{here}?after={}", crate::contacts::encode_query_value(&after))>"Next page"</a>
                </nav>
            })}
        </section>
        <section class="panel" aria-labelledby="add-members-title">
            <h2 id="add-members-title">"Add contacts"</h2>
            <p class="muted">"A CSV with a phone column, as on the Contacts page: its people become contacts (or are updated) and join this list."</p>
            <ActionForm action=import>
                <input type="hidden" name="id" value=list.id.to_string()/>
                <Field id="contacts-file" label="Contacts CSV" hint="first_name and last_name are names; other columns are fields." error=file_error>
                    <textarea id="contacts-file" name="file" rows="6" spellcheck="false" required
                        aria-describedby="contacts-file-hint contacts-file-error"></textarea>
                </Field>
                <div class="form-actions">
                    <button type="submit" name="check" value="yes" class="button" disabled=move || import.pending().get()>"Check contacts"</button>
                    <button type="submit" class="button primary" disabled=move || import.pending().get()>"Import into list"</button>
                </div>
            </ActionForm>
            {move || import.value().get().and_then(Result::ok).map(|result| view! { <crate::contacts::ImportSummary result/> }.into_any())}
        </section>
    }
    .into_any()
}

/// `Save as a list` under a campaign's facts: its audience, kept as a list
/// of contacts.
#[component]
pub fn SaveCampaignAsList(id: crate::campaigns::CampaignId) -> impl IntoView {
    let save = ServerAction::<SaveCampaignAsList>::new();
    let name_error = Signal::derive(move || match save.value().get() {
        Some(Err(AppError::Invalid(errors))) => errors
            .get(FormField::ListName)
            .or_else(|| errors.get(FormField::ContactsFile))
            .or(errors.form),
        Some(Err(other)) => Some(other.to_string()),
        _ => None,
    });
    view! {
        <details class="save-as-list">
            <summary>"Save the audience as a list"</summary>
            <ActionForm action=save>
                <input type="hidden" name="id" value=id.to_string()/>
                <Field id="campaign-list-name" label="List name" hint="Its recipients become contacts (or are updated) and members of the new list." error=name_error>
                    <input id="campaign-list-name" name="name" type="text" required maxlength="100" autocomplete="off"
                        aria-describedby="campaign-list-name-hint campaign-list-name-error"/>
                </Field>
                <button type="submit" class="button" disabled=move || save.pending().get()>"Save as a list"</button>
            </ActionForm>
            {move || save.value().get().and_then(Result::ok).map(|list| view! {
                <p class="confirmation" role="status">
                    {format!("Saved as the list {} ({} members). ", list.name, list.members)}
                    <A href=format!("{PAGE}/{}", list.id)>"Open it"</A>
                </p>
            })}
        </details>
    }
    .into_any()
}
