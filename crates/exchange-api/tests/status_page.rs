//! The status page at `/` in a real headless browser (Debian's chromium): on a DB with
//! deposits, withdrawals, a shortfall, quarantine and untrusted events, on SQLite and
//! PostgreSQL, the rendered page shows exactly what the API's JSON says, escapes what the data
//! contains, and logs no error; it refreshes itself; without a known token it shows none of
//! the data.
//!
//! The browser runs with `--dump-dom`, which prints the DOM once the page's virtual-time
//! budget is spent; console messages (errors included) go to its stderr as `CONSOLE` lines, and
//! the page itself writes its uncaught errors into `data-testid="page-errors"`. With `CI=true`
//! a missing chromium is a failure; otherwise these tests skip with a message.

#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use common::{INTERNAL, OPERATOR, TREASURY, TestApi, amount, party, start};
use exchange_api::{ApiAuth, Role, TokenHash};
use exchange_core::InstrumentId;
use exchange_core::changeset::{
    Deposit, DepositId, DepositState, Effect, QuarantinedUpdate, UntrustedEvent,
};
use harness::TestDb;
use serde_json::{Value, json};

conformance!(the_page_shows_what_the_api_reports);

const BROWSERS: [&str; 2] = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

/// How much (virtual) time the page gets to load and render before the DOM is taken: less
/// than its refresh period (5 s), so what is compared is its first rendering.
const FIRST_RENDERING_MS: u32 = 3000;

/// Text in the data that would be markup if the page did not escape it.
const HOSTILE_REASON: &str = "admin <img src=x onerror=\"document.title='owned'\"> & forged";
const SWITCH_REASON: &str = "drill <b>not bold</b> & more";

fn browser() -> Option<PathBuf> {
    if let Some(found) = BROWSERS.iter().map(PathBuf::from).find(|p| p.exists()) {
        return Some(found);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("no chromium at {BROWSERS:?}, and CI=true requires it (.ci/run installs it)");
    }
    eprintln!("no chromium at {BROWSERS:?}: skipping the status page's browser test");
    None
}

/// The page as a browser rendered it, and what the browser logged from its console.
struct Rendered {
    dom: String,
    console: Vec<String>,
}

impl Rendered {
    /// The text of the element with this `data-testid` (a leaf: text only).
    #[track_caller]
    fn text(&self, id: &str) -> String {
        self.find(id)
            .unwrap_or_else(|| panic!("no data-testid={id:?} in the page:\n{}", self.dom))
    }

    fn find(&self, id: &str) -> Option<String> {
        let at = self.dom.find(&format!("data-testid=\"{id}\""))?;
        let start = at + self.dom[at..].find('>')? + 1;
        let end = start + self.dom[start..].find('<')?;
        Some(unescape(&self.dom[start..end]))
    }

    fn count(&self, needle: &str) -> usize {
        self.dom.matches(needle).count()
    }

