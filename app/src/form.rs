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
