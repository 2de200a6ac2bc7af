//! Deposit accounts over HTTP, on SQLite and PostgreSQL: opening (and opening again), the
//! refusals, pagination, balances and the journal.

#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

mod common;

use common::{Answer, INTERNAL, OPERATOR, TREASURY, TestApi, start};
use exchange_core::changeset::DepositState;
use harness::TestDb;
use serde_json::json;

conformance!(
    an_account_is_opened_once_per_customer,
    bad_account_requests_are_refused_before_the_db,
    accounts_are_paginated_by_cursor,
    balances_and_the_journal_follow_the_deposits,
);

async fn an_account_is_opened_once_per_customer(db: &TestDb) {
    let api = start(db).await;
    let opened = api.open_account("abc123", "customer-1").await;
    let body = opened.ok(201);
    assert_eq!(body["accountId"], "abc123");
    assert_eq!(body["customerRef"], "customer-1");
    assert_eq!(body["treasuryParty"], TREASURY);
    assert_eq!(body["memo"], "abc123");
    assert_eq!(body["memoKey"], "splice.lfdecentralizedtrust.org/reason");

    // A retry answers with the same account; another customer may not take it.
    let again = api.open_account("abc123", "customer-1").await;
    assert_eq!(again.ok(200)["createdAt"], body["createdAt"]);
    api.open_account("abc123", "customer-2")
        .await
        .problem(409, "account-exists");

    // Without an id, the API makes one.
    let made = api
        .post(
            "/v1/accounts",
            INTERNAL,
            &json!({"customerRef": "customer-3"}),
        )
        .await;
    let id = made.ok(201)["accountId"].as_str().unwrap().to_owned();
    assert!(id.starts_with("acct-") && id.len() == 25, "{id}");
    assert_eq!(made.body["memo"], id.as_str());
    let stored = api.store.accounts().await.unwrap();
    assert_eq!(stored.len(), 2);
}

async fn post(api: &TestApi, body: serde_json::Value) -> Answer {
    api.post("/v1/accounts", INTERNAL, &body).await
}

async fn bad_account_requests_are_refused_before_the_db(db: &TestDb) {
    let api = start(db).await;
    post(&api, json!({"customerRef": "c", "accountId": "has space"}))
        .await
        .problem(422, "invalid-field");
    let long = "a".repeat(65);
    let answer = post(&api, json!({"customerRef": "c", "accountId": long})).await;
    assert_eq!(answer.problem(422, "invalid-field")["field"], "accountId");
    post(&api, json!({"customerRef": "", "accountId": "a1"}))
        .await
        .problem(422, "invalid-field");
    post(&api, json!({"customerRef": "c\u{7}", "accountId": "a1"}))
        .await
        .problem(422, "invalid-field");
    post(&api, json!({"customerRef": "c", "accountId": "suspense"}))
        .await
        .problem(409, "reserved-account");
    post(
        &api,
        json!({"customerRef": "c", "accountId": "a1", "extra": 1}),
    )
    .await
    .problem(422, "invalid-body");
    post(&api, json!({"accountId": "a1"}))
        .await
        .problem(422, "invalid-body");
    post(&api, json!({"customerRef": 7, "accountId": "a1"}))
        .await
        .problem(422, "invalid-body");
    let malformed = api
        .send(
            api.http
                .post(api.url("/v1/accounts"))
                .bearer_auth(INTERNAL)
                .header("content-type", "application/json")
                .body("{\"customerRef\": "),
        )
        .await;
    malformed.problem(400, "malformed-json");
    let not_json = api
        .send(
            api.http
                .post(api.url("/v1/accounts"))
                .bearer_auth(INTERNAL)
                .body("customerRef=c"),
        )
        .await;
    not_json.problem(415, "unsupported-media-type");
    let huge = api
        .send(
            api.http
                .post(api.url("/v1/accounts"))
                .bearer_auth(INTERNAL)
                .header("content-type", "application/json")
                .body(format!("{{\"customerRef\": \"{}\"}}", "x".repeat(20_000))),
        )
        .await;
    assert_eq!(huge.status.as_u16(), 413);
    assert!(api.store.accounts().await.unwrap().is_empty());
}

