//! The counterfeit Canton Coin: a `forger`'s own package whose holdings' views claim `{DSO,
//! Amulet}`. Its 1-step transfer reaches the receiver as a completed deposit of Canton Coin in
//! the exchange's parser (what makes it dangerous), while the created events show what cannot
//! be forged: the forger, not the DSO, signs the holding, and its package is `counterfeit-coin`.
//! Also: every created event the sandbox writes carries `packageName` and `signatories`, as a
//! real 3.4 node's do.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use canton_ledger::{JsGetUpdatesResponse, Update};
use canton_sandbox::token::counterfeit::PACKAGE_ID;
use canton_sandbox::{Sandbox, SandboxConfig, Scenario};
use common::*;
use exchange_core::parser::{Direction, NoLookup, TransferKind, TransferStatus, parse_transaction};
use exchange_core::{Amount, PartyId};
use serde_json::{Value, json};

fn amount(s: &str) -> Amount {
    s.parse().unwrap()
}

fn created_events(tx: &Value) -> Vec<&Value> {
    tx["update"]["Transaction"]["value"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e.get("CreatedEvent"))
        .collect()
}

/// The parser's reading of `tx` as `party`.
fn parse_as(tx: &Value, party: &str) -> exchange_core::parser::ParsedTransaction {
    let response: JsGetUpdatesResponse = serde_json::from_value(tx.clone()).expect("wire shape");
    let Update::Transaction(t) = response.update else {
        panic!("a transaction")
    };
    parse_transaction(&t.value, &PartyId::new(party).unwrap(), &NoLookup).expect("parses")
}

