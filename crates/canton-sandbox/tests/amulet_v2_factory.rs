//! Canton Coin's transfer factory through V2's interface (CIP-0112), as Splice 0.6.11+ runs it:
//! `transferFactoryV2_transferDefaultImplUsingV1` calls V1's body as a function, so a V2
//! `TransferFactory_Transfer` has the recorded V1 tree (`fixtures/splice-cli-0.6.11/txs.json`)
//! under a V2 root: V2's interface and argument (accounts, `actors`, no `expectedAdmin`), the
//! same result, and the receiver a choice observer (Amulet is a public asset), so it witnesses
//! the whole transfer. The registry advertises V2 and serves V2's factory with V1's answer.
//! With the receiver among the actors the factory completes the transfer at once (its
//! self-transfer branch). What a real node refuses is refused. A dual (V1 and V2) SBX is
//! transferred through V2's interface too.

mod common;

use canton_sandbox::token::SpliceRelease;
use canton_sandbox::{Sandbox, SandboxConfig};
use common::*;
use serde_json::{Value, json};

const RECORDING: &str = "fixtures/splice-cli-0.6.11/txs.json";
const FACTORY_V2: &str = "#splice-api-token-transfer-instruction-v2:Splice.Api.Token.TransferInstructionV2:TransferFactory";
const INSTRUCTION_V2: &str = "#splice-api-token-transfer-instruction-v2:Splice.Api.Token.TransferInstructionV2:TransferInstruction";
const V1_TRANSFERS: &str = "splice-api-token-transfer-instruction-v1";
const V2_TRANSFERS: &str = "splice-api-token-transfer-instruction-v2";

fn event(e: &Value) -> &Value {
    e.as_object().and_then(|o| o.values().next()).unwrap()
}

fn account(party: &Value) -> Value {
    json!({"owner": party, "provider": null, "id": ""})
}

/// A recorded V1 factory transfer as V2's interface would have committed it: the root's
/// interface and argument change (the Daml's `downcast` read backwards), nothing below it.
fn as_v2(recorded_tx: &Value) -> Value {
    let mut tx = recorded_tx.clone();
    let root = tx["events"][0]["ExercisedEvent"].as_object_mut().unwrap();
    root.insert("interfaceId".into(), json!(FACTORY_V2));
    let argument = root["choiceArgument"].as_object_mut().unwrap();
    argument.remove("expectedAdmin");
    let sender = argument["transfer"]["sender"].clone();
    let receiver = argument["transfer"]["receiver"].clone();
    argument["transfer"]["sender"] = account(&sender);
    argument["transfer"]["receiver"] = account(&receiver);
    argument.insert("actors".into(), json!([sender]));
    tx
}

/// A Canton Coin world: alice funded by the faucet, bob without a preapproval, a validator
/// with one (named to sort before alice, as the recording's accounts do).
struct World {
    sandbox: Sandbox,
    client: Client,
    alice: String,
    bob: String,
    validator: String,
    dso: String,
    registry: String,
}

async fn world(config: SandboxConfig) -> World {
    let sandbox = Sandbox::start(config).await.expect("sandbox starts");
    let client = Client::new(&sandbox);
    let alice = client.party("alice").await;
    let bob = client.party("bob").await;
    let validator = client.party("aValidator").await;
    client.preapproval(&validator).await;
    let amulet = advertised(&sandbox, "Amulet");
    World {
        sandbox,
        client,
        alice,
        bob,
        validator,
        dso: amulet.admin,
        registry: amulet.registry_url,
    }
}

impl World {
    /// V2's `TransferFactory_Transfer` argument (context filled in later).
    fn v2_argument(&self, receiver: &str, amount: &str, inputs: &[String]) -> Value {
        json!({
            "transfer": {
                "sender": account(&json!(self.alice)), "receiver": account(&json!(receiver)),
                "amount": amount, "instrumentId": {"admin": self.dso, "id": "Amulet"},
                "requestedAt": "2025-09-26T09:00:00Z", "executeBefore": "2099-01-01T00:00:00Z",
                "inputHoldingCids": inputs, "meta": {"values": {}},
            },
            "actors": [self.alice],
            "extraArgs": {"context": {"values": {}}, "meta": {"values": {}}},
        })
    }

    async fn factory(&self, version: &str, argument: &Value) -> (u16, Value) {
        post_abs(
            &format!(
                "{}/registry/transfer-instruction/{version}/transfer-factory",
                self.registry
            ),
            &json!({"choiceArguments": argument}),
        )
        .await
    }

