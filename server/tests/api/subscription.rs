use app::auth::Subscription;
use domain::{organisations::SubscriptionState, users::Role};
use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn an_organisation_without_a_subscription_sees_the_gate_on_every_outreach_page() {
    let app = spawn_app().await;
    let dormant = app.create_organisation("Dormant", false).await;
    app.create_user(&dormant, "dora@dormant.test", Role::OrgAdmin)
        .await;
    let cookie = app.signed_in("dora@dormant.test").await;

    for path in ["/outreach/campaigns", "/outreach/settings"] {
        let html = app.get(path, Some(&cookie)).await.text().await.unwrap();
        assert!(html.contains("Outreach needs a subscription"), "{path}");
        assert!(html.contains("Request access"), "{path}");
        assert!(
            !html.contains("Members"),
            "{path} shows settings behind the gate"
        );
    }
}

#[tokio::test]
async fn requesting_access_is_recorded_and_the_page_then_says_when() {
    let app = spawn_app().await;
    let dormant = app.create_organisation("Dormant", false).await;
    app.create_user(&dormant, "carol@dormant.test", Role::Campaigner)
        .await;
    let cookie = app.signed_in("carol@dormant.test").await;

    let response = app.call("request_access", Some(&cookie), &[]).await;

    assert_eq!(response.status(), StatusCode::OK);
    let answer: Subscription = response.json().await.unwrap();
    assert!(matches!(answer, Subscription::Requested { ref by, .. } if by == "carol@dormant.test"));
    let organisation = app.organisation(dormant.id).await;
    assert_eq!(organisation.subscription, SubscriptionState::Requested);
    assert!(organisation.access_requested_at.is_some());
    let html = app
        .get("/outreach/campaigns", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Access was requested on"));
    assert!(html.contains("carol@dormant.test"));
}

#[tokio::test]
async fn an_active_organisation_sees_no_gate() {
    let app = spawn_app().await;
    let acme = app.create_organisation("Acme", true).await;
    app.create_user(&acme, "alice@acme.test", Role::OrgAdmin)
        .await;
    let cookie = app.signed_in("alice@acme.test").await;

    let html = app
        .get("/outreach/campaigns", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();

    assert!(!html.contains("Outreach needs a subscription"));
    assert!(!html.contains("Request access"));
}
