//! Configuration, read once at start-up: every setting is a command-line
//! option that can also come from its environment variable (`outreach
//! --help` lists them all), parsed into [`Settings`] and turned into the
//! [`Config`] the server runs with.

use std::{net::SocketAddr, time::Duration};

use anyhow::{Context, bail};
use leptos::config::{Env, LeptosOptions};
use secrecy::{ExposeSecret, SecretString};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/outreach.db?mode=rwc";
pub const DEFAULT_SITE_ADDR: &str = "127.0.0.1:3000";

/// Every setting of `outreach`, as options that can also come from the
/// environment. Empty variables count as unset.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// The database: sqlite://FILE (created if missing; one process) or
    /// postgres://USER@HOST/DATABASE (several processes).
    #[arg(long, env = "OUTREACH_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
    /// The address to listen on.
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = DEFAULT_SITE_ADDR, global = true)]
    pub site_addr: SocketAddr,
    /// Where people (and Twilio's webhooks) reach Outreach, e.g.
    /// https://outreach.example.org. Defaults to the listen address.
    #[arg(long, env = "OUTREACH_PUBLIC_URL", value_parser = parse_public_url, global = true)]
    pub public_url: Option<PublicUrl>,
    /// Minutes without a request after which a session ends (1-720; every
    /// session also ends 12 hours after sign-in).
    #[arg(long, env = "OUTREACH_SESSION_IDLE_MINUTES", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=720), global = true)]
    pub session_idle_minutes: u64,
    /// Proxies whose X-Forwarded-For names the client, comma-separated IP
    /// addresses (for sign-in throttling). None by default.
    #[arg(long, env = "OUTREACH_TRUSTED_PROXIES", value_parser = parse_trusted_proxies,
          default_value = "", hide_default_value = true, global = true)]
    pub trusted_proxies: TrustedProxies,
    /// Where operators' Prometheus scrapes GET /metrics: an address of its
    /// own, never the public one. Off when unset.
    #[arg(long, env = "OUTREACH_METRICS_ADDR", global = true)]
    pub metrics_addr: Option<SocketAddr>,
    /// Sends in flight at once, over all organisations (1-1000).
    #[arg(long, env = "OUTREACH_SEND_CONCURRENCY", default_value_t = 16,
          value_parser = clap::value_parser!(u64).range(1..=1000), global = true)]
    pub send_concurrency: u64,
    /// Messages per second, per organisation.
    #[arg(long, env = "OUTREACH_SEND_RATE", default_value_t = 10.0,
          value_parser = parse_positive_rate, global = true)]
    pub send_rate: f64,
    /// Seconds a sent message may go without a status callback before
    /// Twilio is asked for its status.
    #[arg(long, env = "OUTREACH_STATUS_CHECK_AFTER_SECS", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub status_check_after_secs: u64,
    /// Twilio's REST API (https only, or a loopback address for the simulator).
    #[arg(long, env = "TWILIO_API_BASE_URL", global = true)]
    pub twilio_api_base_url: Option<String>,
    /// Twilio's Messaging API (https only, or a loopback address for the simulator).
    #[arg(long, env = "TWILIO_MESSAGING_BASE_URL", global = true)]
    pub twilio_messaging_base_url: Option<String>,
    /// Seconds one call to Twilio may take.
    #[arg(long, env = "OUTREACH_TWILIO_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub twilio_timeout_secs: u64,
    /// Seconds between re-checks of every saved Twilio credential.
    #[arg(long, env = "OUTREACH_TWILIO_RECHECK_SECS", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub twilio_recheck_secs: u64,
    /// The master key that encrypts stored Auth Tokens: 32 random bytes,
    /// base64. Takes precedence over the keyring file.
    #[arg(long, env = "OUTREACH_MASTER_KEY", hide_env_values = true,
          value_parser = |raw: &str| Ok::<_, String>(SecretString::from(raw)), global = true)]
    pub master_key: Option<SecretString>,
    /// A keyring file (mode 0600) of master keys, for rotation.
    #[arg(long, env = "OUTREACH_MASTER_KEY_FILE", global = true)]
    pub master_key_file: Option<std::path::PathBuf>,
    /// Log lines as text or as JSON (filtered by RUST_LOG).
    #[arg(long, env = "OUTREACH_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