#[tokio::test]
async fn a_counterfeit_transfer_reads_as_a_canton_coin_deposit_but_is_not_signed_by_the_dso() {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let dso = sandbox.info().parties.dso;
    let mallory = client.party("mallory").await;
    let treasury = client.party("treasury").await;

    // Nothing before the counterfeit is deployed.
    let none = client
        .post(
            "/sandbox/control/counterfeit/holdings",
            &json!({"owner": mallory}),
        )
        .await
        .ok();
    assert_eq!(none, json!([]));

    let minted = client
        .post(
            "/sandbox/control/counterfeit/mint",
            &json!({"owner": mallory, "amount": "1000"}),
        )
        .await
        .ok();
    let forger = minted["forger"].as_str().unwrap().to_owned();
    assert!(forger.starts_with("forger::1220"), "{forger}");
    assert_ne!(forger, dso);

    let sent = client
        .post(
            "/sandbox/control/counterfeit/transfer",
            &json!({"sender": mallory, "receiver": treasury, "amount": "250",
                    "memo": "deposit-42"}),
        )
        .await
        .ok();
    assert_eq!(sent["forger"], forger.as_str());
    let received = sent["receiverHoldingCids"][0].as_str().unwrap().to_owned();
    assert_eq!(sent["senderChangeCids"].as_array().unwrap().len(), 1);

    // The receiver sees the transfer: the send (a choice observer) and everything under it.
    let tx = client
        .transaction(
            &sent["updateId"],
            &treasury,
            "TRANSACTION_SHAPE_LEDGER_EFFECTS",
        )
        .await;
    let events = tx["update"]["Transaction"]["value"]["events"]
        .as_array()
        .unwrap();
    let send = events[0]["ExercisedEvent"].clone();
    assert_eq!(send["choice"], "CoinTransferFactory_Send");
    assert_eq!(
        send["templateId"],
        format!("{PACKAGE_ID}:Counterfeit.Coin:CoinTransferFactory")
    );
    assert_eq!(send["packageName"], "counterfeit-coin");
    assert_eq!(
        send["exerciseResult"]["output"]["tag"],
        "TransferInstructionResult_Completed"
    );
    assert_eq!(
        send["exerciseResult"]["meta"]["values"]["splice.lfdecentralizedtrust.org/tx-kind"],
        "transfer"
    );

    let created = created_events(&tx);
    let coin = created
        .iter()
        .find(|c| c["contractId"] == received.as_str())
        .expect("the receiver's coin");
    assert_eq!(
        coin["templateId"],
        format!("{PACKAGE_ID}:Counterfeit.Coin:Coin")
    );
    assert_eq!(coin["packageName"], "counterfeit-coin");
    assert_eq!(coin["representativePackageId"], PACKAGE_ID);
    // What cannot be forged: the DSO does not sign it.
    assert_eq!(coin["signatories"], json!([forger]));
    assert_eq!(coin["observers"], json!([treasury]));
    assert!(
        !coin["signatories"]
            .as_array()
            .unwrap()
            .contains(&json!(dso))
    );
    // What can: the view claims the DSO's Amulet.
    let view = &coin["interfaceViews"][0];
    assert!(
        view["interfaceId"]
            .as_str()
            .unwrap()
            .ends_with(":Splice.Api.Token.HoldingV1:Holding")
    );
    assert_eq!(
        view["viewValue"]["instrumentId"],
        json!({"admin": dso, "id": "Amulet"})
    );
    assert_eq!(view["viewValue"]["owner"], treasury.as_str());
    assert_eq!(view["viewValue"]["amount"], "250.0000000000");

    // The parser takes it for an incoming, completed Canton Coin deposit with the memo.
    let parsed = parse_as(&tx, &treasury);
    assert_eq!(parsed.transfers.len(), 1, "{:?}", parsed.transfers);
    let deposit = &parsed.transfers[0];
    assert_eq!(deposit.kind, TransferKind::Transfer);
    assert_eq!(deposit.direction, Direction::In);
    assert_eq!(deposit.status, TransferStatus::Completed);
    let instrument = deposit.instrument.as_ref().expect("an instrument");
    assert_eq!(instrument.admin.as_str(), dso);
    assert_eq!(instrument.id.as_str(), "Amulet");
    assert_eq!(deposit.amount, Some(amount("250")));
    assert_eq!(deposit.reason.as_deref(), Some("deposit-42"));
    assert_eq!(
        deposit.sender.as_ref().map(|p| p.as_str()),
        Some(mallory.as_str())
    );
    assert!(parsed.unexplained.is_empty(), "{:?}", parsed.unexplained);

    // The sender's side: the token-standard factory choice, with the claimed instrument.
    let own = client
        .transaction(
            &sent["updateId"],
            &mallory,
            "TRANSACTION_SHAPE_LEDGER_EFFECTS",
        )
        .await;
    let root = &own["update"]["Transaction"]["value"]["events"][0]["ExercisedEvent"];
    assert_eq!(root["choice"], "TransferFactory_Transfer");
    assert!(
        root["interfaceId"]
            .as_str()
            .unwrap()
            .ends_with(":Splice.Api.Token.TransferInstructionV1:TransferFactory")
    );
    assert_eq!(root["choiceArgument"]["expectedAdmin"], dso.as_str());
    assert_eq!(root["exerciseResult"]["meta"], json!({"values": {}}));
    let out = parse_as(&own, &mallory);
    assert_eq!(out.transfers.len(), 1, "{:?}", out.transfers);
    assert_eq!(out.transfers[0].direction, Direction::Out);
    assert_eq!(out.transfers[0].choice, "TransferFactory_Transfer");

    // Balances: the coins moved; the real Canton Coin did not.
    let coins = |owner: String| {
        let client = &client;
        async move {
            client
                .post(
                    "/sandbox/control/counterfeit/holdings",
                    &json!({"owner": owner}),
                )
                .await
                .ok()
        }
    };
    assert_eq!(coins(treasury.clone()).await[0]["amount"], "250.0000000000");
    assert_eq!(coins(mallory.clone()).await[0]["amount"], "750.0000000000");
    let real = client
        .post("/sandbox/control/holdings", &json!({"owner": treasury}))
        .await
        .ok();
    assert_eq!(real, json!([]));

    // The forger's package is on the node, as a vetted package must be.
    let packages = client.get("/v2/packages").await.ok();
    assert!(
        packages["packageIds"]
            .as_array()
            .unwrap()
            .contains(&json!(PACKAGE_ID))
    );
}

