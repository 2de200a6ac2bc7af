//! A transfer's inputs: picking the sender's holdings, checking the given ones as the factory
//! does (unlocking expired LockedAmulets on the fly), and the nodes that read them.

use exchange_core::Amount;

use crate::daml::Value;
use crate::model::tree::parties;
use crate::model::{Create, Exercise, Ledger, LedgerError, Node, TxContext};
use crate::token::packages::meta;

use super::{AmuletToken, Holding, MAX_INPUTS, TokenError, TransferPlan, fetch_by, round_value};

impl AmuletToken {
    pub(crate) fn select_inputs(
        &self,
        ledger: &Ledger,
        sender: &str,
        amount: Amount,
    ) -> Vec<String> {
        let mut sum = Amount::ZERO;
        let mut picked = Vec::new();
        for h in self.holdings(ledger, sender) {
            if sum >= amount || picked.len() == MAX_INPUTS {
                break;
            }
            sum = sum.checked_add(h.amount).unwrap_or(Amount::MAX);
            picked.push(h.contract_id);
        }
        picked
    }

    /// The inputs as the factory and `AmuletRules_Transfer` check them: some, not too many,
    /// active Amulets of the sender, or LockedAmulets of the sender whose lock has expired,
    /// which the factory unlocks on the fly (`LockedAmulet_OwnerExpireLock`, see
    /// [`ExpiredLock`]) and spends the resulting Amulet of; with their total. A LockedAmulet
    /// whose lock is still live is refused, as `LockedAmulet_OwnerExpireLock` refuses it.
    pub(in crate::token) fn spend(
        &self,
        ctx: &mut TxContext<'_>,
        sender: &str,
        inputs: &[String],
    ) -> Result<Spent, TokenError> {
        if inputs.is_empty() {
            return Err(TokenError::Interpretation(
                "InvalidTransfer: ITR_Other: no inputs".into(),
            ));
        }
        if inputs.len() > MAX_INPUTS {
            return Err(TokenError::Interpretation(
                "InvalidTransfer: ITR_Other: More than the maximum number of inputs".into(),
            ));
        }
        let mut holdings = Vec::new();
        let mut expired_locks = Vec::new();
        for cid in inputs {
            let contract = ctx
                .active(cid)
                .ok_or_else(|| LedgerError::ContractNotFound(cid.clone()))?;
            let holding = match self.as_locked(&contract.create) {
                Some((holding, expires_at)) => {
                    if expires_at > ctx.let_time {
                        return Err(TokenError::Interpretation(format!(
                            "LockedAmulet_OwnerExpireLock: the lock on {cid} expires at {expires_at}, after the ledger time {}",
                            ctx.let_time
                        )));
                    }
                    let unlocked = self.new_amulet(ctx, &holding.owner, holding.amount);
                    let spent = Holding {
                        contract_id: unlocked.contract_id.clone(),
                        created_in_round: self.config.round,
                        ..holding.clone()
                    };
                    let event_log = self.has_v2_events().then(|| ctx.new_contract_id());
                    expired_locks.push(ExpiredLock {
                        locked_cid: cid.clone(),
                        unlocked,
                        event_log,
                    });
                    (holding.owner, spent)
                }
                None => {
                    let h = self.as_holding(&contract.create).ok_or_else(|| {
                        TokenError::Interpretation(format!("{cid} is not an Amulet holding"))
                    })?;
                    (h.owner.clone(), h)
                }
            };
            if holding.0 != sender {
                return Err(TokenError::Interpretation(format!(
                    "InvalidTransfer: input {cid} is not owned by the sender"
                )));
            }
            holdings.push(holding.1);
        }
        let total = Amount::checked_sum(holdings.iter().map(|h| h.amount))
            .map_err(|e| TokenError::InvalidArgument(e.to_string()))?;
        Ok(Spent {
            holdings,
            total,
            expired_locks,
        })
    }

    /// What the factory does with each input before transferring: fetch it, and for an
    /// expired LockedAmulet exercise `LockedAmulet_OwnerExpireLock` (owner; tx-kind `unlock`,
    /// reason `lock expired`), whose Amulet `AmuletRules_Transfer` then spends.
    pub(in crate::token) fn input_nodes(&self, actor: &str, plan: &TransferPlan) -> Vec<Node> {
        let mut nodes = Vec::new();
        for h in &plan.inputs {
            let expired = plan
                .expired_locks
                .iter()
                .find(|e| e.unlocked.contract_id == h.contract_id);
            let Some(e) = expired else {
                nodes.push(fetch_by(&h.contract_id, actor));
                continue;
            };
            nodes.push(fetch_by(&e.locked_cid, actor));
            if let Some(log_cid) = &e.event_log {
                nodes.push(Node::Exercise(
                    self.owner_expire_lock_v2(&h.owner, e, log_cid),
                ));
                continue;
            }
            nodes.push(Node::Exercise(Exercise {
                contract_id: e.locked_cid.clone(),
                interface: None,
                choice: "LockedAmulet_OwnerExpireLock".into(),
                argument: Value::record(vec![("openRoundCid", Value::cid(&self.open_round))]),
                acting_parties: parties([h.owner.as_str()]),
                choice_observers: Default::default(),
                consuming: true,
                result: Value::record(vec![
                    (
                        "amuletSum",
                        Value::record(vec![
                            ("amulet", Value::cid(&e.unlocked.contract_id)),
                            ("amuletPrice", Value::Numeric(self.config.amulet_price)),
                            ("round", round_value(self.config.round)),
                        ]),
                    ),
                    (
                        "meta",
                        Value::some(Value::metadata([
                            (meta::REASON, "lock expired".to_owned()),
                            (meta::TX_KIND, "unlock".to_owned()),
                        ])),
                    ),
                ]),
                children: vec![
                    fetch_by(&self.open_round, h.owner.as_str()),
                    Node::Create(e.unlocked.clone()),
                ],
            }));
        }
        nodes
    }
}

/// What [`AmuletToken::spend`] found.
pub(in crate::token) struct Spent {
    pub(in crate::token) holdings: Vec<Holding>,
    pub(in crate::token) total: Amount,
    pub(in crate::token) expired_locks: Vec<ExpiredLock>,
}

/// An expired LockedAmulet given as a transfer input, and the Amulet its owner gets back by
/// `LockedAmulet_OwnerExpireLock` within the same transaction (created and spent there).
#[derive(Debug, Clone)]
pub(in crate::token) struct ExpiredLock {
    pub(in crate::token) locked_cid: String,
    pub(in crate::token) unlocked: Create,
    /// The temporary `AmuletEventLog` 0.6.11 reports the unlock on (`None` before).
    pub(in crate::token) event_log: Option<String>,
}