fn parse_public_url(raw: &str) -> Result<PublicUrl, String> {
    PublicUrl::parse(raw).map_err(|e| e.to_string())
}

fn parse_positive_rate(raw: &str) -> Result<f64, String> {
    match raw.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
        _ => Err("messages per second must be a number above 0".to_owned()),
    }
}

impl Settings {
    /// The master keys, from the key or else the keyring file.
    pub fn keyring(&self) -> Result<domain::crypto::Keyring, domain::crypto::KeyringError> {
        use domain::crypto::{Keyring, KeyringError};
        match (&self.master_key, &self.master_key_file) {
            (Some(key), _) => Keyring::from_base64_key(key.expose_secret(), "OUTREACH_MASTER_KEY"),
            (None, Some(path)) => Keyring::load_file(path),
            (None, None) => Err(KeyringError::Missing),
        }
    }

    /// What the server runs with. Refuses a Twilio URL the Auth Token must
    /// not go to.
    pub fn config(&self) -> anyhow::Result<Config> {
        let twilio = TwilioConfig {
            api_base_url: self.twilio_api_base_url.clone(),
            messaging_base_url: self.twilio_messaging_base_url.clone(),
            timeout: Duration::from_secs(self.twilio_timeout_secs),
            recheck_interval: Duration::from_secs(self.twilio_recheck_secs),
        };
        twilio.client()?;
        Ok(Config {
            database_url: self.database_url.clone(),
            site_addr: self.site_addr,
            public_url: self.public_url.clone(),
            leptos_options: leptos_options(self.site_addr),
            twilio,
            sending: SendingConfig {
                concurrency: self.send_concurrency as usize,
                messages_per_second: self.send_rate,
                status_check_after: Duration::from_secs(self.status_check_after_secs),
            },
            session_idle: Duration::from_secs(self.session_idle_minutes * 60),
            trusted_proxies: self.trusted_proxies.0.clone(),
            role: ProcessRole::All,
            metrics_addr: self.metrics_addr,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub site_addr: SocketAddr,
    /// Where people reach Outreach, as configured; when unset, the address
    /// the server listens on is used.
    pub public_url: Option<PublicUrl>,
    pub leptos_options: LeptosOptions,
    pub twilio: TwilioConfig,
    pub sending: SendingConfig,
    /// `OUTREACH_SESSION_IDLE_MINUTES`: a session ends after this long
    /// without a request (and 12 hours after sign-in in any case).
    pub session_idle: Duration,
    /// `OUTREACH_TRUSTED_PROXIES`: the proxies whose `X-Forwarded-For`
    /// names the client (for sign-in throttling). None by default.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// What this process does (`outreach serve --role`).
    pub role: ProcessRole,
    /// `OUTREACH_METRICS_ADDR`: where `GET /metrics` is served, if anywhere.
    pub metrics_addr: Option<SocketAddr>,
}

/// What an `outreach serve` process does. Several processes on one
/// PostgreSQL database can split the work: web processes behind a proxy,
/// workers beside them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ProcessRole {
    /// Pages, server functions and webhooks, and sending.
    #[default]
    All,
    /// Pages, server functions and webhooks; no sending.
    Web,
    /// Sending, reconciling and the periodic checks; only `/healthz` is
    /// served.
    Worker,
}

impl ProcessRole {
    pub fn serves_people(self) -> bool {
        self != Self::Worker
    }

    pub fn sends(self) -> bool {
        self != Self::Web
    }
}

pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(60 * 60);

/// `OUTREACH_TRUSTED_PROXIES`: IP addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<std::net::IpAddr>);

/// `OUTREACH_TRUSTED_PROXIES`: comma-separated IP addresses.
pub fn parse_trusted_proxies(raw: &str) -> Result<TrustedProxies, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| {
            a.parse()
                .map_err(|_| format!("list IP addresses separated by commas; {a:?} is not one"))
        })
        .collect::<Result<_, _>>()
        .map(TrustedProxies)
}

