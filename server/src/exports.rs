//! Downloads that are files rather than pages: a campaign's results, and
//! the organisation's opt-outs and contacts, as CSV.

use app::{auth::ssr::RequestSession, routes, state::AppState};
use axum::{
    Extension, Router,
    body::Body,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use domain::{
    campaigns::{results::export_csv, store::fetch_campaign},
    organisations::{SubscriptionState, fetch_organisation},
};
use futures_util::{Stream, StreamExt, TryStreamExt, stream};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/outreach/campaigns/{id}/results.csv", get(results_csv))
        .route(app::opt_outs::EXPORT, get(opt_outs_csv))
        .route(app::contacts::EXPORT, get(contacts_csv))
}

/// Any member of the campaign's organisation (with an active subscription),
/// like the campaign page itself.
async fn results_csv(
    State(state): State<AppState>,
    Extension(session): Extension<RequestSession>,
    Path(id): Path<domain::ids::CampaignId>,
) -> Response {
    tracing::Span::current().record("campaign_id", tracing::field::display(id));
    let user = match subscribed_member(&state, session).await {
        Ok(user) => user,
        Err(refused) => return refused,
    };
    match fetch_campaign(&state.services.pool, user.organisation_id, id).await {
        Ok(Some(_)) => {}
        Ok(None) => return (StatusCode::NOT_FOUND, "There is no such campaign.").into_response(),
        Err(e) => return failed("results", e),
    }
    let file = format!("campaign-{id}-results.csv");
    csv_download(export_csv(state.services.pool.clone(), id), file, "results").await
}

/// Any member of the organisation (with an active subscription), like the
/// Opt-outs page itself.
async fn opt_outs_csv(
    State(state): State<AppState>,
    Extension(session): Extension<RequestSession>,
) -> Response {
    let user = match subscribed_member(&state, session).await {
        Ok(user) => user,
        Err(refused) => return refused,
    };
    let parts = domain::opt_outs::export_csv(state.services.pool.clone(), user.organisation_id);
    csv_download(parts, "opt-outs.csv".to_owned(), "opt-outs").await
}

/// Any member of the organisation (with an active subscription), like the
/// Contacts page itself.
async fn contacts_csv(
    State(state): State<AppState>,
    Extension(session): Extension<RequestSession>,
) -> Response {
    let user = match subscribed_member(&state, session).await {
        Ok(user) => user,
        Err(refused) => return refused,
    };
    // The header's columns are read before answering.
    match domain::contacts::export_csv(state.services.pool.clone(), user.organisation_id).await {
        Ok(parts) => csv_download(parts, "contacts.csv".to_owned(), "contacts").await,
        Err(e) => failed("contacts", e),
    }
}

/// The file goes out part by part as it is read. The first part is read
/// before answering, so that a database that cannot be read gets the error
/// page rather than a file cut short; a later failure can only cut it short
/// (the browser reports a failed download), and is logged.
async fn csv_download(
    parts: impl Stream<Item = anyhow::Result<Vec<u8>>> + Send + 'static,
    file: String,
    what: &'static str,
) -> Response {
    let mut parts = Box::pin(parts);
    let first = match parts.next().await {
        Some(Ok(first)) => first,
        Some(Err(e)) => return failed(what, e),
        None => Vec::new(),
    };
    let log_file = file.clone();
    let rest = parts.inspect_err(move |e| {
        tracing::error!(error = ?e, what, file = %log_file, "a download was cut short");
    });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        Body::from_stream(stream::once(async { anyhow::Ok(first) }).chain(rest)),
    )
        .into_response()
}

/// The signed-in person, if their organisation has an active subscription;
/// otherwise the answer to send instead.
async fn subscribed_member(
    state: &AppState,
    session: RequestSession,
) -> Result<domain::sign_in::SignedInUser, Response> {
    let Some(user) = session.user else {
        return Err(Redirect::to(routes::SIGN_IN).into_response());
    };
    match fetch_organisation(&state.services.pool, user.organisation_id).await {
        Ok(organisation) if organisation.subscription == SubscriptionState::Active => Ok(user),
        Ok(_) => Err((
            StatusCode::FORBIDDEN,
            "Your organisation does not have access to Outreach.",
        )
            .into_response()),
        Err(e) => Err(failed("export", e)),
    }
}

fn failed(what: &str, error: anyhow::Error) -> Response {
    tracing::error!(error = ?error, what, "could not export");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "The file could not be exported. Try again in a moment.",
    )
        .into_response()
}
