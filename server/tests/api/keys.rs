//! Master keys, as an operator meets them: `outreach serve` refusing to
//! start without a usable key, and `outreach keys rotate|rewrap`.

use std::{process::Command, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use domain::{crypto::Keyring, sms_settings::integration::fetch_integration};

use crate::helpers::{TestApp, spawn_app};

fn outreach(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_outreach"));
    command
        .env("OUTREACH_DATABASE_URL", database_url)
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env_remove("OUTREACH_MASTER_KEY")
        .env_remove("OUTREACH_MASTER_KEY_FILE")
        .env_remove("OUTREACH_DEMO");
    command
}

/// Runs `outreach serve`, which must fail at once, and returns its stderr.
fn refused_start(configure: impl FnOnce(&mut Command)) -> String {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("db.sqlite").display()
    );
    let mut command = outreach(&url);
    command.arg("serve");
    configure(&mut command);
    let mut child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let Some(status) = child.try_wait().unwrap() else {
        child.kill().unwrap();
        panic!("outreach serve started without a usable master key");
    };
    assert!(!status.success());
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_server_refuses_to_start_without_a_master_key() {
    let stderr = refused_start(|_| {});
    assert!(stderr.contains("error: no master key"), "{stderr}");
}

#[test]
fn the_server_refuses_a_short_key() {
    let stderr = refused_start(|c| {
        c.env("OUTREACH_MASTER_KEY", STANDARD.encode([3u8; 16]));
    });
    assert!(stderr.contains("must be exactly 32 bytes"), "{stderr}");
}

#[test]
fn the_server_refuses_an_all_zero_key() {
    let stderr = refused_start(|c| {
        c.env("OUTREACH_MASTER_KEY", STANDARD.encode([0u8; 32]));
    });
    assert!(stderr.contains("all zeros"), "{stderr}");
}

async fn configured(app: &TestApp, keyring: Keyring) -> domain::ids::OrganisationId {
    let acme = app.create_organisation("Acme", true).await;
    let services = domain::services::Services {
        pool: app.pool.clone(),
        keyring: keyring.into(),
        twilio: domain::twilio::TwilioClient::new(
            &app.twilio_url(),
            &app.twilio_url(),
            Duration::from_secs(2),
        )
        .unwrap(),
    };
    domain::sms_settings::integration::save_integration(
        &services,
        acme.id,
        "operator",
        domain::sms_settings::integration::Change::Everything {
            account_sid: domain::twilio::credentials::AccountSid::parse(&app.account.sid).unwrap(),
            auth_token: domain::twilio::credentials::AuthToken::parse(
                app.account.auth_token.clone().into(),
            )
            .unwrap(),
            messaging_service_sid: None,
        },
        0,
        1,
    )
    .await
    .unwrap();
    acme.id
}

#[tokio::test]
async fn rotate_then_rewrap_moves_stored_tokens_to_the_new_key() {
    let app = spawn_app().await;
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("master.key");
    let first = Keyring::create_file(&key_file).unwrap();
    let organisation = configured(&app, first).await;
    let url = app.database_url.clone();

    let rotate = outreach(&url)
        .args(["keys", "rotate"])
        .env("OUTREACH_MASTER_KEY_FILE", &key_file)
        .output()
        .unwrap();
    let rewrap = outreach(&url)
        .args(["keys", "rewrap"])
        .env("OUTREACH_MASTER_KEY_FILE", &key_file)
        .output()
        .unwrap();

    assert!(
        rotate.status.success(),
        "{}",
        String::from_utf8_lossy(&rotate.stderr)
    );
    assert!(String::from_utf8_lossy(&rotate.stdout).contains("Key k2 is now active"));
    assert!(
        rewrap.status.success(),
        "{}",
        String::from_utf8_lossy(&rewrap.stderr)
    );
    assert!(
        String::from_utf8_lossy(&rewrap.stdout)
            .contains("Rewrapped 1 stored Auth Token(s) under key k2")
    );
    // Retire k1: the token still decrypts with k2 alone.
    let text = std::fs::read_to_string(&key_file).unwrap();
    let without_k1: String = text
        .lines()
        .filter(|l| !l.starts_with("key k1 "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&key_file, without_k1).unwrap();
    let only_k2 = Keyring::load_file(&key_file).unwrap();
    let integration = fetch_integration(&app.pool, organisation)
        .await
        .unwrap()
        .unwrap();
    let token =
        domain::sms_settings::integration::saved_auth_token(&only_k2, &integration).unwrap();
    assert_eq!(token.expose_secret(), app.account.auth_token);
}

#[test]
fn rotating_a_single_environment_key_is_refused_with_a_way_forward() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("db.sqlite").display()
    );

    let output = outreach(&url)
        .args(["keys", "rotate"])
        .env("OUTREACH_MASTER_KEY", STANDARD.encode([5u8; 32]))
        .output()
        .unwrap();

    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("set OUTREACH_MASTER_KEY_FILE"));
}
