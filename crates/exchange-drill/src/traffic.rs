//! Seeded customer traffic against the node, and the book of what it committed there: the
//! node-side truth the invariants hold the DB against (what left each customer, what the
//! treasury was given outside any account).
//!
//! Steps: 1-step Canton Coin deposits, multi-step SBX deposits (offers the deposit automation
//! accepts; some expire first), withdrawals of either token (SBX ones are offers the customer
//! accepts or rejects, or lets expire), a counterfeit deposit, an ACS import into the treasury
//! (non-unique record times), and time passing.

use std::collections::BTreeMap;

use canton_sandbox::token::counterfeit::CounterfeitTransfer;
use canton_sandbox::token::{InstructionChoice, OfferRequest, TransferRequest};
use exchange_core::selection::SelectionPolicy;
use exchange_core::withdrawal::WithdrawalOrder;
use exchange_core::{Amount, InstrumentId};
use exchange_services::memo_key;
use exchange_store::StoreError;
use serde::Serialize;

use crate::DrillError;
use crate::clock::{self, DAY, SECOND, WITHDRAWAL_TTL};
use crate::exchange::{CUSTOMERS, Exchange, account_of};
use crate::rng::Rng;

/// What the drill committed on the node, by customer index.
#[derive(Clone, Debug, Default)]
pub struct Book {
    /// 1-step Canton Coin deposits that committed (left the customer, owed to its account).
    pub amulet_deposited: BTreeMap<usize, Amount>,
    pub sbx_minted: BTreeMap<usize, Amount>,
    /// SBX deposit offers: (customer, amount, transfer instruction). Each locks the amount
    /// from the customer; it is owed to the account once the treasury accepted it.
    pub deposit_offers: Vec<(usize, Amount, String)>,
    /// Treasury funds that belong to no customer (ACS imports), per instrument. Node backups
    /// before an import are not restored: an import is participant-local data a restore
    /// loses (operators back up after one).
    pub own_funds: BTreeMap<InstrumentId, Amount>,
}

/// How many of each step ran.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TrafficCounts {
    pub deposits: u32,
    pub deposit_offers: u32,
    pub expiring_deposit_offers: u32,
    pub withdrawals: u32,
    pub withdrawals_refused: u32,
    pub offers_accepted: u32,
    pub offers_rejected: u32,
    pub counterfeits: u32,
    pub acs_imports: u32,
    pub time_advanced_days: f64,
}

fn add(map: &mut BTreeMap<usize, Amount>, key: usize, value: Amount) -> Result<(), DrillError> {
    let e = map.entry(key).or_insert(Amount::ZERO);
    *e = e
        .checked_add(value)
        .map_err(|_| DrillError::Setup("amount overflow".into()))?;
    Ok(())
}

/// A random amount with cents, from 1 up to `max` whole units.
fn some_amount(rng: &mut Rng, max: i64) -> Amount {
    let whole = rng.between(1, max.max(1));
    let cents = rng.between(0, 99);
    format!("{whole}.{cents:02}")
        .parse()
        .expect("a valid amount literal")
}

pub struct Traffic {
    pub book: Book,
    pub counts: TrafficCounts,
}

impl Traffic {
    pub fn new() -> Traffic {
        Traffic {
            book: Book::default(),
            counts: TrafficCounts::default(),
        }
    }

    /// One random step of traffic.
    pub async fn step(&mut self, x: &mut Exchange, rng: &mut Rng) -> Result<(), DrillError> {
        clock::catch_up(&x.sandbox);
        match rng.below(100) {
            0..=21 => self.deposit(x, rng.index(CUSTOMERS), some_amount(rng, 500)),
            22..=33 => self.deposit_offer(x, rng, false),
            34..=37 => self.deposit_offer(x, rng, true),
            38..=69 => self.withdraw(x, rng).await,
            70..=79 => self.answer_offers(x, rng),
            80..=82 => self.counterfeit(x, rng),
            83..=85 => self.acs_import(x, rng),
            _ => {
                self.advance(x, rng);
                Ok(())
            }
        }
    }

    /// A 1-step Canton Coin deposit by `customer` to its account.
    pub fn deposit(
        &mut self,
        x: &mut Exchange,
        customer: usize,
        value: Amount,
    ) -> Result<(), DrillError> {
        let request = TransferRequest {
            sender: x.customers[customer].clone(),
            receiver: x.treasury.clone(),
            amount: value,
            memo: Some(account_of(customer).to_string()),
            inputs: None,
            command_id: x.command_id("deposit"),
        };
        x.sandbox
            .with_world(|w| w.amulet.transfer(&mut w.ledger, &request))
            .map_err(|e| DrillError::Node(format!("deposit: {e}")))?;
        self.counts.deposits += 1;
        add(&mut self.book.amulet_deposited, customer, value)
    }

