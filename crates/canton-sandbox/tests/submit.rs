//! `POST /v2/commands/submit-and-wait` by local parties: the token-standard
//! `TransferFactory_Transfer` (Canton Coin 1-step, SBX offer) and `TransferInstruction_*`
//! choices, and the errors a node answers with.

mod common;

use canton_sandbox::Sandbox;
use common::transfer::Transfer;
use common::*;
use serde_json::{Value, json};

/// An empty sandbox with two local parties: the treasury and alice.
struct Node {
    sandbox: Sandbox,
    client: Client,
    treasury: String,
    alice: String,
}

impl Node {
    async fn start() -> Node {
        let sandbox = start_empty().await;
        let client = Client::new(&sandbox);
        let treasury = client.party("treasury").await;
        let alice = client.party("alice").await;
        Node {
            sandbox,
            client,
            treasury,
            alice,
        }
    }

    /// Alice with a preapproval, the treasury with a holding of 100 Canton Coin; that holding
    /// and the Canton Coin `(factory, admin)`.
    async fn fund_canton_coin(&self) -> (String, (String, String)) {
        self.client.preapproval(&self.alice).await;
        let holding = self.client.mint(&self.treasury, "100").await;
        let factory = registry_factory(&self.sandbox, "Amulet", &self.treasury).await;
        (holding, factory)
    }

    /// `command` submitted as a wallet submits it: with the registry's disclosures.
    async fn submit(&self, command: Value) -> Answer {
        let command = with_registry_disclosures(&self.sandbox, command).await;
        self.client.submit_and_wait(&command).await
    }
}

#[tokio::test]
async fn canton_coin_transfer_commits_the_real_tree_and_a_second_spend_is_refused() {
    let node = Node::start().await;
    let (client, treasury) = (&node.client, &node.treasury);
    let (holding, (factory, dso)) = node.fund_canton_coin().await;
    let withdrawal = Transfer {
        inputs: &[&holding],
        reason: Some("withdrawal-42"),
        ..Transfer::new(&dso, "Amulet", treasury, &node.alice, "20")
    };

    let done = node
        .submit(withdrawal.submission(&factory, "w-1", treasury))
        .await
        .ok();
    assert_eq!(done["completionOffset"], client.ledger_end().await);
    let tx = client
        .transaction(
            &done["updateId"],
            treasury,
            "TRANSACTION_SHAPE_LEDGER_EFFECTS",
        )
        .await;
    let tx = &tx["update"]["Transaction"]["value"];
    assert_eq!(tx["commandId"], "w-1");
    let root = &tx["events"][0]["ExercisedEvent"];
    assert_eq!(root["choice"], "TransferFactory_Transfer");
    let transfer = &root["choiceArgument"]["transfer"];
    // The submitter's times and memo, not the sandbox's.
    assert_eq!(transfer["requestedAt"], "2025-09-26T09:00:00Z");
    assert_eq!(transfer["executeBefore"], "2099-01-01T00:00:00Z");
    assert_eq!(
        transfer["meta"]["values"]["splice.lfdecentralizedtrust.org/reason"],
        "withdrawal-42"
    );

    // The input is consumed: a retry (or a competing withdrawal) cannot spend it again.
    let again = node
        .submit(withdrawal.submission(&factory, "w-2", treasury))
        .await;
    assert_eq!(again.status, 404, "{}", again.text);
    assert_eq!(again.json()["code"], "CONTRACT_NOT_FOUND");
}

#[tokio::test]
async fn expired_unknown_party_and_unauthorized_submissions_get_the_node_errors() {
    let node = Node::start().await;
    let (treasury, alice) = (&node.treasury, &node.alice);
    let (holding, (factory, dso)) = node.fund_canton_coin().await;
    let withdrawal = Transfer {
        inputs: &[&holding],
        reason: Some("withdrawal-42"),
        ..Transfer::new(&dso, "Amulet", treasury, alice, "1")
    };

    let expired = Transfer {
        execute_before: "2020-01-01T00:00:00Z",
        ..withdrawal
    };
    let expired = expired.submission(&factory, "e", treasury);
    let answer = node.submit(expired.clone()).await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(answer.json()["code"], "DAML_INTERPRETATION_ERROR");

    let mut unknown = expired;
    unknown["actAs"] = json!(["nobody::1220abcd"]);
    let answer = node.submit(unknown).await;
    assert_eq!(answer.status, 404, "{}", answer.text);
    assert_eq!(answer.json()["code"], "PARTY_NOT_KNOWN_ON_LEDGER");

    // Alice cannot move the treasury's holding.
    let answer = node
        .submit(withdrawal.submission(&factory, "t", alice))
        .await;
    assert_eq!(answer.json()["code"], "DAML_INTERPRETATION_ERROR");

    let answer = node
        .submit(withdrawal.submission("00deadbeef", "m", treasury))
        .await;
    assert_eq!(answer.json()["code"], "CONTRACT_NOT_FOUND");
}

#[tokio::test]
async fn sbx_offer_then_accept_by_the_receiver() {
    let node = Node::start().await;
    let (client, treasury, alice) = (&node.client, &node.treasury, &node.alice);
    client.sbx_mint(treasury, "50").await;
    let (factory, admin) = registry_factory(&node.sandbox, "SBX", treasury).await;
    let offer = Transfer {
        reason: Some("withdrawal-42"),
        ..Transfer::new(&admin, "SBX", treasury, alice, "5")
    };
    node.submit(offer.submission(&factory, "o-1", treasury))
        .await
        .ok();
    let pending = client
        .post("/sandbox/control/offers/pending", &json!({"party": alice}))
        .await
        .ok();
    let cid = pending[0]["transferInstructionCid"]
        .as_str()
        .unwrap()
        .to_owned();
    let accept = |act_as: &str, id: &str| {
        json!({
            "commands": [{"ExerciseCommand": {
                "templateId": INSTRUCTION, "contractId": cid,
                "choice": "TransferInstruction_Accept",
                "choiceArgument": {"extraArgs": {"context": {"values": {}}, "meta": {"values": {}}}},
            }}],
            "commandId": id, "actAs": [act_as],
        })
    };
    // Only the receiver may accept.
    let answer = node.submit(accept(treasury, "a-0")).await;
    assert_eq!(answer.json()["code"], "DAML_INTERPRETATION_ERROR");
    node.submit(accept(alice, "a-1")).await.ok();
    let answer = node.submit(accept(alice, "a-2")).await;
    assert_eq!(answer.json()["code"], "CONTRACT_NOT_FOUND");
}
