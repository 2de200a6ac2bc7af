//! Seed data for demos and tests, written only against the token API (as a wallet would act).

use std::collections::{BTreeMap, VecDeque};

use exchange_core::Amount;

use crate::token::{TokenError, TransferRequest};
use crate::treasury::{Treasury, TreasuryKey};
use crate::world::World;

/// Which seed to plant at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Nothing but the DSO, the validator and Canton Coin.
    Empty,
    /// A treasury with a preapproval, three customers, deposits and one withdrawal.
    Basic,
    /// Volume: a treasury and many customers, then `transactions` deposits and withdrawals.
    Load { transactions: usize },
    /// The basic story on a node connected to two synchronizers, SBX on the second one whose
    /// record times run behind the global one's, then deposits on both, interleaved.
    MultiSync,
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

/// Plants `scenario`. With `treasury_key` its treasury is an external party of that key whose
/// every action is prepared, signed and executed ([`crate::treasury`]); the story is the same.
pub fn plant(
    world: &mut World,
    scenario: Scenario,
    treasury_key: Option<&TreasuryKey>,
) -> Result<ScenarioParties, TokenError> {
    match scenario {
        Scenario::Empty => Ok(ScenarioParties::default()),
        Scenario::Basic => basic(world, treasury_key),
        Scenario::Load { transactions } => load(world, transactions, treasury_key),
        Scenario::MultiSync => multi_sync(world, treasury_key),
    }
}

/// The `basic` story:
/// 1. treasury with a `TransferPreapproval`; customers alice, bob and carol, each with a
///    preapproval (so the treasury can pay them out in one step) and faucet mints;
/// 2. 1-step deposits to the treasury: alice (two inputs, with change), bob (exact amount), both
///    with their account memo; carol with an unknown memo;
/// 3. one withdrawal from the treasury to alice, memo [`WITHDRAWAL_MEMO`];
/// 4. the offer-only token (`SBX`): the treasury and bob are funded; the treasury offers
///    withdrawals `sbx-withdrawal-1..4` that alice accepts, bob rejects, the treasury withdraws
///    (to carol) and that expire unanswered (to alice); bob offers a deposit with his account
///    memo that stays pending for the exchange to accept.
pub fn basic(
    world: &mut World,
    treasury_key: Option<&TreasuryKey>,
) -> Result<ScenarioParties, TokenError> {
    basic_story(world, treasury_key).map(|(_, parties)| parties)
}

/// [`basic`], and the treasury that acted in it.
fn basic_story(
    world: &mut World,
    treasury_key: Option<&TreasuryKey>,
) -> Result<(Treasury, ScenarioParties), TokenError> {
    let amount = |s: &str| -> Amount { s.parse().expect("valid literal") };
    let treasury = Treasury::allocate(world, treasury_key)?;
    treasury.create_preapproval(world)?;
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
                receiver: treasury.party.clone(),
                amount: amount(sent),
                memo,
                inputs: None,
                command_id: format!("basic-deposit-{i}"),
            },
        )?;
    }
    treasury.transfer(
        world,
        &TransferRequest {
            sender: treasury.party.clone(),
            receiver: party("alice"),
            amount: amount("20"),
            memo: Some(WITHDRAWAL_MEMO.to_owned()),
            inputs: None,
            command_id: "basic-withdrawal-0".into(),
        },
    )?;
    offers(world, &treasury, &customers)?;
    let parties = ScenarioParties {
        treasury: Some(treasury.party.clone()),
        customers,
    };
    Ok((treasury, parties))
}

