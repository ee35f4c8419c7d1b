//! `Application::build(env)` prepares everything (settings, database, engine, listener) and
//! `run_until_stopped(shutdown)` serves until the shutdown future resolves. Tests build the same thing
//! on `127.0.0.1:0`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use panel_actors::exporter::ExportSettings;
use panel_actors::importer::ImportSettings;
use panel_actors::live_settings::{LiveSettings, LiveValues};
use panel_actors::store::{self, settings_overrides};
use panel_actors::thumbnailer::ThumbnailSettings;
use panel_actors::upkeep::UpkeepSettings;
use panel_actors::upstream::transport::Transport;
use panel_actors::{Engine, EngineDeps};
use poem::http::{Method, StatusCode};
use poem::listener::{Acceptor, TcpAcceptor};
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response};
use sea_orm::DatabaseConnection;

use crate::api::error::ApiError;
use crate::settings::{Config, EnvSnapshot, RawSettings, SettingsHandle};
use crate::version_check::VersionCheck;
use crate::web::frontend::{self, html_response, inject_nonce, new_nonce};
use crate::web::headers::docs_csp;
use crate::web::{gate, security::SecurityLayer};
use crate::{api, outbound};

/// Everything a request handler may need.
pub struct AppState {
    pub settings: Arc<SettingsHandle>,
    pub db: DatabaseConnection,
    pub engine: Engine,
    /// Builds outbound HTTP clients (trusted roots, SSRF-vetting resolver).
    pub transport: Transport,
    pub version_check: VersionCheck,
    /// Serializes read-modify-write saves of the settings document.
    pub settings_writer: tokio::sync::Mutex<()>,
    /// Open SSE streams, bounded globally and per client IP.
    pub sse_limiter: Arc<crate::web::sse::SseLimiter>,
    /// Gallery counts per filter, valid until the gallery changes.
    pub gallery_counts: crate::api::gallery_counts::CountCache,
    /// Counters and timings shared with the engine (`/api/metrics`).
    pub metrics: Arc<panel_actors::metrics::Metrics>,
    /// Import uploads in flight per client (`IMPORT_UPLOADS_PER_IP_PER_MINUTE`).
    pub import_uploads: Arc<crate::api::import_uploads::ImportUploads>,
}

pub struct Application {
    address: SocketAddr,
    acceptor: TcpAcceptor,
    state: Arc<AppState>,
}

impl Application {
    pub async fn build(env: EnvSnapshot) -> anyhow::Result<Application> {
        outbound::install_crypto_provider();
        let boot = Config::from_raw(&RawSettings::resolve(&env, &Default::default())).context("invalid setting")?;
        let db = store::open(&boot.data_dir, &boot.database_file).await.context("cannot open the database")?;
        let overrides = settings_overrides::all(&db).await.context("cannot read settings overrides")?;
        sync_env_values(&db, &env).await?;
        let key_file = boot.data_dir.join("access_key");
        let settings = Arc::new(SettingsHandle::new(env, &overrides, key_file).context("invalid setting")?);
        let config = settings.current();
        announce(&config, &settings);
        for dir in [&config.images_dir, &config.thumbnails_dir] {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }

        let transport = Transport::new(settings.env().get("SSL_CERT_FILE"))?
            .with_s3_ca_bundle(settings.env().get("AWS_CA_BUNDLE"))?
            .with_connection_limits(config.connection_limit, config.connection_limit_per_host)
            .with_memory_budget(config.upstream_memory_budget_bytes);
        let http = transport.plain_client()?;
        let staging_dir = config.data_dir.join("edit-sources");
        store::private_dir(&staging_dir)?;
        let thumbnails = ThumbnailSettings {
            images_dir: config.images_dir.clone(),
            thumbnails_dir: config.thumbnails_dir.clone(),
            max_side: config.thumbnail_max_side,
            concurrency: config.thumbnail_concurrency,
        };
        let upkeep = UpkeepSettings {
            images_dir: config.images_dir.clone(),
            thumbnails_dir: config.thumbnails_dir.clone(),
            orphan_ttl: config.orphan_file_ttl,
            imports_writing: Default::default(),
        };
        let metrics = Arc::new(panel_actors::metrics::Metrics::default());
        let deps = EngineDeps {
            db: db.clone(),
            staging_dir,
            thumbnails,
            upkeep,
            transport: transport.clone(),
            metrics: metrics.clone(),
            renderer: crate::api::job_view::renderer(settings.clone()),
            feed: Default::default(),
            exports: ExportSettings {
                images_dir: config.images_dir.clone(),
                thumbnails_dir: config.thumbnails_dir.clone(),
                exports_dir: config.data_dir.join("exports"),
            },
            imports: ImportSettings {
                images_dir: config.images_dir.clone(),
                imports_dir: config.data_dir.join("imports"),
            },
            gallery_feed: Default::default(),
            sync_settings: Arc::new(crate::r2_sync_settings::PanelSyncSettings {
                db: db.clone(),
                settings: settings.clone(),
            }),
            live: Arc::new(LiveSettings::new(live_values(&config))),
        };
        let engine = Engine::start(deps).await?;
        let acceptor = bind(&config).await?;
        let address = *acceptor.local_addr()[0].as_socket_addr().context("listener has no socket address")?;
        let state = Arc::new(AppState {
            settings,
            db,
            engine,
            transport,
            version_check: VersionCheck::new(http),
            settings_writer: tokio::sync::Mutex::new(()),
            sse_limiter: Arc::default(),
            gallery_counts: Default::default(),
            metrics,
            import_uploads: Arc::default(),
        });
        Ok(Application { address, acceptor, state })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }

    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()> {
        let endpoint = routes(self.state.clone());
        tracing::info!(address = %self.address, "GPT Image Panel listening");
        let sse = self.state.sse_limiter.clone();
        // Live streams never end by themselves: end them, so open tabs do not hold the stop for the
        // whole grace period (they reconnect to the next start).
        let shutdown = async move {
            shutdown.await;
            sse.close_all();
        };
        let result = poem::Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(endpoint, shutdown, Some(Duration::from_secs(10)))
            .await;
        self.state.engine.shutdown().await;
        self.state.db.clone().close().await.ok();
        result
    }
}

