//! Twilio's webhooks: status callbacks and inbound replies. Each request is
//! verified with the organisation's Auth Token over the URL rebuilt from
//! `OUTREACH_PUBLIC_URL` (never the Host header) before anything is written.
//! The keys are read from the database at most every few seconds per
//! organisation (`WebhookKeys`), and status callbacks are committed in
//! groups (`db::group_commit`): at hundreds a second, the per-callback
//! database work is the event itself.

use std::{
    borrow::Cow,
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

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
    delivery::{
        events::{DeliveryEvent, Recorded, StatusCallback},
        inbound::{InboundMessage, Keyword, classify, record_inbound_reply},
        signature::{posted_pairs, verify_signature},
        writer::{self, DeliveryWriter},
    },
    organisations::{OrganisationId, fetch_organisation_by_public_id},
    sms_settings::integration::{fetch_integration_by_public_id, saved_auth_token},
    twilio::credentials::{AccountSid, AuthToken},
};

/// The URL Twilio signed is rebuilt from `AppState::public_origin`
/// (`OUTREACH_PUBLIC_URL`).
pub fn router(deliveries: DeliveryWriter) -> Router<AppState> {
    Router::new()
        .route("/webhooks/twilio/status/{public_id}", post(status_callback))
        .route(
            "/webhooks/twilio/inbound/{public_id}",
            post(inbound_message),
        )
        .layer(Extension(deliveries))
        .layer(Extension(WebhookKeys::default()))
}

