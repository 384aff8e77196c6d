//! Contacts: checked and imported from a CSV (numbers already there are
//! updated), searched and paged, exported, deleted; each organisation sees
//! only its own.

use app::{
    contacts::{ContactsImport, ContactsView},
    error::{AppError, FormField},
};
use domain::users::Role;
use reqwest::StatusCode;

use crate::helpers::{TestApp, app_error, field_message, spawn_app};

async fn member(app: &TestApp, organisation: &str, email: &str) -> String {
    let organisation = match app.organisation_named(organisation).await {
        Some(existing) => existing,
        None => app.create_organisation(organisation, true).await,
    };
    app.create_user(&organisation, email, Role::Campaigner)
        .await;
    app.signed_in(email).await
}

async fn import(app: &TestApp, cookie: &str, file: &str, check: bool) -> reqwest::Response {
    let mut form = vec![("file", file)];
    if check {
        form.push(("check", "yes"));
    }
    app.call("import_contacts", Some(cookie), &form).await
}

async fn imported(app: &TestApp, cookie: &str, file: &str, check: bool) -> ContactsImport {
    let response = import(app, cookie, file, check).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn list(app: &TestApp, cookie: &str, search: &str, after: Option<&str>) -> ContactsView {
    let mut form = vec![("search", search)];
    if let Some(after) = after {
        form.push(("after", after));
    }
    let response = app.call("contacts", Some(cookie), &form).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

const FILE: &str = "phone,first_name,last_name,ward
+447400123001,Ada,Lovelace,North
+44 7400 123002,Grace,Hopper,=SUM(A1)
+447400123003,Alan,Turing,South
+447400123003,Alan,Turing,South
not a number,Nobody,,East
";

#[tokio::test]
async fn contacts_are_checked_then_imported_and_a_second_file_updates_them_by_number() {
    let app = spawn_app().await;
    let carol = member(&app, "Acme", "carol@acme.test").await;

    // Checking saves nothing.
    let check = imported(&app, &carol, FILE, true).await;
    assert!(!check.imported);
    assert_eq!((check.new, check.updated), (3, 0));
    assert_eq!((check.duplicates, check.invalid_total), (1, 1));
    assert_eq!(check.invalid[0].line, 6);
    assert_eq!(check.columns, vec!["first_name", "last_name", "ward"]);
    assert_eq!(list(&app, &carol, "", None).await.total, Some(0));

    let first = imported(&app, &carol, FILE, false).await;
    assert!(first.imported);
    assert_eq!((first.new, first.updated), (3, 0));
    let page = list(&app, &carol, "", None).await;
    assert_eq!(page.total, Some(3));
    let phones: Vec<&str> = page.rows.iter().map(|r| r.phone.as_str()).collect();
    assert_eq!(
        phones,
        vec!["+447400123001", "+447400123002", "+447400123003"]
    );
    assert_eq!(page.rows[0].name, "Ada Lovelace");
    assert_eq!(page.rows[0].fields, "ward: North");

    // A file without names updates fields only; a new number is added.
    let second = "phone,ward,volunteer\n+447400123001,West,yes\n+447400123004,East,no\n";
    let check = imported(&app, &carol, second, true).await;
    assert_eq!((check.new, check.updated), (1, 1));
    let done = imported(&app, &carol, second, false).await;
    assert_eq!((done.new, done.updated), (1, 1));
    let page = list(&app, &carol, "", None).await;
    assert_eq!(page.total, Some(4));
    assert_eq!(
        page.rows[0].name, "Ada Lovelace",
        "names the file lacks are kept"
    );
    assert_eq!(page.rows[0].fields, "volunteer: yes · ward: West");
    assert_eq!(page.rows[3].name, "");

    // A file the checker cannot read says why under the field.
    let refused = app_error(import(&app, &carol, "name,ward\nAda,North\n", false).await).await;
    assert!(
        field_message(refused, FormField::ContactsFile).contains("no phone column"),
        "the audience checker's words"
    );
    assert_eq!(list(&app, &carol, "", None).await.total, Some(4));
}

#[tokio::test]
async fn contacts_are_searched_by_number_or_name_paged_marked_when_opted_out_and_deleted() {
    let app = spawn_app().await;
    let carol = member(&app, "Acme", "carol@acme.test").await;
    let many: String = std::iter::once("phone,first_name,last_name".to_owned())
        .chain((0..120).map(|i| format!("+4474001{i:05},Person,Number {i}")))
        .chain(["+447400999999,Zoë,O'Brien".to_owned()])
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(imported(&app, &carol, &many, false).await.new, 121);

    // Pages of 50, in number order, each starting where the last ended.
    let first = list(&app, &carol, "", None).await;
    assert_eq!((first.total, first.rows.len()), (Some(121), 50));
    let second = list(&app, &carol, "", first.next_after.as_deref()).await;
    assert_eq!(second.rows[0].phone, "+447400100050");
    assert_eq!(second.total, None, "counted on the first page only");
    let third = list(&app, &carol, "", second.next_after.as_deref()).await;
    assert_eq!(third.rows.len(), 21);
    assert_eq!(third.next_after, None);

    let by_number = list(&app, &carol, "7400 100 07", None).await;
    assert_eq!(by_number.total, Some(10), "+447400100070 to …079");
    let by_name = list(&app, &carol, "zoË o'b", None).await;
    assert_eq!(by_name.total, Some(1));
    assert_eq!(by_name.rows[0].name, "Zoë O'Brien");
    // Wildcards typed are looked for as themselves.
    assert_eq!(list(&app, &carol, "zo%", None).await.total, Some(0));
    assert_eq!(list(&app, &carol, "Number 1_", None).await.total, Some(0));

    let opted_out = app
        .call("add_opt_out", Some(&carol), &[("phone", "+447400999999")])
        .await;
    assert_eq!(opted_out.status(), StatusCode::OK);
    let zoe = list(&app, &carol, "Zoë", None).await;
    assert!(zoe.rows[0].opted_out);
    let html = app
        .get("/outreach/contacts?q=Zo%C3%AB", Some(&carol))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Opted out") && html.contains("+447400999999"),
        "{html}"
    );

    let deleted = app
        .call(
            "delete_contact",
            Some(&carol),
            &[("phone", "+447400999999")],
        )
        .await;
    assert!(deleted.status().is_success() || deleted.status().is_redirection());
    assert_eq!(list(&app, &carol, "Zoë", None).await.total, Some(0));
    let again = app
        .call(
            "delete_contact",
            Some(&carol),
            &[("phone", "+447400999999")],
        )
        .await;
    assert_eq!(app_error(again).await, AppError::NotFound);
    // The opt-out outlives the contact.
    let opt_outs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM opt_outs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(opt_outs, 1);
}

/// A name search finds the names a contact has now, in any case, across
/// first and last name, in its own organisation only; the same whether it
/// reads the names' index (three or more characters, on SQLite) or scans.
#[tokio::test]
async fn a_name_search_follows_renames_and_deletions_within_its_organisation() {
    let app = spawn_app().await;
    let carol = member(&app, "Acme", "carol@acme.test").await;
    let olga = member(&app, "Other", "olga@other.test").await;
    let file = "phone,first_name,last_name\n\
                +447400123001,Ada,Lovelace\n\
                +447400123002,Grace,Hopper\n\
                +447400123003,\"Ro\"\"ck\",Émile\n";
    assert_eq!(imported(&app, &carol, file, false).await.new, 3);
    imported(
        &app,
        &olga,
        "phone,first_name,last_name\n+447400123001,Ada,Lovelace\n",
        false,
    )
    .await;
    let found = |cookie: &str, search: &'static str| {
        let (app, cookie) = (&app, cookie.to_owned());
        async move {
            let page = list(app, &cookie, search, None).await;
            assert_eq!(page.total, Some(page.rows.len() as i64), "{search}");
            page.rows
                .into_iter()
                .map(|row| row.name)
                .collect::<Vec<_>>()
        }
    };

    for search in ["LOVE", "a lov", "ada lovelace", "Lo"] {
        assert_eq!(found(&carol, search).await, ["Ada Lovelace"], "{search}");
    }
    assert_eq!(found(&carol, "ro\"ck").await, ["Ro\"ck Émile"]);
    assert_eq!(found(&carol, "ÉMILE").await, ["Ro\"ck Émile"]);
    assert_eq!(found(&carol, "ada lovelace!").await, Vec::<String>::new());
    assert_eq!(found(&olga, "love").await, ["Ada Lovelace"]);

    // Renamed by a second file: found by the new name only.
    let renamed = "phone,first_name,last_name\n+447400123001,Augusta,King\n";
    assert_eq!(imported(&app, &carol, renamed, false).await.updated, 1);
    assert_eq!(found(&carol, "love").await, Vec::<String>::new());
    assert_eq!(found(&carol, "augusta k").await, ["Augusta King"]);
    // A file that names it again as it is changes nothing.
    assert_eq!(imported(&app, &carol, renamed, false).await.updated, 1);
    assert_eq!(found(&carol, "gusta").await, ["Augusta King"]);
    assert_eq!(found(&olga, "love").await, ["Ada Lovelace"]);

    let deleted = app
        .call(
            "delete_contact",
            Some(&carol),
            &[("phone", "+447400123002")],
        )
        .await;
    assert!(deleted.status().is_success() || deleted.status().is_redirection());
    assert_eq!(found(&carol, "hopper").await, Vec::<String>::new());
}

