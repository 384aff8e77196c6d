//! Scheduled campaigns: the wizard's `Send now` and `Schedule`, a draft's
//! `Schedule` and `Unschedule`, and the engine starting what is due under
//! the help page's rule as it stands then. The engine's clock is passed in:
//! these tests move it, they never wait for a scheduled time.

use std::time::Duration;

use domain::{clock, sending::engine::start_due_campaigns};
use reqwest::StatusCode;
use serde_json::json;

use crate::{
    helpers::{TestApp, app_error, field_message, form_message, spawn_app, test_keyring},
    sending::{
        assert_each_exactly_once, campaign_status, configured_organisation, numbers,
        remove_messaging_service, wait_for_status,
    },
};
use app::error::{AppError, FormField};

/// Tomorrow at 09:00 in UTC (the organisation's time zone unless changed),
/// as the date and time fields send it, and as an instant.
fn tomorrow_at_nine() -> (String, String, clock::UnixTime) {
    let now = clock::now();
    let (date, _) = clock::local_fields(now + 24 * 60 * 60, "UTC");
    let at = clock::parse_local(&date, "09:00", "UTC").unwrap();
    (date, "09:00".to_owned(), at)
}

async fn create(
    app: &TestApp,
    cookie: &str,
    name: &str,
    recipients: &[String],
    start: serde_json::Value,
) -> reqwest::Response {
    let audience = format!("phone\n{}\n", recipients.join("\n"));
    app.call_json(
        "create_campaign",
        cookie,
        json!({ "name": name, "channel": "sms", "audience": audience, "body": "Polls open at 7am.", "start": start }),
    )
    .await
}

