//! The built binary against a sandbox node started in the test, as an operator runs it:
//! `recover node-restore --admin-api` after a node restore, and `ingest` SIGKILLed at seeded
//! random moments while deposits keep arriving. In both, every deposit is credited exactly once.
//! And SIGTERM to an idle `ingest` exits 0.

#[path = "../../exchange-store/tests/harness/mod.rs"]
#[allow(dead_code)] // shared with the store's tests, which use all of it
mod harness;

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use canton_sandbox::token::TransferRequest;
use canton_sandbox::{Sandbox, SandboxConfig};
use common::{Running, binary};
use exchange_core::changeset::AccountId;
use exchange_core::{Amount, InstrumentId, PartyId};
// Seeded: every run of a test makes the same deposits and kills at the same moments.
use exchange_drill::rng::Rng;
use exchange_store::Store;
use harness::TestDb;

const CUSTOMERS: usize = 3;

fn account_of(customer: usize) -> AccountId {
    AccountId::new(format!("acct-{customer}")).expect("non-empty")
}

/// A sandbox with a treasury (with a transfer preapproval) and funded customers.
struct Node {
    sandbox: Sandbox,
    treasury: String,
    customers: Vec<String>,
    instrument: InstrumentId,
    expected: Mutex<(u64, BTreeMap<usize, Amount>)>,
}

impl Node {
    async fn start() -> Node {
        Node::start_seeded("canton-sandbox").await
    }

    /// Another seed is another node with another history (other update ids).
    async fn start_seeded(seed: &str) -> Node {
        let mut config = SandboxConfig::default();
        config.ledger.seed = seed.to_owned();
        let sandbox = Sandbox::start(config).await.expect("sandbox starts");
        let (treasury, customers, dso) = sandbox.with_world(|w| {
            let treasury = w.ledger.allocate_party("treasury").expect("party");
            w.amulet
                .create_preapproval(&mut w.ledger, &treasury)
                .expect("preapproval");
            let customers: Vec<String> = (0..CUSTOMERS)
                .map(|i| {
                    let c = w
                        .ledger
                        .allocate_party(&format!("customer{i}"))
                        .expect("party");
                    w.amulet
                        .create_preapproval(&mut w.ledger, &c)
                        .expect("preapproval");
                    w.amulet
                        .mint(&mut w.ledger, &c, "1000000".parse().unwrap())
                        .expect("mint");
                    c
                })
                .collect();
            (treasury, customers, w.amulet.dso.clone())
        });
        Node {
            sandbox,
            treasury,
            customers,
            instrument: InstrumentId {
                admin: PartyId::new(&dso).expect("party"),
                id: "Amulet".into(),
            },
            expected: Mutex::new((0, BTreeMap::new())),
        }
    }

    /// A 1-step deposit of a random whole amount from a random customer, memo = their account.
    fn deposit(&self, rng: &mut Rng) {
        let c = rng.below(CUSTOMERS as u64) as usize;
        let value = Amount::from_whole(1 + rng.below(20) as i64);
        let mut expected = self.expected.lock().unwrap();
        expected.0 += 1;
        let request = TransferRequest {
            sender: self.customers[c].clone(),
            receiver: self.treasury.clone(),
            amount: value,
            memo: Some(account_of(c).as_str().to_owned()),
            inputs: None,
            command_id: format!("deposit-{}", expected.0),
        };
        self.sandbox
            .with_world(|w| w.amulet.transfer(&mut w.ledger, &request))
            .expect("deposit commits");
        let e = expected.1.entry(c).or_insert(Amount::ZERO);
        *e = e.checked_add(value).unwrap();
    }

    fn deposits(&self, rng: &mut Rng, n: usize) {
        for _ in 0..n {
            self.deposit(rng);
        }
    }

