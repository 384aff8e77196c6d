//! Settings > Team, Settings > Audit log and Account over real HTTP: what
//! Org Admins may do to their own organisation's people and nobody else's,
//! one-time links, and sessions that end when they should.

use app::{
    error::{AppError, FormField},
    settings::{audit_log::AuditLogView, team::NewLinkView},
};
use domain::users::Role;
use reqwest::StatusCode;

use crate::helpers::{
    PASSWORD, TestApp, app_error, assert_not_in_database, field_message, form_message, location,
    session_cookie, spawn_app,
};

const NEW_PASSWORD: &str = "a brand new passphrase";

async fn invite(app: &TestApp, cookie: &str, email: &str, role: &str) -> NewLinkView {
    let response = app
        .call(
            "invite_member",
            Some(cookie),
            &[("email", email), ("role", role)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{email} was not invited");
    response.json().await.unwrap()
}

/// The path of a link, and its secret.
fn path_and_secret(link: &NewLinkView) -> (String, String) {
    let url = reqwest::Url::parse(&link.url).expect("a link is a URL");
    let secret = url.path().rsplit('/').next().unwrap().to_owned();
    (url.path().to_owned(), secret)
}

async fn use_link(app: &TestApp, secret: &str, password: &str) -> reqwest::Response {
    app.call(
        "use_link",
        None,
        &[
            ("secret", secret),
            ("new_password", password),
            ("confirm_password", password),
        ],
    )
    .await
}

async fn member_id(app: &TestApp, email: &str) -> String {
    let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    id.to_string()
}

async fn is_signed_in(app: &TestApp, cookie: &str) -> bool {
    let response = app.call("session_status", Some(cookie), &[]).await;
    match response.status() {
        StatusCode::OK => true,
        StatusCode::UNAUTHORIZED => false,
        other => panic!("session_status answered {other}"),
    }
}

#[tokio::test]
async fn an_invited_person_sets_a_password_with_the_link_and_is_signed_in() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    let alice = app.signed_in("alice@acme.test").await;

    let link = invite(&app, &alice, "Dan@Acme.test", "campaigner").await;
    let (path, secret) = path_and_secret(&link);
    let page = app.get(&path, None).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    let joined = use_link(&app, &secret, NEW_PASSWORD).await;

    assert_eq!(link.email, "dan@acme.test");
    assert!(path.starts_with("/invitations/"), "{path}");
    assert!(page.contains("Join Acme on Outreach"));
    assert!(page.contains("You were invited as Campaigner with the email dan@acme.test"));
    assert_eq!(joined.status(), StatusCode::OK);
    let dan = session_cookie(&joined).expect("the new person is signed in");
    assert!(is_signed_in(&app, &dan).await);
    assert_eq!(
        app.get("/outreach/campaigns", Some(&dan)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.sign_in("dan@acme.test", NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
    let team = app
        .get("/outreach/settings/team", Some(&alice))
        .await
        .text()
        .await
        .unwrap();
    assert!(team.contains("dan@acme.test"));
    // The secret was shown once, in the answer to the Org Admin, and is
    // nowhere else: not in the team page, a log line or the database.
    assert!(!team.contains(&secret));
    assert!(
        !crate::logs::captured().contains(&secret),
        "the link was logged"
    );
    assert_not_in_database(&app, &secret).await;
}

#[tokio::test]
async fn used_revoked_and_made_up_links_say_why_they_do_not_work() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    let alice = app.signed_in("alice@acme.test").await;
    let used = invite(&app, &alice, "dan@acme.test", "campaigner").await;
    let revoked = invite(&app, &alice, "erin@acme.test", "org_admin").await;
    let (_, used_secret) = path_and_secret(&used);
    let (revoked_path, revoked_secret) = path_and_secret(&revoked);
    assert_eq!(
        use_link(&app, &used_secret, NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
    let link_id: i64 =
        sqlx::query_scalar("SELECT id FROM account_links WHERE email = 'erin@acme.test'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let revoke = app
        .call(
            "revoke_link",
            Some(&alice),
            &[("link", &link_id.to_string())],
        )
        .await;
    assert_eq!(revoke.status(), StatusCode::OK);

    let again = use_link(&app, &used_secret, "yet another passphrase").await;
    let after_revoking = use_link(&app, &revoked_secret, NEW_PASSWORD).await;
    let made_up = use_link(&app, "not-a-real-link", NEW_PASSWORD).await;
    let revoked_page = app.get(&revoked_path, None).await.text().await.unwrap();

    assert!(session_cookie(&again).is_none());
    assert!(form_message(app_error(again).await).contains("already been used"));
    assert!(
        form_message(app_error(after_revoking).await).contains("revoked by an Org Admin of Acme")
    );
    assert!(form_message(app_error(made_up).await).contains("copied in full"));
    assert!(revoked_page.contains("This link does not work"));
    assert!(revoked_page.contains("revoked by an Org Admin of Acme"));
    assert_eq!(
        app.sign_in("erin@acme.test", NEW_PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_common_or_mistyped_password_is_refused_and_the_link_still_works() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    let alice = app.signed_in("alice@acme.test").await;
    let link = invite(&app, &alice, "dan@acme.test", "campaigner").await;
    let (_, secret) = path_and_secret(&link);

    let common = use_link(&app, &secret, "Password12345!").await;
    let mistyped = app
        .call(
            "use_link",
            None,
            &[
                ("secret", &secret),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", "a brand new passphrasf"),
            ],
        )
        .await;

    assert!(
        field_message(app_error(common).await, FormField::NewPassword).contains("common passwords")
    );
    assert!(
        field_message(app_error(mistyped).await, FormField::ConfirmPassword)
            .contains("not the same")
    );
    assert_eq!(
        use_link(&app, &secret, NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn campaigners_and_other_organisations_org_admins_cannot_touch_a_team() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    let globex = app.create_organisation("Globex", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    app.create_user(&acme, "carol@acme.test", Role::Campaigner)
        .await;
    app.create_user(&globex, "mallory@globex.test", Role::OrgAdmin)
        .await;
    let alice = app.signed_in("alice@acme.test").await;
    let carol = app.signed_in("carol@acme.test").await;
    let mallory = app.signed_in("mallory@globex.test").await;
    invite(&app, &alice, "dan@acme.test", "campaigner").await;
    let alice_id = member_id(&app, "alice@acme.test").await;
    let link_id: i64 = sqlx::query_scalar("SELECT id FROM account_links")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let link_id = link_id.to_string();
    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("team", vec![]),
        ("audit_log", vec![]),
        (
            "invite_member",
            vec![("email", "eve@acme.test"), ("role", "org_admin")],
        ),
        ("revoke_link", vec![("link", &link_id)]),
        (
            "change_member_role",
            vec![("member", &alice_id), ("role", "campaigner")],
        ),
        (
            "set_member_disabled",
            vec![("member", &alice_id), ("disabled", "true")],
        ),
        ("remove_member", vec![("member", &alice_id)]),
        ("reset_member_password", vec![("member", &alice_id)]),
    ];

    for (endpoint, form) in &calls {
        let by_campaigner = app.call(endpoint, Some(&carol), form).await;
        assert_eq!(
            app_error(by_campaigner).await,
            AppError::NotOrgAdmin,
            "{endpoint}"
        );
    }
    // Another organisation's Org Admin finds nothing of Acme's.
    for (endpoint, form) in &calls[3..] {
        let by_outsider = app.call(endpoint, Some(&mallory), form).await;
        assert_eq!(
            app_error(by_outsider).await,
            AppError::NoSuchMember,
            "{endpoint}"
        );
    }
    let globex_team = app
        .get("/outreach/settings/team", Some(&mallory))
        .await
        .text()
        .await
        .unwrap();
    assert!(!globex_team.contains("acme.test"));
    assert_eq!(
        app.get("/outreach/settings/team", Some(&carol))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/outreach/settings/audit-log", Some(&carol))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // Nothing changed: Alice is still an active Org Admin, Dan still invited.
    assert!(is_signed_in(&app, &alice).await);
    let team = app
        .get("/outreach/settings/team", Some(&alice))
        .await
        .text()
        .await
        .unwrap();
    assert!(team.contains("dan@acme.test"));
    assert!(!team.contains("eve@acme.test"));
    assert!(team.contains("Make Campaigner: alice@acme.test"));
}

#[tokio::test]
async fn the_last_active_org_admin_stays_and_the_answer_says_why() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    let alice = app.signed_in("alice@acme.test").await;
    let alice_id = member_id(&app, "alice@acme.test").await;

    let demoted = app
        .call(
            "change_member_role",
            Some(&alice),
            &[("member", &alice_id), ("role", "campaigner")],
        )
        .await;
    let disabled = app
        .call(
            "set_member_disabled",
            Some(&alice),
            &[("member", &alice_id), ("disabled", "true")],
        )
        .await;
    let removed = app
        .call("remove_member", Some(&alice), &[("member", &alice_id)])
        .await;

    for refused in [demoted, disabled, removed] {
        let message = form_message(app_error(refused).await);
        assert!(
            message.contains("alice@acme.test is the organisation's only active Org Admin"),
            "{message}"
        );
    }
    assert!(is_signed_in(&app, &alice).await);
    let html = app
        .get("/outreach/settings", Some(&alice))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Org Admin"));
}

#[tokio::test]
async fn disabling_someone_signs_them_out_at_once_and_enabling_lets_them_back() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    app.create_user(&acme, "carol@acme.test", Role::Campaigner)
        .await;
    let alice = app.signed_in("alice@acme.test").await;
    let carol = app.signed_in("carol@acme.test").await;
    let carol_id = member_id(&app, "carol@acme.test").await;
    assert!(is_signed_in(&app, &carol).await);

    let disabled = app
        .call(
            "set_member_disabled",
            Some(&alice),
            &[("member", &carol_id), ("disabled", "true")],
        )
        .await;

    assert_eq!(disabled.status(), StatusCode::OK);
    assert!(!is_signed_in(&app, &carol).await);
    let page = app.get("/outreach/campaigns", Some(&carol)).await;
    assert_eq!(location(&page), Some("/login"));
    assert_eq!(
        app.sign_in("carol@acme.test", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let team = app
        .get("/outreach/settings/team", Some(&alice))
        .await
        .text()
        .await
        .unwrap();
    assert!(team.contains("Disabled"));
    assert!(team.contains("Enable carol@acme.test"));

    let enabled = app
        .call(
            "set_member_disabled",
            Some(&alice),
            &[("member", &carol_id), ("disabled", "false")],
        )
        .await;
    assert_eq!(enabled.status(), StatusCode::OK);
    assert_eq!(
        app.sign_in("carol@acme.test", PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_password_reset_link_replaces_the_password_and_ends_the_old_sessions() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    app.create_user(&acme, "carol@acme.test", Role::Campaigner)
        .await;
    let alice = app.signed_in("alice@acme.test").await;
    let carol = app.signed_in("carol@acme.test").await;
    let carol_id = member_id(&app, "carol@acme.test").await;

    let response = app
        .call(
            "reset_member_password",
            Some(&alice),
            &[("member", &carol_id)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let link: NewLinkView = response.json().await.unwrap();
    let (path, secret) = path_and_secret(&link);
    let page = app.get(&path, None).await.text().await.unwrap();
    // Until it is used, the old password works.
    assert!(is_signed_in(&app, &carol).await);
    let reset = use_link(&app, &secret, NEW_PASSWORD).await;

    assert!(path.starts_with("/password-resets/"), "{path}");
    assert_eq!(link.email, "carol@acme.test");
    assert!(page.contains("Set a new password"));
    assert_eq!(reset.status(), StatusCode::OK);
    assert!(!is_signed_in(&app, &carol).await);
    assert!(is_signed_in(&app, &session_cookie(&reset).unwrap()).await);
    assert_eq!(
        app.sign_in("carol@acme.test", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert!(
        !crate::logs::captured().contains(&secret),
        "the link was logged"
    );
}

#[tokio::test]
async fn changing_ones_password_needs_the_current_one_and_signs_out_the_other_sessions() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", false).await;
    app.create_user(&acme, "carol@acme.test", Role::Campaigner)
        .await;
    let here = app.signed_in("carol@acme.test").await;
    let elsewhere = app.signed_in("carol@acme.test").await;
    let change = |current: &'static str| {
        let app = &app;
        let here = here.clone();
        async move {
            app.call(
                "change_password",
                Some(&here),
                &[
                    ("current_password", current),
                    ("new_password", NEW_PASSWORD),
                    ("confirm_password", NEW_PASSWORD),
                ],
            )
            .await
        }
    };

    let wrong = change("not my password at all").await;
    assert_eq!(
        field_message(app_error(wrong).await, FormField::CurrentPassword),
        "This is not your current password."
    );
    assert!(is_signed_in(&app, &elsewhere).await);
    let changed = change(PASSWORD).await;

    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(changed.text().await.unwrap(), "1");
    assert!(is_signed_in(&app, &here).await);
    assert!(!is_signed_in(&app, &elsewhere).await);
    assert_eq!(
        app.sign_in("carol@acme.test", NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
    // The Account page is everyone's, subscription or not.
    let account = app.get("/outreach/account", Some(&here)).await;
    assert_eq!(account.status(), StatusCode::OK);
    let account = account.text().await.unwrap();
    assert!(account.contains("Sessions"));
    assert!(account.contains("This session"));
}

#[tokio::test]
async fn people_end_their_own_sessions_only() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    app.create_user(&acme, "carol@acme.test", Role::Campaigner)
        .await;
    let alice = app.signed_in("alice@acme.test").await;
    let carol = app.signed_in("carol@acme.test").await;
    let carols_session: Vec<u8> = sqlx::query_scalar(
        "SELECT s.token_hash FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'carol@acme.test'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let carols_id: String = carols_session.iter().map(|b| format!("{b:02x}")).collect();

    let by_alice = app
        .call("end_session", Some(&alice), &[("session", &carols_id)])
        .await;
    assert_eq!(app_error(by_alice).await, AppError::NoSuchMember);
    assert!(is_signed_in(&app, &carol).await);

    let by_carol = app
        .call("end_session", Some(&carol), &[("session", &carols_id)])
        .await;
    assert_eq!(by_carol.status(), StatusCode::OK);
    assert!(!is_signed_in(&app, &carol).await);
}

#[tokio::test]
async fn the_audit_log_lists_team_and_twilio_changes_newest_first_a_page_at_a_time() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    let globex = app.create_organisation("Globex", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    app.create_user(&globex, "mallory@globex.test", Role::OrgAdmin)
        .await;
    let alice = app.signed_in("alice@acme.test").await;
    let mallory = app.signed_in("mallory@globex.test").await;
    app.configure_twilio(&alice).await;
    for n in 0..55 {
        invite(
            &app,
            &alice,
            &format!("person{n:02}@acme.test"),
            "campaigner",
        )
        .await;
    }

    let first = app.audit_log(&alice).await;
    let older = first.older.expect("a second page");
    let second: AuditLogView = app
        .call("audit_log", Some(&alice), &[("before", &older.to_string())])
        .await
        .json()
        .await
        .unwrap();
    let page = app
        .get("/outreach/settings/audit-log", Some(&alice))
        .await
        .text()
        .await
        .unwrap();
    let globex_log = app.audit_log(&mallory).await;

    assert_eq!(first.entries.len(), 50);
    assert_eq!(
        first.entries[0].action,
        "Invited person54@acme.test as Campaigner"
    );
    assert_eq!(first.entries[0].actor, "alice@acme.test");
    assert_eq!(second.entries.len(), 6);
    assert_eq!(
        second.entries[4].action,
        "Invited person00@acme.test as Campaigner"
    );
    assert!(
        second.entries[5]
            .action
            .starts_with("Configured the Twilio Integration"),
        "{:?}",
        second.entries[5]
    );
    assert_eq!(second.older, None);
    assert!(page.contains("Invited person54@acme.test as Campaigner"));
    assert!(page.contains(&format!("/outreach/settings/audit-log?before={older}")));
    assert!(globex_log.entries.is_empty());
    assert!(!page.contains(&app.account.auth_token));
}

#[tokio::test]
async fn an_open_pages_status_check_does_not_keep_an_idle_session_alive() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "carol@acme.test", Role::Campaigner)
        .await;
    let carol = app.signed_in("carol@acme.test").await;
    // As if the session had last been used two minutes ago.
    sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at - 120")
        .execute(&app.pool)
        .await
        .unwrap();
    let last_seen = || async {
        sqlx::query_scalar::<_, i64>("SELECT last_seen_at FROM sessions")
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    let before = last_seen().await;

    assert!(is_signed_in(&app, &carol).await);
    assert_eq!(last_seen().await, before);
    app.get("/outreach/campaigns", Some(&carol)).await;
    assert!(last_seen().await > before);
}

#[tokio::test]
async fn a_removed_persons_campaigns_stay_attributed_to_a_former_member() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    app.create_user(&acme, "carol@acme.test", Role::Campaigner)
        .await;
    let alice = app.signed_in("alice@acme.test").await;
    let carol = app.signed_in("carol@acme.test").await;
    app.configure_twilio(&alice).await;
    let created = app
        .call_json(
            "create_campaign",
            &carol,
            serde_json::json!({ "name": "Spring appeal", "channel": "sms", "audience": "+15005550006", "body": "Hello!" }),
        )
        .await;
    assert_eq!(
        created.status(),
        StatusCode::OK,
        "{}",
        created.text().await.unwrap()
    );
    let carol_id = member_id(&app, "carol@acme.test").await;

    let removed = app
        .call("remove_member", Some(&alice), &[("member", &carol_id)])
        .await;

    assert!(removed.status().is_success() || removed.status().is_redirection());
    assert!(!is_signed_in(&app, &carol).await);
    let campaigns = app
        .get("/outreach/campaigns", Some(&alice))
        .await
        .text()
        .await
        .unwrap();
    assert!(campaigns.contains("Spring appeal"));
    assert!(campaigns.contains("carol@acme.test (former member)"));
    let log = app.audit_log(&alice).await;
    assert_eq!(
        log.entries[0].action,
        "Removed carol@acme.test (Campaigner)"
    );
}
