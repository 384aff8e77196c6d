//! Quiet hours: an organisation's window, read in each recipient's local
//! time where their country has one time zone and in the organisation's
//! otherwise; what waits shows on the campaign's page; an Org Admin may
//! exempt a campaign. The engine's claims are driven with a clock passed
//! in (the app runs as a web process, so nothing sends by itself): these
//! tests move it across time zones, they never wait for a time of day.

use std::collections::BTreeSet;

use app::{
    campaigns::CampaignDetailsView,
    error::{AppError, FormField},
};
use domain::{
    campaigns::store::{RunningCampaign, running_campaigns},
    clock::{self, UnixTime},
    delivery::writer,
    sending::engine::claim_for_campaign,
};
use reqwest::StatusCode;
use serde_json::json;
use server::config::ProcessRole;

use crate::{
    helpers::{TestApp, app_error, field_message, spawn_app_with},
    sending::{configured_organisation, numbers},
};

/// Numbers in Chicago's organisation zone (the United States has several),
/// in the United Kingdom and in Japan (one each).
const UK: [&str; 2] = ["+447400123001", "+447400123002"];
const JAPAN: [&str; 2] = ["+819012345001", "+819012345002"];

async fn web_process() -> TestApp {
    spawn_app_with(|config| config.role = ProcessRole::Web).await
}

async fn save_quiet_hours(app: &TestApp, cookie: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.call("save_quiet_hours", Some(cookie), form).await
}

