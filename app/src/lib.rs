//! Outreach's UI and the typed server functions behind it.
//!
//! Compiled twice: with `ssr` for the server (where server functions run and
//! call into `domain`) and with `hydrate` for the browser (where they are
//! HTTP calls). Everything server-only sits behind `ssr`.

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::{
    Lazy,
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
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
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
        // The browser sets this to "true" once the page, and the part of the
        // bundle it needs, has hydrated (see frontend/src/lib.rs).
        <div class="app" data-hydrated="false">
            <Router>
                <Routes fallback=NotFound>
                    <Route path=path!("/login") view=SignInPage ssr=leptos_router::SsrMode::Async/>
                    <Route path=path!("/invitations/:secret") view={Lazy::<Link>::new()} ssr=leptos_router::SsrMode::Async/>
                    <Route path=path!("/password-resets/:secret") view={Lazy::<Link>::new()} ssr=leptos_router::SsrMode::Async/>
                    <ParentRoute path=path!("/outreach") view=OutreachLayout ssr=leptos_router::SsrMode::Async>
                        <Route path=path!("campaigns") view={Lazy::<Campaigns>::new()} ssr=leptos_router::SsrMode::Async/>
                        <Route path=path!("campaigns/new") view={Lazy::<NewCampaign>::new()} ssr=leptos_router::SsrMode::Async/>
                        <Route path=path!("campaigns/:id") view={Lazy::<Campaign>::new()} ssr=leptos_router::SsrMode::Async/>
                        <Route path=path!("contacts") view={Lazy::<Contacts>::new()} ssr=leptos_router::SsrMode::Async/>
                        <Route path=path!("contacts/:phone") view={Lazy::<Contact>::new()} ssr=leptos_router::SsrMode::Async/>
                        <Route path=path!("lists") view={Lazy::<Lists>::new()} ssr=leptos_router::SsrMode::Async/>
                        <Route path=path!("lists/:id") view={Lazy::<List>::new()} ssr=leptos_router::SsrMode::Async/>
                        <Route path=path!("opt-outs") view={Lazy::<OptOuts>::new()} ssr=leptos_router::SsrMode::Async/>
                        <Route path=path!("account") view={Lazy::<Account>::new()} ssr=leptos_router::SsrMode::Async/>
                        <ParentRoute path=path!("settings") view=SettingsLayout ssr=leptos_router::SsrMode::Async>
                            <Route path=path!("") view={Lazy::<Organisation>::new()} ssr=leptos_router::SsrMode::Async/>
                            <Route path=path!("sms") view={Lazy::<Sms>::new()} ssr=leptos_router::SsrMode::Async/>
                            <Route path=path!("team") view={Lazy::<Team>::new()} ssr=leptos_router::SsrMode::Async/>
                            <Route path=path!("audit-log") view={Lazy::<AuditLog>::new()} ssr=leptos_router::SsrMode::Async/>
                        </ParentRoute>
                    </ParentRoute>
                </Routes>
            </Router>
        </div>
    }
}
