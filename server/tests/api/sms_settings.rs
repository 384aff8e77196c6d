//! Outreach > Settings > SMS through its server functions and pages, with
//! the Twilio simulator behind the app.

use std::time::Duration;

use app::{
    error::{AppError, FieldErrors, FormField},
    settings::sms::{SmsCapabilityView, SmsSettingsView},
};
use domain::{
    organisations::OrganisationId, sms_settings::integration::fetch_integration, users::Role,
};
use reqwest::StatusCode;

use crate::helpers::{TestApp, app_error, spawn_app, spawn_app_with};

async fn admin_of_acme(app: &TestApp) -> (String, OrganisationId) {
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    (app.signed_in("alice@acme.test").await, acme.id)
}

async fn save(app: &TestApp, cookie: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    app.call("save_twilio_integration", Some(cookie), fields)
        .await
}

fn everything<'a>(sid: &'a str, token: &'a str, service: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("section", "everything"),
        ("account_sid", sid),
        ("auth_token", token),
        ("messaging_service_sid", service),
        ("version", "0"),
    ]
}

async fn field_errors(response: reqwest::Response) -> FieldErrors {
    match app_error(response).await {
        AppError::Invalid(errors) => errors,
        other => panic!("expected field errors, got {other:?}"),
    }
}

async fn nothing_saved(app: &TestApp, organisation: OrganisationId) -> bool {
    fetch_integration(&app.pool, organisation)
        .await
        .unwrap()
        .is_none()
}

#[tokio::test]
async fn an_org_admin_saves_valid_credentials_and_sees_the_sid_but_only_a_mask_for_the_token() {
    let app = spawn_app().await;
    let (cookie, _) = admin_of_acme(&app).await;

    let response = save(
        &app,
        &cookie,
        &everything(&app.account.sid, &app.account.auth_token, &app.service.sid),
    )
    .await;

    assert_eq!(response.status(), StatusCode::OK);
    let page = app.get("/outreach/settings/sms", Some(&cookie)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(&app.account.sid));
    assert!(html.contains(&app.service.sid));
    assert!(html.contains("••••••••••••"));
    assert!(html.contains("Valid"));
    assert!(!html.contains(&app.account.auth_token));
}

#[tokio::test]
async fn malformed_values_are_field_errors_and_twilio_is_not_asked() {
    let app = spawn_app().await;
    let (cookie, organisation) = admin_of_acme(&app).await;

    let response = save(&app, &cookie, &everything("AC123", "two words", "MGnope")).await;

    let errors = field_errors(response).await;
    assert!(
        errors
            .get(FormField::AccountSid)
            .unwrap()
            .contains("starts with AC")
    );
    assert!(
        errors
            .get(FormField::AuthToken)
            .unwrap()
            .contains("cannot contain spaces")
    );
    assert!(
        errors
            .get(FormField::MessagingServiceSid)
            .unwrap()
            .contains("starts with MG")
    );
    assert!(app.twilio.requests().is_empty());
    assert!(nothing_saved(&app, organisation).await);
}