#[derive(Debug, Clone)]
pub struct SendingConfig {
    /// `OUTREACH_SEND_CONCURRENCY`: sends in flight at once.
    pub concurrency: usize,
    /// `OUTREACH_SEND_RATE`: messages per second, per organisation.
    pub messages_per_second: f64,
    /// `OUTREACH_STATUS_CHECK_AFTER_SECS`: how long a sent message may go
    /// without a status callback before Twilio is asked for its status.
    pub status_check_after: Duration,
}

impl Default for SendingConfig {
    fn default() -> Self {
        Self {
            concurrency: 16,
            messages_per_second: 10.0,
            status_check_after: Duration::from_secs(600),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TwilioConfig {
    /// `TWILIO_API_BASE_URL`, when set.
    pub api_base_url: Option<String>,
    /// `TWILIO_MESSAGING_BASE_URL`, when set.
    pub messaging_base_url: Option<String>,
    /// `OUTREACH_TWILIO_TIMEOUT_SECS`: how long one call to Twilio may take.
    pub timeout: Duration,
    /// `OUTREACH_TWILIO_RECHECK_SECS`: how often saved credentials are re-checked.
    pub recheck_interval: Duration,
}

impl Default for TwilioConfig {
    fn default() -> Self {
        Self {
            api_base_url: None,
            messaging_base_url: None,
            timeout: Duration::from_secs(10),
            recheck_interval: Duration::from_secs(60 * 60),
        }
    }
}

impl TwilioConfig {
    /// Refuses Twilio URLs that are neither https nor on this machine.
    pub fn client(&self) -> anyhow::Result<domain::twilio::TwilioClient> {
        use domain::twilio::{DEFAULT_API_BASE_URL, DEFAULT_MESSAGING_BASE_URL};
        domain::twilio::TwilioClient::new(
            self.api_base_url.as_deref().unwrap_or(DEFAULT_API_BASE_URL),
            self.messaging_base_url
                .as_deref()
                .unwrap_or(DEFAULT_MESSAGING_BASE_URL),
            self.timeout,
        )
        .context("TWILIO_API_BASE_URL and TWILIO_MESSAGING_BASE_URL must be https:// URLs")
    }
}

impl Config {
    /// A configuration for tests and tools: the given database, port 0.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        let site_addr: SocketAddr = "127.0.0.1:0".parse().expect("a valid address");
        Self {
            database_url: database_url.into(),
            site_addr,
            public_url: None,
            leptos_options: leptos_options(site_addr),
            twilio: TwilioConfig::default(),
            sending: SendingConfig::default(),
            session_idle: DEFAULT_SESSION_IDLE,
            trusted_proxies: Vec::new(),
            role: ProcessRole::All,
            metrics_addr: None,
        }
    }
}

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The site options cargo-leptos passes in the environment, with the
/// defaults of this workspace's `[[workspace.metadata.leptos]]` so the
/// binary also runs on its own.
fn leptos_options(site_addr: SocketAddr) -> LeptosOptions {
    let output_name = std::env::var("LEPTOS_OUTPUT_NAME")
        .ok()
        .or_else(|| option_env!("LEPTOS_OUTPUT_NAME").map(str::to_owned))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "outreach".to_owned());
    let production = std::env::var("LEPTOS_ENV")
        .map(|env| env.eq_ignore_ascii_case("prod") || env.eq_ignore_ascii_case("production"))
        .unwrap_or(cfg!(not(debug_assertions)));
    LeptosOptions::builder()
        .output_name(output_name)
        .site_root(env_or("LEPTOS_SITE_ROOT", "target/site"))
        .site_pkg_dir(env_or("LEPTOS_SITE_PKG_DIR", "pkg"))
        // A release build by cargo-leptos names the bundle's files after
        // their hashes and lists them beside the binary.
        .hash_files(crate::bundle::hash_file("hash.txt").exists())
        .env(if production { Env::PROD } else { Env::DEV })
        .site_addr(site_addr)
        .build()
}

/// `OUTREACH_PUBLIC_URL`: scheme, host and optional port, nothing else that
/// matters for origins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    /// `https://example.org` or `http://127.0.0.1:3000`: no path, no slash.
    origin: String,
    https: bool,
}

