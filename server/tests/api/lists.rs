//! Lists of contacts: created, renamed, deleted, filled from a CSV or from
//! a wizard's audience, members taken off; chosen as a campaign's audience,
//! members of several lists messaged once; each organisation's its own.

use app::{
    contacts::ContactsImport,
    error::{AppError, FormField},
    lists::{ListAudienceView, ListDetailsView, ListRow},
};
use domain::users::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::{
    helpers::{TestApp, app_error, field_message, spawn_app},
    sending::{configured_organisation, wait_for_status},
};

async fn create(app: &TestApp, cookie: &str, name: &str) -> reqwest::Response {
    app.call("create_list", Some(cookie), &[("name", name)])
        .await
}

async fn created(app: &TestApp, cookie: &str, name: &str) -> i64 {
    let response = create(app, cookie, name).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn lists(app: &TestApp, cookie: &str) -> Vec<ListRow> {
    let response = app.call("lists", Some(cookie), &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn fill(app: &TestApp, cookie: &str, id: i64, file: &str) -> ContactsImport {
    let response = app
        .call(
            "import_into_list",
            Some(cookie),
            &[("id", &id.to_string()), ("file", file)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn details(app: &TestApp, cookie: &str, id: i64) -> reqwest::Response {
    app.call("list_details", Some(cookie), &[("id", &id.to_string())])
        .await
}

async fn audience_of(app: &TestApp, cookie: &str, ids: &[i64]) -> ListAudienceView {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    let response = app
        .call("list_audience", Some(cookie), &[("ids", &ids.join(","))])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn lists_are_created_renamed_and_deleted_and_their_names_are_checked() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "carol@acme.test", Role::Campaigner)
        .await;
    let carol = app.signed_in("carol@acme.test").await;

    let volunteers = created(&app, &carol, " Volunteers ").await;
    let donors = created(&app, &carol, "Donors").await;
    let names: Vec<String> = lists(&app, &carol)
        .await
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, vec!["Donors", "Volunteers"]);

    let taken = app_error(create(&app, &carol, "Donors").await).await;
    assert_eq!(
        field_message(taken, FormField::ListName),
        "A list named \"Donors\" exists already: choose another name."
    );
    let empty = app_error(create(&app, &carol, "  ").await).await;
    assert_eq!(
        field_message(empty, FormField::ListName),
        "Give the list a name."
    );

    let renamed = app
        .call(
            "rename_list",
            Some(&carol),
            &[("id", &volunteers.to_string()), ("name", "Helpers")],
        )
        .await;
    assert!(renamed.status().is_success() || renamed.status().is_redirection());
    let clash = app
        .call(
            "rename_list",
            Some(&carol),
            &[("id", &volunteers.to_string()), ("name", "Donors")],
        )
        .await;
    assert!(matches!(app_error(clash).await, AppError::Invalid(_)));

    // Another organisation neither sees nor touches them.
    let other = app.create_organisation("Other", true).await;
    app.create_user(&other, "olga@other.test", Role::OrgAdmin)
        .await;
    let olga = app.signed_in("olga@other.test").await;
    assert!(lists(&app, &olga).await.is_empty());
    for (endpoint, form) in [
        (
            "rename_list",
            vec![("id", donors.to_string()), ("name", "Mine".to_owned())],
        ),
        ("delete_list", vec![("id", donors.to_string())]),
        ("list_details", vec![("id", donors.to_string())]),
        (
            "import_into_list",
            vec![
                ("id", donors.to_string()),
                ("file", "phone\n+447400123001".to_owned()),
            ],
        ),
        (
            "remove_from_list",
            vec![
                ("id", donors.to_string()),
                ("phone", "+447400123001".to_owned()),
            ],
        ),
    ] {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let refused = app.call(endpoint, Some(&olga), &form).await;
        assert_eq!(app_error(refused).await, AppError::NotFound, "{endpoint}");
    }
    assert_eq!(audience_of(&app, &olga, &[donors]).await.members, 0);
    let page = app
        .get(&format!("/outreach/lists/{donors}"), Some(&olga))
        .await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(page.text().await.unwrap().contains("No such list"));

    let deleted = app
        .call("delete_list", Some(&carol), &[("id", &donors.to_string())])
        .await;
    assert!(deleted.status().is_success() || deleted.status().is_redirection());
    let names: Vec<String> = lists(&app, &carol)
        .await
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, vec!["Helpers"]);
    let signed_out = app.call("lists", None, &[]).await;
    assert_eq!(app_error(signed_out).await, AppError::NotSignedIn);
}

#[tokio::test]
async fn members_join_from_a_file_leave_and_outlive_their_list_as_contacts() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "carol@acme.test", Role::Campaigner)
        .await;
    let carol = app.signed_in("carol@acme.test").await;
    let list = created(&app, &carol, "Volunteers").await;

    let file = "phone,first_name,ward\n+447400123001,Ada,North\n+447400123002,Grace,South\n";
    let done = fill(&app, &carol, list, file).await;
    assert_eq!((done.imported, done.new), (true, 2));
    // The same file again: contacts updated, nobody on the list twice.
    let again = fill(&app, &carol, list, file).await;
    assert_eq!((again.new, again.updated), (0, 2));
    let view: ListDetailsView = details(&app, &carol, list).await.json().await.unwrap();
    assert_eq!(view.list.members, 2);
    assert_eq!(view.members[0].name, "Ada");

    let removed = app
        .call(
            "remove_from_list",
            Some(&carol),
            &[("id", &list.to_string()), ("phone", "+447400123001")],
        )
        .await;
    assert_eq!(removed.status(), StatusCode::OK);
    let view: ListDetailsView = details(&app, &carol, list).await.json().await.unwrap();
    assert_eq!(view.list.members, 1);

    // Deleting a contact takes it off; deleting the list keeps contacts.
    app.call(
        "delete_contact",
        Some(&carol),
        &[("phone", "+447400123002")],
    )
    .await;
    let view: ListDetailsView = details(&app, &carol, list).await.json().await.unwrap();
    assert_eq!(view.list.members, 0);
    app.call("delete_list", Some(&carol), &[("id", &list.to_string())])
        .await;
    let contacts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contacts")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(contacts, 1);
}

/// A large file joins the list a few thousand members a transaction (so
/// it never holds the database for long), and every member joins; a
/// large list leaves the same way when it is deleted, its contacts kept.
#[tokio::test]
async fn a_list_larger_than_a_transaction_gains_and_loses_every_member() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "carol@acme.test", Role::Campaigner)
        .await;
    let carol = app.signed_in("carol@acme.test").await;
    let list = created(&app, &carol, "Everyone").await;
    let file: String = std::iter::once("phone".to_owned())
        .chain((0..12_000).map(|n| format!("+447400{n:06}")))
        .collect::<Vec<_>>()
        .join("\n");

    let done = fill(&app, &carol, list, &file).await;
    assert_eq!((done.imported, done.new), (true, 12_000));
    let view: ListDetailsView = details(&app, &carol, list).await.json().await.unwrap();
    assert_eq!(view.list.members, 12_000);

    let deleted = app
        .call("delete_list", Some(&carol), &[("id", &list.to_string())])
        .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    assert!(lists(&app, &carol).await.is_empty());
    let pool = &app.pool;
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(pool)
            .await
            .unwrap()
    };
    assert_eq!(count("SELECT COUNT(*) FROM list_members").await, 0);
    assert_eq!(count("SELECT COUNT(*) FROM contacts").await, 12_000);
}

