use std::time::Duration;

use app::{auth::Subscription, error::AppError};
use domain::{
    organisations::{OrganisationName, SubscriptionState, set_subscription},
    users::Role,
};
use reqwest::StatusCode;

use crate::{
    helpers::{app_error, spawn_app, spawn_app_with},
    sending::{
        assert_each_exactly_once, configured_organisation, numbers, run_campaign_to,
        wait_for_status,
    },
};

#[tokio::test]
async fn an_organisation_without_a_subscription_sees_the_gate_on_every_outreach_page() {
    let app = spawn_app().await;
    let dormant = app.create_organisation("Dormant", false).await;
    app.create_user(&dormant, "dora@dormant.test", Role::OrgAdmin)
        .await;
    let cookie = app.signed_in("dora@dormant.test").await;

    for path in ["/outreach/campaigns", "/outreach/settings"] {
        let html = app.get(path, Some(&cookie)).await.text().await.unwrap();
        assert!(html.contains("Outreach needs a subscription"), "{path}");
        assert!(html.contains("Request access"), "{path}");
        assert!(
            !html.contains("Members"),
            "{path} shows settings behind the gate"
        );
    }
}

#[tokio::test]
async fn requesting_access_is_recorded_and_the_page_then_says_when() {
    let app = spawn_app().await;
    let dormant = app.create_organisation("Dormant", false).await;
    app.create_user(&dormant, "carol@dormant.test", Role::Campaigner)
        .await;
    let cookie = app.signed_in("carol@dormant.test").await;

    let response = app.call("request_access", Some(&cookie), &[]).await;

    assert_eq!(response.status(), StatusCode::OK);
    let answer: Subscription = response.json().await.unwrap();
    assert!(matches!(answer, Subscription::Requested { ref by, .. } if by == "carol@dormant.test"));
    let organisation = app.organisation(dormant.id).await;
    assert_eq!(organisation.subscription, SubscriptionState::Requested);
    assert!(organisation.access_requested_at.is_some());
    let html = app
        .get("/outreach/campaigns", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Access was requested on"));
    assert!(html.contains("carol@dormant.test"));
}

#[tokio::test]
async fn an_active_organisation_sees_no_gate() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    let cookie = app.signed_in("alice@acme.test").await;

    let html = app
        .get("/outreach/campaigns", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();

    assert!(!html.contains("Outreach needs a subscription"));
    assert!(!html.contains("Request access"));
}

/// Everything an Org Admin of an organisation without a subscription might
/// call on Settings > SMS and Settings, with valid Twilio credentials.
#[tokio::test]
async fn settings_refuse_an_organisation_without_a_subscription_and_ask_twilio_nothing() {
    let app = spawn_app().await;
    let dormant = app.create_organisation("Dormant", false).await;
    app.create_user(&dormant, "dora@dormant.test", Role::OrgAdmin)
        .await;
    let cookie = app.signed_in("dora@dormant.test").await;
    let (sid, token, service) = (
        app.account.sid.clone(),
        app.account.auth_token.clone(),
        app.service.sid.clone(),
    );
    let save = [
        ("section", "everything"),
        ("account_sid", sid.as_str()),
        ("auth_token", token.as_str()),
        ("messaging_service_sid", service.as_str()),
        ("version", "0"),
    ];
    let calls: [(&str, &[(&str, &str)]); 6] = [
        ("sms_settings", &[]),
        ("save_twilio_integration", &save),
        ("check_twilio_now", &[]),
        ("sms_capability", &[]),
        ("disconnect_twilio", &[("version", "0")]),
        ("organisation_overview", &[]),
    ];

    for (endpoint, form) in calls {
        let response = app.call(endpoint, Some(&cookie), form).await;
        assert_eq!(
            app_error(response).await,
            AppError::SubscriptionRequired,
            "{endpoint}"
        );
    }
    assert!(app.twilio.requests().is_empty(), "Twilio was asked");
    let saved: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM twilio_integrations")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(saved, 0);
}

#[tokio::test]
async fn withdrawing_the_subscription_pauses_running_campaigns_until_a_member_resumes_them() {
    let app = spawn_app_with(|config| config.sending.messages_per_second = 5.0).await;
    let admin = configured_organisation(&app).await;
    let recipients = numbers(30);
    let id = run_campaign_to(&app, &admin, "Withdrawn", &recipients).await;
    while app.twilio.messages().len() < 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let acme = OrganisationName::parse("Acme").unwrap();

    set_subscription(&app.pool, &acme, false).await.unwrap();

    wait_for_status(&app, id, "paused", Duration::from_secs(5)).await;
    let reason: String = sqlx::query_scalar("SELECT paused_reason FROM campaigns WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        reason,
        "Paused: this organisation's Outreach subscription is not active."
    );
    // In-flight sends finish; then nothing more goes out.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent_when_paused = app.twilio.messages().len();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(app.twilio.messages().len(), sent_when_paused);
    assert!(sent_when_paused < recipients.len());
    // Members cannot resume it while the subscription is withdrawn.
    let form = [("id", id.to_string())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = app.call("resume_campaign", Some(&admin), &form).await;
    assert_eq!(app_error(refused).await, AppError::SubscriptionRequired);

    set_subscription(&app.pool, &acme, true).await.unwrap();
    // The campaign page says why it stopped.
    let page = app
        .get(&format!("/outreach/campaigns/{id}"), Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Paused: this organisation&#x27;s Outreach subscription is not active.")
            || page.contains("Paused: this organisation's Outreach subscription is not active."),
        "the campaign page does not say why"
    );
    let resumed = app.call("resume_campaign", Some(&admin), &form).await;
    assert_eq!(resumed.status(), StatusCode::OK);
    wait_for_status(&app, id, "completed", Duration::from_secs(30)).await;
    assert_each_exactly_once(&app, &recipients);
}

#[tokio::test]
async fn the_periodic_re_check_skips_organisations_without_a_subscription() {
    let app =
        spawn_app_with(|config| config.twilio.recheck_interval = Duration::from_millis(200)).await;
    configured_organisation(&app).await;
    set_subscription(&app.pool, &OrganisationName::parse("Acme").unwrap(), false)
        .await
        .unwrap();
    // A check already under way when it was withdrawn may finish.
    tokio::time::sleep(Duration::from_millis(400)).await;
    app.twilio.rotate_token(&app.account.sid);
    let asked = app.twilio.requests().len();

    tokio::time::sleep(Duration::from_millis(1200)).await;

    assert_eq!(app.twilio.requests().len(), asked, "Twilio was asked");
    let health: String = sqlx::query_scalar("SELECT health FROM twilio_integrations")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(health, "valid", "a withdrawn organisation was re-checked");
}
