//! Everything the node holds: the ledger and the tokens deployed on it. Still pure; the server
//! wraps it in a lock.

use crate::completions::Completions;
use crate::interactive::{ExternalParties, PreparedStore};
use crate::model::{Ledger, LedgerConfig, SyncIdx};
use crate::packages::Packages;
use crate::pending::PendingExecutions;
use crate::token::counterfeit::CounterfeitToken;
use crate::token::{AmuletConfig, AmuletToken, OfferToken, TokenError};

#[derive(Debug, Clone)]
pub struct World {
    pub ledger: Ledger,
    pub amulet: AmuletToken,
    /// The offer-only token (`sandbox-token`, instrument `SBX`, admin `token-admin`).
    pub token: OfferToken,
    /// The counterfeit Canton Coin (`counterfeit-coin`, admin `forger`), deployed on first use
    /// ([`World::counterfeit`]). Kept by a restore: its deployment is synchronizer history.
    pub counterfeit: Option<CounterfeitToken>,
    /// Keys of the external parties (topology: survives a restore).
    pub external: ExternalParties,
    /// Node-local: a restore brings back the backup's.
    pub completions: Completions,
    /// Node-local: uploads after a backup are lost by a restore.
    pub packages: Packages,
    /// Node-local: the transactions `prepare` handed out, by hash.
    pub prepared: PreparedStore,
    /// Node-local: executions accepted and not yet sequenced (the `holdExecutions` fault); a
    /// restore loses them all.
    pub pending: PendingExecutions,
}

impl World {
    /// A ledger with the DSO and a validator operator party, Canton Coin and the offer-only token
    /// deployed.
    /// `token_synchronizer`: where the offer-only token lives (Canton Coin's is in `amulet`);
    /// `sbx_v2_only`: whether it is a V2-only issuer.
    pub fn new(
        ledger: LedgerConfig,
        amulet: AmuletConfig,
        token_synchronizer: SyncIdx,
        sbx_v2_only: bool,
    ) -> Result<World, TokenError> {
        let mut ledger = Ledger::new(ledger);
        let connected = ledger.synchronizers().len();
        for (token, index) in [("Amulet", amulet.synchronizer), ("SBX", token_synchronizer)] {
            if index >= connected {
                return Err(TokenError::InvalidArgument(format!(
                    "{token} is configured on synchronizer #{index}, but only {connected} are connected"
                )));
            }
        }
        let dso = ledger.allocate_party("DSO")?;
        let validator = ledger.allocate_party("sandbox-validator")?;
        let amulet = AmuletToken::bootstrap(&mut ledger, &dso, &validator, amulet)?;
        let token = OfferToken::bootstrap(&mut ledger, token_synchronizer, sbx_v2_only)?;
        Ok(World {
            ledger,
            amulet,
            token,
            counterfeit: None,
            external: ExternalParties::default(),
            completions: Completions::default(),
            packages: Packages::default(),
            prepared: PreparedStore::default(),
            pending: PendingExecutions::default(),
        })
    }

    /// The counterfeit token, deployed now (the `forger` party and its factory, on Canton
    /// Coin's synchronizer) if it is not yet.
    pub fn counterfeit(&mut self) -> Result<CounterfeitToken, TokenError> {
        if let Some(token) = &self.counterfeit {
            return Ok(token.clone());
        }
        let token = CounterfeitToken::deploy(
            &mut self.ledger,
            &self.amulet.dso,
            self.amulet.config.synchronizer,
        )?;
        self.counterfeit = Some(token.clone());
        Ok(token)
    }

    /// Returns this node to `snapshot` (a clone taken by a backup), then lets it re-receive from
    /// the synchronizer everything committed since (see [`Ledger::restore`]). Node-local state
    /// written after the snapshot is lost, and so is every execution accepted but not yet
    /// sequenced (whether it was before the snapshot or not: it lived only in the node's
    /// memory, never reached the synchronizer, so nothing re-delivers it). Returns how many
    /// updates were re-delivered.
    pub fn restore(&mut self, snapshot: &World) -> usize {
        self.pending = PendingExecutions::default();
        self.completions = snapshot.completions.clone();
        self.packages = snapshot.packages.clone();
        self.ledger.restore(&snapshot.ledger)
    }

    /// Whether the node has the token standard V2 interface packages: one reproducing a Splice
    /// release before 0.6.11 (`legacy`) has not.
    pub fn has_v2_packages(&self) -> bool {
        self.amulet.config.release != crate::token::SpliceRelease::Legacy
    }

    /// The packages on the node (`GET /v2/packages`): built in, uploaded, and the V2 interface
    /// packages where the node has them.
    pub fn package_ids(&self) -> Vec<String> {
        let mut ids = self.packages.ids();
        if !self.has_v2_packages() {
            ids.retain(|id| !crate::packages::V2_INTERFACE_PACKAGES.contains(&id.as_str()));
        }
        ids
    }

    pub fn has_package(&self, id: &str) -> bool {
        self.packages.is_known(id)
            && (self.has_v2_packages() || !crate::packages::V2_INTERFACE_PACKAGES.contains(&id))
    }

    /// Parties hosted on this participant (all of them: the sandbox is one node).
    pub fn hosted_parties(&self) -> Vec<String> {
        self.ledger.parties().map(|p| p.party.clone()).collect()
    }
}
