//! What must hold after every recovery and at the end, each checked against the node's own
//! state (its active contracts, read through the sandbox) and the Integration DB. Each
//! invariant is one small function returning what it found wrong, in words.
//!
//! The node-side truth per customer: what it holds on the ledger against what the drill's
//! traffic took from it (deposits, offers) gives what the exchange paid it; the DB must show
//! exactly those payments, and the customer's balance must be what it deposited minus what
//! it was paid minus what is still in flight.

use std::collections::{BTreeMap, BTreeSet};

use canton_sandbox::daml::Value;
use canton_sandbox::token::offer::holding_template;
use exchange_core::changeset::{AccountId, DepositState, JournalCause};
use exchange_core::withdrawal::{WithdrawalPurpose, WithdrawalState};
use exchange_core::{Amount, InstrumentId, SynchronizerId, Timestamp};
use exchange_store::Withdrawal;

use crate::DrillError;
use crate::exchange::{CUSTOMERS, Exchange, INITIAL_AMULET, account_of};
use crate::traffic::Book;

/// One invariant found broken.
pub type Broken = (&'static str, String);

type PerInstrument = BTreeMap<InstrumentId, Amount>;

fn sum<'a>(amounts: impl IntoIterator<Item = &'a Amount>) -> Amount {
    amounts
        .into_iter()
        .fold(Amount::ZERO, |s, a| s.checked_add(*a).unwrap_or(s))
}

fn add(map: &mut PerInstrument, instrument: &InstrumentId, value: Amount) {
    let e = map.entry(instrument.clone()).or_insert(Amount::ZERO);
    *e = e.checked_add(value).unwrap_or(*e);
}

fn sub(a: Amount, b: Amount) -> Amount {
    a.checked_sub(b).unwrap_or(a)
}

/// What the node shows, read in one go.
struct Node {
    /// Per customer: Canton Coin held, unlocked SBX held.
    customer_amulet: Vec<Amount>,
    customer_sbx: Vec<Amount>,
    /// The treasury's active holdings of each onboarded instrument (locked ones included).
    treasury: BTreeMap<InstrumentId, BTreeSet<(String, Amount)>>,
    /// Per customer, per instrument: deposits that reached the treasury (1-step deposits
    /// committed, offers the treasury accepted).
    deposited: Vec<PerInstrument>,
    /// Per customer: SBX offered to the treasury (locked or gone from the customer).
    sbx_offered: Vec<Amount>,
}

fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    match v {
        Value::Record(fields) => fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v),
        _ => None,
    }
}

fn read_node(x: &Exchange, book: &Book) -> Node {
    x.sandbox.with_world(|w| {
        let held = |party: &str| sum(&w.amulet.holdings(&w.ledger, party).iter().map(|h| h.amount).collect::<Vec<_>>());
        let customer_amulet = x.customers.iter().map(|c| held(c)).collect();
        let customer_sbx = x
            .customers
            .iter()
            .map(|c| sum(&w.token.holdings(&w.ledger, c).iter().map(|h| h.1).collect::<Vec<_>>()))
            .collect();
        let amulet: BTreeSet<(String, Amount)> = w
            .amulet
            .holdings(&w.ledger, &x.treasury)
            .into_iter()
            .map(|h| (h.contract_id, h.amount))
            .collect();
        let sbx: BTreeSet<(String, Amount)> = w
            .ledger
            .active_of(&holding_template(), &x.treasury)
            .into_iter()
            .filter(|c| {
                matches!(field(&c.create.argument, "owner"), Some(Value::Party(p)) if *p == x.treasury)
            })
            .filter_map(|c| match field(&c.create.argument, "amount") {
                Some(Value::Numeric(a)) => Some((c.create.contract_id.clone(), *a)),
                _ => None,
            })
            .collect();
        let mut deposited = vec![PerInstrument::new(); CUSTOMERS];
        let mut sbx_offered = vec![Amount::ZERO; CUSTOMERS];
        for (c, value) in &book.amulet_deposited {
            add(&mut deposited[*c], &x.amulet, *value);
        }
        for (c, value, cid) in &book.deposit_offers {
            sbx_offered[*c] = sbx_offered[*c].checked_add(*value).unwrap_or(sbx_offered[*c]);
            // The drill's customers never take an offer back and the exchange never rejects
            // one: an archived instruction was accepted.
            if w.ledger.contract(cid).is_some_and(|r| !r.is_active()) {
                add(&mut deposited[*c], &x.sbx, *value);
            }
        }
        Node {
            customer_amulet,
            customer_sbx,
            treasury: [(x.amulet.clone(), amulet), (x.sbx.clone(), sbx)].into(),
            deposited,
            sbx_offered,
        }
    })
}

