//! Vigie's companion server: the incident history REST API over MySQL, the dashboard's files,
//! its XMPP settings, and a proxy to Prosody so the page has one origin.
//!
//! - [`app`] builds the whole router from a ready [`AppState`] (tests drive it with
//!   `tower::ServiceExt::oneshot`).
//! - [`serve`] runs it on a listener the caller bound (integration tests: port 0) until a
//!   shutdown future completes; [`run`] is `main`'s version, bound to `config.listen` and stopped
//!   by SIGINT or SIGTERM. Both serve at once, MySQL or not: they wait for it and apply the
//!   migrations in the background, and the history answers 503 until then.

mod client_config;
mod config;
mod dashboard;
mod error;
mod health;
mod host_meta;
mod incidents;
mod metrics;
mod openapi;
mod proxy;
mod zones;

use std::future::{Future, IntoFuture as _};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::http::{HeaderValue, Method};
use axum::middleware;
use axum::routing::any;
use axum::serve::ListenerExt as _;
use axum::Router;
use sqlx::mysql::MySqlPoolOptions;
use sqlx::MySqlPool;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;
use vigie_model::City;

pub use client_config::{ClientConfig, PublicUrls};
pub use config::Config;
pub use dashboard::{is_hashed_asset, IMMUTABLE, NO_CACHE};
pub use error::AppError;
pub use incidents::{IncidentQuery, Resource, CSV_HEADER, DEFAULT_LIMIT};
pub use openapi::ApiDoc;

/// How long a request waits for a database connection before answering 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// A pooled connection idle for longer is pinged before use (MySQL may have gone away
/// meanwhile); one used more recently is trusted, which saves a round trip to MySQL on every
/// request of a busy server (sqlx pings every time by default).
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// Everything the handlers share; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Reached through [`AppState::pool`], which answers 503 until the schema is ready.
    pool: MySqlPool,
    /// Whether the migrations have been applied: set once by [`serve`]'s background task.
    schema_ready: Arc<AtomicBool>,
    pub public_urls: Arc<PublicUrls>,
    pub dist: Option<PathBuf>,
    pub cors_origins: Arc<Vec<String>>,
    upstream: Arc<proxy::Upstream>,
    metrics: metrics_exporter_prometheus::PrometheusHandle,
    zones_geojson: Arc<String>,
}

impl AppState {
    /// The state for `config`, over a pool the caller made (and migrated).
    pub fn new(pool: MySqlPool, config: &Config) -> AppState {
        AppState {
            pool,
            schema_ready: Arc::new(AtomicBool::new(true)),
            public_urls: Arc::new(PublicUrls {
                websocket: config.xmpp_ws_public_url.clone(),
                bosh: config.xmpp_bosh_public_url.clone(),
            }),
            dist: config.dist.clone(),
            cors_origins: Arc::new(config.cors_origins.clone()),
            upstream: Arc::new(proxy::Upstream::new(&config.prosody_http_url)),
            metrics: metrics::handle(),
            zones_geojson: zones::city_geojson(&City::builtin()),
        }
    }

    /// The database, once its schema is ready; until then the history is unavailable (503).
    pub(crate) fn pool(&self) -> Result<&MySqlPool, AppError> {
        if self.schema_ready.load(Ordering::Acquire) {
            Ok(&self.pool)
        } else {
            Err(AppError::SchemaPending)
        }
    }
}

/// The whole HTTP surface: API, health, metrics, dashboard files, XMPP proxy.
pub fn app(state: AppState) -> Router {
    let parameterless = Router::new()
        .merge(client_config::router())
        .merge(zones::router())
        .merge(openapi::router())
        .route_layer(axum::middleware::from_fn(error::no_parameters));
    let api = Router::new()
        .merge(incidents::router())
        .merge(parameterless)
        .merge(host_meta::router())
        .route("/api", any(error::api_not_found))
        .route("/api/{*rest}", any(error::api_not_found))
        .merge(health::router())
        .merge(metrics::router());
    let pages = match &state.dist {
        Some(dist) => api.merge(dashboard::router(dist)),
        None => api,
    };
    // Compression for the API and the files; the proxied XMPP traffic passes as it is.
    let mut router = pages.layer(CompressionLayer::new()).merge(proxy::router());
    if !state.cors_origins.is_empty() {
        let origins: Vec<HeaderValue> = state
            .cors_origins
            .iter()
            .filter_map(|o| o.parse().ok())
            .collect();
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET, Method::HEAD]),
        );
    }
    router
        .layer(middleware::from_fn(metrics::track))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Connects to MySQL and applies the migrations; fails when MySQL cannot be reached (the
/// seeding and benchmark tools; [`serve`] waits for it instead). The pool connects lazily:
/// requests answer 503 while MySQL is away, and work again when it returns.
pub async fn connect(database_url: &str) -> anyhow::Result<MySqlPool> {
    let pool = lazy_pool(database_url)?;
    vigie_store::migrate(&pool).await?;
    Ok(pool)
}

/// The server's pool, connecting on first use; fails only on a malformed URL.
fn lazy_pool(database_url: &str) -> anyhow::Result<MySqlPool> {
    MySqlPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_IF_IDLE_FOR {
                    sqlx::Connection::ping(connection).await?;
                }
                Ok(true)
            })
        })
        .connect_lazy(database_url)
        .context("invalid DATABASE_URL")
}

/// Serves on `listener` until `shutdown` completes, then finishes the requests in flight.
///
/// It serves at once, whether MySQL answers or not, and meanwhile waits for MySQL and applies
/// the migrations ([`vigie_store::migrate_when_available`]); until they are applied the history
/// and `/readyz` answer 503 with `Retry-After`, everything else works. What waiting cannot fix
/// (refused credentials, a failed migration) stops the server with that error.
///
/// For an in-process integration test:
/// ```no_run
/// # async fn example() -> anyhow::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let address = listener.local_addr()?;
/// let config = vigie_server::Config::with_database("mysql://vigie:vigie@127.0.0.1:3306/vigie");
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let server = tokio::spawn(vigie_server::serve(config, listener, async { stopped.await.ok(); }));
/// // ... requests to http://{address}/api/v1/incidents, once /readyz answers 200 ...
/// stop.send(()).ok();
/// server.await??;
/// # Ok(()) }
/// ```
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let pool = lazy_pool(&config.database_url)?;
    let schema_ready = Arc::new(AtomicBool::new(false));
    let state = AppState {
        schema_ready: schema_ready.clone(),
        ..AppState::new(pool.clone(), &config)
    };
    let prepare_database = async move {
        vigie_store::migrate_when_available(&pool)
            .await
            .context("preparing the MySQL database (DATABASE_URL)")?;
        schema_ready.store(true, Ordering::Release);
        tracing::info!("database ready");
        anyhow::Ok(())
    };
    let address = listener.local_addr()?;
    tracing::info!(%address, dist = ?config.dist, prosody = %config.prosody_http_url, "serving");
    // Nagle off: a WebSocket frame or a small answer leaves at once instead of waiting for the
    // browser's delayed ACK (40 ms) behind the previous one.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::warn!(%error, "TCP_NODELAY not set");
        }
    });
    let serving = axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .into_future();
    tokio::pin!(serving, prepare_database);
    tokio::select! {
        // Stopped while still waiting for MySQL: the wait is dropped.
        served = &mut serving => served?,
        prepared = &mut prepare_database => {
            prepared?;
            serving.await?;
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// `main`: binds `config.listen`, serves until SIGINT or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    serve(config, listener, shutdown_signal()).await
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutdown requested");
}
