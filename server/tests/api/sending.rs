//! Running campaigns through the Twilio simulator over real HTTP: every
//! recipient exactly once, whatever Twilio does in between.

use std::time::Duration;

use app::campaigns::CampaignDetailsView;
use domain::users::Role;
use reqwest::StatusCode;
use serde_json::json;
use twilio_simulator::{CallbackPlan, Outcome, SendFault};

use app::error::FormField;

use crate::helpers::{TestApp, app_error, field_message, form_message, spawn_app, spawn_app_with};

pub const ADMIN: &str = "alice@acme.test";

/// `count` distinct valid US numbers.
pub fn numbers(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("+1415555{:04}", 2000 + i))
        .collect()
}

/// An organisation with saved, valid credentials and a Messaging Service;
/// returns the Org Admin's cookie.
pub async fn configured_organisation(app: &TestApp) -> String {
    let organisation = app.create_organisation("Acme", true).await;
    app.create_user(&organisation, ADMIN, Role::OrgAdmin).await;
    let admin = app.signed_in(ADMIN).await;
    let saved = app
        .call(
            "save_twilio_integration",
            Some(&admin),
            &[
                ("section", "everything"),
                ("account_sid", &app.account.sid),
                ("auth_token", &app.account.auth_token),
                ("messaging_service_sid", &app.service.sid),
                ("version", "0"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    admin
}

/// The Org Admin removes the saved Messaging Service SID (the integration's
/// first version): campaigns can then be created, not run.
pub async fn remove_messaging_service(app: &TestApp, admin: &str) {
    let removed = app
        .call(
            "save_twilio_integration",
            Some(admin),
            &[
                ("section", "messaging_service_sid"),
                ("messaging_service_sid", ""),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(removed.status(), StatusCode::OK);
}

/// Creates and runs a campaign to these numbers; returns its id.
pub async fn run_campaign_to(app: &TestApp, cookie: &str, name: &str, numbers: &[String]) -> i64 {
    let audience = format!("phone\n{}\n", numbers.join("\n"));
    let created = app
        .call_json(
            "create_campaign",
            cookie,
            json!({ "name": name, "channel": "sms", "audience": audience, "body": "Polls open at 7am." }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    let id: i64 = created.json().await.unwrap();
    let run = app
        .call("run_campaign", Some(cookie), &[("id", &id.to_string())])
        .await;
    assert_eq!(run.status(), StatusCode::OK);
    id
}

pub async fn campaign_status(app: &TestApp, id: i64) -> String {
    sqlx::query_scalar("SELECT status FROM campaigns WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Waits (up to `limit`) until the campaign has this status.
pub async fn wait_for_status(app: &TestApp, id: i64, status: &str, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let now = campaign_status(app, id).await;
        if now == status {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "campaign {id} is still {now:?} (messages: {:?}), expected {status:?}",
            states(app).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (up to `limit`) until `done` answers true.
pub async fn wait_until<F, Fut>(what: &str, limit: Duration, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {limit:?} for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The simulated Twilio stops posting status callbacks.
/// The Org Admin saves `token` (rotated in the simulator) over the
/// integration `configured_organisation` saved.
pub async fn save_new_auth_token(app: &TestApp, admin: &str, token: &str) -> reqwest::Response {
    app.call(
        "save_twilio_integration",
        Some(admin),
        &[
            ("section", "account_sid_and_auth_token"),
            ("account_sid", &app.account.sid),
            ("auth_token", token),
            ("version", "1"),
        ],
    )
    .await
}

pub fn without_callbacks(app: &TestApp) {
    app.twilio.set_callbacks(CallbackPlan {
        enabled: false,
        ..CallbackPlan::default()
    });
}

/// (phone, state, error code) of every outbound message.
pub async fn states(app: &TestApp) -> Vec<(String, String, Option<i64>)> {
    sqlx::query_as("SELECT phone, state, error_code FROM outbound_messages ORDER BY phone")
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

/// Every outbound message is in this state.
async fn assert_all_in(app: &TestApp, state: &str) {
    let states = states(app).await;
    assert!(
        states.iter().all(|(_, s, _)| s == state),
        "not all {state}: {states:?}"
    );
}

/// The campaign page's data, as the browser fetches it; `None` when the
/// server answers 404.
async fn details(app: &TestApp, cookie: &str, id: i64) -> Option<CampaignDetailsView> {
    let response = app
        .call(
            "campaign_details",
            Some(cookie),
            &[("id", &id.to_string()), ("page", "1")],
        )
        .await;
    if response.status() == StatusCode::NOT_FOUND {
        return None;
    }
    Some(response.json().await.unwrap())
}

/// Every recipient got exactly one message from the simulated Twilio.
pub fn assert_each_exactly_once(app: &TestApp, numbers: &[String]) {
    let sent = app.twilio.messages_per_recipient();
    for number in numbers {
        assert_eq!(
            sent.get(number),
            Some(&1),
            "{number} was messaged {:?} times",
            sent.get(number)
        );
    }
    assert_eq!(sent.len(), numbers.len(), "someone else was messaged");
}

#[tokio::test]
async fn a_running_campaign_reaches_every_recipient_once_and_completes() {
    let app = spawn_app().await;
    let admin = configured_organisation(&app).await;
    let recipients = numbers(25);

    let id = run_campaign_to(&app, &admin, "Election day", &recipients).await;
    wait_for_status(&app, id, "completed", Duration::from_secs(20)).await;

    assert_each_exactly_once(&app, &recipients);
    assert_all_in(&app, "delivered").await;
    // Each send went through the Messaging Service, with a status callback
    // on this organisation's URL that names the message.
    let organisation = app.organisation(domain::ids::OrganisationId(1)).await;
    for message in app.twilio.messages() {
        assert_eq!(message.messaging_service_sid, app.service.sid);
        let callback = message.status_callback.unwrap();
        assert!(
            callback.starts_with(&format!(
                "{}/webhooks/twilio/status/{}?m=",
                app.address, organisation.public_id
            )),
            "{callback}"
        );
    }
    // Every callback was verified and stored: sent + delivered per message.
    let callbacks = app.twilio.posted_callbacks();
    assert_eq!(callbacks.len(), 50);
    assert!(
        callbacks.iter().all(|c| c.answer == Some(200)),
        "{callbacks:?}"
    );
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM delivery_events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(events, 50);
    // The campaign page and list show the counts.
    let details = details(&app, &admin, id).await;
    let details = details.unwrap();
    assert_eq!(details.campaign.status, model::CampaignStatus::Completed);
    assert_eq!(
        details.campaign.messages,
        [(model::MessageState::Delivered, 25)]
    );
    assert_eq!(details.results.len(), 25);
    assert!(
        details
            .results
            .iter()
            .all(|r| r.state == model::MessageState::Delivered && r.attempts == 1)
    );
}

#[tokio::test]
async fn a_429_storm_backs_off_and_still_reaches_everyone_exactly_once() {
    let app = spawn_app().await;
    let admin = configured_organisation(&app).await;
    let recipients = numbers(30);
    app.twilio.rate_limit_next(12);

    let id = run_campaign_to(&app, &admin, "Storm", &recipients).await;
    wait_for_status(&app, id, "completed", Duration::from_secs(60)).await;

    assert_each_exactly_once(&app, &recipients);
    let limited = app
        .twilio
        .requests()
        .iter()
        .filter(|r| r.status == 429)
        .count();
    assert_eq!(limited, 12);
    assert_all_in(&app, "delivered").await;
}

#[tokio::test]
async fn permanent_errors_fail_only_that_message_with_a_reason_and_the_campaign_completes() {
    let app = spawn_app().await;
    let admin = configured_organisation(&app).await;
    let recipients = numbers(6);
    app.twilio
        .set_outcome(&recipients[0], Outcome::Refused(21211));
    app.twilio
        .set_outcome(&recipients[1], Outcome::Refused(21610));
    app.twilio
        .set_outcome(&recipients[2], Outcome::Refused(21614));
    app.twilio
        .set_outcome(&recipients[3], Outcome::Failed(30005));
    app.twilio
        .set_outcome(&recipients[4], Outcome::Undelivered(30003));

    let id = run_campaign_to(&app, &admin, "Mixed", &recipients).await;
    wait_for_status(&app, id, "completed", Duration::from_secs(20)).await;

    let expected = [
        ("failed", Some(21211)),
        ("opted_out", Some(21610)),
        ("failed", Some(21614)),
        ("failed", Some(30005)),
        ("undelivered", Some(30003)),
        ("delivered", None),
    ];
    let states = states(&app).await;
    for ((phone, state, code), (want_state, want_code)) in states.iter().zip(expected) {
        assert_eq!((state.as_str(), *code), (want_state, want_code), "{phone}");
    }
    // The unsubscribed number is now an opt-out of the organisation.
    let opted_out: Vec<(String, String)> = sqlx::query_as("SELECT phone, source FROM opt_outs")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        opted_out,
        [(recipients[1].clone(), "twilio_21610".to_owned())]
    );
    // Reasons in words on the page.
    let details = details(&app, &admin, id).await;
    let reasons: Vec<Option<String>> = details
        .unwrap()
        .results
        .into_iter()
        .map(|r| r.reason)
        .collect();
    assert!(
        reasons[0]
            .as_deref()
            .unwrap()
            .contains("not a valid phone number")
    );
    assert!(reasons[1].as_deref().unwrap().contains("opted out"));
    assert!(reasons[4].as_deref().unwrap().contains("unreachable"));
    assert_eq!(reasons[5], None);
}

#[tokio::test]
async fn a_token_rotated_mid_campaign_pauses_it_tells_the_admin_and_it_resumes_after_a_fix() {
    let app = spawn_app_with(|config| {
        config.sending.messages_per_second = 5.0;
        // Callbacks signed with the new token are refused (403) until the
        // admin saves it; Outreach then asks Twilio for those statuses.
        config.sending.status_check_after = Duration::from_secs(1);
    })
    .await;
    let admin = configured_organisation(&app).await;
    let recipients = numbers(20);

    let id = run_campaign_to(&app, &admin, "Rotation", &recipients).await;
    // Let a few go, then rotate the token in "the Twilio Console".
    while app.twilio.messages().len() < 3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let new_token = app.twilio.rotate_token(&app.account.sid);
    wait_for_status(&app, id, "paused", Duration::from_secs(20)).await;

    let (health, reason): (String, String) =
        sqlx::query_as("SELECT health, health_reason FROM twilio_integrations")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(health, "invalid");
    assert!(reason.contains("20003"), "{reason}");
    let paused_reason: String = sqlx::query_scalar("SELECT paused_reason FROM campaigns")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(paused_reason.contains("rotated"), "{paused_reason}");
    // The Org Admin sees why on the SMS settings page.
    let page = app
        .get("/outreach/settings/sms", Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Running campaigns were paused"),
        "the settings page says why"
    );
    let campaign_page = app
        .get(&format!("/outreach/campaigns/{id}"), Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        campaign_page
            .contains("Paused: Twilio rejected the saved Auth Token (error 20003) while sending")
    );
    assert!(campaign_page.contains("Go to SMS settings"));
    // Resuming is refused while the credentials are invalid, saying why.
    let refused = app
        .call("resume_campaign", Some(&admin), &[("id", &id.to_string())])
        .await;
    assert_eq!(
        form_message(app_error(refused).await),
        "The saved Twilio credentials are invalid: an Org Admin must update them in Outreach > Settings > SMS."
    );

    let saved = save_new_auth_token(&app, &admin, &new_token).await;
    assert_eq!(
        saved.status(),
        StatusCode::OK,
        "{}",
        saved.text().await.unwrap()
    );
    let resumed = app
        .call("resume_campaign", Some(&admin), &[("id", &id.to_string())])
        .await;
    assert_eq!(resumed.status(), StatusCode::OK);
    wait_for_status(&app, id, "completed", Duration::from_secs(30)).await;

    assert_each_exactly_once(&app, &recipients);
    assert_all_in(&app, "delivered").await;
}

/// The engine keeps each organisation's credentials in memory while it
/// sends; saving new ones is seen at its next pass. The settings page says
/// "A new Messaging Service SID sends their remaining messages from its
/// phone numbers".
#[tokio::test]
async fn a_messaging_service_saved_mid_campaign_sends_the_rest_of_its_messages() {
    let app = spawn_app_with(|config| config.sending.messages_per_second = 10.0).await;
    let admin = configured_organisation(&app).await;
    let second = app.twilio.add_service(&app.account.sid, &["+15005550007"]);
    let recipients = numbers(20);

    let id = run_campaign_to(&app, &admin, "Change of number", &recipients).await;
    while app.twilio.messages().len() < 3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let saved = app
        .call(
            "save_twilio_integration",
            Some(&admin),
            &[
                ("section", "messaging_service_sid"),
                ("messaging_service_sid", &second.sid),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(
        saved.status(),
        StatusCode::OK,
        "{}",
        saved.text().await.unwrap()
    );
    let sent_before_saving = app.twilio.messages().len();
    wait_for_status(&app, id, "completed", Duration::from_secs(30)).await;

    assert_each_exactly_once(&app, &recipients);
    let services: Vec<String> = app
        .twilio
        .messages()
        .into_iter()
        .map(|message| message.messaging_service_sid)
        .collect();
    // Sends already on their way when it was saved may use the old one.
    let first_new = services
        .iter()
        .position(|sid| *sid == second.sid)
        .expect("the new Messaging Service sent");
    assert!(first_new <= sent_before_saving + 2, "{services:?}");
    assert!(
        services[first_new..].iter().all(|sid| *sid == second.sid),
        "after the save, only the new service: {services:?}"
    );
    assert!(services[..3].iter().all(|sid| *sid == app.service.sid));
}

#[tokio::test]
async fn duplicate_and_out_of_order_callbacks_never_move_a_status_backwards() {
    let app = spawn_app().await;
    let admin = configured_organisation(&app).await;
    app.twilio.set_callbacks(CallbackPlan {
        duplicates: true,
        out_of_order: true,
        ..CallbackPlan::default()
    });
    let recipients = numbers(10);

    let id = run_campaign_to(&app, &admin, "Shuffled", &recipients).await;
    wait_for_status(&app, id, "completed", Duration::from_secs(20)).await;
    // The late `sent` and the repeats arrive after `delivered`.
    wait_until("40 callbacks", Duration::from_secs(10), || async {
        app.twilio.posted_callbacks().len() >= 40
    })
    .await;

    assert_all_in(&app, "delivered").await;
    let statuses: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT twilio_status FROM outbound_messages")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(statuses, ["delivered"]);
    // Stored once per (message, status), raw.
    let events: Vec<(String, i64)> = sqlx::query_as(
        "SELECT message_status, COUNT(*) FROM delivery_events GROUP BY message_status ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        events,
        [("delivered".to_owned(), 10), ("sent".to_owned(), 10)]
    );
    assert!(
        app.twilio
            .posted_callbacks()
            .iter()
            .all(|c| c.answer == Some(200))
    );
}

#[tokio::test]
async fn a_send_whose_answer_is_lost_is_reconciled_by_its_callback_not_resent() {
    let app = spawn_app().await;
    let admin = configured_organisation(&app).await;
    app.twilio
        .fault_next_sends(&[SendFault::DropAnswer, SendFault::DropAnswer]);
    let recipients = numbers(5);

    let id = run_campaign_to(&app, &admin, "Lost answers", &recipients).await;
    wait_for_status(&app, id, "completed", Duration::from_secs(20)).await;

    assert_each_exactly_once(&app, &recipients);
    assert_all_in(&app, "delivered").await;
    // The engine's log line names the send it is about.
    let logs = crate::logs::captured();
    let line = logs
        .lines()
        .find(|line| line.contains("a send's outcome is unknown"))
        .expect("the lost answer was logged");
    for field in ["send{organisation_id=", "campaign_id=", "message_id="] {
        assert!(line.contains(field), "{field} missing from {line}");
    }
}

#[tokio::test]
async fn without_callbacks_a_lost_answer_is_reconciled_by_a_look_up_and_a_failed_send_is_retried_once()
 {
    let app = spawn_app_with(|config| config.twilio.timeout = Duration::from_secs(1)).await;
    let admin = configured_organisation(&app).await;
    without_callbacks(&app);
    // The first send is created but its answer lost; the second gets a 500
    // and was not created.
    app.twilio
        .fault_next_sends(&[SendFault::DropAnswer, SendFault::ServerError]);
    let recipients = numbers(4);

    run_campaign_to(&app, &admin, "Look-ups", &recipients).await;
    // Without callbacks, messages stop at `sent` (Twilio has them), or at
    // the status the look-up found.
    wait_until(
        "every message with Twilio",
        Duration::from_secs(30),
        || async {
            states(&app)
                .await
                .iter()
                .all(|(_, state, _)| state == "sent" || state == "delivered")
        },
    )
    .await;

    assert_each_exactly_once(&app, &recipients);
    let sids: Vec<Option<String>> =
        sqlx::query_scalar("SELECT twilio_sid FROM outbound_messages ORDER BY phone")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let mut simulated: Vec<(String, String)> = app
        .twilio
        .messages()
        .into_iter()
        .map(|m| (m.to, m.sid))
        .collect();
    simulated.sort();
    assert_eq!(
        sids.into_iter().map(Option::unwrap).collect::<Vec<_>>(),
        simulated
            .into_iter()
            .map(|(_, sid)| sid)
            .collect::<Vec<_>>(),
        "each message carries the SID Twilio gave it"
    );
    // The look-up went to Twilio's Messages list.
    assert!(
        app.twilio
            .requests()
            .iter()
            .any(|r| r.method == "GET" && r.path.ends_with("/Messages.json"))
    );
}

#[tokio::test]
async fn pausing_stops_sending_resuming_finishes_and_cancelling_withdraws_what_is_left() {
    let app = spawn_app_with(|config| config.sending.messages_per_second = 4.0).await;
    let admin = configured_organisation(&app).await;
    let recipients = numbers(40);
    let id = run_campaign_to(&app, &admin, "Controls", &recipients).await;
    let form = [("id", id.to_string())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let paused = app.call("pause_campaign", Some(&admin), &form).await;
    assert_eq!(paused.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent_when_paused = app.twilio.messages().len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        app.twilio.messages().len(),
        sent_when_paused,
        "nothing is sent while paused"
    );
    assert!(sent_when_paused < 40);

    let resumed = app.call("resume_campaign", Some(&admin), &form).await;
    assert_eq!(resumed.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let cancelled = app.call("cancel_campaign", Some(&admin), &form).await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    let withdrawn: u64 = cancelled.json().await.unwrap();
    assert!(withdrawn > 0);
    tokio::time::sleep(Duration::from_millis(1500)).await;

    assert_eq!(campaign_status(&app, id).await, "cancelled");
    let sent = app.twilio.messages().len();
    let cancelled_messages = states(&app)
        .await
        .iter()
        .filter(|(_, state, _)| state == "cancelled")
        .count();
    assert_eq!(
        sent + cancelled_messages,
        40,
        "each recipient sent once or withdrawn"
    );
    assert_eq!(cancelled_messages as u64, withdrawn);
    // A finished campaign cannot be resumed.
    let refused = app.call("resume_campaign", Some(&admin), &form).await;
    assert_eq!(
        form_message(app_error(refused).await),
        "This campaign is no longer paused: reload the page to see where it is."
    );
}

#[tokio::test]
async fn a_person_decides_about_messages_whose_outcome_is_unknown() {
    let app = spawn_app().await;
    let admin = configured_organisation(&app).await;
    without_callbacks(&app);
    let recipients = numbers(3);
    let id = run_campaign_to(&app, &admin, "Unknown", &recipients).await;
    // Recorded as sent, not only accepted by Twilio: recording the answer
    // later would overwrite the arrangement below.
    wait_until(
        "3 messages recorded as sent",
        Duration::from_secs(10),
        || async {
            states(&app)
                .await
                .iter()
                .filter(|(_, state, _)| state == "sent")
                .count()
                == 3
        },
    )
    .await;
    // Arrange: two messages whose look-ups kept failing (what the engine
    // does after its last attempt).
    sqlx::query(
        "UPDATE outbound_messages SET state = 'unknown', twilio_sid = NULL WHERE phone IN ($1, $2)",
    )
    .bind(&recipients[0])
    .bind(&recipients[1])
    .execute(&app.pool)
    .await
    .unwrap();
    let id_text = id.to_string();

    let bad = app
        .call(
            "decide_unknown_outcomes",
            Some(&admin),
            &[("id", &id_text), ("decision", "maybe")],
        )
        .await;
    assert!(!bad.status().is_success());
    let decided = app
        .call(
            "decide_unknown_outcomes",
            Some(&admin),
            &[("id", &id_text), ("decision", "do_not_send")],
        )
        .await;
    assert_eq!(decided.json::<u64>().await.unwrap(), 2);

    let states = states(&app).await;
    assert_eq!(states[0].1, "failed");
    assert_eq!(states[1].1, "failed");
    let details = details(&app, &admin, id).await;
    let reason = details.unwrap().results[0].reason.clone().unwrap();
    assert!(reason.contains("chose not to send"), "{reason}");
    assert_eq!(app.twilio.messages().len(), 3, "nothing was resent");
}

#[tokio::test]
async fn results_export_as_csv_for_members_of_the_organisation_only() {
    let app = spawn_app().await;
    let admin = configured_organisation(&app).await;
    let recipients = numbers(3);
    app.twilio
        .set_outcome(&recipients[0], Outcome::Refused(21211));
    let id = run_campaign_to(&app, &admin, "Export", &recipients).await;
    wait_for_status(&app, id, "completed", Duration::from_secs(20)).await;

    let response = app
        .get(
            &format!("/outreach/campaigns/{id}/results.csv"),
            Some(&admin),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "phone,status,reason,twilio_status,error_code,message_sid,attempts,updated_at_utc"
    );
    assert_eq!(lines.len(), 4);
    assert!(
        lines[1].starts_with(&format!(
            "{},failed,The number is not a valid phone number.,,21211,,1,",
            recipients[0]
        )),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with(&format!("{},delivered,,delivered,,SM", recipients[1])),
        "{}",
        lines[2]
    );

    let other = app.create_organisation("Other", true).await;
    app.create_user(&other, "eve@other.test", Role::OrgAdmin)
        .await;
    let eve = app.signed_in("eve@other.test").await;
    let response = app
        .get(&format!("/outreach/campaigns/{id}/results.csv"), Some(&eve))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let anonymous = app
        .get(&format!("/outreach/campaigns/{id}/results.csv"), None)
        .await;
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
}

/// Sending uses the Auth Token for every request and every callback's
/// signature: it still never shows in a page, a response, a log line (at
/// TRACE), a status callback URL, or the database file.
#[tokio::test]
async fn sending_a_campaign_never_reveals_the_auth_token() {
    let app = spawn_app().await;
    let admin = configured_organisation(&app).await;
    let token = app.account.auth_token.clone();
    let recipients = numbers(5);
    app.twilio
        .set_outcome(&recipients[0], Outcome::Refused(21211));

    let id = run_campaign_to(&app, &admin, "Secret keeping", &recipients).await;
    wait_for_status(&app, id, "completed", Duration::from_secs(20)).await;

    let mut bodies = Vec::new();
    for path in [
        format!("/outreach/campaigns/{id}"),
        "/outreach/campaigns".to_owned(),
        format!("/outreach/campaigns/{id}/results.csv"),
    ] {
        bodies.push(app.get(&path, Some(&admin)).await.text().await.unwrap());
    }
    let id_text = id.to_string();
    bodies.push(
        app.call(
            "campaign_details",
            Some(&admin),
            &[("id", &id_text), ("page", "1")],
        )
        .await
        .text()
        .await
        .unwrap(),
    );
    for body in &bodies {
        assert!(
            !body.contains(&token),
            "a response contains the token: {body:.200}"
        );
    }
    for message in app.twilio.messages() {
        assert!(!message.status_callback.unwrap().contains(&token));
    }
    let logs = crate::logs::captured();
    assert!(logs.contains("campaign completed"), "logs were captured");
    assert!(!logs.contains(&token), "a log line contains the token");
    crate::helpers::assert_not_in_database(&app, &token).await;
}

#[tokio::test]
async fn sends_in_flight_stay_within_the_concurrency_bound() {
    let app = spawn_app_with(|config| config.sending.concurrency = 3).await;
    let admin = configured_organisation(&app).await;
    // Slow answers, so that sends pile up if nothing bounds them.
    app.twilio.set_latency(Duration::from_millis(100));
    let recipients = numbers(30);

    let id = run_campaign_to(&app, &admin, "Bounded", &recipients).await;
    wait_for_status(&app, id, "completed", Duration::from_secs(30)).await;

    assert_each_exactly_once(&app, &recipients);
    let most = app.twilio.max_in_flight();
    assert!(
        (2..=3).contains(&most),
        "{most} requests were in flight at once"
    );
}

#[tokio::test]
async fn an_organisation_sends_no_faster_than_its_rate() {
    let app = spawn_app_with(|config| config.sending.messages_per_second = 4.0).await;
    let admin = configured_organisation(&app).await;
    let recipients = numbers(16);

    let id = run_campaign_to(&app, &admin, "Paced", &recipients).await;
    wait_for_status(&app, id, "completed", Duration::from_secs(30)).await;

    // Messages accepted per whole second: at most a second's worth saved
    // up plus a second's worth earned (4 + 4), however the seconds fall,
    // and a margin for sends dispatched just before a second ended.
    let mut per_second = std::collections::BTreeMap::<i64, usize>::new();
    for message in app.twilio.messages() {
        *per_second.entry(message.created_at).or_default() += 1;
    }
    assert!(per_second.values().all(|n| *n <= 10), "{per_second:?}");
    assert!(
        per_second.len() >= 3,
        "16 messages at 4 a second span several seconds: {per_second:?}"
    );
}

#[tokio::test]
async fn a_campaign_completes_when_carriers_never_confirm_delivery() {
    let app = spawn_app().await;
    let admin = configured_organisation(&app).await;
    without_callbacks(&app);
    let recipients = numbers(3);
    let id = run_campaign_to(&app, &admin, "No receipts", &recipients).await;
    wait_until("every message sent", Duration::from_secs(10), || async {
        states(&app)
            .await
            .iter()
            .all(|(_, state, _)| state == "sent")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        campaign_status(&app, id).await,
        "running",
        "sent is not final yet"
    );

    // A day later, still nothing from the carriers.
    sqlx::query("UPDATE outbound_messages SET claimed_at = claimed_at - $1")
        .bind(domain::outbound::NO_RECEIPT_AFTER_SECS + 60)
        .execute(&app.pool)
        .await
        .unwrap();

    wait_for_status(&app, id, "completed", Duration::from_secs(10)).await;
    assert_all_in(&app, "sent").await;
    let campaign = details(&app, &admin, id).await.unwrap().campaign;
    assert_eq!(campaign.finished_messages(), 3, "the page shows them final");
}

#[tokio::test]
async fn a_recipient_who_opts_out_before_their_turn_is_never_messaged() {
    let app = spawn_app().await;
    let admin = configured_organisation(&app).await;
    let recipients = numbers(4);
    let audience = format!("phone\n{}\n", recipients.join("\n"));
    let created = app
        .call_json(
            "create_campaign",
            &admin,
            json!({ "name": "Late STOP", "channel": "sms", "audience": audience, "body": "Hello" }),
        )
        .await;
    let id: i64 = created.json().await.unwrap();
    // After the audience was checked, one of them replies STOP.
    let organisation = app.organisation(domain::ids::OrganisationId(1)).await;
    let now = domain::clock::now();
    domain::delivery::inbound::record_inbound_reply(
        &app.pool,
        organisation.id,
        domain::delivery::inbound::InboundMessage {
            message_sid: "SM00000000000000000000000000000001",
            from: &recipients[2],
            body: "STOP",
            opt_out_type: None,
            sent_at: now,
        },
        now,
    )
    .await
    .unwrap();

    let run = app
        .call("run_campaign", Some(&admin), &[("id", &id.to_string())])
        .await;
    assert_eq!(run.status(), StatusCode::OK);
    wait_for_status(&app, id, "completed", Duration::from_secs(20)).await;

    let sent = app.twilio.messages_per_recipient();
    assert_eq!(
        sent.get(&recipients[2]),
        None,
        "the opted-out number was messaged"
    );
    assert_eq!(sent.len(), 3);
    let states = states(&app).await;
    assert_eq!(states[2].1, "opted_out");
    let reason = details(&app, &admin, id).await.unwrap().results[2]
        .reason
        .clone()
        .unwrap();
    assert!(reason.contains("opted out"), "{reason}");
}

#[tokio::test]
async fn a_cancelled_campaign_never_sends_messages_whose_outcome_was_unknown() {
    let app = spawn_app_with(|config| config.sending.messages_per_second = 2.0).await;
    let admin = configured_organisation(&app).await;
    let id = run_campaign_to(&app, &admin, "Cancelled unknowns", &numbers(10)).await;
    let form = [("id", id.to_string())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let cancelled = app.call("cancel_campaign", Some(&admin), &form).await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Arrange: a message of it whose outcome Twilio could not confirm.
    sqlx::query("UPDATE outbound_messages SET state = 'unknown' WHERE id = (SELECT MIN(id) FROM outbound_messages WHERE state = 'cancelled')")
        .execute(&app.pool)
        .await
        .unwrap();

    let again = app
        .call(
            "decide_unknown_outcomes",
            Some(&admin),
            &[("id", &id.to_string()), ("decision", "send_again")],
        )
        .await;

    assert!(!again.status().is_success());
    let unknown: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbound_messages WHERE state = 'unknown'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        unknown, 1,
        "still waiting for a decision that can be carried out"
    );
}

/// Sets the organisation's failure guard as its Org Admin.
async fn set_failure_guard(app: &TestApp, admin: &str, percent: &str, first_messages: &str) {
    let saved = app
        .call(
            "save_failure_guard",
            Some(admin),
            &[("percent", percent), ("first_messages", first_messages)],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
}

#[tokio::test]
async fn too_many_carrier_failures_among_the_first_messages_pause_the_campaign_until_resumed() {
    let app = spawn_app_with(|config| config.sending.messages_per_second = 20.0).await;
    let admin = configured_organisation(&app).await;
    set_failure_guard(&app, &admin, "20", "10").await;
    // Every other recipient's carrier refuses: the sending number is not
    // registered for A2P 10DLC.
    let recipients = numbers(100);
    for number in recipients.iter().step_by(2) {
        app.twilio.set_outcome(number, Outcome::Undelivered(30034));
    }
    let id = run_campaign_to(&app, &admin, "Unregistered", &recipients).await;

    wait_for_status(&app, id, "paused", Duration::from_secs(20)).await;
    let campaign = details(&app, &admin, id).await.unwrap().campaign;
    let reason = campaign.paused_reason.expect("the page says why");
    assert!(
        reason.starts_with("Paused by the failure guard: ")
            && reason.contains("failed with carrier errors")
            && reason.contains("more than the 20% allowed")
            && reason
                .contains("error 30034: the sending number is not registered for US A2P 10DLC"),
        "{reason}"
    );
    let sent_when_paused = app.twilio.messages().len();
    assert!(sent_when_paused < 100, "the rest waits: {sent_when_paused}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.twilio.messages().len(), sent_when_paused);

    // Resumed, it finishes, failures and all: the guard does not pause it again.
    let resumed = app
        .call("resume_campaign", Some(&admin), &[("id", &id.to_string())])
        .await;
    assert_eq!(resumed.status(), StatusCode::OK);
    wait_for_status(&app, id, "completed", Duration::from_secs(30)).await;
    assert_each_exactly_once(&app, &recipients);
}

#[tokio::test]
async fn carrier_failures_within_the_share_let_the_campaign_finish() {
    let app = spawn_app_with(|config| config.sending.messages_per_second = 20.0).await;
    let admin = configured_organisation(&app).await;
    set_failure_guard(&app, &admin, "20", "10").await;
    // Three seconds of sending: the guard (once a second) looks while it runs.
    let recipients = numbers(60);
    // 2 of the first 10 is exactly the share, not more.
    for number in [&recipients[3], &recipients[7]] {
        app.twilio.set_outcome(number, Outcome::Failed(30007));
    }
    let id = run_campaign_to(&app, &admin, "Mostly fine", &recipients).await;
    // A paused campaign would never complete.
    wait_for_status(&app, id, "completed", Duration::from_secs(30)).await;
    assert_each_exactly_once(&app, &recipients);
    let guard: String = sqlx::query_scalar("SELECT failure_guard FROM campaigns WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    // 'passed' once it saw the first ten settled; still 'watching' if the
    // campaign finished first on a busy machine. Never 'tripped'.
    assert_ne!(guard, "tripped");
}

#[tokio::test]
async fn only_org_admins_set_the_failure_guard_and_bad_numbers_change_nothing() {
    let app = spawn_app().await;
    let admin = configured_organisation(&app).await;
    let acme = domain::organisations::fetch_organisation_by_name(
        &app.pool,
        &domain::organisations::OrganisationName::parse("Acme").unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    app.create_user(&acme, "carol@acme.test", Role::Campaigner)
        .await;
    let carol = app.signed_in("carol@acme.test").await;
    let by_campaigner = app
        .call(
            "save_failure_guard",
            Some(&carol),
            &[("percent", "90"), ("first_messages", "10000")],
        )
        .await;
    assert_eq!(
        app_error(by_campaigner).await,
        app::error::AppError::NotOrgAdmin
    );
    let bad = app
        .call(
            "save_failure_guard",
            Some(&admin),
            &[("percent", "0"), ("first_messages", "ten")],
        )
        .await;
    let bad = app_error(bad).await;
    assert_eq!(
        crate::helpers::field_message(bad.clone(), app::error::FormField::FailureGuardPercent),
        "Enter a whole number of percent from 1 to 100."
    );
    assert_eq!(
        crate::helpers::field_message(bad, app::error::FormField::FailureGuardMessages),
        "Enter a whole number of messages from 10 to 10,000."
    );
    let settings = app
        .get("/outreach/settings", Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(settings.contains(r#"name="percent" type="number" min="1" max="100" step="1" inputmode="numeric" value="20""#), "{settings}");

    set_failure_guard(&app, &admin, "35", "500").await;
    let guard = domain::organisations::fetch_organisation(&app.pool, acme.id)
        .await
        .unwrap()
        .failure_guard;
    assert_eq!((guard.percent, guard.first_messages), (35, 500));
    assert_eq!(
        app.audit_log(&admin).await.entries[0].action,
        "Changed the failure guard from \"more than 20% of the first 200 messages\" to \"more than 35% of the first 500 messages\""
    );
}

#[tokio::test]
async fn messages_not_sent_within_the_campaigns_validity_expire_and_twilio_is_told_how_long_they_may_wait()
 {
    let app = spawn_app_with(|config| config.sending.messages_per_second = 4.0).await;
    let admin = configured_organisation(&app).await;
    let recipients = numbers(40);
    let audience = format!("phone\n{}\n", recipients.join("\n"));
    let created = app
        .call_json(
            "create_campaign",
            &admin,
            json!({ "name": "Short-lived", "channel": "sms", "audience": audience, "body": "Doors close at 9pm." }),
        )
        .await;
    let id: i64 = created.json().await.unwrap();
    let form = |hours: &str| [("id", id.to_string()), ("hours", hours.to_owned())];
    let call = |hours: &'static str| {
        let form = form(hours);
        let (app, admin) = (&app, admin.clone());
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call("set_campaign_validity", Some(&admin), &form).await
        }
    };
    assert_eq!(
        field_message(app_error(call("0").await).await, FormField::ValidityHours),
        "Enter a whole number of hours from 1 to 720 (30 days)."
    );
    assert_eq!(call("2").await.status(), StatusCode::OK);
    let run = app
        .call("run_campaign", Some(&admin), &[("id", &id.to_string())])
        .await;
    assert_eq!(run.status(), StatusCode::OK);
    wait_until("two messages sent", Duration::from_secs(10), || async {
        app.twilio.messages().len() >= 2
    })
    .await;
    let paused = app
        .call("pause_campaign", Some(&admin), &[("id", &id.to_string())])
        .await;
    assert_eq!(paused.status(), StatusCode::OK);
    // Started, its validity can no longer change.
    assert_eq!(
        form_message(app_error(call("48").await).await),
        "This campaign has started: only a draft's start and expiry can be changed."
    );
    // Twilio was told to drop them unsent after what is left of 2 hours.
    for message in app.twilio.messages() {
        let seconds = message.validity_period.expect("ValidityPeriod is passed");
        assert!((7_100..=7_200).contains(&seconds), "{seconds}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Two hours later, what still waited is not sent.
    let waiting = states(&app)
        .await
        .iter()
        .filter(|(_, state, _)| state == "queued")
        .count() as u64;
    assert!(waiting > 0);
    let later = domain::clock::now() + 2 * 60 * 60;
    assert_eq!(
        domain::outbound::expire_overdue(&app.pool, later)
            .await
            .unwrap(),
        waiting
    );
    let sent = app.twilio.messages().len();
    let resumed = app
        .call("resume_campaign", Some(&admin), &[("id", &id.to_string())])
        .await;
    assert_eq!(resumed.status(), StatusCode::OK);
    wait_for_status(&app, id, "completed", Duration::from_secs(20)).await;
    assert_eq!(
        app.twilio.messages().len(),
        sent,
        "expired messages are never sent"
    );
    let details = details(&app, &admin, id).await.unwrap();
    let expired = details
        .campaign
        .progress()
        .into_iter()
        .find(|(label, _)| *label == "Expired")
        .unwrap()
        .1;
    assert_eq!(expired as u64, waiting);
    assert!(details.results.iter().any(|r| r.reason.as_deref()
        == Some("Not sent: its campaign's validity ran out before its turn.")));
}