fn offers(
    world: &mut World,
    treasury: &Treasury,
    customers: &BTreeMap<String, String>,
) -> Result<(), TokenError> {
    use crate::token::{InstructionChoice, OfferRequest};
    let w = world;
    w.token
        .mint(&mut w.ledger, &treasury.party, Amount::from_whole(1000))?;
    w.token
        .mint(&mut w.ledger, &customers["bob"], Amount::from_whole(50))?;
    let offer = |w: &mut World, to: &str, n: usize, execute_before| {
        treasury.offer(
            w,
            &OfferRequest {
                sender: treasury.party.clone(),
                receiver: to.to_owned(),
                amount: Amount::from_whole(10 * n as i64),
                memo: Some(format!("sbx-withdrawal-{n}")),
                execute_before,
                command_id: format!("basic-sbx-withdrawal-{n}"),
            },
        )
    };
    let accepted = offer(w, &customers["alice"], 1, None)?;
    let rejected = offer(w, &customers["bob"], 2, None)?;
    let withdrawn = offer(w, &customers["carol"], 3, None)?;
    // SBX's own synchronizer's clock: the one its offers' expiry is judged by.
    let sbx = w.token.synchronizer;
    let soon = w.ledger.record_time_of(sbx).checked_add_micros(5_000_000);
    offer(w, &customers["alice"], 4, soon)?;
    // The customers answer the first two; the treasury withdraws the third.
    for (instruction, choice, n) in [
        (accepted, InstructionChoice::Accept, 1),
        (rejected, InstructionChoice::Reject, 2),
    ] {
        w.token.act(
            &mut w.ledger,
            &instruction,
            choice,
            &format!("basic-sbx-answer-{n}"),
        )?;
    }
    treasury.act_on_offer(
        w,
        &withdrawn,
        InstructionChoice::Withdraw,
        "basic-sbx-answer-3",
    )?;
    w.ledger.advance_time_of(sbx, 10_000_000)?;
    w.token.offer(
        &mut w.ledger,
        &OfferRequest {
            sender: customers["bob"].clone(),
            receiver: treasury.party.clone(),
            amount: Amount::from_whole(20),
            memo: Some(deposit_memo("bob")),
            execute_before: None,
            command_id: "basic-sbx-deposit".into(),
        },
    )?;
    Ok(())
}

/// The `multi-sync` story (the server puts SBX on a second synchronizer whose clock runs
/// [`crate::server::MULTI_SYNC_BEHIND_MICROS`] behind the global one): the [`basic`] story, then
/// four rounds of a Canton Coin 1-step deposit (global synchronizer) followed by an SBX deposit
/// offer that the treasury accepts (second synchronizer), alice, bob, carol, alice, each with
/// their account memo. In offset order the record times then go up and down: every SBX update
/// has a record time below the Canton Coin update just before it.
pub fn multi_sync(
    world: &mut World,
    treasury_key: Option<&TreasuryKey>,
) -> Result<ScenarioParties, TokenError> {
    use crate::token::{InstructionChoice, OfferRequest};
    let (treasury, parties) = basic_story(world, treasury_key)?;
    let w = world;
    // Fresh funds on both tokens (bob spent all his Canton Coin in the basic story).
    for name in ["alice", "bob", "carol"] {
        let customer = &parties.customers[name];
        w.amulet
            .mint(&mut w.ledger, customer, Amount::from_whole(100))?;
        w.token
            .mint(&mut w.ledger, customer, Amount::from_whole(100))?;
    }
    for (i, name) in ["alice", "bob", "carol", "alice"].into_iter().enumerate() {
        let customer = parties.customers[name].clone();
        let n = i as i64 + 1;
        w.amulet.transfer(
            &mut w.ledger,
            &TransferRequest {
                sender: customer.clone(),
                receiver: treasury.party.clone(),
                amount: Amount::from_whole(n),
                memo: Some(deposit_memo(name)),
                inputs: None,
                command_id: format!("multi-sync-cc-deposit-{i}"),
            },
        )?;
        let offer = w.token.offer(
            &mut w.ledger,
            &OfferRequest {
                sender: customer,
                receiver: treasury.party.clone(),
                amount: Amount::from_whole(2 * n),
                memo: Some(deposit_memo(name)),
                execute_before: None,
                command_id: format!("multi-sync-sbx-deposit-{i}"),
            },
        )?;
        treasury.act_on_offer(
            w,
            &offer.transfer_instruction_cid,
            InstructionChoice::Accept,
            &format!("multi-sync-sbx-accept-{i}"),
        )?;
    }
    Ok(parties)
}

