//! Starting and stopping the node: the only place with sockets and tasks.

use std::net::SocketAddr;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use exchange_core::Amount;

use crate::disaster::{BackupId, UnknownBackup};
use crate::faults::FaultConfig;
use crate::http::interactive::release_pending;
use std::sync::Arc;

use crate::http::oauth::{Issuer, OAuthConfig};
use crate::http::{AppState, AuthConfig, RestoreReport, router};
use crate::info::{InfoParties, InfoSynchronizer, InfoToken, SandboxInfo};
use crate::model::{LedgerConfig, LedgerError, SyncIdx, SynchronizerConfig};
use crate::pending::ReleaseReport;
use crate::scenario::{Scenario, ScenarioParties, plant};
use crate::tls::{TlsIdentity, TlsListener};
use crate::token::{AmuletConfig, ImportedAcs, TokenError};
use crate::treasury::TreasuryKey;
use crate::world::World;

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The Ledger API (HTTP/1.1 and websocket) and the control API; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The Admin API (gRPC over h2c); port 0 picks a free port.
    pub admin_listen: SocketAddr,
    pub ledger: LedgerConfig,
    pub amulet: AmuletConfig,
    /// Which of `ledger.synchronizers` the offer-only token (SBX) lives on.
    pub token_synchronizer: SyncIdx,
    /// SBX as a V2-only issuer: token standard V2 views, interfaces and events, no V1 signals
    /// (a V1 reader sees no SBX transfer). Off by default: SBX then speaks V1 and V2.
    pub sbx_v2_only: bool,
    pub scenario: Scenario,
    /// When set, every Ledger API (`/v2`) request must present this bearer token.
    pub auth_token: Option<String>,
    /// When set, `POST /oauth/token` issues short-lived tokens to this client, and the Ledger
    /// API accepts them (besides `auth_token`) until they expire.
    pub oauth: Option<OAuthConfig>,
    /// When set, the Ledger API (with the registries and the token endpoint) and the Admin
    /// API are served over TLS with this certificate.
    pub tls: Option<TlsIdentity>,
    /// Injected Ledger API faults from the start (changeable at runtime through
    /// `POST /sandbox/control/faults`); the default injects nothing.
    pub faults: FaultConfig,
    /// When set, the scenario's treasury is an external party of this key, and each of its
    /// actions is prepared, signed with it and executed (see [`crate::treasury`]).
    pub treasury_key: Option<TreasuryKey>,
    /// Once serving, record times follow the wall clock as on a real synchronizer (each
    /// synchronizer keeps its distance from the global one), instead of moving only a fixed
    /// step per transaction. Off by default: runs are then reproducible.
    pub wall_clock: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ledger: LedgerConfig::default(),
            amulet: AmuletConfig::default(),
            token_synchronizer: 0,
            sbx_v2_only: false,
            scenario: Scenario::Empty,
            auth_token: None,
            oauth: None,
            tls: None,
            faults: FaultConfig::default(),
            treasury_key: None,
            wall_clock: false,
        }
    }
}

impl SandboxConfig {
    /// Connects the node to a second synchronizer, `sbx` (id `sbx-synchronizer::1220…`), whose
    /// clock starts `behind_micros` before the global one's, and moves the offer-only token onto
    /// it: SBX transactions then get record times below Canton Coin's while their offsets
    /// interleave, as on a validator connected to two synchronizers with unrelated clocks.
    pub fn with_second_synchronizer(mut self, behind_micros: i64) -> SandboxConfig {
        if self.ledger.synchronizers.is_empty() {
            self.ledger.synchronizers.push(SynchronizerConfig::global());
        }
        let start = self
            .ledger
            .start_time
            .checked_add_micros(-behind_micros)
            .unwrap_or(self.ledger.start_time);
        self.ledger.synchronizers.push(SynchronizerConfig {
            alias: "sbx".into(),
            identifier: "sbx-synchronizer".into(),
            start_time: Some(start),
        });
        self.token_synchronizer = self.ledger.synchronizers.len() - 1;
        self
    }

    /// The `multi-sync` scenario needs SBX on a second synchronizer: added (10 minutes behind)
    /// unless the config already has one.
    fn for_scenario(self) -> SandboxConfig {
        if self.scenario == Scenario::MultiSync && self.ledger.synchronizers.len() < 2 {
            return self.with_second_synchronizer(MULTI_SYNC_BEHIND_MICROS);
        }
        self
    }
}

