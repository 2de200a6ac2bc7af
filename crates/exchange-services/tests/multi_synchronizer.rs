//! Ingestion against a node connected to two synchronizers, on SQLite and PostgreSQL: Canton
//! Coin on the global synchronizer, the SBX token on a second one whose record times run ten
//! minutes behind. Deposits on both interleave in offset order with record times going up and
//! down; each is credited exactly once, in one run, in batches, and after ingestion is pointed
//! back at an earlier offset, where the skip rule (record time at or before the last ingested
//! one *of the transaction's synchronizer*) must not drop an SBX deposit whose record time is
//! below the last Canton Coin one.

mod common;
#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

use std::collections::BTreeMap;

use canton_ledger::admin_client::AdminClient;
use canton_ledger::client::LedgerClient;
use canton_sandbox::server::MULTI_SYNC_BEHIND_MICROS;
use canton_sandbox::token::{InstructionChoice, OfferRequest, TransferRequest};
use canton_sandbox::{Sandbox, SandboxConfig};
use common::*;
use exchange_core::changeset::DepositState;
use exchange_core::withdrawal::{WithdrawalId, WithdrawalRequest, WithdrawalState};
use exchange_core::{Amount, InstrumentId, PartyId, SynchronizerId, Timestamp};
use exchange_services::filter::treasury_format;
use exchange_services::recover::{GivenOffset, RecordTimes, node_restore, node_restore_via_admin};
use exchange_services::{Source, Summary, Transport};
use exchange_store::Store;
use harness::TestDb;

const CUSTOMERS: usize = 3;

/// A sandbox on two synchronizers with a treasury (Canton Coin preapproval) and customers
/// holding both tokens (see [`funded_customers`]).
struct TwoSyncs {
    sandbox: Sandbox,
    treasury: String,
    customers: Vec<String>,
    amulet: InstrumentId,
    sbx: InstrumentId,
    seq: usize,
}

/// One deposit as committed: (offset, synchronizer index, record time).
type Committed = (i64, usize, Timestamp);

impl TwoSyncs {
    async fn start() -> TwoSyncs {
        let config = SandboxConfig::default().with_second_synchronizer(MULTI_SYNC_BEHIND_MICROS);
        let sandbox = Sandbox::start(config).await.expect("sandbox starts");
        let (treasury, customers, dso, admin) = sandbox.with_world(|w| {
            let treasury = w.ledger.allocate_party("treasury").expect("party");
            w.amulet
                .create_preapproval(&mut w.ledger, &treasury)
                .expect("preapproval");
            let customers = funded_customers(w, CUSTOMERS);
            for c in &customers {
                w.token
                    .mint(&mut w.ledger, c, amount("1000000"))
                    .expect("mint");
            }
            (
                treasury,
                customers,
                w.amulet.dso.clone(),
                w.token.admin.clone(),
            )
        });
        let instrument = |admin: &str, id: &str| InstrumentId {
            admin: PartyId::new(admin).expect("party"),
            id: id.into(),
        };
        TwoSyncs {
            sandbox,
            treasury,
            customers,
            amulet: instrument(&dso, "Amulet"),
            sbx: instrument(&admin, "SBX"),
            seq: 0,
        }
    }

    /// A 1-step Canton Coin deposit (global synchronizer).
    fn deposit_cc(&mut self, customer: usize, value: Amount) -> Committed {
        self.seq += 1;
        let request = TransferRequest {
            sender: self.customers[customer].clone(),
            receiver: self.treasury.clone(),
            amount: value,
            memo: Some(account_of(customer).as_str().to_owned()),
            inputs: None,
            command_id: format!("cc-deposit-{}", self.seq),
        };
        self.sandbox.with_world(|w| {
            let out = w
                .amulet
                .transfer(&mut w.ledger, &request)
                .expect("deposit commits");
            let tx = w.ledger.update_at(out.offset).expect("committed");
            (tx.offset, tx.synchronizer, tx.record_time)
        })
    }

    /// An SBX deposit (second synchronizer): the customer's offer, which the treasury accepts.
    /// Returns the acceptance, where the deposit is credited.
    fn deposit_sbx(&mut self, customer: usize, value: Amount) -> Committed {
        self.seq += 1;
        let request = OfferRequest {
            sender: self.customers[customer].clone(),
            receiver: self.treasury.clone(),
            amount: value,
            memo: Some(account_of(customer).as_str().to_owned()),
            execute_before: None,
            command_id: format!("sbx-deposit-{}", self.seq),
        };
        let seq = self.seq;
        self.sandbox.with_world(|w| {
            let offer = w.token.offer(&mut w.ledger, &request).expect("offer");
            let accepted = w
                .token
                .act(
                    &mut w.ledger,
                    &offer.transfer_instruction_cid,
                    InstructionChoice::Accept,
                    &format!("sbx-accept-{seq}"),
                )
                .expect("accept");
            let tx = w.ledger.update_at(accepted.offset).expect("committed");
            (tx.offset, tx.synchronizer, tx.record_time)
        })
    }

