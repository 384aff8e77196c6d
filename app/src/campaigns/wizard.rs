//! The campaign wizard: Details, Delivery channel, Audience, Message,
//! Review. State lives in the page, so going Back keeps everything.

use std::collections::BTreeMap;

use leptos::{either::Either, prelude::*};
use leptos_router::hooks::use_navigate;

use super::{
    AudiencePreview, CampaignStart, Channel, CreateCampaign, TestMessageResult, preview_audience,
    preview_message, send_test,
};
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
        FormField::ScheduleDate | FormField::ScheduleTime => 4,
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
    let viewer = use_context::<Viewer>();
    let is_admin = viewer
        .as_ref()
        .is_some_and(|v| v.role == ViewerRole::OrgAdmin);
    let time_zone = viewer
        .map(|v| v.time_zone)
        .unwrap_or_else(|| "UTC".to_owned());
    let step = RwSignal::new(0usize);
    let schedule_date = RwSignal::new(String::new());
    let schedule_time = RwSignal::new(String::new());
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
    let can_run = capability.can_run;
    let run_reason = capability.reason.clone().filter(|_| !can_run);
    // One copy for each step that says it (each step's view owns its own).
    let (message_step_reason, review_step_reason) = (run_reason.clone(), run_reason.clone());
    let submit = move |start: Option<CampaignStart>| {
        errors.set(FieldErrors::default());
        create.dispatch(CreateCampaign {
            name: name.get_untracked(),
            channel: channel.get_untracked().unwrap_or(Channel::Sms),
            audience: audience.get_untracked(),
            body: body.get_untracked(),
            start,
        });
    };

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
                <TestSend body preview can_run run_reason=message_step_reason.clone()/>
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
                <TestSend body preview can_run run_reason=review_step_reason.clone()/>
                <fieldset class="schedule">
                    <legend>"When"</legend>
                    <p id="start-hint" class="hint small">
                        {match run_reason.clone() {
                            Some(reason) => format!("{reason} You can still create the campaign, or schedule it: the rule is applied again when it is due to start."),
                            None => "Send now starts sending as soon as it is created; Create campaign keeps it as a draft to run later.".to_owned(),
                        }}
                    </p>
                    <div class="schedule-fields">
                        <Field id="schedule-date" label="Date" hint=""
                            error=Signal::derive(move || errors.read().get(FormField::ScheduleDate))>
                            <input id="schedule-date" type="date"
                                aria-describedby="schedule-date-error schedule-zone"
                                aria-invalid=move || errors.read().get(FormField::ScheduleDate).is_some().to_string()
                                prop:value=move || schedule_date.get()
                                on:input=move |e| { schedule_date.set(event_target_value(&e)); clear(FormField::ScheduleDate); }/>
                        </Field>
                        <Field id="schedule-time" label="Time" hint=""
                            error=Signal::derive(move || errors.read().get(FormField::ScheduleTime))>
                            <input id="schedule-time" type="time"
                                aria-describedby="schedule-time-error schedule-zone"
                                aria-invalid=move || errors.read().get(FormField::ScheduleTime).is_some().to_string()
                                prop:value=move || schedule_time.get()
                                on:input=move |e| { schedule_time.set(event_target_value(&e)); clear(FormField::ScheduleTime); }/>
                        </Field>
                    </div>
                    <p id="schedule-zone" class="muted small">{format!("In your organisation's time zone, {time_zone}.")}</p>
                    <button type="button" class="button" disabled=move || create.pending().get()
                        on:click=move |_| submit(Some(CampaignStart::At {
                            date: schedule_date.get_untracked(),
                            time: schedule_time.get_untracked(),
                        }))>"Schedule"</button>
                </fieldset>
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
                    <button type="button" class="button" disabled=move || create.pending().get()
                        on:click=move |_| submit(None)>
                        {move || if create.pending().get() { "Creating…" } else { "Create campaign" }}
                    </button>
                    <button type="button" class="button primary" disabled=move || create.pending().get() || !can_run
                        aria-describedby="start-hint"
                        on:click=move |_| submit(Some(CampaignStart::Now))>"Send now"</button>
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
        crate::form::read_chosen_file(ev, move |text| {
            audience.set(text);
            on_edit();
            check_audience.dispatch(audience.get_untracked());
        });
    };
    view! {
        <ListChooser audience check_audience on_edit/>
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
        <Show when=move || matches!(check_audience.value().get(), Some(Ok(_)))>
            <SaveAsList audience/>
        </Show>
    }
}