/// How far the `multi-sync` scenario's second synchronizer runs behind the global one.
pub const MULTI_SYNC_BEHIND_MICROS: i64 = 600_000_000;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the TLS certificate: {0}")]
    Tls(String),
    #[error("seeding the ledger failed: {0}")]
    Seed(#[from] crate::token::TokenError),
}

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    addr: SocketAddr,
    admin_addr: SocketAddr,
    /// Served over TLS: URLs are `https://`.
    tls: bool,
    /// The token endpoint's issuer, when `POST /oauth/token` issues tokens.
    issuer: Option<Arc<Issuer>>,
    state: AppState,
    parties: ScenarioParties,
    shutdown: Vec<oneshot::Sender<()>>,
    tasks: Vec<JoinHandle<()>>,
}

async fn bind(addr: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), StartError> {
    let listen_error = |source| StartError::Listen { addr, source };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(listen_error)?;
    let bound = listener.local_addr().map_err(listen_error)?;
    Ok((listener, bound))
}

/// Serves `app` until told to stop, over TLS with `tls`.
fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    tls: Option<&std::sync::Arc<rustls::ServerConfig>>,
) -> (oneshot::Sender<()>, JoinHandle<()>) {
    let (tx, rx) = oneshot::channel();
    let stop = async {
        let _ = rx.await;
    };
    let task = match tls {
        Some(config) => {
            let listener = TlsListener::new(listener, config.clone());
            tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(stop)
                    .await;
            })
        }
        None => tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await;
        }),
    };
    (tx, task)
}