async fn run(app: &TestApp, cookie: &str, name: &str, recipients: &[String]) -> i64 {
    let audience = format!("phone\n{}\n", recipients.join("\n"));
    let created = app
        .call_json(
            "create_campaign",
            cookie,
            json!({ "name": name, "channel": "sms", "audience": audience, "body": "Polls open at 7am." }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    let id: i64 = created.json().await.unwrap();
    // Thirty days: the clock moved below stays within it.
    let validity = app
        .call(
            "set_campaign_validity",
            Some(cookie),
            &[("id", &id.to_string()), ("hours", "720")],
        )
        .await;
    assert_eq!(validity.status(), StatusCode::OK);
    let ran = app
        .call("run_campaign", Some(cookie), &[("id", &id.to_string())])
        .await;
    assert_eq!(ran.status(), StatusCode::OK);
    id
}

async fn running(app: &TestApp, id: i64) -> RunningCampaign {
    running_campaigns(&app.pool)
        .await
        .unwrap()
        .into_iter()
        .find(|campaign| campaign.id.0 == id)
        .expect("the campaign runs")
}

/// The numbers the engine's claim takes at `now`.
async fn claimed_at(app: &TestApp, id: i64, now: UnixTime) -> BTreeSet<String> {
    let campaign = running(app, id).await;
    let mut claimed = Default::default();
    // Claims go through a process's writer, as the engine's do.
    let deliveries = writer::start(app.pool.clone());
    claim_for_campaign(&deliveries, &campaign, &mut claimed, 100, now, 60)
        .await
        .unwrap();
    claimed
        .to_send
        .into_iter()
        .map(|message| message.phone)
        .collect()
}

fn set(numbers: &[&str]) -> BTreeSet<String> {
    numbers.iter().map(|n| (*n).to_owned()).collect()
}

/// The next 12:00 UTC, within a day from now.
fn next_noon_utc() -> UnixTime {
    let now = clock::now();
    let (today, _) = clock::local_fields(now, "UTC");
    let noon = clock::parse_local(&today, "12:00", "UTC").unwrap();
    if noon > now { noon } else { noon + 24 * 3600 }
}

#[tokio::test]
async fn messages_wait_for_quiet_hours_to_end_in_each_recipients_own_time_zone() {
    let app = web_process().await;
    let admin = configured_organisation(&app).await;
    let zone = app
        .call(
            "save_time_zone",
            Some(&admin),
            &[("time_zone", "America/Chicago")],
        )
        .await;
    assert_eq!(zone.status(), StatusCode::OK);
    let saved = save_quiet_hours(&app, &admin, &[("from", "21:00"), ("until", "09:00")]).await;
    assert_eq!(saved.status(), StatusCode::OK);
    let us = numbers(3);
    let everyone: Vec<String> = us
        .iter()
        .cloned()
        .chain(UK.iter().chain(&JAPAN).map(|n| (*n).to_owned()))
        .collect();
    let id = run(&app, &admin, "Around the world", &everyone).await;

    // The zones were worked out once, when it started.
    let quiet = running(&app, id)
        .await
        .quiet_hours
        .expect("quiet hours apply");
    assert_eq!(
        quiet.recipient_zones,
        vec![
            None,
            Some("Asia/Tokyo".to_owned()),
            Some("Europe/London".to_owned())
        ]
    );

    // Whatever the season: at 12:00 UTC it is 06:00 or 07:00 in Chicago,
    // 12:00 or 13:00 in London and 21:00 in Tokyo. Only the United Kingdom
    // is outside quiet hours.
    let noon = next_noon_utc();
    assert_eq!(claimed_at(&app, id, noon).await, set(&UK));
    // 15:00 UTC: morning in Chicago. Tokyo's night goes on.
    let us_set: BTreeSet<String> = us.iter().cloned().collect();
    assert_eq!(claimed_at(&app, id, noon + 3 * 3600).await, us_set);
    // 23:59 UTC: 08:59 in Tokyo, still quiet.
    assert!(claimed_at(&app, id, noon + 12 * 3600 - 60).await.is_empty());
    // 00:00 UTC: 09:00 in Tokyo.
    assert_eq!(claimed_at(&app, id, noon + 12 * 3600).await, set(&JAPAN));
}

#[tokio::test]
async fn the_campaign_page_says_what_waits_and_until_when_and_an_org_admin_may_exempt_it() {
    let app = web_process().await;
    let admin = configured_organisation(&app).await;
    let acme = app.organisation_named("Acme").await.unwrap();
    app.create_user(&acme, "carol@acme.test", domain::users::Role::Campaigner)
        .await;
    let campaigner = app.signed_in("carol@acme.test").await;
    // Quiet hours around now, in the organisation's zone (UTC).
    let now = clock::now();
    let (_, from) = clock::local_fields(now - 3600, "UTC");
    let (_, until) = clock::local_fields(now + 2 * 3600, "UTC");
    let saved = save_quiet_hours(&app, &admin, &[("from", &from), ("until", &until)]).await;
    assert_eq!(saved.status(), StatusCode::OK);
    let id = run(&app, &campaigner, "Tonight", &numbers(3)).await;

    let shown = details(&app, &campaigner, id).await;
    let quiet = shown.quiet_hours.expect("quiet hours are shown");
    assert_eq!(quiet.window, format!("{from}–{until}"));
    assert!(!quiet.exempt && !quiet.may_exempt);
    assert_eq!(quiet.waiting.len(), 1, "{:?}", quiet.waiting);
    let waiting = &quiet.waiting[0];
    assert_eq!(
        (
            waiting.zone.as_str(),
            waiting.messages,
            waiting.until_there.as_str()
        ),
        ("UTC", 3, until.as_str())
    );
    let page = app
        .get(&format!("/outreach/campaigns/{id}"), Some(&campaigner))
        .await
        .text()
        .await
        .unwrap();
    let line = format!(
        "3 messages to recipients in UTC wait until {until} there ({}).",
        waiting.until
    );
    assert!(page.contains(&line), "{line} in {page}");
    assert!(!page.contains("Exempt from quiet hours"));
    assert!(claimed_at(&app, id, clock::now()).await.is_empty());

    // A campaigner may not exempt it, whatever they send.
    let refused = app
        .call(
            "set_quiet_hours_exemption",
            Some(&campaigner),
            &[("id", &id.to_string()), ("exempt", "yes")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(running(&app, id).await.quiet_hours.is_some());

    // The Org Admin sees the button, and exempting it sends at once.
    let page = app
        .get(&format!("/outreach/campaigns/{id}"), Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Exempt from quiet hours"), "{page}");
    let exempted = app
        .call(
            "set_quiet_hours_exemption",
            Some(&admin),
            &[("id", &id.to_string()), ("exempt", "yes")],
        )
        .await;
    assert_eq!(exempted.status(), StatusCode::OK);
    let quiet = details(&app, &admin, id).await.quiet_hours.unwrap();
    assert!(quiet.exempt && quiet.waiting.is_empty());
    assert_eq!(claimed_at(&app, id, clock::now()).await.len(), 3);
    let audit = app.audit_log(&admin).await;
    assert!(
        audit
            .entries
            .iter()
            .any(|e| e.action == "Exempted the campaign \"Tonight\" from quiet hours"),
        "{audit:?}"
    );

    // Another organisation cannot touch it, and it cannot be told apart
    // from a campaign that does not exist.
    let other = app.create_organisation("Other", true).await;
    app.create_user(&other, "olga@other.test", domain::users::Role::OrgAdmin)
        .await;
    let olga = app.signed_in("olga@other.test").await;
    let foreign = app
        .call(
            "set_quiet_hours_exemption",
            Some(&olga),
            &[("id", &id.to_string()), ("exempt", "no")],
        )
        .await;
    assert!(matches!(app_error(foreign).await, AppError::NotFound));
    assert!(running(&app, id).await.quiet_hours.is_none());
}

async fn details(app: &TestApp, cookie: &str, id: i64) -> CampaignDetailsView {
    let response = app
        .call(
            "campaign_details",
            Some(cookie),
            &[("id", &id.to_string()), ("page", "1")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn only_org_admins_set_quiet_hours_and_bad_times_change_nothing() {
    let app = web_process().await;
    let admin = configured_organisation(&app).await;
    let acme = app.organisation_named("Acme").await.unwrap();
    app.create_user(&acme, "carol@acme.test", domain::users::Role::Campaigner)
        .await;
    let campaigner = app.signed_in("carol@acme.test").await;
    let stored = || async {
        app.organisation_named("Acme")
            .await
            .unwrap()
            .quiet_hours
            .map(|q| q.label())
    };

    let refused =
        save_quiet_hours(&app, &campaigner, &[("from", "21:00"), ("until", "09:00")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let signed_out = app
        .call(
            "save_quiet_hours",
            None,
            &[("from", "21:00"), ("until", "09:00")],
        )
        .await;
    assert_eq!(app_error(signed_out).await, AppError::NotSignedIn);
    let signed_out = app
        .call(
            "set_quiet_hours_exemption",
            None,
            &[("id", "1"), ("exempt", "yes")],
        )
        .await;
    assert_eq!(app_error(signed_out).await, AppError::NotSignedIn);
    assert_eq!(stored().await, None);

    let bad =
        app_error(save_quiet_hours(&app, &admin, &[("from", "9pm"), ("until", "")]).await).await;
    assert_eq!(
        field_message(bad.clone(), FormField::QuietHoursFrom),
        "Enter the time quiet hours start, such as 21:00."
    );
    assert_eq!(
        field_message(bad, FormField::QuietHoursUntil),
        "Enter the time quiet hours end, such as 09:00."
    );
    let same =
        app_error(save_quiet_hours(&app, &admin, &[("from", "09:00"), ("until", "09:00")]).await)
            .await;
    assert_eq!(
        field_message(same, FormField::QuietHoursFrom),
        "Quiet hours must end at another time than they start."
    );
    assert_eq!(stored().await, None);

    let saved = save_quiet_hours(&app, &admin, &[("from", "21:00"), ("until", "09:00")]).await;
    assert_eq!(saved.status(), StatusCode::OK);
    assert_eq!(stored().await.as_deref(), Some("21:00–09:00"));
    let page = app
        .get("/outreach/settings", Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("On: campaigns send nothing from 21:00 to 09:00."),
        "{page}"
    );
    assert!(page.contains("Turn off quiet hours"));

    let off = save_quiet_hours(
        &app,
        &admin,
        &[("from", "21:00"), ("until", "09:00"), ("turn_off", "yes")],
    )
    .await;
    assert_eq!(off.status(), StatusCode::OK);
    assert_eq!(stored().await, None);
    let audit = app.audit_log(&admin).await;
    let changes: Vec<&str> = audit
        .entries
        .iter()
        .map(|e| e.action.as_str())
        .filter(|what| what.contains("quiet hours"))
        .collect();
    assert_eq!(
        changes,
        vec![
            "Changed the quiet hours from 21:00–09:00 to none",
            "Changed the quiet hours from none to 21:00–09:00"
        ]
    );
    // Off, nothing about them shows on a campaign.
    let id = run(&app, &admin, "Any hour", &numbers(2)).await;
    assert!(details(&app, &admin, id).await.quiet_hours.is_none());
    assert_eq!(claimed_at(&app, id, clock::now()).await.len(), 2);
}
