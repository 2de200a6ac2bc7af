//! The REST API inside `canton-exchange run` (`--api-listen`): served beside ingestion and the
//! automation until they stop. Its tokens are `ROLE SHA256-HEX` lines (`internal` or
//! `operator`) from the environment or a file, never from argv; only their hashes are kept.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use exchange_api::{ApiAuth, ApiConfig};
use exchange_services::IngestConfig;
use exchange_store::Store;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[derive(clap::Args, Clone, Debug)]
pub struct ApiArgs {
    /// Serve the REST API (and /openapi.json, /healthz, /readyz) on this address.
    #[arg(long, value_name = "ADDR")]
    pub(crate) api_listen: Option<SocketAddr>,
    /// A file of API token hashes, one `ROLE SHA256-HEX` line each (ROLE: internal or
    /// operator). The same lines may be given in CANTON_EXCHANGE_API_TOKENS instead.
    #[arg(long, env = "CANTON_EXCHANGE_API_TOKENS_FILE", value_name = "FILE")]
    pub(crate) api_tokens_file: Option<PathBuf>,
}

/// The running API: stopped (requests in progress finished) by [`Api::stop`].
pub struct Api {
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    /// Where it listens (the port chosen for `:0`).
    addr: SocketAddr,
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

    /// Binds and starts the API if `--api-listen` is given (before the services, so a bad
    /// address or token file fails the start).
    pub async fn start(&self, store: &Store, ingest: &IngestConfig) -> Result<Option<Api>> {
        let Some(addr) = self.api_listen else {
            return Ok(None);
        };
        let auth = self.auth()?;
        let api = serve(addr, auth, store, ingest).await?;
        eprintln!("api: listening on http://{}", api.addr);
        Ok(Some(api))
    }
}

/// Binds `addr` and serves the API over `store` with `auth`'s tokens; the memo key and the
/// treasury party are ingestion's.
pub async fn serve(
    addr: SocketAddr,
    auth: ApiAuth,
    store: &Store,
    ingest: &IngestConfig,
) -> Result<Api> {
    let config = ApiConfig {
        treasury_party: Some(ingest.fold.treasury.clone()),
        memo_key: ingest.fold.memo_key.clone(),
        suspense_account: ingest.fold.suspense_account.clone(),
        ..ApiConfig::default()
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("--api-listen {addr}"))?;
    let addr = listener.local_addr()?;
    let app = exchange_api::router(store.clone(), auth, config);
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(exchange_api::serve(listener, app, async {
        let _ = stopped.await;
    }));
    Ok(Api { stop, task, addr })
}

impl Api {
    pub async fn stop(self) -> Result<()> {
        let _ = self.stop.send(());
        self.task
            .await
            .context("the API task")?
            .context("the API server")
    }
}
