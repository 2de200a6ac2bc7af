//! The demo's stage: a sandbox node whose treasury is an external party (its key in a 0600
//! file in a temporary directory), funded customers, both sandbox tokens onboarded, the
//! Integration DB, and the services of `run` with the REST API, configured with the flags an
//! operator would give `run`. The node and the DB are the disaster drills' (`exchange_drill`),
//! so the demo's restores and invariants are theirs too.

use std::io::Write;
use std::net::SocketAddr;

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;
use exchange_api::{ApiAuth, Role, TokenHash};
use exchange_drill::disaster::Backups;
use exchange_drill::exchange::{Exchange, TREASURY_KEY_FILE};
use exchange_drill::rng::Rng;
use exchange_drill::traffic::Traffic;
use exchange_drill::{DbTarget, db::ScratchDb};
use exchange_services::memo_key;
use tokio::sync::watch;

use super::client::Client;

/// The node's ids derive from it; the demo tells the same story every time.
const SEED: u64 = 13;
const MEMO_KEY_FILE: &str = "memo.key";

/// The node, the DB and the customers' activity on the node (what the invariants check
/// the DB against).
pub struct World {
    pub x: Exchange,
    pub traffic: Traffic,
    pub backups: Backups,
    pub rng: Rng,
}

/// `run`'s services and API, started and stopped around each part of the story.
pub struct Services {
    args: crate::run::Args,
    auth: ApiAuth,
    listen: SocketAddr,
    /// Shown with `--keep-running` only.
    pub operator_token: String,
}

pub struct Stage {
    pub world: World,
    pub api: Client,
    pub services: Services,
}

/// The flags of `run`, parsed as `run` parses them.
#[derive(Parser)]
struct RunFlags {
    #[command(flatten)]
    cli: crate::run::Cli,
}

/// A fresh bearer token: 32 random bytes, hex.
fn new_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow!("random bytes for an API token: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The story starts from nothing: a DB that already has accounts is another exchange's (or
/// an earlier demo's, of a node that is gone), and is left as it is.
async fn refuse_a_used_db(db: &ScratchDb) -> Result<()> {
    let store = db.open().await?;
    let accounts = store.accounts().await;
    store.close().await;
    let accounts = accounts?.len();
    if accounts > 0 {
        bail!(
            "the demo needs a new, empty Integration DB: {} already has {accounts} account(s)",
            crate::secrets::redact_url(&db.url)
        );
    }
    Ok(())
}

/// A free port on 127.0.0.1 for the API, kept across the restarts so that its URL stays.
async fn free_port() -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("finding a port for the API")?;
    Ok(listener.local_addr()?)
}

impl Stage {
    /// Starts the node and opens the DB (`db`: a URL, or a new SQLite file when `None`).
    pub async fn set_up(db: Option<&str>, out: &mut dyn Write) -> Result<Stage> {
        let target = match db {
            None => DbTarget::Sqlite,
            Some(url) => DbTarget::Url(url.to_owned()),
        };
        let scratch = ScratchDb::create(&target, SEED).await?;
        refuse_a_used_db(&scratch).await?;
        let mut x = Exchange::launch(scratch, SEED).await?;
        let memo_file = x.db.file(MEMO_KEY_FILE);
        x.memo_key = memo_key::generate(&memo_file).context("the withdrawal memo key")?;
        writeln!(out, "== the stage")?;
        writeln!(out, "  sandbox node      {}", x.sandbox.ledger_api_url())?;
        writeln!(
            out,
            "  treasury          {} (external party, key file 0600)",
            x.treasury
        )?;
        writeln!(
            out,
            "  Integration DB    {}",
            crate::secrets::redact_url(&x.db.url)
        )?;
        let (internal, operator) = (new_token()?, new_token()?);
        let auth = ApiAuth::new()
            .with(Role::Internal, TokenHash::of(&internal))
            .with(Role::Operator, TokenHash::of(&operator));
        let listen = free_port().await?;
        let api = Client::new(format!("http://{listen}"), internal, operator.clone())?;
        writeln!(
            out,
            "  REST API          {} (fresh bearer tokens, in memory)",
            api.base()
        )?;
        let services = Services {
            args: run_args(&x)?,
            auth,
            listen,
            operator_token: operator,
        };
        Ok(Stage {
            world: World {
                x,
                traffic: Traffic::new(),
                backups: Backups::default(),
                rng: Rng::new(SEED),
            },
            api,
            services,
        })
    }

    pub async fn finish(self) {
        self.world.x.finish().await;
    }
}

/// `run`'s flags for this node: the treasury and its key, the registries of both tokens,
/// the memo key, a Canton Coin pool (merge dust below 5, keep one holding of 100), and timings
/// short enough for a demo (offers open an hour, so that one can expire).
fn run_args(x: &Exchange) -> Result<crate::run::Args> {
    let key = x.db.file(TREASURY_KEY_FILE);
    let memo = x.db.file(MEMO_KEY_FILE);
    let mut argv: Vec<String> = [
        "run",
        "--party",
        &x.treasury,
        "--ledger",
        &x.sandbox.ledger_api_url(),
        "--db",
        &x.db.url,
        "--treasury-key",
        &key.display().to_string(),
        "--memo-key-file",
        &memo.display().to_string(),
        "--pool",
        "Amulet:1:100:5",
        "--pool-secs",
        "1",
        "--offer-hours",
        "1",
        "--outcome-timeout-secs",
        "5",
        "--retry-secs",
        "1",
        "--retry-delay-ms",
        "100",
        "--worker",
        "demo",
    ]
    .map(str::to_owned)
    .into();
    for token in x.sandbox.info().tokens {
        argv.push("--registry".into());
        argv.push(format!("{}={}", token.admin, token.registry_url));
    }
    let flags = RunFlags::try_parse_from(argv).context("the demo's flags for run")?;
    Ok(*flags.cli.flags)
}

impl Services {
    /// Runs `part` of the story while the services and the API are up; stops them after it
    /// (requests and batches in progress finished). If the services stop first, that is an
    /// error of the part.
    pub async fn during<T>(&self, part: impl Future<Output = Result<T>>) -> Result<T> {
        let (stop_tx, stop) = watch::channel(false);
        // The story says what happens; ingestion's own lines would only interleave with it.
        let quiet = std::sync::Arc::new(exchange_services::observe::Silent);
        let services =
            crate::run::serve_until(&self.args, self.auth.clone(), self.listen, stop, quiet);
        tokio::pin!(services, part);
        tokio::select! {
            done = &mut part => {
                let _ = stop_tx.send(true);
                services.await.context("the services, stopping")?;
                done
            }
            ended = &mut services => Err(ended.err().unwrap_or_else(|| {
                anyhow!("the services stopped in the middle of the story")
            })),
        }
    }
}
