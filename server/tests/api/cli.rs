//! The `outreach` binary itself, as an operator runs it.

use std::process::Output;

use domain::{
    organisations::{OrganisationName, SubscriptionState, fetch_organisation_by_name},
    sign_in::sign_in,
};

use crate::helpers::PASSWORD;

struct Cli {
    database: domain::db::testing::ScratchDatabase,
}

impl Cli {
    /// On a scratch database of the run's kind (SQLite or PostgreSQL).
    fn new() -> Self {
        // Usable from plain and from async tests: the database is made on
        // a thread and runtime of its own.
        let database = std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(domain::db::testing::scratch_database())
        })
        .join()
        .unwrap();
        Self { database }
    }

    fn database_url(&self) -> String {
        self.database.url.clone()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with_password(args, Some(PASSWORD))
    }

    fn run_with_password(&self, args: &[&str], password: Option<&str>) -> Output {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_outreach"));
        command
            .args(args)
            .env("OUTREACH_DATABASE_URL", self.database_url())
            .env_remove("OUTREACH_PASSWORD")
            .stdin(std::process::Stdio::null());
        if let Some(password) = password {
            command.env("OUTREACH_PASSWORD", password);
        }
        command.output().expect("outreach runs")
    }

    async fn pool(&self) -> domain::db::Pool {
        domain::db::connect(&self.database_url()).await.unwrap()
    }
}

fn succeeded(output: &Output) -> bool {
    output.status.success()
}

/// A clear error is one line on stderr and a non-zero exit.
fn one_line_error(output: &Output) -> String {
    assert!(!output.status.success(), "expected a failure");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    lines[0].to_owned()
}

#[tokio::test]
async fn an_operator_creates_an_organisation_and_a_user_who_can_then_sign_in() {
    let cli = Cli::new();

    let org = cli.run(&[
        "org",
        "create",
        "--name",
        "Acme",
        "--subscription",
        "active",
    ]);
    let user = cli.run(&[
        "user",
        "create",
        "--org",
        "Acme",
        "--email",
        "alice@acme.test",
        "--role",
        "org-admin",
    ]);

    assert!(succeeded(&org), "{}", String::from_utf8_lossy(&org.stderr));
    assert!(
        succeeded(&user),
        "{}",
        String::from_utf8_lossy(&user.stderr)
    );
    let pool = cli.pool().await;
    assert!(
        sign_in(
            &pool,
            "alice@acme.test",
            PASSWORD.into(),
            "127.0.0.1",
            None,
            1
        )
        .await
        .is_ok()
    );
}

#[tokio::test]
async fn a_second_organisation_with_the_same_name_is_a_one_line_error() {
    let cli = Cli::new();
    assert!(succeeded(&cli.run(&["org", "create", "--name", "Acme"])));

    let again = cli.run(&["org", "create", "--name", "acme"]);

    assert_eq!(
        one_line_error(&again),
        r#"error: an organisation named "acme" already exists"#
    );
}

#[tokio::test]
async fn granting_a_subscription_makes_it_active() {
    let cli = Cli::new();
    assert!(succeeded(&cli.run(&["org", "create", "--name", "Acme"])));

    let output = cli.run(&["org", "subscription", "Acme", "active"]);

    assert!(succeeded(&output));
    let pool = cli.pool().await;
    let acme = fetch_organisation_by_name(&pool, &OrganisationName::parse("Acme").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(acme.subscription, SubscriptionState::Active);
}

#[tokio::test]
async fn commands_naming_an_unknown_organisation_fail_clearly() {
    let cli = Cli::new();

    let subscription = cli.run(&["org", "subscription", "Nowhere", "active"]);
    let user = cli.run(&[
        "user",
        "create",
        "--org",
        "Nowhere",
        "--email",
        "a@b.test",
        "--role",
        "campaigner",
    ]);

    assert_eq!(
        one_line_error(&subscription),
        r#"error: no organisation is named "Nowhere""#
    );
    assert_eq!(
        one_line_error(&user),
        r#"error: no organisation is named "Nowhere""#
    );
}

#[tokio::test]
async fn a_duplicate_email_a_weak_password_or_a_bad_email_is_refused() {
    let cli = Cli::new();
    assert!(succeeded(&cli.run(&["org", "create", "--name", "Acme"])));
    let create = [
        "user",
        "create",
        "--org",
        "Acme",
        "--email",
        "alice@acme.test",
        "--role",
        "campaigner",
    ];
    assert!(succeeded(&cli.run(&create)));

    let duplicate = cli.run(&create);
    let weak = cli.run_with_password(
        &[
            "user",
            "create",
            "--org",
            "Acme",
            "--email",
            "bob@acme.test",
            "--role",
            "campaigner",
        ],
        Some("short"),
    );
    let bad_email = cli.run(&[
        "user",
        "create",
        "--org",
        "Acme",
        "--email",
        "bob",
        "--role",
        "campaigner",
    ]);

    assert_eq!(
        one_line_error(&duplicate),
        "error: a user with the email alice@acme.test already exists"
    );
    assert_eq!(
        one_line_error(&weak),
        "error: the password must be at least 12 characters long"
    );
    assert_eq!(
        one_line_error(&bad_email),
        r#"error: "bob" is not an email address"#
    );
}

#[tokio::test]
async fn without_a_terminal_or_outreach_password_no_user_is_created() {
    let cli = Cli::new();
    assert!(succeeded(&cli.run(&["org", "create", "--name", "Acme"])));

    let output = cli.run_with_password(
        &[
            "user",
            "create",
            "--org",
            "Acme",
            "--email",
            "alice@acme.test",
            "--role",
            "campaigner",
        ],
        None,
    );

    assert_eq!(
        one_line_error(&output),
        "error: no password given: set OUTREACH_PASSWORD or run this in a terminal"
    );
}

#[test]
fn every_command_has_help() {
    let cli = Cli::new();
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["org", "--help"],
        &["org", "create", "--help"],
        &["org", "subscription", "--help"],
        &["user", "--help"],
        &["user", "create", "--help"],
    ] {
        let output = cli.run(args);
        assert!(succeeded(&output), "{args:?}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("Usage: outreach"),
            "{args:?}"
        );
    }
}

