//! The pages behind sign-in, each its own part of the WASM bundle (a
//! release build made with `cargo leptos build --split`): a browser fetches
//! a page's part when it first shows that page, so the sign-in page loads
//! only the app's core and each page behind it adds what it uses. The
//! server renders every page whole, as before, and its HTML preloads the
//! page's part; the browser loads the part before hydrating the page.
//!
//! A part per page, not per area of the app: measured on 2026-11-29,
//! Settings > SMS downloads 531 KB (gzip) split by page, and about 620 KB
//! split by area (all four settings pages in one part), though in 118 files
//! instead of about 18: code shared by several pages becomes files of its
//! own, preloaded together and cached like the rest.

use leptos::prelude::*;
#[cfg(feature = "split")]
use leptos_router::{LazyRoute, lazy_route};

use crate::{
    account::AccountPage,
    campaigns::{CampaignPage, CampaignsPage, NewCampaignPage},
    contacts::{ContactPage, ContactsPage},
    links::LinkPage,
    lists::{ListPage, ListsPage},
    opt_outs::OptOutsPage,
    settings::{
        OrganisationSettings, audit_log::AuditLogPage, sms::SmsSettingsPage, team::TeamPage,
    },
};

/// A route whose view is `$page`, loaded on first use. Pages load their own
/// data (resources inside the page), so the route's data half is empty.
/// Without `split` (the islands bundle, which never renders these pages,
/// and where a lazy part's exports would keep every page in the WASM), a
/// plain route: `page!` names either.
macro_rules! lazy_page {
    ($($route:ident => $page:ident,)*) => {$(
        #[cfg(feature = "split")]
        pub struct $route;

        #[cfg(feature = "split")]
        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            // The body becomes a free function in the page's part.
            fn view(this: Self) -> AnyView {
                let _ = this;
                view! { <$page/> }.into_any()
            }
        }

        #[cfg(not(feature = "split"))]
        #[allow(non_snake_case)]
        pub fn $route() -> impl IntoView {
            view! { <$page/> }
        }
    )*};
}

/// The view of a route to the page `$route` (see `lazy_page!`).
macro_rules! page {
    ($route:ident) => {{
        #[cfg(feature = "split")]
        let view = leptos_router::Lazy::<$route>::new();
        #[cfg(not(feature = "split"))]
        let view = $route;
        view
    }};
}
pub(crate) use page;

lazy_page! {
    Link => LinkPage,
    Campaigns => CampaignsPage,
    NewCampaign => NewCampaignPage,
    Campaign => CampaignPage,
    Contacts => ContactsPage,
    Contact => ContactPage,
    Lists => ListsPage,
    List => ListPage,
    OptOuts => OptOutsPage,
    Account => AccountPage,
    Organisation => OrganisationSettings,
    Sms => SmsSettingsPage,
    Team => TeamPage,
    AuditLog => AuditLogPage,
}
