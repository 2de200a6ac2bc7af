//! The node-restore drills' starting points: a node with three funded customers and a store,
//! deposits drawn from a seeded generator, the node backed up and restored; and token
//! onboarding with a `.dar` the restored node may lack.

use exchange_core::tokens::{OnboardedToken, TokenTransferKind};
use exchange_services::Transport;
use exchange_store::{Dar, Store};

use super::{Credits, Node, Rng, node_and_store};
use crate::harness::TestDb;

pub const CUSTOMERS: usize = 3;

/// `n` deposits drawn from `seed` on a fresh node, all ingested: the node, its store, the
/// generator for more deposits and what each account should be credited.
pub async fn ingested(db: &TestDb, seed: u64, n: usize) -> (Node, Store, Rng, Credits) {
    let (mut node, store) = node_and_store(db, CUSTOMERS).await;
    let mut rng = Rng::new(seed);
    let mut expected = Credits::new();
    node.random_deposits(&mut rng, n, &mut expected);
    node.ingest_once(&store, Transport::Websocket, 5)
        .await
        .unwrap();
    (node, store, rng, expected)
}

/// The runbook's starting point: `before` deposits, a node backup, `after` more deposits, all
/// ingested; then the node restored from the backup and `since` deposits committed on it. With
/// `dar`, a token is onboarded with its `.dar` just after the backup (the restored node lacks
/// it). Returns the node, its store, what each account should be credited and the `.dar`.
pub async fn restored(
    db: &TestDb,
    seed: u64,
    [before, after, since]: [usize; 3],
    dar: bool,
) -> (Node, Store, Credits, Option<Dar>) {
    let (mut node, store) = node_and_store(db, CUSTOMERS).await;
    let mut rng = Rng::new(seed);
    let mut expected = Credits::new();
    node.random_deposits(&mut rng, before, &mut expected);
    let backup = node.sandbox.backup();
    let dar = match dar {
        true => Some(onboard_with_dar(&node, &store).await),
        false => None,
    };
    node.random_deposits(&mut rng, after, &mut expected);
    node.ingest_once(&store, Transport::Websocket, 5)
        .await
        .unwrap();
    node.sandbox.restore(&backup);
    node.random_deposits(&mut rng, since, &mut expected);
    (node, store, expected, dar)
}

/// The token standard's metadata `.dar`: its main package is not built into the sandbox, so a
/// node has it only once uploaded.
pub fn metadata_dar() -> Dar {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/dars/splice-api-token-metadata-v1-1.0.0.dar");
    let content = std::fs::read(&path).unwrap();
    let info = canton_ledger::dar::read_dar(&content, Default::default()).unwrap();
    Dar {
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
    }
}

/// Token onboarding as `tokens add --dar` does it: the `.dar` uploaded to the node, then
/// recorded in the DB for the sandbox token SBX.
pub async fn onboard_with_dar(node: &Node, store: &Store) -> Dar {
    let dar = metadata_dar();
    let client = canton_ledger::client::LedgerClient::new(&node.sandbox.ledger_api_url(), None);
    client.upload_dar(dar.content.clone()).await.unwrap();
    assert!(node_packages(node).contains(&dar.main_package_id));
    let sbx = node
        .sandbox
        .info()
        .tokens
        .into_iter()
        .find(|t| t.instrument_id == "SBX")
        .unwrap();
    let token = OnboardedToken {
        instrument: exchange_core::InstrumentId {
            admin: exchange_core::PartyId::new(&sbx.admin).unwrap(),
            id: sbx.instrument_id.clone(),
        },
        registry_url: sbx.registry_url.clone(),
        transfer_kind: TokenTransferKind::MultiStep,
        package_names: ["sandbox-token".to_owned()].into(),
    };
    store
        .onboard_token_with_dars(&token, std::slice::from_ref(&dar))
        .await
        .unwrap();
    dar
}

pub fn node_packages(node: &Node) -> Vec<String> {
    node.sandbox.with_world(|w| w.packages.ids())
}
