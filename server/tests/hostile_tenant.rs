//! One organisation's campaigner sends the largest payloads each route
//! accepts (and larger ones) to the real `outreach` process, while another
//! organisation's campaign is sending. The other organisation must not
//! notice: its campaign keeps sending, its pages answer within a second,
//! and the server's peak memory stays under 300 MB.
//!
//! It needs the release binary (a million phone numbers take minutes to
//! read in a debug build): `make test` runs it after the release build,
//! with `OUTREACH_BIN=target/release/outreach`.

use std::{
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use domain::{
    limits,
    organisations::{OrganisationName, insert_organisation},
    users::{EmailAddress, Role, insert_user},
};
use reqwest::{StatusCode, header};
use serde_json::json;
use twilio_simulator::Simulator;

const PASSWORD: &str = "hostile tenant test password";
const MASTER_KEY: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
/// The victim's pace: its campaign must keep to it under attack.
const SEND_RATE: u32 = 20;

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The most memory the process has held (`VmHWM`), in MiB.
    fn peak_mib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the process's status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .expect("VmHWM")
            / 1024
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn post_form(
    client: &reqwest::Client,
    url: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = client.post(url).form(form);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.send().await.unwrap()
}

async fn sign_in(client: &reqwest::Client, base: &str, email: &str) -> String {
    let response = post_form(
        client,
        &format!("{base}/api/sign_in"),
        None,
        &[("email", email), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK, "sign-in of {email}");
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("outreach_session="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned()
}

/// The largest audience the routes accept: a million recipients (UK mobile
/// numbers), each with a name long enough to bring it near the size limit.
fn largest_audience() -> String {
    let padding = "x".repeat(9);
    let mut text = String::with_capacity(limits::MAX_AUDIENCE_BYTES);
    text.push_str("phone,first_name\n");
    for i in 0..limits::MAX_RECIPIENTS {
        text.push_str(&format!("+447400{i:06},Voter{padding}\n"));
    }
    assert!(text.len() <= limits::MAX_AUDIENCE_BYTES, "{}", text.len());
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the release binary: make test runs it after the release build"]
async fn one_tenant_sending_the_largest_payloads_does_not_hurt_another() {
    let binary =
        std::env::var("OUTREACH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_outreach").to_owned());
    let dir = tempfile::tempdir().unwrap();
    let database = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("outreach.db").display()
    );

    // Two organisations on one server, one Twilio account each.
    let twilio = Simulator::new();
    let victim_account = twilio.add_account("Full");
    let victim_service = twilio.add_service(&victim_account.sid, &["+15005550006"]);
    let attacker_account = twilio.add_account("Full");
    let attacker_service = twilio.add_service(&attacker_account.sid, &["+15005550007"]);
    let simulator = twilio.start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let victim_public_id = {
        let pool = domain::db::connect(&database).await.unwrap();
        let mut public_ids = Vec::new();
        for (name, email) in [
            ("Victim", "vera@victim.test"),
            ("Attacker", "mallory@attacker.test"),
        ] {
            let organisation =
                insert_organisation(&pool, &OrganisationName::parse(name).unwrap(), true, 0)
                    .await
                    .unwrap();
            let email = EmailAddress::parse(email).unwrap();
            insert_user(
                &pool,
                organisation.id,
                &email,
                Role::OrgAdmin,
                PASSWORD.into(),
                0,
            )
            .await
            .unwrap();
            public_ids.push(organisation.public_id);
        }
        pool.close().await;
        public_ids.swap_remove(0)
    };
    let port = free_port();
    let server = Server {
        child: Command::new(&binary)
            .arg("serve")
            .env("OUTREACH_DATABASE_URL", &database)
            .env("OUTREACH_MASTER_KEY", MASTER_KEY)
            .env("TWILIO_API_BASE_URL", &simulator.url)
            .env("TWILIO_MESSAGING_BASE_URL", &simulator.url)
            .env("OUTREACH_SEND_RATE", SEND_RATE.to_string())
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env(
                "RUST_LOG",
                std::env::var("HOSTILE_RUST_LOG").unwrap_or_else(|_| "error".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("outreach starts"),
        url: format!("http://127.0.0.1:{port}"),
    };
    let base = server.url.clone();
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "outreach never answered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let victim = sign_in(&client, &base, "vera@victim.test").await;
    let attacker = sign_in(&client, &base, "mallory@attacker.test").await;
    for (cookie, account, service) in [
        (&victim, &victim_account, &victim_service),
        (&attacker, &attacker_account, &attacker_service),
    ] {
        let saved = post_form(
            &client,
            &format!("{base}/api/save_twilio_integration"),
            Some(cookie),
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
    }
    // The victim's campaign: long enough to outlast the attack.
    let audience: String = (0..4000).map(|i| format!("+1415555{:04}\n", i)).collect();
    let created = client
        .post(format!("{base}/api/create_campaign"))
        .header(header::COOKIE, &victim)
        .json(&json!({ "name": "Victim appeal", "channel": "sms", "audience": format!("phone\n{audience}"), "body": "Polls close at 8pm." }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::OK);
    let campaign: i64 = created.json().await.unwrap();
    let run = post_form(
        &client,
        &format!("{base}/api/run_campaign"),
        Some(&victim),
        &[("id", &campaign.to_string())],
    )
    .await;
    assert_eq!(run.status(), StatusCode::OK);
    let victim_sent = |twilio: &Simulator| {
        twilio
            .messages()
            .iter()
            .filter(|m| m.account_sid == victim_account.sid)
            .count()
    };
    while victim_sent(&twilio) < 10 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The attacker's largest bodies, made before anything is timed: making
    // 30 MB of JSON in this (debug) test process takes seconds of CPU.
    let largest = largest_audience();
    let preview_body = json!({ "audience": largest.as_str() }).to_string();
    let create_body = json!({ "name": "Huge", "channel": "sms", "audience": largest.as_str(), "body": "Hello {first_name}, polls close at 8pm." }).to_string();
    drop(largest);

    // The victim watches its pages and its campaign's progress from a
    // thread and runtime of its own, so that what it measures is the
    // server, never this process's attack tasks.
    let attacking = Arc::new(AtomicBool::new(true));
    let watcher = {
        let (base, victim, twilio, attacking) = (
            base.clone(),
            victim.clone(),
            twilio.clone(),
            attacking.clone(),
        );
        let victim_sid = victim_account.sid.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let client = reqwest::Client::new();
                let watching = Instant::now();
                let mut slowest = (Duration::ZERO, String::new());
                let mut longest_stall = Duration::ZERO;
                let (mut last_count, mut last_progress) = (0, Instant::now());
                while attacking.load(Ordering::SeqCst) {
                    for path in [
                        format!("/outreach/campaigns/{campaign}"),
                        "/outreach/campaigns".to_owned(),
                    ] {
                        let asked = Instant::now();
                        let page = client
                            .get(format!("{base}{path}"))
                            .header(header::COOKIE, &victim)
                            .timeout(Duration::from_secs(10))
                            .send()
                            .await
                            .expect("the victim's page answers");
                        assert_eq!(page.status(), StatusCode::OK, "{path}");
                        page.bytes().await.expect("the victim's page arrives");
                        if asked.elapsed() > slowest.0 {
                            slowest = (
                                asked.elapsed(),
                                format!("{path}, {:?} into the attack", asked - watching),
                            );
                        }
                    }
                    let count = twilio
                        .messages()
                        .iter()
                        .filter(|m| m.account_sid == victim_sid)
                        .count();
                    if count > last_count {
                        (last_count, last_progress) = (count, Instant::now());
                    }
                    longest_stall = longest_stall.max(last_progress.elapsed());
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                (slowest, longest_stall)
            })
        })
    };

    // The attack, all at once.
    let attack_started = Instant::now();
    let sent_before = victim_sent(&twilio);
    let heavy = {
        let (client, base, attacker) = (client.clone(), base.clone(), attacker.clone());
        tokio::spawn(async move {
            let preview = client
                .post(format!("{base}/api/preview_audience"))
                .header(header::COOKIE, &attacker)
                .header(header::CONTENT_TYPE, "application/json")
                .body(preview_body)
                .timeout(Duration::from_secs(300))
                .send()
                .await
                .unwrap();
            assert_eq!(
                preview.status(),
                StatusCode::OK,
                "the largest audience is accepted"
            );
            let preview: serde_json::Value = preview.json().await.unwrap();
            assert_eq!(preview["recipients"], limits::MAX_RECIPIENTS, "{preview}");
            let created = client
                .post(format!("{base}/api/create_campaign"))
                .header(header::COOKIE, &attacker)
                .header(header::CONTENT_TYPE, "application/json")
                .body(create_body)
                .timeout(Duration::from_secs(300))
                .send()
                .await
                .unwrap();
            assert_eq!(
                created.status(),
                StatusCode::OK,
                "a million-recipient campaign is created"
            );
        })
    };
    let oversized = {
        // Its own client: a refused body closes the connection, which a
        // shared pool might otherwise hand to the next request.
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let (base, attacker) = (base.clone(), attacker.clone());
        tokio::spawn(async move {
            let mut answers = Vec::new();
            for (path, bytes) in [
                ("/api/preview_audience", limits::AUDIENCE_REQUEST_BYTES + 1),
                ("/api/create_campaign", limits::AUDIENCE_REQUEST_BYTES * 2),
                (
                    "/api/save_twilio_integration",
                    limits::OTHER_REQUEST_BYTES + 1,
                ),
            ] {
                let answer = client
                    .post(format!("{base}{path}"))
                    .header(header::COOKIE, &attacker)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(vec![b' '; bytes])
                    .send()
                    .await;
                answers.push(answer.map(|r| r.status()).ok());
            }
            answers
        })
    };
    let renders = {
        let (client, base, attacker) = (client.clone(), base.clone(), attacker.clone());
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            for _ in 0..20 {
                let answer = client
                    .post(format!("{base}/api/preview_message"))
                    .header(header::COOKIE, &attacker)
                    .json(&json!({ "body": "{a}".repeat(50_000), "sample": { "a": "y".repeat(50_000) } }))
                    .send()
                    .await
                    .unwrap();
                statuses.push(answer.status());
                let largest_accepted = client
                    .post(format!("{base}/api/preview_message"))
                    .header(header::COOKIE, &attacker)
                    .json(&json!({ "body": "{a}".repeat(533), "sample": { "a": "y".repeat(3) } }))
                    .send()
                    .await
                    .unwrap();
                statuses.push(largest_accepted.status());
            }
            statuses
        })
    };
    let floods = {
        let (client, base, public_id) = (client.clone(), base.clone(), victim_public_id.clone());
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            for round in 0..10 {
                let mut batch = Vec::new();
                for i in 0..10 {
                    let client = client.clone();
                    let base = base.clone();
                    let public_id = public_id.clone();
                    batch.push(tokio::spawn(async move {
                        // Half too long to look at, half real guesses (Argon2).
                        let email = if i % 2 == 0 {
                            format!("{}{round}-{i}@victim.test", "a".repeat(300))
                        } else {
                            "vera@victim.test".to_owned()
                        };
                        let password = "p".repeat(limits::MAX_PASSWORD_CHARS);
                        let sign_in = post_form(
                            &client,
                            &format!("{base}/api/sign_in"),
                            None,
                            &[("email", &email), ("password", &password)],
                        )
                        .await
                        .status();
                        let webhook = client
                            .post(format!("{base}/webhooks/twilio/status/{public_id}"))
                            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                            .body(vec![b'a'; limits::WEBHOOK_REQUEST_BYTES])
                            .send()
                            .await
                            .unwrap()
                            .status();
                        (sign_in, webhook)
                    }));
                }
                for task in batch {
                    statuses.push(task.await.unwrap());
                }
            }
            statuses
        })
    };

    heavy.await.unwrap();
    let oversized = oversized.await.unwrap();
    let renders = renders.await.unwrap();
    let floods = floods.await.unwrap();
    let attack = attack_started.elapsed();
    attacking.store(false, Ordering::SeqCst);
    let ((slowest_page, slowest_at), longest_stall) = watcher.join().unwrap();
    let sent_during = victim_sent(&twilio) - sent_before;
    let peak = server.peak_mib();
    eprintln!(
        "attack lasted {attack:?}; the victim sent {sent_during} messages meanwhile (pace {SEND_RATE}/s), slowest page {slowest_page:?} ({slowest_at}), longest stall {longest_stall:?}; outreach peak memory {peak} MiB"
    );

    for status in oversized.into_iter().flatten() {
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    }
    assert!(
        renders
            .iter()
            .step_by(2)
            .all(|s| *s == StatusCode::UNPROCESSABLE_ENTITY)
    );
    assert!(
        renders
            .iter()
            .skip(1)
            .step_by(2)
            .all(|s| *s == StatusCode::OK)
    );
    for (sign_in, webhook) in floods {
        assert!(
            matches!(
                sign_in,
                StatusCode::UNPROCESSABLE_ENTITY
                    | StatusCode::UNAUTHORIZED
                    | StatusCode::TOO_MANY_REQUESTS
            ),
            "{sign_in}"
        );
        assert!(
            matches!(
                webhook,
                StatusCode::NOT_FOUND | StatusCode::FORBIDDEN | StatusCode::BAD_REQUEST
            ),
            "{webhook}"
        );
    }
    assert!(
        slowest_page < Duration::from_secs(1),
        "a victim's page took {slowest_page:?} ({slowest_at})"
    );
    assert!(
        longest_stall < Duration::from_secs(3),
        "the victim's sending stalled for {longest_stall:?}"
    );
    assert!(
        sent_during as f64 >= attack.as_secs_f64() * f64::from(SEND_RATE) * 0.5,
        "the victim sent only {sent_during} messages in {attack:?}"
    );
    assert!(peak < 300, "outreach peaked at {peak} MiB");
}
