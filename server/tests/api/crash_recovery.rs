//! `kill -9` of the real `outreach` process in the middle of a campaign,
//! then a restart: every recipient is messaged exactly once.

use std::{process::Stdio, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use domain::{
    organisations::{self, OrganisationName},
    users::{self, EmailAddress, Role},
};
use reqwest::{StatusCode, header};
use serde_json::json;
use tokio::process::{Child, Command};
use twilio_simulator::{SendFault, Simulator};

use crate::{
    helpers::{PASSWORD, session_cookie},
    sending::numbers,
};

struct Outreach {
    dir: std::path::PathBuf,
    port: u16,
    twilio_url: String,
}

impl Outreach {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts `outreach serve` and waits until it answers.
    async fn start(&self) -> Child {
        let child = Command::new(env!("CARGO_BIN_EXE_outreach"))
            .arg("serve")
            .env(
                "OUTREACH_DATABASE_URL",
                format!("sqlite://{}/outreach.db?mode=rwc", self.dir.display()),
            )
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{}", self.port))
            .env("OUTREACH_PUBLIC_URL", self.url())
            .env("OUTREACH_MASTER_KEY", STANDARD.encode([7u8; 32]))
            .env("TWILIO_API_BASE_URL", &self.twilio_url)
            .env("TWILIO_MESSAGING_BASE_URL", &self.twilio_url)
            .env("OUTREACH_SEND_RATE", "60")
            .env("OUTREACH_TWILIO_TIMEOUT_SECS", "1")
            .env("OUTREACH_STATUS_CHECK_AFTER_SECS", "2")
            .env_remove("OUTREACH_MASTER_KEY_FILE")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("outreach starts");
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let answered = client.get(format!("{}/healthz", self.url())).send().await;
            if answered.is_ok_and(|r| r.status() == StatusCode::OK) {
                return child;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "outreach did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn call(
    client: &reqwest::Client,
    base: &str,
    endpoint: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = client.post(format!("{base}/api/{endpoint}")).form(form);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_kill_9_mid_campaign_then_a_restart_messages_every_recipient_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let twilio = Simulator::new();
    let account = twilio.add_account("Full");
    let service = twilio.add_service(&account.sid, &["+15005550006"]);
    let simulator = twilio.start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let outreach = Outreach {
        dir: dir.path().to_owned(),
        port,
        twilio_url: simulator.url.clone(),
    };

    let pool = domain::db::connect(&format!(
        "sqlite://{}/outreach.db?mode=rwc",
        dir.path().display()
    ))
    .await
    .unwrap();
    let organisation = organisations::insert_organisation(
        &pool,
        &OrganisationName::parse("Acme").unwrap(),
        true,
        domain::clock::now(),
    )
    .await
    .unwrap();
    users::insert_user(
        &pool,
        organisation.id,
        &EmailAddress::parse("alice@acme.test").unwrap(),
        Role::OrgAdmin,
        PASSWORD.into(),
        domain::clock::now(),
    )
    .await
    .unwrap();

    let mut first = outreach.start().await;
    let client = reqwest::Client::new();
    let base = outreach.url();
    let signed_in = call(
        &client,
        &base,
        "sign_in",
        None,
        &[("email", "alice@acme.test"), ("password", PASSWORD)],
    )
    .await;
    let cookie = session_cookie(&signed_in).unwrap();
    let saved = call(
        &client,
        &base,
        "save_twilio_integration",
        Some(&cookie),
        &[
            ("section", "everything"),
            ("account_sid", &account.sid),
            ("auth_token", &account.auth_token),
            ("messaging_service_sid", &service.sid),
            ("version", "0"),
        ],
    )
    .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let recipients = numbers(300);
    let created = client
        .post(format!("{base}/api/create_campaign"))
        .header(header::COOKIE, &cookie)
        .json(&json!({ "name": "Crash", "channel": "sms", "audience": recipients.join("\n"), "body": "Hello" }))
        .send()
        .await
        .unwrap();
    let id: i64 = created.json().await.unwrap();
    // Some answers are lost on the way too.
    twilio.fault_next_sends(&[SendFault::DropAnswer; 3]);
    let run = call(
        &client,
        &base,
        "run_campaign",
        Some(&cookie),
        &[("id", &id.to_string())],
    )
    .await;
    assert_eq!(run.status(), StatusCode::OK);

    // Kill it, without warning, while it is sending.
    while twilio.messages().len() < 80 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill().await.unwrap();
    let left: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbound_messages WHERE state IN ('queued', 'sending')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(left > 0, "the kill came before the end");

    let _second = outreach.start().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let status: String = sqlx::query_scalar("SELECT status FROM campaigns WHERE id = ?")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
        if status == "completed" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the campaign did not complete after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let sent = twilio.messages_per_recipient();
    assert_eq!(sent.len(), 300, "nobody forgotten");
    assert!(sent.values().all(|n| *n == 1), "nobody messaged twice");
    let delivered: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbound_messages WHERE state = 'delivered'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(delivered, 300);
}
