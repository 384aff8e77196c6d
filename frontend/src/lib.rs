//! The browser entry points: everything else lives in `app`. Built twice
//! (frontend/Cargo.toml): the bundle that hydrates whole pages, and the
//! small one for the pages served as islands. Leptos' loader calls
//! `hydrate` in either.

#[cfg(all(feature = "pages", feature = "islands"))]
compile_error!("one bundle at a time: build with `pages` or with `islands`");

/// Hydrates the whole page: the app, its router and the page's part of the
/// bundle.
#[cfg(not(feature = "islands"))]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    use leptos::prelude::document;

    console_error_panic_hook::set_once();
    // Hydrating starts Leptos' executor; this task only awaits it.
    wasm_bindgen_futures::spawn_local(async {
        // Pages behind sign-in are parts of the bundle fetched on first use
        // (app/src/pages.rs): hydrating waits for the page's part.
        let body = document().body().expect("the page has a body");
        leptos::mount::hydrate_from_async(body, app::App)
            .await
            .forget();
        app::mark_hydrated();
    });
}

/// Gets ready for the page's islands, which Leptos' loader hydrates one by
/// one once this returns (the islands are exports of `app`).
#[cfg(feature = "islands")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    app::hydrate_islands();
}
