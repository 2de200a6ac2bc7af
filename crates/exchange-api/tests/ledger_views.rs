//! Deposits, the treasury and the operator's views over HTTP, on SQLite and PostgreSQL:
//! deposits of every state filtered for support, holdings and reconciliation, the status and
//! the tokens, liveness and readiness.

#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

mod common;

use common::{DSO, INTERNAL, OPERATOR, amulet, start};
use exchange_core::InstrumentId;
use exchange_core::changeset::DepositState;
use exchange_core::tokens::{OnboardedToken, TokenTransferKind};
use harness::TestDb;
use serde_json::json;

conformance!(
    deposits_of_every_state_are_found_for_support,
    totals_reconcile_holdings_with_what_is_owed,
    the_status_and_tokens_are_the_operators,
    readiness_follows_the_database,
);

async fn deposits_of_every_state_are_found_for_support(db: &TestDb) {
    let api = start(db).await;
    api.open_account("abc123", "c").await.ok(201);
    api.deposit("u1#1", "abc123", "10", DepositState::Credited)
        .await;
    api.deposit("u2#1", "ghost", "5", DepositState::UnknownAccount)
        .await;
    api.deposit("u3#1", "abc123", "7", DepositState::Offered)
        .await;
    api.deposit("u4#1", "abc123", "3", DepositState::Unrecognized)
        .await;

    let all = api.get("/v1/deposits", INTERNAL).await;
    let states: Vec<&str> = all.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        ["credited", "unknown_account", "offered", "unrecognized"]
    );

    let unknown = api
        .get("/v1/deposits?state=unknown_account", OPERATOR)
        .await;
    let items = unknown.ok(200)["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["accountId"], "ghost");
    assert_eq!(items[0]["amount"], "5.0000000000");
    let pending = api.get("/v1/deposits?state=offered", OPERATOR).await;
    assert_eq!(
        pending.ok(200)["items"][0]["transferInstruction"],
        "00offeru3#1"
    );
    let held = api.get("/v1/deposits?state=unrecognized", OPERATOR).await;
    assert_eq!(held.ok(200)["items"][0]["heldBack"], "not onboarded");

    let mine = api
        .get("/v1/deposits?account=abc123&limit=2", INTERNAL)
        .await;
    let body = mine.ok(200);
    assert_eq!(body["items"].as_array().unwrap().len(), 2);
    let cursor = body["nextCursor"].as_str().unwrap();
    let rest = api
        .get(
            &format!("/v1/deposits?account=abc123&limit=2&cursor={cursor}"),
            INTERNAL,
        )
        .await;
    assert_eq!(rest.ok(200)["items"][0]["depositId"], "u4#1");
    assert!(rest.body["nextCursor"].is_null());

    // Record times are offset n at n ms: u2 and u3 fall in [2 ms, 4 ms).
    let window = api
        .get(
            "/v1/deposits?from=1970-01-01T00:00:00.002Z&until=1970-01-01T00:00:00.004Z",
            INTERNAL,
        )
        .await;
    let ids: Vec<&str> = window.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["depositId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["u2#1", "u3#1"]);

    let one = api.get("/v1/deposits/u1%231", INTERNAL).await;
    assert_eq!(one.ok(200)["state"], "credited");
    assert_eq!(one.body["sender"], "alice::1220aa");
    api.get("/v1/deposits/u9%231", INTERNAL)
        .await
        .problem(404, "deposit-not-found");
    for (query, field) in [
        ("state=lost", "state"),
        ("from=yesterday", "from"),
        (
            "from=1970-01-02T00:00:00Z&until=1970-01-01T00:00:00Z",
            "until",
        ),
    ] {
        let bad = api.get(&format!("/v1/deposits?{query}"), INTERNAL).await;
        assert_eq!(bad.problem(422, "invalid-field")["field"], field, "{query}");
    }
}

async fn totals_reconcile_holdings_with_what_is_owed(db: &TestDb) {
    let api = start(db).await;
    api.open_account("abc123", "c").await.ok(201);
    api.deposit("d1", "abc123", "100", DepositState::Credited)
        .await;
    // A holding of the exchange's own (no deposit behind it).
    let origin = api.next_origin();
    api.ingest(vec![exchange_core::changeset::Effect::HoldingCreated(
        common::holding("00own", "12.5", &origin),
    )])
    .await;
    let placed = api
        .withdraw(
            "k1",
            &json!({"account": "abc123", "receiver": "bob::1220bb", "amount": "30", "instrumentId": "Amulet"}),
        )
        .await;
    placed.ok(201);

    let holdings = api.get("/v1/treasury/holdings", OPERATOR).await;
    let list = holdings.ok(200)["holdings"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    // The holdings the withdrawal reserved are the ones it lists.
    let reserved: Vec<&serde_json::Value> = list
        .iter()
        .filter(|h| h["reservedBy"].is_string())
        .inspect(|h| assert_eq!(h["reservedBy"], placed.body["withdrawalId"]))
        .map(|h| &h["contractId"])
        .collect();
    let funding: Vec<&serde_json::Value> =
        placed.body["holdings"].as_array().unwrap().iter().collect();
    assert!(!reserved.is_empty());
    assert_eq!(reserved.len(), funding.len());
    assert!(funding.iter().all(|c| reserved.contains(c)));

    let totals = api.get("/v1/treasury/totals", INTERNAL).await;
    assert_eq!(
        totals.ok(200)["totals"],
        json!([{
            "instrument": {"admin": DSO, "id": "Amulet"},
            "onLedger": "112.5000000000",
            "heldBack": "0.0000000000",
            "customerLiabilities": "70.0000000000",
            "suspense": "0.0000000000",
            "inFlightWithdrawals": "30.0000000000",
            "ownFunds": "12.5000000000",
            "shortfall": false
        }])
    );
}

async fn the_status_and_tokens_are_the_operators(db: &TestDb) {
    let api = start(db).await;
    api.open_account("abc123", "c").await.ok(201);
    api.deposit("d1", "abc123", "100", DepositState::Credited)
        .await;
    api.deposit("d2", "ghost", "1", DepositState::UnknownAccount)
        .await;
    let status = api.get("/v1/operator/status", OPERATOR).await;
    let body = status.ok(200);
    assert_eq!(body["checkpoint"]["offset"], 2);
    assert_eq!(body["checkpoint"]["updateId"], "u2");
    assert_eq!(
        body["deposits"],
        json!({"credited": 1, "unknown_account": 1})
    );
    assert_eq!(body["unknownAccountDeposits"], 1);
    assert_eq!(body["withdrawals"], json!({}));
    assert_eq!(body["unattributedWithdrawals"], 0);
    assert!(body.get("withdrawalsDisabled").is_none());
    assert!(body["lastRecovery"].is_null());

    let none = api.get("/v1/operator/tokens", OPERATOR).await;
    assert_eq!(none.ok(200)["tokens"], json!([]));
    let token = OnboardedToken {
        instrument: amulet(),
        registry_url: "http://registry.invalid".into(),
        transfer_kind: TokenTransferKind::OneStep,
        package_names: ["splice-amulet".to_owned()].into(),
    };
    api.store.onboard_token(&token).await.unwrap();
    let tokens = api.get("/v1/operator/tokens", OPERATOR).await;
    assert_eq!(
        tokens.ok(200)["tokens"],
        json!([{
            "instrument": {"admin": DSO, "id": "Amulet"},
            "registryUrl": "http://registry.invalid",
            "transferKind": "one-step",
            "packageNames": ["splice-amulet"]
        }])
    );
    // A registry URL with credentials in it: the password never leaves through the API.
    let guarded = OnboardedToken {
        instrument: InstrumentId {
            id: "Guarded".into(),
            ..amulet()
        },
        registry_url: "https://reader:s3cret-pass@registry.invalid/api".into(),
        ..token
    };
    api.store.onboard_token(&guarded).await.unwrap();
    let tokens = api.get("/v1/operator/tokens", OPERATOR).await;
    let listed = tokens.ok(200).to_string();
    assert!(!listed.contains("s3cret-pass"), "{listed}");
    assert!(
        listed.contains("https://reader:***@registry.invalid/api"),
        "{listed}"
    );
    let switch = api.get("/v1/operator/withdrawals", OPERATOR).await;
    assert_eq!(switch.ok(200), &json!({"enabled": true, "reason": ""}));
}

async fn readiness_follows_the_database(db: &TestDb) {
    let api = start(db).await;
    let health = api.send(api.http.get(api.url("/healthz"))).await;
    assert_eq!(health.ok(200), &json!({"status": "ok"}));
    let ready = api.send(api.http.get(api.url("/readyz"))).await;
    assert_eq!(ready.ok(200), &json!({"status": "ok"}));
    api.store.close().await;
    let unready = api.send(api.http.get(api.url("/readyz"))).await;
    unready.problem(503, "database-unavailable");
    let health = api.send(api.http.get(api.url("/healthz"))).await;
    health.ok(200);
    // Requests answer 503 too, without internals in the detail.
    let refused = api.get("/v1/accounts", INTERNAL).await;
    let problem = refused.problem(503, "database-unavailable");
    assert!(!problem["detail"].as_str().unwrap().contains("postgres"));
}
