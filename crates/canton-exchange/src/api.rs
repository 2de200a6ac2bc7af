//! The REST API inside `canton-exchange run` (`--api-listen`), and `/metrics` alone
//! (`--metrics-listen`): served beside ingestion and the automation until they stop. Its tokens are `ROLE SHA256-HEX` lines (`internal` or
//! `operator`) from the environment or a file, never from argv; only their hashes are kept.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use canton_ledger::client::LedgerClient;
use exchange_api::{ApiAuth, ApiConfig};
use exchange_services::{IngestConfig, Metrics};
use exchange_store::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(clap::Args, Clone, Debug)]
pub struct ApiArgs {
    /// Serve the REST API (and /openapi.json, /healthz, /readyz, /metrics) on this address.
    #[arg(long, value_name = "ADDR")]
    pub(crate) api_listen: Option<SocketAddr>,
    /// A file of API token hashes, one `ROLE SHA256-HEX` line each (ROLE: internal or
    /// operator). The same lines may be given in CANTON_EXCHANGE_API_TOKENS instead.
    #[arg(long, env = "CANTON_EXCHANGE_API_TOKENS_FILE", value_name = "FILE")]
    pub(crate) api_tokens_file: Option<PathBuf>,
    /// Serve `/metrics` (Prometheus, no token) on this address too, alone: for processes that
    /// serve no API, or to keep scrapes off the API's listener.
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics_listen: Option<SocketAddr>,
}

/// The running listeners (the API, `/metrics`): stopped (requests in progress finished) by
/// [`Api::stop`].
pub struct Api {
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<std::io::Result<()>>>,
    watcher: JoinHandle<()>,
}

impl ApiArgs {
    fn auth(&self) -> Result<ApiAuth> {
        let text = match (
            &self.api_tokens_file,
            std::env::var("CANTON_EXCHANGE_API_TOKENS"),
        ) {
            (Some(_), Ok(_)) => {
                bail!("API tokens: give CANTON_EXCHANGE_API_TOKENS or --api-tokens-file, not both")
            }
            (Some(path), Err(_)) => std::fs::read_to_string(path)
                .with_context(|| format!("reading the API tokens from {}", path.display()))?,
            (None, Ok(text)) => text,
            (None, Err(_)) => bail!(
                "--api-listen needs API tokens: CANTON_EXCHANGE_API_TOKENS or --api-tokens-file"
            ),
        };
        ApiAuth::parse(&text).context("API tokens")
    }

    /// Binds and starts the API if `--api-listen` is given, and `/metrics` alone if
    /// `--metrics-listen` is (before the services, so a bad address or token file fails the
    /// start); while either serves, the node's ledger end is watched for the lag.
    pub async fn start(
        &self,
        store: &Store,
        ingest: &IngestConfig,
        ledger: &LedgerClient,
        metrics: &Metrics,
    ) -> Result<Option<Api>> {
        let mut apps = Vec::new();
        if let Some(addr) = self.api_listen {
            let app =
                exchange_api::router(store.clone(), self.auth()?, api_config(ingest, metrics));
            apps.push((addr, "--api-listen", "api", app));
        }
        if let Some(addr) = self.metrics_listen {
            let app = exchange_api::metrics_router(store.clone(), metrics.clone());
            apps.push((addr, "--metrics-listen", "metrics", app));
        }
        if apps.is_empty() {
            return Ok(None);
        }
        listen(apps, ledger, metrics).await.map(Some)
    }
}

/// Binds each app's address and serves it until [`Api::stop`]; while they serve, the node's
/// ledger end is watched for the lag.
async fn listen(
    apps: Vec<(SocketAddr, &str, &str, exchange_api::Router)>,
    ledger: &LedgerClient,
    metrics: &Metrics,
) -> Result<Api> {
    let (stop, stopped) = watch::channel(false);
    let mut servers = Vec::new();
    for (addr, flag, what, app) in apps {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("{flag} {addr}"))?;
        let address = listener.local_addr()?;
        tracing::info!(%address, "{what}: listening on http://{address}");
        let mut stopped = stopped.clone();
        servers.push(tokio::spawn(exchange_api::serve(
            listener,
            app,
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            },
        )));
    }
    let watcher = tokio::spawn(watch_ledger_end(ledger.clone(), metrics.clone()));
    Ok(Api {
        stop,
        servers,
        watcher,
    })
}

/// How often the API's process asks the node for its ledger end.
const LEDGER_END_EVERY: Duration = Duration::from_secs(5);

/// Keeps `metrics`' ledger end fresh, so the status and `/metrics` report the lag behind it
/// whichever parts this process runs. A failed read keeps the last value (and is counted as
/// an error in the ledger call metrics).
async fn watch_ledger_end(ledger: LedgerClient, metrics: Metrics) {
    loop {
        if let Ok(end) = ledger.ledger_end().await {
            metrics.set_ledger_end(end);
        }
        tokio::time::sleep(LEDGER_END_EVERY).await;
    }
}

/// Serves the API over `store` on `addr` with `auth`'s tokens (tokens the caller made, as
/// `demo` does); the memo key and the treasury party are ingestion's.
pub async fn serve(
    addr: SocketAddr,
    auth: ApiAuth,
    store: &Store,
    ingest: &IngestConfig,
    ledger: &LedgerClient,
    metrics: &Metrics,
) -> Result<Api> {
    let app = exchange_api::router(store.clone(), auth, api_config(ingest, metrics));
    listen(vec![(addr, "--api-listen", "api", app)], ledger, metrics).await
}

fn api_config(ingest: &IngestConfig, metrics: &Metrics) -> ApiConfig {
    ApiConfig {
        treasury_party: Some(ingest.fold.treasury.clone()),
        memo_key: ingest.fold.memo_key.clone(),
        suspense_account: ingest.fold.suspense_account.clone(),
        metrics: metrics.clone(),
        ..ApiConfig::default()
    }
}

impl Api {
    pub async fn stop(self) -> Result<()> {
        self.watcher.abort();
        let _ = self.stop.send(true);
        for server in self.servers {
            server
                .await
                .context("the API task")?
                .context("the API server")?;
        }
        Ok(())
    }
}
