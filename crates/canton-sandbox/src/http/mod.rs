//! The node's HTTP face: the JSON Ledger API v2 subset (3.4 shape) and, apart under
//! `/sandbox/control`, a control API that only a sandbox has (minting, transfers, time).

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::routing::{get, post};
use tokio::sync::watch;

use crate::disaster::{BackupId, Backups, UnknownBackup};
use crate::faults::{Decision, FaultConfig, Faults};
use crate::world::World;

pub mod acs;
pub mod auth;
pub mod commands;
pub mod completions;
pub mod control;
pub mod error;
pub mod events;
pub mod faults;
pub mod interactive;
pub mod oauth;
pub mod packages;
pub mod parties;
pub mod registry;
pub mod state;
pub mod updates;
pub mod ws;

/// The `http-list-max-elements-limit` default.
pub const MAX_LIST_ELEMENTS: usize = 200;
/// The `http-list-wait-time` default: idle wait of open-ended list calls.
pub const DEFAULT_IDLE_MS: u64 = 500;

/// How an injected fault ends a websocket stream early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebsocketCut {
    /// The connection ends without a close handshake (a lost connection).
    Drop,
    /// A normal close, as at the end of a stream (a server shutting down).
    Close,
}

/// Shared by all handlers. The world is behind a plain mutex, never held across an await; a
/// watch channel announces every change (new update or clock move) to waiting streams.
#[derive(Clone)]
pub struct AppState {
    world: Arc<Mutex<World>>,
    changes: Arc<watch::Sender<u64>>,
    backups: Arc<Mutex<Backups>>,
    /// Injected Ledger API faults; `None` serves everything. A lock of its own, so drawing a
    /// fault never waits for the world.
    faults: Arc<Mutex<Option<Faults>>>,
    /// With a wall clock: each synchronizer's distance (µs) from the global one's, kept as
    /// all follow the wall clock.
    wall_clock: Option<Arc<Vec<i64>>>,
}

/// What a restore did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreReport {
    /// Updates committed on the synchronizer after the backup, delivered again.
    pub redelivered: usize,
    pub ledger_end: i64,
}

impl AppState {
    pub fn new(world: World) -> AppState {
        AppState {
            world: Arc::new(Mutex::new(world)),
            changes: Arc::new(watch::channel(0).0),
            backups: Arc::default(),
            faults: Arc::default(),
            wall_clock: None,
        }
    }

    /// From now on, record times follow the wall clock (see `SandboxConfig::wall_clock`).
    pub fn follow_wall_clock(&mut self) {
        let offsets = {
            let world = self.read();
            let global = world.ledger.record_time_of(0).micros();
            (0..world.ledger.synchronizers().len())
                .map(|i| world.ledger.record_time_of(i).micros() - global)
                .collect()
        };
        self.wall_clock = Some(Arc::new(offsets));
    }

    /// Replaces the injected faults, restarting their random stream from the seed; an inactive
    /// config (`{}`) clears them.
    pub fn set_faults(&self, config: FaultConfig) {
        *self.lock_faults() = config.is_active().then(|| Faults::new(config));
    }

    pub fn fault_config(&self) -> FaultConfig {
        self.lock_faults()
            .as_ref()
            .map(|f| f.config().clone())
            .unwrap_or_default()
    }

    /// The fate of the next Ledger API request.
    pub fn decide_fault(&self) -> Decision {
        self.lock_faults()
            .as_mut()
            .map(Faults::decide)
            .unwrap_or_default()
    }

    /// Whether (and how) the `prepare` being answered is tampered with.
    pub fn decide_tamper(&self) -> Option<crate::faults::TamperKind> {
        self.lock_faults().as_mut().and_then(Faults::decide_tamper)
    }

    /// Whether the answer of the execution that just committed is lost.
    pub fn lose_execute_answer(&self) -> bool {
        self.lock_faults()
            .as_mut()
            .is_some_and(Faults::lose_execute_answer)
    }

    /// Whether `execute` holds what it accepts instead of sequencing it.
    pub fn holds_executions(&self) -> bool {
        self.lock_faults()
            .as_ref()
            .is_some_and(|f| f.config().hold_executions)
    }

    /// After how many frames a websocket stream opened now is cut, and how.
    pub fn websocket_cut(&self) -> Option<(usize, WebsocketCut)> {
        let config = self.fault_config();
        let drop = config.drop_websocket_after.map(|n| (n, WebsocketCut::Drop));
        let close = config
            .close_websocket_after
            .map(|n| (n, WebsocketCut::Close));
        match (drop, close) {
            (Some(d), Some(c)) => Some(if c.0 < d.0 { c } else { d }),
            (d, c) => d.or(c),
        }
    }

    fn lock_faults(&self) -> MutexGuard<'_, Option<Faults>> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Snapshots the node. The world is cloned under its lock and shelved after, so the two
    /// locks are never held together.
    pub fn backup(&self) -> BackupId {
        let snapshot = self.read().clone();
        self.backups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take(&snapshot)
    }