/// What the DB shows.
struct Db {
    withdrawals: Vec<Withdrawal>,
    /// Per account: every balance, and the sum of its deposit credits per instrument.
    balances: BTreeMap<AccountId, PerInstrument>,
    deposit_credits: BTreeMap<AccountId, PerInstrument>,
    unknown_account_deposits: PerInstrument,
    holdings: BTreeMap<InstrumentId, BTreeSet<(String, Amount)>>,
    drift: Vec<exchange_store::BalanceDrift>,
    /// The ingested record time of each synchronizer.
    record_times: BTreeMap<SynchronizerId, Timestamp>,
}

async fn read_db(x: &Exchange) -> Result<Db, DrillError> {
    let store = &x.store;
    let mut balances = BTreeMap::new();
    let mut deposit_credits = BTreeMap::new();
    for account in store.accounts().await? {
        let id = account.id.clone();
        let mut credits = PerInstrument::new();
        for r in store.journal(&id).await? {
            if matches!(r.entry.cause, JournalCause::Deposit(_)) {
                add(&mut credits, &r.entry.instrument, r.entry.amount);
            }
        }
        deposit_credits.insert(id.clone(), credits);
        balances.insert(id.clone(), store.balances(&id).await?);
    }
    let mut unknown_account_deposits = PerInstrument::new();
    for d in store
        .deposits_in_state(DepositState::UnknownAccount)
        .await?
    {
        add(
            &mut unknown_account_deposits,
            &d.deposit.instrument,
            d.deposit.amount,
        );
    }
    let mut holdings: BTreeMap<InstrumentId, BTreeSet<(String, Amount)>> = [
        (x.amulet.clone(), BTreeSet::new()),
        (x.sbx.clone(), BTreeSet::new()),
    ]
    .into();
    for h in store.all_active_holdings().await? {
        if h.holding.held_back.is_some() {
            continue;
        }
        if let Some(set) = holdings.get_mut(&h.holding.instrument) {
            set.insert((h.holding.contract_id.to_string(), h.holding.amount));
        }
    }
    Ok(Db {
        withdrawals: store.withdrawals(None).await?,
        balances,
        deposit_credits,
        unknown_account_deposits,
        holdings,
        drift: store.check_balances().await?,
        record_times: store.record_times().await?,
    })
}

/// Debited and not yet paid out. A recovered withdrawal re-created from an offer stays
/// `recovered` while the offer waits (then completes or fails like any offer); one re-created
/// from a 1-step transfer was paid.
pub(crate) fn in_flight(w: &Withdrawal) -> bool {
    w.purpose == WithdrawalPurpose::Customer
        && match w.state {
            WithdrawalState::Requested
            | WithdrawalState::Submitted
            | WithdrawalState::PendingAcceptance => true,
            WithdrawalState::Recovered => w.transfer_instruction.is_some(),
            _ => false,
        }
}

/// No offer counts as in flight once it has certainly expired: a withdrawal (the automation's
/// or a recovered one) still waiting on an offer whose `executeBefore` + the ledger/record time
/// tolerance is at or before the ingested record time of its synchronizer should have failed
/// and been refunded; left in flight, its amount stays debited for ever.
fn no_offer_in_flight_past_its_deadline(db: &Db) -> Vec<String> {
    let tolerance = exchange_core::ingest::LEDGER_TIME_RECORD_TIME_TOLERANCE_MICROS;
    let earliest = db.record_times.values().min().copied();
    db.withdrawals
        .iter()
        .filter(|w| {
            in_flight(w)
                && matches!(
                    w.state,
                    WithdrawalState::PendingAcceptance | WithdrawalState::Recovered
                )
        })
        .filter_map(|w| {
            let deadline = w.execute_before?.checked_add_micros(tolerance)?;
            let now = match &w.synchronizer {
                Some(s) => db.record_times.get(s).copied(),
                None => earliest,
            }?;
            (deadline <= now).then(|| {
                format!(
                    "withdrawal {} ({}, {} {}) is still in flight, but its offer expired for certain at {deadline} (ingested record time {now})",
                    w.id, w.state, w.amount, w.instrument.id
                )
            })
        })
        .collect()
}

fn paid(w: &Withdrawal) -> bool {
    w.purpose == WithdrawalPurpose::Customer
        && match w.state {
            WithdrawalState::Completed => true,
            WithdrawalState::Recovered => w.transfer_instruction.is_none(),
            _ => false,
        }
}

/// Per customer and instrument, what the DB says the exchange paid it.
fn paid_per_customer(x: &Exchange, db: &Db) -> Vec<PerInstrument> {
    x.customers
        .iter()
        .map(|c| {
            let mut out = PerInstrument::new();
            for w in db
                .withdrawals
                .iter()
                .filter(|w| paid(w) && w.receiver.as_str() == c)
            {
                add(&mut out, &w.instrument, w.amount);
            }
            out
        })
        .collect()
}

