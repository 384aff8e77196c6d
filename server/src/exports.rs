//! Downloads that are files rather than pages: a campaign's results as CSV.

use app::{auth::ssr::RequestSession, routes, state::AppState};
use axum::{
    Extension, Router,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use domain::{
    campaigns::{results::export_csv, store::fetch_campaign},
    organisations::{SubscriptionState, fetch_organisation},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/outreach/campaigns/{id}/results.csv", get(results_csv))
}

/// Any member of the campaign's organisation (with an active subscription),
/// like the campaign page itself.
async fn results_csv(
    State(state): State<AppState>,
    Extension(session): Extension<RequestSession>,
    Path(id): Path<domain::ids::CampaignId>,
) -> Response {
    tracing::Span::current().record("campaign_id", tracing::field::display(id));
    let Some(user) = session.user else {
        return Redirect::to(routes::SIGN_IN).into_response();
    };
    let internal = |e: anyhow::Error| {
        tracing::error!(error = ?e, "could not export results");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "The results could not be exported. Try again in a moment.",
        )
            .into_response()
    };
    match fetch_organisation(&state.services.pool, user.organisation_id).await {
        Ok(organisation) if organisation.subscription == SubscriptionState::Active => {}
        Ok(_) => {
            return (
                StatusCode::FORBIDDEN,
                "Your organisation does not have access to Outreach.",
            )
                .into_response();
        }
        Err(e) => return internal(e),
    }
    match fetch_campaign(&state.services.pool, user.organisation_id, id).await {
        Ok(Some(_)) => {}
        Ok(None) => return (StatusCode::NOT_FOUND, "There is no such campaign.").into_response(),
        Err(e) => return internal(e),
    }
    match export_csv(&state.services.pool, id).await {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"campaign-{id}-results.csv\""),
                ),
            ],
            csv,
        )
            .into_response(),
        Err(e) => internal(e),
    }
}
