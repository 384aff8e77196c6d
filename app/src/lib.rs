//! Outreach's UI and the typed server functions behind it.
//!
//! Compiled twice: with `ssr` for the server (where server functions run and
//! call into `domain`) and with `hydrate` for the browser (where they are
//! HTTP calls). Everything server-only sits behind `ssr`.

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path,
};

pub mod account;
pub mod auth;
pub mod campaigns;
pub mod contacts;
pub mod error;
pub mod form;
pub mod layout;
pub mod links;
pub mod lists;
pub mod opt_outs;
mod pages;
pub mod settings;
pub mod sign_in_page;
#[cfg(feature = "ssr")]
pub mod state;
pub mod subscription;

use crate::{
    layout::{NotFound, OutreachLayout},
    pages::*,
    settings::SettingsLayout,
    sign_in_page::SignInPage,
};

/// Addresses that more than one page links to.
pub mod routes {
    pub const HOME: &str = "/outreach/campaigns";
    pub const SIGN_IN: &str = "/login";
    pub const CAMPAIGNS: &str = "/outreach/campaigns";
    pub const SETTINGS: &str = "/outreach/settings";
    pub const ACCOUNT: &str = "/outreach/account";
}

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HashedStylesheet options=options.clone() id="leptos"/>
                {hydration_scripts(options)}
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The pages served as islands: the server renders them whole, and the
/// browser hydrates only their interactive parts (`#[island]`s), with a
/// bundle of their own that holds little else (`frontend`'s `islands`
/// feature; BENCHMARKS.md, "First load"). Every island but the sign-in
/// form is `lazy`: a part of that bundle of its own, so a page downloads
/// the bundle's core and the islands it shows, not every page's. Reached
/// from another page of the app without a page load, the router renders
/// them like any page.
pub const ISLAND_PAGES: &[&str] = &[routes::SIGN_IN, settings::sms::PAGE];

/// The islands bundle's file names, beside the binary like cargo-leptos'
/// `hash.txt` (written by scripts/build-release.sh).
pub const ISLANDS_HASH_FILE: &str = "hash-islands.txt";

/// The islands bundle's name: `pkg/outreach-islands.<hash>.{js,wasm}`.
pub const ISLANDS_OUTPUT_NAME: &str = "outreach-islands";

/// The scripts that hydrate the page: the islands bundle for the pages
/// served as islands, when this build has one, and otherwise the app's.
fn hydration_scripts(options: LeptosOptions) -> impl IntoView {
    match islands_bundle(&options) {
        Some(islands) => {
            let scripts = view! { <HydrationScripts options=islands islands=true/> };
            // `HydrationScripts` gives the page the app's split manifest, with
            // which a lazy route preloads its part of the app's bundle. A page
            // served as islands never runs that part: without the manifest,
            // it is not downloaded (the islands load their own parts).
            _ = take_context::<leptos::WasmSplitManifest>();
            scripts.into_any()
        }
        None => view! { <HydrationScripts options/> }.into_any(),
    }
}

/// `options` for the islands bundle, if this request is for a page served
/// as islands and the build has the bundle (a debug build has only the
/// app's: its pages hydrate whole, as the router renders them).
#[cfg(feature = "ssr")]
fn islands_bundle(options: &LeptosOptions) -> Option<LeptosOptions> {
    static BUILT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let request = use_context::<axum::http::request::Parts>()?;
    let built = *BUILT.get_or_init(|| {
        std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.join(ISLANDS_HASH_FILE).exists()))
            .unwrap_or(false)
    });
    if !(built && options.hash_files && ISLAND_PAGES.contains(&request.uri.path())) {
        return None;
    }
    let mut islands = options.clone();
    islands.output_name = ISLANDS_OUTPUT_NAME.into();
    islands.hash_file = ISLANDS_HASH_FILE.into();
    Some(islands)
}

#[cfg(not(feature = "ssr"))]
fn islands_bundle(_options: &LeptosOptions) -> Option<LeptosOptions> {
    None
}

