//! Seed data for demos and tests, written only against the token API (as a wallet would act).

use std::collections::BTreeMap;

use exchange_core::Amount;

use crate::token::{TokenError, TransferRequest};
use crate::world::World;

/// Which seed to plant at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Nothing but the DSO, the validator and Canton Coin.
    Empty,
    /// A treasury with a preapproval, three customers, deposits and one withdrawal.
    Basic,
}

/// The parties a scenario created, by role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScenarioParties {
    pub treasury: Option<String>,
    /// Customer name → party id.
    pub customers: BTreeMap<String, String>,
}

/// Memos the basic scenario's deposits carry: a known deposit account per customer, and one
/// memo no account has (the exchange must record it, not drop it).
pub const UNKNOWN_MEMO: &str = "no-such-account";

pub fn deposit_memo(customer: &str) -> String {
    format!("deposit-account-{customer}")
}

pub const WITHDRAWAL_MEMO: &str = "withdrawal-0001";

pub fn plant(world: &mut World, scenario: Scenario) -> Result<ScenarioParties, TokenError> {
    match scenario {
        Scenario::Empty => Ok(ScenarioParties::default()),
        Scenario::Basic => basic(world),
    }
}

/// The `basic` story:
/// 1. treasury with a `TransferPreapproval`; customers alice, bob and carol, each with a
///    preapproval (so the treasury can pay them out in one step) and faucet mints;
/// 2. 1-step deposits to the treasury: alice (two inputs, with change), bob (exact amount), both
///    with their account memo; carol with an unknown memo;
/// 3. one withdrawal from the treasury to alice, memo [`WITHDRAWAL_MEMO`].
pub fn basic(world: &mut World) -> Result<ScenarioParties, TokenError> {
    let amount = |s: &str| -> Amount { s.parse().expect("valid literal") };
    let treasury = world.ledger.allocate_party("treasury")?;
    world
        .amulet
        .create_preapproval(&mut world.ledger, &treasury)?;
    let mut customers = BTreeMap::new();
    for name in ["alice", "bob", "carol"] {
        let party = world.ledger.allocate_party(name)?;
        world.amulet.create_preapproval(&mut world.ledger, &party)?;
        customers.insert(name.to_owned(), party);
    }
    let party = |name: &str| customers[name].clone();
    for (name, minted) in [
        ("alice", "60"),
        ("alice", "70"),
        ("bob", "25"),
        ("carol", "40"),
    ] {
        world
            .amulet
            .mint(&mut world.ledger, &party(name), amount(minted))?;
    }
    let deposits = [
        ("alice", "100", Some(deposit_memo("alice"))),
        ("bob", "25", Some(deposit_memo("bob"))),
        ("carol", "15", Some(UNKNOWN_MEMO.to_owned())),
    ];
    for (i, (name, sent, memo)) in deposits.into_iter().enumerate() {
        world.amulet.transfer(
            &mut world.ledger,
            &TransferRequest {
                sender: party(name),
                receiver: treasury.clone(),
                amount: amount(sent),
                memo,
                inputs: None,
                command_id: format!("basic-deposit-{i}"),
            },
        )?;
    }
    world.amulet.transfer(
        &mut world.ledger,
        &TransferRequest {
            sender: treasury.clone(),
            receiver: party("alice"),
            amount: amount("20"),
            memo: Some(WITHDRAWAL_MEMO.to_owned()),
            inputs: None,
            command_id: "basic-withdrawal-0".into(),
        },
    )?;
    Ok(ScenarioParties {
        treasury: Some(treasury),
        customers,
    })
}
