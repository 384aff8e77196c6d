//! A real `outreach` server on port 0 with a fresh database per test: a
//! SQLite file, or a PostgreSQL database when `OUTREACH_TEST_POSTGRES_URL`
//! names a server (see scripts/with-postgres.sh).

use std::{sync::Arc, time::Duration};

use app::error::AppError;
use base64::{Engine, engine::general_purpose::STANDARD};
use domain::{
    crypto::Keyring,
    db::Pool,
    organisations::{self, Organisation, OrganisationName},
    users::{self, EmailAddress, Role},
};
use reqwest::{Response, StatusCode, header};
use server::{
    config::{Config, PublicUrl},
    startup::Application,
};
use twilio_simulator::{RunningSimulator, SimAccount, SimService, Simulator};

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub address: String,
    pub pool: Pool,
    pub client: reqwest::Client,
    /// The Twilio this app talks to, seeded with `account` and `service`.
    pub twilio: Simulator,
    pub account: SimAccount,
    pub service: SimService,
    /// Where the database is, for the `outreach` command line.
    pub database_url: String,
    /// The SQLite file, when the tests run on SQLite.
    pub db_path: Option<std::path::PathBuf>,
    simulator: RunningSimulator,
    /// Keeps the database alive for the test.
    _database: domain::db::testing::ScratchDatabase,
}

/// The master key every test app runs with: tests that call the engine's
/// functions themselves (with a clock of their own) decrypt with it too.
pub fn test_keyring() -> Keyring {
    Keyring::from_base64_key(&STANDARD.encode([11u8; 32]), "test key").unwrap()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    crate::logs::capture();
    let database = domain::db::testing::scratch_database().await;
    let url = database.url.clone();
    let pool = domain::db::connect(&url).await.expect("the database opens");

    let twilio = Simulator::new();
    let account = twilio.add_account("Full");
    let service = twilio.add_service(&account.sid, &["+15005550006"]);
    let simulator = twilio
        .start("127.0.0.1:0".parse().unwrap())
        .await
        .expect("the Twilio simulator starts");

    let mut config = Config::for_database(url);
    config.twilio.api_base_url = Some(simulator.url.clone());
    config.twilio.messaging_base_url = Some(simulator.url.clone());
    config.twilio.timeout = Duration::from_secs(2);
    // Tests wait for campaigns to finish: no need to pace them like Twilio.
    config.sending.messages_per_second = 1000.0;
    configure(&mut config);
    let keyring = test_keyring();
    let application = Application::build(config, pool.clone(), Arc::new(keyring))
        .await
        .expect("the application builds");
    let address = format!("http://{}", application.local_addr());
    tokio::spawn(application.run_until_stopped());
    let client = reqwest::Client::builder()
        // Tests look at redirects themselves.
        .redirect(reqwest::redirect::Policy::none())
        // A request that never gets an answer fails its test, naming the
        // address, instead of hanging the run.
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");
    TestApp {
        address,
        pool,
        client,
        twilio,
        account,
        service,
        database_url: database.url.clone(),
        db_path: database.sqlite_file.clone(),
        simulator,
        _database: database,
    }
}

pub fn https_public_url(config: &mut Config) {
    config.public_url = Some(PublicUrl::parse("https://outreach.example.org").unwrap());
}

impl TestApp {
    pub fn twilio_url(&self) -> String {
        self.simulator.url.clone()
    }

    pub async fn create_organisation(&self, name: &str, active: bool) -> Organisation {
        let name = OrganisationName::parse(name).unwrap();
        organisations::insert_organisation(&self.pool, &name, active, domain::clock::now())
            .await
            .expect("the organisation is created")
    }

    pub async fn create_user(&self, organisation: &Organisation, email: &str, role: Role) {
        let email = EmailAddress::parse(email).unwrap();
        users::insert_user(
            &self.pool,
            organisation.id,
            &email,
            role,
            PASSWORD.into(),
            domain::clock::now(),
        )
        .await
        .expect("the user is created");
    }

    pub async fn organisation_named(&self, name: &str) -> Option<Organisation> {
        organisations::fetch_organisation_by_name(
            &self.pool,
            &OrganisationName::parse(name).unwrap(),
        )
        .await
        .unwrap()
    }