    fn source(&self, transport: Transport) -> Source {
        Source::Ledger {
            client: LedgerClient::new(&self.sandbox.ledger_api_url(), None),
            transport,
        }
    }

    /// Ingests to the ledger end.
    async fn ingest(&self, store: &Store, transport: Transport, batch: usize) -> Summary {
        ingest(
            store,
            self.source(transport),
            ingest_config(&self.treasury, true, batch),
        )
        .await
        .expect("ingestion runs")
    }

    /// Rounds of one deposit per token by random customers, Canton Coin first, so that in
    /// offset order every SBX acceptance has a lower record time than the deposit before it.
    fn interleaved(
        &mut self,
        rng: &mut Rng,
        rounds: usize,
        expected: &mut BTreeMap<(usize, bool), Amount>,
    ) -> Vec<Committed> {
        let mut out = Vec::new();
        for _ in 0..rounds {
            for sbx in [false, true] {
                let customer = rng.below(CUSTOMERS as u64) as usize;
                let value = Amount::from_whole(1 + rng.below(40) as i64);
                out.push(if sbx {
                    self.deposit_sbx(customer, value)
                } else {
                    self.deposit_cc(customer, value)
                });
                let e = expected.entry((customer, sbx)).or_insert(Amount::ZERO);
                *e = e.checked_add(value).unwrap();
            }
        }
        out
    }

    /// Every (customer, is SBX) balance.
    async fn balances(&self, store: &Store) -> BTreeMap<(usize, bool), Amount> {
        let mut out = BTreeMap::new();
        for (sbx, instrument) in [(false, &self.amulet), (true, &self.sbx)] {
            for (customer, balance) in balances(store, CUSTOMERS, instrument).await {
                if balance != Amount::ZERO {
                    out.insert((customer, sbx), balance);
                }
            }
        }
        out
    }
}

/// The record times really do go down in offset order, across synchronizers only.
fn assert_interleaved(deposits: &[Committed]) {
    let mut went_down = 0;
    let mut last: BTreeMap<usize, Timestamp> = BTreeMap::new();
    for pair in deposits.windows(2) {
        let (before, after) = (pair[0], pair[1]);
        assert!(after.0 > before.0);
        if after.2 < before.2 {
            assert_ne!(after.1, before.1, "only across synchronizers");
            went_down += 1;
        }
    }
    for d in deposits {
        if let Some(t) = last.insert(d.1, d.2) {
            assert!(d.2 > t, "per synchronizer increasing");
        }
    }
    assert!(went_down * 2 >= deposits.len() - 1, "{went_down}");
    assert_eq!(last.len(), 2, "deposits on both synchronizers");
}

async fn deposits_on_two_synchronizers_are_credited_once(db: &TestDb) {
    let mut node = TwoSyncs::start().await;
    let store = store_for(db, &node.sandbox, CUSTOMERS).await;
    let mut rng = Rng::new(41);
    let mut expected = BTreeMap::new();

    // Round 1, ingested in small batches over the websocket.
    let first = node.interleaved(&mut rng, 8, &mut expected);
    assert_interleaved(&first);
    node.ingest(&store, Transport::Websocket, 3).await;
    assert_eq!(node.balances(&store).await, expected);
    assert!(
        store
            .deposits_in_state(DepositState::Offered)
            .await
            .unwrap()
            .is_empty(),
        "every SBX offer was accepted and credited"
    );

    // Round 2: the global synchronizer's clock jumps an hour ahead first, so every new SBX
    // deposit has a record time far below the last Canton Coin record time ingested.
    node.sandbox
        .with_world(|w| w.ledger.advance_time_of(0, 3_600_000_000).expect("forward"));
    let second = node.interleaved(&mut rng, 6, &mut expected);
    assert_interleaved(&second);
    let last_cc = first
        .iter()
        .filter(|d| d.1 == 0)
        .map(|d| d.2)
        .max()
        .unwrap();
    assert!(second.iter().filter(|d| d.1 == 1).all(|d| d.2 < last_cc));

    // Ingestion pointed back at an offset in the middle of round 1 (as the node-restore
    // runbook may do with an earlier offRecovery): the rest of round 1 is skipped, round 2 is
    // credited, nothing twice.
    let back_to = first[first.len() / 2].0;
    let format = treasury_format(&node.treasury);
    let source = node.source(Transport::Websocket);
    node_restore(&store, &source, &format, Some(GivenOffset::at(back_to)))
        .await
        .expect("re-pointed");
    let summary = node.ingest(&store, Transport::Http, 4).await;
    assert!(
        summary.skipped as usize >= first.len() / 2,
        "round 1 after {back_to} is skipped: {summary:?}"
    );
    assert_eq!(node.balances(&store).await, expected, "{summary:?}");

    // Once more from the very beginning on the same DB: everything is known, nothing changes.
    let source = node.source(Transport::Http);
    node_restore(&store, &source, &format, Some(GivenOffset::at(1)))
        .await
        .expect("re-pointed");
    let summary = node.ingest(&store, Transport::Websocket, 7).await;
    assert_eq!(summary.ingested, 0, "{summary:?}");
    assert_eq!(node.balances(&store).await, expected);
    store.close().await;
}