    fn expected(&self) -> BTreeMap<usize, Amount> {
        let expected = self.expected.lock().unwrap();
        (0..CUSTOMERS)
            .map(|i| (i, expected.1.get(&i).copied().unwrap_or(Amount::ZERO)))
            .collect()
    }

    /// `ingest --once`: to the ledger end, then exit.
    fn ingest_once(&self, db: &str, url: &str) -> Vec<String> {
        let mut args = owned(&self.ingest_args(db, url));
        args.push("--once".to_owned());
        args
    }

    /// Canton Coin as `tokens add` onboards it (so ingestion credits it).
    fn canton_coin(&self) -> exchange_core::tokens::OnboardedToken {
        let registry_url = self
            .sandbox
            .info()
            .tokens
            .into_iter()
            .find(|t| t.instrument_id == "Amulet")
            .expect("Canton Coin")
            .registry_url;
        exchange_core::tokens::OnboardedToken {
            instrument: self.instrument.clone(),
            registry_url,
            transfer_kind: exchange_core::tokens::TokenTransferKind::OneStep,
            package_names: ["splice-amulet".to_owned()].into(),
        }
    }

    fn ingest_args<'a>(&'a self, db: &'a str, url: &'a str) -> Vec<&'a str> {
        vec![
            "ingest",
            "--party",
            &self.treasury,
            "--ledger",
            url,
            "--db",
            db,
            "--batch-size",
            "4",
            "--retry-delay-ms",
            "20",
        ]
    }
}

/// The customers' accounts, and Canton Coin onboarded (so ingestion credits it).
async fn create_accounts(db: &TestDb, node: &Node) {
    let store = Store::open(&db.url).await.expect("open store");
    store
        .onboard_token(&node.canton_coin())
        .await
        .expect("onboard");
    for i in 0..CUSTOMERS {
        store
            .create_account(&account_of(i), &format!("customer-{i}"))
            .await
            .expect("account");
    }
    store.close().await;
}

async fn balances(db: &TestDb, instrument: &InstrumentId) -> BTreeMap<usize, Amount> {
    let store = Store::open(&db.url).await.expect("open store");
    let mut out = BTreeMap::new();
    for i in 0..CUSTOMERS {
        out.insert(
            i,
            store
                .balance(&account_of(i), instrument)
                .await
                .expect("balance"),
        );
    }
    store.close().await;
    out
}

/// Where ingestion stands in `db`.
async fn checkpoint_of(db: &TestDb) -> Option<exchange_core::changeset::Checkpoint> {
    let store = Store::open(&db.url).await.unwrap();
    let checkpoint = store.checkpoint().await.unwrap();
    store.close().await;
    checkpoint
}

