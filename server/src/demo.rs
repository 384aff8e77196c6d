//! Demo mode: a ready-to-try organisation with an Org Admin and a
//! campaigner, whose passwords are random, kept across restarts in a file
//! only the current user can read, and printed at start-up; a master key
//! file; and the Twilio simulator, seeded with an account to try.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::Context;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use domain::{
    crypto::Keyring,
    db::Pool,
    organisations::{self, OrganisationName},
    users::{self, EmailAddress, Role},
};
use rand::RngCore;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use twilio_simulator::{RunningSimulator, SimAccount, SimService, Simulator};

pub const ORGANISATION: &str = "Demo Organisation";
pub const ADMIN_EMAIL: &str = "admin@demo.outreach.test";
pub const CAMPAIGNER_EMAIL: &str = "campaigner@demo.outreach.test";
const CREDENTIALS_FILE: &str = "demo-credentials.json";

#[derive(Serialize, Deserialize)]
pub struct DemoCredentials {
    pub admin_password: String,
    pub campaigner_password: String,
    /// The simulated Twilio account: stable so saved settings keep working.
    pub twilio_account_sid: String,
    pub twilio_auth_token: String,
    pub twilio_messaging_service_sid: String,
}

impl std::fmt::Debug for DemoCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DemoCredentials([REDACTED])")
    }
}

/// Creates (or re-synchronises) the demo organisation and its two users.
pub async fn seed(pool: &Pool, data_dir: &Path) -> anyhow::Result<(PathBuf, DemoCredentials)> {
    let path = data_dir.join(CREDENTIALS_FILE);
    let credentials = load_or_create(&path)?;

    let name = OrganisationName::parse(ORGANISATION).expect("a valid name");
    let organisation = match organisations::fetch_organisation_by_name(pool, &name).await? {
        Some(existing) => existing,
        None => organisations::insert_organisation(pool, &name, true, domain::clock::now()).await?,
    };
    if organisation.subscription != organisations::SubscriptionState::Active {
        organisations::set_subscription(pool, &name, true).await?;
    }

    for (email, role, password) in [
        (ADMIN_EMAIL, Role::OrgAdmin, &credentials.admin_password),
        (
            CAMPAIGNER_EMAIL,
            Role::Campaigner,
            &credentials.campaigner_password,
        ),
    ] {
        let email = EmailAddress::parse(email).expect("a valid email");
        let password = SecretString::from(password.clone());
        match users::insert_user(
            pool,
            organisation.id,
            &email,
            role,
            password.clone(),
            domain::clock::now(),
        )
        .await
        {
            Ok(_) => {}
            // Already there: make sure the printed password is the one that
            // works (someone may have changed it on the Account page).
            Err(users::CreateUserError::DuplicateEmail(_)) => {
                if !users::password_is(pool, &email, password.clone()).await? {
                    users::set_password(pool, &email, password, domain::clock::now()).await?;
                }
            }
            Err(e) => return Err(anyhow::Error::new(e).context("could not create a demo user")),
        }
    }
    Ok((path, credentials))
}

fn load_or_create(path: &Path) -> anyhow::Result<DemoCredentials> {
    if let Ok(text) = std::fs::read_to_string(path) {
        return serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is damaged: delete it to get new passwords",
                path.display()
            )
        });
    }
    let credentials = DemoCredentials {
        admin_password: random_password(),
        campaigner_password: random_password(),
        twilio_account_sid: format!("AC{}", random_hex(16)),
        twilio_auth_token: random_hex(16),
        twilio_messaging_service_sid: format!("MG{}", random_hex(16)),
    };
    write_private_file(path, serde_json::to_string_pretty(&credentials)?.as_bytes())?;
    Ok(credentials)
}

fn random_password() -> String {
    let mut bytes = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buffer);
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}

/// The demo's master keyring: `data/master.key`, created (mode 0600) on
/// first start. Returns whether it was created, so the banner can say so.
pub fn master_key(data_dir: &Path) -> anyhow::Result<(Keyring, PathBuf, bool)> {
    let path = data_dir.join("master.key");
    if path.exists() {
        return Ok((Keyring::load_file(&path)?, path, false));
    }
    Ok((Keyring::create_file(&path)?, path, true))
}

/// A Twilio simulator on a free local port, seeded with the demo account,
/// its Messaging Service, and a trial account.
pub async fn start_twilio_simulator(
    credentials: &DemoCredentials,
) -> anyhow::Result<RunningSimulator> {
    let simulator = Simulator::new();
    simulator.insert_account(SimAccount {
        sid: credentials.twilio_account_sid.clone(),
        auth_token: credentials.twilio_auth_token.clone(),
        friendly_name: "Demo account".to_owned(),
        status: "active".to_owned(),
        kind: "Full".to_owned(),
    });
    simulator.insert_service(SimService {
        sid: credentials.twilio_messaging_service_sid.clone(),
        account_sid: credentials.twilio_account_sid.clone(),
        friendly_name: "Demo Messaging Service".to_owned(),
        phone_numbers: vec!["+15005550006".to_owned()],
        forbidden_to: Vec::new(),
    });
    simulator
        .start("127.0.0.1:0".parse().expect("a valid address"))
        .await
        .context("could not start the Twilio simulator")
}

/// Creates `path` readable only by the current user and writes `contents`.
pub fn write_private_file(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("could not create {}", path.display()))?;
    file.write_all(contents)
        .with_context(|| format!("could not write {}", path.display()))
}
