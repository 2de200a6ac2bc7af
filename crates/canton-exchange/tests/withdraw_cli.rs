//! `accounts add`, `accounts`, `withdraw` and `withdrawals` through the binary, on SQLite and
//! PostgreSQL: a withdrawal debits the account and reserves holdings once per idempotency key,
//! and bad input is refused with a clear error before anything is written.

#[path = "../../exchange-store/tests/harness/mod.rs"]
#[allow(dead_code)] // shared with the store's tests, which use all of it
mod harness;

mod common;

use common::{ok, refused};
use exchange_core::changeset::{
    AccountId, ChangeSet, Checkpoint, Deposit, DepositId, DepositState, Effect, Holding,
    IngestedUpdate,
};
use exchange_core::{
    Amount, ContractId, InstrumentId, Offset, PartyId, SynchronizerId, Timestamp, UpdateId,
};
use harness::TestDb;
use serde_json::Value;

conformance!(
    a_withdrawal_is_requested_once_per_key,
    bad_withdrawal_input_is_refused_and_writes_nothing,
    an_ambiguous_instrument_needs_its_admin,
);

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).unwrap()
}

fn amulet(admin: &str) -> InstrumentId {
    InstrumentId {
        admin: PartyId::new(admin).unwrap(),
        id: "Amulet".into(),
    }
}

const DSO: &str = "DSO::1220abcd";

/// Opens account `acc` with the CLI, then ingests a credited deposit of `funds` to it and
/// treasury holdings h60 and h40.
async fn funded(db: &TestDb, funds: &str) {
    ok(&[
        "accounts",
        "add",
        "--db",
        &db.url,
        "--id",
        "acc",
        "--customer",
        "c1",
    ]);
    let store = db.open().await;
    let update = IngestedUpdate {
        update_id: UpdateId::new("u1").unwrap(),
        offset: Offset::new(1).unwrap(),
        record_time: Timestamp::from_micros(1000).unwrap(),
        synchronizer_id: SynchronizerId::new("global::1220").unwrap(),
    };
    let origin = update.origin();
    let holding = |id: &str, amount: &str| {
        Effect::HoldingCreated(Holding {
            contract_id: ContractId::new(id).unwrap(),
            instrument: amulet(DSO),
            amount: amount.parse().unwrap(),
            lock: None,
            created: origin.clone(),
            held_back: None,
        })
    };
    let mut changes = ChangeSet::default();
    changes.ingest(update.clone());
    let deposit = Deposit {
        id: DepositId::new("d1").unwrap(),
        account: Some(AccountId::new("acc").unwrap()),
        instrument: amulet(DSO),
        amount: funds.parse().unwrap(),
        sender: PartyId::new("alice::1220abcd").unwrap(),
        state: DepositState::Credited,
        transfer_instruction: None,
        origin: origin.clone(),
        held_back: None,
    };
    // Core books the credit; the store applies exactly what the change set lists.
    let credit = deposit.credit(&origin).unwrap();
    changes.effects = vec![
        holding("h60", "60"),
        holding("h40", "40"),
        Effect::DepositRecorded(deposit),
        Effect::Journal(credit),
    ];
    let checkpoint = Checkpoint {
        offset: Offset::new(1).unwrap(),
        last_update: Some(update),
    };
    store.commit(&changes, &checkpoint).await.unwrap();
    store.close().await;
}

async fn balance(db: &TestDb) -> Amount {
    let store = db.open().await;
    let b = store
        .balance(&AccountId::new("acc").unwrap(), &amulet(DSO))
        .await
        .unwrap();
    store.close().await;
    b
}

fn withdraw<'a>(db: &'a TestDb, amount: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "withdraw",
        "--db",
        &db.url,
        "--account",
        "acc",
        "--to",
        "bob::1220ef",
        "--amount",
        amount,
        "--instrument",
        "Amulet",
    ];
    args.extend_from_slice(extra);
    args
}