async fn accounts_are_paginated_by_cursor(db: &TestDb) {
    let api = start(db).await;
    for i in [3, 1, 5, 2, 4] {
        api.open_account(&format!("acc-{i}"), "c").await.ok(201);
    }
    let mut seen = Vec::new();
    let mut path = "/v1/accounts?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let page = api.get(&path, OPERATOR).await;
        let body = page.ok(200);
        pages += 1;
        for item in body["items"].as_array().unwrap() {
            seen.push(item["accountId"].as_str().unwrap().to_owned());
        }
        match body["nextCursor"].as_str() {
            Some(cursor) => path = format!("/v1/accounts?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["acc-1", "acc-2", "acc-3", "acc-4", "acc-5"]);
    assert_eq!(pages, 3);
    // An account opened after the first page shows up on a later one, exactly once.
    let first = api.get("/v1/accounts?limit=2", INTERNAL).await;
    let cursor = first.body["nextCursor"].as_str().unwrap().to_owned();
    api.open_account("acc-9", "c").await.ok(201);
    let rest = api
        .get(&format!("/v1/accounts?limit=500&cursor={cursor}"), INTERNAL)
        .await;
    let ids: Vec<&str> = rest.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["accountId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["acc-3", "acc-4", "acc-5", "acc-9"]);
    assert!(rest.body["nextCursor"].is_null());

    for bad in ["limit=0", "limit=501"] {
        let answer = api.get(&format!("/v1/accounts?{bad}"), INTERNAL).await;
        assert_eq!(answer.problem(422, "invalid-field")["field"], "limit");
    }
    api.get("/v1/accounts?limit=ten", INTERNAL)
        .await
        .problem(400, "invalid-query");
    api.get("/v1/accounts?colour=blue", INTERNAL)
        .await
        .problem(400, "invalid-query");
    api.get("/v1/accounts?cursor=not-a-cursor", INTERNAL)
        .await
        .problem(400, "invalid-cursor");
}

async fn balances_and_the_journal_follow_the_deposits(db: &TestDb) {
    let api = start(db).await;
    api.open_account("abc123", "c").await.ok(201);
    api.deposit("d1", "abc123", "100", DepositState::Credited)
        .await;
    api.deposit("d2", "abc123", "0.0000000001", DepositState::Credited)
        .await;
    let balances = api.get("/v1/accounts/abc123/balances", INTERNAL).await;
    let body = balances.ok(200);
    assert_eq!(body["accountId"], "abc123");
    assert_eq!(
        body["balances"],
        json!([{
            "instrument": {"admin": common::DSO, "id": "Amulet"},
            "amount": "100.0000000001"
        }])
    );
    api.get("/v1/accounts/nobody/balances", INTERNAL)
        .await
        .problem(404, "account-not-found");

    let journal = api
        .get("/v1/accounts/abc123/journal?limit=1", INTERNAL)
        .await;
    let first = journal.ok(200);
    assert_eq!(first["items"][0]["cause"], "deposit");
    assert_eq!(first["items"][0]["reference"], "d1");
    assert_eq!(first["items"][0]["amount"], "100.0000000000");
    assert_eq!(first["items"][0]["updateId"], "u1");
    let cursor = first["nextCursor"].as_str().unwrap();
    let second = api
        .get(
            &format!("/v1/accounts/abc123/journal?cursor={cursor}"),
            INTERNAL,
        )
        .await;
    assert_eq!(second.ok(200)["items"][0]["reference"], "d2");
    assert!(second.body["nextCursor"].is_null());
    // The accounts list's cursor is no journal cursor.
    api.open_account("zzz", "c").await.ok(201);
    let accounts = api.get("/v1/accounts?limit=1", INTERNAL).await;
    let foreign = accounts.body["nextCursor"].as_str().unwrap();
    api.get(
        &format!("/v1/accounts/abc123/journal?cursor={foreign}"),
        INTERNAL,
    )
    .await
    .problem(400, "invalid-cursor");
    api.get("/v1/accounts/nobody/journal", INTERNAL)
        .await
        .problem(404, "account-not-found");
}