/// What the engine reads as it runs, from the current configuration.
fn live_values(config: &Config) -> LiveValues {
    LiveValues {
        max_active_units: config.max_active_jobs,
        history_keep: config.job_history_max_rows,
        max_image_pixels: config.max_image_pixels,
        version: crate::version_check::current_version(config),
    }
}

impl AppState {
    /// Hands the current values of the hot-reloadable settings that running parts hold (the engine's
    /// actors, the upstream memory budget) to them; called after every reload (start builds them
    /// with these values).
    pub fn apply_running_settings(&self) {
        let config = self.settings.current();
        self.transport.set_memory_budget(config.upstream_memory_budget_bytes);
        self.engine.apply_live(live_values(&config));
    }
}

/// Records what the environment says at this start, for Overall Config. Secret values are never
/// written, only whether they are set.
async fn sync_env_values(db: &DatabaseConnection, env: &EnvSnapshot) -> anyhow::Result<()> {
    let values: Vec<(String, String, bool)> = crate::settings::TABLE
        .iter()
        .map(|def| {
            let value = env.get(def.name);
            let shown = if def.secret { String::new() } else { value.unwrap_or_default().to_string() };
            (def.name.to_string(), shown, value.is_some())
        })
        .collect();
    settings_overrides::sync_env(db, &values).await.context("cannot record the environment")
}

/// A2: with no `ACCESS_KEY` and no explicit opt-out, a random key is created once in the data dir.
fn announce(config: &Config, settings: &SettingsHandle) {
    if config.access_key.is_none() {
        tracing::error!(
            "SECURITY: ALLOW_UNAUTHENTICATED=true and ACCESS_KEY is unset. All non-health API routes are running \
             without authentication. Set ACCESS_KEY to protect the panel."
        );
    } else if settings.uses_generated_key() {
        crate::settings::announce_generated_key(config, settings.fallback_key_file());
    }
    for name in settings.raw().ignored_but_set() {
        tracing::info!(setting = name, "setting has no effect in this server and is ignored");
    }
}

async fn bind(config: &Config) -> anyhow::Result<TcpAcceptor> {
    let wanted = config.listen_address();
    let address = tokio::net::lookup_host(&wanted)
        .await
        .with_context(|| format!("HOST/PORT {wanted} cannot be resolved"))?
        .next()
        .with_context(|| format!("HOST/PORT {wanted} resolves to nothing"))?;
    let socket = if address.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(address).with_context(|| format!("cannot listen on {address}"))?;
    let listener = socket.listen(config.listen_backlog)?;
    Ok(TcpAcceptor::from_tokio(listener)?)
}

/// The whole HTTP surface: the security layer around the router.
pub fn routes(state: Arc<AppState>) -> impl Endpoint<Output = Response> {
    let service = api::service();
    let router = Router {
        api: service.boxed(),
        spec: Arc::new(api::spec_json()),
        docs_html: Arc::new(api::service().redoc_html()),
        state: state.clone(),
    };
    router.data(state.clone()).with(SecurityLayer(state)).map_to_response()
}

struct Router {
    api: poem::endpoint::BoxEndpoint<'static>,
    spec: Arc<String>,
    docs_html: Arc<String>,
    state: Arc<AppState>,
}

impl Endpoint for Router {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        // E2: HEAD answers as GET without a body.
        let head = req.method() == Method::HEAD;
        if head {
            req.set_method(Method::GET);
        }
        let path = req.uri().path().to_string();
        let get = req.method() == Method::GET;
        let mut response = if gate::is_api_path(&path) || path == "/health" {
            self.api.call(req).await?
        } else if !get {
            return Err(ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed").into());
        } else if path == "/openapi.json" {
            let mut response = self.spec.as_str().to_string().into_response();
            response.headers_mut().insert("content-type", "application/json".parse().expect("static header"));
            response
        } else if path == "/docs" || path == "/docs/" {
            let nonce = new_nonce();
            html_response(inject_nonce(&self.docs_html, &nonce), docs_csp(&nonce))
        } else {
            let max_age = self.state.settings.current().immutable_asset_max_age;
            frontend::serve(&path, req.header("if-none-match"), max_age)?
        };
        if head {
            response.set_body(());
        }
        Ok(response)
    }
}
