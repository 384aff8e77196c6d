//! Outreach > Campaigns: the list, the wizard, and a campaign's page.
//! Every server function enforces the SMS capability rule itself.

use std::collections::BTreeMap;

use leptos::{either::Either, prelude::*};
use leptos_router::components::A;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::error::FormField;
pub use model::{CampaignId, CampaignStatus, Channel, MessageState, UnknownOutcomeDecision};

mod page;
mod wizard;

pub use page::{CampaignDetailsView, CampaignPage, RecipientRow};
pub use wizard::NewCampaignPage;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignRow {
    pub id: CampaignId,
    pub name: String,
    pub status: CampaignStatus,
    pub body: String,
    pub audience_size: i64,
    pub estimated_segments: i64,
    pub created_by: String,
    pub created_at: String,
    /// Outbound messages per state, once it has run.
    pub messages: Vec<(MessageState, i64)>,
    /// Why Outreach paused it, when it did.
    pub paused_reason: Option<String>,
    /// When a scheduled draft starts, in the organisation's time zone.
    pub scheduled_for: Option<String>,
    /// That time as the date and time fields show it (empty when none).
    pub schedule_date: String,
    pub schedule_time: String,
    /// Why a scheduled start did not happen.
    pub schedule_problem: Option<String>,
    /// Messages not sent this many hours after the start expire.
    pub validity_hours: i64,
}

/// How the wizard's Review step ends: `Create campaign` keeps a draft;
/// `Send now` starts it; `Schedule` has the engine start it at a date and
/// time of the organisation's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CampaignStart {
    Now,
    At { date: String, time: String },
}

impl CampaignRow {
    fn count(&self, wanted: impl Fn(MessageState) -> bool) -> i64 {
        self.messages
            .iter()
            .filter(|(state, _)| wanted(*state))
            .map(|(_, n)| n)
            .sum()
    }

    /// (label, count) for every label, in the order people see them,
    /// zeros included. `sending` (claimed, awaiting Twilio) counts as queued.
    pub fn progress(&self) -> Vec<(&'static str, i64)> {
        MessageState::LABELS
            .iter()
            .map(|label| (*label, self.count(|state| state.label() == *label)))
            .collect()
    }

    pub fn total_messages(&self) -> i64 {
        self.messages.iter().map(|(_, n)| n).sum()
    }

    /// Messages whose state will not change again. A completed campaign's
    /// are all final, including any still "sent" a day after sending with
    /// no receipt from the carrier.
    pub fn finished_messages(&self) -> i64 {
        if self.status == CampaignStatus::Completed {
            self.total_messages()
        } else {
            self.count(MessageState::is_final)
        }
    }

    /// Whether the page should keep refreshing itself.
    pub fn is_live(&self) -> bool {
        match self.status {
            CampaignStatus::Running => true,
            CampaignStatus::Paused | CampaignStatus::Cancelled => {
                self.count(MessageState::is_in_flight) > 0
            }
            CampaignStatus::Draft | CampaignStatus::Completed => false,
        }
    }

