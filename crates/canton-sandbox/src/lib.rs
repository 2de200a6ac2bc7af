//! `canton-sandbox`: a small, faithful Canton participant for tests, demos and drills, reachable
//! only over the real wire protocol (JSON Ledger API v2 in the 3.4 shape).
//!
//! Layers, from pure to IO: [`daml`] (value encoding), [`model`] (ledger, projections), [`token`]
//! (Canton Coin-like templates and their transaction trees), [`world`] (the node's state),
//! [`scenario`] (seed data), [`http`] (the Ledger API and the sandbox-only control API under
//! `/sandbox/control`), [`server`] (start/stop), [`info`] (the info file).
//!
//! ```no_run
//! # async fn demo() -> Result<(), canton_sandbox::StartError> {
//! use canton_sandbox::{Sandbox, SandboxConfig, Scenario};
//! let sandbox = Sandbox::start(SandboxConfig { scenario: Scenario::Basic, ..Default::default() }).await?;
//! println!("{}", sandbox.ledger_api_url());
//! sandbox.info().write_to(std::path::Path::new("sandbox-info.json")).expect("writable");
//! # Ok(()) }
//! ```

pub mod admin;
pub mod completions;
pub mod daml;
pub mod disaster;
pub mod disclosure;
pub mod faults;
pub mod http;
pub mod info;
pub mod interactive;
pub mod model;
pub mod packages;
pub mod pending;
pub mod prepared;
pub mod registry;
pub mod scenario;
pub mod server;
pub mod submit;
pub mod tamper;
pub mod tls;
pub mod token;
pub mod topology;
pub mod treasury;
pub mod world;

pub use disaster::BackupId;
pub use faults::{FaultConfig, TamperKind};
pub use http::oauth::OAuthConfig;
pub use info::SandboxInfo;
pub use model::{SyncIdx, SynchronizerConfig};
pub use scenario::Scenario;
pub use server::{Sandbox, SandboxConfig, StartError};
pub use tls::TlsIdentity;
pub use treasury::TreasuryKey;
