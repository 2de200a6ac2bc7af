//! A Canton Coin-like token: Splice `Amulet` holdings administered by a DSO party, minted by the
//! DevNet faucet and moved by 1-step transfers through the receiver's `TransferPreapproval`, or
//! by offers when the receiver has none ([`crate::token::amulet_offer`]).
//!
//! The transaction trees are the real ones node for node (`token-standard.md` §6.3): fetch
//! nodes sit where the real engine fetches, so every reader sees the same node ids and gaps a
//! real participant would show. Two releases are reproduced ([`SpliceRelease`]): Splice 0.6.11+
//! by default (V1 signals and V2 events, [`crate::token::amulet_v2`], checked against the
//! splice-cli-0.6.11 recording), and the older trees of the LocalNet recording
//! (`AmuletRules_Transfer` under every token standard operation). Fees are zero, as on networks
//! after CIP-0078; there is one open mining round that never advances.

use std::collections::BTreeSet;

use exchange_core::{Amount, Timestamp};

use crate::daml::{Value, show_decimal};
use crate::model::tree::parties;
use crate::model::{
    CommittedTx, Create, Exercise, Fetch, Identifier, Ledger, LedgerError, Node, SubmissionMeta,
    SyncIdx, TxContext,
};
use crate::token::events;
use crate::token::packages::{self, meta};
use crate::token::result;
use crate::token::self_transfer::insufficient;

/// Splice's `transferConfig.maxNumInputs`.
pub const MAX_INPUTS: usize = 100;
pub(crate) const DAY_MICROS: i64 = 86_400_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The Daml code refused the transfer (`DAML_INTERPRETATION_ERROR` on a real node).
    #[error("Interpretation error: Error: {0}")]
    Interpretation(String),
    #[error("{0}")]
    InvalidArgument(String),
}

#[derive(Debug, Clone)]
pub struct AmuletConfig {
    /// Where Canton Coin's contracts live (and its transactions commit): the global synchronizer.
    pub synchronizer: SyncIdx,
    pub round: i64,
    pub rate_per_round: Amount,
    pub amulet_price: Amount,
    /// Which Splice release's transaction trees the token builds.
    pub release: SpliceRelease,
}

/// The Splice release whose Amulet the sandbox reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpliceRelease {
    /// Before 0.5.16 (the LocalNet recording in `fixtures/localnet-treasury`): token standard
    /// operations run `AmuletRules_Transfer`, unlocks are `LockedAmulet_Unlock` /
    /// `_OwnerExpireLock`, holdings implement `HoldingV1` only, no V2 events.
    Legacy,
    /// 0.6.11 and later (`fixtures/splice-cli-0.6.11`): V1 signals and V2 events side by side.
    /// No `AmuletRules_Transfer` under token standard operations (the transfer runs inside
    /// the factory, `TransferPreapproval_SendV2` or the instruction), every holding change is
    /// reported by `EventLog_HoldingsChange` (on the `ExternalPartyConfigState`, the
    /// `AmuletRules` for mints, a temporary `AmuletEventLog` around unlocks), holdings
    /// implement `HoldingV1` and `HoldingV2`.
    #[default]
    V0_6_11,
}

impl Default for AmuletConfig {
    fn default() -> Self {
        AmuletConfig {
            synchronizer: 0,
            round: 19,
            rate_per_round: "0.0038051800".parse().expect("valid"),
            amulet_price: "0.0050000000".parse().expect("valid"),
            release: SpliceRelease::default(),
        }
    }
}

/// The token as deployed on the ledger: its admin, the validator that provides preapprovals,
/// and the reference contracts every transfer's context names.
#[derive(Debug, Clone)]
pub struct AmuletToken {
    pub dso: String,
    /// Provider of preapprovals (a validator operator party, as on LocalNet).
    pub provider: String,
    pub amulet_rules: String,
    pub open_round: String,
    pub external_party_rules: String,
    /// The DSO's `ExternalPartyConfigState` (0.6.11: the transfer context and the `EventLog`
    /// token standard transfers report on); empty for [`SpliceRelease::Legacy`].
    pub external_party_config_state: String,
    pub config: AmuletConfig,
}

/// A holding as the token sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    pub contract_id: String,
    pub owner: String,
    pub amount: Amount,
    pub created_in_round: i64,
}