    /// "3 delivered, 1 failed": the non-zero counts.
    pub fn progress_text(&self) -> String {
        self.progress()
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(label, n)| format!("{n} {}", label.to_lowercase()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A progress bar with its numbers in words (never the bar alone).
pub fn progress_bar(campaign: &CampaignRow) -> impl IntoView + use<> {
    let total = campaign.total_messages();
    let finished = campaign.finished_messages();
    let percent = if total == 0 {
        0
    } else {
        finished * 100 / total
    };
    view! {
        <div class="progress">
            <progress max=total.max(1) value=finished aria-label="Messages with a final status"></progress>
            <span class="small">{format!("{finished} of {total} messages have a final status ({percent}%)")}</span>
        </div>
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidLine {
    pub line: usize,
    pub value: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudiencePreview {
    pub recipients: usize,
    pub duplicates: usize,
    pub opted_out: usize,
    /// The first invalid rows (up to 100) and how many there are in all.
    pub invalid: Vec<InvalidLine>,
    pub invalid_total: usize,
    pub columns: Vec<String>,
    pub default_country: String,
    /// The first recipient's columns, for the message preview.
    pub sample: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePreview {
    pub characters: usize,
    pub encoding: String,
    pub non_gsm_characters: String,
    pub segments: usize,
    /// The message as the sample recipient would receive it.
    pub rendered: String,
    pub rendered_segments: usize,
    pub placeholders: Vec<String>,
}

#[server(endpoint = "list_campaigns")]
pub async fn list_campaigns() -> Result<Vec<CampaignRow>, AppError> {
    let (user, state, _) = ssr::member().await?;
    let campaigns =
        domain::campaigns::store::list_campaigns(&state.services.pool, user.organisation_id)
            .await
            .map_err(AppError::internal)?;
    Ok(campaigns.into_iter().map(|c| ssr::row(c, &user)).collect())
}

#[server(endpoint = "preview_audience", input = leptos::server_fn::codec::Json)]
pub async fn preview_audience(audience: String) -> Result<AudiencePreview, AppError> {
    let (_, state, organisation) = ssr::member().await?;
    let (audience, country) = ssr::parse_audience(&state, &organisation, audience).await?;
    Ok(AudiencePreview {
        recipients: audience.recipients.len(),
        duplicates: audience.duplicates,
        opted_out: audience.opted_out,
        invalid_total: audience.invalid_total,
        invalid: audience
            .invalid
            .iter()
            .map(|row| InvalidLine {
                line: row.line,
                value: row.value.clone(),
                reason: row.reason.clone(),
            })
            .collect(),
        sample: audience
            .recipients
            .first()
            .map(|r| {
                let mut fields: BTreeMap<String, String> = audience
                    .fields(r)
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
                fields.insert("phone".to_owned(), r.phone().as_str().to_owned());
                fields
            })
            .unwrap_or_default(),
        columns: audience.columns,
        default_country: country,
    })
}

#[server(endpoint = "preview_message", input = leptos::server_fn::codec::Json)]
pub async fn preview_message(
    body: String,
    sample: BTreeMap<String, String>,
) -> Result<MessagePreview, AppError> {
    use domain::{
        campaigns::message::{Encoding, Template, count_segments},
        limits::{
            MAX_BODY_CHARS, MAX_COLUMN_NAME_CHARS, MAX_COLUMNS, MAX_FIELD_CHARS, MAX_RENDERED_CHARS,
        },
    };

    ssr::member().await?;
    let characters = body.chars().count();
    if characters > MAX_BODY_CHARS {
        return Err(ssr::field_error(
            FormField::Message,
            format!("The message is {characters} characters; the most is {MAX_BODY_CHARS}."),
        ));
    }
    // The sample is the first recipient's values, as preview_audience gave them.
    let sample_fits = sample.len() <= MAX_COLUMNS
        && sample.iter().all(|(name, value)| {
            name.chars().count() <= MAX_COLUMN_NAME_CHARS
                && value.chars().count() <= MAX_FIELD_CHARS
        });
    if !sample_fits {
        return Err(ssr::form_error(format!(
            "The sample recipient has more than {MAX_COLUMNS} values, or a value longer than {MAX_FIELD_CHARS} characters."
        )));
    }
    let count = count_segments(&body);
    let template = Template::parse(&body);
    let rendered = template
        .render(|name| sample.get(name).map(String::as_str), MAX_RENDERED_CHARS)
        .map_err(|_| {
            ssr::field_error(
                FormField::Message,
                format!(
                    "With the first recipient's values filled in, the message would be longer than {MAX_RENDERED_CHARS} characters. Shorten the message or that recipient's values."
                ),
            )
        })?;
    Ok(MessagePreview {
        characters: count.characters,
        encoding: match count.encoding {
            Encoding::Gsm7 => "GSM-7".to_owned(),
            Encoding::Ucs2 => "UCS-2".to_owned(),
        },
        non_gsm_characters: count.non_gsm_characters.iter().collect(),
        segments: count.segments,
        rendered_segments: count_segments(&rendered).segments,
        rendered,
        placeholders: template.placeholders().map(|p| p.name.clone()).collect(),
    })
}

/// What happened to one test message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestMessageResult {
    pub to: String,
    pub sent: bool,
    pub outcome: String,
}

/// `Send a test`: the message as the first recipient gets it, to up to five
/// numbers typed by the person, not counted in the campaign.
#[server(endpoint = "send_test", input = leptos::server_fn::codec::Json)]
pub async fn send_test(
    numbers: String,
    body: String,
    sample: BTreeMap<String, String>,
) -> Result<Vec<TestMessageResult>, AppError> {
    use domain::{
        campaigns::audience::E164Phone,
        sending::test_messages::{MAX_TEST_NUMBERS, TestMessageError, send_test_messages},
    };

    let (user, state, organisation) = ssr::member().await?;
    let typed: Vec<&str> = numbers
        .split([',', ';', '\n'])
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    if typed.is_empty() || typed.len() > MAX_TEST_NUMBERS {
        return Err(ssr::field_error(
            FormField::TestNumbers,
            format!("Enter 1 to {MAX_TEST_NUMBERS} phone numbers, separated by commas."),
        ));
    }
    let mut phones: Vec<E164Phone> = Vec::with_capacity(typed.len());
    for raw in typed {
        let phone = E164Phone::parse(raw, &organisation.default_country).map_err(|e| {
            ssr::field_error(
                FormField::TestNumbers,
                format!("{}: {e}.", raw.chars().take(40).collect::<String>()),
            )
        })?;
        if !phones.contains(&phone) {
            phones.push(phone);
        }
    }
    // The same checks and rendering as the preview the person sees.
    let rendered = preview_message(body, sample).await?.rendered;
    let outcomes = send_test_messages(
        &state.services.pool,
        &state.services.keyring,
        &state.services.twilio,
        user.organisation_id,
        &phones,
        &rendered,
    )
    .await
    .map_err(|e| match e {
        TestMessageError::NotAllowed(reason) => ssr::form_error(reason),
        TestMessageError::Internal(e) => AppError::internal(e),
    })?;
    Ok(outcomes
        .into_iter()
        .map(|o| TestMessageResult {
            to: o.to,
            sent: o.sent,
            outcome: o.outcome,
        })
        .collect())
}

#[server(endpoint = "create_campaign", input = leptos::server_fn::codec::Json)]
pub async fn create_campaign(
    name: String,
    channel: Channel,
    audience: String,
    body: String,
    /// None: a draft, run later from its page.
    start: Option<CampaignStart>,
) -> Result<CampaignId, AppError> {
    use domain::campaigns::store::{CreateError, NewCampaign, insert_campaign};

    let (user, state, organisation) = ssr::member().await?;
    // SMS is the only channel there is: the type says so.
    let Channel::Sms = channel;
    let (name, body) = ssr::name_and_body(&name, &body)?;
    let now = domain::clock::now();
    // The start is checked first: a refused one creates nothing.
    let scheduled_at = match &start {
        Some(CampaignStart::At { date, time }) => {
            Some(ssr::scheduled_time(&user, date, time, now)?)
        }
        _ => None,
    };
    let configuration =
        crate::settings::sms::ssr::configuration(&state, user.organisation_id).await?;
    if start == Some(CampaignStart::Now) {
        domain::campaigns::store::may_run(configuration).map_err(ssr::form_error)?;
    }
    let (audience, _) = ssr::parse_audience(&state, &organisation, audience).await?;
    let created = insert_campaign(
        &state.services.pool,
        user.organisation_id,
        &user.email,
        NewCampaign {
            name,
            body,
            audience,
        },
        configuration,
        now,
    )
    .await;
    match created {
        Ok(id) => {
            // Created: whatever happens to the start, the draft is kept and
            // its page says where it is.
            match scheduled_at {
                Some(at) => {
                    domain::campaigns::store::schedule_campaign(
                        &state.services.pool,
                        user.organisation_id,
                        id,
                        at,
                        now,
                    )
                    .await
                    .map_err(|e| AppError::internal(anyhow::anyhow!(e)))?;
                }
                None if start == Some(CampaignStart::Now) => {
                    domain::campaigns::store::run_campaign(
                        &state.services.pool,
                        user.organisation_id,
                        id,
                        configuration,
                        now,
                    )
                    .await
                    .map_err(|e| AppError::internal(anyhow::anyhow!(e)))?;
                }
                None => {}
            }
            Ok(id)
        }
        Err(CreateError::NotAllowed(reason)) => Err(ssr::form_error(reason)),
        Err(CreateError::DuplicateName) => Err(ssr::field_error(
            FormField::CampaignName,
            ssr::DUPLICATE_NAME,
        )),
        Err(CreateError::NoRecipients) => Err(ssr::field_error(
            FormField::Audience,
            "The audience has no recipients.",
        )),
        Err(CreateError::MessageTooLong(e)) => Err(ssr::field_error(FormField::Message, e)),
        Err(CreateError::Internal(e)) => Err(AppError::internal(e)),
    }
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use domain::{
        campaigns::{audience::Audience, store::CampaignSummary},
        organisations::Organisation,
        sign_in::SignedInUser,
    };

    use super::CampaignRow;
    use domain::campaigns::store::{CampaignName, SmsBody};

    use crate::{
        error::{AppError, FieldErrors, FormField},
        state::AppState,
    };

    /// Any signed-in member of an organisation with an active subscription,
    /// with that organisation (its default country reads the audience).
    pub async fn member() -> Result<(SignedInUser, AppState, Organisation), AppError> {
        crate::auth::ssr::require_subscribed_member().await
    }

    /// Ties the request's log lines to the campaign it is about.
    pub fn about(id: domain::ids::CampaignId) {
        tracing::Span::current().record("campaign_id", tracing::field::display(id));
    }

    /// An error about the form (or the campaign) as a whole.
    pub fn form_error(message: impl Into<String>) -> AppError {
        AppError::Invalid(FieldErrors::form(message))
    }

    /// An error to show under one field.
    pub fn field_error(field: FormField, message: impl ToString) -> AppError {
        AppError::Invalid(FieldErrors::field(field, message.to_string()))
    }

    pub const DUPLICATE_NAME: &str =
        "A campaign with this name already exists in your organisation: choose another.";

    /// The name and the message, each checked, both errors at once.
    pub fn name_and_body(name: &str, body: &str) -> Result<(CampaignName, SmsBody), AppError> {
        let mut errors = FieldErrors::default();
        let name = CampaignName::parse(name)
            .map_err(|e| errors.set(FormField::CampaignName, e.to_string()))
            .ok();
        let body = SmsBody::parse(body)
            .map_err(|e| errors.set(FormField::Message, e.to_string()))
            .ok();
        match (name, body) {
            (Some(name), Some(body)) => Ok((name, body)),
            _ => Err(AppError::Invalid(errors)),
        }
    }

    /// Takes the text by value: it is dropped as soon as it is parsed (an
    /// audience can be 28 MB).
    pub async fn parse_audience(
        state: &AppState,
        organisation: &Organisation,
        text: String,
    ) -> Result<(Audience, String), AppError> {
        let country = organisation.default_country.clone();
        let opted_out = domain::opt_outs::numbers(&state.services.pool, organisation.id)
            .await
            .map_err(AppError::internal)?;
        // Parsing a million numbers takes seconds: off the async workers,
        // one audience at a time (see `domain::work`).
        let parse_country = country.clone();
        let audience = domain::work::AUDIENCES
            .run(move || {
                domain::campaigns::audience::parse_audience(&text, &parse_country, &opted_out)
            })
            .await
            .map_err(work_error)?
            .map_err(|e| field_error(FormField::Audience, e))?;
        Ok((audience, country))
    }

    pub fn work_error(error: domain::work::WorkError) -> AppError {
        match error {
            domain::work::WorkError::Busy => AppError::Busy,
            domain::work::WorkError::Failed(e) => AppError::internal(e),
        }
    }

    /// A date and time typed in the viewer's organisation's time zone, as
    /// an instant in the future; errors under the field they are about.
    pub fn scheduled_time(
        viewer: &SignedInUser,
        date: &str,
        time: &str,
        now: domain::clock::UnixTime,
    ) -> Result<domain::clock::UnixTime, AppError> {
        use domain::clock::{LocalTimeError, parse_local};
        match parse_local(date, time, &viewer.time_zone) {
            Ok(at) if at > now => Ok(at),
            Ok(_) => Err(field_error(
                FormField::ScheduleDate,
                format!(
                    "Choose a date and time in the future: it is {} now.",
                    viewer.local_time(now)
                ),
            )),
            Err(e @ LocalTimeError::Date) => Err(field_error(FormField::ScheduleDate, e)),
            Err(e @ LocalTimeError::Time) => Err(field_error(FormField::ScheduleTime, e)),
        }
    }

    pub fn row(c: CampaignSummary, viewer: &SignedInUser) -> CampaignRow {
        let scheduled_at = c
            .scheduled_at
            .filter(|_| c.status == domain::campaigns::store::CampaignStatus::Draft);
        let (schedule_date, schedule_time) = scheduled_at
            .map(|at| domain::clock::local_fields(at, &viewer.time_zone))
            .unwrap_or_default();
        CampaignRow {
            scheduled_for: scheduled_at.map(|at| viewer.local_time(at)),
            schedule_date,
            schedule_time,
            validity_hours: c.validity_hours,
            schedule_problem: c
                .schedule_problem
                .filter(|_| c.status == domain::campaigns::store::CampaignStatus::Draft),
            id: c.id,
            name: c.name,
            status: c.status,
            body: c.body,
            audience_size: c.audience_size,
            estimated_segments: c.estimated_segments,
            created_by: if c.created_by_former_member {
                format!("{} (former member)", c.created_by)
            } else {
                c.created_by
            },
            created_at: viewer.local_time(c.created_at),
            messages: c.messages.into_iter().collect(),
            paused_reason: c.paused_reason,
        }
    }
}

/// The campaign's status, or "Scheduled" and when, for a scheduled draft.
pub fn campaign_badge(campaign: &CampaignRow) -> AnyView {
    match &campaign.scheduled_for {
        Some(at) => view! {
            <span class="badge">"Scheduled"</span>
            <span class="small">{format!(" for {at}")}</span>
        }
        .into_any(),
        None => status_badge(campaign.status).into_any(),
    }
}

pub fn status_badge(status: CampaignStatus) -> impl IntoView + use<> {
    let class = match status {
        CampaignStatus::Draft => "badge",
        CampaignStatus::Running | CampaignStatus::Completed => "badge ok",
        CampaignStatus::Paused => "badge warn",
        CampaignStatus::Cancelled => "badge bad",
    };
    view! { <span class=class>{status.label()}</span> }
}

#[component]
pub fn CampaignsPage() -> impl IntoView {
    let live = RwSignal::new(false);
    let tick = refresh_while(live);
    let campaigns = Resource::new(move || tick.get(), |_| list_campaigns());
    Effect::new(move |_| {
        if let Some(Ok(rows)) = campaigns.get() {
            live.set(rows.iter().any(CampaignRow::is_live));
        }
    });
    view! {
        <leptos_meta::Title text="Campaigns"/>
        <div class="page-heading">
            <h1>"Campaigns"</h1>
            <A href="/outreach/campaigns/new" attr:class="button primary">"New campaign"</A>
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match campaigns.await {
                    Ok(rows) if rows.is_empty() => Either::Left(view! {
                        <section class="panel empty" aria-label="Campaign list"><p>"No campaigns yet."</p></section>
                    }),
                    Ok(rows) => Either::Right(Either::Left(view! { <CampaignTable rows/> })),
                    Err(e) => Either::Right(Either::Right(view! { <p class="error" role="alert">{e.to_string()}</p> })),
                }
            })}
        </Transition>
    }
}

/// A counter that moves every 2 s while `live` is true, for pages that
/// follow running campaigns (in the browser: effects do not run on the
/// server).
pub(crate) fn refresh_while(live: RwSignal<bool>) -> RwSignal<u64> {
    let tick = RwSignal::new(0u64);
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if live.get_untracked() {
                    tick.update(|t| *t += 1);
                }
            },
            std::time::Duration::from_secs(2),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    tick
}

#[component]
fn CampaignTable(rows: Vec<CampaignRow>) -> impl IntoView {
    view! {
        <section class="panel" aria-label="Campaign list">
            <div class="table-scroll">
                <table>
                    <thead>
                        <tr>
                            <th scope="col">"Name"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Audience"</th>
                            <th scope="col">"Messages"</th>
                            <th scope="col">"Created"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {rows.into_iter().map(|c| {
                            let messages = if c.messages.is_empty() {
                                None
                            } else {
                                Some(view! { {progress_bar(&c)} <span class="small">{c.progress_text()}</span> })
                            };
                            let badge = campaign_badge(&c);
                            view! {
                                <tr>
                                    <td><A href=format!("/outreach/campaigns/{}", c.id)>{c.name.clone()}</A></td>
                                    <td>{badge}</td>
                                    <td>{format!("{} recipients", c.audience_size)}</td>
                                    <td>{match messages { Some(progress) => Either::Left(progress), None => Either::Right("—") }}</td>
                                    <td>{format!("{} by {}", c.created_at, c.created_by)}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}
