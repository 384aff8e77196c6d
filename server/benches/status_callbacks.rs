//! How many status callbacks per second Outreach verifies and stores: the
//! real router on a real socket and SQLite file, callbacks signed as Twilio
//! signs them, posted over HTTP by 32 concurrent clients (on the same
//! machine, so the number is conservative).
//!
//! `cargo bench -p server --bench status_callbacks [-- <callbacks>]`

use std::{sync::Arc, time::Instant};

use base64::{Engine, engine::general_purpose::STANDARD};
use domain::{
    crypto::Keyring,
    delivery::signature::twilio_signature,
    organisations::{self, OrganisationName},
    users::{self, EmailAddress, Role},
};
use server::{config::Config, startup::Application};
use twilio_simulator::Simulator;

const PASSWORD: &str = "benchmark password";

#[tokio::main]
async fn main() {
    let count: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
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
    let saved = client
        .post(format!("{address}/api/save_twilio_integration"))
        .header("cookie", &cookie)
        .form(&[
            ("section", "everything"),
            ("account_sid", account.sid.as_str()),
            ("auth_token", account.auth_token.as_str()),
            ("messaging_service_sid", service.sid.as_str()),
            ("version", "0"),
        ])
        .send()
        .await
        .unwrap();
    assert!(saved.status().is_success());

    // Messages Twilio has accepted, waiting for their `delivered` callbacks.
    // (Completed rather than running, so the sending engine leaves them be.)
    sqlx::query(
        "INSERT INTO campaigns (id, organisation_id, name, channel, body, status, created_by, created_at, estimated_segments)
         VALUES (1, $1, 'Bench', 'sms', 'Hello', 'completed', 'bench', 0, 0)",
    )
    .bind(organisation.id)
    .execute(&pool)
    .await
    .unwrap();
    let sids: Vec<String> = (0..count).map(|i| format!("SM{i:032x}")).collect();
    let mut tx = pool.begin().await.unwrap();
    for (i, sid) in sids.iter().enumerate() {
        sqlx::query(
            "INSERT INTO outbound_messages (campaign_id, phone, body, state, twilio_sid, twilio_status, status_rank, created_at, updated_at)
             VALUES (1, $1, 'Hello', 'sent', $2, 'sent', 4, 0, $3)",
        )
        .bind(format!("+4479{i:09}"))
        .bind(sid)
        .bind(domain::clock::now())
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    let hook = format!(
        "{address}/webhooks/twilio/status/{}",
        organisation.public_id
    );
    let requests: Vec<(Vec<(String, String)>, String)> = sids
        .iter()
        .map(|sid| {
            let params: Vec<(String, String)> = [
                ("AccountSid", account.sid.as_str()),
                ("ApiVersion", "2010-04-01"),
                ("From", "+15005550006"),
                ("MessageSid", sid),
                ("MessageStatus", "delivered"),
                ("MessagingServiceSid", service.sid.as_str()),
                ("SmsSid", sid),
                ("SmsStatus", "delivered"),
                ("To", "+447900000000"),
            ]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
            let signature = twilio_signature(account.auth_token.as_bytes(), &hook, &params);
            (params, signature)
        })
        .collect();
    let queue = Arc::new(std::sync::Mutex::new(requests));

    let started = Instant::now();
    let workers: Vec<_> = (0..32)
        .map(|_| {
            let queue = queue.clone();
            let client = client.clone();
            let hook = hook.clone();
            tokio::spawn(async move {
                loop {
                    let Some((params, signature)) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    let answer = client
                        .post(&hook)
                        .header("X-Twilio-Signature", signature)
                        .form(&params)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(answer.status(), 200);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let elapsed = started.elapsed();

    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM delivery_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    let delivered: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbound_messages WHERE state = 'delivered'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((stored, delivered), (count as i64, count as i64));
    println!(
        "{count} status callbacks verified, stored and applied in {:.2} s: {:.0} callbacks/s (32 concurrent clients)",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64()
    );
}