async fn a_withdrawal_is_requested_once_per_key(db: &TestDb) {
    funded(db, "100").await;
    let err = refused(&[
        "accounts",
        "add",
        "--db",
        &db.url,
        "--id",
        "acc",
        "--customer",
        "c2",
    ]);
    assert!(err.contains("account acc already exists"), "{err}");
    let accounts = json(&["accounts", "--db", &db.url, "--format", "json"]);
    assert_eq!(accounts[0]["accountId"], "acc");
    assert_eq!(accounts[0]["customerRef"], "c1");
    assert_eq!(accounts[0]["balances"][0]["amount"], "100.0000000000");

    let args = withdraw(
        db,
        "30.5",
        &[
            "--idempotency-key",
            "k1",
            "--ttl-secs",
            "120",
            "--format",
            "json",
        ],
    );
    let first = json(&args);
    assert_eq!(first["state"], "requested");
    assert_eq!(first["amount"], "30.5000000000");
    assert_eq!(first["holdings"], serde_json::json!(["h40"]));
    let id = first["withdrawalId"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "{id}");
    // The same key again: the first withdrawal, no second debit.
    assert_eq!(json(&args), first);
    assert_eq!(balance(db).await, "69.5".parse().unwrap());

    let listed = json(&["withdrawals", "--db", &db.url, "--format", "json"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["withdrawalId"], id.as_str());
    assert_eq!(listed[0]["idempotencyKey"], "k1");
    assert!(listed[0]["createdAt"].is_string() && listed[0]["updatedAt"].is_string());
    let requested = json(&[
        "withdrawals",
        "--db",
        &db.url,
        "--state",
        "requested",
        "--format",
        "json",
    ]);
    assert_eq!(requested, listed);
    let completed = json(&[
        "withdrawals",
        "--db",
        &db.url,
        "--state",
        "completed",
        "--format",
        "json",
    ]);
    assert_eq!(completed, serde_json::json!([]));
    let table = ok(&["withdrawals", "--db", &db.url]);
    assert!(
        table.contains(&id) && table.contains("1 withdrawals"),
        "{table}"
    );
    let table = ok(&["accounts", "--db", &db.url]);
    assert!(table.contains("69.5000000000"), "{table}");

    // Without a key a new withdrawal each time; the second finds only reserved or large ones.
    let second = json(&withdraw(db, "50", &["--format", "json"]));
    assert_eq!(second["holdings"], serde_json::json!(["h60"]));
    let err = refused(&withdraw(db, "10", &[]));
    assert!(
        err.contains("no spendable holdings: only reserved or locked holdings"),
        "{err}"
    );
    assert_eq!(balance(db).await, "19.5".parse().unwrap());
}

async fn bad_withdrawal_input_is_refused_and_writes_nothing(db: &TestDb) {
    funded(db, "100").await;
    let cases: &[(&[&str], &str)] = &[
        (&["--to", "bob"], "--to \"bob\""),
        (&["--amount", "0"], "--amount must be positive"),
        (&["--amount", "-1"], "--amount must be positive"),
        (
            &["--amount", "1.00000000001"],
            "more than 10 significant decimal places",
        ),
        (&["--amount", "1e3"], "malformed amount"),
        (&["--amount", "1000"], "has 100.0000000000 of"),
        (&["--instrument", "Nope"], "unknown instrument Nope"),
        (&["--account", "ghost"], "account ghost"),
        (&["--ttl-secs", "0"], "--ttl-secs must be positive"),
    ];
    for (change, expected) in cases {
        let mut args = withdraw(db, "1", &[]);
        for pair in change.chunks(2) {
            match args.iter().position(|a| *a == pair[0]) {
                Some(at) => args[at + 1] = pair[1],
                None => args.extend_from_slice(pair),
            }
        }
        let err = refused(&args);
        assert!(err.contains(expected), "{change:?}: {err}");
    }
    let err = refused(&["withdrawals", "--db", &db.url, "--state", "bogus"]);
    assert!(err.contains("unknown withdrawal state"), "{err}");
    assert_eq!(balance(db).await, "100".parse().unwrap());
    let listed = json(&["withdrawals", "--db", &db.url, "--format", "json"]);
    assert_eq!(listed, serde_json::json!([]));
}

async fn an_ambiguous_instrument_needs_its_admin(db: &TestDb) {
    funded(db, "100").await;
    let store = db.open().await;
    store
        .upsert_token(&amulet("other::1220ff"), "http://registry.invalid")
        .await
        .unwrap();
    store.close().await;
    let err = refused(&withdraw(db, "1", &[]));
    assert!(err.contains("instrument id Amulet is ambiguous"), "{err}");
    assert!(err.contains("other::1220ff") && err.contains(DSO), "{err}");
    let placed = json(&withdraw(db, "1", &["--admin", DSO, "--format", "json"]));
    assert_eq!(placed["instrument"]["admin"], DSO);
    assert_eq!(balance(db).await, "99".parse().unwrap());
}

/// `accounts` and `withdrawals` only read: a role that may only select runs them.
#[tokio::test]
async fn postgres_a_select_only_role_lists_accounts_and_withdrawals() {
    let Some(db) = TestDb::postgres("cli_withdrawals_select_only").await else {
        return;
    };
    funded(&db, "100").await;
    let placed = json(&withdraw(&db, "5", &["--format", "json"]));
    let role = harness::ReadOnlyRole::create(&db).await;
    let accounts = json(&["accounts", "--db", &role.url, "--format", "json"]);
    assert_eq!(accounts[0]["balances"][0]["amount"], "95.0000000000");
    let listed = json(&["withdrawals", "--db", &role.url, "--format", "json"]);
    assert_eq!(listed, serde_json::json!([placed]));
    // And the writing commands are refused by it, not half-applied.
    let err = refused(&[
        "withdraw",
        "--db",
        &role.url,
        "--account",
        "acc",
        "--to",
        "bob::1220ef",
        "--amount",
        "1",
        "--instrument",
        "Amulet",
    ]);
    assert!(err.contains("permission denied"), "{err}");
    assert_eq!(balance(&db).await, "95".parse().unwrap());
}

/// A SQLite file that does not exist is not created by the reading commands.
#[test]
fn sqlite_reading_commands_do_not_create_a_db() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.db");
    for command in ["accounts", "withdrawals"] {
        let err = refused(&[command, "--db", &format!("sqlite://{}", path.display())]);
        assert!(err.contains("no Integration DB at"), "{err}");
        assert!(!path.exists(), "{command} created the DB");
    }
}
