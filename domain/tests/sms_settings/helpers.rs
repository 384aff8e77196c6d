use std::sync::Arc;
use std::time::Duration;

use base64::{Engine, engine::general_purpose::STANDARD};
use domain::{
    crypto::Keyring,
    db::Pool,
    organisations::{Organisation, OrganisationName, insert_organisation},
    services::Services,
    sms_settings::integration::{
        Change, SaveError, Saved, TwilioIntegration, fetch_audit_events, fetch_integration,
        save_integration,
    },
    twilio::{
        TwilioClient,
        credentials::{AccountSid, AuthToken, MessagingServiceSid},
    },
};
use twilio_simulator::{RunningSimulator, SimAccount, SimService, Simulator};

pub struct World {
    /// The same pool as `services.pool`, for brevity.
    pub pool: Pool,
    /// The database, keys and Twilio client the rules take.
    pub services: Services,
    pub simulator: Simulator,
    pub organisation: Organisation,
    pub account: SimAccount,
    pub service: SimService,
    /// The SQLite file, when the tests run on SQLite.
    pub db_path: Option<std::path::PathBuf>,
    pub twilio_url: String,
    _running: RunningSimulator,
    _database: domain::db::testing::ScratchDatabase,
}

pub async fn world() -> World {
    let (pool, database) = domain::db::testing::fresh_database().await;
    let simulator = Simulator::new();
    let account = simulator.add_account("Full");
    let service = simulator.add_service(&account.sid, &["+15005550006"]);
    let running = simulator
        .start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let twilio = TwilioClient::new(&running.url, &running.url, Duration::from_secs(2)).unwrap();
    let keyring = Keyring::from_base64_key(&STANDARD.encode([42u8; 32]), "test").unwrap();
    let services = Services {
        pool: pool.clone(),
        keyring: Arc::new(keyring),
        twilio,
    };
    let organisation =
        insert_organisation(&pool, &OrganisationName::parse("Acme").unwrap(), true, 0)
            .await
            .unwrap();
    World {
        pool,
        services,
        simulator,
        organisation,
        account,
        service,
        db_path: database.sqlite_file.clone(),
        twilio_url: running.url.clone(),
        _running: running,
        _database: database,
    }
}

pub fn sid(raw: &str) -> AccountSid {
    AccountSid::parse(raw).unwrap()
}

pub fn token(raw: &str) -> AuthToken {
    AuthToken::parse(raw.to_owned().into()).unwrap()
}

pub fn mg(raw: &str) -> MessagingServiceSid {
    MessagingServiceSid::parse(raw).unwrap()
}

impl World {
    pub fn everything(&self, token_value: &str, service: Option<&str>) -> Change {
        Change::Everything {
            account_sid: sid(&self.account.sid),
            auth_token: token(token_value),
            messaging_service_sid: service.map(mg),
        }
    }

    pub async fn save(&self, change: Change, version: i64) -> Result<Saved, SaveError> {
        save_integration(
            &self.services,
            self.organisation.id,
            "admin@acme.test",
            change,
            version,
            1_000,
        )
        .await
    }

    /// Saves valid credentials with the Messaging Service.
    pub async fn configured(&self) -> TwilioIntegration {
        let token = self.account.auth_token.clone();
        self.save(self.everything(&token, Some(&self.service.sid)), 0)
            .await
            .expect("valid credentials save")
            .integration
    }

    pub async fn integration(&self) -> Option<TwilioIntegration> {
        fetch_integration(&self.pool, self.organisation.id)
            .await
            .unwrap()
    }

    pub async fn audit_count(&self) -> usize {
        fetch_audit_events(&self.pool, self.organisation.id, 100)
            .await
            .unwrap()
            .len()
    }
}
