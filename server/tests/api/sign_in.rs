use std::time::{Duration, Instant};

use app::error::AppError;
use domain::users::Role;
use reqwest::StatusCode;

use crate::helpers::{
    PASSWORD, app_error, https_public_url, location, session_cookie, set_cookie_header, spawn_app,
    spawn_app_with,
};

#[tokio::test]
async fn the_right_password_sets_an_http_only_lax_session_cookie() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;

    let response = app.sign_in("alice@acme.test", PASSWORD).await;

    assert_eq!(response.status(), StatusCode::OK);
    let cookie = set_cookie_header(&response).expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http must not get Secure: {cookie}"
    );
    assert_eq!(location(&response), Some("/outreach/campaigns"));
}

#[tokio::test]
async fn over_https_the_cookie_is_host_prefixed_and_secure_and_pages_carry_hsts() {
    let app = spawn_app_with(https_public_url).await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;

    let response = app.sign_in("alice@acme.test", PASSWORD).await;

    let cookie = set_cookie_header(&response).expect("a session cookie");
    assert!(cookie.starts_with("__Host-outreach_session="), "{cookie}");
    assert!(
        cookie.contains("; Secure") && cookie.contains("; Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain="), "{cookie}");
    let page = app
        .get(
            "/outreach/campaigns",
            Some(&session_cookie(&response).unwrap()),
        )
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(
        page.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    // The plain-http cookie name means nothing over https.
    let plain = session_cookie(&response)
        .unwrap()
        .replace("__Host-outreach_session", "outreach_session");
    let refused = app.get("/outreach/campaigns", Some(&plain)).await;
    assert_eq!(location(&refused), Some("/login"));
}

#[tokio::test]
async fn a_signed_in_person_can_open_outreach_pages() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    let cookie = app.signed_in("alice@acme.test").await;

    let response = app.get("/outreach/campaigns", Some(&cookie)).await;

    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("alice@acme.test"));
    assert!(html.contains("Campaigns"));
}

#[tokio::test]
async fn an_unknown_email_and_a_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;

    let wrong_password = app.sign_in("alice@acme.test", "not the password").await;
    let unknown_email = app.sign_in("nobody@acme.test", PASSWORD).await;

    assert_eq!(wrong_password.status(), unknown_email.status());
    assert!(session_cookie(&wrong_password).is_none());
    assert!(session_cookie(&unknown_email).is_none());
    assert_eq!(
        app_error(wrong_password).await,
        AppError::InvalidCredentials
    );
    assert_eq!(app_error(unknown_email).await, AppError::InvalidCredentials);
}

/// Not a benchmark: it only guards against an unknown email skipping the
/// password hash, which would make it answer tens of times faster. Each
/// side's fastest of 5 is compared: a busy machine (PostgreSQL's run of
/// the suite) only ever adds time, so the fastest is the closest to what the
/// work itself costs, where a median moved with the load (3x margin).
#[tokio::test]
async fn an_unknown_email_costs_about_as_much_as_a_wrong_password() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    // Warm up: the first unknown email computes the dummy hash.
    app.sign_in("warm-up@acme.test", PASSWORD).await;

    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    // Five: a sixth wrong password would be refused before its hash.
    for i in 0..5 {
        let started = Instant::now();
        app.sign_in("alice@acme.test", "not the password").await;
        wrong.push(started.elapsed());
        let started = Instant::now();
        app.sign_in(&format!("nobody{i}@acme.test"), PASSWORD).await;
        unknown.push(started.elapsed());
    }

    let fastest = |v: Vec<Duration>| v.into_iter().min().expect("five tries");
    let (wrong, unknown) = (fastest(wrong), fastest(unknown));
    assert!(
        unknown * 3 >= wrong,
        "unknown email took {unknown:?}, wrong password {wrong:?}"
    );
}

#[tokio::test]
async fn after_five_failures_even_the_right_password_is_refused_for_a_while() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    for _ in 0..5 {
        let response = app.sign_in("alice@acme.test", "not the password").await;
        assert_eq!(app_error(response).await, AppError::InvalidCredentials);
    }

    let response = app.sign_in("alice@acme.test", PASSWORD).await;

    assert!(session_cookie(&response).is_none());
    assert_eq!(
        app_error(response).await,
        AppError::TooManyAttempts { minutes: 15 }
    );
    // Other people are not locked out by Alice's attacker.
    app.create_user(&acme, "bob@acme.test", Role::Campaigner)
        .await;
    assert_eq!(
        app.sign_in("bob@acme.test", PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn signing_in_issues_a_new_session_id_and_ends_the_one_presented() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    let first = app.signed_in("alice@acme.test").await;

    let response = app
        .call(
            "sign_in",
            Some(&first),
            &[("email", "alice@acme.test"), ("password", PASSWORD)],
        )
        .await;

    let second = session_cookie(&response).expect("a new session cookie");
    assert_ne!(first, second);
    let with_first = app.get("/outreach/campaigns", Some(&first)).await;
    assert_eq!(location(&with_first), Some("/login"));
    let with_second = app.get("/outreach/campaigns", Some(&second)).await;
    assert_eq!(with_second.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_session_id_chosen_by_someone_else_is_never_adopted() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    let planted = "outreach_session=planted-by-an-attacker";

    let response = app
        .call(
            "sign_in",
            Some(planted),
            &[("email", "alice@acme.test"), ("password", PASSWORD)],
        )
        .await;

    assert_ne!(session_cookie(&response).as_deref(), Some(planted));
    let with_planted = app.get("/outreach/campaigns", Some(planted)).await;
    assert_eq!(location(&with_planted), Some("/login"));
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    let cookie = app.signed_in("alice@acme.test").await;

    let response = app.call("sign_out", Some(&cookie), &[]).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert!(set_cookie_header(&response).unwrap().contains("Max-Age=0"));
    // The old cookie, replayed, is worthless.
    let replayed = app.call("current_viewer", Some(&cookie), &[]).await;
    assert_eq!(app_error(replayed).await, AppError::NotSignedIn);
}

#[tokio::test]
async fn pages_redirect_to_the_sign_in_page_without_a_session() {
    let app = spawn_app().await;

    for path in [
        "/",
        "/outreach",
        "/outreach/campaigns",
        "/outreach/settings",
    ] {
        let response = app.get(path, None).await;
        assert!(
            response.status().is_redirection(),
            "{path}: {}",
            response.status()
        );
        assert_eq!(location(&response), Some("/login"), "{path}");
    }
    let login = app.get("/login", None).await;
    assert_eq!(login.status(), StatusCode::OK);
    let html = login.text().await.unwrap();
    for text in ["Email", "Password", "Sign in"] {
        assert!(html.contains(text), "the sign-in page lacks {text}");
    }
}

#[tokio::test]
async fn server_functions_refuse_callers_without_a_session() {
    let app = spawn_app().await;

    for endpoint in ["current_viewer", "organisation_overview", "request_access"] {
        let response = app.call(endpoint, None, &[]).await;
        assert_eq!(
            app_error(response).await,
            AppError::NotSignedIn,
            "{endpoint}"
        );
    }
}

#[tokio::test]
async fn authenticated_pages_carry_the_security_headers() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    let cookie = app.signed_in("alice@acme.test").await;

    let response = app.get("/outreach/settings", Some(&cookie)).await;

    let headers = response.headers();
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert_eq!(headers["x-frame-options"], "DENY");
}
