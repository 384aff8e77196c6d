//! `Send a test`: the message rendered for the first recipient, to up to
//! five typed numbers, through the Messaging Service, not counted anywhere.

use app::campaigns::TestMessageResult;
use app::error::FormField;
use reqwest::StatusCode;
use serde_json::json;
use twilio_simulator::Outcome;

use crate::{
    helpers::{TestApp, app_error, field_message, form_message, spawn_app},
    sending::{configured_organisation, remove_messaging_service},
};

async fn send_test(app: &TestApp, cookie: &str, numbers: &str) -> reqwest::Response {
    app.call_json(
        "send_test",
        cookie,
        json!({ "numbers": numbers, "body": "Hi {first_name|there}, polls open at 7am.", "sample": { "phone": "+14155550100", "first_name": "Ada" } }),
    )
    .await
}

#[tokio::test]
async fn test_messages_go_to_the_typed_numbers_as_the_first_recipient_would_get_them() {
    let app = spawn_app().await;
    let admin = configured_organisation(&app).await;
    app.twilio
        .set_outcome("+12127365000", Outcome::Refused(21211));
    let added = app
        .call("add_opt_out", Some(&admin), &[("phone", "+13125550123")])
        .await;
    assert_eq!(added.status(), StatusCode::OK);

    let answered = send_test(
        &app,
        &admin,
        "+1 415 555 2671, +12127365000;+13125550123, +14155552671",
    )
    .await;
    assert_eq!(answered.status(), StatusCode::OK);
    let results: Vec<TestMessageResult> = answered.json().await.unwrap();

    assert_eq!(
        results.len(),
        3,
        "the same number twice is one test: {results:?}"
    );
    assert_eq!(results[0].to, "+14155552671");
    assert!(
        results[0].sent
            && results[0]
                .outcome
                .starts_with("Sent: Twilio accepted it (SM"),
        "{results:?}"
    );
    assert!(
        !results[1].sent && results[1].outcome.starts_with("Not sent: "),
        "{results:?}"
    );
    assert_eq!(
        results[2].outcome,
        "Not sent: this number opted out of your organisation's messages."
    );
    let sent = app.twilio.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "+14155552671");
    assert_eq!(sent[0].body, "Hi Ada, polls open at 7am.");
    assert_eq!(sent[0].messaging_service_sid, app.service.sid);
    assert_eq!(
        sent[0].status_callback, None,
        "no campaign follows a test message"
    );
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbound_messages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "test messages are not counted anywhere");
}

#[tokio::test]
async fn bad_numbers_and_a_missing_messaging_service_send_nothing_and_say_why() {
    let app = spawn_app().await;
    let admin = configured_organisation(&app).await;
    let six = "+14155552671,+14155552672,+14155552673,+14155552674,+14155552675,+14155552676";
    for (numbers, expected) in [
        ("", "Enter 1 to 5 phone numbers, separated by commas."),
        (six, "Enter 1 to 5 phone numbers, separated by commas."),
        ("+14155552671, call me", "call me: not a phone number."),
    ] {
        let refused = send_test(&app, &admin, numbers).await;
        assert_eq!(
            field_message(app_error(refused).await, FormField::TestNumbers),
            expected,
            "{numbers}"
        );
    }

    remove_messaging_service(&app, &admin).await;
    let refused = send_test(&app, &admin, "+14155552671").await;
    assert_eq!(
        form_message(app_error(refused).await),
        "A Messaging Service SID is required to run SMS campaigns."
    );
    assert!(app.twilio.messages().is_empty());

    // Signed out: refused before anything is read.
    let anonymous = app
        .client
        .post(format!("{}/api/send_test", app.address))
        .json(&json!({ "numbers": "+14155552671", "body": "x", "sample": {} }))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}
