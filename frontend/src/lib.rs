//! The browser entry point: everything else lives in `app`.

use leptos::prelude::document;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Hydrating starts Leptos' executor; this task only awaits it.
    wasm_bindgen_futures::spawn_local(async {
        // Pages behind sign-in are parts of the bundle fetched on first use
        // (app/src/pages.rs): hydrating waits for the page's part.
        let body = document().body().expect("the page has a body");
        leptos::mount::hydrate_from_async(body, app::App)
            .await
            .forget();
        // End-to-end tests wait for this before clicking: until the page
        // has hydrated, its forms fall back to plain posts.
        if let Ok(Some(app)) = document().query_selector(".app") {
            _ = app.set_attribute("data-hydrated", "true");
        }
    });
}
