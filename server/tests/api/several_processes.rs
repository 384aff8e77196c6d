//! Several `outreach serve` processes on one PostgreSQL database: one web
//! process and two workers, as an operator runs them behind a proxy. These
//! need PostgreSQL (`scripts/with-postgres.sh`); on SQLite they check that
//! the roles are refused instead.

use std::{collections::BTreeMap, time::Duration};

use domain::db::{Backend, testing};

use crate::processes::{Installation, free_port, many_numbers};

/// The run's database is PostgreSQL; otherwise says why the test stops.
fn on_postgres(test: &str) -> bool {
    let postgres = testing::backend() == Backend::Postgres;
    if !postgres {
        eprintln!("{test}: runs against PostgreSQL only (scripts/with-postgres.sh)");
    }
    postgres
}

/// CPU seconds a process has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

#[tokio::test]
async fn two_workers_send_a_20000_recipient_campaign_once_each_within_one_shared_rate() {
    if !on_postgres("two_workers_send_…") {
        return;
    }
    const RECIPIENTS: usize = 20_000;
    // Per organisation, for all processes together; each worker alone
    // could go faster, so two that did not share it would show.
    const RATE: usize = 250;
    let database = testing::scratch_database().await;
    let mut installation = Installation::new(&database.url).await;
    installation.env = vec![
        ("OUTREACH_SEND_RATE".into(), RATE.to_string()),
        ("OUTREACH_SEND_CONCURRENCY".into(), "32".into()),
    ];
    let _web = installation.start("web", installation.public_port).await;
    let workers = [
        installation.start("worker", free_port()).await,
        installation.start("worker", free_port()).await,
    ];
    let cookie = installation.configured_organisation().await;
    let recipients = many_numbers(RECIPIENTS);

    let id = installation
        .run_campaign(&cookie, "Twenty thousand", &recipients)
        .await;
    installation
        .wait_until_completed(id, Duration::from_secs(600))
        .await;

    installation.assert_each_messaged_once(RECIPIENTS);
    // Sends per second, as the simulated Twilio received them: a bucket
    // of RATE a second saves up one second's worth, so no second holds
    // more than twice RATE, and the whole takes (N - RATE) / RATE seconds
    // at least.
    let mut per_second: BTreeMap<i64, usize> = BTreeMap::new();
    for message in installation.twilio.messages() {
        *per_second.entry(message.created_at).or_default() += 1;
    }
    let busiest = per_second.values().copied().max().unwrap();
    let first = *per_second.keys().next().unwrap();
    let last = *per_second.keys().next_back().unwrap();
    let seconds = (last - first + 1) as f64;
    let fastest = (RECIPIENTS - RATE) as f64 / RATE as f64;
    eprintln!(
        "{RECIPIENTS} messages in {seconds} s ({:.0}/s, busiest second {busiest}) at a rate of {RATE}/s",
        RECIPIENTS as f64 / seconds
    );
    assert!(
        busiest <= 2 * RATE + RATE / 10,
        "{busiest} sends in one second"
    );
    assert!(
        seconds >= 0.95 * fastest,
        "{seconds} s is faster than {RATE}/s"
    );
    // Both workers sent: each used a share of the CPU the sending took.
    let used: Vec<f64> = workers
        .iter()
        .map(|worker| cpu_seconds(worker.id().unwrap()))
        .collect();
    eprintln!("the workers' CPU seconds: {used:?}");
    assert!(
        used[0] > used[1] / 4.0 && used[1] > used[0] / 4.0,
        "one worker did the sending alone: {used:?}"
    );
    assert_eq!(installation.count_in("delivered").await, RECIPIENTS as i64);
}

#[tokio::test]
async fn a_worker_killed_mid_campaign_leaves_its_work_to_the_other_and_nobody_is_messaged_twice() {
    if !on_postgres("a_worker_killed_…") {
        return;
    }
    const RECIPIENTS: usize = 3_000;
    let database = testing::scratch_database().await;
    let mut installation = Installation::new(&database.url).await;
    installation.env = vec![("OUTREACH_SEND_RATE".into(), "400".into())];
    let _web = installation.start("web", installation.public_port).await;
    let mut doomed = installation.start("worker", free_port()).await;
    let _survivor = installation.start("worker", free_port()).await;
    let cookie = installation.configured_organisation().await;
    let recipients = many_numbers(RECIPIENTS);

    let id = installation
        .run_campaign(&cookie, "Killed worker", &recipients)
        .await;
    while installation.twilio.messages().len() < RECIPIENTS / 3 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Without warning: its claimed messages keep their leases and any
    // lease on shared work it held runs out.
    doomed.start_kill().unwrap();
    doomed.wait().await.unwrap();
    assert!(
        installation.twilio.messages().len() < RECIPIENTS,
        "the kill came before the end"
    );

    installation
        .wait_until_completed(id, Duration::from_secs(180))
        .await;
    installation.assert_each_messaged_once(RECIPIENTS);
    assert_eq!(installation.count_in("delivered").await, RECIPIENTS as i64);
}