#[derive(Debug, Clone)]
pub struct TransferRequest {
    pub sender: String,
    pub receiver: String,
    pub amount: Amount,
    /// Written to `transfer.meta` under `…/reason` (the exchange's memo).
    pub memo: Option<String>,
    /// Holdings to spend; `None` selects the sender's largest holdings.
    pub inputs: Option<Vec<String>>,
    pub command_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferOutcome {
    pub update_id: String,
    pub offset: i64,
    pub record_time: Timestamp,
    /// Empty for an offer (the receiver has no preapproval): see `transfer_instruction_cid`.
    pub receiver_holding_cids: Vec<String>,
    pub sender_change_cids: Vec<String>,
    /// The pending `AmuletTransferInstruction` of an offer.
    pub transfer_instruction_cid: Option<String>,
}

impl TransferOutcome {
    /// A transfer that completed in `tx`: the receiver's holdings and the sender's change.
    pub(super) fn completed(
        tx: &CommittedTx,
        (receiver_holding_cids, sender_change_cids): (Vec<String>, Vec<String>),
    ) -> Self {
        TransferOutcome {
            update_id: tx.update_id.clone(),
            offset: tx.offset,
            record_time: tx.record_time,
            receiver_holding_cids,
            sender_change_cids,
            transfer_instruction_cid: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub update_id: String,
    pub offset: i64,
    pub record_time: Timestamp,
    pub contract_id: String,
}

/// The outcome of an ACS import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedAcs {
    pub update_id: String,
    pub offset: i64,
    pub record_time: Timestamp,
    pub contract_ids: Vec<String>,
}

/// 0001-01-01T00:00:00Z, the record time of imported contracts.
pub fn min_time() -> Timestamp {
    Timestamp::from_micros(-62_135_596_800_000_000).expect("0001-01-01 is in range")
}

impl AmuletToken {
    /// Creates the DSO's reference contracts (`AmuletRules`, an `OpenMiningRound`,
    /// `ExternalPartyAmuletRules`) in one transaction visible only to the DSO.
    pub fn bootstrap(
        ledger: &mut Ledger,
        dso: &str,
        provider: &str,
        config: AmuletConfig,
    ) -> Result<AmuletToken, TokenError> {
        let mut cids = (String::new(), String::new(), String::new(), String::new());
        ledger.transact::<TokenError>(
            SubmissionMeta {
                command_id: "sandbox-amulet-bootstrap".into(),
                act_as: parties([dso]),
                record_time: None,
                synchronizer: config.synchronizer,
            },
            |ctx| {
                let rules = dso_contract(
                    ctx,
                    dso,
                    packages::amulet_rules_template(),
                    vec![("dso", Value::party(dso)), ("isDevNet", Value::Bool(true))],
                    vec![],
                );
                let round = dso_contract(
                    ctx,
                    dso,
                    packages::open_mining_round_template(),
                    vec![
                        ("dso", Value::party(dso)),
                        ("round", round_value(config.round)),
                        ("amuletPrice", Value::Numeric(config.amulet_price)),
                        ("opensAt", Value::Time(ctx.let_time)),
                        ("targetClosesAt", Value::Time(ctx.let_time)),
                    ],
                    vec![],
                );
                let factory_view = Value::record(vec![
                    ("admin", Value::party(dso)),
                    ("meta", Value::metadata([])),
                ]);
                let external = dso_contract(
                    ctx,
                    dso,
                    packages::external_party_amulet_rules_template(),
                    vec![("dso", Value::party(dso))],
                    vec![(packages::transfer_factory_interface(), factory_view)],
                );
                let mut nodes = vec![
                    Node::Create(rules.clone()),
                    Node::Create(round.clone()),
                    Node::Create(external.clone()),
                ];
                let config_state = (config.release == SpliceRelease::V0_6_11)
                    .then(|| external_party_config_state(ctx, dso, &config));
                cids = (
                    rules.contract_id,
                    round.contract_id,
                    external.contract_id,
                    config_state
                        .as_ref()
                        .map(|c| c.contract_id.clone())
                        .unwrap_or_default(),
                );
                nodes.extend(config_state.map(Node::Create));
                Ok(nodes)
            },
        )?;
        Ok(AmuletToken {
            dso: dso.to_owned(),
            provider: provider.to_owned(),
            amulet_rules: cids.0,
            open_round: cids.1,
            external_party_rules: cids.2,
            external_party_config_state: cids.3,
            config,
        })
    }

    pub fn instrument_id(&self) -> Value {
        Value::record(vec![
            ("admin", Value::party(&self.dso)),
            ("id", Value::text("Amulet")),
        ])
    }

    /// The receiver's active `TransferPreapproval`, if any.
    pub fn preapproval_of(&self, ledger: &Ledger, receiver: &str) -> Option<String> {
        ledger
            .active_of(&packages::transfer_preapproval_template(), receiver)
            .into_iter()
            .find(|c| field(&c.create.argument, "receiver") == Some(&Value::party(receiver)))
            .map(|c| c.create.contract_id.clone())
    }

    /// Active Amulets of `owner`, largest first.
    pub fn holdings(&self, ledger: &Ledger, owner: &str) -> Vec<Holding> {
        let mut out: Vec<Holding> = ledger
            .active_of(&packages::amulet_template(), owner)
            .into_iter()
            .filter_map(|c| self.as_holding(&c.create))
            .filter(|h| h.owner == owner)
            .collect();
        out.sort_by(|a, b| {
            b.amount
                .cmp(&a.amount)
                .then(a.contract_id.cmp(&b.contract_id))
        });
        out
    }

    fn as_holding(&self, create: &Create) -> Option<Holding> {
        if create.template != packages::amulet_template() {
            return None;
        }
        let arg = &create.argument;
        let Some(Value::Party(owner)) = field(arg, "owner") else {
            return None;
        };
        let amount = field(arg, "amount")?;
        let Some(Value::Numeric(initial)) = field(amount, "initialAmount") else {
            return None;
        };
        let Some(Value::Int64(round)) = field(amount, "createdAt").and_then(|r| field(r, "number"))
        else {
            return None;
        };
        Some(Holding {
            contract_id: create.contract_id.clone(),
            owner: owner.clone(),
            amount: *initial,
            created_in_round: *round,
        })
    }

    /// A new `Amulet` for `owner` in the current round, with its Holding view.
    pub(super) fn new_amulet(
        &self,
        ctx: &mut TxContext<'_>,
        owner: &str,
        amount: Amount,
    ) -> Create {
        let round = self.config.round;
        let rate = self.config.rate_per_round;
        let view = Value::record(vec![
            ("owner", Value::party(owner)),
            ("instrumentId", self.instrument_id()),
            ("amount", Value::Numeric(amount)),
            ("lock", Value::none()),
            (
                "meta",
                Value::metadata([
                    (meta::CREATED_IN_ROUND, round.to_string()),
                    (meta::RATE_PER_ROUND, show_decimal(rate)),
                ]),
            ),
        ]);
        Create {
            contract_id: ctx.new_contract_id(),
            template: packages::amulet_template(),
            argument: Value::record(vec![
                ("dso", Value::party(&self.dso)),
                ("owner", Value::party(owner)),
                (
                    "amount",
                    Value::record(vec![
                        ("initialAmount", Value::Numeric(amount)),
                        ("createdAt", round_value(round)),
                        (
                            "ratePerRound",
                            Value::record(vec![("rate", Value::Numeric(rate))]),
                        ),
                    ]),
                ),
            ]),
            signatories: parties([self.dso.as_str(), owner]),
            observers: BTreeSet::new(),
            interfaces: self.holding_views(owner, view),
        }
    }

