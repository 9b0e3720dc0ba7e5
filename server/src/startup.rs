//! Building the application: database, state, router, listener.

use std::{future::Future, net::SocketAddr, sync::Arc};

use app::{
    shell,
    ssr::{
        auth::{jwt::JwtKeys, keyfile},
        config::Config,
        db::{Db, DbError},
        mail::{MailError, Mailer},
        plugins::{builtin, PluginDeps, PluginRegistry},
        bus::{clock::SystemClock, probe::ProbeListener, registry::DuplicateListener, Bus, Clock, Registry, SharedListener},
        session_store::DbSessionStore,
        state::Limits,
        AppState,
    },
    App,
};
use axum::{extract::DefaultBodyLimit, middleware::from_fn_with_state, Router};
use leptos::{config::LeptosOptions, prelude::Env};
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::net::TcpListener;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};

use crate::{api, middleware};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("key file {0}")]
    KeyFile(#[from] keyfile::KeyFileError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Listener(DuplicateListener),
}

/// Connects, migrates and assembles the shared state, with the built-in listeners.
pub async fn build_state(config: Config) -> Result<AppState, StartupError> {
    build_state_with(config, Vec::new(), Arc::new(SystemClock)).await
}

/// The listeners every paybus runs, plus `extra` (tests add their own).
pub fn registry(config: &Config, db: &Db, extra: Vec<SharedListener>) -> Result<Registry, StartupError> {
    let mut registry = Registry::new();
    if config.bus.probe_listener {
        registry.subscribe(Arc::new(ProbeListener::new(db.clone()))).map_err(StartupError::Listener)?;
    }
    for listener in extra {
        registry.subscribe(listener).map_err(StartupError::Listener)?;
    }
    Ok(registry)
}

pub async fn build_state_with(config: Config, extra: Vec<SharedListener>, clock: Arc<dyn Clock>) -> Result<AppState, StartupError> {
    crate::metrics::handle();
    let db = Db::connect(config.database_url.expose(), config.db_max_connections, config.db_acquire_timeout).await?;
    db.migrate().await?;
    let jwt_secret = keyfile::load_or_create(&config.data_dir, "jwt.secret", config.jwt_secret.as_ref().map(|s| s.expose()))?;
    let master_key = keyfile::load_or_create(&config.data_dir, "master.key", config.master_key.as_ref().map(|s| s.expose()))?;
    let code_key = app::ssr::auth::tokens::keyed_hash(master_key.as_bytes(), "paybus/verification-codes/v1");
    let secrets = Arc::new(app::ssr::crypto::SecretBox::new(
        app::ssr::auth::tokens::keyed_hash(master_key.as_bytes(), "paybus/tenant-secrets/v1").as_bytes(),
    ));
    let mailer = Mailer::from_config(&config.mail, &db)?;
    let plugin_deps = PluginDeps {
        db: db.clone(),
        mailer: mailer.clone(),
        http: outbound_http_client(),
        clock: clock.clone(),
        secrets: secrets.clone(),
        allow_private_targets: config.allow_private_webhook_targets,
        public_url: config.public_url.clone(),
        welcome_email: config.welcome_email,
        bus: Default::default(),
    };
    let plugins = PluginRegistry::new(builtin::all());
    let plugins = Arc::new(plugins);
    let mut listeners = plugins.listeners(&plugin_deps);
    let webhooks = Arc::new(app::ssr::webhooks::Signals::default());
    listeners.push(Arc::new(app::ssr::rules::RulesListener::new(db.clone(), plugins.clone(), plugin_deps.clone(), webhooks.clone())));
    listeners.extend(extra);
    let mut registry = registry(&config, &db, listeners)?;
    let fanout = app::ssr::webhooks::FanoutListener::new(db.clone(), clock.clone(), webhooks.clone());
    registry.subscribe(Arc::new(fanout)).map_err(StartupError::Listener)?;
    let bus = Bus::new(db.clone(), registry, clock, config.bus.clone());
    plugin_deps.bus.set(&bus);
    let leptos_options = LeptosOptions::builder()
        .output_name("paybus")
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        .env(Env::PROD)
        .build();
    Ok(AppState {
        leptos_options,
        jwt: JwtKeys::new(jwt_secret.as_bytes()),
        limits: Arc::new(Limits::from_config(&config)),
        code_key: Arc::new(code_key.into_bytes()),
        secrets,
        plugins,
        plugin_deps,
        mailer,
        webhooks,
        db,
        bus,
        config: Arc::new(config),
    })
}

/// The client plugins call peers with: no redirects (a redirect could point anywhere, the SSRF
/// guard checks only the address it was given) and bounded time.
fn outbound_http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(15))
        .user_agent(concat!("paybus/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a TLS backend is compiled in")
}

/// The whole HTTP surface: JSON API, server functions, dashboard pages, static files.
pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name("paybus_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(config.session_ttl.as_secs() as i64)));

    let routes = generate_route_list(App);
    let leptos_options = state.leptos_options.clone();
    Router::new()
        .merge(api::router(&state))
        .leptos_routes_with_context(&state, routes, || (), move || shell(leptos_options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(sessions)
        .layer(axum::middleware::from_fn(middleware::server_fn_status::correct))
        .layer(from_fn_with_state(state.clone(), middleware::csrf::protect))
        .layer(DefaultBodyLimit::max(config.body_limit_bytes))
        .layer(from_fn_with_state(state.clone(), middleware::body_limit::reject_oversized))
        .layer(from_fn_with_state(state.clone(), middleware::event_meta::scope))
        .layer(TraceLayer::new_for_http().make_span_with(middleware::request_id::span))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// A bound, ready-to-run server. Tests build one on port 0 and read [`port`](Self::port).
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        Self::build_with(config, Vec::new(), Arc::new(SystemClock)).await
    }

    /// With extra listeners and a clock of the caller's choosing (tests).
    pub async fn build_with(mut config: Config, extra: Vec<SharedListener>, clock: Arc<dyn Clock>) -> Result<Self, StartupError> {
        let addr = config.addr;
        let listener = TcpListener::bind(addr).await.map_err(|source| StartupError::Bind { addr, source })?;
        config.bound_to(listener.local_addr().map_err(|source| StartupError::Bind { addr, source })?);
        let state = build_state_with(config, extra, clock).await?;
        Ok(Self { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops accepting, drains in-flight requests, and
    /// lets the bus finish the deliveries it is running.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let background = crate::background::start(&self.state);
        let app = router(self.state);
        let served = axum::serve(self.listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await;
        background.stop().await;
        served
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutdown requested; draining in-flight requests");
}