async fn campaign_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM campaigns")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_scheduled_campaign_waits_as_a_draft_and_the_engine_starts_it_at_its_time() {
    let app = spawn_app().await;
    let admin = configured_organisation(&app).await;
    let recipients = numbers(5);
    let (date, time, at) = tomorrow_at_nine();
    let created = create(
        &app,
        &admin,
        "Tomorrow",
        &recipients,
        json!({ "At": { "date": date, "time": time } }),
    )
    .await;
    assert_eq!(created.status(), StatusCode::OK);
    let id: i64 = created.json().await.unwrap();

    assert_eq!(campaign_status(&app, id).await, "draft");
    let list = app
        .get("/outreach/campaigns", Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    let day = clock::format_in(at, "UTC");
    assert!(
        list.contains("Scheduled") && list.contains(&format!(" for {day}")),
        "{list}"
    );
    let page = app
        .get(&format!("/outreach/campaigns/{id}"), Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("Scheduled for {day}.")), "{page}");
    assert!(
        page.contains(&format!(r#"value="{date}""#)),
        "the form shows its date"
    );

    // A second before its time nothing starts; at its time it does.
    let keyring = test_keyring();
    assert!(
        start_due_campaigns(&app.pool, &keyring, at - 1)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(campaign_status(&app, id).await, "draft");
    let started = start_due_campaigns(&app.pool, &keyring, at).await.unwrap();
    assert_eq!(started.len(), 1);
    // The running engine sends it like any other.
    wait_for_status(&app, id, "completed", Duration::from_secs(20)).await;
    assert_each_exactly_once(&app, &recipients);
    assert!(
        start_due_campaigns(&app.pool, &keyring, at + 60)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_scheduled_draft_can_be_moved_and_unscheduled_until_it_starts() {
    let app = spawn_app().await;
    let admin = configured_organisation(&app).await;
    let (date, _, at) = tomorrow_at_nine();
    let id: i64 = create(&app, &admin, "Movable", &numbers(2), json!(null))
        .await
        .json()
        .await
        .unwrap();
    let form = |time: &'static str| {
        [
            ("id", id.to_string()),
            ("date", date.clone()),
            ("time", time.to_owned()),
        ]
    };
    let call = |time: &'static str| {
        let form = form(time);
        let app = &app;
        let admin = admin.clone();
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call("schedule_campaign", Some(&admin), &form).await
        }
    };
    assert_eq!(call("09:00").await.status(), StatusCode::OK);
    assert_eq!(call("10:30").await.status(), StatusCode::OK);
    let keyring = test_keyring();
    assert!(
        start_due_campaigns(&app.pool, &keyring, at)
            .await
            .unwrap()
            .is_empty(),
        "moved to 10:30"
    );

    let unscheduled = app
        .call(
            "unschedule_campaign",
            Some(&admin),
            &[("id", &id.to_string())],
        )
        .await;
    assert_eq!(unscheduled.status(), StatusCode::OK);
    assert!(
        start_due_campaigns(&app.pool, &keyring, at + 2 * 60 * 60)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(campaign_status(&app, id).await, "draft");

    // Bad times change nothing and say which field is wrong.
    let past = app
        .call(
            "schedule_campaign",
            Some(&admin),
            &[
                ("id", &id.to_string()),
                ("date", "2020-01-01"),
                ("time", "09:00"),
            ],
        )
        .await;
    assert!(
        field_message(app_error(past).await, FormField::ScheduleDate)
            .starts_with("Choose a date and time in the future: it is ")
    );
    let bad_time = app
        .call(
            "schedule_campaign",
            Some(&admin),
            &[
                ("id", &id.to_string()),
                ("date", &date),
                ("time", "9 o'clock"),
            ],
        )
        .await;
    assert_eq!(
        field_message(app_error(bad_time).await, FormField::ScheduleTime),
        "Enter a time such as 08:00."
    );
    let scheduled: Option<i64> =
        sqlx::query_scalar("SELECT scheduled_at FROM campaigns WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(scheduled, None);

    // Another organisation's Org Admin finds no such campaign.
    let other = app.create_organisation("Other", true).await;
    app.create_user(&other, "olga@other.test", domain::users::Role::OrgAdmin)
        .await;
    let olga = app.signed_in("olga@other.test").await;
    let refused = app
        .call(
            "schedule_campaign",
            Some(&olga),
            &[("id", &id.to_string()), ("date", &date), ("time", "09:00")],
        )
        .await;
    assert_eq!(app_error(refused).await, AppError::NotFound);
    let refused = app
        .call(
            "unschedule_campaign",
            Some(&olga),
            &[("id", &id.to_string())],
        )
        .await;
    assert_eq!(app_error(refused).await, AppError::NotFound);
    let refused = app
        .call(
            "set_campaign_validity",
            Some(&olga),
            &[("id", &id.to_string()), ("hours", "2")],
        )
        .await;
    assert_eq!(app_error(refused).await, AppError::NotFound);
    let hours: i64 = sqlx::query_scalar("SELECT validity_hours FROM campaigns WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(hours, 24, "another organisation changed nothing");
}

#[tokio::test]
async fn at_its_time_the_help_pages_rule_is_applied_and_a_refused_start_says_why() {
    let app = spawn_app().await;
    let admin = configured_organisation(&app).await;
    let (date, time, at) = tomorrow_at_nine();
    let id: i64 = create(
        &app,
        &admin,
        "Without a service",
        &numbers(3),
        json!({ "At": { "date": date, "time": time } }),
    )
    .await
    .json()
    .await
    .unwrap();
    // The Messaging Service SID is removed before the campaign is due.
    remove_messaging_service(&app, &admin).await;

    let started = start_due_campaigns(&app.pool, &test_keyring(), at)
        .await
        .unwrap();
    assert!(started.is_empty());
    assert_eq!(campaign_status(&app, id).await, "draft");
    assert!(app.twilio.messages().is_empty());
    let page = app
        .get(&format!("/outreach/campaigns/{id}"), Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    let expected = format!(
        "Not started at its scheduled time ({}): A Messaging Service SID is required to run SMS campaigns.",
        clock::format_in(at, "UTC")
    );
    assert!(page.contains(&expected), "{page}");
    // It is not tried again at every pass.
    assert!(
        start_due_campaigns(&app.pool, &test_keyring(), at + 60)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn send_now_starts_at_once_and_is_refused_before_anything_is_created_when_it_cannot_run() {
    let app = spawn_app().await;
    let admin = configured_organisation(&app).await;
    let recipients = numbers(3);
    let created = create(&app, &admin, "Right away", &recipients, json!("Now")).await;
    assert_eq!(created.status(), StatusCode::OK);
    let id: i64 = created.json().await.unwrap();
    wait_for_status(&app, id, "completed", Duration::from_secs(20)).await;
    assert_each_exactly_once(&app, &recipients);

    remove_messaging_service(&app, &admin).await;
    let refused = create(&app, &admin, "Cannot run", &numbers(2), json!("Now")).await;
    assert_eq!(
        form_message(app_error(refused).await),
        "A Messaging Service SID is required to run SMS campaigns."
    );
    let past = create(
        &app,
        &admin,
        "Yesterday",
        &numbers(2),
        json!({ "At": { "date": "2020-01-01", "time": "09:00" } }),
    )
    .await;
    assert!(
        field_message(app_error(past).await, FormField::ScheduleDate)
            .starts_with("Choose a date and time in the future")
    );
    assert_eq!(
        campaign_count(&app).await,
        1,
        "refused starts created nothing"
    );
}