/// The `load` story, built for speed (100,000 transactions in seconds): a treasury and
/// `transactions / 100` customers (3 to 1000), each with a preapproval and a faucet mint; then
/// `transactions` transfers, two 1-step deposits (every 20th with [`UNKNOWN_MEMO`]) for each
/// withdrawal (memo `withdrawal-<n>`). Inputs are tracked here rather than looked up, so each
/// transfer costs the same however long the history.
pub fn load(
    world: &mut World,
    transactions: usize,
    treasury_key: Option<&TreasuryKey>,
) -> Result<ScenarioParties, TokenError> {
    let treasury = Treasury::allocate(world, treasury_key)?;
    treasury.create_preapproval(world)?;
    let customer_count = (transactions / 100).clamp(3, 1000);
    let funding = Amount::from_whole(1_000_000_000);
    let mut customers = BTreeMap::new();
    // Per customer: (name, party, the holding it spends next, its amount).
    let mut wallets = Vec::with_capacity(customer_count);
    for i in 0..customer_count {
        let name = format!("customer-{i:04}");
        let party = world.ledger.allocate_party(&name)?;
        world.amulet.create_preapproval(&mut world.ledger, &party)?;
        let minted = world.amulet.mint(&mut world.ledger, &party, funding)?;
        customers.insert(name.clone(), party.clone());
        wallets.push((name, party, minted.contract_id, funding));
    }
    // The treasury's holdings, oldest first, with their amounts.
    let mut pool: VecDeque<(String, Amount)> = VecDeque::new();
    for k in 0..transactions {
        let withdraw = k % 3 == 2 && !pool.is_empty();
        if withdraw {
            let (input, available) = pool.pop_front().expect("not empty");
            let amount = Amount::from_whole(1 + (k % 5) as i64).min(available);
            let (_, customer, _, _) = &wallets[k % customer_count];
            let out = treasury.transfer(
                world,
                &TransferRequest {
                    sender: treasury.party.clone(),
                    receiver: customer.clone(),
                    amount,
                    memo: Some(format!("withdrawal-{k:07}")),
                    inputs: Some(vec![input]),
                    command_id: format!("load-withdrawal-{k}"),
                },
            )?;
            let change = available.checked_sub(amount).expect("amount <= available");
            if let Some(cid) = out.sender_change_cids.into_iter().next() {
                pool.push_back((cid, change));
            }
        } else {
            let (name, customer, input, available) = &mut wallets[k % customer_count];
            let amount = Amount::from_whole(5 + (k % 7) as i64);
            let memo = if k % 20 == 0 {
                UNKNOWN_MEMO.to_owned()
            } else {
                deposit_memo(name)
            };
            let out = world.amulet.transfer(
                &mut world.ledger,
                &TransferRequest {
                    sender: customer.clone(),
                    receiver: treasury.party.clone(),
                    amount,
                    memo: Some(memo),
                    inputs: Some(vec![input.clone()]),
                    command_id: format!("load-deposit-{k}"),
                },
            )?;
            pool.extend(out.receiver_holding_cids.into_iter().map(|c| (c, amount)));
            *available = available
                .checked_sub(amount)
                .expect("funded for the whole run");
            *input = out
                .sender_change_cids
                .into_iter()
                .next()
                .expect("customers are funded for the whole run");
        }
    }
    Ok(ScenarioParties {
        treasury: Some(treasury.party),
        customers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LedgerConfig;
    use crate::token::AmuletConfig;

    #[test]
    fn load_commits_the_requested_number_of_transfers() {
        let mut world =
            World::new(LedgerConfig::default(), AmuletConfig::default(), 0, false).unwrap();
        let before = world.ledger.ledger_end();
        let parties = load(&mut world, 300, None).unwrap();
        assert_eq!(parties.customers.len(), 3);
        // Setup: treasury preapproval, then a preapproval and a mint per customer.
        assert_eq!(world.ledger.ledger_end() - before, 1 + 2 * 3 + 300);
        let treasury = parties.treasury.unwrap();
        assert!(!world.amulet.holdings(&world.ledger, &treasury).is_empty());
    }
}