/// The organisation's lists, to use as the audience: their members, each
/// once, fill the audience field as a CSV and are checked like any
/// audience.
#[component]
fn ListChooser(
    audience: RwSignal<String>,
    check_audience: Action<String, Result<AudiencePreview, AppError>>,
    on_edit: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    use crate::lists::{ListAudienceView, list_audience, lists};

    let all = Resource::new(|| (), |_| lists());
    let chosen = RwSignal::new(Vec::<i64>::new());
    let fill = Action::new(move |ids: &Vec<i64>| {
        let ids = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        async move {
            let result: Result<ListAudienceView, AppError> = list_audience(ids).await;
            if let Ok(lists) = &result {
                audience.set(lists.csv.clone());
                on_edit();
                check_audience.dispatch(lists.csv.clone());
            }
            result
        }
    });
    let error = move || {
        fill.value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let rows = all.await.unwrap_or_default();
                (!rows.is_empty()).then(|| view! {
                    <fieldset class="list-chooser">
                        <legend>"Your lists"</legend>
                        {rows.into_iter().map(|row| {
                            let id = row.id;
                            view! {
                                <label class="checkbox">
                                    <input type="checkbox" value=id.to_string()
                                        prop:checked=move || chosen.read().contains(&id)
                                        on:change=move |e| {
                                            let on = event_target_checked(&e);
                                            chosen.update(|ids| {
                                                ids.retain(|x| *x != id);
                                                if on { ids.push(id); }
                                            });
                                        }/>
                                    {format!(" {} ({} members)", row.name, row.members)}
                                </label>
                            }
                        }).collect_view()}
                        {move || error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                        <button type="button" class="button"
                            disabled=move || chosen.read().is_empty() || fill.pending().get()
                            on:click=move |_| { fill.dispatch(chosen.get_untracked()); }>
                            "Use these lists"
                        </button>
                        <p class="muted small">"Members of several lists are messaged once. Or type or upload an audience below."</p>
                    </fieldset>
                })
            })}
        </Transition>
    }
}

/// Saves the checked audience as a new list (its people become contacts).
#[component]
fn SaveAsList(audience: RwSignal<String>) -> impl IntoView {
    use crate::lists::save_as_list;

    let name = RwSignal::new(String::new());
    let save = Action::new(move |(name, audience): &(String, String)| {
        save_as_list(name.clone(), audience.clone())
    });
    let name_error = Signal::derive(move || match save.value().get() {
        Some(Err(AppError::Invalid(errors))) => errors
            .get(FormField::ListName)
            .or_else(|| errors.get(FormField::ContactsFile))
            .or(errors.form),
        Some(Err(other)) => Some(other.to_string()),
        _ => None,
    });
    view! {
        <div class="save-as-list">
            <Field id="new-list-name" label="List name" hint="Keep this audience as a list of contacts, to choose again." error=name_error>
                <input id="new-list-name" type="text" maxlength="100" autocomplete="off"
                    aria-describedby="new-list-name-hint new-list-name-error"
                    prop:value=move || name.get()
                    on:input=move |e| name.set(event_target_value(&e))/>
            </Field>
            <button type="button" class="button" disabled=move || save.pending().get()
                on:click=move |_| { save.dispatch((name.get_untracked(), audience.get_untracked())); }>
                "Save as a list"
            </button>
            {move || save.value().get().and_then(Result::ok).map(|list| view! {
                <p class="confirmation" role="status">{format!("Saved as the list {} ({} members).", list.name, list.members)}</p>
            })}
        </div>
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

/// `Send a test`: the message as the first recipient would get it, to up to
/// five of the person's own numbers, with Twilio's answer for each.
#[component]
fn TestSend(
    body: RwSignal<String>,
    preview: Signal<Option<AudiencePreview>>,
    can_run: bool,
    /// Why SMS campaigns cannot run now (a test needs what a run needs).
    run_reason: Option<String>,
) -> impl IntoView {
    let numbers = RwSignal::new(String::new());
    let send = Action::new(
        |(numbers, body, sample): &(String, String, BTreeMap<String, String>)| {
            send_test(numbers.clone(), body.clone(), sample.clone())
        },
    );
    let error = Signal::derive(move || match send.value().get() {
        Some(Err(AppError::Invalid(f))) => f.get(FormField::TestNumbers).or(f.form),
        Some(Err(other)) => Some(other.to_string()),
        _ => None,
    });
    let results = move || send.value().get().and_then(Result::ok);
    view! {
        <section class="test-send" aria-labelledby="test-send-title">
            <h3 id="test-send-title">"Send a test"</h3>
            <Field id="test-numbers" label="Your phone numbers"
                hint="Up to 5, separated by commas. Each gets the message as the first recipient would; test messages are not part of the campaign."
                error=error>
                <input id="test-numbers" type="text" inputmode="tel" autocomplete="tel"
                    aria-describedby="test-numbers-hint test-numbers-error"
                    aria-invalid=move || error.get().is_some().to_string()
                    prop:value=move || numbers.get()
                    on:input=move |e| numbers.set(event_target_value(&e))/>
            </Field>
            {run_reason.map(|reason| view! { <p class="hint small">{reason}</p> })}
            <button type="button" class="button"
                disabled=move || !can_run || send.pending().get() || body.read().trim().is_empty()
                on:click=move |_| {
                    let sample = preview.get_untracked().map(|p| p.sample).unwrap_or_default();
                    send.dispatch((numbers.get_untracked(), body.get_untracked(), sample));
                }>
                {move || if send.pending().get() { "Sending…" } else { "Send a test" }}
            </button>
            {move || results().map(|results: Vec<TestMessageResult>| view! {
                <div role="status" aria-label="Test messages">
                    <ul class="test-results">
                        {results.into_iter().map(|r| view! {
                            <li><strong>{r.to}</strong>": "{r.outcome}</li>
                        }).collect_view()}
                    </ul>
                </div>
            })}
        </section>
    }
    .into_any()
}
