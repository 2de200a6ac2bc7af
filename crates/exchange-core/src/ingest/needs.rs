//! What the store must load before a batch can be parsed ([`Needs::add_raw`]) and folded
//! ([`Needs::add_parsed`]).

use std::collections::HashSet;

use super::config::FoldConfig;
use super::ids::{NodeCounter, deposit_id, pool_transfer_id, withdrawal_id};
use crate::Timestamp;
use crate::changeset::{AccountId, DepositId};
use crate::parser::{Direction, ParsedTransaction, TransferKind};
use crate::withdrawal::WithdrawalId;

/// What the store must load into [`Known`] before a batch can be parsed and folded.
#[derive(Clone, Debug, Default)]
pub struct Needs {
    /// Contracts the batch consumes: treasury holdings and transfer instructions.
    pub contracts: HashSet<String>,
    pub update_ids: HashSet<String>,
    pub accounts: HashSet<AccountId>,
    pub deposits: HashSet<DepositId>,
    pub withdrawals: HashSet<WithdrawalId>,
    /// Load the in-flight withdrawals whose `trecTgt`, and the pending offers whose
    /// `executeBefore`, is before (or, for offers, at) this record time.
    pub due_before: Option<Timestamp>,
}

impl Needs {
    /// What parsing needs: the contracts a raw transaction consumes, and its update id.
    pub fn add_raw(&mut self, tx: &canton_ledger::JsTransaction) {
        self.update_ids.insert(tx.update_id.clone());
        for event in &tx.events {
            match event {
                canton_ledger::Event::ExercisedEvent(x) if x.consuming => {
                    self.contracts.insert(x.contract_id.clone());
                }
                canton_ledger::Event::ArchivedEvent(a) => {
                    self.contracts.insert(a.contract_id.clone());
                }
                _ => {}
            }
        }
    }

    /// What folding needs: accounts, deposits and withdrawals a parsed transaction names
    /// (including the pool transfers the treasury's self-transfers may name by their memo).
    pub fn add_parsed(&mut self, tx: &ParsedTransaction, config: &FoldConfig) {
        let mut k = NodeCounter::default();
        for t in &tx.transfers {
            if t.direction == Direction::SelfTransfer {
                self.withdrawals.extend(pool_transfer_id(t));
                continue;
            }
            if t.kind != TransferKind::Transfer {
                continue;
            }
            match t.direction {
                Direction::In => {
                    self.deposits.insert(deposit_id(tx, t, k.next(t.node_id)));
                    if let Some(a) = t.reason.as_deref().and_then(AccountId::new) {
                        self.accounts.insert(a);
                    }
                }
                Direction::Out => {
                    let id = withdrawal_id(tx, t);
                    let sealed = config
                        .memo_key
                        .as_ref()
                        .and_then(|key| crate::memo::unseal(key, &config.treasury, &id));
                    self.accounts.extend(sealed.map(|s| s.account));
                    self.withdrawals.insert(id);
                    let named = config.account_meta_key.as_ref().and_then(|k| t.meta.get(k));
                    if let Some(a) = named.and_then(|a| AccountId::new(a.as_str())) {
                        self.accounts.insert(a);
                    }
                }
                Direction::SelfTransfer => {}
            }
        }
        self.due_before = self.due_before.max(Some(tx.record_time));
    }
}
