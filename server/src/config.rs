//! Configuration from the environment, read once at start-up.

use std::{net::SocketAddr, time::Duration};

use anyhow::{Context, bail};
use leptos::config::{Env, LeptosOptions};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/outreach.db?mode=rwc";
pub const DEFAULT_SITE_ADDR: &str = "127.0.0.1:3000";

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
}

pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(60 * 60);

/// `OUTREACH_TRUSTED_PROXIES`: comma-separated IP addresses.
pub fn parse_trusted_proxies(raw: &str) -> anyhow::Result<Vec<std::net::IpAddr>> {
    raw.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| {
            a.parse().with_context(|| {
                format!("OUTREACH_TRUSTED_PROXIES must list IP addresses separated by commas; {a:?} is not one")
            })
        })
        .collect()
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

impl SendingConfig {
    fn from_env() -> anyhow::Result<Self> {
        let defaults = Self::default();
        let concurrency = match non_empty_env("OUTREACH_SEND_CONCURRENCY") {
            None => defaults.concurrency,
            Some(raw) => match raw.trim().parse::<usize>() {
                Ok(n) if (1..=1000).contains(&n) => n,
                _ => bail!(
                    "OUTREACH_SEND_CONCURRENCY must be a whole number from 1 to 1000, got {raw:?}"
                ),
            },
        };
        let messages_per_second = match non_empty_env("OUTREACH_SEND_RATE") {
            None => defaults.messages_per_second,
            Some(raw) => match raw.trim().parse::<f64>() {
                Ok(n) if n.is_finite() && n > 0.0 => n,
                _ => bail!("OUTREACH_SEND_RATE must be messages per second above 0, got {raw:?}"),
            },
        };
        let status_check_after = match non_empty_env("OUTREACH_STATUS_CHECK_AFTER_SECS") {
            None => defaults.status_check_after,
            Some(raw) => match raw.trim().parse::<u64>() {
                Ok(n) if n > 0 => Duration::from_secs(n),
                _ => bail!(
                    "OUTREACH_STATUS_CHECK_AFTER_SECS must be a whole number of seconds above 0, got {raw:?}"
                ),
            },
        };
        Ok(Self {
            concurrency,
            messages_per_second,
            status_check_after,
        })
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
    fn from_env() -> anyhow::Result<Self> {
        let seconds = |key: &str, default: Duration| -> anyhow::Result<Duration> {
            match std::env::var(key).ok().filter(|v| !v.trim().is_empty()) {
                None => Ok(default),
                Some(value) => match value.trim().parse::<u64>() {
                    Ok(n) if n > 0 => Ok(Duration::from_secs(n)),
                    _ => bail!("{key} must be a whole number of seconds above 0, got {value:?}"),
                },
            }
        };
        let defaults = Self::default();
        Ok(Self {
            api_base_url: non_empty_env("TWILIO_API_BASE_URL"),
            messaging_base_url: non_empty_env("TWILIO_MESSAGING_BASE_URL"),
            timeout: seconds("OUTREACH_TWILIO_TIMEOUT_SECS", defaults.timeout)?,
            recheck_interval: seconds("OUTREACH_TWILIO_RECHECK_SECS", defaults.recheck_interval)?,
        })
    }

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

fn non_empty_env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        let database_url = env_or("OUTREACH_DATABASE_URL", DEFAULT_DATABASE_URL);
        let site_addr = env_or("LEPTOS_SITE_ADDR", DEFAULT_SITE_ADDR)
            .parse()
            .context("LEPTOS_SITE_ADDR must be an address such as 127.0.0.1:3000")?;
        let public_url = std::env::var("OUTREACH_PUBLIC_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| PublicUrl::parse(&v))
            .transpose()?;
        let session_idle = match non_empty_env("OUTREACH_SESSION_IDLE_MINUTES") {
            None => DEFAULT_SESSION_IDLE,
            Some(raw) => match raw.trim().parse::<u64>() {
                Ok(n) if (1..=720).contains(&n) => Duration::from_secs(n * 60),
                _ => bail!(
                    "OUTREACH_SESSION_IDLE_MINUTES must be a whole number of minutes from 1 to 720, got {raw:?}"
                ),
            },
        };
        let trusted_proxies =
            parse_trusted_proxies(&non_empty_env("OUTREACH_TRUSTED_PROXIES").unwrap_or_default())?;
        let twilio = TwilioConfig::from_env()?;
        // Refuse to start with a Twilio URL the Auth Token must not go to.
        twilio.client()?;
        Ok(Self {
            database_url,
            site_addr,
            public_url,
            leptos_options: leptos_options(site_addr),
            twilio,
            sending: SendingConfig::from_env()?,
            session_idle,
            trusted_proxies,
        })
    }

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
            parse_trusted_proxies(" 10.0.0.1, ::1 ").unwrap(),
            [
                "10.0.0.1".parse::<std::net::IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        assert!(parse_trusted_proxies("").unwrap().is_empty());
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
