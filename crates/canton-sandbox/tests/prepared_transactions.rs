//! What `prepare` hands out is Canton 3.4's `PreparedTransaction` protobuf and its V2 hash: every
//! command the sandbox interprets (Canton Coin direct and offer, SBX offers, self transfers,
//! instruction accept / reject / withdraw) decodes with `canton-interactive`, re-hashes to the
//! node's hash, describes the transaction the node commits, and round-trips through
//! decode → hash → sign → execute. Bytes changed after prepare never commit, and each
//! `tamperPrepare` fault changes exactly what it says.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use canton_interactive::proto::{self, v1, value::Sum};
use canton_interactive::{
    HashingSchemeVersion, decode_prepared_transaction, encode_prepared_transaction,
    hash_prepared_transaction,
};
use canton_sandbox::TamperKind;
use common::external::{External, external_party};
use common::transfer::{EXECUTE_BEFORE, REQUESTED_AT};
use common::*;
use ed25519_dalek::Signer;
use serde_json::{Value, json};

struct Net {
    sandbox: canton_sandbox::Sandbox,
    client: Client,
    treasury: External,
    /// Has a Canton Coin preapproval: transfers to alice are 1-step.
    alice: String,
    /// Has none: transfers to bob are offers.
    bob: String,
}

async fn net() -> Net {
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let treasury = external_party(&client, "treasury", 7).await;
    let alice = client.party("alice").await;
    client.preapproval(&alice).await;
    let bob = client.party("bob").await;
    Net {
        sandbox,
        client,
        treasury,
        alice,
        bob,
    }
}

impl Net {
    /// A `TransferFactory_Transfer` of `instrument` from the treasury, prepared (with the
    /// registry's disclosures, as a wallet adds them).
    async fn prepare_transfer(&self, t: &Transfer<'_>) -> Answer {
        let (factory, admin) =
            registry_factory(&self.sandbox, t.instrument, &self.treasury.party).await;
        let transfer = common::transfer::Transfer {
            inputs: t.inputs,
            reason: Some(t.command_id),
            ..common::transfer::Transfer::new(
                &admin,
                t.instrument,
                &self.treasury.party,
                t.receiver,
                t.amount,
            )
        };
        let request = json!({
            "userId": "exchange",
            "commandId": t.command_id,
            "commands": [transfer.exercise(&factory)],
            "actAs": [self.treasury.party],
            "verboseHashing": t.verbose,
        });
        self.client.prepare(&self.sandbox, request).await
    }

    /// A `TransferInstruction_<choice>` by the treasury on `instruction`, prepared.
    async fn prepare_instruction(
        &self,
        command_id: &str,
        instruction: &str,
        choice: &str,
    ) -> Value {
        let request = json!({
            "userId": "exchange",
            "commandId": command_id,
            "commands": [{"ExerciseCommand": {
                "templateId": INSTRUCTION,
                "contractId": instruction,
                "choice": format!("TransferInstruction_{choice}"),
                "choiceArgument": {"extraArgs": {"context": {"values": {}}, "meta": {"values": {}}}},
            }}],
            "actAs": [self.treasury.party],
        });
        self.client.prepare(&self.sandbox, request).await.ok()
    }

    /// Signs `hash` as the treasury and executes `bytes` (base64).
    async fn execute(&self, bytes: &str, hash: &[u8], submission: &str) -> Answer {
        let request = json!({
            "preparedTransaction": bytes,
            "partySignatures": {"signatures": [{"party": self.treasury.party, "signatures": [{
                "format": "SIGNATURE_FORMAT_CONCAT",
                "signature": BASE64.encode(self.treasury.key.sign(hash).to_bytes()),
                "signedBy": self.treasury.fingerprint,
                "signingAlgorithmSpec": "SIGNING_ALGORITHM_SPEC_ED25519",
            }]}]},
            "deduplicationPeriod": {"Empty": {}},
            "submissionId": submission,
            "userId": "exchange",
            "hashingSchemeVersion": "HASHING_SCHEME_VERSION_V2",
        });
        self.client.execute_and_wait(&request).await
    }

