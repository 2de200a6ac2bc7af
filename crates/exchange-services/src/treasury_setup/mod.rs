//! `treasury setup` (`node-operations.rst`, "Setup the treasury party"), loop-free glue: the
//! treasury becomes an external party of its own key, then gets its Canton Coin
//! `TransferPreapproval` with the validator operator as provider. Each step first looks for
//! what an earlier run did and says whether it did or found it, so running it again is
//! harmless. The key signs only what core verified: the onboarding topology (decoded, checked,
//! multi-hash recomputed) and the preapproval proposal's prepared transaction (decoded,
//! verified, re-hashed).

mod party;
mod preapproval;

use std::fmt;
use std::time::Duration;

use canton_interactive::topology::TopologyMismatch;
use canton_ledger::client::{ClientError, LedgerClient};
use canton_ledger::registry_client::RegistryClient;
use exchange_core::signing::{Refused, SignError, Signer};
use exchange_core::{ContractId, PartyId};

/// What `treasury setup` is asked to do.
#[derive(Debug, Clone)]
pub struct SetupConfig {
    /// The party hint: the treasury is `hint::<fingerprint of the key>`.
    pub hint: String,
    /// Where to onboard; `None`: the participant's only connected synchronizer.
    pub synchronizer: Option<String>,
    /// The preapproval's provider (the validator operator party); required to create one.
    pub provider: Option<PartyId>,
    /// The DSO party; `None`: the Canton Coin registry's admin ([`SetupConfig::registry`]).
    pub dso: Option<PartyId>,
    /// The Canton Coin registry (the scan proxy), asked for the DSO when `dso` is unset.
    pub registry: Option<RegistryClient>,
    /// The Ledger API user submissions are made as.
    pub user_id: String,
    /// How long to wait for the party to be listed and the preapproval to be active.
    pub timeout: Duration,
    pub poll_interval: Duration,
}

impl SetupConfig {
    pub fn new(hint: &str, user_id: &str) -> SetupConfig {
        SetupConfig {
            hint: hint.to_owned(),
            synchronizer: None,
            provider: None,
            dso: None,
            registry: None,
            user_id: user_id.to_owned(),
            timeout: Duration::from_secs(60),
            poll_interval: Duration::from_millis(500),
        }
    }
}

/// One step's result, as the operator reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    AllocatedParty(PartyId),
    FoundParty(PartyId),
    /// A proposal was signed and executed and the provider's acceptance is active.
    CreatedPreapproval(ContractId),
    FoundPreapproval(ContractId),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::AllocatedParty(p) => write!(f, "allocated treasury {p} as an external party"),
            Step::FoundParty(p) => write!(f, "found treasury {p} already allocated"),
            Step::CreatedPreapproval(c) => write!(f, "created TransferPreapproval {c}"),
            Step::FoundPreapproval(c) => write!(f, "found TransferPreapproval {c} already active"),
        }
    }
}

/// What setup left on the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    pub treasury: PartyId,
    pub preapproval: ContractId,
    pub steps: Vec<Step>,
}

/// Why setup stopped. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{what}: {source}")]
    Ledger {
        what: &'static str,
        source: ClientError,
    },
    /// The node's onboarding transactions are not the party asked for: nothing was signed.
    #[error("refused to sign the treasury's onboarding: {0}")]
    Topology(#[from] TopologyMismatch),
    /// The prepared preapproval is not what was asked for: nothing was signed.
    #[error("refused to sign the preapproval: {0}")]
    Refused(#[from] Refused),
    #[error(transparent)]
    Signer(#[from] SignError),
    /// The node, the registry or the configuration does not allow going on.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Timeout(String),
}

fn ledger(what: &'static str) -> impl FnOnce(ClientError) -> SetupError {
    move |source| SetupError::Ledger { what, source }
}

/// Sets the treasury up (or finds it set up), reporting each step to `report` as it ends.
pub async fn setup_treasury(
    client: &LedgerClient,
    signer: &dyn Signer,
    config: &SetupConfig,
    mut report: impl FnMut(&Step),
) -> Result<Setup, SetupError> {
    let mut steps = Vec::new();
    let mut done = |step: Step, steps: &mut Vec<Step>| {
        report(&step);
        steps.push(step);
    };
    let synchronizer = party::synchronizer(client, config).await?;
    let (treasury, step) = party::ensure_party(client, signer, config, &synchronizer).await?;
    done(step, &mut steps);
    let context = preapproval::Context {
        client,
        signer,
        config,
        treasury: &treasury,
        synchronizer: &synchronizer,
    };
    let (preapproval, step) = context.ensure_preapproval().await?;
    done(step, &mut steps);
    Ok(Setup {
        treasury,
        preapproval,
        steps,
    })
}

/// Polls `probe` every `config.poll_interval` until it answers `Some`, at most `config.timeout`.
async fn wait_for<T, F, Fut>(
    config: &SetupConfig,
    what: &str,
    mut probe: F,
) -> Result<T, SetupError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, SetupError>>,
{
    let deadline = tokio::time::Instant::now() + config.timeout;
    loop {
        if let Some(found) = probe().await? {
            return Ok(found);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(SetupError::Timeout(format!(
                "{what} did not happen within {}",
                canton_ledger::client::describe_duration(config.timeout)
            )));
        }
        tokio::time::sleep(config.poll_interval).await;
    }
}