/// Runs the binary to completion off the async workers (the sandbox serves meanwhile).
async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || binary().args(&args).output().unwrap())
        .await
        .unwrap()
}

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The runbook with the CLI: ingest, restore the node from an older backup (offsets change),
/// ingestion refuses, `recover node-restore --admin-api` finds offRecovery by
/// GetHighestOffsetByTimestamp, ingestion resumes and credits only what is new.
async fn node_restore_with_the_admin_api(db: &TestDb) {
    let node = Node::start().await;
    create_accounts(db, &node).await;
    let url = node.sandbox.ledger_api_url();
    let admin = node.sandbox.admin_api_url();
    let mut rng = Rng::new(41);
    node.deposits(&mut rng, 10);
    let backup = node.sandbox.backup();
    node.deposits(&mut rng, 10);
    let ingest = node.ingest_once(&db.url, &url);
    let out = run(ingest.clone()).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let before = balances(db, &node.instrument).await;
    assert_eq!(before, node.expected());

    node.sandbox.restore(&backup);
    node.deposits(&mut rng, 6);

    // Not re-pointed: refused, naming the runbook command; nothing credited.
    let out = run(ingest.clone()).await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("recover validator"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(balances(db, &node.instrument).await, before);

    let out = run(owned(&[
        "recover",
        "node-restore",
        "--ledger",
        &url,
        "--db",
        &db.url,
        "--admin-api",
        &admin,
    ]))
    .await;
    let stdout = text(&out.stdout);
    eprintln!("recover node-restore printed:\n{stdout}");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("offRecovery") && stdout.contains("GetHighestOffsetByTimestamp at"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("force=true"),
        "3.4 answers unforced: {stdout}"
    );

    let out = run(ingest.clone()).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("ingested 6 transactions"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(balances(db, &node.instrument).await, node.expected());

    // Run again after the restore: nothing to do, and nothing is credited twice.
    let out = run(ingest).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(balances(db, &node.instrument).await, node.expected());
}

/// `recover node-restore --admin-api` against a node that does not have the last ingested
/// update (here: another node; in life, a restored node still catching up, or the wrong node):
/// refused before the Admin API is asked, nothing changed.
async fn node_restore_refused_when_the_node_lacks_the_last_update(db: &TestDb) {
    let node = Node::start().await;
    create_accounts(db, &node).await;
    let url = node.sandbox.ledger_api_url();
    let mut rng = Rng::new(43);
    node.deposits(&mut rng, 4);
    let out = run(node.ingest_once(&db.url, &url)).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let checkpoint = checkpoint_of(db).await;
    let other = Node::start_seeded("another-node").await;
    other.deposits(&mut rng, 4);
    let out = run(owned(&[
        "recover",
        "node-restore",
        "--ledger",
        &other.sandbox.ledger_api_url(),
        "--db",
        &db.url,
        "--admin-api",
        &other.sandbox.admin_api_url(),
    ]))
    .await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("does not have the last ingested update")
            && stderr.contains("has caught up"),
        "{stderr}"
    );
    assert_eq!(checkpoint_of(db).await, checkpoint);
}

/// The token standard's metadata `.dar` (not built into the sandbox), uploaded to the node and
/// recorded for Canton Coin as `tokens add --dar` does.
async fn onboard_metadata_dar(db: &TestDb, node: &Node) -> String {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/dars/splice-api-token-metadata-v1-1.0.0.dar");
    let content = std::fs::read(&path).unwrap();
    let info = canton_ledger::dar::read_dar(&content, Default::default()).unwrap();
    let client = canton_ledger::client::LedgerClient::new(&node.sandbox.ledger_api_url(), None);
    client.upload_dar(content.clone()).await.unwrap();
    let dar = exchange_store::Dar {
        main_package_id: info.main.package_id.clone(),
        file_name: "splice-api-token-metadata-v1-1.0.0.dar".into(),
        content_hash: info.content_hash.clone(),
        package_name: info.main.name.clone(),
        package_version: info.main.version.clone(),
        package_ids: info.package_ids().map(str::to_owned).collect(),
        content,
        uploaded_at: exchange_core::Timestamp::now(),
        listed_at: None,
        ledger_end_before: None,
        ledger_end_after: None,
    };
    let store = Store::open(&db.url).await.unwrap();
    store
        .onboard_token_with_dars(&node.canton_coin(), &[dar])
        .await
        .unwrap();
    store.close().await;
    info.main.package_id
}

fn has_package(node: &Node, id: &str) -> bool {
    node.sandbox.with_world(|w| w.packages.is_known(id))
}

/// `recover validator` end to end, as an operator runs it after restoring the node from a
/// backup taken before a token's `.dar` was uploaded: refused while ingestion holds its lease;
/// `--dry-run` prints every step and changes nothing; the real run uploads the `.dar` again,
/// re-points with the Admin API and records the recovery (`status` shows it); ingestion then
/// credits only what is new.
async fn recover_validator_walks_the_runbook(db: &TestDb) {
    let node = Node::start().await;
    create_accounts(db, &node).await;
    let url = node.sandbox.ledger_api_url();
    let admin = node.sandbox.admin_api_url();
    let mut rng = Rng::new(47);
    node.deposits(&mut rng, 6);
    let backup = node.sandbox.backup();
    let dar = onboard_metadata_dar(db, &node).await;
    node.deposits(&mut rng, 6);
    let ingest = node.ingest_once(&db.url, &url);
    let out = run(ingest.clone()).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    node.sandbox.restore(&backup);
    assert!(!has_package(&node, &dar));
    node.deposits(&mut rng, 3);
    let recover = |extra: &[&str]| {
        let mut args = owned(&[
            "recover",
            "validator",
            "--ledger",
            &url,
            "--db",
            &db.url,
            "--admin-api",
            &admin,
        ]);
        args.extend(owned(extra));
        args
    };
    let store = Store::open(&db.url).await.unwrap();
    let checkpoint = store.checkpoint().await.unwrap();

    // Step 1: ingestion (here: this test) holds the lease.
    let party = PartyId::new(&node.treasury).unwrap();
    let lease = store.try_ingestion_lease(&party).await.unwrap().unwrap();
    let out = run(recover(&[])).await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("ingestion is running against this DB"),
        "{}",
        text(&out.stderr)
    );
    lease.release().await;

    // A dry run: every step, the .dar it would upload, offRecovery; nothing changed.
    let out = run(recover(&["--dry-run"])).await;
    let stdout = text(&out.stdout);
    eprintln!("recover validator --dry-run printed:\n{stdout}");
    assert!(out.status.success(), "{}", text(&out.stderr));
    for step in 1..=6 {
        assert!(stdout.contains(&format!("step {step}: ")), "{stdout}");
    }
    assert!(
        stdout.contains("would be uploaded again") && stdout.contains(&dar),
        "{stdout}"
    );
    assert!(stdout.contains("offRecovery"), "{stdout}");
    assert!(stdout.contains("nothing changed"), "{stdout}");
    assert!(!has_package(&node, &dar));
    assert_eq!(store.checkpoint().await.unwrap(), checkpoint);
    assert!(store.recoveries().await.unwrap().is_empty());

    // The runbook.
    let out = run(recover(&[])).await;
    let stdout = text(&out.stdout);
    eprintln!("recover validator printed:\n{stdout}");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("uploaded again and now listed"), "{stdout}");
    assert!(stdout.contains("step 7: restart"), "{stdout}");
    assert!(has_package(&node, &dar));
    let recoveries = store.recoveries().await.unwrap();
    assert_eq!(recoveries.len(), 1);
    assert_eq!(recoveries[0].record.dars_uploaded, vec![dar.clone()]);
    store.close().await;
    let out = run(owned(&["status", "--db", &db.url])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("last recovery      validator"),
        "{}",
        text(&out.stdout)
    );

    // The alias still works, and a second run converges (the .dar present).
    let mut again = recover(&[]);
    again[1] = "node-restore".to_owned();
    let out = run(again).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("nothing to upload"),
        "{}",
        text(&out.stdout)
    );

    let out = run(ingest).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(balances(db, &node.instrument).await, node.expected());
}