    /// The never-blind path: decode, re-hash, compare with the node's hash, sign our own hash,
    /// execute. Answers the decoded transaction and the commit.
    async fn round_trip(
        &self,
        prepared: &Value,
        submission: &str,
    ) -> (proto::PreparedTransaction, Value) {
        let (tx, hash) = decode_and_rehash(prepared);
        assert_eq!(
            hash,
            node_hash(prepared),
            "the node's hash is the V2 hash of its bytes"
        );
        let bytes = prepared["preparedTransaction"].as_str().unwrap();
        let done = self.execute(bytes, &hash, submission).await.ok();
        (tx, done)
    }

    async fn offer_to_treasury(&self, command_id: &str) -> String {
        let answer = self
            .client
            .post(
                "/sandbox/control/offers",
                &json!({"sender": self.bob, "receiver": self.treasury.party, "amount": "5", "memo": command_id}),
            )
            .await
            .ok();
        answer["transferInstructionCid"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

struct Transfer<'a> {
    command_id: &'a str,
    instrument: &'a str,
    receiver: &'a str,
    amount: &'a str,
    inputs: &'a [&'a str],
    verbose: bool,
}

fn node_hash(prepared: &Value) -> Vec<u8> {
    BASE64
        .decode(prepared["preparedTransactionHash"].as_str().unwrap())
        .unwrap()
}

/// The decoded transaction and its V2 hash, recomputed here.
fn decode_and_rehash(prepared: &Value) -> (proto::PreparedTransaction, Vec<u8>) {
    assert_eq!(
        prepared["hashingSchemeVersion"],
        "HASHING_SCHEME_VERSION_V2"
    );
    let bytes = BASE64
        .decode(prepared["preparedTransaction"].as_str().unwrap())
        .unwrap();
    let tx = decode_prepared_transaction(&bytes).expect("a PreparedTransaction");
    let hashes = hash_prepared_transaction(&tx, HashingSchemeVersion::V2).expect("hashable");
    (tx, hashes.prepared_transaction.as_bytes().to_vec())
}

fn nodes(tx: &proto::PreparedTransaction) -> BTreeMap<String, v1::NodeType> {
    tx.transaction
        .as_ref()
        .unwrap()
        .nodes
        .iter()
        .map(|n| match &n.versioned_node {
            Some(proto::VersionedNode::V1(v1::Node { node_type: Some(t) })) => {
                (n.node_id.clone(), t.clone())
            }
            other => panic!("node {} has no v1 content: {other:?}", n.node_id),
        })
        .collect()
}

fn root(tx: &proto::PreparedTransaction) -> v1::Exercise {
    let roots = &tx.transaction.as_ref().unwrap().roots;
    match nodes(tx).remove(&roots[0]) {
        Some(v1::NodeType::Exercise(e)) => e,
        other => panic!("the root is not an exercise: {other:?}"),
    }
}

fn field<'a>(value: &'a proto::Value, label: &str) -> &'a proto::Value {
    match &value.sum {
        Some(Sum::Record(r)) => r
            .fields
            .iter()
            .find(|f| f.label == label)
            .and_then(|f| f.value.as_ref())
            .unwrap_or_else(|| panic!("no field {label}")),
        other => panic!("not a record: {other:?}"),
    }
}

fn transfer_field<'a>(root: &'a v1::Exercise, label: &str) -> &'a proto::Value {
    field(
        field(root.chosen_value.as_ref().unwrap(), "transfer"),
        label,
    )
}

fn party(value: &proto::Value) -> &str {
    match &value.sum {
        Some(Sum::Party(p)) => p,
        other => panic!("not a party: {other:?}"),
    }
}

fn micros(t: &str) -> u64 {
    t.parse::<exchange_core::Timestamp>().unwrap().micros() as u64
}