/// A fresh DB that ingests the whole interleaved history in one go, one transaction per batch
/// (so checkpoints with both synchronizers' times fall between every pair of deposits).
async fn one_pass_with_tiny_batches(db: &TestDb) {
    let mut node = TwoSyncs::start().await;
    let store = store_for(db, &node.sandbox, CUSTOMERS).await;
    let mut rng = Rng::new(7);
    let mut expected = BTreeMap::new();
    let deposits = node.interleaved(&mut rng, 10, &mut expected);
    assert_interleaved(&deposits);
    node.ingest(&store, Transport::Http, 1).await;
    assert_eq!(node.balances(&store).await, expected);
    store.close().await;
}

/// The node-restore runbook when the last ingested transaction is on the second
/// synchronizer: `GetHighestOffsetByTimestamp` is asked about that synchronizer at that
/// transaction's record time (the global synchronizer's times say nothing about it) and gives
/// its new offset; ingestion resumes there and credits only what is new.
async fn node_restore_with_the_last_update_on_the_second_synchronizer(db: &TestDb) {
    let mut node = TwoSyncs::start().await;
    let store = store_for(db, &node.sandbox, CUSTOMERS).await;
    let mut rng = Rng::new(99);
    let mut expected = BTreeMap::new();
    node.interleaved(&mut rng, 4, &mut expected);
    let backup = node.sandbox.backup();
    let round = node.interleaved(&mut rng, 4, &mut expected);
    node.ingest(&store, Transport::Websocket, 5).await;
    let checkpoint = store.checkpoint().await.unwrap().unwrap();
    let last = checkpoint.last_update.clone().unwrap();
    let second_id = node.sandbox.info().synchronizers[1].synchronizer_id.clone();
    assert_eq!(last.synchronizer_id.as_str(), second_id);
    assert_eq!(last.offset.get(), round.last().unwrap().0);

    let report = node.sandbox.restore(&backup);
    assert_eq!(
        report.redelivered,
        round.len() * 3 / 2,
        "offer + accept per SBX deposit"
    );
    let after_restore = node.interleaved(&mut rng, 3, &mut expected);
    let new_offset = node.sandbox.with_world(|w| {
        let update_id = last.update_id.to_string();
        w.ledger
            .update_by_id(&update_id)
            .expect("re-delivered")
            .offset
    });
    assert_ne!(new_offset, last.offset.get());

    let admin = AdminClient::new(&node.sandbox.admin_api_url(), None);
    let format = treasury_format(&node.treasury);
    let source = node.source(Transport::Websocket);
    let recovered = node_restore_via_admin(&store, &source, &format, &admin, RecordTimes::Unique)
        .await
        .expect("re-pointed");
    let lookup = recovered.admin.clone().expect("asked the Admin API");
    assert_eq!(lookup.timestamp, last.record_time);
    assert_eq!(lookup.off_recovery, new_offset, "{recovered:?}");
    let summary = node.ingest(&store, Transport::Http, 5).await;
    // Three rounds, each a deposit, an offer and its acceptance.
    assert_eq!(
        summary.ingested as usize,
        after_restore.len() * 3 / 2,
        "{summary:?}"
    );
    assert_eq!(node.balances(&store).await, expected);
    store.close().await;
}