/// `ingest` SIGKILLed 3–5 times at seeded random moments while deposits keep arriving, then
/// `ingest --once` to the end: every deposit credited exactly once.
async fn sigkilled_ingestion_credits_every_deposit_once(db: &TestDb, seed: u64) {
    let node = Arc::new(Node::start().await);
    create_accounts(db, &node).await;
    let url = node.sandbox.ledger_api_url();
    let mut rng = Rng::new(seed);
    node.deposits(&mut rng, 5);

    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let depositor = {
        let node = node.clone();
        let mut rng = Rng::new(seed ^ 0x5eed);
        tokio::spawn(async move {
            loop {
                node.deposit(&mut rng);
                let pause = Duration::from_millis(1 + rng.below(8));
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stop_rx.changed() => break,
                }
            }
        })
    };

    let kills = 3 + rng.below(3);
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut progress = Vec::new();
    for _ in 0..kills {
        let mut child: Child = binary()
            .args(node.ingest_args(&db.url, &url))
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(150 + rng.below(450))).await;
        assert!(
            child.try_wait().unwrap().is_none(),
            "ingest exited before it was killed: {}",
            std::fs::read_to_string(log.path()).unwrap_or_default()
        );
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(!status.success());
        progress.push(checkpoint_of(db).await.map(|c| c.offset.get()));
    }
    let _ = stop_tx.send(true);
    depositor.await.unwrap();
    // The killed runs did ingest (the checkpoint moved), and never backwards.
    assert!(progress.last().unwrap().is_some(), "{progress:?}");
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");

    let out = run(node.ingest_once(&db.url, &url)).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let checkpoint = checkpoint_of(db).await.expect("a checkpoint");
    assert_eq!(
        checkpoint.offset.get(),
        node.sandbox.ledger_end(),
        "{}",
        text(&out.stdout)
    );
    let deposits = node.expected.lock().unwrap().0;
    eprintln!("{kills} kills at checkpoints {progress:?}; {deposits} deposits");
    assert_eq!(balances(db, &node.instrument).await, node.expected());
}