impl Sandbox {
    /// Seeds the ledger, binds, and serves in a background task of the current runtime.
    pub async fn start(config: SandboxConfig) -> Result<Sandbox, StartError> {
        let config = config.for_scenario();
        let mut world = World::new(
            config.ledger,
            config.amulet,
            config.token_synchronizer,
            config.sbx_v2_only,
        )?;
        let parties = plant(&mut world, config.scenario, config.treasury_key.as_ref())?;
        let mut state = AppState::new(world);
        if config.wall_clock {
            state.follow_wall_clock();
        }
        state.set_faults(config.faults);
        let tls = match &config.tls {
            Some(identity) => Some(identity.server_config().map_err(StartError::Tls)?),
            None => None,
        };
        let (listener, addr) = bind(config.listen).await?;
        let (admin_listener, admin_addr) = bind(config.admin_listen).await?;
        let issuer = config.oauth.clone().map(|c| Arc::new(Issuer::new(c)));
        let auth = AuthConfig {
            token: config.auth_token.clone(),
            issuer: issuer.clone(),
        };
        let (stop_api, api) = serve(listener, router(state.clone(), &auth), tls.as_ref());
        let (stop_admin, admin) = serve(
            admin_listener,
            crate::admin::router(state.clone()),
            tls.as_ref(),
        );
        Ok(Sandbox {
            addr,
            admin_addr,
            tls: tls.is_some(),
            issuer,
            state,
            parties,
            shutdown: vec![stop_api, stop_admin],
            tasks: vec![api, admin],
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>` (`https://` with TLS), the base of `/v2/...`.
    pub fn ledger_api_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// `host:port` of the Admin API (gRPC over h2c), as `grpcurl -plaintext` takes it;
    /// `https://host:port` with TLS.
    pub fn admin_api_url(&self) -> String {
        match self.tls {
            true => format!("https://{}", self.admin_addr),
            false => self.admin_addr.to_string(),
        }
    }

    /// The OAuth2 token endpoint, when the sandbox issues tokens.
    pub fn oauth_token_url(&self) -> Option<String> {
        self.issuer
            .as_ref()
            .map(|_| format!("{}/oauth/token", self.ledger_api_url()))
    }

    /// How many OAuth2 tokens the token endpoint issued.
    pub fn tokens_issued(&self) -> u64 {
        self.issuer.as_ref().map_or(0, |i| i.issued())
    }

    /// Invalidates every OAuth2 token issued so far (as a key rotation at an identity
    /// provider does): requests presenting one get 401.
    pub fn revoke_tokens(&self) {
        if let Some(issuer) = &self.issuer {
            issuer.revoke_all();
        }
    }

    pub fn ledger_end(&self) -> i64 {
        self.state.read().ledger.ledger_end()
    }

    pub fn parties(&self) -> &ScenarioParties {
        &self.parties
    }

    /// Direct access to the node's state (in-process tests, demos); changes wake the streams.
    pub fn with_world<R>(&self, f: impl FnOnce(&mut crate::world::World) -> R) -> R {
        self.state.change(f)
    }

    /// Replaces the injected faults, as `POST /sandbox/control/faults` does (`Default` clears
    /// them); their random stream restarts from the seed.
    pub fn set_faults(&self, config: FaultConfig) {
        self.state.set_faults(config);
    }

    /// Tampers with every `prepare` answer from now on, drawing among `kinds` (an empty list
    /// stops tampering). Replaces the other injected faults.
    pub fn tamper_prepare(&self, seed: u64, kinds: &[crate::faults::TamperKind]) {
        self.set_faults(FaultConfig {
            seed,
            tamper_prepare: kinds.to_vec(),
            tamper_rate: 1.0,
            ..FaultConfig::default()
        });
    }

    /// Turns the `holdExecutions` fault on or off, keeping the other faults (their random stream
    /// restarts from the seed). Turning it off sequences nothing: held executions wait for
    /// [`Sandbox::release_pending`] or are lost by a restore.
    pub fn hold_executions(&self, on: bool) {
        let mut config = self.state.fault_config();
        config.hold_executions = on;
        self.set_faults(config);
    }

    /// Sequences the executions held so far, in order (see
    /// [`crate::http::interactive::release_pending`]).
    pub fn release_pending(&self) -> ReleaseReport {
        self.state.change(release_pending)
    }

    /// How many accepted executions wait to be sequenced.
    pub fn pending_executions(&self) -> usize {
        self.state.read().pending.len()
    }

    /// Snapshots the node (what an operator's database backup captures).
    pub fn backup(&self) -> BackupId {
        self.state.backup()
    }

    /// Restores the node from `backup`: see [`crate::world::World::restore`]. Streams open at the
    /// time end, as on a restarted node.
    ///
    /// # Panics
    /// If `backup` was not taken by this sandbox (use [`Sandbox::try_restore`] to get an error).
    pub fn restore(&self, backup: &BackupId) -> RestoreReport {
        self.try_restore(backup)
            .unwrap_or_else(|e| panic!("restore failed: {e}"))
    }

    pub fn try_restore(&self, backup: &BackupId) -> Result<RestoreReport, UnknownBackup> {
        self.state.restore(backup)
    }

    /// Prunes history up to `offset` inclusive.
    ///
    /// # Panics
    /// If `offset` is beyond the ledger end (use [`Sandbox::try_prune`] to get an error).
    pub fn prune(&self, offset: i64) {
        self.try_prune(offset)
            .unwrap_or_else(|e| panic!("prune failed: {e}"))
    }

    pub fn try_prune(&self, offset: i64) -> Result<(), LedgerError> {
        self.state.change(|w| w.ledger.prune(offset))
    }

    /// A participant-local ACS import of Amulets for `owner` at record time
    /// 0001-01-01T00:00:00Z: an update whose record time is not unique and not increasing.
    pub fn import_acs_at_min_time(
        &self,
        owner: &str,
        amounts: &[Amount],
    ) -> Result<ImportedAcs, TokenError> {
        self.state
            .change(|w| w.amulet.import_at_min_time(&mut w.ledger, owner, amounts))
    }

    pub fn info(&self) -> SandboxInfo {
        let world = self.state.read();
        let sync = |i| world.ledger.synchronizer(i).id.clone();
        SandboxInfo {
            ledger_api_url: self.ledger_api_url(),
            admin_api_url: self.admin_api_url(),
            oauth_token_url: self.oauth_token_url(),
            synchronizer_id: world.ledger.synchronizer_id().to_owned(),
            synchronizers: world
                .ledger
                .synchronizers()
                .iter()
                .map(|s| InfoSynchronizer {
                    alias: s.alias.clone(),
                    synchronizer_id: s.id.clone(),
                })
                .collect(),
            parties: InfoParties {
                treasury: self.parties.treasury.clone(),
                treasury_public_key_fingerprint: self
                    .parties
                    .treasury
                    .as_ref()
                    .and_then(|t| world.external.key_of(t))
                    .map(|k| k.fingerprint.clone()),
                customers: self.parties.customers.clone(),
                dso: world.amulet.dso.clone(),
                validator: world.amulet.provider.clone(),
            },
            tokens: vec![
                InfoToken {
                    admin: world.amulet.dso.clone(),
                    instrument_id: "Amulet".into(),
                    synchronizer_id: sync(world.amulet.config.synchronizer),
                    registry_url: format!("{}/registry/amulet", self.ledger_api_url()),
                },
                InfoToken {
                    admin: world.token.admin.clone(),
                    instrument_id: crate::token::offer::INSTRUMENT_ID.into(),
                    synchronizer_id: sync(world.token.synchronizer),
                    registry_url: format!("{}/registry/token", self.ledger_api_url()),
                },
            ],
        }
    }

    /// Stops accepting connections and waits for the server tasks.
    pub async fn shutdown(mut self) {
        for tx in self.shutdown.drain(..) {
            let _ = tx.send(());
        }
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for tx in self.shutdown.drain(..) {
            let _ = tx.send(());
        }
    }
}