/// Withdrawals whose target record time lies between the two synchronizers' times (SBX's
/// clock is ten minutes behind). Canton compares a transfer's `maxRecordTime` with the record
/// time of the synchronizer it is sequenced on, so ingestion expires each withdrawal by its own
/// synchronizer's time: a Canton Coin withdrawal on the global synchronizer at once, an SBX
/// one only when the SBX synchronizer's time has passed (ingestion once expired it by the
/// global time, refunding a customer whose transfer could still pay out). A withdrawal that
/// does not name its synchronizer expires only when every synchronizer's time has passed.
async fn withdrawals_expire_by_their_own_synchronizers_time(db: &TestDb) {
    let mut node = TwoSyncs::start().await;
    let store = store_for(db, &node.sandbox, CUSTOMERS).await;
    let mut expected = BTreeMap::new();
    let mut rng = Rng::new(5);
    node.interleaved(&mut rng, 3, &mut expected);
    let (customer, sbx_credited) = expected
        .iter()
        .find(|((_, sbx), _)| *sbx)
        .map(|((c, _), a)| (*c, *a))
        .expect("an SBX deposit");
    // Canton Coin for the customer's two Canton Coin withdrawals, in holdings of its own.
    node.deposit_cc(customer, Amount::from_whole(5));
    node.deposit_cc(customer, Amount::from_whole(5));
    node.ingest(&store, Transport::Websocket, 5).await;
    let cc_balance = store
        .balance(&account_of(customer), &node.amulet)
        .await
        .unwrap();

    // trecTgt five minutes ahead of the SBX synchronizer's clock: already behind the global
    // synchronizer's.
    let (sbx_now, global_now, global, sbx) = node.sandbox.with_world(|w| {
        (
            w.ledger.record_time_of(1),
            w.ledger.record_time_of(0),
            SynchronizerId::new(&w.ledger.synchronizer(0).id).unwrap(),
            SynchronizerId::new(&w.ledger.synchronizer(1).id).unwrap(),
        )
    });
    let trec_tgt = Timestamp::from_micros(sbx_now.micros() + 300_000_000).unwrap();
    assert!(sbx_now < trec_tgt && trec_tgt < global_now);
    let sbx_holding = store.available_holdings(&node.sbx).await.unwrap()[0]
        .holding
        .contract_id
        .clone();
    let cc_holdings: Vec<_> = store
        .available_holdings(&node.amulet)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.holding.contract_id)
        .collect();
    let requests = [
        ("w-sbx", &node.sbx, Some(sbx), sbx_holding),
        ("w-cc", &node.amulet, Some(global), cc_holdings[0].clone()),
        ("w-cc-unnamed", &node.amulet, None, cc_holdings[1].clone()),
    ];
    for (id, instrument, synchronizer, holding) in requests {
        store
            .request_withdrawal(&WithdrawalRequest {
                id: WithdrawalId::new(id).unwrap(),
                account: account_of(customer),
                instrument: instrument.clone(),
                amount: Amount::from_whole(1),
                receiver: PartyId::new(&node.customers[customer]).unwrap(),
                trec_tgt,
                synchronizer,
                holdings: vec![holding],
            })
            .await
            .unwrap();
    }
    let state = async |id: &str| {
        let w = store
            .withdrawal(&WithdrawalId::new(id).unwrap())
            .await
            .unwrap()
            .unwrap();
        (w.state, w.synchronizer)
    };
    assert_eq!(
        state("w-sbx").await.1.map(|s| s.to_string()),
        Some(sbx_id(&node))
    );

    // Traffic on the global synchronizer only; no withdrawal's transfer has been sent.
    node.deposit_cc((customer + 1) % CUSTOMERS, Amount::from_whole(1));
    node.ingest(&store, Transport::Websocket, 5).await;
    assert_eq!(state("w-cc").await.0, WithdrawalState::Expired);
    assert_eq!(
        state("w-sbx").await.0,
        WithdrawalState::Requested,
        "the SBX synchronizer's time ({sbx_now}) has not reached trecTgt {trec_tgt}"
    );
    assert_eq!(state("w-cc-unnamed").await.0, WithdrawalState::Requested);
    let sbx_instrument = node.sbx.clone();
    let sbx_balance = || async {
        store
            .balance(&account_of(customer), &sbx_instrument)
            .await
            .unwrap()
    };
    assert_eq!(
        sbx_balance().await,
        sbx_credited.checked_sub(Amount::from_whole(1)).unwrap(),
        "the debit stands while the transfer may still commit"
    );

    // The SBX synchronizer's own time passes trecTgt: now all are definitely expired.
    node.sandbox
        .with_world(|w| w.ledger.advance_time_of(1, 600_000_000))
        .unwrap();
    node.deposit_sbx((customer + 1) % CUSTOMERS, Amount::from_whole(2));
    node.ingest(&store, Transport::Websocket, 5).await;
    for id in ["w-sbx", "w-cc", "w-cc-unnamed"] {
        assert_eq!(state(id).await.0, WithdrawalState::Expired, "{id}");
    }
    assert_eq!(sbx_balance().await, sbx_credited, "refunded once");
    assert_eq!(
        store
            .balance(&account_of(customer), &node.amulet)
            .await
            .unwrap(),
        cc_balance,
        "both Canton Coin withdrawals refunded once"
    );
    store.close().await;
}

fn sbx_id(node: &TwoSyncs) -> String {
    node.sandbox
        .with_world(|w| w.ledger.synchronizer(1).id.clone())
}

conformance!(
    withdrawals_expire_by_their_own_synchronizers_time,
    deposits_on_two_synchronizers_are_credited_once,
    one_pass_with_tiny_batches,
    node_restore_with_the_last_update_on_the_second_synchronizer,
);