    /// The interface views of a holding from its `HoldingV1` view: since 0.6.11 also
    /// `HoldingV2`'s (Splice upcasts the V1 view: the owner's basic account instead of `owner`).
    pub(super) fn holding_views(&self, owner: &str, v1: Value) -> Vec<(Identifier, Value)> {
        let mut views = vec![(packages::holding_interface(), v1.clone())];
        if self.has_v2_events() {
            let Value::Record(fields) = v1 else {
                return views;
            };
            let mut v2 = vec![("account", events::Account::basic(owner).value())];
            v2.extend(fields.into_iter().filter(|(name, _)| *name != "owner"));
            views.push((packages::holding_v2_interface(), Value::record(v2)));
        }
        views
    }

    /// Whether this release reports V2 events (and holdings implement `HoldingV2`).
    pub fn has_v2_events(&self) -> bool {
        self.config.release == SpliceRelease::V0_6_11
    }

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
            Node::Fetch(Fetch {
                contract_id: self.open_round.clone(),
                acting_parties: parties([self.dso.as_str()]),
            }),
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

    /// A `TransferPreapproval` for `receiver`, provided by the validator (created directly; the
    /// real proposal/accept flow and its fee burn are not modelled).
    pub fn create_preapproval(
        &self,
        ledger: &mut Ledger,
        receiver: &str,
    ) -> Result<Committed, TokenError> {
        let mut created = String::new();
        let command_id = format!("sandbox-preapproval-{}", ledger.ledger_end() + 1);
        let tx = ledger.transact::<TokenError>(
            SubmissionMeta {
                command_id,
                act_as: parties([receiver, self.provider.as_str()]),
                record_time: None,
                synchronizer: self.config.synchronizer,
            },
            |ctx| {
                let create = self.preapproval_create(ctx.new_contract_id(), receiver, ctx.let_time);
                created = create.contract_id.clone();
                Ok(vec![Node::Create(create)])
            },
        )?;
        Ok(Committed {
            update_id: tx.update_id.clone(),
            offset: tx.offset,
            record_time: tx.record_time,
            contract_id: created,
        })
    }

    /// A 1-step transfer through the receiver's preapproval, exactly the real tree:
    /// `TransferFactory_Transfer` → `TransferPreapproval_Send` → `AmuletRules_Transfer` →
    /// `Archive` of each input → receiver's Amulet → sender's change (if any).
    pub fn transfer(
        &self,
        ledger: &mut Ledger,
        request: &TransferRequest,
    ) -> Result<TransferOutcome, TokenError> {
        self.transfer_at(ledger, request, None)
    }

    /// [`AmuletToken::transfer`] with the submitter's `(requestedAt, executeBefore)` (a submitted
    /// `TransferFactory_Transfer` carries them); `None` derives them from the ledger time.
    /// Refused (as the factory refuses it) once `executeBefore` has passed.
    pub fn transfer_at(
        &self,
        ledger: &mut Ledger,
        request: &TransferRequest,
        times: Option<(Timestamp, Timestamp)>,
    ) -> Result<TransferOutcome, TokenError> {
        let inputs = match &request.inputs {
            Some(given) => given.clone(),
            None => self.select_inputs(ledger, &request.sender, request.amount),
        };
        if request.sender == request.receiver {
            // Scan never puts a preapproval in a self transfer's context, so the factory takes
            // its self branch even when the sender has one (`transferKind: "self"`).
            return self.self_transfer_at(ledger, request, &inputs, times);
        }
        let Some(preapproval) = self.preapproval_of(ledger, &request.receiver) else {
            // No preapproval: the factory locks the amount and leaves an offer.
            return self.offer_at(ledger, request, &inputs, times);
        };
        let mut outcome = (Vec::new(), Vec::new());
        let tx = ledger.transact::<TokenError>(
            SubmissionMeta {
                command_id: request.command_id.clone(),
                act_as: parties([request.sender.as_str()]),
                record_time: None,
                synchronizer: self.config.synchronizer,
            },
            |ctx| {
                let expired = times.map(|(_, before)| before).filter(|b| *b <= ctx.let_time);
                if let Some(execute_before) = expired {
                    return Err(TokenError::Interpretation(format!(
                        "TransferFactory_Transfer: executeBefore {execute_before} is not after the ledger time {}",
                        ctx.let_time
                    )));
                }
                let plan = self.plan_transfer(ctx, request, &inputs)?;
                outcome = (
                    vec![plan.receiver_amulet.contract_id.clone()],
                    plan.change.iter().map(|c| c.contract_id.clone()).collect(),
                );
                let tree = if self.has_v2_events() {
                    self.transfer_tree_v2(ctx, request, &preapproval, plan, times)
                } else {
                    self.transfer_tree(ctx, request, &preapproval, plan, times)
                };
                Ok(vec![Node::Exercise(tree)])
            },
        )?;
        Ok(TransferOutcome::completed(tx, outcome))
    }

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

