//! `treasury_setup` end to end against the sandbox, on SQLite and PostgreSQL: the treasury
//! becomes an external party of its key file over the Ledger API (topology decoded, checked,
//! re-hashed, then signed) and gets its Canton Coin `TransferPreapproval` (proposal prepared,
//! verified, signed, executed; the validator accepts). Then a customer's 1-step deposit reaches
//! it, running setup again changes nothing and says "found", and the same key pays a withdrawal
//! through the Withdrawal Automation.

mod common;
#[path = "../../exchange-store/tests/harness/mod.rs"]
mod harness;

use canton_ledger::client::LedgerClient;
use common::exchange::*;
use common::*;
use exchange_core::signing::Signer;
use exchange_services::signer::FileSigner;
use exchange_services::treasury_setup::{SetupError, Step};
use harness::TestDb;
use serde_json::json;

conformance!(a_set_up_treasury_receives_a_deposit_and_pays_a_withdrawal);

/// The sandbox's view: is `party` hosted as an external party, and its preapproval.
fn external_with_preapproval(x: &Exchange, party: &str) -> (bool, Option<String>) {
    x.sandbox.with_world(|w| {
        let external = w.external.key_of(party).is_some();
        (external, w.amulet.preapproval_of(&w.ledger, party))
    })
}

async fn a_set_up_treasury_receives_a_deposit_and_pays_a_withdrawal(db: &TestDb) {
    let (x, setup) = Exchange::start_via_setup(db, 1).await;
    let treasury = setup.treasury.to_string();
    assert_eq!(treasury, x.treasury);
    assert_eq!(
        treasury,
        format!("treasury::{}", x.signer.public_key().fingerprint()),
        "the party is the key's"
    );
    assert!(
        matches!(setup.steps.as_slice(), [Step::AllocatedParty(p), Step::CreatedPreapproval(c)]
            if p.as_str() == treasury && *c == setup.preapproval),
        "{:?}",
        setup.steps
    );
    assert_eq!(
        external_with_preapproval(&x, &treasury),
        (true, Some(setup.preapproval.to_string()))
    );

    // A customer's 1-step deposit, through the sandbox's control API, reaches the treasury.
    let control = format!("{}/sandbox/control/transfer", x.sandbox.ledger_api_url());
    let answer = reqwest::Client::new()
        .post(control)
        .json(&json!({"sender": x.customers[0], "receiver": treasury,
                      "amount": "100.0000000000", "memo": account_of(0).to_string()}))
        .send()
        .await
        .unwrap();
    assert!(
        answer.status().is_success(),
        "{}",
        answer.text().await.unwrap()
    );
    x.ingest().await;
    assert_eq!(x.held(&treasury), amount("100"));
    assert_eq!(x.balance(0, &x.amulet).await, amount("100"));

    // Again: everything is found, nothing is submitted.
    let client = LedgerClient::new(&x.sandbox.ledger_api_url(), None);
    let end = client.ledger_end().await.unwrap();
    let again = run_setup(&x.sandbox, x.signer.as_ref()).await.unwrap();
    assert_eq!(
        again.steps,
        [
            Step::FoundParty(setup.treasury.clone()),
            Step::FoundPreapproval(setup.preapproval.clone())
        ]
    );
    assert_eq!(
        again.steps[0].to_string(),
        format!("found treasury {treasury} already allocated")
    );
    assert_eq!(client.ledger_end().await.unwrap(), end);
    assert_eq!(
        external_with_preapproval(&x, &treasury),
        (true, Some(setup.preapproval.to_string()))
    );

    // The same key pays a withdrawal through the automation.
    pay_a_withdrawal(&x, "w-1", "40").await;
    assert_eq!(x.balance(0, &x.amulet).await, amount("60"));
}

/// Another key for a hint the node already has: refused, naming both parties; nothing changes.
#[tokio::test]
async fn another_key_for_an_existing_treasury_hint_is_refused() {
    let sandbox = canton_sandbox::Sandbox::start(Default::default())
        .await
        .unwrap();
    let keys = tempfile::tempdir().unwrap();
    let first = FileSigner::generate(&keys.path().join("a.key")).unwrap();
    let second = FileSigner::generate(&keys.path().join("b.key")).unwrap();
    let setup = run_setup(&sandbox, &first).await.unwrap();
    let client = LedgerClient::new(&sandbox.ledger_api_url(), None);
    let end = client.ledger_end().await.unwrap();
    let refused = run_setup(&sandbox, &second).await.unwrap_err();
    let text = refused.to_string();
    assert!(matches!(refused, SetupError::Invalid(_)), "{refused:?}");
    let theirs = format!("treasury::{}", second.public_key().fingerprint());
    assert!(
        text.contains(setup.treasury.as_str()) && text.contains(&theirs),
        "{text}"
    );
    assert_eq!(client.ledger_end().await.unwrap(), end);
    let parties = client.list_parties().await.unwrap();
    assert!(!parties.iter().any(|p| p.party == theirs));
}

/// Without a provider the party is still set up; the preapproval step asks for `--provider`
/// and nothing is submitted for it.
#[tokio::test]
async fn without_a_provider_the_preapproval_step_says_what_is_missing() {
    let sandbox = canton_sandbox::Sandbox::start(Default::default())
        .await
        .unwrap();
    let keys = tempfile::tempdir().unwrap();
    let signer = FileSigner::generate(&keys.path().join("a.key")).unwrap();
    let client = LedgerClient::new(&sandbox.ledger_api_url(), None);
    let mut config = exchange_services::treasury_setup::SetupConfig::new("treasury", "exchange");
    config.dso = Some(exchange_core::PartyId::new("dso::1220ab").unwrap());
    let mut seen = Vec::new();
    let refused =
        exchange_services::treasury_setup::setup_treasury(&client, &signer, &config, |s| {
            seen.push(s.clone())
        })
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("--provider PARTY is required"),
        "{refused}"
    );
    assert!(
        matches!(seen.as_slice(), [Step::AllocatedParty(_)]),
        "{seen:?}"
    );
}