#[tokio::test]
async fn an_organisation_reads_local_numbers_in_its_default_country() {
    let cli = Cli::new();

    let bad = cli.run(&[
        "org",
        "create",
        "--name",
        "Acme",
        "--default-country",
        "Narnia",
    ]);
    let good = cli.run(&["org", "create", "--name", "Acme", "--default-country", "gb"]);

    assert_eq!(
        one_line_error(&bad),
        r#"error: "Narnia" is not a country code such as GB or US"#
    );
    assert!(succeeded(&good));
    let pool = cli.pool().await;
    let acme = fetch_organisation_by_name(&pool, &OrganisationName::parse("Acme").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(acme.default_country, "GB");
}

/// Signs Alice in directly, as the web app would; `Some` when it worked.
async fn session_of_alice(
    pool: &domain::db::Pool,
    password: &str,
    now: i64,
) -> Option<domain::sign_in::SessionToken> {
    sign_in(
        pool,
        "alice@acme.test",
        password.into(),
        "127.0.0.1",
        None,
        now,
    )
    .await
    .ok()
}

async fn still_signed_in(
    pool: &domain::db::Pool,
    token: &domain::sign_in::SessionToken,
    now: i64,
) -> bool {
    domain::sign_in::fetch_session_user(pool, token, 3600, now)
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn an_operator_revokes_access_with_new_passwords_disabling_ending_sessions_and_deleting() {
    let cli = Cli::new();
    assert!(succeeded(&cli.run(&[
        "org",
        "create",
        "--name",
        "Acme",
        "--subscription",
        "active"
    ])));
    assert!(succeeded(&cli.run(&[
        "user",
        "create",
        "--org",
        "Acme",
        "--email",
        "alice@acme.test",
        "--role",
        "campaigner"
    ])));
    let pool = cli.pool().await;
    let now = domain::clock::now();

    // A new password ends her sessions, and only the new one works.
    let session = session_of_alice(&pool, PASSWORD, now).await.unwrap();
    let new_password = "an entirely new passphrase";
    let set = cli.run_with_password(
        &["user", "set-password", "alice@acme.test"],
        Some(new_password),
    );
    assert!(succeeded(&set), "{}", String::from_utf8_lossy(&set.stderr));
    assert!(!still_signed_in(&pool, &session, now).await);
    assert!(session_of_alice(&pool, PASSWORD, now).await.is_none());
    let session = session_of_alice(&pool, new_password, now).await.unwrap();

    // Ending her sessions signs her out everywhere; she can sign in again.
    assert!(succeeded(&cli.run(&[
        "user",
        "sessions",
        "end",
        "alice@acme.test"
    ])));
    assert!(!still_signed_in(&pool, &session, now).await);
    let session = session_of_alice(&pool, new_password, now).await.unwrap();

    // Disabled: signed out at once, and the right password no longer works.
    assert!(succeeded(&cli.run(&["user", "disable", "alice@acme.test"])));
    assert!(!still_signed_in(&pool, &session, now).await);
    assert!(session_of_alice(&pool, new_password, now).await.is_none());
    assert!(succeeded(&cli.run(&["user", "enable", "alice@acme.test"])));
    assert!(session_of_alice(&pool, new_password, now).await.is_some());

    // Deleted: gone, with her sessions.
    assert!(succeeded(&cli.run(&["user", "delete", "alice@acme.test"])));
    assert!(session_of_alice(&pool, new_password, now).await.is_none());
    assert_eq!(
        one_line_error(&cli.run(&["user", "disable", "alice@acme.test"])),
        "error: nobody signs in as alice@acme.test"
    );
}

#[test]
fn serve_refuses_plain_http_on_a_network_address_unless_told_otherwise() {
    let cli = Cli::new();
    let serve = |extra: &[&str], public_url: &str| {
        let mut args = vec!["serve"];
        args.extend_from_slice(extra);
        std::process::Command::new(env!("CARGO_BIN_EXE_outreach"))
            .args(&args)
            .env("OUTREACH_DATABASE_URL", cli.database_url())
            .env(
                "OUTREACH_MASTER_KEY",
                "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
            )
            .env("OUTREACH_PUBLIC_URL", public_url)
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };

    let refused = serve(&[], "http://outreach.internal.example")
        .wait_with_output()
        .unwrap();
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("--allow-insecure-http"), "{message}");

    // With the flag (or https) it starts: it is still running a moment later.
    for (extra, url) in [
        (
            &["--allow-insecure-http"][..],
            "http://outreach.internal.example",
        ),
        (&[][..], "https://outreach.example.org"),
    ] {
        let mut started = serve(extra, url);
        std::thread::sleep(std::time::Duration::from_millis(1500));
        assert!(
            started.try_wait().unwrap().is_none(),
            "serve exited for {url}"
        );
        started.kill().unwrap();
        let _ = started.wait();
    }
}

/// Logs into a file, a pipe or the journal are plain text: colour codes
/// are for a person at a terminal.
#[test]
fn logs_not_written_to_a_terminal_carry_no_colour_codes() {
    use std::io::BufRead;

    let cli = Cli::new();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_outreach"))
        .arg("serve")
        .env("OUTREACH_DATABASE_URL", cli.database_url())
        .env(
            "OUTREACH_MASTER_KEY",
            "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
        )
        .env("OUTREACH_PUBLIC_URL", "https://outreach.example.org")
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .env_remove("OUTREACH_LOG_FORMAT")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Lines until the server says it listens (or its stderr ends).
    let mut lines = Vec::new();
    for line in std::io::BufReader::new(server.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        let listening = line.contains("Outreach is listening");
        lines.push(line);
        if listening {
            break;
        }
    }
    server.kill().unwrap();
    let _ = server.wait();

    let listening = lines
        .iter()
        .find(|line| line.contains("Outreach is listening"))
        .unwrap_or_else(|| panic!("no listening line in {lines:#?}"));
    assert!(
        listening.contains("public_url=https://outreach.example.org"),
        "{listening:?}"
    );
    assert!(
        lines.iter().all(|line| !line.contains('\u{1b}')),
        "{lines:#?}"
    );
}

#[test]
fn demo_mode_refuses_to_listen_beyond_this_machine() {
    let cli = Cli::new();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_outreach"))
        .args(["serve", "--demo"])
        .env("OUTREACH_DATABASE_URL", cli.database_url())
        .env("LEPTOS_SITE_ADDR", "0.0.0.0:0")
        .env_remove("OUTREACH_MASTER_KEY")
        .env_remove("OUTREACH_MASTER_KEY_FILE")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();

    let error = one_line_error(&output);
    assert!(error.contains("loopback"), "{error}");
}

/// Every setting is an option with `--help` text and its variable; a bad
/// value is refused before anything starts, naming the option, and an empty
/// variable counts as unset.
#[tokio::test]
async fn every_setting_is_an_option_its_variable_and_a_bad_value_stops_the_start() {
    let cli = Cli::new();
    let help = String::from_utf8_lossy(&cli.run(&["--help"]).stdout).into_owned();
    for variable in [
        "OUTREACH_DATABASE_URL",
        "LEPTOS_SITE_ADDR",
        "OUTREACH_PUBLIC_URL",
        "OUTREACH_SESSION_IDLE_MINUTES",
        "OUTREACH_TRUSTED_PROXIES",
        "OUTREACH_SEND_CONCURRENCY",
        "OUTREACH_SEND_RATE",
        "OUTREACH_STATUS_CHECK_AFTER_SECS",
        "TWILIO_API_BASE_URL",
        "TWILIO_MESSAGING_BASE_URL",
        "OUTREACH_TWILIO_TIMEOUT_SECS",
        "OUTREACH_TWILIO_RECHECK_SECS",
        "OUTREACH_MASTER_KEY",
        "OUTREACH_MASTER_KEY_FILE",
        "OUTREACH_LOG_FORMAT",
        "OUTREACH_METRICS_ADDR",
    ] {
        assert!(
            help.contains(&format!("[env: {variable}")),
            "{variable} missing from --help:\n{help}"
        );
    }

    let run_with = |variable: &str, value: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_outreach"))
            .args(["org", "create", "--name", "Acme"])
            .env("OUTREACH_DATABASE_URL", cli.database_url())
            .env(variable, value)
            .output()
            .unwrap()
    };
    for (variable, value, option) in [
        ("OUTREACH_SEND_RATE", "0", "--send-rate"),
        (
            "OUTREACH_SESSION_IDLE_MINUTES",
            "721",
            "--session-idle-minutes",
        ),
        (
            "OUTREACH_TRUSTED_PROXIES",
            "10.0.0.1, proxy.internal",
            "--trusted-proxies",
        ),
        (
            "OUTREACH_PUBLIC_URL",
            "outreach.example.org",
            "--public-url",
        ),
        ("OUTREACH_LOG_FORMAT", "xml", "--log-format"),
    ] {
        let output = run_with(variable, value);
        assert_eq!(output.status.code(), Some(2), "{variable}={value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(option), "{variable}={value}: {stderr}");
    }
    assert!(
        fetch_organisation_by_name(&cli.pool().await, &OrganisationName::parse("Acme").unwrap())
            .await
            .unwrap()
            .is_none(),
        "nothing was created with a bad setting"
    );

    let output = run_with("OUTREACH_PUBLIC_URL", "");
    assert!(
        succeeded(&output),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_database_url_that_is_neither_sqlite_nor_postgres_is_refused_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for url in ["mysql://root:hunter2@db/outreach", "data/outreach.db"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_outreach"))
            .args(["org", "create", "--name", "Acme"])
            .current_dir(dir.path())
            .env("OUTREACH_DATABASE_URL", url)
            .output()
            .unwrap();

        let error = one_line_error(&output);
        assert!(
            error.contains("must start with sqlite:// ") && error.contains("postgres://"),
            "{error}"
        );
        assert!(!error.contains("hunter2"), "{error}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn db_migrate_brings_the_schema_up_to_date_once() {
    let cli = Cli::new();

    let first = cli.run(&["db", "migrate"]);
    let again = cli.run(&["db", "migrate"]);

    assert!(
        succeeded(&first),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let first = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.starts_with("Applied ") && !first.starts_with("Applied 0 "),
        "{first}"
    );
    assert!(
        String::from_utf8_lossy(&again.stdout).starts_with("Applied 0 migration(s)"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    // The schema is there: the command line works on it.
    assert!(succeeded(&cli.run(&["org", "create", "--name", "Acme"])));
}

#[test]
fn a_second_server_on_one_sqlite_file_is_refused_while_the_first_runs() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/outreach.db?mode=rwc", dir.path().display());
    let serve = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_outreach"))
            .arg("serve")
            .env("OUTREACH_DATABASE_URL", &url)
            .env(
                "OUTREACH_MASTER_KEY",
                "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
            )
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut first = serve();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(first.try_wait().unwrap().is_none(), "the first serve runs");

    let second = serve().wait_with_output().unwrap();

    let error = one_line_error(&second);
    assert!(
        error.contains("already using the SQLite database")
            && error.contains(&format!("process {}", first.id()))
            && error.contains("PostgreSQL"),
        "{error}"
    );
    first.kill().unwrap();
    let _ = first.wait();
    // Once the first has gone, a server starts again.
    let mut third = serve();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(third.try_wait().unwrap().is_none(), "a server starts again");
    third.kill().unwrap();
    let _ = third.wait();
}

#[test]
fn web_and_worker_roles_need_postgres_and_a_worker_needs_the_public_url() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}/outreach.db?mode=rwc", dir.path().display());
    let serve = |url: &str, role: &str, public_url: Option<&str>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_outreach"));
        command
            .args(["serve", "--role", role])
            .env("OUTREACH_DATABASE_URL", url)
            .env(
                "OUTREACH_MASTER_KEY",
                "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
            )
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
            .env_remove("OUTREACH_PUBLIC_URL")
            .stdin(std::process::Stdio::null());
        if let Some(public_url) = public_url {
            command.env("OUTREACH_PUBLIC_URL", public_url);
        }
        command.output().unwrap()
    };

    for role in ["web", "worker"] {
        let error = one_line_error(&serve(&sqlite, role, Some("http://127.0.0.1:3000")));
        assert!(
            error.contains("several processes on one PostgreSQL database"),
            "{error}"
        );
    }
    // Checked before the database is reached.
    let error = one_line_error(&serve("postgres://127.0.0.1:1/outreach", "worker", None));
    assert!(error.contains("set OUTREACH_PUBLIC_URL"), "{error}");
}
