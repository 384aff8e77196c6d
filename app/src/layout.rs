//! The frame of every Outreach page: navigation by role, the signed-in
//! person, sign-out, and the subscription gate in front of the content.
//! Its interactive parts are islands, so that pages served as islands
//! (`crate::ISLAND_PAGES`) work inside it: the links are plain links there.

use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};

use crate::{
    auth::{SignOut, Subscription, Viewer, ViewerRole, current_viewer},
    error::AppError,
    subscription::SubscriptionGate,
};

#[component]
pub fn OutreachLayout() -> impl IntoView {
    let viewer = Resource::new(|| (), |_| current_viewer());
    view! {
        <Suspense fallback=|| view! { <p class="muted page-loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match viewer.await {
                    Ok(viewer) => view! { <SignedInFrame viewer/> }.into_any(),
                    Err(AppError::NotSignedIn) => view! { <Redirect path=crate::routes::SIGN_IN/> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SignedInFrame(viewer: Viewer) -> impl IntoView {
    provide_context(viewer.clone());
    let is_admin = viewer.role == ViewerRole::OrgAdmin;
    // Everyone's own account stays reachable whatever the subscription.
    let location = leptos_router::hooks::use_location();
    let gated = viewer.subscription != Subscription::Active;
    let gate_viewer = viewer.clone();
    let content = move || {
        if !gated || location.pathname.get() == crate::routes::ACCOUNT {
            view! { <Outlet/> }.into_any()
        } else {
            view! { <SubscriptionGate viewer=gate_viewer.clone()/> }.into_any()
        }
    };
    view! {
        <div class="frame">
            <header class="topbar">
                <a class="brand" href=crate::routes::HOME>"Outreach"</a>
                <div class="who">
                    <A href=crate::routes::ACCOUNT attr:class="who-name">{viewer.email.clone()}</A>
                    <span class="muted">{format!("{} · {}", viewer.role.label(), viewer.organisation)}</span>
                    <SignOutForm/>
                </div>
            </header>
            <nav class="sidenav" aria-label="Main">
                <p class="nav-group">"Outreach"</p>
                <ul>
                    <li><A href=crate::routes::CAMPAIGNS>"Campaigns"</A></li>
                    <li><A href=crate::contacts::PAGE>"Contacts"</A></li>
                    <li><A href=crate::lists::PAGE>"Lists"</A></li>
                    <li><A href=crate::opt_outs::PAGE>"Opt-outs"</A></li>
                    {is_admin.then(|| view! { <li><A href=crate::routes::SETTINGS>"Settings"</A></li> })}
                    <li><A href=crate::routes::ACCOUNT>"Account"</A></li>
                </ul>
            </nav>
            <main class="content" id="main">{content}</main>
            <SignedOutWatcher/>
        </div>
    }
}

/// `Sign out`: the server function sends the browser to the sign-in page.
#[island(lazy)]
fn SignOutForm() -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    view! {
        <ActionForm action=sign_out>
            <button type="submit" class="button link">"Sign out"</button>
        </ActionForm>
    }
}

/// How often an open page asks whether it is still signed in.
#[cfg(feature = "hydrate")]
const SESSION_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Sends an open page to the sign-in page once its session has ended:
/// disabled by an Org Admin, ended from another browser, signed out
/// elsewhere, or timed out. Asks every few seconds and whenever the tab is
/// shown again; the question itself does not keep the session alive.
///
/// The frame's last island: on a page served as islands, the page has
/// hydrated once it has (`crate::island_hydrated`).
#[island(lazy)]
fn SignedOutWatcher() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        use leptos::ev::visibilitychange;

        Effect::new(crate::island_hydrated);
        let check = || {
            leptos::task::spawn_local(async {
                if let Err(AppError::NotSignedIn) = crate::auth::session_status().await {
                    let _ = window()
                        .location()
                        .set_href(&format!("{}?signed_out=1", crate::routes::SIGN_IN));
                }
            });
        };
        if let Ok(interval) = set_interval_with_handle(check, SESSION_CHECK_INTERVAL) {
            on_cleanup(move || interval.clear());
        }
        let listener = window_event_listener(visibilitychange, move |_| {
            if document().visibility_state() == web_sys::VisibilityState::Visible {
                check();
            }
        });
        on_cleanup(move || listener.remove());
    }
}

/// Shown, with a 403 status, to anyone who is signed in but not allowed here.
#[component]
pub fn Forbidden() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::FORBIDDEN);
    }
    view! {
        <leptos_meta::Title text="Org Admins only"/>
        <section class="panel" aria-labelledby="forbidden-title">
            <h1 id="forbidden-title">"You need to be an Org Admin"</h1>
            <p>
                "Settings are managed by your organisation's Org Admins. "
                "Ask one of them if something here needs changing."
            </p>
            <p><A href=crate::routes::CAMPAIGNS>"Back to Campaigns"</A></p>
        </section>
    }
}

/// Something a page is about that is not there, or is another
/// organisation's (the two cannot be told apart): a 404 with a way back.
#[component]
pub fn Missing(
    title: &'static str,
    back_to: &'static str,
    back_label: &'static str,
) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <leptos_meta::Title text=title/>
        <section class="panel" aria-labelledby="missing-title">
            <h1 id="missing-title">{title}</h1>
            <p><a href=back_to>{back_label}</a></p>
        </section>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <leptos_meta::Title text="Page not found"/>
        <main class="standalone">
            <section class="panel">
                <h1>"Page not found"</h1>
                <p>"There is nothing at this address."</p>
                <p><a href=crate::routes::HOME>"Go to Outreach"</a></p>
            </section>
        </main>
    }
}