    /// Asks the V2 registry API for the factory, checks it answers as V1's does, and submits
    /// V2's exercise as `act_as` with `actors`.
    async fn submit_v2(&self, id: &str, mut argument: Value, act_as: &[&str]) -> Answer {
        let (status, factory) = self.factory("v2", &argument).await;
        assert_eq!(status, 200, "{factory}");
        let mut v1_argument = argument.clone();
        let v1 = v1_argument.as_object_mut().unwrap();
        v1.remove("actors");
        v1.insert("expectedAdmin".into(), json!(self.dso));
        for side in ["sender", "receiver"] {
            let owner = v1["transfer"][side]["owner"].clone();
            v1["transfer"][side] = owner;
        }
        let (status, v1_factory) = self.factory("v1", &v1_argument).await;
        assert_eq!(status, 200, "{v1_factory}");
        assert_eq!(factory, v1_factory, "V2's factory answer is V1's");
        argument["extraArgs"]["context"] = factory["choiceContext"]["choiceContextData"].clone();
        self.client
            .submit_and_wait(&json!({
                "commands": [{"ExerciseCommand": {
                    "templateId": FACTORY_V2, "contractId": factory["factoryId"],
                    "choice": "TransferFactory_Transfer", "choiceArgument": argument,
                }}],
                "commandId": id, "actAs": act_as,
                "disclosedContracts": factory["choiceContext"]["disclosedContracts"],
            }))
            .await
    }

    async fn supported_apis(&self) -> Value {
        let (_, instruments) = get_abs(&format!(
            "{}/registry/metadata/v1/instruments/Amulet",
            self.registry
        ))
        .await;
        instruments["supportedApis"].clone()
    }
}

impl World {
    /// The amounts of bob's Canton Coin holdings, as the ledger has them.
    fn bob_amulet_amounts(&self) -> Vec<String> {
        self.sandbox.with_world(|world| {
            world
                .amulet
                .holdings(&world.ledger, &self.bob)
                .iter()
                .map(|h| h.amount.to_string())
                .collect()
        })
    }

    /// `choice` (`accept` …) on an Amulet instruction through V2's interface and registry API.
    async fn act_v2(&self, instruction: &Value, choice: &str, actor: &str) -> Answer {
        let cid = instruction.as_str().unwrap();
        let (status, context) = post_abs(
            &format!(
                "{}/registry/transfer-instruction/v2/{cid}/choice-contexts/{choice}",
                self.registry
            ),
            &json!({}),
        )
        .await;
        assert_eq!(status, 200, "{context}");
        let name = format!(
            "TransferInstruction_{}{}",
            &choice[..1].to_uppercase(),
            &choice[1..]
        );
        self.client
            .submit_and_wait(&json!({
                "commands": [{"ExerciseCommand": {
                    "templateId": INSTRUCTION_V2, "contractId": cid, "choice": name,
                    "choiceArgument": {
                        "actors": [actor],
                        "extraArgs": {"context": context["choiceContextData"], "meta": {"values": {}}},
                    },
                }}],
                "commandId": format!("{choice}-v2"), "actAs": [actor],
                "disclosedContracts": context["disclosedContracts"],
            }))
            .await
    }
}

/// A recorded V1 instruction choice as V2's interface would have committed it: a non-consuming
/// V2 choice on the same contract, by the same actors, with the same result, whose one child is
/// the recorded V1 exercise (every node id one further).
fn under_v2_instruction_choice(recorded_tx: &Value) -> Value {
    let mut tx = recorded_tx.clone();
    let events = tx["events"].as_array_mut().unwrap();
    for e in events.iter_mut() {
        let v = e.as_object_mut().unwrap().values_mut().next().unwrap();
        v["nodeId"] = json!(v["nodeId"].as_i64().unwrap() + 1);
        if let Some(last) = v["lastDescendantNodeId"].as_i64() {
            v["lastDescendantNodeId"] = json!(last + 1);
        }
    }
    let mut root = events[0].clone();
    let v = root["ExercisedEvent"].as_object_mut().unwrap();
    v.insert("nodeId".into(), json!(0));
    v.insert("interfaceId".into(), json!(INSTRUCTION_V2));
    v.insert("consuming".into(), json!(false));
    // Listed for consuming exercises only.
    v.insert("implementedInterfaces".into(), json!([]));
    let extra_args = v["choiceArgument"]["extraArgs"].clone();
    let actors = v["actingParties"].clone();
    v.insert(
        "choiceArgument".into(),
        json!({"actors": actors, "extraArgs": extra_args}),
    );
    events.insert(0, root);
    tx
}