/// Issue 8, item 7: SIGTERM to an `ingest` that has caught up and has nothing to do is a clean
/// stop: exit 0 (it used to exit 1 with "checkpoint regression: the stored offset is N, the
/// commit's is N").
async fn sigterm_of_an_idle_ingestion_exits_0(db: &TestDb) {
    let node = Node::start().await;
    create_accounts(db, &node).await;
    let url = node.sandbox.ledger_api_url();
    node.deposits(&mut Rng::new(3), 4);
    let once = node.ingest_once(&db.url, &url);
    let out = run(once).await;
    assert!(out.status.success(), "{}", text(&out.stderr));

    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = Running(
        binary()
            .args(node.ingest_args(&db.url, &url))
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap(),
    );
    // Long enough to start, catch up (nothing to read) and sit idle for a few batch windows.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let log_text = || std::fs::read_to_string(log.path()).unwrap_or_default();
    assert!(child.0.try_wait().unwrap().is_none(), "{}", log_text());
    let status = tokio::task::spawn_blocking(move || child.terminate(Duration::from_secs(30)))
        .await
        .unwrap();
    assert!(status.success(), "{status}: {}", log_text());
    assert_eq!(balances(db, &node.instrument).await, node.expected());
}

mod sqlite {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sigterm_of_an_idle_ingestion_exits_0() {
        super::sigterm_of_an_idle_ingestion_exits_0(&TestDb::sqlite()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn node_restore_with_the_admin_api() {
        super::node_restore_with_the_admin_api(&TestDb::sqlite()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn node_restore_refused_when_the_node_lacks_the_last_update() {
        super::node_restore_refused_when_the_node_lacks_the_last_update(&TestDb::sqlite()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sigkilled_ingestion_credits_every_deposit_once() {
        super::sigkilled_ingestion_credits_every_deposit_once(&TestDb::sqlite(), 7).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn recover_validator_walks_the_runbook() {
        super::recover_validator_walks_the_runbook(&TestDb::sqlite()).await;
    }
}

mod postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sigterm_of_an_idle_ingestion_exits_0() {
        if let Some(db) = TestDb::postgres("sigterm_idle").await {
            super::sigterm_of_an_idle_ingestion_exits_0(&db).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sigkilled_ingestion_credits_every_deposit_once() {
        if let Some(db) = TestDb::postgres("sigkilled_ingestion").await {
            super::sigkilled_ingestion_credits_every_deposit_once(&db, 11).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn recover_validator_walks_the_runbook() {
        if let Some(db) = TestDb::postgres("recover_validator_cli").await {
            super::recover_validator_walks_the_runbook(&db).await;
        }
    }
}