async fn status_callback(
    State(state): State<AppState>,
    Extension(keys): Extension<WebhookKeys>,
    Extension(deliveries): Extension<DeliveryWriter>,
    Path(public_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Verified {
        organisation,
        params,
        ..
    } = match verify(&state, &keys, &public_id, &uri, &headers, &body).await {
        Ok(verified) => verified,
        Err(refusal) => {
            domain::metrics::status_callback(false);
            return refusal;
        }
    };
    let callback = match StatusCallback::parse(&params) {
        Ok(callback) => callback,
        Err(e) => {
            domain::metrics::status_callback(false);
            return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
        }
    };
    // `m` is the message the callback URL was made for (see sending).
    let message_id = uri.query().and_then(|query| {
        posted_pairs(query.as_bytes())
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
    match writer::record_callback(&deliveries, event).await {
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
    Extension(keys): Extension<WebhookKeys>,
    Path(public_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Verified {
        organisation,
        params,
        credentials,
    } = match verify(&state, &keys, &public_id, &uri, &headers, &body).await {
        Ok(verified) => verified,
        Err(refusal) => return refusal,
    };
    let field = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_ref())
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
    let opt_out_type = field("OptOutType").filter(|t| !t.is_empty());
    // An opt-out keyword's order is when Twilio received it, not when its
    // webhook arrived (a retried webhook can arrive after a later one).
    let sent_at = match classify(text, opt_out_type) {
        Some(Keyword::OptOut | Keyword::OptIn) => state
            .services
            .twilio
            .fetch_message(&credentials.account_sid, &credentials.auth_token, message_sid)
            .await
            .inspect_err(|e| tracing::warn!(organisation_id = %organisation, error = %e, "could not look up an inbound message's time"))
            .ok()
            .and_then(|found| found.created_at)
            .unwrap_or(now),
        Some(Keyword::Help) | None => now,
    };
    let message = InboundMessage {
        message_sid,
        from,
        body: text,
        opt_out_type,
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
struct Verified<'body> {
    organisation: OrganisationId,
    /// Borrowed from the body where decoding changes nothing.
    params: Vec<(Cow<'body, str>, Cow<'body, str>)>,
    credentials: Arc<WebhookCredentials>,
}

/// What verifying an organisation's webhooks needs: who it is and, once
/// an integration is saved, the credentials Twilio signs with.
#[derive(Clone)]
struct WebhookKey {
    organisation: OrganisationId,
    credentials: Option<Arc<WebhookCredentials>>,
}

/// The account Twilio signs an organisation's webhooks for, and its token.
/// Shared, not copied, with each callback: no copy of the token per
/// request.
struct WebhookCredentials {
    account_sid: AccountSid,
    auth_token: AuthToken,
}

/// Organisations' webhook keys, read from the database at most every few
/// seconds instead of on every callback (hundreds a second while a
/// campaign runs). A signature that fails against a kept key is checked
/// again against the database's, so a token saved since is used at once;
/// a removed integration stops verifying within `KEPT_FOR`.
#[derive(Clone, Default)]
pub struct WebhookKeys(Arc<Mutex<HashMap<String, (Instant, WebhookKey)>>>);

const KEPT_FOR: Duration = Duration::from_secs(5);
/// Organisations kept at most: a flood of made-up ids cannot grow it.
const MOST_KEPT: usize = 10_000;

impl WebhookKeys {
    fn kept(&self, public_id: &str) -> Option<WebhookKey> {
        let keys = self.0.lock().expect("never poisoned");
        keys.get(public_id)
            .filter(|(read_at, _)| read_at.elapsed() < KEPT_FOR)
            .map(|(_, key)| key.clone())
    }

    fn keep(&self, public_id: &str, key: WebhookKey) {
        let mut keys = self.0.lock().expect("never poisoned");
        if keys.len() >= MOST_KEPT {
            keys.retain(|_, (read_at, _)| read_at.elapsed() < KEPT_FOR);
            if keys.len() >= MOST_KEPT {
                keys.clear();
            }
        }
        keys.insert(public_id.to_owned(), (Instant::now(), key));
    }
}

/// The organisation's key as saved now. `Ok(None)`: no such organisation.
async fn read_key(state: &AppState, public_id: &str) -> anyhow::Result<Option<WebhookKey>> {
    let pool = &state.services.pool;
    let Some(integration) = fetch_integration_by_public_id(pool, public_id).await? else {
        // Only without an integration is the organisation looked up on its own.
        return Ok(fetch_organisation_by_public_id(pool, public_id)
            .await?
            .map(|organisation| WebhookKey {
                organisation: organisation.id,
                credentials: None,
            }));
    };
    // A token no key decrypts verifies nothing (and is logged once per read).
    let token = saved_auth_token(&state.services.keyring, &integration).ok();
    Ok(Some(WebhookKey {
        organisation: integration.organisation_id,
        credentials: token.map(|auth_token| {
            Arc::new(WebhookCredentials {
                account_sid: integration.account_sid,
                auth_token,
            })
        }),
    }))
}

/// The organisation and the posted parameters, if the request is Twilio's:
/// 404 for an unknown organisation, 400 for a body that is not a form, 403
/// for a missing or wrong signature. Nothing is written before this passes.
async fn verify<'body>(
    state: &AppState,
    keys: &WebhookKeys,
    public_id: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &'body [u8],
) -> Result<Verified<'body>, Response> {
    let internal = |e: anyhow::Error| {
        tracing::error!(error = ?e, "could not verify a webhook");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    };
    let (mut key, kept) = match keys.kept(public_id) {
        Some(key) => (key, true),
        None => {
            let key = read_key(state, public_id)
                .await
                .map_err(internal)?
                .ok_or_else(|| (StatusCode::NOT_FOUND, "No such organisation").into_response())?;
            keys.keep(public_id, key.clone());
            (key, false)
        }
    };
    tracing::Span::current().record("organisation_id", tracing::field::display(key.organisation));
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err((StatusCode::BAD_REQUEST, "Expected a form-encoded body").into_response());
    }
    let params = posted_pairs(body);
    let forbidden = || (StatusCode::FORBIDDEN, "Invalid Twilio signature").into_response();
    let signature = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(forbidden)?;
    let url = format!(
        "{}{}",
        state.public_origin,
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let signed_with = |key: &WebhookKey| {
        key.credentials.as_ref().is_some_and(|credentials| {
            let token = credentials.auth_token.expose_secret().as_bytes();
            verify_signature(token, &url, &params, signature)
        })
    };
    let mut verified = signed_with(&key);
    if !verified && kept {
        // Saved since it was kept, perhaps: ask the database.
        if let Some(fresh) = read_key(state, public_id).await.map_err(internal)? {
            keys.keep(public_id, fresh.clone());
            verified = signed_with(&fresh);
            key = fresh;
        }
    }
    let (true, Some(credentials)) = (verified, key.credentials) else {
        tracing::warn!(
            organisation_id = %key.organisation,
            "refused a webhook with a wrong signature"
        );
        return Err(forbidden());
    };
    Ok(Verified {
        organisation: key.organisation,
        params,
        credentials,
    })
}
