//! Outreach > Campaigns.

use leptos::prelude::*;

#[component]
pub fn CampaignsPage() -> impl IntoView {
    view! {
        <leptos_meta::Title text="Campaigns"/>
        <div class="page-heading">
            <h1>"Campaigns"</h1>
        </div>
        <section class="panel empty" aria-label="Campaign list">
            <p>"No campaigns yet."</p>
        </section>
    }
}