/// What every prepared transaction of the sandbox has, as a 3.4 participant builds it.
fn assert_well_formed(tx: &proto::PreparedTransaction, party: &str, command_id: &str) {
    let t = tx.transaction.as_ref().unwrap();
    assert_eq!(t.version, "2.1");
    let all = nodes(tx);
    // Node ids are 0..n in pre-order; creates and exercises (only they) have 32-byte seeds.
    let ids: BTreeSet<i32> = all.keys().map(|k| k.parse().unwrap()).collect();
    assert_eq!(ids, (0..all.len() as i32).collect());
    let seeded: BTreeSet<i32> = t.node_seeds.iter().map(|s| s.node_id).collect();
    let need_seed: BTreeSet<i32> = all
        .iter()
        .filter(|(_, n)| !matches!(n, v1::NodeType::Fetch(_)))
        .map(|(k, _)| k.parse().unwrap())
        .collect();
    assert_eq!(seeded, need_seed);
    assert!(t.node_seeds.iter().all(|s| s.seed.len() == 32));
    for node in all.values() {
        match node {
            v1::NodeType::Create(c) => {
                assert_eq!(c.lf_version, "2.1");
                // Created here: the local (unsuffixed) contract id.
                assert_eq!(c.contract_id.len(), 66, "{}", c.contract_id);
                assert!(!c.package_name.is_empty() && c.template_id.is_some());
                assert!(c.signatories.iter().all(|s| c.stakeholders.contains(s)));
            }
            v1::NodeType::Exercise(e) => {
                assert_eq!(e.lf_version, "2.1");
                assert!(!e.package_name.is_empty() && e.template_id.is_some());
                assert!(!e.acting_parties.is_empty() && !e.signatories.is_empty());
                assert!(e.children.iter().all(|c| all.contains_key(c)));
                assert!(e.chosen_value.is_some() && e.exercise_result.is_some());
            }
            v1::NodeType::Fetch(f) => {
                assert_eq!(f.lf_version, "2.1");
                assert!(f.template_id.is_some() && !f.acting_parties.is_empty());
            }
            v1::NodeType::Rollback(_) => panic!("the sandbox never rolls back"),
        }
    }
    let m = tx.metadata.as_ref().unwrap();
    let submitter = m.submitter_info.as_ref().unwrap();
    assert_eq!(submitter.act_as, [party]);
    assert_eq!(submitter.command_id, command_id);
    assert!(
        m.synchronizer_id.starts_with("global-domain::1220"),
        "{}",
        m.synchronizer_id
    );
    assert_eq!(m.mediator_group, 0);
    assert_eq!(m.transaction_uuid.len(), 36);
    assert!(m.preparation_time > 0);
    assert!(m.global_key_mapping.is_empty());
    // Every contract used but not created here is an input, with its create node and time.
    let created: BTreeSet<&str> = all
        .values()
        .filter_map(|n| match n {
            v1::NodeType::Create(c) => Some(c.contract_id.as_str()),
            _ => None,
        })
        .collect();
    let used: BTreeSet<&str> = all
        .values()
        .filter_map(|n| match n {
            v1::NodeType::Exercise(e) => Some(e.contract_id.as_str()),
            v1::NodeType::Fetch(f) => Some(f.contract_id.as_str()),
            _ => None,
        })
        .filter(|c| !created.contains(c))
        .collect();
    let inputs: BTreeSet<&str> = m
        .input_contracts
        .iter()
        .map(|i| {
            assert!(i.created_at > 0);
            match &i.contract {
                Some(proto::InputContractVersion::V1(c)) => c.contract_id.as_str(),
                None => panic!("an input contract without its create node"),
            }
        })
        .collect();
    assert_eq!(inputs, used);
}

fn input_ids(tx: &proto::PreparedTransaction) -> Vec<String> {
    tx.metadata
        .as_ref()
        .unwrap()
        .input_contracts
        .iter()
        .map(|i| match &i.contract {
            Some(proto::InputContractVersion::V1(c)) => c.contract_id.clone(),
            None => panic!("an input contract without its create node"),
        })
        .collect()
}