#[tokio::test]
async fn counterfeit_transfers_are_refused_like_real_ones_when_they_cannot_happen() {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let mallory = client.party("mallory").await;
    let treasury = client.party("treasury").await;
    client
        .post(
            "/sandbox/control/counterfeit/mint",
            &json!({"owner": mallory, "amount": "10"}),
        )
        .await
        .ok();
    let end = client.ledger_end().await;
    let too_much = client
        .post(
            "/sandbox/control/counterfeit/transfer",
            &json!({"sender": mallory, "receiver": treasury, "amount": "11"}),
        )
        .await;
    assert_eq!(too_much.status, 400, "{}", too_much.text);
    assert!(
        too_much.text.contains("ITR_InsufficientFunds"),
        "{}",
        too_much.text
    );
    let unknown = client
        .post(
            "/sandbox/control/counterfeit/transfer",
            &json!({"sender": mallory, "receiver": "nobody::1220ab", "amount": "1"}),
        )
        .await;
    assert_ne!(unknown.status, 200, "{}", unknown.text);
    // Nothing was committed, and the coins are where they were.
    assert_eq!(client.ledger_end().await, end);
    let left = client
        .post(
            "/sandbox/control/counterfeit/holdings",
            &json!({"owner": mallory}),
        )
        .await
        .ok();
    assert_eq!(left[0]["amount"], "10.0000000000");
}

/// Every created event of the basic scenario, as each of its parties reads it, names its
/// package and signatories; prints which package names and signatories each holding and
/// instruction template has.
#[tokio::test]
async fn every_created_event_names_its_package_and_signatories() {
    let sandbox = Sandbox::start(SandboxConfig {
        scenario: Scenario::Basic,
        ..Default::default()
    })
    .await
    .expect("starts");
    let client = Client::new(&sandbox);
    let info = sandbox.info();
    let mut readers: Vec<String> = info.parties.customers.values().cloned().collect();
    readers.extend(info.parties.treasury.clone());
    readers.push(info.parties.dso.clone());
    readers.push(info.parties.validator.clone());
    readers.extend(info.tokens.iter().map(|t| t.admin.clone()));
    let end = client.ledger_end().await;
    // template (Module:Entity) → (package name, signatories as roles)
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut count = 0;
    for party in &readers {
        let updates = client
            .post(
                "/v2/updates?limit=1000",
                &updates_request(party, "TRANSACTION_SHAPE_LEDGER_EFFECTS", 0, Some(end)),
            )
            .await
            .ok();
        for update in updates.as_array().unwrap() {
            if update["update"]["Transaction"].is_null() {
                continue;
            }
            for c in created_events(update) {
                count += 1;
                let template = c["templateId"].as_str().unwrap();
                let package_id = template.split(':').next().unwrap();
                assert_eq!(c["representativePackageId"], package_id, "{c}");
                let name = c["packageName"].as_str().unwrap_or("");
                assert!(!name.is_empty(), "no packageName: {c}");
                let signatories = c["signatories"].as_array().expect("signatories");
                assert!(!signatories.is_empty(), "no signatories: {c}");
                assert!(c["observers"].is_array(), "{c}");
                let role = |p: &Value| {
                    let p = p.as_str().unwrap();
                    if p == info.parties.dso {
                        "DSO".to_owned()
                    } else if info.tokens.iter().any(|t| t.admin == p) {
                        "token-admin".to_owned()
                    } else if p == info.parties.validator {
                        "validator".to_owned()
                    } else {
                        "owner/party".to_owned()
                    }
                };
                let mut roles: Vec<String> = signatories.iter().map(role).collect();
                roles.sort();
                seen.entry(format!("{name} {}", qualified_name(template)))
                    .or_default()
                    .insert(roles.join("+"));
            }
        }
    }
    assert!(count > 20, "only {count} created events");
    for (template, signers) in &seen {
        println!("{template}: signed by {signers:?}");
    }
    // Holdings are signed by their admin and owner.
    let amulet = &seen["splice-amulet Splice.Amulet:Amulet"];
    assert_eq!(amulet, &BTreeSet::from(["DSO+owner/party".to_owned()]));
    let sbx = &seen["sandbox-token Sandbox.Token:TokenHolding"];
    assert_eq!(sbx, &BTreeSet::from(["owner/party+token-admin".to_owned()]));
}