    /// Checks the transfer as `amulet_transferFactory_transferImpl` and `AmuletRules_Transfer`
    /// would, and creates the outputs.
    fn plan_transfer(
        &self,
        ctx: &mut TxContext<'_>,
        request: &TransferRequest,
        inputs: &[String],
    ) -> Result<TransferPlan, TokenError> {
        if !request.amount.is_positive() {
            return Err(TokenError::Interpretation(format!(
                "Amount must be positive: {}",
                request.amount
            )));
        }
        // Self transfers never get here: `transfer_at` takes the self branch first.
        debug_assert_ne!(request.sender, request.receiver);
        let Spent {
            holdings,
            total,
            expired_locks,
        } = self.spend(ctx, &request.sender, inputs)?;
        let change = total
            .checked_sub(request.amount)
            .map_err(|e| TokenError::InvalidArgument(e.to_string()))?;
        if change.is_negative() {
            return Err(TokenError::Interpretation(format!(
                "InvalidTransfer: ITR_InsufficientFunds: missingAmount = {}",
                -change
            )));
        }
        let receiver_amulet = self.new_amulet(ctx, &request.receiver, request.amount);
        let change = change
            .is_positive()
            .then(|| self.new_amulet(ctx, &request.sender, change));
        Ok(TransferPlan {
            inputs: holdings,
            total,
            receiver_amulet,
            change,
            expired_locks,
        })
    }

    /// The plan of a transfer that the factory keeps on the sender's side (a self transfer, or
    /// the lock of an offer): `inputs` of `sender` spent, `output` created for `amount`, the
    /// rest back to the sender as change; refused if the inputs fall short.
    pub(super) fn plan_sender_side(
        &self,
        ctx: &mut TxContext<'_>,
        sender: &str,
        inputs: &[String],
        amount: Amount,
        output: impl FnOnce(&mut TxContext<'_>) -> Create,
    ) -> Result<TransferPlan, TokenError> {
        let Spent {
            holdings,
            total,
            expired_locks,
        } = self.spend(ctx, sender, inputs)?;
        let change = total.checked_sub(amount).unwrap_or(Amount::MIN);
        if change.is_negative() {
            return Err(insufficient(-change));
        }
        let receiver_amulet = output(ctx);
        let change = change
            .is_positive()
            .then(|| self.new_amulet(ctx, sender, change));
        Ok(TransferPlan {
            inputs: holdings,
            total,
            receiver_amulet,
            change,
            expired_locks,
        })
    }

    /// The inputs as the factory and `AmuletRules_Transfer` check them: some, not too many,
    /// active Amulets of the sender, or LockedAmulets of the sender whose lock has expired,
    /// which the factory unlocks on the fly (`LockedAmulet_OwnerExpireLock`, see
    /// [`ExpiredLock`]) and spends the resulting Amulet of; with their total. A LockedAmulet
    /// whose lock is still live is refused, as `LockedAmulet_OwnerExpireLock` refuses it.
    pub(super) fn spend(
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

    /// A `LockedAmulet`: the Amulet it wraps, and when its lock expires.
    fn as_locked(&self, create: &Create) -> Option<(Holding, Timestamp)> {
        if create.template != packages::locked_amulet_template() {
            return None;
        }
        let amulet = field(&create.argument, "amulet")?;
        let Some(Value::Party(owner)) = field(amulet, "owner") else {
            return None;
        };
        let amount = field(amulet, "amount")?;
        let Some(Value::Numeric(initial)) = field(amount, "initialAmount") else {
            return None;
        };
        let Some(Value::Int64(round)) = field(amount, "createdAt").and_then(|r| field(r, "number"))
        else {
            return None;
        };
        let Some(Value::Time(expires_at)) =
            field(&create.argument, "lock").and_then(|l| field(l, "expiresAt"))
        else {
            return None;
        };
        Some((
            Holding {
                contract_id: create.contract_id.clone(),
                owner: owner.clone(),
                amount: *initial,
                created_in_round: *round,
            },
            *expires_at,
        ))
    }

    /// What the factory does with each input before transferring: fetch it, and for an
    /// expired LockedAmulet exercise `LockedAmulet_OwnerExpireLock` (owner; tx-kind `unlock`,
    /// reason `lock expired`), whose Amulet `AmuletRules_Transfer` then spends.
    pub(super) fn input_nodes(&self, actor: &str, plan: &TransferPlan) -> Vec<Node> {
        let mut nodes = Vec::new();
        for h in &plan.inputs {
            let expired = plan
                .expired_locks
                .iter()
                .find(|e| e.unlocked.contract_id == h.contract_id);
            let Some(e) = expired else {
                nodes.push(Node::Fetch(Fetch {
                    contract_id: h.contract_id.clone(),
                    acting_parties: parties([actor]),
                }));
                continue;
            };
            nodes.push(Node::Fetch(Fetch {
                contract_id: e.locked_cid.clone(),
                acting_parties: parties([actor]),
            }));
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
                    Node::Fetch(Fetch {
                        contract_id: self.open_round.clone(),
                        acting_parties: parties([h.owner.as_str()]),
                    }),
                    Node::Create(e.unlocked.clone()),
                ],
            }));
        }
        nodes
    }

