//! The templates the verifier knows by name. A prepared transaction's create nodes do not say
//! which interfaces a template implements, so "a holding" means one of these templates; a
//! registry whose holdings are other templates needs its rows added here (until then anything
//! it creates for the treasury is refused, never waved through).

use canton_interactive::proto::{Identifier, Value};

use super::values::{Read, field, numeric, party, record};
use crate::Amount;

/// `(module, entity)` of a template or interface; package ids are not pinned (upgrades change
/// them), the package name is checked where it matters.
pub type Name = (&'static str, &'static str);

pub const AMULET: Name = ("Splice.Amulet", "Amulet");
pub const LOCKED_AMULET: Name = ("Splice.Amulet", "LockedAmulet");
pub const AMULET_TRANSFER_INSTRUCTION: Name = (
    "Splice.AmuletTransferInstruction",
    "AmuletTransferInstruction",
);
pub const TRANSFER_PREAPPROVAL_PROPOSAL: Name = (
    "Splice.Wallet.TransferPreapproval",
    "TransferPreapprovalProposal",
);
pub const TRANSFER_FACTORY: Name = ("Splice.Api.Token.TransferInstructionV1", "TransferFactory");
pub const TRANSFER_INSTRUCTION: Name = (
    "Splice.Api.Token.TransferInstructionV1",
    "TransferInstruction",
);
/// Reward coupons Canton Coin transfers may create with the sender as an observer only: no
/// holding, no obligation of the treasury.
pub const OBSERVER_ONLY_ALLOWED: [Name; 2] = [
    ("Splice.Amulet", "AppRewardCoupon"),
    ("Splice.Amulet", "ValidatorRewardCoupon"),
];

pub fn is(id: Option<&Identifier>, name: Name) -> bool {
    id.is_some_and(|id| id.module_name == name.0 && id.entity_name == name.1)
}

pub fn display(id: Option<&Identifier>) -> String {
    id.map_or_else(
        || "(no template id)".to_owned(),
        |id| format!("{}:{}", id.module_name, id.entity_name),
    )
}

/// What a Canton Coin holding says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmuletHolding {
    pub dso: String,
    pub owner: String,
    /// `initialAmount`, as the Holding view reports it.
    pub amount: Amount,
    pub locked: bool,
}

/// Reads an `Amulet` or `LockedAmulet` create argument; `None` for other templates.
pub fn amulet_holding(
    path: &str,
    template: Option<&Identifier>,
    argument: Option<&Value>,
) -> Option<Read<AmuletHolding>> {
    if is(template, AMULET) {
        Some(read_amulet(path, argument, false))
    } else if is(template, LOCKED_AMULET) {
        Some(record(path, argument).and_then(|r| {
            let amulet = field(path, r, "amulet")?;
            read_amulet(&format!("{path}.amulet"), Some(amulet), true)
        }))
    } else {
        None
    }
}

fn read_amulet(path: &str, argument: Option<&Value>, locked: bool) -> Read<AmuletHolding> {
    let r = record(path, argument)?;
    let amount_path = format!("{path}.amount");
    let amount = record(&amount_path, Some(field(path, r, "amount")?))?;
    let initial = field(&amount_path, amount, "initialAmount")?;
    Ok(AmuletHolding {
        dso: party(&format!("{path}.dso"), field(path, r, "dso")?)?.to_owned(),
        owner: party(&format!("{path}.owner"), field(path, r, "owner")?)?.to_owned(),
        amount: numeric(&format!("{amount_path}.initialAmount"), initial)?,
        locked,
    })
}