    /// An SBX offer to the treasury; `expiring`: its `executeBefore` is an hour away and two
    /// hours pass before the automation looks (unless the clock is held).
    fn deposit_offer(
        &mut self,
        x: &mut Exchange,
        rng: &mut Rng,
        expiring: bool,
    ) -> Result<(), DrillError> {
        let customer = rng.index(CUSTOMERS);
        let value = some_amount(rng, 300);
        self.offer_deposit(x, customer, value, expiring)
    }

    /// An SBX offer of `value` by `customer` to the treasury, as [`Traffic::step`] makes them.
    pub fn offer_deposit(
        &mut self,
        x: &mut Exchange,
        customer: usize,
        value: Amount,
        expiring: bool,
    ) -> Result<(), DrillError> {
        let execute_before = expiring
            .then(|| clock::ledger_time(&x.sandbox).checked_add_micros(3_600 * SECOND))
            .flatten();
        let request = OfferRequest {
            sender: x.customers[customer].clone(),
            receiver: x.treasury.clone(),
            amount: value,
            memo: Some(account_of(customer).to_string()),
            execute_before,
            command_id: x.command_id("sbx-offer"),
        };
        let sender = request.sender.clone();
        let offer = x
            .sandbox
            .with_world(|w| {
                w.token.mint(&mut w.ledger, &sender, value)?;
                w.token.offer(&mut w.ledger, &request)
            })
            .map_err(|e| DrillError::Node(format!("deposit offer: {e}")))?;
        add(&mut self.book.sbx_minted, customer, value)?;
        self.book
            .deposit_offers
            .push((customer, value, offer.transfer_instruction_cid));
        if expiring {
            self.counts.expiring_deposit_offers += 1;
            self.counts.time_advanced_days +=
                clock::advance(&x.sandbox, 2 * 3_600 * SECOND) as f64 / DAY as f64;
        } else {
            self.counts.deposit_offers += 1;
        }
        Ok(())
    }

