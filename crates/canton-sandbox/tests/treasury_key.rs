//! `SandboxConfig::treasury_key`: the scenarios' treasury is an external party of that key, its
//! actions prepared, signed and executed through the node's interactive path; the story it reads
//! is the one a local treasury reads; and the node refuses it an ordinary `submit-and-wait`.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use canton_ledger::{JsGetUpdatesResponse, Update};
use canton_sandbox::{Sandbox, SandboxConfig, Scenario, TreasuryKey};
use common::transfer::Transfer;
use common::*;
use ed25519_dalek::Signer;
use ed25519_dalek::SigningKey;
use exchange_core::PartyId;
use exchange_core::parser::{NoLookup, parse_transaction};
use serde_json::{Value, json};

fn key(seed: u8) -> TreasuryKey {
    TreasuryKey::new(SigningKey::from_bytes(&[seed; 32]))
}

async fn start(scenario: Scenario, treasury_key: Option<TreasuryKey>) -> Sandbox {
    Sandbox::start(SandboxConfig {
        scenario,
        treasury_key,
        ..Default::default()
    })
    .await
    .expect("starts")
}

fn treasury(sandbox: &Sandbox) -> String {
    sandbox.parties().treasury.clone().expect("has a treasury")
}

/// Every transaction the treasury sees, as the exchange's parser reads it (its transfers with
/// kind, direction, parties, instrument, amount, memo and status, and its holding changes), with
/// the treasury's own id written `TREASURY` and ids that differ per run left out.
async fn story(sandbox: &Sandbox) -> Vec<String> {
    let client = Client::new(sandbox);
    let party = treasury(sandbox);
    let end = client.ledger_end().await;
    let request = updates_request(&party, "TRANSACTION_SHAPE_LEDGER_EFFECTS", 0, Some(end));
    let updates = client.post("/v2/updates", &request).await.ok();
    let mut out = Vec::new();
    for update in updates.as_array().expect("a page") {
        let response: JsGetUpdatesResponse =
            serde_json::from_value(update.clone()).expect("wire shape");
        let Update::Transaction(tx) = response.update else {
            continue;
        };
        let parsed = parse_transaction(&tx.value, &PartyId::new(&party).unwrap(), &NoLookup)
            .expect("parses");
        let mut transfers = serde_json::to_value(&parsed.transfers).unwrap();
        for t in transfers.as_array_mut().unwrap() {
            let t = t.as_object_mut().unwrap();
            t.remove("nodeId");
            t.remove("transferInstructionCid");
        }
        let changes = serde_json::to_value(&parsed.holding_changes).unwrap();
        if transfers.as_array().unwrap().is_empty() && changes.as_array().unwrap().is_empty() {
            continue;
        }
        let entry = json!({"transfers": transfers, "holdingChanges": changes}).to_string();
        out.push(entry.replace(&party, "TREASURY"));
    }
    out
}

#[tokio::test]
async fn with_a_key_the_basic_treasury_is_external_and_its_story_unchanged() {
    let key = key(7);
    let local = start(Scenario::Basic, None).await;
    let external = start(Scenario::Basic, Some(key.clone())).await;
    let party = treasury(&external);
    // The party's namespace is the key's fingerprint, as the control API allocates one.
    assert_eq!(party, format!("treasury::{}", key.fingerprint()));
    assert_ne!(treasury(&local), party);
    assert_eq!(
        external.info().parties.treasury.as_deref(),
        Some(party.as_str())
    );
    // The same deposits, withdrawals, offers and answers, with the same memos and amounts.
    let (ours, theirs) = (story(&local).await, story(&external).await);
    assert!(ours.len() >= 10, "{ours:#?}");
    for memo in ["withdrawal-0001", "sbx-withdrawal-3", "deposit-account-bob"] {
        assert!(
            theirs.iter().any(|t| t.contains(memo)),
            "{memo}: {theirs:#?}"
        );
    }
    assert_eq!(ours, theirs);
}

/// Every transaction the external treasury acted in went through the interactive path (it
/// carries the hash the treasury signed), except the SBX faucet's mint, which the sandbox
/// commits as the registry's own flow (acting as admin and owner, as for any party).
#[tokio::test]
async fn the_external_treasury_acts_only_through_signed_submissions() {
    let sandbox = start(Scenario::Basic, Some(key(9))).await;
    let party = treasury(&sandbox);
    let by_treasury: Vec<(String, bool)> = sandbox.with_world(|w| {
        let symbols = w.ledger.symbols();
        w.ledger
            .log()
            .iter()
            .filter(|tx| symbols.parties(tx.act_as).any(|p| p == party))
            .map(|tx| {
                let signed = tx.external_transaction_hash.is_some();
                (tx.command_id.clone(), signed)
            })
            .collect()
    });
    let (signed, unsigned): (Vec<_>, Vec<_>) = by_treasury.into_iter().partition(|(_, s)| *s);
    let signed: Vec<String> = signed.into_iter().map(|(c, _)| c).collect();
    let unsigned: Vec<String> = unsigned.into_iter().map(|(c, _)| c).collect();
    assert_eq!(unsigned.len(), 1, "{unsigned:?}");
    assert!(
        unsigned[0].starts_with("sandbox-token-mint-"),
        "{unsigned:?}"
    );
    // The preapproval proposal, the Canton Coin withdrawal, four SBX offers, one withdraw.
    let expected: Vec<String> = [
        "treasury-preapproval",
        "basic-withdrawal-0",
        "basic-sbx-withdrawal-1",
        "basic-sbx-withdrawal-2",
        "basic-sbx-withdrawal-3",
        "basic-sbx-withdrawal-4",
        "basic-sbx-answer-3",
    ]
    .map(str::to_owned)
    .to_vec();
    assert_eq!(signed, expected);
}

