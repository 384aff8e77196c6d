//! The `outreach` binary itself, as an operator runs it.

use std::process::Output;

use domain::{
    organisations::{OrganisationName, SubscriptionState, fetch_organisation_by_name},
    sign_in::sign_in,
};

use crate::helpers::PASSWORD;

struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn database_url(&self) -> String {
        format!(
            "sqlite://{}?mode=rwc",
            self.dir.path().join("cli.db").display()
        )
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

    async fn pool(&self) -> domain::db::SqlitePool {
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
