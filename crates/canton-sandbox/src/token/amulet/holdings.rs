//! Amulet holdings: reading them off the ledger (plain and locked) and making new ones with
//! their interface views.

use std::collections::BTreeSet;

use exchange_core::{Amount, Timestamp};

use crate::daml::{Value, show_decimal};
use crate::model::tree::parties;
use crate::model::{Create, Identifier, Ledger, TxContext};
use crate::token::events;
use crate::token::packages::{self, meta};

use super::{AmuletToken, Holding, field, round_value};

impl AmuletToken {
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

    pub(super) fn as_holding(&self, create: &Create) -> Option<Holding> {
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

    /// A `LockedAmulet`: the Amulet it wraps, and when its lock expires.
    pub(super) fn as_locked(&self, create: &Create) -> Option<(Holding, Timestamp)> {
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

    /// A new `Amulet` for `owner` in the current round, with its Holding view.
    pub(in crate::token) fn new_amulet(
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
    pub(in crate::token) fn holding_views(
        &self,
        owner: &str,
        v1: Value,
    ) -> Vec<(Identifier, Value)> {
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
}