    fn transfer_tree(
        &self,
        ctx: &TxContext<'_>,
        request: &TransferRequest,
        preapproval: &str,
        plan: TransferPlan,
        times: Option<(Timestamp, Timestamp)>,
    ) -> Exercise {
        let sender = request.sender.as_str();
        let receiver = request.receiver.as_str();
        let transfer = RulesTransfer {
            plan: &plan,
            sender,
            provider: &self.provider,
            receiver,
            amount: request.amount,
            lock: None,
        };
        let amulet_rules_transfer = self.rules_transfer(
            &transfer,
            parties([sender, self.provider.as_str(), receiver]),
            transfer_meta(sender),
        );

        let description = request.memo.clone();
        let mut send_meta = vec![
            (meta::SENDER, sender.to_owned()),
            (meta::TX_KIND, "transfer".to_owned()),
        ];
        if let Some(reason) = &description {
            send_meta.push((meta::REASON, reason.clone()));
        }
        let send = Exercise {
            contract_id: preapproval.to_owned(),
            interface: None,
            choice: "TransferPreapproval_Send".into(),
            argument: Value::record(vec![
                (
                    "context",
                    Value::record(vec![
                        ("amuletRules", Value::cid(&self.amulet_rules)),
                        ("context", self.transfer_context()),
                    ]),
                ),
                ("inputs", input_values(&plan.inputs)),
                ("amount", Value::Numeric(request.amount)),
                ("sender", Value::party(sender)),
                ("description", Value::opt(description.map(Value::Text))),
            ]),
            acting_parties: parties([sender]),
            choice_observers: Default::default(),
            consuming: false,
            result: Value::record(vec![
                ("result", self.transfer_result(&transfer, Value::none())),
                ("meta", Value::metadata(send_meta)),
            ]),
            children: vec![Node::Exercise(amulet_rules_transfer)],
        };

        let times = times.unwrap_or_else(|| default_times(ctx.let_time));
        let mut root_children = vec![
            Node::Fetch(Fetch {
                contract_id: self.amulet_rules.clone(),
                acting_parties: parties([sender]),
            }),
            Node::Fetch(Fetch {
                contract_id: self.open_round.clone(),
                acting_parties: parties([sender]),
            }),
        ];
        root_children.extend(self.input_nodes(sender, &plan));
        root_children.push(Node::Exercise(send));
        result::factory_transfer(
            &self.external_party_rules,
            sender,
            self.factory_argument(request, &plan.submitted_inputs(), times, Some(preapproval)),
            result::instruction_result(
                result::completed([plan.receiver_amulet.contract_id.clone()]),
                plan.change.iter().map(|c| c.contract_id.clone()),
            ),
            root_children,
        )
    }

    /// `TransferFactory_Transfer`'s argument as the wallet submits it: the transfer, and the
    /// registry's choice context (`transfer-preapproval` only for a direct transfer).
    pub(super) fn factory_argument(
        &self,
        request: &TransferRequest,
        inputs: &[String],
        (requested_at, execute_before): (Timestamp, Timestamp),
        preapproval: Option<&str>,
    ) -> Value {
        let transfer_meta: Vec<(&str, String)> = request
            .memo
            .iter()
            .map(|m| (meta::REASON, m.clone()))
            .collect();
        let context_cid = |cid: &str| Value::variant("AV_ContractId", Value::cid(cid));
        let mut context = vec![
            ("amulet-rules", context_cid(&self.amulet_rules)),
            ("open-round", context_cid(&self.open_round)),
        ];
        if self.has_v2_events() {
            context.push((
                "external-party-config-state",
                context_cid(&self.external_party_config_state),
            ));
        }
        if let Some(preapproval) = preapproval {
            context.push(("transfer-preapproval", context_cid(preapproval)));
        }
        Value::record(vec![
            ("expectedAdmin", Value::party(&self.dso)),
            (
                "transfer",
                Value::record(vec![
                    ("sender", Value::party(&request.sender)),
                    ("receiver", Value::party(&request.receiver)),
                    ("amount", Value::Numeric(request.amount)),
                    ("instrumentId", self.instrument_id()),
                    ("requestedAt", Value::Time(requested_at)),
                    ("executeBefore", Value::Time(execute_before)),
                    (
                        "inputHoldingCids",
                        Value::List(inputs.iter().map(Value::cid).collect()),
                    ),
                    ("meta", Value::metadata(transfer_meta)),
                ]),
            ),
            (
                "extraArgs",
                Value::record(vec![
                    (
                        "context",
                        Value::record(vec![(
                            "values",
                            Value::TextMap(
                                context
                                    .into_iter()
                                    .map(|(k, v)| (k.to_owned(), v))
                                    .collect(),
                            ),
                        )]),
                    ),
                    ("meta", Value::metadata([])),
                ]),
            ),
        ])
    }

    /// `TransferContext` of `AmuletRules_Transfer` (and `_ComputeFees`): the one open round.
    pub(super) fn transfer_context(&self) -> Value {
        Value::record(vec![
            ("openMiningRound", Value::cid(&self.open_round)),
            ("issuingMiningRounds", Value::GenMap(vec![])),
            ("validatorRights", Value::GenMap(vec![])),
            ("featuredAppRight", Value::none()),
        ])
    }

    /// `AmuletRules_Transfer`'s children: the round fetch, each input fetched and archived,
    /// then the output and the sender's change (no reward coupons: fees are zero).
    pub(super) fn transfer_children(&self, sender: &str, plan: &TransferPlan) -> Vec<Node> {
        let mut children = vec![Node::Fetch(Fetch {
            contract_id: self.open_round.clone(),
            acting_parties: parties([sender]),
        })];
        for h in &plan.inputs {
            children.push(Node::Fetch(Fetch {
                contract_id: h.contract_id.clone(),
                acting_parties: parties([sender]),
            }));
            children.push(Node::Exercise(Exercise::archive(
                &h.contract_id,
                &parties([self.dso.as_str(), sender]),
            )));
        }
        children.push(Node::Create(plan.receiver_amulet.clone()));
        if let Some(change) = &plan.change {
            children.push(Node::Create(change.clone()));
        }
        children
    }

