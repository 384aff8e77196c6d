use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_answers_200_while_the_database_answers() {
    let app = spawn_app().await;

    let response = app.get("/healthz", None).await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn healthz_answers_503_when_the_database_does_not() {
    let app = spawn_app().await;
    app.pool.close().await;

    let response = app.get("/healthz", None).await;

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn responses_are_compressed_for_browsers_that_accept_gzip() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(format!("{}/login", app.address))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();

    assert_eq!(response.headers()["content-encoding"], "gzip");
}
