//! `/login`: the only page open to people who are not signed in. Served as
//! islands (`crate::ISLAND_PAGES`): the server renders it, and the browser
//! hydrates only the form, with a bundle that holds little else.

use leptos::prelude::*;

use crate::auth::SignIn;

#[component]
pub fn SignInPage() -> impl IntoView {
    // Read here, where the router is: an island has none.
    let signed_out = leptos_router::hooks::use_query_map()
        .read_untracked()
        .get("signed_out")
        .is_some();
    view! {
        <leptos_meta::Title text="Sign in"/>
        <main class="standalone">
            <section class="panel sign-in" aria-labelledby="sign-in-title">
                <h1 id="sign-in-title">"Sign in to Outreach"</h1>
                <SignInForm signed_out/>
            </section>
        </main>
    }
}

/// The form, and why the last session ended (`signed_out`) until the next
/// try. Signing in sends the browser on to the campaigns (the server
/// function's redirect), with or without the WASM.
///
/// The one island that is not lazy: it is in the islands bundle's core, so
/// the sign-in page, everyone's first page, loads the core alone.
#[island]
pub fn SignInForm(signed_out: bool) -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let error = move || sign_in.value().get().and_then(Result::err);
    let signed_out = move || signed_out && sign_in.value().get().is_none();
    #[cfg(feature = "hydrate")]
    Effect::new(crate::island_hydrated);
    view! {
        {move || signed_out().then(|| view! {
            <p class="notice" role="status">"You were signed out: your session ended. Sign in again to continue."</p>
        })}
        <ActionForm action=sign_in>
            <div class="field">
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="username" required/>
            </div>
            <div class="field">
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required/>
            </div>
            {move || error().map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
            <button type="submit" class="button primary" disabled=move || sign_in.pending().get()>
                {move || if sign_in.pending().get() { "Signing in…" } else { "Sign in" }}
            </button>
        </ActionForm>
    }
}
