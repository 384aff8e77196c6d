//! Pieces every form shares, so errors sit under their fields the same way
//! everywhere.

use leptos::prelude::*;

/// A labelled form field with its hint and, under it, its error: the
/// input names `{id}-hint {id}-error` in `aria-describedby`.
#[component]
pub fn Field(
    id: &'static str,
    label: &'static str,
    hint: &'static str,
    error: Signal<Option<String>>,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            {children()}
            <p class="hint muted small" id=format!("{id}-hint")>{hint}</p>
            <p class="field-error" id=format!("{id}-error") aria-live="polite">{move || error.get()}</p>
        </div>
    }
}

/// Reads the file chosen in a file input (`ev` is its `change` event) as
/// text, in the browser, and hands it to `on_text`. Nothing is uploaded:
/// the text goes where typed text would.
pub fn read_chosen_file(ev: leptos::ev::Event, on_text: impl Fn(String) + 'static) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let input: leptos::web_sys::HtmlInputElement = ev.target().unwrap().unchecked_into();
        if let Some(file) = input.files().and_then(|files| files.get(0)) {
            leptos::task::spawn_local(async move {
                if let Ok(text) = wasm_bindgen_futures::JsFuture::from(file.text()).await {
                    on_text(text.as_string().unwrap_or_default());
                }
            });
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, on_text);
}
