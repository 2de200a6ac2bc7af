//! How Amulets come into being in the sandbox: the DevNet faucet and participant-local ACS imports.

use exchange_core::Amount;

use crate::daml::Value;
use crate::model::tree::parties;
use crate::model::{Create, Exercise, Ledger, LedgerError, Node, SubmissionMeta};
use crate::token::events;
use crate::token::packages::meta;

use super::{AmuletToken, Committed, ImportedAcs, TokenError, fetch_by, min_time, round_value};

impl AmuletToken {
    /// The DevNet faucet: `AmuletRules_DevNet_Tap` → `AmuletRules_Mint` → new Amulet
    /// (tx-kind `mint`, reason `tapped faucet`).
    pub fn mint(
        &self,
        ledger: &mut Ledger,
        owner: &str,
        amount: Amount,
    ) -> Result<Committed, TokenError> {
        if !amount.is_positive() {
            return Err(TokenError::Interpretation(format!(
                "AmuletRules_DevNet_Tap: amount must be positive, got {amount}"
            )));
        }
        let mut created = String::new();
        let command_id = format!("sandbox-mint-{}", ledger.ledger_end() + 1);
        let tx = ledger.transact::<TokenError>(
            SubmissionMeta {
                command_id,
                act_as: parties([owner]),
                record_time: None,
                synchronizer: self.config.synchronizer,
            },
            |ctx| {
                let amulet = self.new_amulet(ctx, owner, amount);
                created = amulet.contract_id.clone();
                Ok(vec![Node::Exercise(self.tap_tree(owner, amount, amulet))])
            },
        )?;
        Ok(Committed {
            update_id: tx.update_id.clone(),
            offset: tx.offset,
            record_time: tx.record_time,
            contract_id: created,
        })
    }

    /// `AmuletRules_DevNet_Tap` → `AmuletRules_Mint` → the new `amulet` (and since 0.6.11 the
    /// mint's V2 event, from the mint account, on the AmuletRules, after the create).
    fn tap_tree(&self, owner: &str, amount: Amount, amulet: Create) -> Exercise {
        let created = amulet.contract_id.clone();
        let argument = Value::record(vec![
            ("receiver", Value::party(owner)),
            ("amount", Value::Numeric(amount)),
            ("openRound", Value::cid(&self.open_round)),
        ]);
        // 0.6.11 names the faucet in the mint's reason and reports the mint as a V2
        // event from the mint account, on the AmuletRules, after the create.
        let v2 = self.has_v2_events();
        let reason = if v2 {
            "tapped DevNet faucet"
        } else {
            "tapped faucet"
        };
        let mut mint_argument = argument.clone();
        if let (true, Value::Record(fields)) = (v2, &mut mint_argument) {
            fields.push(("reason", Value::some(Value::text(reason))));
        }
        let mut mint_children = vec![
            fetch_by(&self.open_round, self.dso.as_str()),
            Node::Create(amulet),
        ];
        if v2 {
            let event = events::mint_event(&self.dso, "Amulet", owner, amount, &created, reason);
            mint_children.push(Node::Exercise(event.exercise(&self.amulet_rules)));
        }
        let amulet_sum = Value::record(vec![
            ("amulet", Value::cid(&created)),
            ("amuletPrice", Value::Numeric(self.config.amulet_price)),
            ("round", round_value(self.config.round)),
        ]);
        let mint = Exercise {
            contract_id: self.amulet_rules.clone(),
            interface: None,
            choice: "AmuletRules_Mint".into(),
            argument: mint_argument,
            acting_parties: parties([self.dso.as_str(), owner]),
            choice_observers: Default::default(),
            consuming: false,
            result: Value::record(vec![("amuletSum", amulet_sum.clone())]),
            children: mint_children,
        };
        Exercise {
            contract_id: self.amulet_rules.clone(),
            interface: None,
            choice: "AmuletRules_DevNet_Tap".into(),
            argument,
            acting_parties: parties([owner]),
            choice_observers: Default::default(),
            consuming: false,
            result: Value::record(vec![
                ("amuletSum", amulet_sum),
                (
                    "meta",
                    Value::some(Value::metadata([
                        (meta::REASON, reason.to_owned()),
                        (meta::TX_KIND, "mint".to_owned()),
                    ])),
                ),
            ]),
            children: vec![Node::Exercise(mint)],
        }
    }

    /// A participant-local ACS import of Amulets owned by `owner`, at record time
    /// 0001-01-01T00:00:00Z (as the repair service writes imported contracts): one update of
    /// plain creates, outside the synchronizer's history. Several imports share that record time.
    pub fn import_at_min_time(
        &self,
        ledger: &mut Ledger,
        owner: &str,
        amounts: &[Amount],
    ) -> Result<ImportedAcs, TokenError> {
        if !ledger.is_known_party(owner) {
            return Err(LedgerError::UnknownParty(owner.to_owned()).into());
        }
        if amounts.is_empty() || amounts.iter().any(|a| !a.is_positive()) {
            return Err(TokenError::InvalidArgument(
                "an ACS import needs at least one positive amount".into(),
            ));
        }
        let mut contract_ids = Vec::new();
        let command_id = format!("sandbox-acs-import-{}", ledger.ledger_end() + 1);
        let tx = ledger.import_local::<TokenError>(
            self.config.synchronizer,
            min_time(),
            &command_id,
            |ctx| {
                Ok(amounts
                    .iter()
                    .map(|&amount| {
                        let amulet = self.new_amulet(ctx, owner, amount);
                        contract_ids.push(amulet.contract_id.clone());
                        Node::Create(amulet)
                    })
                    .collect())
            },
        )?;
        Ok(ImportedAcs {
            update_id: tx.update_id.clone(),
            offset: tx.offset,
            record_time: tx.record_time,
            contract_ids,
        })
    }
}
