//! Replyline service: HTTP API, WhatsApp webhook ingest, the engine driver
//! (single writer and scheduler) and the outbox worker, over a [`Store`].

pub mod api;
pub mod auth;
pub mod authz;
pub mod channel;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod demo;
pub mod driver;
pub mod error;
pub mod first_admin;
pub mod ingest;
pub mod json;
pub mod live;
pub mod media;
pub mod media_worker;
pub mod metrics;
pub mod openapi;
pub mod outbox;
pub mod routing;
pub mod secrets;
pub mod send_rate;
pub mod state;
pub mod worker;

use crate::clock::Clock;
use crate::config::{ClockMode, Config};
use crate::metrics::Metrics;
use crate::state::AppState;
use replyline_store::{Store, StoreError};
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

/// Why the service could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
    #[error("{0}")]
    Setup(String),
}

/// A bound, running service (for `serve`, tests and the demo).
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Waits until the HTTP server stops.
    pub async fn wait(self) -> Result<(), ServerError> {
        match self.server.await {
            Ok(result) => result.map_err(ServerError::Serve),
            Err(err) => Err(ServerError::Setup(err.to_string())),
        }
    }
}

/// Opens the store named by the configuration and applies migrations.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, ServerError> {
    Ok(replyline_store::connect(&config.database_url).await?)
}

/// The configured clock. A manual clock resumes from the latest instant it had
/// reached on this database when that is later than its configured start.
async fn make_clock(config: &Config, store: &dyn Store) -> Result<Clock, ServerError> {
    Ok(match config.clock {
        ClockMode::System => Clock::System,
        ClockMode::Manual => {
            tracing::warn!(
                "!!! MANUAL CLOCK: time is frozen and moves only via POST /api/v1/clock/advance — never use this in production !!!"
            );
            eprintln!(
                "WARNING: clock = \"manual\": time is frozen and moves only via POST /api/v1/clock/advance; not for production"
            );
            let start = crate::clock::whole_millisecond(
                config
                    .manual_clock_start
                    .unwrap_or_else(jiff::Timestamp::now),
            );
            let start = match store.manual_clock().await? {
                Some(reached) if reached > start => {
                    tracing::info!(%reached, "manual clock resumes from the latest instant it reached");
                    reached
                }
                _ => start,
            };
            store.save_manual_clock(start).await?;
            Clock::manual(Some(start))
        }
    })
}

pub use first_admin::bootstrap_admin;

/// Starts everything and binds the listener; prints `listening on http://ADDR`.
pub async fn start(config: Config) -> Result<Running, ServerError> {
    let store = open_store(&config).await?;
    let data_dir = config.data_dir();
    report_data_dir(data_dir.as_deref(), &config);
    let media = open_media(&config, data_dir.as_deref())?;
    let secrets = secrets::load(&config).map_err(|e| ServerError::Setup(e.to_string()))?;
    secrets::register(&secrets);
    secrets::migrate(store.as_ref(), &secrets)
        .await
        .map_err(|e| ServerError::Setup(e.to_string()))?;
    let clock = make_clock(&config, store.as_ref()).await?;
    bootstrap_admin(store.as_ref(), &config, &clock, data_dir.as_deref()).await?;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen.clone(),
            source,
        })?;
    let addr = listener.local_addr().map_err(ServerError::Serve)?;
    let metrics = Arc::new(Metrics::default());
    let live = live::LiveHub::new();
    let (worker, outbox) =
        outbox::outbox(store.clone(), clock.clone(), metrics.clone(), media.clone());
    let worker = worker
        .with_live(live.clone())
        .with_company_name(config.company_name.as_str());
    let (driver, driver_handle) = driver::driver(
        store.clone(),
        clock.clone(),
        config.company_name.clone(),
        metrics.clone(),
        outbox.clone(),
    );
    let (media_worker, downloads) =
        media_worker::media_worker(store.clone(), clock.clone(), media.clone(), live.clone());
    tokio::spawn(media_worker.run());
    let driver = driver
        .with_live(live.clone())
        .with_downloads(downloads.clone());
    let wake = driver_handle.clone();
    let inbox = ingest::InboxBatcher::start(store.clone(), move || wake.inbox_ready());
    tokio::spawn(worker.run());
    tokio::spawn(driver.run());
    spawn_writer_watchdog(store.clone(), writer_exit_after());
    let public_url: String = config.public_url_or(addr);
    let senders = delivery::Senders::from_config(&config).map_err(ServerError::Setup)?;
    replyline_store::DeliveryStore::set_delivery_targets(store.as_ref(), senders.targets()).await?;
    let deliveries = state::Deliveries {
        email: senders.email.is_some(),
        telegram: senders.telegram.is_some(),
    };
    let (delivery_worker, delivery) =
        delivery::delivery(store.clone(), clock.clone(), senders, public_url.clone());
    tokio::spawn(delivery_worker.run());
    let state = AppState {
        store,
        clock,
        driver: driver_handle,
        outbox,
        inbox,
        metrics,
        public_url: public_url.into(),
        delivery,
        login_limiter: Arc::new(auth::LoginLimiter::default()),
        sessions: auth::SessionPolicy::from_config(&config),
        live,
        secrets,
        company_name: config.company_name.as_str().into(),
        deliveries,
        demo: Arc::default(),
        media,
        downloads,
    };
    let app = api::router(state.clone());
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    println!("listening on http://{addr}");
    let _ = std::io::stdout().flush();
    Ok(Running {
        addr,
        state,
        server,
    })
}

