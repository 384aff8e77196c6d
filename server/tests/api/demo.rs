//! `outreach serve --demo`, run as the real process.

use std::{os::unix::fs::PermissionsExt, process::Stdio};

use reqwest::StatusCode;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

struct Demo {
    child: Child,
    url: String,
    admin: (String, String),
    campaigner: (String, String),
}

/// Starts the demo on a free port and reads what it prints for people.
async fn start_demo(dir: &std::path::Path) -> Demo {
    let mut child = Command::new(env!("CARGO_BIN_EXE_outreach"))
        .args(["serve", "--demo"])
        .env(
            "OUTREACH_DATABASE_URL",
            format!("sqlite://{}/outreach.db?mode=rwc", dir.display()),
        )
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env_remove("OUTREACH_PUBLIC_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("outreach starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut url, mut admin, mut campaigner) = (None, None, None);
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let Some(rest) = line.strip_prefix("Outreach demo is running at ") {
                url = Some(rest.trim().to_owned());
            } else if line.contains("Sign in as the Org Admin:") {
                admin = Some((
                    words[words.len() - 3].to_owned(),
                    words[words.len() - 1].to_owned(),
                ));
            } else if line.contains("Sign in as a campaigner:") {
                campaigner = Some((
                    words[words.len() - 3].to_owned(),
                    words[words.len() - 1].to_owned(),
                ));
                break;
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), read)
        .await
        .expect("the demo prints its credentials");
    // Keep reading, as a terminal would.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Demo {
        child,
        url: url.expect("the demo prints its address"),
        admin: admin.expect("the Org Admin's credentials"),
        campaigner: campaigner.expect("the campaigner's credentials"),
    }
}

async fn sign_in(url: &str, (email, password): &(String, String)) -> StatusCode {
    reqwest::Client::new()
        .post(format!("{url}/api/sign_in"))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn the_demo_prints_credentials_that_work_and_keeps_them_across_restarts() {
    let dir = tempfile::tempdir().unwrap();

    let mut first = start_demo(dir.path()).await;

    assert!(first.url.starts_with("http://127.0.0.1:"), "{}", first.url);
    assert_eq!(first.admin.0, "admin@demo.outreach.test");
    assert_eq!(first.campaigner.0, "campaigner@demo.outreach.test");
    assert_eq!(sign_in(&first.url, &first.admin).await, StatusCode::OK);
    assert_eq!(sign_in(&first.url, &first.campaigner).await, StatusCode::OK);
    let mode = std::fs::metadata(dir.path().join("demo-credentials.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    first.child.kill().await.unwrap();

    let mut second = start_demo(dir.path()).await;

    assert_eq!(second.admin, first.admin);
    assert_eq!(second.campaigner, first.campaigner);
    assert_eq!(sign_in(&second.url, &second.admin).await, StatusCode::OK);
    second.child.kill().await.unwrap();
}