impl PublicUrl {
    pub fn parse(raw: &str) -> anyhow::Result<Self> {
        let raw = raw.trim().trim_end_matches('/');
        let (scheme, rest) = raw.split_once("://").with_context(|| {
            format!("OUTREACH_PUBLIC_URL must start with http:// or https://, got {raw:?}")
        })?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => bail!("OUTREACH_PUBLIC_URL must start with http:// or https://, got {raw:?}"),
        };
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() || authority.contains('@') {
            bail!("OUTREACH_PUBLIC_URL must name a host, got {raw:?}");
        }
        let authority = authority.to_ascii_lowercase();
        // Browsers leave the default port out of the Origin header.
        let authority = match (https, authority.rsplit_once(':')) {
            (true, Some((host, "443"))) | (false, Some((host, "80"))) => host.to_owned(),
            _ => authority,
        };
        Ok(Self {
            origin: format!("{}://{authority}", if https { "https" } else { "http" }),
            https,
        })
    }

    pub fn from_listen_address(addr: SocketAddr) -> Self {
        Self {
            origin: format!("http://{addr}"),
            https: false,
        }
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn is_https(&self) -> bool {
        self.https
    }

    /// Whether people reach it on this machine only (`localhost`, 127.0.0.1, `[::1]`).
    pub fn is_loopback(&self) -> bool {
        let authority = self.origin.split_once("://").map_or("", |(_, a)| a);
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
        };
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_url_is_reduced_to_its_origin() {
        let url = PublicUrl::parse("https://Outreach.Example.org:443/some/path/").unwrap();
        assert_eq!(url.origin(), "https://outreach.example.org");
        assert!(url.is_https());

        let url = PublicUrl::parse("http://127.0.0.1:3000").unwrap();
        assert_eq!(url.origin(), "http://127.0.0.1:3000");
        assert!(!url.is_https());
    }

    #[test]
    fn loopback_public_urls_are_recognised() {
        for (raw, loopback) in [
            ("http://127.0.0.1:3000", true),
            ("http://localhost:3000", true),
            ("http://[::1]:3000", true),
            ("http://10.0.0.5:3000", false),
            ("https://outreach.example.org", false),
            ("http://127.0.0.1.nip.io", false),
        ] {
            assert_eq!(
                PublicUrl::parse(raw).unwrap().is_loopback(),
                loopback,
                "{raw}"
            );
        }
    }

    #[test]
    fn trusted_proxies_are_ip_addresses() {
        assert_eq!(
            parse_trusted_proxies(" 10.0.0.1, ::1 ").unwrap().0,
            [
                "10.0.0.1".parse::<std::net::IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        assert!(parse_trusted_proxies("").unwrap().0.is_empty());
        assert!(parse_trusted_proxies("proxy.internal").is_err());
    }

    #[test]
    fn a_public_url_without_a_web_scheme_is_refused() {
        for raw in [
            "outreach.example.org",
            "ftp://example.org",
            "https://",
            "https://user@example.org",
        ] {
            assert!(PublicUrl::parse(raw).is_err(), "{raw} was accepted");
        }
    }
}