/// Tells the page it has hydrated: once the app has (whole pages), or the
/// page's last island has (pages served as islands). End-to-end tests wait
/// for this before clicking: until then, forms fall back to plain posts.
#[cfg(feature = "hydrate")]
pub fn mark_hydrated() {
    if let Ok(Some(app)) = document().query_selector(".app") {
        _ = app.set_attribute("data-hydrated", "true");
    }
}

/// Whether this page hydrates as islands (`hydrate_islands` ran) rather
/// than whole.
#[cfg(feature = "hydrate")]
static HYDRATING_ISLANDS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Gets the page ready for its islands (the islands bundle's entry point).
#[cfg(feature = "hydrate")]
pub fn hydrate_islands() {
    HYDRATING_ISLANDS.store(true, std::sync::atomic::Ordering::Relaxed);
    leptos::mount::hydrate_islands();
}

/// Called by the last island of a page served as islands once it has
/// hydrated. Hydrating a whole page, the same island hydrates before the
/// page's lazy part may have: the app marks the page itself.
#[cfg(feature = "hydrate")]
pub fn island_hydrated() {
    if HYDRATING_ISLANDS.load(std::sync::atomic::Ordering::Relaxed) {
        mark_hydrated();
    }
}

/// A page's Content-Security-Policy. Scripts: this page's nonce (the one
/// Leptos puts on its hydration scripts), the bundle from our origin, and
/// compiling its WASM. Nothing inline without the nonce, no plugins, no
/// `<base>`, no framing.
#[cfg(feature = "ssr")]
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Title formatter=|title: String| format!("{title} · Outreach")/>
        // The browser sets this to "true" once the page has hydrated
        // (mark_hydrated).
        <div class="app" data-hydrated="false">
            <Router>
                <Routes fallback=NotFound>
                    <Route path=path!("/login") view=SignInPage ssr=leptos_router::SsrMode::Async/>
                    <Route path=path!("/invitations/:secret") view={page!(Link)} ssr=leptos_router::SsrMode::Async/>
                    <Route path=path!("/password-resets/:secret") view={page!(Link)} ssr=leptos_router::SsrMode::Async/>
                    <ParentRoute path=path!("/outreach") view=OutreachLayout ssr=leptos_router::SsrMode::Async>
                        <Route path=path!("campaigns") view={page!(Campaigns)} ssr=leptos_router::SsrMode::Async/>
                        <Route path=path!("campaigns/new") view={page!(NewCampaign)} ssr=leptos_router::SsrMode::Async/>
                        <Route path=path!("campaigns/:id") view={page!(Campaign)} ssr=leptos_router::SsrMode::Async/>
                        <Route path=path!("contacts") view={page!(Contacts)} ssr=leptos_router::SsrMode::Async/>
                        <Route path=path!("contacts/:phone") view={page!(Contact)} ssr=leptos_router::SsrMode::Async/>
                        <Route path=path!("lists") view={page!(Lists)} ssr=leptos_router::SsrMode::Async/>
                        <Route path=path!("lists/:id") view={page!(List)} ssr=leptos_router::SsrMode::Async/>
                        <Route path=path!("opt-outs") view={page!(OptOuts)} ssr=leptos_router::SsrMode::Async/>
                        <Route path=path!("account") view={page!(Account)} ssr=leptos_router::SsrMode::Async/>
                        <ParentRoute path=path!("settings") view=SettingsLayout ssr=leptos_router::SsrMode::Async>
                            <Route path=path!("") view={page!(Organisation)} ssr=leptos_router::SsrMode::Async/>
                            <Route path=path!("sms") view={page!(Sms)} ssr=leptos_router::SsrMode::Async/>
                            <Route path=path!("team") view={page!(Team)} ssr=leptos_router::SsrMode::Async/>
                            <Route path=path!("audit-log") view={page!(AuditLog)} ssr=leptos_router::SsrMode::Async/>
                        </ParentRoute>
                    </ParentRoute>
                </Routes>
            </Router>
        </div>
    }
}
