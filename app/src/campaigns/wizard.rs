//! The campaign wizard: Details, Delivery channel, Audience, Message,
//! Review. State lives in the page, so going Back keeps everything.

use std::collections::BTreeMap;

use leptos::{either::Either, prelude::*};
use leptos_router::hooks::use_navigate;

use super::{AudiencePreview, Channel, CreateCampaign, preview_audience, preview_message};
use crate::{
    auth::{Viewer, ViewerRole},
    error::{AppError, FieldErrors, FormField},
    form::Field,
    settings::sms::{SmsCapabilityView, sms_capability},
};

/// The step where a field is filled in: an error about it sends the person
/// back there.
fn step_of(field: FormField) -> usize {
    match field {
        FormField::Audience => 2,
        FormField::Message => 3,
        _ => 0,
    }
}

const STEPS: [&str; 5] = [
    "Details",
    "Delivery channel",
    "Audience",
    "Message",
    "Review",
];

#[component]
pub fn NewCampaignPage() -> impl IntoView {
    let capability = Resource::new(|| (), |_| sms_capability());
    view! {
        <leptos_meta::Title text="New campaign"/>
        <div class="page-heading"><h1>"New campaign"</h1></div>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match capability.await {
                    Ok(capability) => Either::Left(view! { <Wizard capability/> }),
                    Err(e) => Either::Right(view! { <p class="error" role="alert">{e.to_string()}</p> }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Wizard(capability: SmsCapabilityView) -> impl IntoView {
    let is_admin = use_context::<Viewer>().is_some_and(|v| v.role == ViewerRole::OrgAdmin);
    let step = RwSignal::new(0usize);
    let name = RwSignal::new(String::new());
    let channel = RwSignal::new(None::<Channel>);
    let audience = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let check_audience = Action::new(|text: &String| preview_audience(text.clone()));
    let preview: Signal<Option<AudiencePreview>> =
        Signal::derive(move || check_audience.value().get().and_then(Result::ok));
    let sample = move || preview.get().map(|p| p.sample).unwrap_or_default();
    let message = Resource::new(
        move || (body.get(), sample()),
        |(body, sample): (String, BTreeMap<String, String>)| preview_message(body, sample),
    );
    let create = ServerAction::<CreateCampaign>::new();
    // What creating said was wrong, under the fields it was about; a field's
    // error goes when that field is edited.
    let errors = RwSignal::new(FieldErrors::default());
    let navigate = use_navigate();
    Effect::new(move |_| match create.value().get() {
        Some(Ok(id)) => navigate(&format!("/outreach/campaigns/{id}"), Default::default()),
        Some(Err(AppError::Invalid(found))) => {
            if let Some(first) = found.fields.keys().map(|field| step_of(*field)).min() {
                step.set(first);
            }
            errors.set(found);
        }
        Some(Err(other)) => errors.set(FieldErrors::form(other.to_string())),
        None => {}
    });
    let clear = move |field: FormField| {
        errors.update(|e| {
            e.fields.remove(&field);
        })
    };

    let can_continue = move || match step.get() {
        0 => !name.read().trim().is_empty(),
        1 => channel.read().is_some(),
        2 => preview.get().is_some_and(|p| p.recipients > 0),
        3 => !body.read().trim().is_empty() && body.read().chars().count() <= 1600,
        _ => true,
    };
    let sms_reason = capability.reason.clone().unwrap_or_default();

    view! {
        <ol class="steps" aria-label="Steps">
            {STEPS.iter().enumerate().map(|(i, label)| view! {
                <li class:done=move || i < step.get() aria-current=move || (i == step.get()).then_some("step")>
                    {format!("{}. {label}", i + 1)}
                </li>
            }).collect_view()}
        </ol>
        <section class="panel wizard" aria-labelledby="step-title">
            <h2 id="step-title">{move || STEPS[step.get()]}</h2>
            <Show when=move || step.get() == 0>
                <Field id="campaign-name" label="Campaign name" hint="Unique within your organisation, e.g. “Spring appeal”."
                    error=Signal::derive(move || errors.read().get(FormField::CampaignName))>
                    <input id="campaign-name" type="text" maxlength="100" required
                        aria-describedby="campaign-name-hint campaign-name-error"
                        aria-invalid=move || errors.read().get(FormField::CampaignName).is_some().to_string()
                        prop:value=move || name.get()
                        on:input=move |e| { name.set(event_target_value(&e)); clear(FormField::CampaignName); }/>
                </Field>
            </Show>
            <Show when=move || step.get() == 1>
                <fieldset class="channels">
                    <legend>"Delivery channel"</legend>
                    <label class:disabled=!capability.sms_option_enabled>
                        <input type="radio" name="channel" value="sms"
                            disabled=!capability.sms_option_enabled
                            aria-describedby="sms-availability"
                            prop:checked=move || channel.get() == Some(Channel::Sms)
                            on:change=move |_| channel.set(Some(Channel::Sms))/>
                        "SMS"
                    </label>
                    <p id="sms-availability" class="hint small">
                        {if capability.sms_option_enabled {
                            Either::Left(view! { <span class="muted">"Text messages sent through your organisation's Twilio Messaging Service."</span> })
                        } else {
                            Either::Right(view! {
                                <span>{format!("{sms_reason}.")}</span>
                                {is_admin.then(|| view! { " " <a href="/outreach/settings/sms">"Configure SMS"</a> })}
                            })
                        }}
                    </p>
                </fieldset>
            </Show>
            <Show when=move || step.get() == 2>
                <AudienceStep audience check_audience
                    error=Signal::derive(move || errors.read().get(FormField::Audience))
                    on_edit=move || clear(FormField::Audience)/>
            </Show>
            <Show when=move || step.get() == 3>
                <MessageStep body message preview
                    error=Signal::derive(move || errors.read().get(FormField::Message))
                    on_edit=move || clear(FormField::Message)/>
            </Show>
            <Show when=move || step.get() == 4>
                <dl class="facts">
                    <dt>"Name"</dt><dd>{move || name.get()}</dd>
                    <dt>"Delivery channel"</dt><dd>"SMS"</dd>
                    <dt>"Recipients"</dt><dd>{move || preview.get().map(|p| p.recipients).unwrap_or_default()}</dd>
                    <dt>"Message"</dt><dd class="message-body">{move || body.get()}</dd>
                    <dt>"Estimated segments"</dt>
                    <dd>
                        <Suspense fallback=|| "…">
                            {move || Suspend::new(async move {
                                let recipients = preview.get_untracked().map(|p| p.recipients).unwrap_or_default();
                                message.await.map(|m| format!("about {} in total ({} per message)", m.rendered_segments * recipients, m.rendered_segments)).unwrap_or_default()
                            })}
                        </Suspense>
                    </dd>
                </dl>
                {move || errors.read().form.clone().map(|message| view! {
                    <p class="error" role="alert">{message}</p>
                })}
            </Show>
            <div class="wizard-actions">
                <Show when=move || { step.get() > 0 }>
                    <button type="button" class="button" on:click=move |_| step.update(|s| *s -= 1)>"Back"</button>
                </Show>
                <Show when=move || { step.get() < 4 }>
                    <button type="button" class="button primary" disabled=move || !can_continue()
                        on:click=move |_| step.update(|s| *s += 1)>"Next"</button>
                </Show>
                <Show when=move || step.get() == 4>
                    <button type="button" class="button primary" disabled=move || create.pending().get()
                        on:click=move |_| {
                            errors.set(FieldErrors::default());
                            create.dispatch(CreateCampaign {
                                name: name.get_untracked(),
                                channel: channel.get_untracked().unwrap_or(Channel::Sms),
                                audience: audience.get_untracked(),
                                body: body.get_untracked(),
                            });
                        }>
                        {move || if create.pending().get() { "Creating…" } else { "Create campaign" }}
                    </button>
                </Show>
            </div>
        </section>
    }
}

#[component]
fn AudienceStep(
    audience: RwSignal<String>,
    check_audience: Action<String, Result<AudiencePreview, AppError>>,
    /// What creating the campaign said about the audience.
    error: Signal<Option<String>>,
    on_edit: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    // Checking's own verdict, else creating's.
    let shown_error = Signal::derive(move || match check_audience.value().get() {
        Some(Err(AppError::Invalid(f))) => f.get(FormField::Audience).or(f.form),
        Some(Err(other)) => Some(other.to_string()),
        _ => error.get(),
    });
    let on_file = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use leptos::wasm_bindgen::JsCast;
            let input: leptos::web_sys::HtmlInputElement = ev.target().unwrap().unchecked_into();
            if let Some(file) = input.files().and_then(|files| files.get(0)) {
                leptos::task::spawn_local(async move {
                    if let Ok(text) = wasm_bindgen_futures::JsFuture::from(file.text()).await {
                        audience.set(text.as_string().unwrap_or_default());
                        on_edit();
                        check_audience.dispatch(audience.get_untracked());
                    }
                });
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    view! {
        <Field id="audience" label="Phone numbers or CSV"
            hint="One or more numbers per line, or a CSV with a phone column; other columns such as first_name become placeholders."
            error=shown_error>
            <textarea id="audience" rows="8" spellcheck="false"
                aria-describedby="audience-hint audience-error"
                aria-invalid=move || shown_error.get().is_some().to_string()
                prop:value=move || audience.get()
                on:input=move |e| { audience.set(event_target_value(&e)); on_edit(); }></textarea>
        </Field>
        <div class="field">
            <label for="audience-file">"Upload a CSV"</label>
            <input id="audience-file" type="file" accept=".csv,text/csv,text/plain" on:change=on_file/>
        </div>
        <button type="button" class="button" disabled=move || check_audience.pending().get()
            on:click=move |_| { check_audience.dispatch(audience.get_untracked()); }>
            {move || if check_audience.pending().get() { "Checking…" } else { "Check audience" }}
        </button>
        {move || check_audience.value().get().and_then(Result::ok).map(|p| view! { <AudienceSummary preview=p/> })}
    }
}

#[component]
fn AudienceSummary(preview: AudiencePreview) -> impl IntoView {
    view! {
        <div class="audience-summary" role="status">
            <p><strong>{format!("{} recipients", preview.recipients)}</strong>
                {format!(" · {} duplicates merged · {} opted out excluded · {} invalid", preview.duplicates, preview.opted_out, preview.invalid_total)}
            </p>
            <p class="muted small">{format!("Numbers without a country code were read as {} numbers.", preview.default_country)}</p>
            {(!preview.columns.is_empty()).then(|| view! {
                <p class="small">"Placeholders: " {preview.columns.iter().map(|c| format!("{{{c}}}")).collect::<Vec<_>>().join(" ")}</p>
            })}
            {(!preview.invalid.is_empty()).then(|| view! {
                <table class="invalid-rows">
                    <thead><tr><th scope="col">"Line"</th><th scope="col">"Value"</th><th scope="col">"Why"</th></tr></thead>
                    <tbody>
                        {preview.invalid.into_iter().map(|row| view! {
                            <tr><td>{row.line}</td><td>{row.value}</td><td>{row.reason}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </div>
    }
}

#[component]
fn MessageStep(
    body: RwSignal<String>,
    message: Resource<Result<super::MessagePreview, AppError>>,
    preview: Signal<Option<AudiencePreview>>,
    /// What creating the campaign said about the message.
    error: Signal<Option<String>>,
    on_edit: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    // The preview's verdict on what is typed now, else creating's.
    let shown_error = Signal::derive(move || match message.get() {
        Some(Err(AppError::Invalid(f))) => f.get(FormField::Message).or(f.form),
        _ => error.get(),
    });
    view! {
        <Field id="message" label="Message"
            hint="Placeholders such as {first_name} are filled in per recipient; {first_name|there} gives a fallback for recipients without one."
            error=shown_error>
            <textarea id="message" rows="6" maxlength="1600"
                aria-describedby="message-hint message-error message-counter"
                aria-invalid=move || shown_error.get().is_some().to_string()
                prop:value=move || body.get()
                on:input=move |e| { body.set(event_target_value(&e)); on_edit(); }></textarea>
        </Field>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                message.await.ok().map(|m| {
                    let recipient = preview.get_untracked().and_then(|p| p.sample.get("phone").cloned()).unwrap_or_default();
                    view! {
                        <p id="message-counter" class="counter" aria-live="polite">
                            {format!("{} / 1600 characters · {} · {} segment{}", m.characters, m.encoding, m.segments, if m.segments == 1 { "" } else { "s" })}
                            {(!m.non_gsm_characters.is_empty()).then(|| format!(" · UCS-2 because of: {}", m.non_gsm_characters))}
                        </p>
                        <div class="preview">
                            <p class="muted small">{format!("Preview for {recipient}")}</p>
                            <p class="message-body">{m.rendered}</p>
                        </div>
                    }
                })
            })}
        </Transition>
    }
}