#[tokio::test]
async fn surrounding_whitespace_from_copy_paste_is_trimmed_not_an_error() {
    let app = spawn_app().await;
    let (cookie, organisation) = admin_of_acme(&app).await;
    let sid = format!("  {} ", app.account.sid);
    let token = format!("{}\n", app.account.auth_token);
    let service = format!("\t{}", app.service.sid);

    let response = save(&app, &cookie, &everything(&sid, &token, &service)).await;

    assert_eq!(response.status(), StatusCode::OK);
    let saved = fetch_integration(&app.pool, organisation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(saved.account_sid.as_str(), app.account.sid);
}

#[tokio::test]
async fn a_rotated_token_is_refused_next_to_the_auth_token_and_nothing_is_saved() {
    let app = spawn_app().await;
    let (cookie, organisation) = admin_of_acme(&app).await;
    app.twilio.rotate_token(&app.account.sid);

    let response = save(
        &app,
        &cookie,
        &everything(&app.account.sid, &app.account.auth_token, &app.service.sid),
    )
    .await;

    let errors = field_errors(response).await;
    assert!(
        errors
            .get(FormField::AuthToken)
            .unwrap()
            .contains("rotated")
    );
    assert!(nothing_saved(&app, organisation).await);
}

#[tokio::test]
async fn an_unknown_messaging_service_is_refused_next_to_its_field() {
    let app = spawn_app().await;
    let (cookie, organisation) = admin_of_acme(&app).await;

    let response = save(
        &app,
        &cookie,
        &everything(
            &app.account.sid,
            &app.account.auth_token,
            "MG11111111111111111111111111111111",
        ),
    )
    .await;

    let errors = field_errors(response).await;
    assert!(
        errors
            .get(FormField::MessagingServiceSid)
            .unwrap()
            .contains("no Messaging Service")
    );
    assert!(nothing_saved(&app, organisation).await);
}

#[tokio::test]
async fn editing_one_section_keeps_the_other_and_a_stale_form_is_refused() {
    let app = spawn_app().await;
    let (cookie, organisation) = admin_of_acme(&app).await;
    save(
        &app,
        &cookie,
        &everything(&app.account.sid, &app.account.auth_token, ""),
    )
    .await;
    let second_service = app.twilio.add_service(&app.account.sid, &[]);

    let response = save(
        &app,
        &cookie,
        &[
            ("section", "messaging_service_sid"),
            ("messaging_service_sid", &second_service.sid),
            ("version", "1"),
        ],
    )
    .await;
    let stale = save(
        &app,
        &cookie,
        &[
            ("section", "messaging_service_sid"),
            ("messaging_service_sid", ""),
            ("version", "1"),
        ],
    )
    .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app_error(stale).await, AppError::SettingsChanged);
    let saved = fetch_integration(&app.pool, organisation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(saved.account_sid.as_str(), app.account.sid);
    assert_eq!(
        saved.messaging_service_sid.map(|s| s.to_string()),
        Some(second_service.sid)
    );
    assert_eq!(saved.version, 2);
}

#[tokio::test]
async fn a_campaigner_is_refused_the_sms_settings_page_and_every_settings_function() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "carol@acme.test", Role::Campaigner)
        .await;
    let cookie = app.signed_in("carol@acme.test").await;

    let page = app.get("/outreach/settings/sms", Some(&cookie)).await;
    let read = app.call("sms_settings", Some(&cookie), &[]).await;
    let write = save(
        &app,
        &cookie,
        &everything(&app.account.sid, &app.account.auth_token, &app.service.sid),
    )
    .await;
    let check = app.call("check_twilio_now", Some(&cookie), &[]).await;

    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    assert_eq!(app_error(read).await, AppError::NotOrgAdmin);
    assert_eq!(app_error(write).await, AppError::NotOrgAdmin);
    assert_eq!(app_error(check).await, AppError::NotOrgAdmin);
    assert!(app.twilio.requests().is_empty());
    assert!(nothing_saved(&app, acme.id).await);
}

#[tokio::test]
async fn an_admin_only_ever_sees_their_own_organisations_integration() {
    let app = spawn_app().await;
    let (acme_cookie, _) = admin_of_acme(&app).await;
    save(
        &app,
        &acme_cookie,
        &everything(&app.account.sid, &app.account.auth_token, &app.service.sid),
    )
    .await;
    let globex = app.create_organisation("Globex", true).await;
    app.create_user(&globex, "gina@globex.test", Role::OrgAdmin)
        .await;
    let globex_cookie = app.signed_in("gina@globex.test").await;

    let response = app.call("sms_settings", Some(&globex_cookie), &[]).await;

    let settings: SmsSettingsView = response.json().await.unwrap();
    assert_eq!(settings.integration, None);
    assert!(settings.changes.is_empty());
}

