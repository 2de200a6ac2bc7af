//! What `AmuletRules_Transfer` answers: its `TransferResult` and `TransferSummary` (zero fees).

use exchange_core::Amount;

use crate::daml::Value;

use super::{AmuletToken, RulesTransfer, TransferPlan, round_value};

impl AmuletToken {
    /// The result of `AmuletRules_Transfer`: round, summary, created and change amulets, and
    /// `meta` (`TransferPreapproval_Send` re-emits it with `None`, which is not printed).
    pub(in crate::token) fn transfer_result(
        &self,
        transfer: &RulesTransfer<'_>,
        meta: Value,
    ) -> Value {
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
    pub(in crate::token) fn summary(
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

/// `rate × n` exactly (a Decimal times a small integer stays within Numeric 10).
fn times(rate: Amount, n: i64) -> Amount {
    Amount::from_units(rate.units() * i128::from(n)).unwrap_or(Amount::MAX)
}