#[tokio::test]
async fn status_callbacks_missed_while_the_web_process_was_down_are_recovered_by_reconciliation() {
    if !on_postgres("status_callbacks_missed_…") {
        return;
    }
    const RECIPIENTS: usize = 1_000;
    let database = testing::scratch_database().await;
    let mut installation = Installation::new(&database.url).await;
    installation.env = vec![("OUTREACH_SEND_RATE".into(), "200".into())];
    let mut web = installation.start("web", installation.public_port).await;
    let _worker = installation.start("worker", free_port()).await;
    let cookie = installation.configured_organisation().await;
    let recipients = many_numbers(RECIPIENTS);

    let id = installation
        .run_campaign(&cookie, "Web restarted", &recipients)
        .await;
    while installation.twilio.messages().len() < RECIPIENTS / 4 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    web.start_kill().unwrap();
    web.wait().await.unwrap();
    // The worker sends on; Twilio's callbacks find nobody.
    let unanswered = || {
        installation
            .twilio
            .posted_callbacks()
            .iter()
            .filter(|callback| callback.answer.is_none())
            .count()
    };
    while unanswered() < 100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _web = installation.start("web", installation.public_port).await;

    installation
        .wait_until_completed(id, Duration::from_secs(120))
        .await;
    // Messages whose callbacks were lost are looked up at Twilio.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while installation.count_in("delivered").await < RECIPIENTS as i64 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "updates were lost: {:?}",
            installation.states().await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    installation.assert_each_messaged_once(RECIPIENTS);
}

#[tokio::test]
async fn db_copy_moves_an_installation_from_sqlite_to_an_empty_postgres_database() {
    if !on_postgres("db_copy_moves_…") {
        return;
    }
    // An installation that has been used: a campaign sent and delivered.
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}/outreach.db?mode=rwc", dir.path().display());
    let mut installation = Installation::new(&sqlite).await;
    let mut old = installation.start("all", installation.public_port).await;
    let cookie = installation.configured_organisation().await;
    let id = installation
        .run_campaign(&cookie, "Before the move", &many_numbers(50))
        .await;
    installation
        .wait_until_completed(id, Duration::from_secs(60))
        .await;
    let target = testing::scratch_database().await;
    let copy = |to: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_outreach"))
            .args(["db", "copy", "--from", &sqlite, "--to", to])
            .output()
            .unwrap()
    };

    // Not while a server uses the file.
    let refused = copy(&target.url);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("stop it before copying"), "{message}");
    old.start_kill().unwrap();
    old.wait().await.unwrap();

    let copied = copy(&target.url);
    let report = String::from_utf8_lossy(&copied.stdout);
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    assert!(
        report.contains("every table's row count matches"),
        "{report}"
    );
    assert!(report.contains("50  outbound_messages"), "{report}");

    // The same people, settings and campaign on PostgreSQL, and new rows
    // continue after the copied ids.
    installation.database_url = target.url.clone();
    installation.pool = domain::db::connect(&target.url).await.unwrap();
    let moved = &installation;
    let _new = moved.start("all", moved.public_port).await;
    assert_eq!(moved.campaign_status(id).await, "completed");
    assert_eq!(moved.count_in("delivered").await, 50);
    let signed_in = moved
        .call(
            "sign_in",
            None,
            &[
                ("email", "alice@acme.test"),
                ("password", crate::helpers::PASSWORD),
            ],
        )
        .await;
    let cookie = crate::helpers::session_cookie(&signed_in).expect("signed in after the move");
    let checked = moved.call("check_twilio_now", Some(&cookie), &[]).await;
    assert_eq!(
        checked.status(),
        reqwest::StatusCode::OK,
        "the copied Auth Token decrypts: {}",
        checked.text().await.unwrap()
    );
    let again = moved
        .run_campaign(&cookie, "After the move", &many_numbers(5))
        .await;
    assert!(again > id);
    moved
        .wait_until_completed(again, Duration::from_secs(60))
        .await;

    // A second copy into the now used database is refused.
    let refused = copy(&target.url);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("not empty"), "{message}");
}