#[tokio::test]
async fn a_campaign_sent_to_two_lists_messages_each_member_once_with_their_fields() {
    let app = spawn_app().await;
    let admin = configured_organisation(&app).await;
    let north = created(&app, &admin, "North").await;
    let south = created(&app, &admin, "South").await;
    fill(
        &app,
        &admin,
        north,
        "phone,first_name\n+14155552001,Ada\n+14155552002,Grace\n",
    )
    .await;
    fill(
        &app,
        &admin,
        south,
        "phone,first_name\n+14155552002,Grace\n+14155552003,Alan\n",
    )
    .await;
    let opted_out = app
        .call("add_opt_out", Some(&admin), &[("phone", "+14155552003")])
        .await;
    assert_eq!(opted_out.status(), StatusCode::OK);

    let audience = audience_of(&app, &admin, &[north, south]).await;
    assert_eq!(audience.members, 3);
    assert_eq!(
        audience.csv,
        "phone,first_name,last_name\n+14155552001,Ada,\n+14155552002,Grace,\n+14155552003,Alan,\n"
    );
    let created = app
        .call_json(
            "create_campaign",
            &admin,
            json!({ "name": "Both lists", "channel": "sms", "audience": audience.csv, "body": "Hi {first_name}!" }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    let id: i64 = created.json().await.unwrap();
    let ran = app
        .call("run_campaign", Some(&admin), &[("id", &id.to_string())])
        .await;
    assert_eq!(ran.status(), StatusCode::OK);
    wait_for_status(&app, id, "completed", std::time::Duration::from_secs(20)).await;
    let mut sent: Vec<(String, String)> = app
        .twilio
        .messages()
        .into_iter()
        .map(|m| (m.to, m.body))
        .collect();
    sent.sort();
    assert_eq!(
        sent,
        vec![
            ("+14155552001".to_owned(), "Hi Ada!".to_owned()),
            ("+14155552002".to_owned(), "Hi Grace!".to_owned())
        ],
        "Grace once, Alan (opted out) never"
    );
}

#[tokio::test]
async fn an_audience_from_the_wizard_is_saved_as_a_list_of_contacts() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "carol@acme.test", Role::Campaigner)
        .await;
    let carol = app.signed_in("carol@acme.test").await;

    let saved = app
        .call(
            "save_as_list",
            Some(&carol),
            &[
                ("name", "From the wizard"),
                (
                    "audience",
                    "phone,first_name\n+447400123001,Ada\n+447400123002,Grace\nnope,X\n",
                ),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let list: ListRow = saved.json().await.unwrap();
    assert_eq!((list.name.as_str(), list.members), ("From the wizard", 2));
    let contacts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contacts")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(contacts, 2);

    let unnamed = app
        .call(
            "save_as_list",
            Some(&carol),
            &[("name", ""), ("audience", "phone\n+447400123003\n")],
        )
        .await;
    assert_eq!(
        field_message(app_error(unnamed).await, FormField::ListName),
        "Give the list a name."
    );
    let contacts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contacts")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(contacts, 2, "a refused save adds nobody");
}

#[tokio::test]
async fn a_campaigns_audience_is_saved_as_a_list_by_its_organisation_only() {
    let app = spawn_app().await;
    let admin = configured_organisation(&app).await;
    let created = app
        .call_json(
            "create_campaign",
            &admin,
            json!({ "name": "Earlier", "channel": "sms", "audience": "phone,first_name,ward\n+14155552001,Ada,North\n+14155552002,Grace,South\n", "body": "Hi {first_name}!" }),
        )
        .await;
    let id: i64 = created.json().await.unwrap();
    let save = |cookie: String, name: &'static str| {
        let app = &app;
        async move {
            app.call(
                "save_campaign_as_list",
                Some(&cookie),
                &[("id", &id.to_string()), ("name", name)],
            )
            .await
        }
    };

    let other = app.create_organisation("Other", true).await;
    app.create_user(&other, "olga@other.test", Role::OrgAdmin)
        .await;
    let olga = app.signed_in("olga@other.test").await;
    assert_eq!(
        app_error(save(olga.clone(), "Theirs").await).await,
        AppError::NotFound
    );
    assert!(lists(&app, &olga).await.is_empty());

    let saved = save(admin.clone(), "Earlier audience").await;
    assert_eq!(saved.status(), StatusCode::OK);
    let list: ListRow = saved.json().await.unwrap();
    assert_eq!(list.members, 2);
    let audience = audience_of(&app, &admin, &[list.id]).await;
    assert_eq!(
        audience.csv,
        "phone,first_name,last_name,ward\n+14155552001,Ada,,North\n+14155552002,Grace,,South\n"
    );
    let page = app
        .get(&format!("/outreach/campaigns/{id}"), Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Save the audience as a list"));
}
