//! Withdrawals over HTTP, on SQLite and PostgreSQL: placing one under an idempotency key,
//! retries, the `withdraw` command's refusals as problems, the 503 while withdrawals are
//! switched off, and listing.

#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

mod common;

use common::{INTERNAL, OPERATOR, TestApi, amount, amulet, start};
use exchange_core::changeset::{AccountId, DepositState};
use harness::TestDb;
use serde_json::{Value, json};

conformance!(
    a_withdrawal_is_placed_once_per_idempotency_key,
    bad_withdrawals_are_refused_and_debit_nothing,
    switched_off_withdrawals_answer_503_with_the_reason,
    only_finishing_recover_db_switches_withdrawals_back_on,
    withdrawals_are_listed_filtered_and_paginated,
);

const RECEIVER: &str = "bob::1220bbbb";

fn request(account: &str, value: &str) -> Value {
    json!({
        "account": account,
        "receiver": RECEIVER,
        "amount": value,
        "instrumentId": "Amulet",
    })
}

/// Account `abc123` credited with 100 Amulet (one holding of 100).
async fn funded(db: &TestDb) -> TestApi {
    let api = start(db).await;
    api.open_account("abc123", "c").await.ok(201);
    api.deposit("d1", "abc123", "100", DepositState::Credited)
        .await;
    api
}

async fn balance(api: &TestApi, account: &str) -> exchange_core::Amount {
    api.store
        .balance(&AccountId::new(account).unwrap(), &amulet())
        .await
        .unwrap()
}

async fn a_withdrawal_is_placed_once_per_idempotency_key(db: &TestDb) {
    let api = funded(db).await;
    let first = api.withdraw("k1", &request("abc123", "30.5")).await;
    let body = first.ok(201).clone();
    assert_eq!(body["state"], "requested");
    assert_eq!(body["amount"], "30.5000000000");
    assert_eq!(body["receiver"], RECEIVER);
    assert_eq!(body["idempotencyKey"], "k1");
    assert_eq!(body["holdings"], json!(["00hd1"]));
    assert!(body["trecTgt"].is_string());

    // The same request again: the same withdrawal, debited once.
    let again = api.withdraw("k1", &request("abc123", "30.5")).await;
    assert_eq!(again.ok(200), &body);
    assert_eq!(balance(&api, "abc123").await, amount("69.5"));

    // The same key for another request is refused; nothing moves.
    let other = api.withdraw("k1", &request("abc123", "1")).await;
    assert!(
        other.problem(409, "idempotency-key-reused")["detail"]
            .as_str()
            .unwrap()
            .contains("\"k1\"")
    );
    assert_eq!(balance(&api, "abc123").await, amount("69.5"));

    let id = body["withdrawalId"].as_str().unwrap();
    let got = api.get(&format!("/v1/withdrawals/{id}"), OPERATOR).await;
    assert_eq!(got.ok(200), &body);
    api.get("/v1/withdrawals/nope", INTERNAL)
        .await
        .problem(404, "withdrawal-not-found");
}

async fn bad_withdrawals_are_refused_and_debit_nothing(db: &TestDb) {
    let api = funded(db).await;
    let with = |field: &str, value: Value| {
        let mut body = request("abc123", "1");
        body[field] = value;
        body
    };
    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (
            with("amount", json!("0")),
            422,
            "invalid-field",
            Some("amount"),
        ),
        (
            with("amount", json!("-1")),
            422,
            "invalid-field",
            Some("amount"),
        ),
        (
            with("amount", json!("1e3")),
            422,
            "invalid-field",
            Some("amount"),
        ),
        (
            with("amount", json!("1.00000000001")),
            422,
            "invalid-field",
            Some("amount"),
        ),
        // A JSON number may already have been rounded: refused as a body error.
        (with("amount", json!(1)), 422, "invalid-body", None),
        (
            with("receiver", json!("bob")),
            422,
            "invalid-field",
            Some("receiver"),
        ),
        (
            with("ttlSecs", json!(0)),
            422,
            "invalid-field",
            Some("ttlSecs"),
        ),
        (with("ttlSecs", json!(-5)), 422, "invalid-body", None),
        (
            with("instrumentAdmin", json!("dso")),
            422,
            "invalid-field",
            Some("instrumentAdmin"),
        ),
        (with("memo", json!("x")), 422, "invalid-body", None),
        (
            with("amount", json!("1000")),
            422,
            "insufficient-funds",
            None,
        ),
        (
            with("instrumentId", json!("Nope")),
            422,
            "unknown-instrument",
            Some("instrumentId"),
        ),
        (
            with("account", json!("ghost")),
            422,
            "account-not-found",
            Some("account"),
        ),
        (
            with("account", json!("")),
            422,
            "invalid-field",
            Some("account"),
        ),
    ];
    for (n, (body, status, code, field)) in cases.into_iter().enumerate() {
        let answer = api.withdraw(&format!("bad-{n}"), &body).await;
        let problem = answer.problem(status, code);
        if let Some(field) = field {
            assert_eq!(problem["field"], field, "{body}");
        }
    }
    let no_key = api
        .send(
            api.http
                .post(api.url("/v1/withdrawals"))
                .bearer_auth(INTERNAL)
                .json(&request("abc123", "1")),
        )
        .await;
    no_key.problem(400, "idempotency-key-missing");
    let long_key = "k".repeat(256);
    api.withdraw(&long_key, &request("abc123", "1"))
        .await
        .problem(400, "invalid-idempotency-key");
    // The only holding is reserved now: a second withdrawal has nothing to spend.
    api.withdraw("k-all", &request("abc123", "60"))
        .await
        .ok(201);
    api.withdraw("k-more", &request("abc123", "1"))
        .await
        .problem(409, "no-spendable-holdings");
    assert_eq!(balance(&api, "abc123").await, amount("40"));
    let listed = api.get("/v1/withdrawals", INTERNAL).await;
    assert_eq!(listed.ok(200)["items"].as_array().unwrap().len(), 1);
}