    /// One `AmuletRules_Transfer` exercise of `transfer`, by `acting_parties`, with `meta` in
    /// its result; its children are [`Self::transfer_children`].
    pub(super) fn rules_transfer(
        &self,
        transfer: &RulesTransfer<'_>,
        acting_parties: BTreeSet<String>,
        meta: Value,
    ) -> Exercise {
        Exercise {
            contract_id: self.amulet_rules.clone(),
            interface: None,
            choice: "AmuletRules_Transfer".into(),
            argument: Value::record(vec![
                (
                    "transfer",
                    Value::record(vec![
                        ("sender", Value::party(transfer.sender)),
                        ("provider", Value::party(transfer.provider)),
                        ("inputs", input_values(&transfer.plan.inputs)),
                        (
                            "outputs",
                            Value::List(vec![transfer_output(
                                transfer.receiver,
                                transfer.amount,
                                transfer.lock.clone().map_or_else(Value::none, Value::some),
                            )]),
                        ),
                        ("beneficiaries", Value::none()),
                    ]),
                ),
                ("context", self.transfer_context()),
                ("expectedDso", Value::some(Value::party(&self.dso))),
            ]),
            acting_parties,
            choice_observers: Default::default(),
            consuming: false,
            result: self.transfer_result(transfer, meta),
            children: self.transfer_children(transfer.sender, transfer.plan),
        }
    }

    /// The result of `AmuletRules_Transfer`: round, summary, created and change amulets, and
    /// `meta` (`TransferPreapproval_Send` re-emits it with `None`, which is not printed).
    pub(super) fn transfer_result(&self, transfer: &RulesTransfer<'_>, meta: Value) -> Value {
        let plan = transfer.plan;
        let created = if transfer.lock.is_some() {
            "TransferResultLockedAmulet"
        } else {
            "TransferResultAmulet"
        };
        Value::record(vec![
            ("round", round_value(self.config.round)),
            (
                "summary",
                self.summary(plan, transfer.sender, transfer.receiver, transfer.amount),
            ),
            (
                "createdAmulets",
                Value::List(vec![Value::variant(
                    created,
                    Value::cid(&plan.receiver_amulet.contract_id),
                )]),
            ),
            (
                "senderChangeAmulet",
                Value::opt(plan.change.as_ref().map(|c| Value::cid(&c.contract_id))),
            ),
            ("meta", meta),
        ])
    }

    /// `TransferSummary` with zero fees; balance changes are "as of round zero" like Splice's.
    pub(super) fn summary(
        &self,
        plan: &TransferPlan,
        sender: &str,
        receiver: &str,
        amount: Amount,
    ) -> Value {
        let rate = self.config.rate_per_round;
        let round = self.config.round;
        let as_of_zero = |amount: Amount, created: i64| {
            amount
                .checked_add(times(rate, created))
                .unwrap_or(Amount::MAX)
        };
        let zero = || Value::Numeric(Amount::ZERO);
        let mut changes: std::collections::BTreeMap<&str, (Amount, i64)> = Default::default();
        for h in &plan.inputs {
            let e = changes.entry(h.owner.as_str()).or_default();
            e.0 =
                e.0.checked_sub(as_of_zero(h.amount, h.created_in_round))
                    .unwrap_or(Amount::MIN);
            e.1 -= 1;
        }
        let mut outputs = vec![(receiver, amount)];
        if plan.change.is_some() {
            outputs.push((sender, plan.total_minus(amount)));
        }
        for (owner, amount) in outputs {
            let e = changes.entry(owner).or_default();
            e.0 =
                e.0.checked_add(as_of_zero(amount, round))
                    .unwrap_or(Amount::MAX);
            e.1 += 1;
        }
        let balance_changes = changes
            .into_iter()
            .map(|(party, (amount, count))| {
                (
                    Value::party(party),
                    Value::record(vec![
                        ("changeToInitialAmountAsOfRoundZero", Value::Numeric(amount)),
                        (
                            "changeToHoldingFeesRate",
                            Value::Numeric(times(rate, count)),
                        ),
                    ]),
                )
            })
            .collect();
        let mut fields = vec![
            ("inputAppRewardAmount", zero()),
            ("inputValidatorRewardAmount", zero()),
            ("inputSvRewardAmount", zero()),
            ("inputAmuletAmount", Value::Numeric(plan.total)),
            ("balanceChanges", Value::GenMap(balance_changes)),
            ("holdingFees", zero()),
            ("outputFees", Value::List(vec![zero()])),
            ("senderChangeFee", zero()),
            (
                "senderChangeAmount",
                Value::Numeric(plan.total_minus(amount)),
            ),
            ("amuletPrice", Value::Numeric(self.config.amulet_price)),
            ("inputValidatorFaucetAmount", zero()),
            ("inputUnclaimedActivityRecordAmount", zero()),
        ];
        if self.has_v2_events() {
            fields.push(("inputDevelopmentFundAmount", Value::some(zero())));
        }
        Value::record(fields)
    }
}

/// What one `AmuletRules_Transfer` moves: `plan`'s inputs of `sender` into one output of
/// `amount` to `receiver` (locked by `lock`, a `TimeLock`, if any) and `sender`'s change.
pub(super) struct RulesTransfer<'a> {
    pub(super) plan: &'a TransferPlan,
    pub(super) sender: &'a str,
    pub(super) provider: &'a str,
    pub(super) receiver: &'a str,
    pub(super) amount: Amount,
    pub(super) lock: Option<Value>,
}

/// The `TransferResult` meta of a transfer to another party: `sender` and `tx-kind: transfer`.
pub(super) fn transfer_meta(sender: &str) -> Value {
    Value::some(Value::metadata([
        (meta::SENDER, sender.to_owned()),
        (meta::TX_KIND, "transfer".to_owned()),
    ]))
}

/// One `TransferOutput` (no receiver fee share).
pub(super) fn transfer_output(receiver: &str, amount: Amount, lock: Value) -> Value {
    Value::record(vec![
        ("receiver", Value::party(receiver)),
        ("receiverFeeRatio", Value::Numeric(Amount::ZERO)),
        ("amount", Value::Numeric(amount)),
        ("lock", lock),
    ])
}