/// Per customer and instrument, what the node says the exchange paid it: what it holds now,
/// less what it started with and was minted, plus what it gave the treasury.
fn paid_on_ledger(x: &Exchange, node: &Node, book: &Book) -> Vec<PerInstrument> {
    (0..CUSTOMERS)
        .map(|c| {
            let deposited = node.deposited[c]
                .get(&x.amulet)
                .copied()
                .unwrap_or_default();
            let amulet = sub(
                node.customer_amulet[c]
                    .checked_add(deposited)
                    .unwrap_or_default(),
                Amount::from_whole(INITIAL_AMULET),
            );
            let minted = book.sbx_minted.get(&c).copied().unwrap_or_default();
            let sbx = sub(
                node.customer_sbx[c]
                    .checked_add(node.sbx_offered[c])
                    .unwrap_or_default(),
                minted,
            );
            [(x.amulet.clone(), amulet), (x.sbx.clone(), sbx)].into()
        })
        .collect()
}

fn get(map: &PerInstrument, i: &InstrumentId) -> Amount {
    map.get(i).copied().unwrap_or_default()
}

/// Every committed deposit credited exactly once, none that did not commit or is not its
/// issuer's (a counterfeit).
fn deposits_credited_once(x: &Exchange, node: &Node, db: &Db) -> Vec<String> {
    let mut out = Vec::new();
    for c in 0..CUSTOMERS {
        let account = account_of(c);
        let credited = db
            .deposit_credits
            .get(&account)
            .cloned()
            .unwrap_or_default();
        for i in [&x.amulet, &x.sbx] {
            let (want, got) = (get(&node.deposited[c], i), get(&credited, i));
            if want != got {
                out.push(format!(
                    "{account} {}: the node received {want} in deposits, the journal credits {got}",
                    i.id
                ));
            }
        }
    }
    out
}

/// No withdrawal paid twice: no second payment booked, and the DB's payments to each customer
/// are the node's.
fn no_withdrawal_paid_twice(x: &Exchange, node_paid: &[PerInstrument], db: &Db) -> Vec<String> {
    let mut out: Vec<String> = db
        .withdrawals
        .iter()
        .filter_map(|w| {
            w.duplicate_of
                .as_ref()
                .map(|d| format!("withdrawal {d} was paid again ({})", w.id))
        })
        .collect();
    for (c, db_paid) in paid_per_customer(x, db).iter().enumerate() {
        for i in [&x.amulet, &x.sbx] {
            let (on_node, in_db) = (get(&node_paid[c], i), get(db_paid, i));
            if on_node != in_db {
                out.push(format!("customer {c} {}: paid {on_node} on the ledger, {in_db} by the DB's withdrawals", i.id));
            }
        }
    }
    out
}

/// No customer can re-spend funds whose withdrawal was in flight: each balance is what the
/// node says it deposited, less what the node says it was paid, less what is in flight.
fn no_respend(x: &Exchange, node: &Node, node_paid: &[PerInstrument], db: &Db) -> Vec<String> {
    let mut out = Vec::new();
    for (c, paid) in node_paid.iter().enumerate() {
        let account = account_of(c);
        let balances = db.balances.get(&account).cloned().unwrap_or_default();
        for i in [&x.amulet, &x.sbx] {
            let pending = sum(&db
                .withdrawals
                .iter()
                .filter(|w| {
                    in_flight(w) && w.account.as_ref() == Some(&account) && &w.instrument == i
                })
                .map(|w| w.amount)
                .collect::<Vec<_>>());
            let want = sub(sub(get(&node.deposited[c], i), get(paid, i)), pending);
            let got = get(&balances, i);
            if want != got || got.is_negative() {
                out.push(format!(
                    "{account} {}: balance {got}, the node implies {want} ({pending} in flight)",
                    i.id
                ));
            }
        }
    }
    out
}

/// Every materialized balance equals the sum of its journal.
fn balances_equal_journals(db: &Db) -> Vec<String> {
    db.drift
        .iter()
        .map(|d| {
            format!(
                "{} {}: journal {:?}, balance {:?}",
                d.account, d.instrument.id, d.journal, d.materialized
            )
        })
        .collect()
}

/// The DB's active treasury holdings are the node's active contracts, one for one.
fn holdings_match_node(node: &Node, db: &Db) -> Vec<String> {
    let mut out = Vec::new();
    for (i, on_node) in &node.treasury {
        let empty = BTreeSet::new();
        let in_db = db.holdings.get(i).unwrap_or(&empty);
        for (cid, a) in on_node.difference(in_db) {
            out.push(format!(
                "{}: the node's holding {cid} ({a}) is not active in the DB",
                i.id
            ));
        }
        for (cid, a) in in_db.difference(on_node) {
            out.push(format!(
                "{}: the DB's holding {cid} ({a}) is not active on the node",
                i.id
            ));
        }
    }
    out
}