/// A Canton Coin withdrawal of 1 from `sender` to `receiver` spending `input`, with the
/// registry's factory, choice context and disclosures, as a wallet builds it.
async fn withdrawal(sandbox: &Sandbox, sender: &str, receiver: &str, input: &str) -> Value {
    let token = advertised(sandbox, "Amulet");
    let transfer = Transfer {
        inputs: &[input],
        reason: Some("unsigned"),
        ..Transfer::new(&token.admin, "Amulet", sender, receiver, "1")
    };
    let factory = transfer_factory(&token.registry_url, &transfer.choice_argument()).await;
    transfer.registry_submission(&factory, "withdrawal-by-hand", sender)
}

/// A real node hosts an external party with confirmation rights only: an ordinary submission
/// as the treasury is refused and moves nothing, while the same command prepared, signed with
/// the key and executed commits.
#[tokio::test]
async fn the_node_refuses_an_ordinary_submission_as_the_external_treasury() {
    let seed = [7u8; 32];
    let sandbox = start(
        Scenario::Basic,
        Some(TreasuryKey::new(SigningKey::from_bytes(&seed))),
    )
    .await;
    let client = Client::new(&sandbox);
    let party = treasury(&sandbox);
    let holdings = || async {
        client
            .post("/sandbox/control/holdings", &json!({"owner": party}))
            .await
            .ok()
    };
    let before = holdings().await;
    let input = before[0]["contractId"].as_str().expect("funded").to_owned();
    let alice = sandbox.parties().customers["alice"].clone();
    let command = withdrawal(&sandbox, &party, &alice, &input).await;
    let refused = client.submit_and_wait(&command).await;
    assert_eq!(refused.status, 404, "{}", refused.text);
    let error = refused.json();
    assert_eq!(
        error["code"],
        "NO_SYNCHRONIZER_ON_WHICH_ALL_SUBMITTERS_CAN_SUBMIT"
    );
    assert_eq!(
        error["context"]["unknownSubmitter"],
        Value::String(party.clone())
    );
    assert_eq!(holdings().await, before, "nothing moved");
    // The interactive path takes the same command.
    let prepared = client
        .post("/v2/interactive-submission/prepare", &command)
        .await
        .ok();
    let hash = BASE64
        .decode(prepared["preparedTransactionHash"].as_str().unwrap())
        .unwrap();
    let signature = SigningKey::from_bytes(&seed).sign(&hash);
    let fingerprint = party.split_once("::").unwrap().1;
    let done = client
        .execute_and_wait(&json!({
            "preparedTransaction": prepared["preparedTransaction"],
            "partySignatures": {"signatures": [{"party": party, "signatures": [{
                "format": "SIGNATURE_FORMAT_CONCAT",
                "signature": BASE64.encode(signature.to_bytes()),
                "signedBy": fingerprint,
                "signingAlgorithmSpec": "SIGNING_ALGORITHM_SPEC_ED25519",
            }]}]},
            "deduplicationPeriod": {"Empty": {}},
            "submissionId": "withdrawal-by-hand", "userId": "exchange",
            "hashingSchemeVersion": "HASHING_SCHEME_VERSION_V2",
        }))
        .await
        .ok();
    assert!(done["updateId"].is_string(), "{done}");
    assert_ne!(holdings().await, before);
}

#[tokio::test]
async fn the_multi_sync_story_is_the_same_with_a_key() {
    let local = start(Scenario::MultiSync, None).await;
    let external = start(Scenario::MultiSync, Some(key(7))).await;
    let (ours, theirs) = (story(&local).await, story(&external).await);
    // The four rounds' SBX deposits the treasury accepted, signed.
    let accepted = theirs.iter().filter(|t| t.contains("\"accepted\"")).count();
    assert!(accepted >= 4, "{theirs:#?}");
    assert_eq!(ours, theirs);
}

/// The load story with a signing treasury: the same transfers commit (one more update: the
/// preapproval proposal the validator accepts), and the treasury ends with the same funds.
#[tokio::test]
async fn the_load_scenario_runs_with_a_key() {
    let scenario = Scenario::Load { transactions: 300 };
    let local = start(scenario, None).await;
    let external = start(scenario, Some(key(7))).await;
    assert_eq!(external.ledger_end(), local.ledger_end() + 1);
    let funds = |sandbox: &Sandbox| {
        let party = treasury(sandbox);
        sandbox.with_world(|w| {
            let mut amounts: Vec<_> = w
                .amulet
                .holdings(&w.ledger, &party)
                .into_iter()
                .map(|h| h.amount)
                .collect();
            amounts.sort();
            amounts
        })
    };
    let theirs = funds(&external);
    assert!(theirs.len() > 50, "{theirs:?}");
    assert_eq!(funds(&local), theirs);
}