    /// Saves the simulator's account, token and Messaging Service as this
    /// Org Admin's organisation's Twilio Integration.
    pub async fn configure_twilio(&self, admin: &str) {
        let response = self
            .call(
                "save_twilio_integration",
                Some(admin),
                &[
                    ("section", "everything"),
                    ("account_sid", &self.account.sid),
                    ("auth_token", &self.account.auth_token),
                    ("messaging_service_sid", &self.service.sid),
                    ("version", "0"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    pub async fn organisation(&self, id: organisations::OrganisationId) -> Organisation {
        organisations::fetch_organisation(&self.pool, id)
            .await
            .unwrap()
    }

    /// Calls a server function the way the hydrated app does.
    pub async fn call(
        &self,
        endpoint: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> Response {
        let mut request = self
            .client
            .post(format!("{}/api/{endpoint}", self.address))
            .form(form);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        request.send().await.expect("the request is answered")
    }

    /// Calls a server function that takes JSON (the campaign ones).
    pub async fn call_json(
        &self,
        endpoint: &str,
        cookie: &str,
        body: serde_json::Value,
    ) -> Response {
        self.client
            .post(format!("{}/api/{endpoint}", self.address))
            .header(header::COOKIE, cookie)
            .json(&body)
            .send()
            .await
            .expect("the request is answered")
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Response {
        self.call("sign_in", None, &[("email", email), ("password", password)])
            .await
    }

    /// Signs in and returns the `Cookie` header value to send afterwards.
    pub async fn signed_in(&self, email: &str) -> String {
        let response = self.sign_in(email, PASSWORD).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "sign-in of {email} failed"
        );
        session_cookie(&response).expect("a session cookie is set")
    }

    /// The newest page of the organisation's audit log, as its Org Admin
    /// `cookie` reads it.
    pub async fn audit_log(&self, cookie: &str) -> app::settings::audit_log::AuditLogView {
        let response = self.call("audit_log", Some(cookie), &[]).await;
        assert_eq!(response.status(), StatusCode::OK, "the audit log is read");
        response.json().await.expect("an audit log")
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Response {
        let mut request = self.client.get(format!("{}{path}", self.address));
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        request.send().await.expect("the request is answered")
    }
}

/// No stored value contains `secret`: no byte of the SQLite file, its WAL
/// or its SHM, or, on PostgreSQL, no row of any table read as text.
pub async fn assert_not_in_database(app: &TestApp, secret: &str) {
    let Some(db_path) = &app.db_path else {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables
             WHERE table_schema = 'public'",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap();
        assert!(tables.len() > 10, "{tables:?}");
        for table in tables {
            let rows: Vec<String> =
                sqlx::query_scalar(&format!("SELECT CAST(t AS TEXT) FROM {table} t"))
                    .fetch_all(&app.pool)
                    .await
                    .unwrap();
            assert!(
                !rows.iter().any(|row| row.contains(secret)),
                "table {table} contains the secret"
            );
        }
        return;
    };
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", db_path.display());
        if let Ok(bytes) = std::fs::read(&path) {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{path} contains the secret"
            );
        }
    }
}

/// `outreach_session=...` (or, over https, `__Host-outreach_session=...`)
/// from a response's `Set-Cookie`, when it sets one.
pub fn session_cookie(response: &Response) -> Option<String> {
    set_cookie_header(response)?
        .split(';')
        .next()
        .map(str::to_owned)
        .filter(|pair| !pair.ends_with('='))
}

pub fn set_cookie_header(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("outreach_session=") || v.starts_with("__Host-outreach_session="))
        .map(str::to_owned)
}

/// The error a server function answered with.
pub async fn app_error(response: Response) -> AppError {
    assert!(
        response.status().is_server_error() || response.status().is_client_error(),
        "expected an error, got {}",
        response.status()
    );
    let body = response.text().await.unwrap();
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("not an AppError ({e}): {body}"))
}

pub fn location(response: &Response) -> Option<&str> {
    response.headers().get(header::LOCATION)?.to_str().ok()
}

/// The form-level message of a server function's field errors.
pub fn form_message(error: AppError) -> String {
    match error {
        AppError::Invalid(fields) => fields.form.unwrap_or_default(),
        other => panic!("expected a form error, got {other:?}"),
    }
}

/// The error a server function put under `field`.
pub fn field_message(error: AppError, field: app::error::FormField) -> String {
    match error {
        AppError::Invalid(fields) => fields
            .get(field)
            .unwrap_or_else(|| panic!("no error under {field:?}: {fields:?}")),
        other => panic!("expected field errors, got {other:?}"),
    }
}