/// Per instrument: what the treasury holds on the node = customer liabilities + suspense
/// (including deposits to no known account) + withdrawals in flight + the exchange's own
/// funds.
fn books_balance(node: &Node, db: &Db, book: &Book) -> Vec<String> {
    let mut out = Vec::new();
    for (i, held) in &node.treasury {
        let held = sum(&held.iter().map(|h| h.1).collect::<Vec<_>>());
        let liabilities = sum(&db.balances.values().map(|b| get(b, i)).collect::<Vec<_>>());
        let pending = sum(&db
            .withdrawals
            .iter()
            .filter(|w| in_flight(w) && &w.instrument == i)
            .map(|w| w.amount)
            .collect::<Vec<_>>());
        let unknown = get(&db.unknown_account_deposits, i);
        let own = get(&book.own_funds, i);
        let owed = sum(&[liabilities, pending, unknown, own]);
        if held != owed {
            out.push(format!(
                "{}: the treasury holds {held}; accounts (suspense included) {liabilities} + in flight {pending} + unknown accounts {unknown} + own funds {own} = {owed}",
                i.id
            ));
        }
    }
    out
}

/// Checks every invariant; the DB must have ingested up to the node's ledger end.
pub async fn check(x: &Exchange, book: &Book) -> Result<Vec<Broken>, DrillError> {
    let node = read_node(x, book);
    let db = read_db(x).await?;
    let node_paid = paid_on_ledger(x, &node, book);
    let mut broken = Vec::new();
    let mut note = |name: &'static str, found: Vec<String>| {
        broken.extend(found.into_iter().map(|f| (name, f)));
    };
    note(
        "deposits-credited-once",
        deposits_credited_once(x, &node, &db),
    );
    note(
        "no-withdrawal-paid-twice",
        no_withdrawal_paid_twice(x, &node_paid, &db),
    );
    note(
        "no-respend-of-in-flight-funds",
        no_respend(x, &node, &node_paid, &db),
    );
    note(
        "no-offer-in-flight-past-its-deadline",
        no_offer_in_flight_past_its_deadline(&db),
    );
    note("balances-equal-journals", balances_equal_journals(&db));
    note(
        "treasury-holdings-match-node",
        holdings_match_node(&node, &db),
    );
    note("books-balance", books_balance(&node, &db, book));
    Ok(broken)
}

#[cfg(test)]
mod tests {
    use super::*;
    use exchange_core::PartyId;
    use exchange_core::withdrawal::WithdrawalId;

    fn t(seconds: i64) -> Timestamp {
        Timestamp::from_micros(seconds * 1_000_000).unwrap()
    }

    fn offer(state: WithdrawalState, execute_before: i64) -> Withdrawal {
        Withdrawal {
            id: WithdrawalId::new(format!("w-{state}")).unwrap(),
            state,
            account: None,
            instrument: InstrumentId {
                admin: PartyId::new("sbx::1220ab").unwrap(),
                id: "SBX".into(),
            },
            amount: "30".parse().unwrap(),
            receiver: PartyId::new("bob::1220ab").unwrap(),
            trec_tgt: None,
            synchronizer: Some(SynchronizerId::new("global::1220ab").unwrap()),
            reason: None,
            transfer_instruction: Some(exchange_core::ContractId::new("ti1").unwrap()),
            last_origin: None,
            created_at: t(0),
            updated_at: t(0),
            duplicate_of: None,
            idempotency_key: None,
            execute_before: Some(t(execute_before)),
            purpose: WithdrawalPurpose::Customer,
        }
    }

    fn db(withdrawals: Vec<Withdrawal>, now: i64) -> Db {
        Db {
            withdrawals,
            balances: BTreeMap::new(),
            deposit_credits: BTreeMap::new(),
            unknown_account_deposits: PerInstrument::new(),
            holdings: BTreeMap::new(),
            drift: Vec::new(),
            record_times: [(SynchronizerId::new("global::1220ab").unwrap(), t(now))].into(),
        }
    }

    #[test]
    fn an_offer_still_in_flight_past_its_certain_expiry_is_a_violation() {
        let offers = || {
            vec![
                offer(WithdrawalState::Recovered, 100),
                offer(WithdrawalState::PendingAcceptance, 100),
                offer(WithdrawalState::Failed, 100),
            ]
        };
        // Before executeBefore + 60 s an accept may still come: not yet.
        assert!(no_offer_in_flight_past_its_deadline(&db(offers(), 159)).is_empty());
        let found = no_offer_in_flight_past_its_deadline(&db(offers(), 160));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("w-recovered"), "{found:?}");
        assert!(found[1].contains("w-pending_acceptance"), "{found:?}");
    }
}
