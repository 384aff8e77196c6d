//! Campaigns through their server functions: the capability rule holds on
//! the server whatever the browser sends, and a run happens exactly once.

use app::error::{AppError, FormField};
use domain::users::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, app_error, field_message, form_message, spawn_app};
use crate::sending::remove_messaging_service;

const AUDIENCE: &str = "phone,first_name\n+14155552671,Ada\n+12127365000,Grace\n+14155552671,Ada again\nnot a number,Bob\n";

async fn member(app: &TestApp, org: &str, email: &str, role: Role) -> String {
    let organisation = app.create_organisation(org, true).await;
    app.create_user(&organisation, email, role).await;
    app.signed_in(email).await
}

async fn configure(app: &TestApp, admin: &str, with_service: bool) {
    let service = if with_service {
        app.service.sid.as_str()
    } else {
        ""
    };
    let response = app
        .call(
            "save_twilio_integration",
            Some(admin),
            &[
                ("section", "everything"),
                ("account_sid", &app.account.sid),
                ("auth_token", &app.account.auth_token),
                ("messaging_service_sid", service),
                ("version", "0"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn create(app: &TestApp, cookie: &str, name: &str) -> reqwest::Response {
    app.call_json(
        "create_campaign",
        cookie,
        json!({ "name": name, "channel": "sms", "audience": AUDIENCE, "body": "Hi {first_name|there}!" }),
    )
    .await
}

async fn campaign_count(app: &TestApp) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM campaigns")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn outbound(app: &TestApp) -> Vec<(String, String)> {
    sqlx::query_as::<_, (String, String)>(
        "SELECT phone, body FROM outbound_messages ORDER BY phone",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn without_twilio_credentials_the_server_refuses_to_create_an_sms_campaign() {
    let app = spawn_app().await;
    let campaigner = member(&app, "Acme", "carol@acme.test", Role::Campaigner).await;

    let response = create(&app, &campaigner, "Spring appeal").await;

    assert!(form_message(app_error(response).await).contains("SMS is not available"));
    assert_eq!(campaign_count(&app).await, 0);
}

#[tokio::test]
async fn with_invalid_credentials_the_server_refuses_to_create_an_sms_campaign() {
    let app = spawn_app().await;
    let admin = member(&app, "Acme", "alice@acme.test", Role::OrgAdmin).await;
    configure(&app, &admin, true).await;
    app.twilio.rotate_token(&app.account.sid);
    app.call("check_twilio_now", Some(&admin), &[]).await;

    let response = create(&app, &admin, "Spring appeal").await;

    assert!(form_message(app_error(response).await).contains("SMS is not available"));
    assert_eq!(campaign_count(&app).await, 0);
}

#[tokio::test]
async fn without_a_messaging_service_a_campaign_is_created_but_the_server_refuses_to_run_it() {
    let app = spawn_app().await;
    let admin = member(&app, "Acme", "alice@acme.test", Role::OrgAdmin).await;
    configure(&app, &admin, false).await;

    let created = create(&app, &admin, "Spring appeal").await;
    assert_eq!(created.status(), StatusCode::OK);
    let id: i64 = created.json().await.unwrap();
    let run = app
        .call("run_campaign", Some(&admin), &[("id", &id.to_string())])
        .await;

    assert_eq!(
        form_message(app_error(run).await),
        "A Messaging Service SID is required to run SMS campaigns."
    );
    assert!(outbound(&app).await.is_empty());
}

#[tokio::test]
async fn running_twice_at_once_creates_each_message_exactly_once() {
    let app = spawn_app().await;
    let admin = member(&app, "Acme", "alice@acme.test", Role::OrgAdmin).await;
    configure(&app, &admin, true).await;
    let id: i64 = create(&app, &admin, "Spring appeal")
        .await
        .json()
        .await
        .unwrap();
    let id = id.to_string();
    let form = [("id", id.as_str())];

    let (first, second) = tokio::join!(
        app.call("run_campaign", Some(&admin), &form),
        app.call("run_campaign", Some(&admin), &form),
    );
    let third = app.call("run_campaign", Some(&admin), &form).await;

    let started: Vec<usize> = vec![
        first.json().await.unwrap(),
        second.json().await.unwrap(),
        third.json().await.unwrap(),
    ];
    assert_eq!(started.iter().sum::<usize>(), 2, "{started:?}");
    // Duplicates merged, the invalid row left out, placeholders filled in.
    assert_eq!(
        outbound(&app).await,
        [
            ("+12127365000".to_owned(), "Hi Grace!".to_owned()),
            ("+14155552671".to_owned(), "Hi Ada!".to_owned()),
        ]
    );
    let listed: Vec<app::campaigns::CampaignRow> = app
        .call("list_campaigns", Some(&admin), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0].status, model::CampaignStatus::Running);
    assert_eq!(listed[0].total_messages(), 2);
}

#[tokio::test]
async fn campaigns_are_only_ever_seen_and_changed_by_their_own_organisation() {
    let app = spawn_app().await;
    let admin = member(&app, "Acme", "alice@acme.test", Role::OrgAdmin).await;
    configure(&app, &admin, true).await;
    let id: i64 = create(&app, &admin, "Spring appeal")
        .await
        .json()
        .await
        .unwrap();
    let outsider = member(&app, "Globex", "gus@globex.test", Role::OrgAdmin).await;

    let listed: Vec<serde_json::Value> = app
        .call("list_campaigns", Some(&outsider), &[])
        .await
        .json()
        .await
        .unwrap();
    let id_text = id.to_string();
    let mut answers = Vec::new();
    for (endpoint, form) in [
        (
            "campaign_details",
            vec![("id", id_text.as_str()), ("page", "1")],
        ),
        ("run_campaign", vec![("id", id_text.as_str())]),
        ("delete_campaign", vec![("id", id_text.as_str())]),
        ("pause_campaign", vec![("id", id_text.as_str())]),
        ("resume_campaign", vec![("id", id_text.as_str())]),
        ("cancel_campaign", vec![("id", id_text.as_str())]),
        (
            "decide_unknown_outcomes",
            vec![("id", id_text.as_str()), ("decision", "send_again")],
        ),
        (
            "decide_unknown_outcomes",
            vec![("id", id_text.as_str()), ("decision", "do_not_send")],
        ),
        (
            "update_draft",
            vec![("id", id_text.as_str()), ("name", "Taken"), ("body", "Hi")],
        ),
        ("duplicate_campaign", vec![("id", id_text.as_str())]),
    ] {
        let response = app.call(endpoint, Some(&outsider), &form).await;
        answers.push((endpoint, response.status(), app_error(response).await));
    }
    let page = app
        .get(&format!("/outreach/campaigns/{id}"), Some(&outsider))
        .await;
    let export = app
        .get(
            &format!("/outreach/campaigns/{id}/results.csv"),
            Some(&outsider),
        )
        .await;

    assert!(listed.is_empty());
    // The same answer as for a campaign that does not exist at all.
    for (endpoint, status, error) in answers {
        assert_eq!(status, StatusCode::NOT_FOUND, "{endpoint}");
        assert_eq!(error, AppError::NotFound, "{endpoint}");
    }
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(!page.text().await.unwrap().contains("Spring appeal"));
    assert_eq!(export.status(), reqwest::StatusCode::NOT_FOUND);
    assert_eq!(campaign_count(&app).await, 1);
    assert!(outbound(&app).await.is_empty());
}

#[tokio::test]
async fn names_are_unique_within_an_organisation_and_drafts_can_be_deleted_but_not_running_campaigns()
 {
    let app = spawn_app().await;
    let admin = member(&app, "Acme", "alice@acme.test", Role::OrgAdmin).await;
    configure(&app, &admin, true).await;
    let draft: i64 = create(&app, &admin, "Spring appeal")
        .await
        .json()
        .await
        .unwrap();
    let duplicate = create(&app, &admin, "spring appeal").await;
    let running: i64 = create(&app, &admin, "Summer appeal")
        .await
        .json()
        .await
        .unwrap();
    app.call(
        "run_campaign",
        Some(&admin),
        &[("id", &running.to_string())],
    )
    .await;

    let deleted_draft = app
        .call(
            "delete_campaign",
            Some(&admin),
            &[("id", &draft.to_string())],
        )
        .await;
    let deleted_running = app
        .call(
            "delete_campaign",
            Some(&admin),
            &[("id", &running.to_string())],
        )
        .await;

    assert!(
        field_message(app_error(duplicate).await, FormField::CampaignName)
            .contains("already exists")
    );
    assert_eq!(deleted_draft.status(), StatusCode::OK);
    assert!(form_message(app_error(deleted_running).await).contains("Only draft campaigns"));
    assert_eq!(campaign_count(&app).await, 1);
}

#[tokio::test]
async fn the_audience_preview_lists_invalid_rows_with_their_line_numbers() {
    let app = spawn_app().await;
    let campaigner = member(&app, "Acme", "carol@acme.test", Role::Campaigner).await;

    let response = app
        .call_json(
            "preview_audience",
            &campaigner,
            json!({ "audience": AUDIENCE }),
        )
        .await;

    let preview: app::campaigns::AudiencePreview = response.json().await.unwrap();
    assert_eq!(preview.recipients, 2);
    assert_eq!(preview.duplicates, 1);
    assert_eq!(preview.invalid_total, 1);
    assert_eq!(preview.invalid[0].line, 5);
    assert_eq!(preview.columns, ["first_name"]);
    assert_eq!(preview.sample["first_name"], "Ada");
}

#[tokio::test]
async fn an_organisation_without_a_subscription_cannot_use_campaigns() {
    let app = spawn_app().await;
    let dormant = app.create_organisation("Dormant", false).await;
    app.create_user(&dormant, "dora@dormant.test", Role::OrgAdmin)
        .await;
    let cookie = app.signed_in("dora@dormant.test").await;

    let response = app.call("list_campaigns", Some(&cookie), &[]).await;

    assert_eq!(app_error(response).await, AppError::SubscriptionRequired);
}

#[tokio::test]
async fn a_draft_can_be_edited_but_a_running_campaign_cannot() {
    let app = spawn_app().await;
    let admin = member(&app, "Acme", "alice@acme.test", Role::OrgAdmin).await;
    configure(&app, &admin, true).await;
    let id: i64 = create(&app, &admin, "Spring appeal")
        .await
        .json()
        .await
        .unwrap();
    let id = id.to_string();

    let edited = app
        .call(
            "update_draft",
            Some(&admin),
            &[
                ("id", &id),
                ("name", "Spring appeal, take two"),
                ("body", "Hello {first_name|friend}"),
                ("audience", "+14155552671"),
            ],
        )
        .await;
    assert_eq!(edited.status(), StatusCode::OK);
    app.call("run_campaign", Some(&admin), &[("id", &id)]).await;
    let too_late = app
        .call(
            "update_draft",
            Some(&admin),
            &[
                ("id", &id),
                ("name", "Renamed"),
                ("body", "Changed"),
                ("audience", ""),
            ],
        )
        .await;

    assert!(form_message(app_error(too_late).await).contains("Only draft campaigns can be edited"));
    assert_eq!(
        outbound(&app).await,
        [("+14155552671".to_owned(), "Hello friend".to_owned())]
    );
    let name: String = sqlx::query_scalar("SELECT name FROM campaigns")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(name, "Spring appeal, take two");
}

#[tokio::test]
async fn with_invalid_credentials_the_server_refuses_to_run_a_campaign() {
    let app = spawn_app().await;
    let admin = member(&app, "Acme", "alice@acme.test", Role::OrgAdmin).await;
    configure(&app, &admin, true).await;
    let id: i64 = create(&app, &admin, "Spring appeal")
        .await
        .json()
        .await
        .unwrap();
    app.twilio.rotate_token(&app.account.sid);
    app.call("check_twilio_now", Some(&admin), &[]).await;

    let run = app
        .call("run_campaign", Some(&admin), &[("id", &id.to_string())])
        .await;

    assert_eq!(
        form_message(app_error(run).await),
        "The saved Twilio credentials are invalid: an Org Admin must update them in Outreach > Settings > SMS."
    );
    assert!(outbound(&app).await.is_empty());
}

#[tokio::test]
async fn removing_the_messaging_service_sid_succeeds_and_then_campaigns_cannot_run() {
    let app = spawn_app().await;
    let admin = member(&app, "Acme", "alice@acme.test", Role::OrgAdmin).await;
    configure(&app, &admin, true).await;
    let id: i64 = create(&app, &admin, "Spring appeal")
        .await
        .json()
        .await
        .unwrap();

    remove_messaging_service(&app, &admin).await;
    let run = app
        .call("run_campaign", Some(&admin), &[("id", &id.to_string())])
        .await;

    assert_eq!(
        form_message(app_error(run).await),
        "A Messaging Service SID is required to run SMS campaigns."
    );
    assert!(outbound(&app).await.is_empty());
}

/// Each refusal is keyed by the field it is about, so the wizard and the
/// draft form can put it under that field; both fields' errors come at once.
#[tokio::test]
async fn a_refused_campaign_says_which_fields_to_fix() {
    let app = spawn_app().await;
    let admin = member(&app, "Acme", "alice@acme.test", Role::OrgAdmin).await;
    configure(&app, &admin, true).await;
    let refused = |response: reqwest::Response| async move {
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        match app_error(response).await {
            AppError::Invalid(errors) => errors,
            other => panic!("expected field errors, got {other:?}"),
        }
    };

    let blank = refused(
        app.call_json(
            "create_campaign",
            &admin,
            json!({ "name": "  ", "channel": "sms", "audience": AUDIENCE, "body": " " }),
        )
        .await,
    )
    .await;
    assert_eq!(
        blank.get(FormField::CampaignName).as_deref(),
        Some("Enter a name for the campaign.")
    );
    assert_eq!(
        blank.get(FormField::Message).as_deref(),
        Some("Write the message.")
    );

    let no_numbers = refused(
        app.call_json(
            "create_campaign",
            &admin,
            json!({ "name": "Spring", "channel": "sms", "audience": "first_name\nAda\n", "body": "Hi" }),
        )
        .await,
    )
    .await;
    assert!(
        no_numbers
            .get(FormField::Audience)
            .is_some_and(|e| e.contains("no phone column")),
        "{no_numbers:?}"
    );

    assert_eq!(
        create(&app, &admin, "Spring").await.status(),
        StatusCode::OK
    );
    let other: i64 = create(&app, &admin, "Summer").await.json().await.unwrap();
    let duplicate = refused(
        app.call(
            "update_draft",
            Some(&admin),
            &[
                ("id", &other.to_string()),
                ("name", "Spring"),
                ("body", "Hi"),
            ],
        )
        .await,
    )
    .await;
    assert!(
        duplicate
            .get(FormField::CampaignName)
            .is_some_and(|e| e.contains("already exists")),
        "{duplicate:?}"
    );
    assert_eq!(campaign_count(&app).await, 2);
}

#[tokio::test]
async fn duplicate_makes_a_draft_copy_with_the_channel_message_and_audience_of_any_campaign() {
    let app = spawn_app().await;
    let admin = member(&app, "Acme", "alice@acme.test", Role::OrgAdmin).await;
    let acme = app.organisation_named("Acme").await.unwrap();
    app.create_user(&acme, "carol@acme.test", Role::Campaigner)
        .await;
    let carol = app.signed_in("carol@acme.test").await;
    configure(&app, &admin, true).await;
    let id: i64 = create(&app, &admin, "Spring appeal")
        .await
        .json()
        .await
        .unwrap();
    let run = app
        .call("run_campaign", Some(&admin), &[("id", &id.to_string())])
        .await;
    assert_eq!(run.status(), StatusCode::OK);
    let duplicate = |cookie: String| {
        let app = &app;
        async move {
            let response = app
                .call(
                    "duplicate_campaign",
                    Some(&cookie),
                    &[("id", &id.to_string())],
                )
                .await;
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<i64>().await.unwrap()
        }
    };

    let first = duplicate(carol.clone()).await;
    let second = duplicate(carol.clone()).await;

    let copies: Vec<(i64, String, String, String, String, i64)> = sqlx::query_as(
        "SELECT c.id, c.name, c.status, c.body, c.created_by, a.recipients
         FROM campaigns c JOIN audiences a ON a.id = c.audience_id
         WHERE c.id IN ($1, $2) ORDER BY c.id",
    )
    .bind(first)
    .bind(second)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        copies,
        [
            (
                first,
                "Spring appeal (copy)".into(),
                "draft".into(),
                "Hi {first_name|there}!".into(),
                "carol@acme.test".into(),
                2
            ),
            (
                second,
                "Spring appeal (copy 2)".into(),
                "draft".into(),
                "Hi {first_name|there}!".into(),
                "carol@acme.test".into(),
                2
            ),
        ]
    );
    // A copy runs on its own: its own messages, the same recipients.
    let run_copy = app
        .call("run_campaign", Some(&carol), &[("id", &first.to_string())])
        .await;
    assert_eq!(run_copy.status(), StatusCode::OK);
    let per_campaign: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT campaign_id, COUNT(*) FROM outbound_messages GROUP BY campaign_id ORDER BY campaign_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(per_campaign, [(id, 2), (first, 2)]);
    let page = app
        .get(&format!("/outreach/campaigns/{id}"), Some(&carol))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(">Duplicate<"));
}

#[tokio::test]
async fn without_valid_credentials_a_campaign_cannot_be_duplicated() {
    let app = spawn_app().await;
    let admin = member(&app, "Acme", "alice@acme.test", Role::OrgAdmin).await;
    configure(&app, &admin, true).await;
    let id: i64 = create(&app, &admin, "Spring appeal")
        .await
        .json()
        .await
        .unwrap();
    app.twilio.rotate_token(&app.account.sid);
    app.call("check_twilio_now", Some(&admin), &[]).await;

    let refused = app
        .call(
            "duplicate_campaign",
            Some(&admin),
            &[("id", &id.to_string())],
        )
        .await;

    assert_eq!(
        form_message(app_error(refused).await),
        "SMS is not available: an Org Admin must save valid Twilio credentials in Outreach > Settings > SMS."
    );
    assert_eq!(campaign_count(&app).await, 1);
}