async fn get_abs(url: &str) -> (u16, Value) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn offset_of(answer: Answer) -> i64 {
    answer.ok()["completionOffset"].as_i64().unwrap()
}

/// The root of `tx` as `party` sees it: node 0 must be the factory's exercise.
fn root(tx: &Value) -> &Value {
    let root = event(&tx["events"][0]);
    assert_eq!(root["nodeId"], 0, "{tx:#}");
    assert_eq!(root["choice"], "TransferFactory_Transfer", "{tx:#}");
    root
}

#[tokio::test]
async fn v2_transfers_of_amulet_have_the_recorded_trees_under_v2_s_root() {
    let Some(all) = read_shared_json(RECORDING) else {
        return;
    };
    let recorded = |i: usize| all[i]["update"]["Transaction"]["value"].clone();
    let w = world(SandboxConfig::default()).await;
    let apis = w.supported_apis().await;
    assert!(
        apis[V1_TRANSFERS].is_number() && apis[V2_TRANSFERS].is_number(),
        "{apis}"
    );

    // tx 5: direct through the validator's preapproval, one input, with change.
    let input = w.client.mint(&w.alice, "6000").await;
    let direct = w.v2_argument(&w.validator, "100", std::slice::from_ref(&input));
    let offset = offset_of(w.submit_v2("direct", direct, &[&w.alice]).await);
    let ours = tx_at(&w.client, &w.alice, offset).await;
    assert_faithful("V2 1-step", &as_v2(&recorded(5)), &ours);
    let r = root(&ours);
    assert_eq!(r["actingParties"], json!([w.alice]));
    let meta = &r["exerciseResult"]["meta"]["values"];
    assert_eq!(meta["splice.lfdecentralizedtrust.org/tx-kind"], "transfer");
    assert_eq!(
        meta["splice.lfdecentralizedtrust.org/sender"],
        json!(w.alice)
    );
    let events: Vec<&Value> = ours["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(event)
        .collect();
    let archived = events
        .iter()
        .filter(|e| e["choice"] == "Archive" && e["contractId"] == json!(input))
        .count();
    assert_eq!(archived, 1, "the input is consumed once");
    let created: Vec<(&Value, &Value)> = events
        .iter()
        .filter(|e| {
            e["templateId"]
                .as_str()
                .is_some_and(|t| t.ends_with(":Amulet"))
        })
        .filter(|e| e["createArgument"].is_object())
        .map(|e| {
            (
                &e["createArgument"]["owner"],
                &e["createArgument"]["amount"]["initialAmount"],
            )
        })
        .collect();
    assert_eq!(
        created,
        [
            (&json!(w.validator), &json!("100.0000000000")),
            (&json!(w.alice), &json!("5900.0000000000")),
        ]
    );
    let logged = events
        .iter()
        .filter(|e| e["choice"] == "EventLog_HoldingsChange")
        .count();
    assert_eq!(logged, 2, "one V2 event per account");
    // The receiver is a choice observer of V2's root: it witnesses the whole transfer.
    let theirs = tx_at(&w.client, &w.validator, offset).await;
    assert_eq!(
        root(&theirs)["lastDescendantNodeId"],
        r["lastDescendantNodeId"]
    );

    // tx 8: an offer to bob (no preapproval), two inputs, with change; bob then accepts.
    let inputs = [
        w.client.mint(&w.alice, "700").await,
        w.client.mint(&w.alice, "600").await,
    ];
    let offer = w.v2_argument(&w.bob, "1000", &inputs);
    let offset = offset_of(w.submit_v2("offer", offer, &[&w.alice]).await);
    let ours = tx_at(&w.client, &w.alice, offset).await;
    assert_faithful("V2 offer", &as_v2(&recorded(8)), &ours);
    let result = &root(&ours)["exerciseResult"];
    assert_eq!(result["output"]["tag"], "TransferInstructionResult_Pending");
    let bobs = tx_at(&w.client, &w.bob, offset).await;
    root(&bobs);

    // tx 13: bob accepts through V2's interface: V1's accept under V2's choice.
    let instruction = result["output"]["value"]["transferInstructionCid"].clone();
    let accepted = w.act_v2(&instruction, "accept", &w.bob).await;
    let ours = tx_at(&w.client, &w.alice, offset_of(accepted)).await;
    assert_faithful(
        "V2 accept",
        &under_v2_instruction_choice(&recorded(13)),
        &ours,
    );
    assert_eq!(w.bob_amulet_amounts(), ["1000.0000000000"]);
}

#[tokio::test]
async fn what_a_node_refuses_through_v2_is_refused() {
    let w = world(SandboxConfig::default()).await;
    let input = w.client.mint(&w.alice, "50").await;
    let mut not_sender = w.v2_argument(&w.bob, "5", std::slice::from_ref(&input));
    not_sender["actors"] = json!([w.bob]);
    let mut a_stranger = not_sender.clone();
    a_stranger["actors"] = json!([w.alice, w.validator]);
    // Account information in the meta instead of the accounts (`ensureNoAccountMeta`).
    let mut account_meta = w.v2_argument(&w.bob, "5", std::slice::from_ref(&input));
    account_meta["transfer"]["meta"]["values"]["cip-112/receiver.id"] = json!("savings");
    for (id, argument, why) in [
        ("not-sender", not_sender, "do not include the sender"),
        ("stranger", a_stranger, "checkActors"),
        (
            "account-meta",
            account_meta,
            "Unexpected account information",
        ),
    ] {
        let answer = w
            .submit_v2(id, argument, &[&w.alice, &w.bob, &w.validator])
            .await;
        assert_eq!(
            answer.json()["code"],
            "DAML_INTERPRETATION_ERROR",
            "{id}: {}",
            answer.text
        );
        assert!(answer.text.contains(why), "{id}: {}", answer.text);
    }
    // Nothing was spent.
    let ok = w
        .submit_v2(
            "sender",
            w.v2_argument(&w.bob, "5", std::slice::from_ref(&input)),
            &[&w.alice],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);

    // Before 0.6.11 the factory implements no V2 interface, and Scan serves no V2 API.
    let mut legacy = SandboxConfig::default();
    legacy.amulet.release = SpliceRelease::Legacy;
    let old = world(legacy).await;
    let apis = old.supported_apis().await;
    assert!(
        apis[V1_TRANSFERS].is_number() && apis[V2_TRANSFERS].is_null(),
        "{apis}"
    );
    let argument = old.v2_argument(
        &old.validator,
        "5",
        &[old.client.mint(&old.alice, "50").await],
    );
    let (status, _) = old.factory("v2", &argument).await;
    assert_eq!(status, 404);
    let (_, v1) = old.factory("v1", &json!({
        "expectedAdmin": old.dso,
        "transfer": {"sender": old.alice, "receiver": old.validator, "amount": "5",
            "instrumentId": argument["transfer"]["instrumentId"],
            "requestedAt": "2025-09-26T09:00:00Z", "executeBefore": "2099-01-01T00:00:00Z",
            "inputHoldingCids": argument["transfer"]["inputHoldingCids"], "meta": {"values": {}}},
        "extraArgs": argument["extraArgs"],
    }))
    .await;
    let answer = old
        .client
        .submit_and_wait(&json!({
            "commands": [{"ExerciseCommand": {
                "templateId": FACTORY_V2, "contractId": v1["factoryId"],
                "choice": "TransferFactory_Transfer", "choiceArgument": argument,
            }}],
            "commandId": "legacy-v2", "actAs": [old.alice],
            "disclosedContracts": v1["choiceContext"]["disclosedContracts"],
        }))
        .await;
    assert_eq!(
        answer.json()["code"],
        "DAML_INTERPRETATION_ERROR",
        "{}",
        answer.text
    );
}

#[tokio::test]
async fn with_the_receiver_among_the_actors_the_transfer_completes_at_once() {
    let w = world(SandboxConfig::default()).await;
    let input = w.client.mint(&w.alice, "50").await;
    // bob has no preapproval: with V1's actors this would be an offer.
    let mut argument = w.v2_argument(&w.bob, "5", std::slice::from_ref(&input));
    argument["actors"] = json!([w.alice, w.bob]);
    let offset = offset_of(w.submit_v2("both", argument, &[&w.alice, &w.bob]).await);
    let tx = tx_at(&w.client, &w.bob, offset).await;
    let r = root(&tx);
    let mut both = vec![w.alice.clone(), w.bob.clone()];
    both.sort();
    assert_eq!(r["actingParties"], json!(both));
    assert_eq!(
        r["exerciseResult"]["output"]["tag"],
        "TransferInstructionResult_Completed"
    );
    let meta = &r["exerciseResult"]["meta"]["values"];
    assert_eq!(meta["splice.lfdecentralizedtrust.org/tx-kind"], "transfer");
    // The factory's own transfer: no preapproval, no lock, no instruction.
    let what: Vec<String> = tx["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(event)
        .map(|e| match e["choice"].as_str() {
            Some(choice) => choice.to_owned(),
            None => qualified_name(e["templateId"].as_str().unwrap()),
        })
        .collect();
    assert_eq!(
        what,
        [
            "TransferFactory_Transfer",
            "Archive",
            "Splice.Amulet:Amulet",
            "Splice.Amulet:Amulet",
            "EventLog_HoldingsChange",
            "EventLog_HoldingsChange",
        ],
        "{tx:#}"
    );
    assert_eq!(w.bob_amulet_amounts(), ["5.0000000000"]);
}

#[tokio::test]
async fn the_v1_transfer_api_can_be_left_unadvertised_for_clients_to_take_v2() {
    let mut config = SandboxConfig::default();
    config.amulet.advertise_v1_transfers = false;
    let w = world(config).await;
    let apis = w.supported_apis().await;
    assert!(
        apis[V1_TRANSFERS].is_null() && apis[V2_TRANSFERS].is_number(),
        "{apis}"
    );
}

#[tokio::test]
async fn a_dual_sbx_is_transferred_through_v2_s_interface_too() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = Client::new(&sandbox);
    let treasury = client.party("treasury").await;
    let alice = client.party("alice").await;
    client.sbx_mint(&treasury, "50").await;
    let sbx = advertised(&sandbox, "SBX");
    let (_, instrument) = get_abs(&format!(
        "{}/registry/metadata/v1/instruments/SBX",
        sbx.registry_url
    ))
    .await;
    let apis = &instrument["supportedApis"];
    assert!(
        apis[V1_TRANSFERS].is_number() && apis[V2_TRANSFERS].is_number(),
        "{apis}"
    );
    let mut argument = json!({
        "transfer": {
            "sender": account(&json!(treasury)), "receiver": account(&json!(alice)),
            "amount": "5", "instrumentId": {"admin": sbx.admin, "id": "SBX"},
            "requestedAt": "2025-09-26T09:00:00Z", "executeBefore": "2099-01-01T00:00:00Z",
            "inputHoldingCids": [], "meta": {"values": {}},
        },
        "actors": [treasury],
        "extraArgs": {"context": {"values": {}}, "meta": {"values": {}}},
    });
    let (status, factory) = post_abs(
        &format!(
            "{}/registry/transfer-instruction/v2/transfer-factory",
            sbx.registry_url
        ),
        &json!({"choiceArguments": argument}),
    )
    .await;
    assert_eq!(status, 200, "{factory}");
    assert_eq!(factory["transferKind"], "offer");
    argument["extraArgs"]["context"] = factory["choiceContext"]["choiceContextData"].clone();
    let done = client
        .submit_and_wait(&json!({
            "commands": [{"ExerciseCommand": {
                "templateId": FACTORY_V2, "contractId": factory["factoryId"],
                "choice": "TransferFactory_Transfer", "choiceArgument": argument,
            }}],
            "commandId": "dual-v2", "actAs": [treasury],
            "disclosedContracts": factory["choiceContext"]["disclosedContracts"],
        }))
        .await
        .ok();
    let tx = tx_at(
        &client,
        &treasury,
        done["completionOffset"].as_i64().unwrap(),
    )
    .await;
    let r = root(&tx);
    assert_eq!(
        r["interfaceId"].as_str().map(qualified_name).as_deref(),
        Some("Splice.Api.Token.TransferInstructionV2:TransferFactory")
    );
    assert_eq!(r["choiceArgument"]["actors"], json!([treasury]));
    // A dual SBX keeps its V1 signals: the new instruction has V1's view beside V2's.
    let instruction = tx["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(event)
        .find(|e| {
            e["templateId"]
                .as_str()
                .is_some_and(|t| t.ends_with("TransferInstruction"))
        })
        .unwrap_or_else(|| panic!("no instruction: {tx:#}"));
    let views: Vec<String> = instruction["interfaceViews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| qualified_name(v["interfaceId"].as_str().unwrap()))
        .collect();
    assert!(
        views.contains(&"Splice.Api.Token.TransferInstructionV1:TransferInstruction".to_owned()),
        "{views:?}"
    );
}
