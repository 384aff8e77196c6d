use app::{error::AppError, settings::OrganisationDetails};
use domain::users::Role;
use reqwest::StatusCode;

use crate::helpers::{app_error, spawn_app};

#[tokio::test]
async fn an_org_admin_sees_settings_in_the_navigation_and_can_open_them() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    let cookie = app.signed_in("alice@acme.test").await;

    let campaigns = app
        .get("/outreach/campaigns", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    let settings = app.get("/outreach/settings", Some(&cookie)).await;

    assert!(campaigns.contains(r#"href="/outreach/settings""#));
    assert_eq!(settings.status(), StatusCode::OK);
    let html = settings.text().await.unwrap();
    assert!(html.contains("Members"));
    assert!(html.contains("alice@acme.test"));
}

#[tokio::test]
async fn a_campaigner_has_no_settings_link_and_gets_a_403_page_at_the_settings_url() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "carol@acme.test", Role::Campaigner)
        .await;
    let cookie = app.signed_in("carol@acme.test").await;

    let campaigns = app
        .get("/outreach/campaigns", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    let settings = app.get("/outreach/settings", Some(&cookie)).await;

    assert!(campaigns.contains(r#"href="/outreach/campaigns""#));
    assert!(!campaigns.contains(r#"href="/outreach/settings""#));
    assert_eq!(settings.status(), StatusCode::FORBIDDEN);
    let html = settings.text().await.unwrap();
    assert!(html.contains("You need to be an Org Admin"));
    assert!(!html.contains("Members"));
}

#[tokio::test]
async fn a_campaigner_calling_a_settings_server_function_directly_is_refused() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "carol@acme.test", Role::Campaigner)
        .await;
    let cookie = app.signed_in("carol@acme.test").await;

    let response = app.call("organisation_overview", Some(&cookie), &[]).await;

    assert_eq!(app_error(response).await, AppError::NotOrgAdmin);
}

#[tokio::test]
async fn people_only_ever_see_their_own_organisation() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    let globex = app.create_organisation("Globex", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    app.create_user(&globex, "gina@globex.test", Role::OrgAdmin)
        .await;
    app.create_user(&globex, "gus@globex.test", Role::Campaigner)
        .await;
    let cookie = app.signed_in("alice@acme.test").await;

    let response = app.call("organisation_overview", Some(&cookie), &[]).await;
    let settings_page = app
        .get("/outreach/settings", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let overview: OrganisationDetails = response.json().await.unwrap();
    assert_eq!(overview.name, "Acme");
    let emails: Vec<_> = overview.members.iter().map(|m| m.email.as_str()).collect();
    assert_eq!(emails, ["alice@acme.test"]);
    assert!(!settings_page.contains("Globex"));
    assert!(!settings_page.contains("globex.test"));
}

#[tokio::test]
async fn a_cross_site_post_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let dormant = app.create_organisation("Dormant", false).await;
    app.create_user(&dormant, "dora@dormant.test", Role::OrgAdmin)
        .await;
    let cookie = app.signed_in("dora@dormant.test").await;

    let from_another_origin = app
        .client
        .post(format!("{}/api/request_access", app.address))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    let marked_cross_site = app
        .client
        .post(format!("{}/api/request_access", app.address))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    let sign_in_from_elsewhere = app
        .client
        .post(format!("{}/api/sign_in", app.address))
        .header("origin", "https://evil.example")
        .form(&[
            ("email", "dora@dormant.test"),
            ("password", crate::helpers::PASSWORD),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(from_another_origin.status(), StatusCode::FORBIDDEN);
    assert_eq!(marked_cross_site.status(), StatusCode::FORBIDDEN);
    assert_eq!(sign_in_from_elsewhere.status(), StatusCode::FORBIDDEN);
    assert!(crate::helpers::session_cookie(&sign_in_from_elsewhere).is_none());
    let organisation = app.organisation(dormant.id).await;
    assert_eq!(organisation.access_requested_at, None);
}

#[tokio::test]
async fn a_same_origin_post_from_the_browser_is_accepted() {
    let app = spawn_app().await;
    let dormant = app.create_organisation("Dormant", false).await;
    app.create_user(&dormant, "dora@dormant.test", Role::OrgAdmin)
        .await;
    let cookie = app.signed_in("dora@dormant.test").await;

    let response = app
        .client
        .post(format!("{}/api/request_access", app.address))
        .header("cookie", &cookie)
        .header("origin", &app.address)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_org_admin_sets_the_time_zone_and_everyone_reads_times_in_it() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    app.create_user(&acme, "carol@acme.test", Role::Campaigner)
        .await;
    let alice = app.signed_in("alice@acme.test").await;
    let carol = app.signed_in("carol@acme.test").await;
    let account = |cookie: String| {
        let app = &app;
        async move {
            app.get("/outreach/account", Some(&cookie))
                .await
                .text()
                .await
                .unwrap()
        }
    };
    assert!(account(carol.clone()).await.contains(" UTC<"));

    let by_campaigner = app
        .call(
            "save_time_zone",
            Some(&carol),
            &[("time_zone", "Asia/Tokyo")],
        )
        .await;
    let unknown = app
        .call(
            "save_time_zone",
            Some(&alice),
            &[("time_zone", "Mars/Olympus_Mons")],
        )
        .await;
    let saved = app
        .call(
            "save_time_zone",
            Some(&alice),
            &[("time_zone", "Asia/Tokyo")],
        )
        .await;

    assert_eq!(app_error(by_campaigner).await, AppError::NotOrgAdmin);
    assert_eq!(
        crate::helpers::field_message(app_error(unknown).await, app::error::FormField::TimeZone),
        "Choose a time zone from the list, like Europe/London."
    );
    assert_eq!(saved.status(), StatusCode::OK);
    // Tokyo has no daylight saving time: always JST.
    let carols_page = account(carol.clone()).await;
    assert!(carols_page.contains(" JST<"), "{carols_page}");
    assert!(!carols_page.contains(" UTC<"));
    let settings = app
        .get("/outreach/settings", Some(&alice))
        .await
        .text()
        .await
        .unwrap();
    assert!(settings.contains("<dd>Asia/Tokyo"));
    assert!(settings.contains(r#"<option value="Asia/Tokyo" selected"#));
    let log = app.audit_log(&alice).await;
    assert_eq!(
        log.entries[0].action,
        "Changed the time zone from UTC to Asia/Tokyo"
    );
}