    /// Restores the node from a backup; open streams end as if the node restarted.
    pub fn restore(&self, id: &BackupId) -> Result<RestoreReport, UnknownBackup> {
        let snapshot = self
            .backups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)?
            .clone();
        Ok(self.change(|w| RestoreReport {
            redelivered: w.restore(&snapshot),
            ledger_end: w.ledger.ledger_end(),
        }))
    }

    pub fn read(&self) -> MutexGuard<'_, World> {
        // A panic while holding the lock cannot leave the world half-changed (commits are
        // atomic), so a poisoned lock is still usable.
        let mut world = self.world.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(offsets) = &self.wall_clock {
            // Time passing: each clock moves up to the wall clock (never back).
            let now = exchange_core::Timestamp::now();
            for (i, offset) in offsets.iter().enumerate() {
                if let Some(to) = now.checked_add_micros(*offset)
                    && to > world.ledger.record_time_of(i)
                {
                    let _ = world.ledger.set_time_of(i, to);
                }
            }
        }
        world
    }

    /// Runs a change and wakes every stream.
    pub fn change<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let result = f(&mut self.read());
        self.changes.send_modify(|n| *n += 1);
        result
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

/// How the Ledger API authenticates: a static token, tokens from the sandbox's own OAuth2
/// token endpoint (`POST /oauth/token`), either, or none.
#[derive(Clone, Default)]
pub struct AuthConfig {
    pub token: Option<String>,
    pub issuer: Option<Arc<oauth::Issuer>>,
}

/// The node's HTTP routes; with a token or OAuth2 in `auth`, the Ledger API (`/v2`) requires
/// one.
pub fn router(state: AppState, auth: &AuthConfig) -> Router {
    let ledger_api = Router::new()
        .route("/v2/state/ledger-end", get(state::ledger_end))
        .route(
            "/v2/state/latest-pruned-offsets",
            get(state::latest_pruned_offsets),
        )
        .route(
            "/v2/state/connected-synchronizers",
            get(state::connected_synchronizers),
        )
        .route("/v2/state/active-contracts", post(acs::active_contracts))
        .route("/v2/version", get(state::version))
        .route(
            "/v2/packages",
            get(packages::list)
                .post(packages::upload)
                // Real DARs run to megabytes (axum's default limit is 2 MB).
                .layer(axum::extract::DefaultBodyLimit::max(256 << 20)),
        )
        .route("/v2/packages/{id}", get(packages::archive))
        .route("/v2/packages/{id}/status", get(packages::status))
        .route("/v2/parties", get(state::parties))
        .route("/v2/parties/participant-id", get(state::participant_id))
        .route(
            "/v2/parties/external/generate-topology",
            post(parties::generate_topology),
        )
        .route("/v2/parties/external/allocate", post(parties::allocate))
        .route(
            "/v2/updates",
            post(updates::post_updates).get(ws::updates_websocket),
        )
        .route(
            "/v2/updates/update-by-offset",
            post(updates::update_by_offset),
        )
        .route("/v2/updates/update-by-id", post(updates::update_by_id))
        .route(
            "/v2/commands/submit-and-wait",
            post(commands::submit_and_wait),
        )
        .route("/v2/commands/completions", post(completions::completions))
        .route(
            "/v2/interactive-submission/prepare",
            post(interactive::prepare_submission),
        )
        .route(
            "/v2/interactive-submission/execute",
            post(interactive::execute),
        )
        .route(
            "/v2/interactive-submission/executeAndWait",
            post(interactive::execute_and_wait),
        )
        .route(
            "/v2/events/events-by-contract-id",
            post(events::events_by_contract_id),
        );
    let issuer = auth.issuer.clone();
    let ledger_api = if auth.token.is_some() || issuer.is_some() {
        let authenticator = Arc::new(auth::Authenticator {
            token: auth.token.clone(),
            issuer: issuer.clone(),
        });
        ledger_api.route_layer(axum::middleware::from_fn_with_state(
            authenticator,
            auth::require_token,
        ))
    } else {
        ledger_api
    };
    // Outermost (layered last): an overloaded node sheds load before it authenticates.
    let ledger_api = ledger_api.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        faults::inject,
    ));
    ledger_api
        .nest("/sandbox/control", control::router())
        .nest(
            "/registry/amulet",
            registry::router(crate::registry::Registry::Amulet),
        )
        .nest(
            "/registry/token",
            registry::router(crate::registry::Registry::Token),
        )
        .with_state(state)
        .merge(token_endpoint(issuer))
}

/// `POST /oauth/token`, when the sandbox issues tokens.
fn token_endpoint(issuer: Option<Arc<oauth::Issuer>>) -> Router {
    match issuer {
        Some(issuer) => Router::new()
            .route("/oauth/token", post(oauth::token))
            .with_state(issuer),
        None => Router::new(),
    }
}
