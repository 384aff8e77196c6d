//! Building and running the web server.

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use app::state::{AppState, Shared};
use axum::serve::ListenerExt;
use domain::{crypto::Keyring, db::Pool, services::Services};
use tokio::net::TcpListener;

use crate::{
    config::{Config, ProcessRole, PublicUrl},
    web,
};

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    public_url: PublicUrl,
    state: AppState,
    recheck_interval: std::time::Duration,
    sending: domain::sending::engine::EngineSettings,
    /// The process's writer of Twilio's answers and status callbacks.
    deliveries: domain::delivery::writer::DeliveryWriter,
    role: ProcessRole,
    metrics: Option<TcpListener>,
}

impl Application {
    /// Binds the listening socket (port 0 picks a free one) and wires the
    /// router to an already opened database and loaded keyring.
    pub async fn build(config: Config, pool: Pool, keyring: Arc<Keyring>) -> anyhow::Result<Self> {
        // Leptos spawns a page's data loading with its own Tokio executor.
        // A custom one that spawned those tasks inside the request's span
        // (so their log lines named the request) made page renders hang now
        // and then (the API suite at 6 threads: 2 runs in 5 with it, 0 in 6
        // without); their lines now carry no request span.
        let listener = TcpListener::bind(config.site_addr)
            .await
            .with_context(|| format!("could not listen on {}", config.site_addr))?;
        let local_addr = listener.local_addr().context("no local address")?;
        let metrics = match config.metrics_addr {
            None => None,
            Some(addr) if addr == local_addr || addr == config.site_addr => {
                anyhow::bail!(
                    "OUTREACH_METRICS_ADDR must be an address of its own, not the one people use ({addr})"
                )
            }
            Some(addr) => {
                crate::metrics::handle();
                Some(
                    TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("could not listen on {addr} for /metrics"))?,
                )
            }
        };
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| PublicUrl::from_listen_address(local_addr));
        let mut leptos_options = config.leptos_options;
        leptos_options.site_addr = local_addr;
        let state = AppState::new(Shared {
            leptos_options,
            services: Services {
                pool,
                keyring,
                twilio: config.twilio.client()?,
            },
            secure_cookies: public_url.is_https(),
            public_origin: public_url.origin().to_owned(),
            session_idle_secs: config.session_idle.as_secs() as i64,
            trusted_proxies: config.trusted_proxies.clone().into(),
        });
        // Twilio's answers (the engine) and status callbacks (the webhook)
        // share one writer: one commit for both kinds.
        let deliveries = domain::delivery::writer::start(state.services.pool.clone());
        let router = if config.role.serves_people() {
            web::router(state.clone(), public_url.clone(), deliveries.clone())
        } else {
            web::health_router(state.clone())
        };
        Ok(Self {
            listener,
            router,
            role: config.role,
            metrics,
            public_url,
            state,
            recheck_interval: config.twilio.recheck_interval,
            deliveries,
            sending: domain::sending::engine::EngineSettings {
                concurrency: config.sending.concurrency,
                messages_per_second: config.sending.messages_per_second,
                // Longer than any one request to Twilio can take.
                lease: config.twilio.timeout + std::time::Duration::from_secs(5),
                status_check_after: config.sending.status_check_after,
                ..Default::default()
            },
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn public_url(&self) -> &PublicUrl {
        &self.public_url
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        // Numbers are parsed by people's requests and by STOP replies.
        tokio::task::spawn_blocking(domain::campaigns::audience::E164Phone::load_rules);
        let background = if self.role.sends() {
            vec![
                crate::recheck::spawn(self.state.services.clone(), self.recheck_interval),
                crate::janitor::spawn(
                    self.state.services.pool.clone(),
                    std::time::Duration::from_secs(10 * 60),
                ),
                tokio::spawn(
                    domain::sending::engine::SendingEngine::new(
                        self.state.services.clone(),
                        self.deliveries,
                        self.public_url.origin(),
                        self.sending,
                    )
                    .run(),
                ),
            ]
        } else {
            Vec::new()
        };
        let metrics = self.metrics.map(|listener| {
            let router = crate::metrics::router(self.state.services.pool.clone());
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::error!(error = ?e, "the metrics listener failed");
                }
            })
        });
        // The peer's address: the client's, unless a trusted proxy says otherwise.
        // Answers leave as soon as they are written: without TCP_NODELAY a
        // response sent in two writes (headers, then a file's body) waits
        // ~40 ms for the browser's delayed ACK.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY");
            }
        });
        let served = axum::serve(
            listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the HTTP server failed");
        // Sends in flight are abandoned with their leases set: the next
        // start (or another worker) reconciles them.
        for task in background.into_iter().chain(metrics) {
            task.abort();
        }
        served
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