#[tokio::test]
async fn contacts_export_as_csv_with_formulas_neutralised_for_their_own_organisation_only() {
    let app = spawn_app().await;
    let carol = member(&app, "Acme", "carol@acme.test").await;
    imported(&app, &carol, FILE, false).await;
    let olga = member(&app, "Other", "olga@other.test").await;

    let csv = app
        .get("/outreach/contacts.csv", Some(&carol))
        .await
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "phone,first_name,last_name,opted_out,ward");
    assert_eq!(lines[1], "+447400123001,Ada,Lovelace,no,North");
    assert_eq!(lines[2], "+447400123002,Grace,Hopper,no,'=SUM(A1)");
    assert_eq!(lines.len(), 4);

    // Another organisation sees, exports and deletes none of them.
    assert_eq!(list(&app, &olga, "", None).await.total, Some(0));
    let theirs = app
        .get("/outreach/contacts.csv", Some(&olga))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(theirs.trim(), "phone,first_name,last_name,opted_out");
    let refused = app
        .call("delete_contact", Some(&olga), &[("phone", "+447400123001")])
        .await;
    assert_eq!(app_error(refused).await, AppError::NotFound);
    let refused = app
        .call(
            "contact_details",
            Some(&olga),
            &[("phone", "+447400123001")],
        )
        .await;
    assert_eq!(app_error(refused).await, AppError::NotFound);
    let theirs = app
        .call(
            "contact_details",
            Some(&carol),
            &[("phone", "+447400123001")],
        )
        .await;
    assert_eq!(theirs.status(), StatusCode::OK);
    let page = app
        .get("/outreach/contacts/%2B447400123001", Some(&olga))
        .await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(page.text().await.unwrap().contains("No such contact"));
    assert_eq!(list(&app, &carol, "", None).await.total, Some(3));

    // Signed out: nothing.
    let signed_out = app.call("contacts", None, &[("search", "")]).await;
    assert_eq!(app_error(signed_out).await, AppError::NotSignedIn);
    let signed_out = app.call("import_contacts", None, &[("file", FILE)]).await;
    assert_eq!(app_error(signed_out).await, AppError::NotSignedIn);
    let export = app.get("/outreach/contacts.csv", None).await;
    assert!(export.status().is_redirection());
}
