//! Real `outreach serve` processes on one database, with the Twilio
//! simulator: an organisation set up through the web process, and the
//! campaign helpers the multi-process tests share.

use std::{process::Stdio, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use domain::{
    db::Pool,
    organisations::{self, OrganisationName},
    users::{self, EmailAddress, Role},
};
use reqwest::{StatusCode, header};
use serde_json::json;
use tokio::process::{Child, Command};
use twilio_simulator::{RunningSimulator, SimAccount, SimService, Simulator};

use crate::helpers::{PASSWORD, session_cookie};

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One database, one simulated Twilio, and the processes started on them.
pub struct Installation {
    pub database_url: String,
    pub pool: Pool,
    pub twilio: Simulator,
    pub account: SimAccount,
    pub service: SimService,
    /// Where people and Twilio reach Outreach (the web process).
    pub public_port: u16,
    pub client: reqwest::Client,
    /// Extra variables for every process (`OUTREACH_SEND_RATE`, ...).
    pub env: Vec<(String, String)>,
    simulator: RunningSimulator,
}

impl Installation {
    pub async fn new(database_url: &str) -> Self {
        let pool = domain::db::connect(database_url).await.unwrap();
        let twilio = Simulator::new();
        let account = twilio.add_account("Full");
        let service = twilio.add_service(&account.sid, &["+15005550006"]);
        let simulator = twilio.start("127.0.0.1:0".parse().unwrap()).await.unwrap();
        Self {
            database_url: database_url.to_owned(),
            pool,
            twilio,
            account,
            service,
            public_port: free_port(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            env: Vec::new(),
            simulator,
        }
    }

    pub fn public_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.public_port)
    }

    /// Starts `outreach serve --role ROLE` on `port` and waits until its
    /// `/healthz` answers.
    pub async fn start(&self, role: &str, port: u16) -> Child {
        let mut command = Command::new(env!("CARGO_BIN_EXE_outreach"));
        command
            .args(["serve", "--role", role])
            .env("OUTREACH_DATABASE_URL", &self.database_url)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("OUTREACH_PUBLIC_URL", self.public_url())
            .env("OUTREACH_MASTER_KEY", STANDARD.encode([7u8; 32]))
            .env("TWILIO_API_BASE_URL", &self.simulator.url)
            .env("TWILIO_MESSAGING_BASE_URL", &self.simulator.url)
            .env("OUTREACH_TWILIO_TIMEOUT_SECS", "1")
            .env("OUTREACH_STATUS_CHECK_AFTER_SECS", "2")
            .env("RUST_LOG", "warn")
            .env_remove("OUTREACH_MASTER_KEY_FILE")
            .env_remove("OUTREACH_ROLE")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        for (name, value) in &self.env {
            command.env(name, value);
        }
        let child = command.spawn().expect("outreach starts");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let answered = self
                .client
                .get(format!("http://127.0.0.1:{port}/healthz"))
                .send()
                .await;
            if answered.is_ok_and(|r| r.status() == StatusCode::OK) {
                return child;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "outreach --role {role} did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// An organisation with an Org Admin (signed in through the web
    /// process) and the simulator's credentials saved; returns the cookie.
    pub async fn configured_organisation(&self) -> String {
        let organisation = organisations::insert_organisation(
            &self.pool,
            &OrganisationName::parse("Acme").unwrap(),
            true,
            domain::clock::now(),
        )
        .await
        .unwrap();
        users::insert_user(
            &self.pool,
            organisation.id,
            &EmailAddress::parse("alice@acme.test").unwrap(),
            Role::OrgAdmin,
            PASSWORD.into(),
            domain::clock::now(),
        )
        .await
        .unwrap();
        let signed_in = self
            .call(
                "sign_in",
                None,
                &[("email", "alice@acme.test"), ("password", PASSWORD)],
            )
            .await;
        let cookie = session_cookie(&signed_in).expect("signed in");
        let saved = self
            .call(
                "save_twilio_integration",
                Some(&cookie),
                &[
                    ("section", "everything"),
                    ("account_sid", &self.account.sid),
                    ("auth_token", &self.account.auth_token),
                    ("messaging_service_sid", &self.service.sid),
                    ("version", "0"),
                ],
            )
            .await;
        assert_eq!(saved.status(), StatusCode::OK);
        cookie
    }

    pub async fn call(
        &self,
        endpoint: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}/api/{endpoint}", self.public_url()))
            .form(form);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        request.send().await.unwrap()
    }

    /// Creates a campaign to `recipients` and runs it; returns its id.
    pub async fn run_campaign(&self, cookie: &str, name: &str, recipients: &[String]) -> i64 {
        let created = self
            .client
            .post(format!("{}/api/create_campaign", self.public_url()))
            .header(header::COOKIE, cookie)
            .json(&json!({
                "name": name,
                "channel": "sms",
                "audience": recipients.join("\n"),
                "body": "Hello",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::OK);
        let id: i64 = created.json().await.unwrap();
        let run = self
            .call("run_campaign", Some(cookie), &[("id", &id.to_string())])
            .await;
        assert_eq!(run.status(), StatusCode::OK);
        id
    }

    pub async fn campaign_status(&self, id: i64) -> String {
        sqlx::query_scalar("SELECT status FROM campaigns WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// Waits (up to `limit`) until the campaign has completed.
    pub async fn wait_until_completed(&self, id: i64, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.campaign_status(id).await != "completed" {
            assert!(
                tokio::time::Instant::now() < deadline,
                "campaign {id} did not complete in {limit:?}: {:?}",
                self.states().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// How many messages are in each state.
    pub async fn states(&self) -> Vec<(String, i64)> {
        sqlx::query_as(
            "SELECT state, COUNT(*) FROM outbound_messages GROUP BY state ORDER BY state",
        )
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }

    pub async fn count_in(&self, state: &str) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM outbound_messages WHERE state = $1")
            .bind(state)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// Every recipient got exactly one message.
    pub fn assert_each_messaged_once(&self, recipients: usize) {
        let sent = self.twilio.messages_per_recipient();
        assert_eq!(sent.len(), recipients, "nobody forgotten");
        let twice: Vec<_> = sent.iter().filter(|(_, n)| **n != 1).collect();
        assert!(twice.is_empty(), "messaged more than once: {twice:?}");
    }
}

/// `count` distinct valid US numbers.
pub fn many_numbers(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("+1415{:03}{:04}", 200 + i / 10_000, i % 10_000))
        .collect()
}