/// Prints `data directory: /abs/path` (the SQLite database's folder, where
/// `replyline.key` and `initial-admin.txt` live too), or that there is none.
fn report_data_dir(data_dir: Option<&std::path::Path>, config: &Config) {
    match data_dir {
        Some(dir) => {
            tracing::info!(path = %dir.display(), "data directory");
            println!("data directory: {}", dir.display());
        }
        None => println!(
            "data directory: none (the database {} is not a SQLite file)",
            redact_url(&config.database_url)
        ),
    }
}

/// The media store of `media_url` (default `<data dir>/media`; a throwaway
/// directory for an in-memory database); prints `media: LOCATION`.
fn open_media(
    config: &Config,
    data_dir: Option<&std::path::Path>,
) -> Result<media::MediaStore, ServerError> {
    let url = config.media_url.as_ref().map(|s| s.expose());
    let fallback = match data_dir {
        Some(dir) => dir.to_owned(),
        None if url.is_some() || config.database_url.contains(":memory:") => {
            std::env::temp_dir().join(format!("replyline-{}", std::process::id()))
        }
        None => {
            return Err(ServerError::Setup(
                "media_url is required for a database that is not a SQLite file".into(),
            ));
        }
    };
    let media =
        media::MediaStore::open(url, &fallback).map_err(|e| ServerError::Setup(e.to_string()))?;
    tracing::info!(location = media.describe(), "media store");
    println!("media: {}", media.describe());
    Ok(media)
}

/// `database_url` without a password (`scheme://user:***@host`).
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// The exit status when the database writer cannot recover (EX_TEMPFAIL):
/// a supervisor (systemd `Restart=on-failure`, a container restart policy)
/// starts a clean process.
pub const EXIT_WRITER_FAILED: i32 = 75;

/// Default of `REPLYLINE__WRITER_EXIT_AFTER_SECONDS`.
const DEFAULT_WRITER_EXIT_AFTER_SECONDS: u64 = 120;

/// Storage failures in a row (with none succeeding) before the watchdog may exit.
const WRITER_EXIT_MIN_FAILURES: u64 = 10;

/// How long the writer may keep failing before the process exits:
/// `REPLYLINE__WRITER_EXIT_AFTER_SECONDS` (0 = never); `None` = never.
fn writer_exit_after() -> Option<std::time::Duration> {
    let seconds = std::env::var("REPLYLINE__WRITER_EXIT_AFTER_SECONDS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_WRITER_EXIT_AFTER_SECONDS);
    (seconds > 0).then(|| std::time::Duration::from_secs(seconds))
}

/// Exits the process with [`EXIT_WRITER_FAILED`] when every database write
/// has failed for `after` (at least [`WRITER_EXIT_MIN_FAILURES`] of them) and
/// a last health probe fails too. A full disk that frees up again recovers
/// without this (a bad writer connection is replaced, see the store); this is
/// for a writer that cannot recover, e.g. a database that can no longer be
/// reopened. Everything acknowledged is already on disk, so exiting loses nothing.
fn spawn_writer_watchdog(store: Arc<dyn Store>, after: Option<std::time::Duration>) {
    let Some(after) = after else { return };
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            let status = store.writer_status();
            let stuck = status.consecutive_failures >= WRITER_EXIT_MIN_FAILURES
                && status.failing_for.is_some_and(|f| f >= after);
            if !stuck {
                continue;
            }
            if let Err(err) = store.health().await {
                tracing::error!(
                    %err,
                    failures = status.consecutive_failures,
                    failing_for_seconds = status.failing_for.map_or(0, |f| f.as_secs()),
                    last_error = status.last_error.as_deref().unwrap_or(""),
                    exit = EXIT_WRITER_FAILED,
                    "the database writer cannot recover; exiting so a supervisor starts a clean process"
                );
                eprintln!(
                    "replyline: database writes have failed for {} s; exiting with status {EXIT_WRITER_FAILED}",
                    status.failing_for.map_or(0, |f| f.as_secs())
                );
                std::process::exit(EXIT_WRITER_FAILED);
            }
        }
    });
}

/// `replyline serve`: runs until the process is stopped.
pub async fn serve(config: Config) -> Result<(), ServerError> {
    start(config).await?.wait().await
}
