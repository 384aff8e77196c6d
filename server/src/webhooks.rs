//! Twilio's webhooks: status callbacks and inbound replies. Each request is
//! verified with the organisation's Auth Token over the URL rebuilt from
//! `OUTREACH_PUBLIC_URL` (never the Host header) before anything is written.

use app::state::AppState;
use axum::{
    Extension, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::post,
};
use domain::{
    db::{Pool, group_commit::GroupCommit},
    delivery::{
        events::{DeliveryEvent, Recorded, StatusCallback},
        inbound::{InboundMessage, keyword, record_inbound_reply},
        signature::verify_signature,
    },
    organisations::{OrganisationId, fetch_organisation_by_public_id},
    sms_settings::integration::{fetch_integration_by_public_id, saved_auth_token},
    twilio::credentials::{AccountSid, AuthToken},
};

/// The URL Twilio signed is rebuilt from `AppState::public_origin`
/// (`OUTREACH_PUBLIC_URL`). Status callbacks are stored in groups: at
/// hundreds a second, one commit for all that arrived meanwhile.
pub fn router(pool: Pool) -> Router<AppState> {
    let delivery_events = GroupCommit::<DeliveryEvent>::start(pool, "status callbacks");
    Router::new()
        .route("/webhooks/twilio/status/{public_id}", post(status_callback))
        .route(
            "/webhooks/twilio/inbound/{public_id}",
            post(inbound_message),
        )
        .layer(Extension(delivery_events))
}

async fn status_callback(
    State(state): State<AppState>,
    Extension(delivery_events): Extension<GroupCommit<DeliveryEvent>>,
    Path(public_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Verified {
        organisation,
        params,
        ..
    } = match verify(&state, &public_id, &uri, &headers, &body).await {
        Ok(verified) => verified,
        Err(refusal) => {
            domain::metrics::status_callback(false);
            return refusal;
        }
    };
    let callback = match StatusCallback::parse(params) {
        Ok(callback) => callback,
        Err(e) => {
            domain::metrics::status_callback(false);
            return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
        }
    };
    // `m` is the message the callback URL was made for (see sending).
    let message_id = uri.query().and_then(|query| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .ok()?
            .into_iter()
            .find(|(key, _)| key == "m")?
            .1
            .parse::<i64>()
            .ok()
            .map(domain::ids::MessageId)
    });
    let status = callback.message_status().to_owned();
    let error_code = callback.error_code();
    let event = DeliveryEvent {
        organisation,
        message_id,
        callback,
        received_at: domain::clock::now(),
    };
    match delivery_events.write(event).await {
        Ok(recorded) => {
            domain::metrics::status_callback(true);
            if recorded == Recorded::Applied && matches!(status.as_str(), "failed" | "undelivered")
            {
                domain::metrics::message_failed(error_code);
            }
            tracing::debug!(
                organisation_id = %organisation,
                ?recorded,
                status,
                "status callback"
            );
            StatusCode::OK.into_response()
        }
        Err(e) => {
            tracing::error!(error = ?e, organisation_id = %organisation, "could not record a status callback");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn inbound_message(
    State(state): State<AppState>,
    Path(public_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Verified {
        organisation,
        params,
        account_sid,
        auth_token,
    } = match verify(&state, &public_id, &uri, &headers, &body).await {
        Ok(verified) => verified,
        Err(refusal) => return refusal,
    };
    let field = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let (Some(message_sid), Some(from), Some(text)) =
        (field("MessageSid"), field("From"), field("Body"))
    else {
        return (
            StatusCode::BAD_REQUEST,
            "MessageSid, From and Body are required",
        )
            .into_response();
    };
    let now = domain::clock::now();
    // A keyword's order is when Twilio received it, not when its webhook
    // arrived (a retried webhook can arrive after a later one).
    let sent_at = match keyword(text) {
        Some(_) => state
            .services
            .twilio
            .fetch_message(&account_sid, &auth_token, message_sid)
            .await
            .inspect_err(|e| tracing::warn!(organisation_id = %organisation, error = %e, "could not look up an inbound message's time"))
            .ok()
            .and_then(|found| found.created_at)
            .unwrap_or(now),
        None => now,
    };
    let message = InboundMessage {
        message_sid,
        from,
        body: text,
        sent_at,
    };
    if let Err(e) = record_inbound_reply(&state.services.pool, organisation, message, now).await {
        tracing::error!(error = ?e, organisation_id = %organisation, "could not record a reply");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    // An empty TwiML answer: Outreach sends no reply of its own (Twilio's
    // opt-out handling confirms STOP and START to the person).
    (
        [(header::CONTENT_TYPE, "text/xml")],
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>",
    )
        .into_response()
}

/// A request Twilio signed, for this organisation.
struct Verified {
    organisation: OrganisationId,
    params: Vec<(String, String)>,
    account_sid: AccountSid,
    auth_token: AuthToken,
}

/// The organisation and the posted parameters, if the request is Twilio's:
/// 404 for an unknown organisation, 400 for a body that is not a form, 403
/// for a missing or wrong signature. Nothing is written before this passes.
async fn verify(
    state: &AppState,
    public_id: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Verified, Response> {
    let internal = |e: anyhow::Error| {
        tracing::error!(error = ?e, "could not verify a webhook");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    };
    let integration = fetch_integration_by_public_id(&state.services.pool, public_id)
        .await
        .map_err(internal)?;
    // Only without an integration is the organisation looked up on its own.
    let organisation = match &integration {
        Some(integration) => integration.organisation_id,
        None => {
            fetch_organisation_by_public_id(&state.services.pool, public_id)
                .await
                .map_err(internal)?
                .ok_or_else(|| (StatusCode::NOT_FOUND, "No such organisation").into_response())?
                .id
        }
    };
    tracing::Span::current().record("organisation_id", tracing::field::display(organisation));
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let params: Vec<(String, String)> = is_form
        .then(|| serde_urlencoded::from_bytes(body).ok())
        .flatten()
        .ok_or_else(|| (StatusCode::BAD_REQUEST, "Expected a form-encoded body").into_response())?;
    let forbidden = || (StatusCode::FORBIDDEN, "Invalid Twilio signature").into_response();
    let signature = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(forbidden)?;
    let integration = integration.ok_or_else(forbidden)?;
    let token = saved_auth_token(&state.services.keyring, &integration).map_err(|_| forbidden())?;
    let url = format!(
        "{}{}",
        state.public_origin,
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    if !verify_signature(token.expose_secret().as_bytes(), &url, &params, signature) {
        tracing::warn!(
            organisation_id = %organisation,
            "refused a webhook with a wrong signature"
        );
        return Err(forbidden());
    }
    Ok(Verified {
        organisation,
        params,
        account_sid: integration.account_sid,
        auth_token: token,
    })
}
