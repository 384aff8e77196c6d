//! Outreach > Opt-outs over real HTTP: numbers added by hand or imported
//! are left out of audiences, removing one needs the person's request and
//! is recorded, and each organisation sees only its own.

use app::{
    campaigns::AudiencePreview,
    error::{AppError, FormField},
    opt_outs::{ImportResult, OptOutsView},
};
use domain::users::Role;
use reqwest::StatusCode;

use crate::helpers::{TestApp, app_error, field_message, form_message, spawn_app};

async fn list(app: &TestApp, cookie: &str, search: &str) -> OptOutsView {
    let response = app
        .call(
            "opt_outs",
            Some(cookie),
            &[("search", search), ("page", "1")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn add(app: &TestApp, cookie: &str, phone: &str) -> reqwest::Response {
    app.call("add_opt_out", Some(cookie), &[("phone", phone)])
        .await
}

/// Acme (default country US) with an Org Admin and a campaigner; returns
/// their cookies.
async fn acme(app: &TestApp) -> (String, String) {
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    app.create_user(&acme, "carol@acme.test", Role::Campaigner)
        .await;
    (
        app.signed_in("alice@acme.test").await,
        app.signed_in("carol@acme.test").await,
    )
}

#[tokio::test]
async fn an_opt_out_added_by_hand_is_listed_with_who_and_left_out_of_audiences() {
    let app = spawn_app().await;
    let (alice, carol) = acme(&app).await;

    let added = add(&app, &carol, "(415) 555-2671").await;
    let again = add(&app, &carol, "+14155552671").await;
    let invalid = add(&app, &carol, "not a number").await;

    assert_eq!(added.text().await.unwrap(), "true");
    assert_eq!(again.text().await.unwrap(), "false");
    assert!(field_message(app_error(invalid).await, FormField::Phone).contains("+14155552671"));
    let listed = list(&app, &carol, "").await;
    assert_eq!(listed.total, 1);
    assert_eq!(listed.rows[0].phone, "+14155552671");
    assert_eq!(listed.rows[0].reason, "Added by hand");
    assert_eq!(listed.rows[0].added_by.as_deref(), Some("carol@acme.test"));
    let preview: AudiencePreview = app
        .call_json(
            "preview_audience",
            &carol,
            serde_json::json!({ "audience": "+14155552671\n+12127365000\n" }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((preview.recipients, preview.opted_out), (1, 1));
    let log = app.audit_log(&alice).await;
    assert_eq!(log.entries[0].actor, "carol@acme.test");
    assert_eq!(log.entries[0].action, "Added an opt-out for +14155552671");
    let page = app
        .get("/outreach/opt-outs", Some(&carol))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("+14155552671"));
    assert!(page.contains("by carol@acme.test"));
}

#[tokio::test]
async fn removing_an_opt_out_needs_the_persons_request_and_is_recorded() {
    let app = spawn_app().await;
    let (alice, carol) = acme(&app).await;
    add(&app, &carol, "+14155552671").await;

    let unconfirmed = app
        .call("remove_opt_out", Some(&carol), &[("phone", "+14155552671")])
        .await;
    assert_eq!(
        field_message(app_error(unconfirmed).await, FormField::AskedAgain),
        "Confirm that this person asked to receive messages again: an opt-out is only removed at their request."
    );
    assert_eq!(list(&app, &carol, "").await.total, 1);

    let confirmed = app
        .call(
            "remove_opt_out",
            Some(&carol),
            &[("phone", "+14155552671"), ("asked_again", "yes")],
        )
        .await;
    let twice = app
        .call(
            "remove_opt_out",
            Some(&carol),
            &[("phone", "+14155552671"), ("asked_again", "yes")],
        )
        .await;

    assert!(confirmed.status().is_success() || confirmed.status().is_redirection());
    assert_eq!(list(&app, &carol, "").await.total, 0);
    assert!(form_message(app_error(twice).await).contains("is not opted out"));
    let log = app.audit_log(&alice).await;
    assert_eq!(
        log.entries[0].action,
        "Removed the opt-out of +14155552671 (they asked to receive messages again)"
    );
    assert_eq!(log.entries[0].actor, "carol@acme.test");
}

/// A large file is stored a few thousand opt-outs a transaction (so it
/// never holds the database for long): every number is added, and the
/// audit log says so once.
#[tokio::test]
async fn an_import_larger_than_a_transaction_adds_every_number_and_is_logged_once() {
    let app = spawn_app().await;
    let (alice, carol) = acme(&app).await;
    let numbers: String = (0..12_000)
        .map(|n| format!("+447400{n:06}"))
        .collect::<Vec<_>>()
        .join("\n");

    let response = app
        .call("import_opt_outs", Some(&carol), &[("numbers", &numbers)])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let result: ImportResult = response.json().await.unwrap();

    assert_eq!(result.added, 12_000);
    assert_eq!(list(&app, &carol, "").await.total, 12_000);
    let log = app.audit_log(&alice).await;
    let imports: Vec<&str> = log
        .entries
        .iter()
        .map(|entry| entry.action.as_str())
        .filter(|action| action.starts_with("Imported"))
        .collect();
    assert_eq!(imports, ["Imported 12000 opt-outs (12000 new)"]);
}

#[tokio::test]
async fn an_import_adds_new_numbers_and_says_what_it_skipped_and_the_export_lists_them() {
    let app = spawn_app().await;
    let (_, carol) = acme(&app).await;
    add(&app, &carol, "+14155552671").await;

    let response = app
        .call(
            "import_opt_outs",
            Some(&carol),
            &[(
                "numbers",
                "phone,name\n+14155552671,Ann\n2127365000,Bo\n+12127365000,Bo again\nnonsense,Cy\n+442071838750,Di\n",
            )],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let result: ImportResult = response.json().await.unwrap();
    let searched = list(&app, &carol, "+44 20").await;
    let csv = app
        .get("/outreach/opt-outs.csv", Some(&carol))
        .await
        .text()
        .await
        .unwrap();

    assert_eq!(result.added, 2);
    assert_eq!(
        (result.already, result.duplicates, result.invalid_total),
        (1, 1, 1)
    );
    assert_eq!(result.invalid[0].line, 5);
    assert_eq!(searched.total, 1);
    assert_eq!(searched.rows[0].phone, "+442071838750");
    assert_eq!(searched.rows[0].reason, "Imported");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("phone,reason,opted_out_at_utc,added_by"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .any(|row| row.starts_with("+14155552671,Added by hand,"))
    );
    assert!(
        rows.iter()
            .any(|row| row.starts_with("+12127365000,Imported,"))
    );
}

#[tokio::test]
async fn each_organisation_sees_and_changes_only_its_own_opt_outs() {
    let app = spawn_app().await;
    let (_, carol) = acme(&app).await;
    let globex = app.create_organisation("Globex", true).await;
    app.create_user(&globex, "mallory@globex.test", Role::OrgAdmin)
        .await;
    let dormant = app.create_organisation("Dormant", false).await;
    app.create_user(&dormant, "dora@dormant.test", Role::OrgAdmin)
        .await;
    let mallory = app.signed_in("mallory@globex.test").await;
    let dora = app.signed_in("dora@dormant.test").await;
    add(&app, &carol, "+14155552671").await;

    let removed_elsewhere = app
        .call(
            "remove_opt_out",
            Some(&mallory),
            &[("phone", "+14155552671"), ("asked_again", "yes")],
        )
        .await;
    let globex_csv = app
        .get("/outreach/opt-outs.csv", Some(&mallory))
        .await
        .text()
        .await
        .unwrap();
    let without_subscription = app
        .call("opt_outs", Some(&dora), &[("search", ""), ("page", "1")])
        .await;
    let signed_out = app
        .call("opt_outs", None, &[("search", ""), ("page", "1")])
        .await;

    assert_eq!(list(&app, &mallory, "").await.total, 0);
    assert!(form_message(app_error(removed_elsewhere).await).contains("is not opted out"));
    assert_eq!(list(&app, &carol, "").await.total, 1);
    assert_eq!(globex_csv.lines().count(), 1);
    assert_eq!(
        app_error(without_subscription).await,
        AppError::SubscriptionRequired
    );
    assert_eq!(app_error(signed_out).await, AppError::NotSignedIn);
    assert_eq!(
        app.get("/outreach/opt-outs.csv", Some(&dora))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}