/// `AmuletRules_Transfer`'s `inputs`: each holding as an `InputAmulet`.
pub(super) fn input_values(inputs: &[Holding]) -> Value {
    Value::List(
        inputs
            .iter()
            .map(|h| Value::variant("InputAmulet", Value::cid(&h.contract_id)))
            .collect(),
    )
}

/// What `AmuletRules_Transfer` spends and creates; `receiver_amulet` is the one output (an
/// `Amulet`, or the `LockedAmulet` of an offer).
pub(super) struct TransferPlan {
    pub(super) inputs: Vec<Holding>,
    pub(super) total: Amount,
    pub(super) receiver_amulet: Create,
    pub(super) change: Option<Create>,
    /// Inputs that were expired LockedAmulets, unlocked on the fly (their Amulets are in
    /// `inputs`).
    pub(super) expired_locks: Vec<ExpiredLock>,
}

/// What [`AmuletToken::spend`] found.
pub(super) struct Spent {
    pub(super) holdings: Vec<Holding>,
    pub(super) total: Amount,
    pub(super) expired_locks: Vec<ExpiredLock>,
}

/// An expired LockedAmulet given as a transfer input, and the Amulet its owner gets back by
/// `LockedAmulet_OwnerExpireLock` within the same transaction (created and spent there).
#[derive(Debug, Clone)]
pub(super) struct ExpiredLock {
    pub(super) locked_cid: String,
    pub(super) unlocked: Create,
    /// The temporary `AmuletEventLog` 0.6.11 reports the unlock on (`None` before).
    pub(super) event_log: Option<String>,
}

impl TransferPlan {
    /// The inputs as the submitter named them (an expired LockedAmulet, not the Amulet it
    /// became).
    pub(super) fn submitted_inputs(&self) -> Vec<String> {
        self.inputs
            .iter()
            .map(|h| {
                self.expired_locks
                    .iter()
                    .find(|e| e.unlocked.contract_id == h.contract_id)
                    .map_or_else(|| h.contract_id.clone(), |e| e.locked_cid.clone())
            })
            .collect()
    }

    pub(super) fn total_minus(&self, amount: Amount) -> Amount {
        self.total.checked_sub(amount).unwrap_or(Amount::ZERO)
    }
}

/// `rate × n` exactly (a Decimal times a small integer stays within Numeric 10).
fn times(rate: Amount, n: i64) -> Amount {
    Amount::from_units(rate.units() * i128::from(n)).unwrap_or(Amount::MAX)
}

pub(super) fn round_value(n: i64) -> Value {
    Value::record(vec![("number", Value::Int64(n))])
}

/// The DSO's `ExternalPartyConfigState` (0.6.11): the round and price transfers use, and the
/// `EventLog` they report on. Its `transferConfig` is left out: fees are zero and no reader
/// ever sees this contract (it is the DSO's alone).
fn external_party_config_state(
    ctx: &mut TxContext<'_>,
    dso: &str,
    config: &AmuletConfig,
) -> Create {
    let archive_after = ctx
        .let_time
        .checked_add_micros(DAY_MICROS)
        .unwrap_or(ctx.let_time);
    let view = Value::record(vec![
        ("admin", Value::party(dso)),
        ("meta", Value::metadata([])),
    ]);
    dso_contract(
        ctx,
        dso,
        packages::external_party_config_state_template(),
        vec![
            ("dso", Value::party(dso)),
            ("holdingFeesOpenRoundNumber", round_value(config.round)),
            ("amuletPrice", Value::Numeric(config.amulet_price)),
            ("targetArchiveAfter", Value::Time(archive_after)),
            ("rewardCalculationVersion", Value::none()),
        ],
        vec![(packages::event_log_interface(), view)],
    )
}

/// A contract the DSO alone signs.
fn dso_contract(
    ctx: &mut TxContext<'_>,
    dso: &str,
    template: Identifier,
    fields: Vec<(&'static str, Value)>,
    interfaces: Vec<(Identifier, Value)>,
) -> Create {
    Create {
        contract_id: ctx.new_contract_id(),
        template,
        argument: Value::record(fields),
        signatories: parties([dso]),
        observers: BTreeSet::new(),
        interfaces,
    }
}

/// A record field by name.
pub(crate) fn field<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    match value {
        Value::Record(fields) => fields.iter().find(|(k, _)| *k == name).map(|(_, v)| v),
        _ => None,
    }
}

