//! What the benchmarks share: the real application on a socket, a fresh
//! SQLite file, the Twilio simulator over HTTP, and an Org Admin signed in.
// Each benchmark is its own crate and uses part of this.
#![allow(dead_code)]

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::STANDARD};
use domain::{
    crypto::Keyring,
    organisations::{self, Organisation, OrganisationName},
    users::{self, EmailAddress, Role},
};
use server::{config::Config, startup::Application};
use twilio_simulator::{SimAccount, SimService, Simulator};

const PASSWORD: &str = "benchmark password";

pub struct Bench {
    pub address: String,
    pub pool: domain::db::Pool,
    pub client: reqwest::Client,
    pub cookie: String,
    pub organisation: Organisation,
    pub twilio: Simulator,
    pub account: SimAccount,
    pub service: SimService,
    /// Serving while the benchmark runs.
    _simulator: twilio_simulator::RunningSimulator,
    _dir: tempfile::TempDir,
}

/// Starts everything and signs the Org Admin in (no Twilio settings yet).
pub async fn start() -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    let pool = domain::db::connect(&url).await.unwrap();
    let twilio = Simulator::new();
    let account = twilio.add_account("Full");
    let service = twilio.add_service(&account.sid, &["+15005550006"]);
    let simulator = twilio.start("127.0.0.1:0".parse().unwrap()).await.unwrap();

    let mut config = Config::for_database(url);
    config.twilio.api_base_url = Some(simulator.url.clone());
    config.twilio.messaging_base_url = Some(simulator.url.clone());
    let keyring = Keyring::from_base64_key(&STANDARD.encode([5u8; 32]), "bench").unwrap();
    let application = Application::build(config, pool.clone(), Arc::new(keyring))
        .await
        .unwrap();
    let address = format!("http://{}", application.local_addr());
    tokio::spawn(application.run_until_stopped());

    let organisation = organisations::insert_organisation(
        &pool,
        &OrganisationName::parse("Bench").unwrap(),
        true,
        domain::clock::now(),
    )
    .await
    .unwrap();
    users::insert_user(
        &pool,
        organisation.id,
        &EmailAddress::parse("bench@bench.test").unwrap(),
        Role::OrgAdmin,
        PASSWORD.into(),
        domain::clock::now(),
    )
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let signed_in = client
        .post(format!("{address}/api/sign_in"))
        .form(&[("email", "bench@bench.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    Bench {
        address,
        pool,
        client,
        cookie,
        organisation,
        twilio,
        account,
        service,
        _simulator: simulator,
        _dir: dir,
    }
}

impl Bench {
    /// Saves the simulator's credentials through the server function, as
    /// the SMS settings page does; returns the HTTP status and the answer.
    pub async fn save_settings(&self, version: i64) -> (reqwest::StatusCode, String) {
        let version = version.to_string();
        let answer = self
            .client
            .post(format!("{}/api/save_twilio_integration", self.address))
            .header("cookie", &self.cookie)
            .form(&[
                ("section", "everything"),
                ("account_sid", self.account.sid.as_str()),
                ("auth_token", self.account.auth_token.as_str()),
                ("messaging_service_sid", self.service.sid.as_str()),
                ("version", version.as_str()),
            ])
            .send()
            .await
            .unwrap();
        (answer.status(), answer.text().await.unwrap())
    }
}
