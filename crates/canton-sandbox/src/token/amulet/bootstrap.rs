//! The token's reference contracts (`AmuletRules`, the open round, the factory, the config
//! state) and the validator-provided `TransferPreapproval`s receivers use.

use std::collections::BTreeSet;

use crate::daml::Value;
use crate::model::tree::parties;
use crate::model::{Create, Identifier, Ledger, Node, SubmissionMeta, TxContext};
use crate::token::packages;

use super::{
    AmuletConfig, AmuletToken, Committed, DAY_MICROS, SpliceRelease, TokenError, round_value,
};

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
                // Since 0.6.11 the factory also implements V2's transfer factory and the
                // `EventLog` (and V1's and V2's allocation factories, which the sandbox does not
                // model), all with the same `{admin, meta}` view.
                let mut factory_views =
                    vec![(packages::transfer_factory_interface(), factory_view)];
                if config.release == SpliceRelease::V0_6_11 {
                    let view = factory_views[0].1.clone();
                    factory_views.push((packages::transfer_factory_v2_interface(), view.clone()));
                    factory_views.push((packages::event_log_interface(), view));
                }
                let external = dso_contract(
                    ctx,
                    dso,
                    packages::external_party_amulet_rules_template(),
                    vec![("dso", Value::party(dso))],
                    factory_views,
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
