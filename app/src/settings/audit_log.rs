//! Settings > Audit log: every team change and every Twilio Integration
//! change, newest first, a page at a time. Never a secret.

use leptos::{either::Either, prelude::*};
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

pub const PAGE: &str = "/outreach/settings/audit-log";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLogView {
    pub entries: Vec<AuditEntry>,
    /// Where the next (older) page starts, when there is one.
    pub older: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
}

/// A page of the audit log: the newest, or the entries older than
/// `before` (the `older` of the page before).
#[server(endpoint = "audit_log")]
pub async fn audit_log(before: Option<i64>) -> Result<AuditLogView, AppError> {
    use domain::audit;

    let (user, state, _) = crate::auth::ssr::require_subscribed_org_admin().await?;
    let mut entries = audit::fetch(
        &state.services.pool,
        user.organisation_id,
        None,
        before,
        audit::PAGE_SIZE + 1,
    )
    .await
    .map_err(AppError::internal)?;
    let more = entries.len() as i64 > audit::PAGE_SIZE;
    entries.truncate(audit::PAGE_SIZE as usize);
    Ok(AuditLogView {
        older: more.then(|| entries.last().map(|e| e.id)).flatten(),
        entries: entries
            .into_iter()
            .map(|e| AuditEntry {
                at: user.local_time(e.at),
                actor: e.actor,
                action: e.action,
            })
            .collect(),
    })
}

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let query = use_query_map();
    let before = move || {
        query
            .read()
            .get("before")
            .and_then(|b| b.parse::<i64>().ok())
    };
    let log = Resource::new(before, audit_log);
    view! {
        <leptos_meta::Title text="Audit log"/>
        <section class="panel" aria-labelledby="audit-title">
            <header class="panel-header">
                <div>
                    <h2 id="audit-title">"Audit log"</h2>
                    <p class="muted">"Who changed the team or the Twilio Integration, what, and when, newest first. Secrets are never recorded."</p>
                </div>
            </header>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match log.await {
                        Ok(log) => Either::Left(view! { <AuditTable log paged=before().is_some()/> }),
                        Err(e) => Either::Right(view! { <p class="error" role="alert">{e.to_string()}</p> }),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn AuditTable(log: AuditLogView, paged: bool) -> impl IntoView {
    if log.entries.is_empty() && !paged {
        return view! { <p class="muted">"Nothing has been changed yet."</p> }.into_any();
    }
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label="Audit log (scrolls sideways)">
            <table class="changes">
                <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th></tr></thead>
                <tbody>
                    {log.entries.into_iter().map(|e| view! {
                        <tr><td class="nowrap">{e.at}</td><td>{e.actor}</td><td class="what">{e.action}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        {(paged || log.older.is_some()).then(|| view! {
            <nav class="pager" aria-label="Audit log pages">
                {paged.then(|| view! { <a href=PAGE>"Newest entries"</a> })}
                {log.older.map(|older| view! { <a href=format!("{PAGE}?before={older}")>"Older entries"</a> })}
            </nav>
        })}
    }
    .into_any()
}
