//! What one careless or hostile tenant (or anyone on the internet) can
//! send: every input has a limit, a clear answer with the status that says
//! what happened, and nothing written.

use app::error::{AppError, FormField, Limit};
use domain::{limits, users::Role};
use reqwest::{StatusCode, header};
use serde_json::json;

use crate::helpers::{
    PASSWORD, TestApp, app_error, field_message, form_message, location, spawn_app,
};

async fn member(app: &TestApp, email: &str, role: Role) -> String {
    let organisation = match app.organisation_named("Acme").await {
        Some(organisation) => organisation,
        None => app.create_organisation("Acme", true).await,
    };
    app.create_user(&organisation, email, role).await;
    app.signed_in(email).await
}

async fn campaigns(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM campaigns")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn server_functions_answer_with_statuses_that_say_what_happened() {
    let app = spawn_app().await;
    let admin = member(&app, "alice@acme.test", Role::OrgAdmin).await;
    let campaigner = member(&app, "carol@acme.test", Role::Campaigner).await;
    let dormant = app.create_organisation("Dormant", false).await;
    app.create_user(&dormant, "dora@dormant.test", Role::OrgAdmin)
        .await;
    let lapsed = app.signed_in("dora@dormant.test").await;

    let signed_out = app.call("list_campaigns", None, &[]).await;
    let wrong_role = app.call("sms_settings", Some(&campaigner), &[]).await;
    let no_subscription = app.call("list_campaigns", Some(&lapsed), &[]).await;
    let missing = app
        .call("run_campaign", Some(&admin), &[("id", "999")])
        .await;
    let invalid = app
        .call(
            "save_twilio_integration",
            Some(&admin),
            &[
                ("section", "everything"),
                ("account_sid", "AC1"),
                ("version", "0"),
            ],
        )
        .await;

    assert_eq!(signed_out.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_role.status(), StatusCode::FORBIDDEN);
    assert_eq!(no_subscription.status(), StatusCode::FORBIDDEN);
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    for _ in 0..5 {
        app.sign_in("alice@acme.test", "not the password").await;
    }
    let throttled = app.sign_in("alice@acme.test", PASSWORD).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        app_error(throttled).await,
        AppError::TooManyAttempts { minutes: 15 }
    );
}

#[tokio::test]
async fn bodies_larger_than_their_route_accepts_are_refused_before_they_are_read() {
    let app = spawn_app().await;
    let admin = member(&app, "alice@acme.test", Role::OrgAdmin).await;
    let post = |path: &'static str, bytes: usize, cookie: Option<String>| {
        let app = &app;
        async move {
            let mut request = app
                .client
                .post(format!("{}{path}", app.address))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(vec![b'a'; bytes]);
            if let Some(cookie) = cookie {
                request = request.header(header::COOKIE, cookie);
            }
            request.send().await.unwrap()
        }
    };

    let sign_in = post("/api/sign_in", limits::SIGN_IN_REQUEST_BYTES + 1, None).await;
    let webhook = post(
        "/webhooks/twilio/status/anything",
        limits::WEBHOOK_REQUEST_BYTES + 1,
        None,
    )
    .await;
    let settings = post(
        "/api/save_twilio_integration",
        limits::OTHER_REQUEST_BYTES + 1,
        Some(admin.clone()),
    )
    .await;
    // The largest route refuses by its declared length: nothing is read.
    let audience = app
        .client
        .post(format!("{}/api/create_campaign", app.address))
        .header(header::COOKIE, &admin)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, limits::AUDIENCE_REQUEST_BYTES + 1)
        .body(reqwest::Body::from(vec![b' '; 16]))
        .send()
        .await;

    assert_eq!(sign_in.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        app_error(sign_in).await,
        AppError::TooLarge(Limit::Request {
            max_bytes: limits::SIGN_IN_REQUEST_BYTES as u64
        })
    );
    assert_eq!(webhook.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(settings.status(), StatusCode::PAYLOAD_TOO_LARGE);
    match audience {
        Ok(response) => assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE),
        // The server may close the connection before the client finishes.
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
    }
}

