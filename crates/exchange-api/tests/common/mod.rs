//! The API served on 127.0.0.1:0 over a fresh DB, a reqwest client with both roles' tokens,
//! and ledger effects committed straight to the store (what ingestion would have written).

#![allow(dead_code)] // each test file uses its own part

use std::sync::atomic::{AtomicI64, Ordering};

use exchange_api::{ApiAuth, ApiConfig, Role, TokenHash};
use exchange_core::changeset::{
    AccountId, ChangeSet, Checkpoint, Deposit, DepositId, DepositState, Effect, Holding,
    IngestedUpdate, Origin,
};
use exchange_core::tokens::HeldBack;
use exchange_core::{
    Amount, ContractId, InstrumentId, Offset, PartyId, SynchronizerId, Timestamp, UpdateId,
};
use exchange_store::Store;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::harness::TestDb;

pub const INTERNAL: &str = "internal-systems-token";
pub const OPERATOR: &str = "operator-token";
pub const TREASURY: &str = "treasury::1220feed";
pub const DSO: &str = "DSO::1220abcd";

pub struct TestApi {
    pub base: String,
    pub http: reqwest::Client,
    pub store: Store,
    offset: AtomicI64,
}

/// An answer: status, headers and the body as JSON (`Null` when empty or not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts an RFC 9457 problem with this status and code.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.content_type(), "application/problem+json");
        assert_eq!(self.body["code"], code, "{}", self.body);
        assert_eq!(self.body["status"], status);
        assert_eq!(
            self.body["type"],
            format!("urn:canton-exchange:problem:{code}")
        );
        &self.body
    }

    #[track_caller]
    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        &self.body
    }
}

pub fn party(text: &str) -> PartyId {
    PartyId::new(text).unwrap()
}

pub fn amulet() -> InstrumentId {
    InstrumentId {
        admin: party(DSO),
        id: "Amulet".into(),
    }
}

pub fn amount(text: &str) -> Amount {
    text.parse().unwrap()
}

pub fn config() -> ApiConfig {
    ApiConfig {
        treasury_party: Some(party(TREASURY)),
        ..ApiConfig::default()
    }
}

pub async fn start(db: &TestDb) -> TestApi {
    start_with(db, config()).await
}

pub async fn start_with(db: &TestDb, config: ApiConfig) -> TestApi {
    let store = db.open().await;
    let auth = ApiAuth::new()
        .with(Role::Internal, TokenHash::of(INTERNAL))
        .with(Role::Operator, TokenHash::of(OPERATOR));
    let app = exchange_api::router(store.clone(), auth, config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(exchange_api::serve(listener, app, std::future::pending()));
    TestApi {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        store,
        offset: AtomicI64::new(0),
    }
}

impl TestApi {
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("the API answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.send(self.http.get(self.url(path)).bearer_auth(token))
            .await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Answer {
        self.send(self.http.post(self.url(path)).bearer_auth(token).json(body))
            .await
    }

    pub async fn withdraw(&self, key: &str, body: &Value) -> Answer {
        self.send(
            self.http
                .post(self.url("/v1/withdrawals"))
                .bearer_auth(INTERNAL)
                .header("Idempotency-Key", key)
                .json(body),
        )
        .await
    }

    pub async fn open_account(&self, id: &str, customer: &str) -> Answer {
        let body = serde_json::json!({"accountId": id, "customerRef": customer});
        self.post("/v1/accounts", INTERNAL, &body).await
    }

    /// Commits one ledger update's effects, as ingestion would: the next offset, record time
    /// `offset` ms.
    pub async fn ingest(&self, effects: Vec<Effect>) -> Origin {
        let update = self.next_update();
        self.offset.fetch_add(1, Ordering::SeqCst);
        let origin = update.origin();
        let mut changes = ChangeSet::default();
        changes.ingest(update.clone());
        changes.effects = effects;
        let checkpoint = Checkpoint {
            offset: update.offset,
            last_update: Some(update),
        };
        self.store.commit(&changes, &checkpoint).await.unwrap();
        origin
    }

    /// The update the next [`TestApi::ingest`] commits.
    pub fn next_update(&self) -> IngestedUpdate {
        let n = self.offset.load(Ordering::SeqCst) + 1;
        IngestedUpdate {
            update_id: UpdateId::new(&format!("u{n}")).unwrap(),
            offset: Offset::new(n).unwrap(),
            record_time: Timestamp::from_micros(n * 1000).unwrap(),
            synchronizer_id: SynchronizerId::new("global::1220").unwrap(),
        }
    }

    pub fn next_origin(&self) -> Origin {
        let n = self.offset.load(Ordering::SeqCst) + 1;
        Origin {
            update_id: UpdateId::new(&format!("u{n}")).unwrap(),
            record_time: Timestamp::from_micros(n * 1000).unwrap(),
        }
    }

    /// A deposit of `value` Amulet to `account` (credited when the account exists) and the
    /// treasury holding it brought.
    pub async fn deposit(&self, id: &str, account: &str, value: &str, state: DepositState) {
        let origin = self.next_origin();
        let deposit = Deposit {
            id: DepositId::new(id).unwrap(),
            account: AccountId::new(account),
            instrument: amulet(),
            amount: amount(value),
            sender: party("alice::1220aa"),
            state,
            transfer_instruction: (state == DepositState::Offered)
                .then(|| ContractId::new(&format!("00offer{id}")).unwrap()),
            origin: origin.clone(),
            held_back: (state == DepositState::Unrecognized).then(|| HeldBack {
                reason: "not onboarded".into(),
                provenance: Vec::new(),
            }),
        };
        let mut effects = Vec::new();
        if state == DepositState::Credited {
            effects.push(Effect::HoldingCreated(holding(
                &format!("00h{id}"),
                value,
                &origin,
            )));
            effects.push(Effect::Journal(deposit.credit(&origin).unwrap()));
        }
        effects.insert(0, Effect::DepositRecorded(deposit));
        self.ingest(effects).await;
    }
}

impl TestApi {
    /// `n` more treasury holdings of `value` each (own funds: no deposit behind them), so
    /// several withdrawals can be funded at once.
    pub async fn holdings(&self, n: usize, value: &str) {
        let origin = self.next_origin();
        let effects = (0..n)
            .map(|i| {
                Effect::HoldingCreated(holding(
                    &format!("00spare{}x{i}", origin.update_id),
                    value,
                    &origin,
                ))
            })
            .collect();
        self.ingest(effects).await;
    }
}

pub fn holding(contract: &str, value: &str, origin: &Origin) -> Holding {
    Holding {
        contract_id: ContractId::new(contract).unwrap(),
        instrument: amulet(),
        amount: amount(value),
        lock: None,
        created: origin.clone(),
        held_back: None,
    }
}