/// `(requestedAt, executeBefore)` of a transfer made through the control API, which has no
/// submitted ones: requested just before the ledger time (as a wallet's clock would be), valid
/// for a day.
pub(crate) fn default_times(let_time: Timestamp) -> (Timestamp, Timestamp) {
    let requested_at = let_time.checked_add_micros(-114_871).unwrap_or(let_time);
    let execute_before = requested_at
        .checked_add_micros(DAY_MICROS)
        .unwrap_or(requested_at);
    (requested_at, execute_before)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LedgerConfig;
    use crate::model::ledger::TxNodeKind;

    fn amount(s: &str) -> Amount {
        s.parse().unwrap()
    }

    fn setup() -> (Ledger, AmuletToken, String, String) {
        setup_of(SpliceRelease::default())
    }

    fn setup_of(release: SpliceRelease) -> (Ledger, AmuletToken, String, String) {
        let mut l = Ledger::new(LedgerConfig::default());
        let dso = l.allocate_party("DSO").unwrap();
        let provider = l.allocate_party("validator").unwrap();
        let treasury = l.allocate_party("treasury").unwrap();
        let alice = l.allocate_party("alice").unwrap();
        let config = AmuletConfig {
            release,
            ..AmuletConfig::default()
        };
        let token = AmuletToken::bootstrap(&mut l, &dso, &provider, config).unwrap();
        token.create_preapproval(&mut l, &treasury).unwrap();
        (l, token, treasury, alice)
    }

    /// Node ids, last descendants and what each node does; the gaps are fetch nodes (the
    /// ledger keeps only their place in the numbering).
    fn layout(l: &Ledger, offset: i64) -> Vec<(i32, i32, String)> {
        let mut out = Vec::new();
        for n in l.update_at(offset).unwrap().nodes.iter() {
            while out.len() < n.node_id as usize {
                let gap = out.len() as i32;
                out.push((gap, gap, "fetch".to_owned()));
            }
            let what = match &n.kind {
                TxNodeKind::Create(c) => format!("create {}", c.template.entity),
                TxNodeKind::Exercise { choice, .. } => l.symbols().get(*choice).to_owned(),
            };
            out.push((n.node_id, n.last_descendant, what));
        }
        out
    }

    #[test]
    fn one_step_transfer_has_the_real_node_layout_and_consumes_its_inputs() {
        let (mut l, token, treasury, alice) = setup_of(SpliceRelease::Legacy);
        let a = token.mint(&mut l, &alice, amount("60")).unwrap();
        let b = token.mint(&mut l, &alice, amount("70")).unwrap();
        let request = TransferRequest {
            sender: alice.clone(),
            receiver: treasury.clone(),
            amount: amount("100"),
            memo: Some("memo-1".into()),
            inputs: Some(vec![a.contract_id.clone(), b.contract_id.clone()]),
            command_id: "c1".into(),
        };
        let out = token.transfer(&mut l, &request).unwrap();
        let shown = layout(&l, out.offset);
        // The recording's deposit (2 inputs): Send at 5, Transfer at 6, archives at 9 and 11,
        // receiver Amulet at 12, change at 13, all under root 0.
        let expected: Vec<(i32, i32, String)> = [
            (0, 13, "TransferFactory_Transfer"),
            (1, 1, "fetch"),
            (2, 2, "fetch"),
            (3, 3, "fetch"),
            (4, 4, "fetch"),
            (5, 13, "TransferPreapproval_Send"),
            (6, 13, "AmuletRules_Transfer"),
            (7, 7, "fetch"),
            (8, 8, "fetch"),
            (9, 9, "Archive"),
            (10, 10, "fetch"),
            (11, 11, "Archive"),
            (12, 12, "create Amulet"),
            (13, 13, "create Amulet"),
        ]
        .into_iter()
        .map(|(a, b, c)| (a, b, c.to_owned()))
        .collect();
        assert_eq!(shown, expected);
        assert_eq!(token.holdings(&l, &alice)[0].amount, amount("30"));
        assert_eq!(token.holdings(&l, &treasury)[0].amount, amount("100"));
        let again = token.transfer(
            &mut l,
            &TransferRequest {
                command_id: "c2".into(),
                ..request
            },
        );
        assert!(matches!(
            again,
            Err(TokenError::Ledger(LedgerError::ContractNotFound(_)))
        ));
    }

    #[test]
    fn one_step_transfer_of_0_6_11_runs_send_v2_and_reports_each_account() {
        let (mut l, token, treasury, alice) = setup();
        let a = token.mint(&mut l, &alice, amount("60")).unwrap();
        let b = token.mint(&mut l, &alice, amount("70")).unwrap();
        let request = TransferRequest {
            sender: alice.clone(),
            receiver: treasury.clone(),
            amount: amount("100"),
            memo: Some("memo-1".into()),
            inputs: Some(vec![a.contract_id, b.contract_id]),
            command_id: "c1".into(),
        };
        let out = token.transfer(&mut l, &request).unwrap();
        // No AmuletRules_Transfer: SendV2 fetches the config state, spends the inputs, makes
        // the outputs and reports one event per account.
        let expected: Vec<(i32, i32, String)> = [
            (0, 14, "TransferFactory_Transfer"),
            (1, 1, "fetch"),
            (2, 2, "fetch"),
            (3, 3, "fetch"),
            (4, 4, "fetch"),
            (5, 14, "TransferPreapproval_SendV2"),
            (6, 6, "fetch"),
            (7, 7, "fetch"),
            (8, 8, "Archive"),
            (9, 9, "fetch"),
            (10, 10, "Archive"),
            (11, 11, "create Amulet"),
            (12, 12, "create Amulet"),
            (13, 13, "EventLog_HoldingsChange"),
            (14, 14, "EventLog_HoldingsChange"),
        ]
        .into_iter()
        .map(|(a, b, c)| (a, b, c.to_owned()))
        .collect();
        assert_eq!(layout(&l, out.offset), expected);
        assert_eq!(token.holdings(&l, &treasury)[0].amount, amount("100"));
    }

    #[test]
    fn limits_inputs_and_funds() {
        let (mut l, token, treasury, alice) = setup();
        let a = token.mint(&mut l, &alice, amount("1")).unwrap();
        let request = |inputs: Vec<String>, amt: &str| TransferRequest {
            sender: alice.clone(),
            receiver: treasury.clone(),
            amount: amount(amt),
            memo: None,
            inputs: Some(inputs),
            command_id: "c".into(),
        };
        let too_many = vec![a.contract_id.clone(); MAX_INPUTS + 1];
        assert!(matches!(
            token.transfer(&mut l, &request(too_many, "1")),
            Err(TokenError::Interpretation(m)) if m.contains("maximum number of inputs")
        ));
        assert!(matches!(
            token.transfer(&mut l, &request(vec![a.contract_id.clone()], "2")),
            Err(TokenError::Interpretation(m)) if m.contains("InsufficientFunds")
        ));
        // Exact amount: no change output.
        let out = token
            .transfer(&mut l, &request(vec![a.contract_id], "1"))
            .unwrap();
        assert!(out.sender_change_cids.is_empty());
    }
}
