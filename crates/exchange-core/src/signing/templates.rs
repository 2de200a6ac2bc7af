//! The templates the verifier knows by name. A prepared transaction's create nodes do not say
//! which interfaces a template implements, so "a holding" means one of these templates; a
//! registry whose holdings are other templates needs its rows added here (until then anything
//! it creates for the treasury is refused, never waved through).

use canton_interactive::proto::{Identifier, Value};

use super::values::{Read, field, numeric, optional, party, record};
use crate::Amount;

/// `(module, entity)` of a template or interface (the token standard's are in
/// [`crate::interfaces`]); package ids are not pinned (upgrades change them), the package name
/// is checked where it matters.
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

/// The sandbox's offer-style token (`canton-sandbox`, package `sandbox-token`): the node the
/// project tests against; one instrument per admin.
pub const SANDBOX_TOKEN_HOLDING: Name = ("Sandbox.Token", "TokenHolding");
pub const SANDBOX_TOKEN_INSTRUCTION: Name = ("Sandbox.Token", "TokenTransferInstruction");

/// Templates whose creates are a sender's transfer instruction (with a `transfer` record).
pub const INSTRUCTIONS: [Name; 2] = [AMULET_TRANSFER_INSTRUCTION, SANDBOX_TOKEN_INSTRUCTION];

/// What a holding says about itself, read from its create argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    /// The instrument's admin (Canton Coin: the DSO).
    pub admin: String,
    /// The instrument id when the template says it (`Amulet`); `None` when the template holds
    /// one instrument per admin.
    pub instrument_id: Option<&'static str>,
    pub owner: String,
    /// Canton Coin: `initialAmount`, as the Holding view reports it.
    pub amount: Amount,
    pub locked: bool,
}

impl Holding {
    pub fn is_of(&self, instrument: &crate::InstrumentId) -> bool {
        self.admin == instrument.admin.as_str()
            && self.instrument_id.is_none_or(|id| id == instrument.id)
    }

    pub fn describe(&self) -> String {
        format!("{}/{}", self.admin, self.instrument_id.unwrap_or("?"))
    }
}

/// Reads a known holding template's create argument; `None` for other templates.
pub fn holding(
    path: &str,
    template: Option<&Identifier>,
    argument: Option<&Value>,
) -> Option<Read<Holding>> {
    if is(template, AMULET) {
        Some(read_amulet(path, argument, false))
    } else if is(template, LOCKED_AMULET) {
        Some(record(path, argument).and_then(|r| {
            let amulet = field(path, r, "amulet")?;
            read_amulet(&format!("{path}.amulet"), Some(amulet), true)
        }))
    } else if is(template, SANDBOX_TOKEN_HOLDING) {
        Some(read_sandbox_token(path, argument))
    } else {
        None
    }
}

fn read_amulet(path: &str, argument: Option<&Value>, locked: bool) -> Read<Holding> {
    let r = record(path, argument)?;
    let amount_path = format!("{path}.amount");
    let amount = record(&amount_path, Some(field(path, r, "amount")?))?;
    let initial = field(&amount_path, amount, "initialAmount")?;
    Ok(Holding {
        admin: party(&format!("{path}.dso"), field(path, r, "dso")?)?.to_owned(),
        instrument_id: Some("Amulet"),
        owner: party(&format!("{path}.owner"), field(path, r, "owner")?)?.to_owned(),
        amount: numeric(&format!("{amount_path}.initialAmount"), initial)?,
        locked,
    })
}

/// `TokenHolding {admin, owner, amount, lock : Optional Lock}`.
fn read_sandbox_token(path: &str, argument: Option<&Value>) -> Read<Holding> {
    let r = record(path, argument)?;
    let lock = optional(&format!("{path}.lock"), field(path, r, "lock")?)?;
    Ok(Holding {
        admin: party(&format!("{path}.admin"), field(path, r, "admin")?)?.to_owned(),
        instrument_id: None,
        owner: party(&format!("{path}.owner"), field(path, r, "owner")?)?.to_owned(),
        amount: numeric(&format!("{path}.amount"), field(path, r, "amount")?)?,
        locked: lock.is_some(),
    })
}
