//! `/metrics` over HTTP, on SQLite and PostgreSQL: after some ingestion and a withdrawal, the
//! DB's gauges (checkpoint, record time, lags, withdrawals per state) and the request counters
//! have the right values, without a token and without customer data; the operator status
//! reports the same lags.

#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

mod common;

use std::collections::BTreeMap;

use common::{INTERNAL, OPERATOR, TestApi, config, start_with};
use exchange_api::ApiConfig;
use exchange_core::changeset::DepositState;
use exchange_services::Metrics;
use harness::TestDb;
use serde_json::json;

conformance!(
    metrics_show_ingestion_withdrawals_and_requests,
    the_operator_status_reports_both_lags,
);

/// The samples of a text exposition: `name{labels}` to value; comments must be HELP or TYPE.
/// Series that are absent until known (the checkpoint, the ledger end, the lags) are written
/// with empty braces, `name{} value`, which the format allows.
fn samples(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            assert!(
                ["HELP ", "TYPE ", "UNIT ", "EOF"]
                    .iter()
                    .any(|p| comment.starts_with(p)),
                "{line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let value: f64 = value.parse().unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(
            out.insert(series.to_owned(), value).is_none(),
            "{line} twice"
        );
    }
    out
}

async fn scrape(api: &TestApi) -> (String, BTreeMap<String, f64>) {
    let response = api.http.get(api.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    let parsed = samples(&text);
    (text, parsed)
}

#[track_caller]
fn value(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no {series} in {samples:#?}"))
}

async fn metrics_show_ingestion_withdrawals_and_requests(db: &TestDb) {
    let metrics = Metrics::new();
    let api = start_with(
        db,
        ApiConfig {
            metrics: metrics.clone(),
            ..config()
        },
    )
    .await;

    // Before anything is ingested: no checkpoint series, no ledger end, withdrawals at 0.
    let (_, before) = scrape(&api).await;
    assert!(!before.contains_key("canton_exchange_ingestion_checkpoint_offset{}"));
    assert!(!before.contains_key("canton_exchange_ingestion_lag_offsets{}"));
    assert_eq!(
        value(&before, r#"canton_exchange_withdrawals{state="requested"}"#),
        0.0
    );

    api.open_account("acct-secret-7", "customer-ref-9")
        .await
        .ok(201);
    api.deposit("d1", "acct-secret-7", "100", DepositState::Credited)
        .await;
    api.deposit("d2", "acct-secret-7", "5", DepositState::Credited)
        .await;
    let placed = api
        .withdraw(
            "k1",
            &json!({"account": "acct-secret-7", "receiver": "bob::1220bb", "amount": "30", "instrumentId": "Amulet"}),
        )
        .await;
    let id = placed.ok(201)["withdrawalId"].as_str().unwrap().to_owned();
    api.get(&format!("/v1/withdrawals/{id}"), INTERNAL)
        .await
        .ok(200);
    api.get("/v1/withdrawals/nope", INTERNAL)
        .await
        .problem(404, "withdrawal-not-found");
    api.get("/v1/operator/status", INTERNAL)
        .await
        .problem(403, "forbidden");
    api.get("/no/such/route", INTERNAL)
        .await
        .problem(404, "no-such-route");
    metrics.set_ledger_end(7);

    let (text, after) = scrape(&api).await;
    // Two updates ingested (offsets 1 and 2, record times 1 and 2 ms after the epoch).
    assert_eq!(
        value(&after, "canton_exchange_ingestion_checkpoint_offset{}"),
        2.0
    );
    assert_eq!(
        value(&after, "canton_exchange_ingestion_record_time_seconds{}"),
        0.002
    );
    assert_eq!(value(&after, "canton_exchange_ledger_end_offset{}"), 7.0);
    assert_eq!(
        value(&after, "canton_exchange_ingestion_lag_offsets{}"),
        5.0
    );
    // The record time is 1970: decades behind the wall clock.
    assert!(value(&after, "canton_exchange_ingestion_lag_seconds{}") > 1.5e9);
    assert_eq!(
        value(&after, r#"canton_exchange_withdrawals{state="requested"}"#),
        1.0
    );
    for state in ["submitted", "completed", "failed", "expired"] {
        let series = format!(r#"canton_exchange_withdrawals{{state="{state}"}}"#);
        assert_eq!(value(&after, &series), 0.0, "{series}");
    }
    // Requests by route template and status; the id asked for is not a label.
    let requests = |route: &str, status: u16| {
        let series =
            format!(r#"canton_exchange_api_requests_total{{route="{route}",status="{status}"}}"#);
        after.get(&series).copied().unwrap_or(0.0)
    };
    assert_eq!(requests("/v1/withdrawals", 201), 1.0);
    assert_eq!(requests("/v1/accounts", 201), 1.0);
    assert_eq!(requests("/v1/withdrawals/{withdrawalId}", 200), 1.0);
    assert_eq!(requests("/v1/withdrawals/{withdrawalId}", 404), 1.0);
    assert_eq!(requests("/v1/operator/status", 403), 1.0);
    assert_eq!(requests("unmatched", 404), 1.0);
    assert_eq!(requests("/metrics", 200), 1.0, "the first scrape");
    // No customer data: accounts, references, withdrawal ids, parties.
    for secret in [
        "acct-secret-7",
        "customer-ref-9",
        &id,
        "bob::",
        "treasury::",
    ] {
        assert!(!text.contains(secret), "{secret} in\n{text}");
    }
    // Nothing else of this process ran: its counters are at zero, its histograms empty.
    assert_eq!(
        value(&after, "canton_exchange_ingestion_updates_total"),
        0.0
    );
    assert_eq!(
        value(&after, "canton_exchange_ingestion_batch_transactions_count"),
        0.0
    );

    // A metrics request needs no token, and a token does not change the answer's kind.
    let with_token = api.get("/metrics", OPERATOR).await;
    assert_eq!(with_token.status.as_u16(), 200);
}

async fn the_operator_status_reports_both_lags(db: &TestDb) {
    let metrics = Metrics::new();
    let api = start_with(
        db,
        ApiConfig {
            metrics: metrics.clone(),
            ..config()
        },
    )
    .await;
    let status = api.get("/v1/operator/status", OPERATOR).await;
    let body = status.ok(200);
    // Nothing ingested, no ledger end known: no lags.
    assert!(
        body["lag"].is_null() && body["ledgerEnd"].is_null(),
        "{body}"
    );
    assert!(body["recordTimeLagSeconds"].is_null(), "{body}");

    api.open_account("abc", "c").await.ok(201);
    api.deposit("d1", "abc", "1", DepositState::Credited).await;
    metrics.set_ledger_end(10);
    let status = api.get("/v1/operator/status", OPERATOR).await;
    let body = status.ok(200);
    assert_eq!(body["ledgerEnd"], 10, "{body}");
    assert_eq!(body["lag"], 9, "{body}");
    let behind = body["recordTimeLagSeconds"].as_i64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // The record time is 1 ms after the epoch.
    assert!((now - 2..=now).contains(&behind), "{behind} vs {now}");
}