#[tokio::test]
async fn check_now_marks_credentials_invalid_after_the_token_is_rotated_in_twilio() {
    let app = spawn_app().await;
    let (cookie, _) = admin_of_acme(&app).await;
    save(
        &app,
        &cookie,
        &everything(&app.account.sid, &app.account.auth_token, &app.service.sid),
    )
    .await;
    app.twilio.rotate_token(&app.account.sid);

    let response = app.call("check_twilio_now", Some(&cookie), &[]).await;

    assert_eq!(response.status(), StatusCode::OK);
    let html = app
        .get("/outreach/settings/sms", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Invalid"));
    assert!(html.contains("rotated in Twilio"));
    // Logged in the span of the request that found out.
    assert!(
        crate::logs::captured().lines().any(|line| {
            line.contains("saved Twilio credentials are no longer valid")
                && line.contains("request{id=")
                && line.contains("path=/api/check_twilio_now")
        }),
        "no such line in its request's span"
    );
}

#[tokio::test]
async fn the_server_re_checks_saved_credentials_periodically() {
    let app =
        spawn_app_with(|config| config.twilio.recheck_interval = Duration::from_millis(300)).await;
    let (cookie, organisation) = admin_of_acme(&app).await;
    save(
        &app,
        &cookie,
        &everything(&app.account.sid, &app.account.auth_token, &app.service.sid),
    )
    .await;

    app.twilio.set_account_status(&app.account.sid, "suspended");

    let mut invalid = false;
    for _ in 0..50 {
        let saved = fetch_integration(&app.pool, organisation)
            .await
            .unwrap()
            .unwrap();
        if saved.health != domain::sms_settings::integration::Health::Valid {
            invalid = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        invalid,
        "the periodic check never marked the suspended account invalid"
    );
}

#[tokio::test]
async fn campaigners_learn_what_sms_allows_through_the_capability_function() {
    let app = spawn_app().await;
    let (admin, _) = admin_of_acme(&app).await;
    let capability = |cookie: String| {
        let app = &app;
        async move {
            let response = app.call("sms_capability", Some(&cookie), &[]).await;
            response.json::<SmsCapabilityView>().await.unwrap()
        }
    };

    let none = capability(admin.clone()).await;
    save(
        &app,
        &admin,
        &everything(&app.account.sid, &app.account.auth_token, ""),
    )
    .await;
    let without_service = capability(admin.clone()).await;
    save(
        &app,
        &admin,
        &[
            ("section", "messaging_service_sid"),
            ("messaging_service_sid", &app.service.sid),
            ("version", "1"),
        ],
    )
    .await;
    let full = capability(admin.clone()).await;

    assert!(!none.sms_option_enabled && !none.can_create && !none.can_run);
    assert!(
        without_service.sms_option_enabled
            && without_service.can_create
            && !without_service.can_run
    );
    assert_eq!(
        without_service.reason.as_deref(),
        Some("A Messaging Service SID is required to run SMS campaigns.")
    );
    assert!(full.can_run);
}

/// The Auth Token crosses the wire once, inbound. It must never come back in
/// a response (server functions, SSR HTML, hydration data), a log line (at
/// TRACE), or any byte of the SQLite file, its WAL or its SHM.
#[tokio::test]
async fn the_auth_token_appears_in_no_response_no_log_line_and_no_database_byte() {
    let app = spawn_app().await;
    let (cookie, _) = admin_of_acme(&app).await;
    let token = app.account.auth_token.clone();
    let mut bodies = Vec::new();

    let failed = save(
        &app,
        &cookie,
        &everything(
            &app.account.sid,
            &token,
            "MG22222222222222222222222222222222",
        ),
    )
    .await;
    bodies.push(failed.text().await.unwrap());
    let saved = save(
        &app,
        &cookie,
        &everything(&app.account.sid, &token, &app.service.sid),
    )
    .await;
    bodies.push(saved.text().await.unwrap());
    for path in [
        "/outreach/settings/sms",
        "/outreach/settings/sms?edit=account_sid_and_auth_token",
        "/outreach/settings",
    ] {
        bodies.push(app.get(path, Some(&cookie)).await.text().await.unwrap());
    }
    for endpoint in [
        "sms_settings",
        "check_twilio_now",
        "sms_capability",
        "current_viewer",
    ] {
        bodies.push(
            app.call(endpoint, Some(&cookie), &[])
                .await
                .text()
                .await
                .unwrap(),
        );
    }

    for body in &bodies {
        assert!(
            !body.contains(&token),
            "a response contains the token: {body:.200}"
        );
    }
    // The line sits in its request's span: which request, organisation, person.
    let logs = crate::logs::captured();
    let saved_line = logs
        .lines()
        .find(|line| line.contains("Twilio integration saved"))
        .expect("logs were captured");
    for field in ["request{id=", "organisation_id=", "user_id="] {
        assert!(
            saved_line.contains(field),
            "{field} missing from {saved_line}"
        );
    }
    assert!(
        !crate::logs::captured().contains(&token),
        "a log line contains the token"
    );
    crate::helpers::assert_not_in_database(&app, &token).await;
}

/// Before the WASM loads, the panel is a plain HTML form: the browser posts
/// it and follows the redirect.
async fn post_form_without_javascript(
    app: &TestApp,
    cookie: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    app.client
        .post(format!("{}/api/save_twilio_integration", app.address))
        .header("cookie", cookie)
        .header("accept", "text/html")
        .header(
            "referer",
            format!("{}/outreach/settings/sms?edit=everything", app.address),
        )
        .form(fields)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn without_javascript_a_failed_save_returns_to_the_form_with_the_errors_under_their_fields() {
    let app = spawn_app().await;
    let (cookie, organisation) = admin_of_acme(&app).await;

    let response = post_form_without_javascript(
        &app,
        &cookie,
        &everything(&app.account.sid, "wrong-token", ""),
    )
    .await;

    assert!(response.status().is_redirection());
    let location = crate::helpers::location(&response).unwrap().to_owned();
    assert!(location.contains("edit=everything"), "{location}");
    let path = location.trim_start_matches(&app.address);
    let html = app.get(path, Some(&cookie)).await.text().await.unwrap();
    assert!(
        html.contains("incorrect or has been rotated"),
        "the error is not on the page"
    );
    assert!(nothing_saved(&app, organisation).await);
}

#[tokio::test]
async fn without_javascript_a_successful_save_lands_on_the_settings_page() {
    let app = spawn_app().await;
    let (cookie, organisation) = admin_of_acme(&app).await;

    let response = post_form_without_javascript(
        &app,
        &cookie,
        &everything(&app.account.sid, &app.account.auth_token, &app.service.sid),
    )
    .await;

    assert!(response.status().is_redirection());
    assert_eq!(
        crate::helpers::location(&response),
        Some("/outreach/settings/sms?saved=1")
    );
    assert!(!nothing_saved(&app, organisation).await);
    let html = app
        .get("/outreach/settings/sms?saved=1", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!(
        "Saved. Configured the Twilio Integration (Account SID {}, Messaging Service SID {}).",
        app.account.sid, app.service.sid
    )));
}

#[tokio::test]
async fn twilio_timing_out_saves_nothing_and_says_to_try_again() {
    let app = spawn_app().await;
    let (cookie, organisation) = admin_of_acme(&app).await;
    app.twilio.set_latency(Duration::from_secs(3));

    let response = save(
        &app,
        &cookie,
        &everything(&app.account.sid, &app.account.auth_token, ""),
    )
    .await;

    let message = field_errors(response).await.form.unwrap();
    assert_eq!(
        message,
        "Twilio could not be reached (the request timed out). Nothing was saved; try again."
    );
    assert!(nothing_saved(&app, organisation).await);
}

/// Saves everything with the simulator's account and service.
async fn configured(app: &TestApp, cookie: &str) {
    let response = save(
        app,
        cookie,
        &everything(&app.account.sid, &app.account.auth_token, &app.service.sid),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_new_auth_token_refused_because_of_the_saved_messaging_service_says_so_in_the_form() {
    let app = spawn_app().await;
    let (cookie, organisation) = admin_of_acme(&app).await;
    configured(&app, &cookie).await;
    // Moving to another account one section at a time: the saved service
    // is not the new account's.
    let other = app.twilio.add_account("Full");

    let response = save(
        &app,
        &cookie,
        &[
            ("section", "account_sid_and_auth_token"),
            ("account_sid", &other.sid),
            ("auth_token", &other.auth_token),
            ("version", "1"),
        ],
    )
    .await;

    let errors = field_errors(response).await;
    assert_eq!(
        errors.get(FormField::MessagingServiceSid),
        None,
        "not a field on this form"
    );
    let form = errors.form.unwrap();
    assert_eq!(
        form,
        format!(
            "The saved Messaging Service SID {} is not a Messaging Service of Twilio account {}. Nothing was saved. If you are moving to another Twilio account, use Change Twilio account to enter the Account SID, Auth Token and Messaging Service SID together; if the service was deleted in Twilio, edit the Messaging Service SID first.",
            app.service.sid, other.sid
        )
    );
    let saved = fetch_integration(&app.pool, organisation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(saved.account_sid.as_str(), app.account.sid);
}

#[tokio::test]
async fn change_twilio_account_replaces_all_three_and_the_page_confirms_it() {
    let app = spawn_app().await;
    let (cookie, organisation) = admin_of_acme(&app).await;
    configured(&app, &cookie).await;
    app.twilio.rotate_token(&app.account.sid);
    app.twilio.remove_service(&app.service.sid);
    let other = app.twilio.add_account("Full");
    let others_service = app.twilio.add_service(&other.sid, &["+15005550008"]);

    let response = post_form_without_javascript(
        &app,
        &cookie,
        &[
            ("section", "new_account"),
            ("account_sid", &other.sid),
            ("auth_token", &other.auth_token),
            ("messaging_service_sid", &others_service.sid),
            ("version", "1"),
        ],
    )
    .await;

    assert!(response.status().is_redirection());
    let location = crate::helpers::location(&response).unwrap().to_owned();
    assert_eq!(location, "/outreach/settings/sms?saved=2");
    let saved = fetch_integration(&app.pool, organisation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(saved.account_sid.as_str(), other.sid);
    let html = app
        .get(&location, Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    let action = format!(
        "Changed the Twilio account from {} to {} (Messaging Service SID {})",
        app.account.sid, other.sid, others_service.sid
    );
    assert!(
        html.contains(&format!("Saved. {action}.")),
        "no confirmation"
    );
    assert!(
        html.contains("+15005550008"),
        "the sending numbers are shown"
    );
    // Only a version that is the current one confirms anything.
    let stale = app
        .get("/outreach/settings/sms?saved=1", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(!stale.contains("Saved. "));
}

#[tokio::test]
async fn disconnect_twilio_deletes_the_credentials_and_sms_is_disabled_again() {
    let app = spawn_app().await;
    let (cookie, organisation) = admin_of_acme(&app).await;
    configured(&app, &cookie).await;

    let stale = app
        .call("disconnect_twilio", Some(&cookie), &[("version", "7")])
        .await;
    assert_eq!(app_error(stale).await, AppError::SettingsChanged);
    assert!(!nothing_saved(&app, organisation).await);

    let response = app
        .call("disconnect_twilio", Some(&cookie), &[("version", "1")])
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        crate::helpers::location(&response),
        Some("/outreach/settings/sms?saved=disconnected")
    );
    assert!(nothing_saved(&app, organisation).await);
    let capability: SmsCapabilityView = app
        .call("sms_capability", Some(&cookie), &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(!capability.sms_option_enabled && !capability.can_create);
    let html = app
        .get("/outreach/settings/sms?saved=disconnected", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Not configured"));
    let action = format!(
        "Disconnected Twilio (Account SID {}); the saved credentials were deleted",
        app.account.sid
    );
    assert!(html.contains(&format!("{action}.")), "no confirmation");
    let settings: SmsSettingsView = app
        .call("sms_settings", Some(&cookie), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(settings.changes[0].action, action);
}

#[tokio::test]
async fn a_campaigner_cannot_disconnect_twilio() {
    let app = spawn_app().await;
    let (admin, organisation) = admin_of_acme(&app).await;
    configured(&app, &admin).await;
    let acme = app.organisation(organisation).await;
    app.create_user(&acme, "carol@acme.test", Role::Campaigner)
        .await;
    let campaigner = app.signed_in("carol@acme.test").await;

    let response = app
        .call("disconnect_twilio", Some(&campaigner), &[("version", "1")])
        .await;

    assert_eq!(app_error(response).await, AppError::NotOrgAdmin);
    assert!(!nothing_saved(&app, organisation).await);
}

#[tokio::test]
async fn the_page_shows_the_sender_pool_and_warns_when_it_is_empty() {
    let app = spawn_app().await;
    let (cookie, _) = admin_of_acme(&app).await;
    configured(&app, &cookie).await;

    let html = app
        .get("/outreach/settings/sms", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Sending numbers"));
    assert!(html.contains("+15005550006"));
    assert!(!html.contains("has no phone numbers"));

    let empty = app.twilio.add_service(&app.account.sid, &[]);
    let response = save(
        &app,
        &cookie,
        &[
            ("section", "messaging_service_sid"),
            ("messaging_service_sid", &empty.sid),
            ("version", "1"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = app
        .get("/outreach/settings/sms", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(
        "This Messaging Service has no phone numbers, so every send will fail until a number is added"
    ));
}

#[tokio::test]
async fn without_a_messaging_service_sid_the_page_uses_the_help_pages_words_exactly() {
    let app = spawn_app().await;
    let (cookie, _) = admin_of_acme(&app).await;
    save(
        &app,
        &cookie,
        &everything(&app.account.sid, &app.account.auth_token, ""),
    )
    .await;

    let html = app
        .get("/outreach/settings/sms", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();

    assert!(html.contains(
        "Campaigners can create SMS campaigns but cannot run them. A Messaging Service SID is required to run SMS campaigns."
    ));
}

#[tokio::test]
async fn before_saving_the_admin_is_told_what_happens_to_running_campaigns() {
    let app = spawn_app_with(|config| config.sending.messages_per_second = 1.0).await;
    let admin = crate::sending::configured_organisation(&app).await;
    crate::sending::run_campaign_to(&app, &admin, "Slow", &crate::sending::numbers(20)).await;

    let editing = app
        .get(
            "/outreach/settings/sms?edit=messaging_service_sid",
            Some(&admin),
        )
        .await
        .text()
        .await
        .unwrap();
    let confirming = app
        .get("/outreach/settings/sms?confirm=disconnect", Some(&admin))
        .await
        .text()
        .await
        .unwrap();

    assert!(editing.contains(
        "1 campaign is running. A new Messaging Service SID sends their remaining messages from its phone numbers; removing it pauses them."
    ));
    assert!(confirming.contains("Disconnect Twilio?"));
    assert!(confirming.contains("1 campaign is running. It will be paused."));
}