async fn switched_off_withdrawals_answer_503_with_the_reason(db: &TestDb) {
    let api = funded(db).await;
    api.holdings(5, "1").await;
    api.withdraw("before", &request("abc123", "1"))
        .await
        .ok(201);
    let reason = json!({"reason": "restoring the Integration DB"});
    let off = api
        .post("/v1/operator/withdrawals/disable", OPERATOR, &reason)
        .await;
    assert_eq!(
        off.ok(200),
        &json!({"enabled": false, "reason": "restoring the Integration DB"})
    );
    let refused = api.withdraw("during", &request("abc123", "1")).await;
    let problem = refused.problem(503, "withdrawals-disabled");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("restoring the Integration DB"),
        "{problem}"
    );
    // A retry of a request accepted before is still answered.
    api.withdraw("before", &request("abc123", "1"))
        .await
        .ok(200);
    assert_eq!(balance(&api, "abc123").await, amount("99"));
    let status = api.get("/v1/operator/status", OPERATOR).await;
    assert_eq!(
        status.ok(200)["withdrawalsDisabled"],
        "restoring the Integration DB"
    );

    api.post(
        "/v1/operator/withdrawals/enable",
        OPERATOR,
        &json!({"reason": ""}),
    )
    .await
    .problem(422, "invalid-field");
    let on = api
        .post(
            "/v1/operator/withdrawals/enable",
            OPERATOR,
            &json!({"reason": "restored"}),
        )
        .await;
    assert_eq!(on.ok(200)["enabled"], true);
    api.withdraw("during", &request("abc123", "1"))
        .await
        .ok(201);
    let log = api.store.operator_log().await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.note.action.as_str()).collect();
    assert_eq!(actions, ["withdrawals disabled", "withdrawals enabled"]);
}

async fn withdrawals_are_listed_filtered_and_paginated(db: &TestDb) {
    let api = funded(db).await;
    api.open_account("other", "c2").await.ok(201);
    api.deposit("d2", "other", "50", DepositState::Credited)
        .await;
    api.holdings(5, "1").await;
    let mut ids = Vec::new();
    for (n, account) in ["abc123", "other", "abc123", "abc123"].iter().enumerate() {
        let placed = api.withdraw(&format!("k{n}"), &request(account, "1")).await;
        ids.push(placed.ok(201)["withdrawalId"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut path = "/v1/withdrawals?account=abc123&limit=2".to_owned();
    loop {
        let page = api.get(&path, INTERNAL).await;
        let body = page.ok(200).clone();
        for item in body["items"].as_array().unwrap() {
            assert_eq!(item["accountId"], "abc123");
            assert_eq!(item["holdings"].as_array().unwrap().len(), 1, "{item}");
            seen.push(item["withdrawalId"].as_str().unwrap().to_owned());
        }
        match body["nextCursor"].as_str() {
            Some(c) => path = format!("/v1/withdrawals?account=abc123&limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, [ids[0].clone(), ids[2].clone(), ids[3].clone()]);
    let requested = api.get("/v1/withdrawals?state=requested", OPERATOR).await;
    assert_eq!(requested.ok(200)["items"].as_array().unwrap().len(), 4);
    let completed = api.get("/v1/withdrawals?state=completed", OPERATOR).await;
    assert_eq!(completed.ok(200)["items"], json!([]));
    let bad = api.get("/v1/withdrawals?state=done", OPERATOR).await;
    assert_eq!(bad.problem(422, "invalid-field")["field"], "state");
    api.get("/v1/withdrawals?limit=-1", OPERATOR)
        .await
        .problem(400, "invalid-query");
}

async fn only_finishing_recover_db_switches_withdrawals_back_on(db: &TestDb) {
    let api = funded(db).await;
    let at = exchange_core::Timestamp::from_micros(1).unwrap();
    api.store
        .begin_db_recovery(at, "Integration DB restored", false)
        .await
        .unwrap();
    let refused = api.withdraw("k1", &request("abc123", "1")).await;
    let problem = refused.problem(503, "withdrawals-disabled");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Integration DB restored")
    );
    let enable = json!({"reason": "looks fine to me"});
    api.post("/v1/operator/withdrawals/enable", OPERATOR, &enable)
        .await
        .problem(409, "db-recovery-unfinished");
    let switch = api.get("/v1/operator/withdrawals", OPERATOR).await;
    assert_eq!(switch.ok(200)["enabled"], false);
    let status = api.get("/v1/operator/status", OPERATOR).await;
    assert!(status.ok(200)["dbRecovery"]["phase"].is_string());
    api.store.finish_db_recovery(false).await.unwrap();
    api.withdraw("k1", &request("abc123", "1")).await.ok(201);
}
