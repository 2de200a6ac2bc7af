//! What a withdrawal may name (`Store::known_instruments`, and the check of a withdrawal
//! order) reads one row per instrument (`holding_instruments`, migration 0023) instead of every
//! holding ever recorded: it must answer exactly what the query over the holdings answered,
//! for holdings recorded before the migration and ingested after it, held back or recognized
//! later. SQLite and PostgreSQL.

mod harness;

use exchange_core::InstrumentId;
use exchange_core::changeset::{Effect, Holding, JournalCause, JournalEntry};
use exchange_core::tokens::HeldBack;
use exchange_core::withdrawal::WithdrawalOrder;
use exchange_store::{Store, StoreError};
use harness::TestDb;
use harness::fixtures::{account, amount, cid, commit, order, origin, party};

conformance!(
    known_instruments_answer_as_the_query_over_every_holding,
    an_order_names_only_instruments_the_treasury_recognized,
);

/// What `known_instruments` read before migration 0023: every holding ever recorded.
const OVER_HOLDINGS: &str = "SELECT instrument_admin, instrument_id FROM tokens
    UNION SELECT instrument_admin, instrument_id FROM holdings WHERE held_back IS NULL
    ORDER BY instrument_admin, instrument_id";

fn instrument(admin: &str, id: &str) -> InstrumentId {
    InstrumentId {
        admin: party(admin),
        id: id.into(),
    }
}

fn held_back() -> Option<HeldBack> {
    Some(HeldBack {
        reason: "not onboarded".into(),
        provenance: Vec::new(),
    })
}

fn holding(c: &str, of: InstrumentId, held_back: Option<HeldBack>, n: i64) -> Effect {
    Effect::HoldingCreated(Holding {
        contract_id: cid(c),
        instrument: of,
        amount: amount("1"),
        lock: None,
        created: origin(n),
        held_back,
    })
}

/// Transaction `n` recognizes the held-back holding `c` (as ingestion does once its token is
/// onboarded).
async fn recognize(store: &Store, n: i64, c: &str) {
    let effects = vec![Effect::HoldingRecognized {
        contract_id: cid(c),
    }];
    commit(store, n, effects).await.unwrap();
}

/// `known_instruments` is what the query over the holdings gives, and `expected` (so that
/// both being empty or both wrong cannot pass).
async fn assert_known(db: &TestDb, store: &Store, expected: &[(&str, &str)]) {
    let known: Vec<Vec<String>> = store
        .known_instruments()
        .await
        .unwrap()
        .into_iter()
        .map(|i| vec![i.admin.to_string(), i.id])
        .collect();
    assert_eq!(known, db.texts(OVER_HOLDINGS).await);
    let expected: Vec<Vec<String>> = expected
        .iter()
        .map(|(admin, id)| vec![party(admin).to_string(), id.to_string()])
        .collect();
    assert_eq!(known, expected);
}

async fn known_instruments_answer_as_the_query_over_every_holding(db: &TestDb) {
    // Written before migration 0023: a token onboarded but never held, a recognized holding
    // (archived since: still known), one instrument held back only, one held back once and
    // recognized once, and two holdings of one instrument (listed once).
    db.migrate_up_to(22).await;
    db.raw(&[
        "INSERT INTO tokens (instrument_admin, instrument_id, registry_url, onboarded_at_us)
         VALUES ('issuer::1220abcd', 'Onboarded', 'https://registry', 1)",
        r#"INSERT INTO holdings (contract_id, instrument_admin, instrument_id, amount, locked,
             created_update_id, created_record_time_us, archived_update_id,
             archived_record_time_us, held_back)
         VALUES ('a1', 'DSO::1220abcd', 'Amulet', '1.0000000000', false, 'u1', 1000, 'u2', 2000,
                 NULL),
                ('a2', 'DSO::1220abcd', 'Amulet', '2.0000000000', false, 'u1', 1000, NULL, NULL,
                 NULL),
                ('f1', 'fake::1220abcd', 'Fake', '1.0000000000', false, 'u1', 1000, NULL, NULL,
                 '{"reason":"x","provenance":[]}'),
                ('m1', 'mixed::1220abcd', 'Mixed', '1.0000000000', false, 'u1', 1000, NULL, NULL,
                 '{"reason":"x","provenance":[]}'),
                ('m2', 'mixed::1220abcd', 'Mixed', '1.0000000000', false, 'u1', 1000, NULL, NULL,
                 NULL)"#,
    ])
    .await;
    let store = db.open().await;
    let before = [
        ("DSO", "Amulet"),
        ("issuer", "Onboarded"),
        ("mixed", "Mixed"),
    ];
    assert_known(db, &store, &before).await;

    // Ingested after it, in one batch: a new instrument twice, one held back, a holding of a
    // known one; then the held-back one recognized.
    commit(
        &store,
        3,
        vec![
            holding("n1", instrument("new", "New"), None, 3),
            holding("n2", instrument("new", "New"), None, 3),
            holding("w1", instrument("wait", "Wait"), held_back(), 3),
            holding("a3", instrument("DSO", "Amulet"), None, 3),
        ],
    )
    .await
    .unwrap();
    let with_new = [
        ("DSO", "Amulet"),
        ("issuer", "Onboarded"),
        ("mixed", "Mixed"),
        ("new", "New"),
    ];
    assert_known(db, &store, &with_new).await;
    recognize(&store, 4, "w1").await;
    let recognized = [
        ("DSO", "Amulet"),
        ("issuer", "Onboarded"),
        ("mixed", "Mixed"),
        ("new", "New"),
        ("wait", "Wait"),
    ];
    assert_known(db, &store, &recognized).await;

    // A batch that fails writes no instrument either.
    let failed = commit(
        &store,
        5,
        vec![
            holding("x1", instrument("lost", "Lost"), None, 5),
            holding("n1", instrument("new", "New"), None, 5),
        ],
    )
    .await;
    assert!(matches!(failed, Err(StoreError::Conflict(_))), "{failed:?}");
    assert_known(db, &store, &recognized).await;
    store.close().await;
}

/// The order check reads the same table: an instrument only ever held back is unknown until a
/// holding of it is recognized, and then the holding funds the order.
async fn an_order_names_only_instruments_the_treasury_recognized(db: &TestDb) {
    let store = db.open().await;
    store
        .create_account(&account("acc"), "customer")
        .await
        .unwrap();
    let funds = Effect::Journal(JournalEntry {
        account: account("acc"),
        instrument: instrument("wait", "Wait"),
        amount: amount("5"),
        cause: JournalCause::Adjustment("funds".into()),
        origin: None,
    });
    commit(
        &store,
        1,
        vec![
            holding("w1", instrument("wait", "Wait"), held_back(), 1),
            funds,
        ],
    )
    .await
    .unwrap();
    let wait = WithdrawalOrder {
        instrument: instrument("wait", "Wait"),
        ..order("o1", &account("acc"), amount("1"))
    };
    let err = store.place_withdrawal(&wait).await.unwrap_err();
    assert!(matches!(err, StoreError::UnknownInstrument(_)), "{err:?}");

    recognize(&store, 2, "w1").await;
    store.place_withdrawal(&wait).await.unwrap();
    let reserved = store.reserved_holdings(&wait.id).await.unwrap();
    assert_eq!(reserved.len(), 1);
    assert_eq!(reserved[0].holding.contract_id, cid("w1"));
    store.close().await;
}