#[tokio::test]
async fn canton_coin_direct_offer_and_self_transfers_round_trip_as_protobuf() {
    let net = net().await;
    let treasury = net.treasury.party.clone();
    let holdings = [
        net.client.mint(&treasury, "100").await,
        net.client.mint(&treasury, "100").await,
        net.client.mint(&treasury, "30").await,
    ];
    let cases = [
        ("cc-direct", net.alice.clone(), &holdings[0]),
        ("cc-offer", net.bob.clone(), &holdings[1]),
        ("cc-self", treasury.clone(), &holdings[2]),
    ];
    for (command_id, receiver, input) in cases {
        let end = net.client.ledger_end().await;
        let prepared = net
            .prepare_transfer(&Transfer {
                command_id,
                instrument: "Amulet",
                receiver: &receiver,
                amount: "10",
                inputs: &[input],
                verbose: command_id == "cc-direct",
            })
            .await
            .ok();
        assert_eq!(
            net.client.ledger_end().await,
            end,
            "preparing commits nothing"
        );
        let (tx, done) = net.round_trip(&prepared, command_id).await;
        assert_well_formed(&tx, &treasury, command_id);
        let root = root(&tx);
        assert_eq!(root.choice_id, "TransferFactory_Transfer");
        assert_eq!(root.acting_parties, [treasury.as_str()]);
        assert_eq!(party(transfer_field(&root, "receiver")), receiver);
        // Splice 0.6.11's V2 events are nodes of what is signed: in the bytes, in the hash.
        let events = nodes(&tx)
            .into_values()
            .filter(|n| matches!(n, v1::NodeType::Exercise(e) if e.choice_id == "EventLog_HoldingsChange"))
            .count();
        assert!(events >= 1, "{command_id}: no EventLog_HoldingsChange node");
        assert_eq!(
            transfer_field(&root, "amount").sum,
            Some(Sum::Numeric("10.0000000000".into()))
        );
        assert!(
            input_ids(&tx).contains(input),
            "{command_id}: the input holding is an input contract"
        );
        let m = tx.metadata.as_ref().unwrap();
        assert_eq!(m.min_ledger_effective_time, Some(micros(REQUESTED_AT)));
        assert_eq!(
            m.max_ledger_effective_time,
            Some(micros(EXECUTE_BEFORE) - 1)
        );
        if command_id == "cc-direct" {
            let details = prepared["hashingDetails"].as_str().expect("verboseHashing");
            assert!(
                details.contains(&hex::encode(node_hash(&prepared))),
                "{details}"
            );
        } else {
            assert!(prepared["hashingDetails"].is_null());
        }
        // What commits is what was prepared: the same command, the signed hash on it, and
        // (nothing happened in between) the contracts prepare announced.
        let committed = net
            .client
            .transaction(
                &done["updateId"],
                &treasury,
                "TRANSACTION_SHAPE_LEDGER_EFFECTS",
            )
            .await;
        let committed = &committed["update"]["Transaction"]["value"];
        assert_eq!(committed["commandId"], command_id);
        assert_eq!(
            committed["externalTransactionHash"],
            hex::encode(node_hash(&prepared))
        );
        let announced: Vec<String> = nodes(&tx)
            .values()
            .filter_map(|n| match n {
                v1::NodeType::Create(c) => Some(c.contract_id.clone()),
                _ => None,
            })
            .collect();
        let created: Vec<String> = committed["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["CreatedEvent"]["contractId"].as_str())
            .map(|c| c[..66].to_owned())
            .collect();
        assert!(!created.is_empty());
        assert!(
            created.iter().all(|c| announced.contains(c)),
            "{created:?} ⊄ {announced:?}"
        );
    }
}

#[tokio::test]
async fn sbx_offers_self_transfers_and_instruction_choices_round_trip_as_protobuf() {
    let net = net().await;
    let treasury = net.treasury.party.clone();
    let a = net.client.sbx_mint(&treasury, "50").await;
    let b = net.client.sbx_mint(&treasury, "50").await;
    net.client.sbx_mint(&net.bob, "50").await;

    for (command_id, receiver, input) in [("sbx-offer", &net.bob, &a), ("sbx-self", &treasury, &b)]
    {
        let prepared = net
            .prepare_transfer(&Transfer {
                command_id,
                instrument: "SBX",
                receiver,
                amount: "10",
                inputs: &[input],
                verbose: false,
            })
            .await
            .ok();
        let (tx, _) = net.round_trip(&prepared, command_id).await;
        assert_well_formed(&tx, &treasury, command_id);
        assert_eq!(
            party(transfer_field(&root(&tx), "receiver")),
            receiver.as_str()
        );
    }
    // The treasury's own offer to bob, withdrawn; two offers to the treasury, one accepted
    // and one rejected.
    let pending = net
        .client
        .post(
            "/sandbox/control/offers/pending",
            &json!({"party": net.bob}),
        )
        .await
        .ok();
    let own_offer = pending[0]["transferInstructionCid"]
        .as_str()
        .unwrap()
        .to_owned();
    let to_accept = net.offer_to_treasury("in-1").await;
    let to_reject = net.offer_to_treasury("in-2").await;
    for (command_id, instruction, choice) in [
        ("withdraw", &own_offer, "Withdraw"),
        ("accept", &to_accept, "Accept"),
        ("reject", &to_reject, "Reject"),
    ] {
        let prepared = net
            .prepare_instruction(command_id, instruction, choice)
            .await;
        let (tx, done) = net.round_trip(&prepared, command_id).await;
        assert_well_formed(&tx, &treasury, command_id);
        let root = root(&tx);
        assert_eq!(root.choice_id, format!("TransferInstruction_{choice}"));
        assert_eq!(&root.contract_id, instruction);
        assert!(root.consuming);
        assert!(input_ids(&tx).contains(instruction));
        assert!(done["updateId"].is_string());
    }
}

#[tokio::test]
async fn changed_bytes_garbage_and_wrong_signatures_commit_nothing() {
    let net = net().await;
    let holding = net.client.mint(&net.treasury.party, "100").await;
    let prepared = net
        .prepare_transfer(&Transfer {
            command_id: "w-1",
            instrument: "Amulet",
            receiver: &net.alice,
            amount: "10",
            inputs: &[&holding],
            verbose: false,
        })
        .await
        .ok();
    let end = net.client.ledger_end().await;
    let (honest, hash) = decode_and_rehash(&prepared);

    // Another amount, signed over its own (correct) V2 hash: not what the node prepared.
    let mut changed = honest.clone();
    let tx = changed.transaction.as_mut().unwrap();
    let root_id = tx.roots[0].clone();
    let node = tx.nodes.iter_mut().find(|n| n.node_id == root_id).unwrap();
    let Some(proto::VersionedNode::V1(v1::Node {
        node_type: Some(v1::NodeType::Exercise(e)),
    })) = &mut node.versioned_node
    else {
        panic!("root exercise")
    };
    set_field(
        e.chosen_value.as_mut().unwrap(),
        &["transfer", "amount"],
        Sum::Numeric("99.0000000000".into()),
    );
    let changed_hash = hash_prepared_transaction(&changed, HashingSchemeVersion::V2)
        .unwrap()
        .prepared_transaction;
    let answer = net
        .execute(
            &BASE64.encode(encode_prepared_transaction(&changed)),
            changed_hash.as_bytes(),
            "s-1",
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(
        answer.text.contains("was not prepared by this node"),
        "{}",
        answer.text
    );

    // Not a PreparedTransaction at all: INVALID_ARGUMENT, as a 3.4 node answers.
    let answer = net
        .execute(&BASE64.encode([0xff, 0xff, 0xff]), &hash, "s-2")
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(answer.json()["code"], "INVALID_ARGUMENT");

    // The honest bytes with a signature over another hash.
    let bytes = prepared["preparedTransaction"].as_str().unwrap();
    let answer = net.execute(bytes, changed_hash.as_bytes(), "s-3").await;
    assert_eq!(answer.status, 400, "{}", answer.text);

    assert_eq!(net.client.ledger_end().await, end, "nothing was sequenced");
    // The honest transaction still commits.
    net.execute(bytes, &hash, "s-4").await.ok();
}

fn set_field(value: &mut proto::Value, path: &[&str], to: Sum) {
    let Some(Sum::Record(r)) = &mut value.sum else {
        panic!("not a record")
    };
    let f = r.fields.iter_mut().find(|f| f.label == path[0]).unwrap();
    let inner = f.value.as_mut().unwrap();
    if path.len() == 1 {
        inner.sum = Some(to);
    } else {
        set_field(inner, &path[1..], to);
    }
}

/// The root's choice argument with the field at `path` set to what `honest` has there.
fn restored(tampered: &v1::Exercise, honest: &v1::Exercise, path: &[&str]) -> proto::Value {
    let mut value = tampered.chosen_value.clone().unwrap();
    let mut original = honest.chosen_value.as_ref().unwrap();
    for label in path {
        original = field(original, label);
    }
    set_field(&mut value, path, original.sum.clone().unwrap());
    value
}

#[tokio::test]
async fn each_tamper_fault_changes_what_it_says_and_never_commits() {
    let net = net().await;
    let treasury = net.treasury.party.clone();
    let holding = net.client.mint(&treasury, "100").await;
    let transfer = Transfer {
        command_id: "w-t",
        instrument: "Amulet",
        receiver: &net.alice,
        amount: "10",
        inputs: &[&holding],
        verbose: false,
    };
    let honest_answer = net.prepare_transfer(&transfer).await.ok();
    let (honest, _) = decode_and_rehash(&honest_answer);
    let honest_root = root(&honest);
    let end = net.client.ledger_end().await;

    let fields = [
        (TamperKind::Receiver, &["transfer", "receiver"][..]),
        (TamperKind::Amount, &["transfer", "amount"][..]),
        (TamperKind::Input, &["transfer", "inputHoldingCids"][..]),
        (TamperKind::Memo, &["transfer", "meta"][..]),
    ];
    for (seed, (kind, path)) in fields.into_iter().enumerate() {
        net.sandbox.tamper_prepare(seed as u64, &[kind]);
        let answer = net.prepare_transfer(&transfer).await.ok();
        let (tx, hash) = decode_and_rehash(&answer);
        // The hash is honest about the tampered bytes: only decoding catches the change.
        assert_eq!(hash, node_hash(&answer), "{kind:?}");
        let tampered_root = root(&tx);
        let mut changed = tampered_root.chosen_value.clone().unwrap();
        for label in path {
            changed = field(&changed, label).clone();
        }
        let mut was = honest_root.chosen_value.clone().unwrap();
        for label in path {
            was = field(&was, label).clone();
        }
        assert_ne!(changed, was, "{kind:?} changes {path:?}");
        assert_eq!(
            restored(&tampered_root, &honest_root, path),
            honest_root.chosen_value.clone().unwrap(),
            "{kind:?} changes nothing else in the choice argument"
        );
        assert_eq!(nodes(&tx).len(), nodes(&honest).len());
        let bytes = answer["preparedTransaction"].as_str().unwrap();
        let refused = net.execute(bytes, &hash, "blind").await;
        assert_eq!(refused.status, 400, "{kind:?}: {}", refused.text);
        assert!(refused.text.contains("tamperPrepare"), "{}", refused.text);
    }

    // An extra root node moving the treasury's input holding to another party.
    net.sandbox.tamper_prepare(9, &[TamperKind::ExtraNode]);
    let answer = net.prepare_transfer(&transfer).await.ok();
    let (tx, hash) = decode_and_rehash(&answer);
    assert_eq!(hash, node_hash(&answer));
    let roots = &tx.transaction.as_ref().unwrap().roots;
    assert_eq!(
        roots.len(),
        honest.transaction.as_ref().unwrap().roots.len() + 1
    );
    let all = nodes(&tx);
    let Some(v1::NodeType::Exercise(extra)) = all.get(roots.last().unwrap()) else {
        panic!("the extra root is an exercise")
    };
    assert!(extra.consuming && extra.acting_parties == [treasury.clone()]);
    assert_eq!(extra.contract_id, holding);
    let Some(v1::NodeType::Create(moved)) = all.get(&extra.children[0]) else {
        panic!("the extra root creates the moved holding")
    };
    let owner = party(field(moved.argument.as_ref().unwrap(), "owner"));
    assert_ne!(owner, treasury);
    assert!(!moved.stakeholders.contains(&treasury));
    let refused = net
        .execute(
            answer["preparedTransaction"].as_str().unwrap(),
            &hash,
            "blind",
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text);

    // A hash that is not the bytes': the bytes are honest (and commit when the client signs
    // its own hash), the node's hash is not theirs.
    net.sandbox.tamper_prepare(10, &[TamperKind::Hash]);
    let answer = net.prepare_transfer(&transfer).await.ok();
    let (tx, hash) = decode_and_rehash(&answer);
    assert_ne!(hash, node_hash(&answer));
    assert_eq!(root(&tx).chosen_value, honest_root.chosen_value);
    let bytes = answer["preparedTransaction"].as_str().unwrap();
    let refused = net.execute(bytes, &node_hash(&answer), "blind").await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(
        net.client.ledger_end().await,
        end,
        "nothing tampered committed"
    );

    net.sandbox
        .set_faults(canton_sandbox::FaultConfig::default());
    net.execute(bytes, &hash, "checked").await.ok();

    // The same fault through the control API; a rate outside [0, 1] is refused.
    let faults = json!({"seed": 1, "tamperPrepare": ["amount"], "tamperRate": 1.0});
    let active = net
        .client
        .post("/sandbox/control/faults", &faults)
        .await
        .ok();
    assert_eq!(active["tamperPrepare"], json!(["amount"]));
    let holding = net.client.mint(&treasury, "100").await;
    let answer = net
        .prepare_transfer(&Transfer {
            inputs: &[&holding],
            ..transfer
        })
        .await
        .ok();
    let (tx, _) = decode_and_rehash(&answer);
    assert_eq!(
        transfer_field(&root(&tx), "amount").sum,
        Some(Sum::Numeric("11.0000000000".into()))
    );
    let bad = json!({"tamperPrepare": ["memo"], "tamperRate": 2});
    let refused = net.client.post("/sandbox/control/faults", &bad).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
}

#[tokio::test]
async fn the_treasurys_preapproval_proposal_round_trips_and_is_accepted_by_the_validator() {
    let net = net().await;
    let treasury = net.treasury.party.clone();
    let (provider, dso) = net
        .sandbox
        .with_world(|w| (w.amulet.provider.clone(), w.amulet.dso.clone()));
    let request = json!({
        "userId": "exchange",
        "commandId": "preapproval",
        "commands": [{"CreateCommand": {
            "templateId": "#splice-wallet:Splice.Wallet.TransferPreapproval:TransferPreapprovalProposal",
            "createArguments": {"receiver": treasury, "provider": provider, "expectedDso": dso},
        }}],
        "actAs": [treasury],
    });
    let prepared = net
        .client
        .post("/v2/interactive-submission/prepare", &request)
        .await
        .ok();
    let (tx, _) = net.round_trip(&prepared, "preapproval").await;
    assert_well_formed(&tx, &treasury, "preapproval");
    // As the Wallet SDK's real one: a single create, no inputs, no time bounds.
    let t = tx.transaction.as_ref().unwrap();
    assert_eq!(t.roots, ["0"]);
    let Some(v1::NodeType::Create(create)) = nodes(&tx).remove("0") else {
        panic!("a create")
    };
    assert_eq!(create.package_name, "splice-wallet");
    let template = create.template_id.clone().unwrap();
    assert_eq!(
        (template.module_name.as_str(), template.entity_name.as_str()),
        (
            "Splice.Wallet.TransferPreapproval",
            "TransferPreapprovalProposal"
        )
    );
    assert_eq!(create.signatories, [treasury.as_str()]);
    let mut stakeholders = vec![treasury.clone(), provider.clone()];
    stakeholders.sort();
    assert_eq!(create.stakeholders, stakeholders);
    let Some(Sum::Record(argument)) = &create.argument.as_ref().unwrap().sum else {
        panic!("a record")
    };
    assert_eq!(argument.record_id, Some(template));
    let labels: Vec<&str> = argument.fields.iter().map(|f| f.label.as_str()).collect();
    assert_eq!(labels, ["receiver", "provider", "expectedDso"]);
    let m = tx.metadata.as_ref().unwrap();
    assert!(m.input_contracts.is_empty());
    assert_eq!(m.min_ledger_effective_time, None);
    assert_eq!(m.max_ledger_effective_time, None);

    // The validator accepted it: Canton Coin to the treasury is now 1-step.
    net.client.mint(&net.bob, "20").await;
    let sent = net
        .client
        .transfer(json!({"sender": net.bob, "receiver": treasury, "amount": "5"}))
        .await
        .ok();
    assert!(sent["transferInstructionCid"].is_null(), "{sent}");
    assert_eq!(sent["receiverHoldingCids"].as_array().unwrap().len(), 1);
}

/// Which fields a prepared transaction sets, and of what kind (not their values): what a real
/// participant's and the sandbox's must agree on.
fn outline(tx: &proto::PreparedTransaction) -> Vec<String> {
    let t = tx.transaction.as_ref().unwrap();
    let mut out = vec![format!("version {} roots {}", t.version, t.roots.len())];
    for (id, node) in nodes(tx) {
        out.push(match node {
            v1::NodeType::Create(c) => {
                let template = c.template_id.as_ref().unwrap();
                format!(
                    "{id}: create lf {} {} {}:{} signatories {} stakeholders {} {}",
                    c.lf_version,
                    c.package_name,
                    template.module_name,
                    template.entity_name,
                    c.signatories.len(),
                    c.stakeholders.len(),
                    value_outline(c.argument.as_ref().unwrap())
                )
            }
            other => format!("{id}: {other:?}"),
        });
    }
    let seeded: Vec<i32> = t.node_seeds.iter().map(|s| s.node_id).collect();
    out.push(format!("seeds {seeded:?}"));
    let m = tx.metadata.as_ref().unwrap();
    let submitter = m.submitter_info.as_ref().unwrap();
    out.push(format!(
        "act_as {} command id {} synchronizer {} mediator group {} uuid {} prepared {}",
        submitter.act_as.len(),
        !submitter.command_id.is_empty(),
        m.synchronizer_id.split("::").next().unwrap(),
        m.mediator_group,
        m.transaction_uuid.len(),
        m.preparation_time > 0
    ));
    out.push(format!(
        "inputs {} keys {} bounds {:?} {:?} {:?}",
        m.input_contracts.len(),
        m.global_key_mapping.len(),
        m.min_ledger_effective_time.is_some(),
        m.max_ledger_effective_time.is_some(),
        m.max_record_time.is_some()
    ));
    out
}

fn value_outline(value: &proto::Value) -> String {
    match value.sum.as_ref().unwrap() {
        Sum::Record(r) => {
            let id = r.record_id.as_ref().map_or(String::new(), |i| {
                format!("{}:{}", i.module_name, i.entity_name)
            });
            let fields: Vec<String> = r
                .fields
                .iter()
                .map(|f| format!("{}: {}", f.label, value_outline(f.value.as_ref().unwrap())))
                .collect();
            format!("{id}{{{}}}", fields.join(", "))
        }
        Sum::Optional(o) => match &o.value {
            Some(v) => format!("some {}", value_outline(v)),
            None => "none".into(),
        },
        Sum::Party(_) => "party".into(),
        other => format!("{other:?}"),
    }
}

#[tokio::test]
async fn the_preapproval_proposal_has_the_shape_of_the_wallet_sdks_real_one() {
    let Some(vectors) =
        read_shared_json("specs/canton/test-vectors/wallet-sdk-prepared-transactions.json")
    else {
        return;
    };
    let real = vectors["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "transfer_preapproval_proposal")
        .expect("the Wallet SDK's proposal");
    let real = decode_prepared_transaction(
        &BASE64
            .decode(real["prepared_transaction_base64"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();

    let net = net().await;
    let treasury = net.treasury.party.clone();
    let (provider, dso) = net
        .sandbox
        .with_world(|w| (w.amulet.provider.clone(), w.amulet.dso.clone()));
    let request = json!({
        "commandId": "preapproval",
        "commands": [{"CreateCommand": {
            "templateId": "#splice-wallet:Splice.Wallet.TransferPreapproval:TransferPreapprovalProposal",
            "createArguments": {"receiver": treasury, "provider": provider, "expectedDso": dso},
        }}],
        "actAs": [treasury],
    });
    let prepared = net
        .client
        .post("/v2/interactive-submission/prepare", &request)
        .await
        .ok();
    let (ours, _) = decode_and_rehash(&prepared);
    assert_eq!(outline(&ours), outline(&real));
}
