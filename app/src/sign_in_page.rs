//! `/login`: the only page open to people who are not signed in.

use leptos::prelude::*;

use crate::auth::SignIn;

#[component]
pub fn SignInPage() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let error = move || sign_in.value().get().and_then(Result::err);
    let query = leptos_router::hooks::use_query_map();
    let signed_out =
        move || query.read().get("signed_out").is_some() && sign_in.value().get().is_none();
    view! {
        <leptos_meta::Title text="Sign in"/>
        <main class="standalone">
            <section class="panel sign-in" aria-labelledby="sign-in-title">
                <h1 id="sign-in-title">"Sign in to Outreach"</h1>
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
            </section>
        </main>
    }
}