    #[track_caller]
    fn assert_no_errors(&self) {
        assert_eq!(self.text("page-errors"), "", "the page recorded errors");
        assert!(
            self.console.is_empty(),
            "the page logged to its console: {:?}",
            self.console
        );
    }
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// Opens `url` in headless chromium; `None` when there is none (outside CI).
async fn render(url: String) -> Option<Rendered> {
    render_for(url, FIRST_RENDERING_MS).await
}

/// Opens `url` and lets `budget_ms` of virtual time pass (timers run at once, network
/// requests are waited for).
async fn render_for(url: String, budget_ms: u32) -> Option<Rendered> {
    let browser = browser()?;
    let profile = tempfile::tempdir().expect("a browser profile directory");
    let mut command = Command::new(browser);
    command
        .args([
            "--headless=new",
            "--disable-gpu",
            // Running as root (CI containers) needs it; the page is our own.
            "--no-sandbox",
            "--no-first-run",
            "--disable-extensions",
            "--enable-logging=stderr",
            "--v=0",
            &format!("--virtual-time-budget={budget_ms}"),
            // A stop after this much real time, should the page never settle.
            "--timeout=30000",
            &format!("--user-data-dir={}", profile.path().display()),
            "--dump-dom",
            &url,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // The API serves from this test's runtime: the browser is waited for on another thread.
    let output = tokio::time::timeout(
        Duration::from_secs(90),
        tokio::task::spawn_blocking(move || command.output()),
    )
    .await
    .expect("chromium finishes within 90 s")
    .expect("the waiting thread")
    .expect("chromium starts");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "chromium failed: {}\n{stderr}",
        output.status
    );
    Some(Rendered {
        dom: String::from_utf8(output.stdout).expect("the DOM is UTF-8"),
        console: stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE"))
            .map(str::to_owned)
            .collect(),
    })
}

fn usdx() -> InstrumentId {
    InstrumentId {
        admin: party("issuer::1220cc"),
        id: "USDx".into(),
    }
}

/// Deposits of every kind, a withdrawal in flight, own funds, an instrument owed but not held
/// (a shortfall), a quarantined transaction, an untrusted V2 event, withdrawals switched off.
async fn seed(api: &TestApi) {
    // As ingestion does on its first start.
    api.store
        .claim_treasury_party(&party(TREASURY))
        .await
        .unwrap();
    api.open_account("abc123", "c").await.ok(201);
    api.deposit("d1", "abc123", "100", DepositState::Credited)
        .await;
    api.deposit("d2", "ghost", "5", DepositState::UnknownAccount)
        .await;
    api.deposit("d3", "abc123", "7", DepositState::Offered)
        .await;
    api.holdings(1, "12.5").await;
    api.withdraw(
        "k1",
        &json!({"account": "abc123", "receiver": "bob::1220bb", "amount": "30.25", "instrumentId": "Amulet"}),
    )
    .await
    .ok(201);
    // Credited with no holding behind it: what a loss would look like.
    let origin = api.next_origin();
    let owed = Deposit {
        id: DepositId::new("d4").unwrap(),
        account: exchange_core::changeset::AccountId::new("abc123"),
        instrument: usdx(),
        amount: amount("50.0000000001"),
        sender: party("carol::1220dd"),
        state: DepositState::Credited,
        transfer_instruction: None,
        origin: origin.clone(),
        held_back: None,
    };
    let credit = owed.credit(&origin).unwrap();
    api.ingest(vec![Effect::DepositRecorded(owed), Effect::Journal(credit)])
        .await;
    let update = api.next_update();
    api.ingest(vec![Effect::Quarantined(QuarantinedUpdate {
        update,
        error: "unknown template <Foo>".into(),
        raw_json: "{}".into(),
    })])
    .await;
    let origin = api.next_origin();
    api.ingest(vec![Effect::UntrustedEvent(UntrustedEvent {
        origin,
        node_id: 3,
        reason: HOSTILE_REASON.into(),
    })])
    .await;
    api.post(
        "/v1/operator/withdrawals/disable",
        OPERATOR,
        &json!({"reason": SWITCH_REASON}),
    )
    .await
    .ok(200);
}

fn page_url(api: &TestApi, token: Option<&str>) -> String {
    match token {
        Some(token) => api.url(&format!("/#token={token}")),
        None => api.url("/"),
    }
}

async fn the_page_shows_what_the_api_reports(db: &TestDb) {
    let api = start(db).await;
    seed(&api).await;
    let status = api.get("/v1/operator/status", OPERATOR).await;
    let totals = api.get("/v1/treasury/totals", OPERATOR).await;
    let Some(page) = render(page_url(&api, Some(OPERATOR))).await else {
        return;
    };
    page.assert_no_errors();
    assert!(
        page.dom.contains("<body data-state=\"ok\">"),
        "{}",
        page.dom
    );
    // Signed in: the token form is out of the way.
    assert!(
        page.dom
            .contains("<form id=\"login\" data-testid=\"login\" hidden=\"\">")
    );
    shows_ingestion(&page, status.ok(200));
    shows_counts_and_the_switch(&page, status.ok(200));
    shows_reconciliation(&page, totals.ok(200));
    shows_problems(&page, status.ok(200));
    // Shortfall, switch off, quarantine, untrusted event, unknown-account deposit.
    assert_eq!(page.text("verdict"), "5 need attention");
    // What the data says is text, never markup: no element came from it, and the script it
    // carried did not run.
    assert_eq!(page.count("<img"), 0, "{}", page.dom);
    assert_eq!(page.count("<b>"), 0, "{}", page.dom);
    assert!(page.dom.contains(&escape(HOSTILE_REASON)), "{}", page.dom);
    assert!(page.dom.contains("<title>canton-exchange status</title>"));
}

fn shows_ingestion(page: &Rendered, status: &Value) {
    let checkpoint = &status["checkpoint"];
    assert_eq!(
        page.text("checkpoint-offset"),
        checkpoint["offset"].to_string()
    );
    assert_eq!(page.text("checkpoint-update-id"), checkpoint["updateId"]);
    assert_eq!(
        page.text("checkpoint-record-time"),
        checkpoint["recordTime"]
    );
    assert_eq!(page.text("treasury-party"), status["treasuryParty"]);
    assert_eq!(status["treasuryParty"], TREASURY);
    // The record times of 1970 are decades behind this machine's clock.
    let lag = page.text("lag-wall-clock");
    assert!(lag.contains(" d ") && lag.ends_with(" h"), "{lag}");
    assert!(page.text("lag-ledger-end").starts_with("not known"));
}

fn shows_counts_and_the_switch(page: &Rendered, status: &Value) {
    for kind in ["withdrawals", "deposits"] {
        let counts = status[kind].as_object().unwrap();
        assert!(!counts.is_empty(), "the fixture has {kind}");
        for (state, count) in counts {
            assert_eq!(page.text(&format!("{kind}:{state}")), count.to_string());
        }
        assert_eq!(page.count(&format!("data-testid=\"{kind}:")), counts.len());
    }
    assert_eq!(status["withdrawalsDisabled"], SWITCH_REASON);
    assert_eq!(page.text("withdrawals-switch"), "DISABLED");
    assert_eq!(
        page.text("withdrawals-switch-reason"),
        format!("({SWITCH_REASON})")
    );
}

fn shows_reconciliation(page: &Rendered, totals: &Value) {
    let rows = totals["totals"].as_array().unwrap();
    let shortfalls: Vec<bool> = rows.iter().map(|t| t["shortfall"] == true).collect();
    assert_eq!(
        shortfalls,
        [false, true],
        "one covered, one short: {totals}"
    );
    for row in rows {
        let instrument = &row["instrument"];
        let key = format!(
            "{}/{}",
            instrument["admin"].as_str().unwrap(),
            instrument["id"].as_str().unwrap()
        );
        for field in [
            "onLedger",
            "customerLiabilities",
            "suspense",
            "inFlightWithdrawals",
            "ownFunds",
            "heldBack",
        ] {
            // The decimal strings themselves, digit for digit.
            assert_eq!(
                page.text(&format!("totals:{key}:{field}")),
                row[field],
                "{key} {field}"
            );
        }
        let marker = page.text(&format!("totals:{key}:marker"));
        assert_eq!(
            marker.starts_with("SHORTFALL"),
            row["shortfall"] == true,
            "{key}: {marker}"
        );
    }
    assert_eq!(
        page.text("totals:issuer::1220cc/USDx:ownFunds"),
        "-50.0000000001"
    );
}

fn shows_problems(page: &Rendered, status: &Value) {
    let quarantined = status["quarantined"].as_array().unwrap();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(page.text("problems:quarantined"), "1");
    assert_eq!(page.count("data-testid=\"problems:quarantined:row\""), 1);
    assert!(
        page.dom
            .contains(&escape(quarantined[0]["error"].as_str().unwrap()))
    );
    assert_eq!(
        page.text("problems:untrusted"),
        status["untrustedV2Events"]["count"].to_string()
    );
    assert_eq!(page.count("data-testid=\"problems:untrusted:row\""), 1);
    for (id, field) in [
        ("problems:unknown-account", "unknownAccountDeposits"),
        ("problems:unattributed", "unattributedWithdrawals"),
        ("problems:overpaid", "overpaidWithdrawals"),
    ] {
        assert_eq!(page.text(id), status[field].to_string(), "{id}");
    }
    let failed = status["failedDepositAccepts"].as_array().unwrap();
    assert_eq!(
        page.text("problems:failed-accepts"),
        failed.len().to_string()
    );
    assert!(status["lastRecovery"].is_null());
    assert_eq!(page.text("problems:last-recovery"), "none");
}

/// As a browser serializes text: `&`, `<` and `>` escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[tokio::test]
async fn without_an_operator_token_the_page_shows_no_status() {
    let db = TestDb::sqlite();
    let api = start(&db).await;
    seed(&api).await;

    let Some(none) = render(page_url(&api, None)).await else {
        return;
    };
    none.assert_no_errors();
    assert!(
        none.dom.contains("<body data-state=\"no-token\">"),
        "{}",
        none.dom
    );
    assert!(
        none.dom
            .contains("<form id=\"login\" data-testid=\"login\">"),
        "{}",
        none.dom
    );

    // Not even URI-encoded: refused like any unknown token, not a script error.
    let malformed = render(page_url(&api, Some("%E0%A4%A"))).await.unwrap();
    malformed.assert_no_errors();
    assert!(malformed.dom.contains("<body data-state=\"no-token\">"));

    let unknown = render(page_url(&api, Some("not-a-token"))).await.unwrap();
    unknown.assert_no_errors();
    assert!(unknown.dom.contains("<body data-state=\"unauthorized\">"));
    assert!(
        unknown.text("message").contains("401 unauthorized"),
        "{}",
        unknown.dom
    );
    assert!(!unknown.dom.contains(TREASURY), "{}", unknown.dom);
    assert!(!unknown.dom.contains("50.0000000001"), "{}", unknown.dom);

    // The internal systems' token reads reconciliation, not the operator's status.
    let internal = render(page_url(&api, Some(INTERNAL))).await.unwrap();
    internal.assert_no_errors();
    assert!(internal.dom.contains("<body data-state=\"partial\">"));
    assert!(
        internal
            .text("message")
            .contains("The operator status needs an operator token (403 forbidden).")
    );
    assert_eq!(
        internal.text("totals:issuer::1220cc/USDx:customerLiabilities"),
        "50.0000000001"
    );
    assert!(!internal.dom.contains(TREASURY), "{}", internal.dom);
    assert_eq!(internal.text("verdict"), "incomplete");
}

#[tokio::test]
async fn the_page_is_public_and_the_same_for_everyone() {
    let db = TestDb::sqlite();
    let api = start(&db).await;
    seed(&api).await;
    let page = |token: Option<&'static str>| {
        let mut request = api.http.get(api.url("/"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let public = page(None).await.unwrap();
    assert_eq!(public.status(), 200);
    let headers = public.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(
        policy.starts_with("default-src 'none'; script-src 'sha256-"),
        "{policy}"
    );
    assert!(policy.contains("connect-src 'self'"), "{policy}");
    let body = public.text().await.unwrap();
    for data in [TREASURY, "abc123", "50.0000000001", "drill"] {
        assert!(!body.contains(data), "the page itself carries {data}");
    }
    let as_operator = page(Some(OPERATOR)).await.unwrap().text().await.unwrap();
    assert_eq!(as_operator, body);
}

#[tokio::test]
async fn the_page_refreshes_itself() {
    let db = TestDb::sqlite();
    let api = Arc::new(start(&db).await);
    seed(&api).await;
    let before = api.get("/v1/operator/status", OPERATOR).await;
    assert_eq!(before.ok(200)["deposits"]["credited"], 2);
    // A second server over the same DB that counts the page's status readings and, once the
    // first has been answered, lets a deposit arrive: only a later reading can show it.
    let readings = Arc::new(AtomicUsize::new(0));
    let counting = {
        let (api, readings) = (api.clone(), readings.clone());
        move |request: Request, next: Next| {
            let (api, readings) = (api.clone(), readings.clone());
            async move {
                let status = request.uri().path() == "/v1/operator/status";
                let response = next.run(request).await;
                if status && readings.fetch_add(1, Ordering::SeqCst) == 0 {
                    api.deposit("d9", "abc123", "1", DepositState::Credited)
                        .await;
                }
                response
            }
        }
    };
    let auth = ApiAuth::new()
        .with(Role::Internal, TokenHash::of(INTERNAL))
        .with(Role::Operator, TokenHash::of(OPERATOR));
    let app = exchange_api::router(api.store.clone(), auth, common::config())
        .layer(axum::middleware::from_fn(counting));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/#token={OPERATOR}",
        listener.local_addr().unwrap()
    );
    tokio::spawn(exchange_api::serve(listener, app, std::future::pending()));

    // Two refresh periods and a bit.
    let Some(page) = render_for(url, 12_000).await else {
        return;
    };
    page.assert_no_errors();
    assert!(
        readings.load(Ordering::SeqCst) >= 2,
        "the page read the status once"
    );
    let after = api.get("/v1/operator/status", OPERATOR).await;
    assert_eq!(after.ok(200)["deposits"]["credited"], 3);
    assert_eq!(page.text("deposits:credited"), "3");
}