    /// A withdrawal request of Canton Coin (1-step) or SBX (an offer) to the customer's own
    /// party, with a sealed memo. Sometimes more than the balance, which must be refused.
    async fn withdraw(&mut self, x: &mut Exchange, rng: &mut Rng) -> Result<(), DrillError> {
        let customer = rng.index(CUSTOMERS);
        let account = account_of(customer);
        // Either token, among those the account has at least 1 of (half the time SBX, an
        // offer, when it has both).
        let mut held = Vec::new();
        for instrument in [&x.amulet, &x.sbx] {
            let balance = x.store.balance(&account, instrument).await?;
            let whole: i64 = balance
                .to_string()
                .split('.')
                .next()
                .and_then(|w| w.parse().ok())
                .unwrap_or(0);
            if whole >= 1 {
                held.push((instrument.clone(), balance, whole));
            }
        }
        if held.is_empty() {
            return Ok(());
        }
        let (instrument, balance, whole) = held.swap_remove(rng.index(held.len()));
        let value = if rng.percent(10) {
            balance
                .checked_add(Amount::from_whole(1))
                .unwrap_or(balance)
        } else {
            some_amount(rng, whole.min(400)).min(balance)
        };
        let id = memo_key::new_withdrawal_id(Some((&x.memo_key, &x.treasury_party())), &account)
            .map_err(|e| DrillError::Setup(format!("withdrawal id: {e}")))?;
        let order = WithdrawalOrder {
            id,
            account,
            instrument,
            amount: value,
            receiver: exchange_core::PartyId::new(&x.customers[customer])
                .map_err(|e| DrillError::Setup(format!("{e:?}")))?,
            ttl_micros: WITHDRAWAL_TTL,
            synchronizer: None,
            idempotency_key: None,
            policy: SelectionPolicy::default(),
        };
        match x.store.place_withdrawal(&order).await {
            Ok(_) => self.counts.withdrawals += 1,
            // Refusals a customer may meet: more than the balance, withdrawals switched off,
            // the treasury's holdings all reserved by withdrawals in flight.
            Err(
                StoreError::InsufficientFunds { .. }
                | StoreError::WithdrawalsDisabled { .. }
                | StoreError::NoSpendableHoldings(_),
            ) => self.counts.withdrawals_refused += 1,
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// `customer` answers every SBX withdrawal offer waiting for it with `choice`; returns
    /// how many it answered (an offer past its executeBefore can no longer be).
    pub fn answer_offers_of(
        &mut self,
        x: &mut Exchange,
        customer: usize,
        choice: InstructionChoice,
    ) -> usize {
        let party = x.customers[customer].clone();
        let pending = x.sandbox.with_world(|w| w.token.pending(&w.ledger, &party));
        let mut answered = 0;
        for offer in pending.iter().filter(|p| p.receiver == party) {
            let command_id = x.command_id("answer");
            let acted = x.sandbox.with_world(|w| {
                w.token
                    .act(&mut w.ledger, &offer.contract_id, choice, &command_id)
            });
            if acted.is_ok() {
                answered += 1;
                match choice {
                    InstructionChoice::Accept => self.counts.offers_accepted += 1,
                    _ => self.counts.offers_rejected += 1,
                }
            }
        }
        answered
    }

    /// Customers answer the SBX withdrawal offers waiting for them: mostly accepted, some
    /// rejected, some left to expire.
    pub fn answer_offers(&mut self, x: &mut Exchange, rng: &mut Rng) -> Result<(), DrillError> {
        for customer in x.customers.clone() {
            let pending = x
                .sandbox
                .with_world(|w| w.token.pending(&w.ledger, &customer));
            for offer in pending.iter().filter(|p| p.receiver == customer) {
                let choice = match rng.below(10) {
                    0..=5 => InstructionChoice::Accept,
                    6..=7 => InstructionChoice::Reject,
                    _ => continue,
                };
                let accept = matches!(choice, InstructionChoice::Accept);
                let command_id = x.command_id("answer");
                let acted = x.sandbox.with_world(|w| {
                    w.token
                        .act(&mut w.ledger, &offer.contract_id, choice, &command_id)
                });
                // After its executeBefore an offer can no longer be answered: left as it is.
                if acted.is_ok() {
                    if accept {
                        self.counts.offers_accepted += 1;
                    } else {
                        self.counts.offers_rejected += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// A counterfeit "Canton Coin" (another issuer's) sent to the treasury with a customer's
    /// memo: recorded, never credited.
    fn counterfeit(&mut self, x: &mut Exchange, rng: &mut Rng) -> Result<(), DrillError> {
        let customer = rng.index(CUSTOMERS);
        let value = some_amount(rng, 1000);
        self.counterfeit_deposit(x, customer, value)
    }

    /// A counterfeit "Canton Coin" of `value` sent by `customer` with its account's memo.
    pub fn counterfeit_deposit(
        &mut self,
        x: &mut Exchange,
        customer: usize,
        value: Amount,
    ) -> Result<(), DrillError> {
        let sender = x.customers[customer].clone();
        let request = CounterfeitTransfer {
            sender: sender.clone(),
            receiver: x.treasury.clone(),
            amount: value,
            memo: Some(account_of(customer).to_string()),
            command_id: x.command_id("counterfeit"),
        };
        x.sandbox
            .with_world(|w| {
                let token = w.counterfeit()?;
                token.mint(&mut w.ledger, &sender, value)?;
                token.transfer(&mut w.ledger, &request)
            })
            .map_err(|e| DrillError::Node(format!("counterfeit: {e}")))?;
        self.counts.counterfeits += 1;
        Ok(())
    }

    /// A participant-local ACS import of Canton Coin into the treasury at record time
    /// 0001-01-01: the exchange's own funds, and a record time that is neither unique nor
    /// increasing.
    fn acs_import(&mut self, x: &mut Exchange, rng: &mut Rng) -> Result<(), DrillError> {
        let amounts: Vec<Amount> = (0..rng.between(1, 3))
            .map(|_| some_amount(rng, 200))
            .collect();
        x.sandbox
            .import_acs_at_min_time(&x.treasury, &amounts)
            .map_err(|e| DrillError::Node(format!("ACS import: {e}")))?;
        let own = self
            .book
            .own_funds
            .entry(x.amulet.clone())
            .or_insert(Amount::ZERO);
        for a in &amounts {
            *own = own
                .checked_add(*a)
                .map_err(|_| DrillError::Setup("amount overflow".into()))?;
        }
        self.counts.acs_imports += 1;
        // The import may well be the last update ingested when a disaster strikes: `recover
        // validator` then resumes from the ledger's beginning (tRecovery is the minimum
        // record time), which the skip rule by update id makes safe.
        Ok(())
    }

    /// Time passes: minutes, hours, or days (within the clock's window).
    fn advance(&mut self, x: &mut Exchange, rng: &mut Rng) {
        let micros = match rng.below(10) {
            0..=2 => rng.between(1, 120) * 60 * SECOND,
            3..=4 => rng.between(1, 48) * 3_600 * SECOND,
            _ => rng.between(1, 10) * DAY,
        };
        self.counts.time_advanced_days += clock::advance(&x.sandbox, micros) as f64 / DAY as f64;
    }
}

impl Default for Traffic {
    fn default() -> Self {
        Traffic::new()
    }
}
