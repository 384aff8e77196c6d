//! The Outreach subscription gate: what an organisation without an active
//! subscription sees on every Outreach page, and its `Request access` button.

use leptos::prelude::*;

use crate::{
    auth::{Subscription, Viewer},
    error::AppError,
};

#[server(endpoint = "request_access")]
pub async fn request_access() -> Result<Subscription, AppError> {
    let user = crate::auth::ssr::require_user().await?;
    let state = crate::auth::ssr::state()?;
    let organisation = domain::organisations::request_access(
        &state.services.pool,
        user.organisation_id,
        &user.email,
        domain::clock::now(),
    )
    .await
    .map_err(AppError::internal)?;
    tracing::info!(
        organisation_id = %organisation.id,
        user_id = %user.user_id,
        "Outreach access requested"
    );
    Ok(crate::auth::ssr::subscription_view(&organisation))
}

#[component]
pub fn SubscriptionGate(viewer: Viewer) -> impl IntoView {
    let requested = match &viewer.subscription {
        Subscription::Requested { at, by } => Some((at.clone(), by.clone())),
        _ => None,
    };
    view! {
        <section class="panel gate" aria-labelledby="gate-title">
            <h1 id="gate-title">"Outreach needs a subscription"</h1>
            <p>
                {viewer.organisation.clone()}
                " does not have an active Outreach subscription, so campaigns and settings are unavailable."
            </p>
            {match requested {
                Some((at, by)) => view! { <Requested at by/> }.into_any(),
                None => view! { <RequestAccessForm/> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn Requested(at: String, by: String) -> impl IntoView {
    view! {
        <p class="notice" role="status">
            "Access was requested on " {at} " by " {by} ". We will let you know when it is granted."
        </p>
    }
}

/// `Request access`, and then what the server recorded in its place.
#[island(lazy)]
fn RequestAccessForm() -> impl IntoView {
    let action = ServerAction::<RequestAccess>::new();
    // Granted in the meantime: the page has more to show now.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(Ok(subscription)) = action.value().get()
            && !matches!(subscription, Subscription::Requested { .. })
        {
            _ = window().location().reload();
        }
    });
    move || {
        match action.value().get() {
        Some(Ok(Subscription::Requested { at, by })) => view! { <Requested at by/> }.into_any(),
        // Granted: nothing to press while the page reloads (the Effect above).
        Some(Ok(_)) => ().into_any(),
        result => view! {
            <ActionForm action=action>
                <button type="submit" class="button primary" disabled=move || action.pending().get()>
                    "Request access"
                </button>
            </ActionForm>
            {result.and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
        }
        .into_any(),
    }
    }
}