#[tokio::test]
async fn audience_routes_refuse_people_who_are_not_signed_in_before_reading_anything() {
    let app = spawn_app().await;

    let response = app
        .client
        .post(format!("{}/api/preview_audience", app.address))
        .json(&json!({ "audience": "+14155552671" }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_message_preview_is_bounded_whatever_the_body_and_sample() {
    let app = spawn_app().await;
    let campaigner = member(&app, "carol@acme.test", Role::Campaigner).await;
    let preview = |body: String, value: String| {
        app.call_json(
            "preview_message",
            &campaigner,
            json!({ "body": body, "sample": { "a": value } }),
        )
    };

    // The attack that grew the server past 9 GB: 50,000 placeholders.
    let placeholders = preview("{a}".repeat(50_000), "x".repeat(400)).await;
    let long_value = preview("Hi {a}".to_owned(), "x".repeat(50_000)).await;
    let rendered_too_long = preview("{a}".repeat(500), "x".repeat(400)).await;
    let fine = preview("Hi {a}!".to_owned(), "Ada".to_owned()).await;

    assert_eq!(placeholders.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        field_message(app_error(placeholders).await, FormField::Message)
            .contains("the most is 1600")
    );
    assert_eq!(long_value.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(form_message(app_error(long_value).await).contains("longer than 500 characters"));
    assert_eq!(rendered_too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        field_message(app_error(rendered_too_long).await, FormField::Message)
            .contains("would be longer than 1600 characters")
    );
    let fine: app::campaigns::MessagePreview = fine.json().await.unwrap();
    assert_eq!(fine.rendered, "Hi Ada!");
}

#[tokio::test]
async fn a_campaign_whose_rendered_messages_are_too_long_is_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let admin = member(&app, "alice@acme.test", Role::OrgAdmin).await;
    app.configure_twilio(&admin).await;
    let audience = format!(
        "phone,note\n+14155552671,short\n+12127365000,{}\n",
        "y".repeat(450)
    );

    let response = app
        .call_json(
            "create_campaign",
            &admin,
            json!({ "name": "Long", "channel": "sms", "audience": audience, "body": format!("{} {{note}}", "z".repeat(1200)) }),
        )
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_message(app_error(response).await, FormField::Message),
        "With their own values filled in, the message for +12127365000 would be longer than 1600 characters (1 recipient in all). Shorten the message or those values."
    );
    assert_eq!(campaigns(&app).await, 0);
}

#[tokio::test]
async fn an_email_longer_than_any_address_is_refused_before_anything_is_recorded() {
    let app = spawn_app().await;

    let response = app
        .sign_in(&format!("{}@example.org", "a".repeat(300)), PASSWORD)
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sign_in_attempts")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(attempts, 0);
}

/// A link anyone can make: `?__err=` with words of the attacker's choosing.
#[tokio::test]
async fn error_text_in_a_crafted_link_is_never_shown() {
    use base64::{Engine, engine::general_purpose::URL_SAFE};

    let app = spawn_app().await;
    let admin = member(&app, "alice@acme.test", Role::OrgAdmin).await;
    let forged = AppError::Invalid(app::error::FieldErrors {
        form: Some("Your account is locked: call +1 555 0100 to unlock it".to_owned()),
        ..Default::default()
    });
    let err = URL_SAFE.encode(serde_json::to_vec(&forged).unwrap());

    for (path, cookie, endpoint) in [
        ("/login", None, "/api/sign_in"),
        (
            "/outreach/settings/sms?edit=everything",
            Some(admin.as_str()),
            "/api/save_twilio_integration",
        ),
    ] {
        let separator = if path.contains('?') { '&' } else { '?' };
        let link = format!("{path}{separator}__path={endpoint}&__err={err}");
        let html = app.get(&link, cookie).await.text().await.unwrap();
        assert!(
            !html.contains("call +1 555 0100"),
            "{path} showed the crafted text"
        );
    }
}

#[tokio::test]
async fn save_and_check_now_are_limited_per_organisation() {
    let app = spawn_app().await;
    let admin = member(&app, "alice@acme.test", Role::OrgAdmin).await;
    app.configure_twilio(&admin).await;
    // Saving counted once; nine more checks are allowed.
    for _ in 0..domain::sms_settings::throttle::MAX_TWILIO_CHECKS - 1 {
        let checked = app.call("check_twilio_now", Some(&admin), &[]).await;
        assert_eq!(checked.status(), StatusCode::OK);
    }
    let asked = app.twilio.requests().len();

    let check = app.call("check_twilio_now", Some(&admin), &[]).await;
    let save = app
        .call(
            "save_twilio_integration",
            Some(&admin),
            &[
                ("section", "messaging_service_sid"),
                ("messaging_service_sid", ""),
                ("version", "1"),
            ],
        )
        .await;

    assert_eq!(check.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(matches!(
        app_error(check).await,
        AppError::TooManyTwilioChecks { minutes: 15 }
    ));
    assert_eq!(save.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.twilio.requests().len(), asked, "Twilio was asked");
}

#[tokio::test]
async fn results_exports_cannot_carry_spreadsheet_formulas() {
    let app = spawn_app().await;
    let admin = member(&app, "alice@acme.test", Role::OrgAdmin).await;
    app.configure_twilio(&admin).await;
    let id: i64 = app
        .call_json(
            "create_campaign",
            &admin,
            json!({ "name": "Export", "channel": "sms", "audience": "+14155552671", "body": "Hi" }),
        )
        .await
        .json()
        .await
        .unwrap();
    // As if Twilio had explained a failure with a formula.
    sqlx::query(
        "INSERT INTO outbound_messages (campaign_id, phone, body, state, error_message, created_at, updated_at)
         VALUES ($1, '+14155552671', 'Hi', 'failed', '=HYPERLINK(\"http://evil.example\",\"Click\")', 1, 1)",
    )
    .bind(id)
    .execute(&app.pool)
    .await
    .unwrap();

    let csv = app
        .get(
            &format!("/outreach/campaigns/{id}/results.csv"),
            Some(&admin),
        )
        .await
        .text()
        .await
        .unwrap();

    let row = csv.lines().nth(1).unwrap();
    assert!(
        row.starts_with("+14155552671,"),
        "phone numbers stay readable: {row}"
    );
    assert!(row.contains("'=HYPERLINK"), "{row}");
    assert!(
        !row.contains(",=HYPERLINK") && !row.contains(",\"=HYPERLINK"),
        "{row}"
    );
}

#[tokio::test]
async fn another_organisations_campaign_page_is_not_found() {
    let app = spawn_app().await;
    let admin = member(&app, "alice@acme.test", Role::OrgAdmin).await;
    let globex = app.create_organisation("Globex", true).await;
    app.create_user(&globex, "gus@globex.test", Role::Campaigner)
        .await;
    let outsider = app.signed_in("gus@globex.test").await;
    app.configure_twilio(&admin).await;
    let id: i64 = app
        .call_json(
            "create_campaign",
            &admin,
            json!({ "name": "Private", "channel": "sms", "audience": "+14155552671", "body": "Hi" }),
        )
        .await
        .json()
        .await
        .unwrap();

    let page = app
        .get(&format!("/outreach/campaigns/{id}"), Some(&outsider))
        .await;
    let none = app.get("/outreach/campaigns/99999", Some(&admin)).await;

    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert_eq!(none.status(), StatusCode::NOT_FOUND);
    assert!(location(&page).is_none());
}

#[tokio::test]
async fn the_middlewares_own_answers_carry_the_security_headers() {
    let app = spawn_app().await;

    let redirect = app.get("/outreach/campaigns", None).await;
    let cross_site = app
        .client
        .post(format!("{}/api/sign_in", app.address))
        .header(header::ORIGIN, "https://evil.example")
        .form(&[("email", "a@b.c"), ("password", "x")])
        .send()
        .await
        .unwrap();
    let too_large = app
        .client
        .post(format!("{}/api/sign_in", app.address))
        .body(vec![b'a'; limits::SIGN_IN_REQUEST_BYTES + 1])
        .send()
        .await
        .unwrap();

    for (what, response) in [("303", redirect), ("403", cross_site), ("413", too_large)] {
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
        assert_eq!(headers["x-frame-options"], "DENY", "{what}");
        assert!(headers.contains_key("content-security-policy"), "{what}");
        assert!(headers.contains_key("permissions-policy"), "{what}");
    }
}

/// `/healthz` and Twilio's webhooks skip the pages' middleware (sessions,
/// nonces, cross-site checks), not the headers or the body limits.
#[tokio::test]
async fn the_routes_machines_call_answer_with_the_security_headers_too() {
    let app = spawn_app().await;
    let webhook = |bytes: usize| {
        app.client
            .post(format!(
                "{}/webhooks/twilio/status/not-an-organisation",
                app.address
            ))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(vec![b'a'; bytes])
            .send()
    };

    let health = app.get("/healthz", None).await;
    let unknown = webhook(16).await.unwrap();
    let too_large = webhook(limits::WEBHOOK_REQUEST_BYTES + 1).await.unwrap();

    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    for (what, response) in [("200", health), ("404", unknown), ("413", too_large)] {
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
        assert_eq!(headers["x-frame-options"], "DENY", "{what}");
        assert_eq!(headers["cache-control"], "no-store", "{what}");
        assert_eq!(
            headers["content-security-policy"],
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
            "{what}"
        );
        assert!(headers.contains_key("permissions-policy"), "{what}");
        assert!(!headers.contains_key(header::SET_COOKIE), "{what}");
    }
}

#[tokio::test]
async fn each_page_names_the_nonce_its_scripts_carry_and_no_other() {
    let app = spawn_app().await;

    let first = app.get("/login", None).await;
    let policy = first.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = first.text().await.unwrap();
    let second = app.get("/login", None).await;

    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the policy");
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the scripts carry another nonce"
    );
    assert!(!policy.contains("unsafe-inline"));
    assert_ne!(
        second.headers()["content-security-policy"]
            .to_str()
            .unwrap(),
        policy,
        "a nonce is used once"
    );
}
