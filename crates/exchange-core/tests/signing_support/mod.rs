//! Prepared transactions built in code, shaped like a participant's for Canton Coin (node
//! layouts from `reference/token-standard.md` §6.3): a direct `TransferFactory_Transfer`
//! through the receiver's `TransferPreapproval`, an offer (locked holding + instruction), and a
//! `TransferInstruction_Accept`; with the intents they answer and helpers to tamper with them.

#![allow(dead_code)]

use std::cell::Cell;
use std::collections::BTreeSet;

use canton_interactive::proto::{
    DamlTransaction, Identifier, InputContract, InputContractVersion, List, Metadata, Node,
    NodeSeed, Optional, PreparedTransaction, Record, RecordField, SubmitterInfo, TextMap,
    TextMapEntry, Value, VersionedNode, v1, value::Sum,
};
use canton_interactive::{HashingSchemeVersion, hash_prepared_transaction};
use exchange_core::signing::{
    AcceptIntent, Common, Intent, PublicKey, REASON_KEY, SignError, Signature, Signer, Standard,
    TransferIntent, Verified, VerifiedOnboarding,
};
use exchange_core::{Amount, ContractId, InstrumentId, PartyId, SynchronizerId, Timestamp};

pub const TREASURY: &str = "treasury::1220aaaa";
pub const ALICE: &str = "alice::1220bbbb";
pub const MALLORY: &str = "mallory::1220dddd";
pub const DSO: &str = "DSO::1220cccc";
pub const PROVIDER: &str = "validator::1220eeee";
pub const SYNC: &str = "global-domain::1220ffff";
pub const REQUESTED_AT: i64 = 1_758_879_777_177_252;
pub const EXECUTE_BEFORE: i64 = REQUESTED_AT + 86_400_000_000;

/// A hex contract id (the V2 hash needs hex) from a small number.
pub fn cid(n: u32) -> String {
    format!("00{n:064x}")
}
pub const FACTORY: u32 = 1;
pub const PREAPPROVAL: u32 = 2;
pub const AMULET_RULES: u32 = 3;
pub const OPEN_ROUND: u32 = 4;
pub const INSTRUCTION: u32 = 5;
pub const SENDER_LOCKED: u32 = 6;
/// Created contracts: 100 and up; inputs: 10 and up.
pub fn input_cid(i: usize) -> String {
    cid(10 + i as u32)
}

// ---- values ----

pub fn v(sum: Sum) -> Value {
    Value::of(sum)
}
pub fn party(p: &str) -> Value {
    v(Sum::Party(p.to_owned()))
}
pub fn text(t: &str) -> Value {
    v(Sum::Text(t.to_owned()))
}
pub fn numeric(n: &str) -> Value {
    v(Sum::Numeric(n.to_owned()))
}
pub fn contract(c: &str) -> Value {
    v(Sum::ContractId(c.to_owned()))
}
pub fn time(micros: i64) -> Value {
    v(Sum::Timestamp(micros))
}
pub fn list(elements: Vec<Value>) -> Value {
    v(Sum::List(List { elements }))
}
pub fn some(value: Value) -> Value {
    v(Sum::Optional(Optional {
        value: Some(Box::new(value)),
    }))
}
pub fn text_map(entries: &[(&str, Value)]) -> Value {
    v(Sum::TextMap(TextMap {
        entries: entries
            .iter()
            .map(|(k, val)| TextMapEntry {
                key: (*k).to_owned(),
                value: Some(val.clone()),
            })
            .collect(),
    }))
}
pub fn rec(fields: &[(&str, Value)]) -> Value {
    v(Sum::Record(Record {
        record_id: None,
        fields: fields
            .iter()
            .map(|(label, val)| RecordField {
                label: (*label).to_owned(),
                value: Some(val.clone()),
            })
            .collect(),
    }))
}
pub fn meta(entries: &[(&str, &str)]) -> Value {
    let entries: Vec<(&str, Value)> = entries.iter().map(|(k, val)| (*k, text(val))).collect();
    rec(&[("values", text_map(&entries))])
}

/// The record field `label` of a record value, for tampering.
pub fn field_mut<'a>(value: &'a mut Value, label: &str) -> &'a mut Value {
    let Some(Sum::Record(r)) = &mut value.sum else {
        panic!("not a record")
    };
    r.fields
        .iter_mut()
        .find(|f| f.label == label)
        .and_then(|f| f.value.as_mut())
        .unwrap_or_else(|| panic!("no field {label}"))
}

pub fn id(module: &str, entity: &str) -> Identifier {
    Identifier {
        package_id: format!("{:064x}", module.len() * 1000 + entity.len()),
        module_name: module.to_owned(),
        entity_name: entity.to_owned(),
    }
}

// ---- nodes ----

pub fn amulet_arg(owner: &str, amount: &str) -> Value {
    amulet_arg_of(DSO, owner, amount)
}
pub fn amulet_arg_of(dso: &str, owner: &str, amount: &str) -> Value {
    rec(&[
        ("dso", party(dso)),
        ("owner", party(owner)),
        (
            "amount",
            rec(&[
                ("initialAmount", numeric(amount)),
                ("createdAt", rec(&[("number", v(Sum::Int64(19)))])),
                ("ratePerRound", rec(&[("rate", numeric("0.0038051800"))])),
            ]),
        ),
    ])
}

pub fn create(
    cid: &str,
    template: (&str, &str),
    argument: Value,
    signatories: &[&str],
    observers: &[&str],
) -> v1::NodeType {
    let mut stakeholders: Vec<String> = signatories
        .iter()
        .chain(observers)
        .map(|p| (*p).to_owned())
        .collect();
    stakeholders.sort();
    stakeholders.dedup();
    v1::NodeType::Create(v1::Create {
        lf_version: "2.1".to_owned(),
        contract_id: cid.to_owned(),
        package_name: "splice-amulet".to_owned(),
        template_id: Some(id(template.0, template.1)),
        argument: Some(argument),
        signatories: signatories.iter().map(|p| (*p).to_owned()).collect(),
        stakeholders,
    })
}

pub fn amulet(cid: &str, owner: &str, amount: &str) -> v1::NodeType {
    create(
        cid,
        ("Splice.Amulet", "Amulet"),
        amulet_arg(owner, amount),
        &[DSO, owner],
        &[],
    )
}

pub struct Ex<'a> {
    pub cid: String,
    pub template: (&'a str, &'a str),
    pub interface: Option<(&'a str, &'a str)>,
    pub choice: &'a str,
    pub arg: Value,
    pub consuming: bool,
    pub signatories: &'a [&'a str],
    pub observers: &'a [&'a str],
    pub children: Vec<String>,
}

pub fn exercise(e: Ex<'_>) -> v1::NodeType {
    let create = create(&e.cid, e.template, rec(&[]), e.signatories, e.observers);
    let v1::NodeType::Create(c) = create else {
        unreachable!()
    };
    v1::NodeType::Exercise(v1::Exercise {
        lf_version: "2.1".to_owned(),
        contract_id: c.contract_id,
        package_name: c.package_name,
        template_id: c.template_id,
        signatories: c.signatories,
        stakeholders: c.stakeholders,
        acting_parties: vec![TREASURY.to_owned()],
        interface_id: e.interface.map(|(m, n)| id(m, n)),
        choice_id: e.choice.to_owned(),
        chosen_value: Some(e.arg),
        consuming: e.consuming,
        children: e.children,
        exercise_result: Some(rec(&[])),
        choice_observers: vec![],
    })
}

pub fn fetch(cid: &str, template: (&str, &str)) -> v1::NodeType {
    v1::NodeType::Fetch(v1::Fetch {
        lf_version: "2.1".to_owned(),
        contract_id: cid.to_owned(),
        package_name: "splice-amulet".to_owned(),
        template_id: Some(id(template.0, template.1)),
        signatories: vec![DSO.to_owned()],
        stakeholders: vec![DSO.to_owned()],
        acting_parties: vec![TREASURY.to_owned()],
        interface_id: None,
    })
}

/// The transaction of `nodes` (ids "0", "1", ... in order, the first the root), a seed for
/// every create and exercise.
pub fn transaction(nodes: Vec<v1::NodeType>) -> DamlTransaction {
    let node_seeds = nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| matches!(n, v1::NodeType::Create(_) | v1::NodeType::Exercise(_)))
        .map(|(i, _)| NodeSeed {
            node_id: i as i32,
            seed: vec![i as u8 + 1; 32],
        })
        .collect();
    DamlTransaction {
        version: "2.1".to_owned(),
        roots: vec!["0".to_owned()],
        nodes: nodes
            .into_iter()
            .enumerate()
            .map(|(i, n)| Node {
                node_id: i.to_string(),
                versioned_node: Some(VersionedNode::V1(v1::Node { node_type: Some(n) })),
            })
            .collect(),
        node_seeds,
    }
}

pub fn input(node: v1::NodeType) -> InputContract {
    let v1::NodeType::Create(c) = node else {
        panic!("inputs are creates")
    };
    InputContract {
        contract: Some(InputContractVersion::V1(c)),
        created_at: REQUESTED_AT as u64 - 3_600_000_000,
        event_blob: vec![1, 2, 3],
    }
}

pub fn metadata(inputs: Vec<InputContract>) -> Metadata {
    Metadata {
        submitter_info: Some(SubmitterInfo {
            act_as: vec![TREASURY.to_owned()],
            command_id: "withdrawal-42".to_owned(),
        }),
        synchronizer_id: SYNC.to_owned(),
        mediator_group: 0,
        transaction_uuid: "4a7f0c2e-8d1b-4e5f-9a3c-2b6d8e0f1a4c".to_owned(),
        preparation_time: REQUESTED_AT as u64 + 1_000_000,
        input_contracts: inputs,
        global_key_mapping: vec![],
        min_ledger_effective_time: None,
        max_ledger_effective_time: None,
        max_record_time: None,
    }
}

pub fn reference_inputs(ids: &[u32]) -> Vec<InputContract> {
    ids.iter()
        .map(|n| {
            let template = match *n {
                FACTORY => (
                    "Splice.ExternalPartyAmuletRules",
                    "ExternalPartyAmuletRules",
                ),
                PREAPPROVAL => ("Splice.AmuletRules", "TransferPreapproval"),
                AMULET_RULES => ("Splice.AmuletRules", "AmuletRules"),
                _ => ("Splice.Round", "OpenMiningRound"),
            };
            let (sigs, obs): (&[&str], &[&str]) = if *n == PREAPPROVAL {
                (&[ALICE, PROVIDER, DSO], &[])
            } else {
                (&[DSO], &[])
            };
            input(create(
                &cid(*n),
                template,
                rec(&[("dso", party(DSO))]),
                sigs,
                obs,
            ))
        })
        .collect()
}

// ---- scenarios ----

/// The parameters of a Canton Coin transfer from the treasury.
#[derive(Debug, Clone)]
pub struct Transfer {
    pub receiver: String,
    pub amount: String,
    pub memo: String,
    /// The treasury's input holdings' amounts.
    pub inputs: Vec<String>,
    /// The instrument: admin and id.
    pub admin: String,
    pub instrument: String,
}

impl Default for Transfer {
    fn default() -> Self {
        Transfer {
            receiver: ALICE.to_owned(),
            amount: "20.0000000000".to_owned(),
            memo: "4331c77f-withdrawal".to_owned(),
            inputs: vec!["15.0000000000".to_owned(), "10.0000000000".to_owned()],
            admin: DSO.to_owned(),
            instrument: "Amulet".to_owned(),
        }
    }
}

impl Transfer {
    pub fn total_inputs(&self) -> Amount {
        self.inputs
            .iter()
            .map(|a| a.parse::<Amount>().unwrap())
            .sum()
    }

    pub fn change(&self) -> Amount {
        let amount: Amount = self.amount.parse().unwrap();
        self.total_inputs().checked_sub(amount).unwrap()
    }

    pub fn intent(&self, disclosed: &[u32]) -> Intent {
        Intent::Transfer(TransferIntent {
            common: common(disclosed),
            factory: ContractId::new(&cid(FACTORY)).unwrap(),
            expected_admin: PartyId::new(&self.admin).unwrap(),
            receiver: PartyId::new(&self.receiver).unwrap(),
            amount: self.amount.parse().unwrap(),
            instrument: InstrumentId {
                admin: PartyId::new(&self.admin).unwrap(),
                id: self.instrument.clone(),
            },
            memo: self.memo.clone(),
            inputs: (0..self.inputs.len())
                .map(|i| ContractId::new(&input_cid(i)).unwrap())
                .collect(),
            requested_at: Timestamp::from_micros(REQUESTED_AT).unwrap(),
            execute_before: Timestamp::from_micros(EXECUTE_BEFORE).unwrap(),
            max_fee: Amount::from_units(0).unwrap(),
            through: exchange_core::signing::Standard::V1,
        })
    }

    /// `TransferFactory_Transfer`'s argument, as the Wallet SDK builds it.
    pub fn choice_argument(&self) -> Value {
        let inputs = (0..self.inputs.len())
            .map(|i| contract(&input_cid(i)))
            .collect();
        rec(&[
            ("expectedAdmin", party(&self.admin)),
            (
                "transfer",
                rec(&[
                    ("sender", party(TREASURY)),
                    ("receiver", party(&self.receiver)),
                    ("amount", numeric(&self.amount)),
                    (
                        "instrumentId",
                        rec(&[
                            ("admin", party(&self.admin)),
                            ("id", text(&self.instrument)),
                        ]),
                    ),
                    ("requestedAt", time(REQUESTED_AT)),
                    ("executeBefore", time(EXECUTE_BEFORE)),
                    ("inputHoldingCids", list(inputs)),
                    ("meta", meta(&[(REASON_KEY, &self.memo)])),
                ]),
            ),
            (
                "extraArgs",
                rec(&[
                    (
                        "context",
                        rec(&[(
                            "values",
                            text_map(&[(
                                "amulet-rules",
                                v(Sum::Variant(canton_interactive::proto::Variant {
                                    variant_id: None,
                                    constructor: "AV_ContractId".to_owned(),
                                    value: Some(Box::new(contract(&cid(AMULET_RULES)))),
                                })),
                            )]),
                        )]),
                    ),
                    ("meta", meta(&[])),
                ]),
            ),
        ])
    }

    fn root(&self, children: Vec<String>) -> v1::NodeType {
        exercise(Ex {
            cid: cid(FACTORY),
            template: (
                "Splice.ExternalPartyAmuletRules",
                "ExternalPartyAmuletRules",
            ),
            interface: Some(("Splice.Api.Token.TransferInstructionV1", "TransferFactory")),
            choice: "TransferFactory_Transfer",
            arg: self.choice_argument(),
            consuming: false,
            signatories: &[DSO],
            observers: &[],
            children,
        })
    }

    fn archives(&self) -> Vec<v1::NodeType> {
        (0..self.inputs.len())
            .map(|i| {
                exercise(Ex {
                    cid: input_cid(i),
                    template: ("Splice.Amulet", "Amulet"),
                    interface: None,
                    choice: "Archive",
                    arg: rec(&[]),
                    consuming: true,
                    signatories: &[DSO, TREASURY],
                    observers: &[],
                    children: vec![],
                })
            })
            .collect()
    }

    fn input_holdings(&self) -> Vec<InputContract> {
        self.inputs
            .iter()
            .enumerate()
            .map(|(i, a)| input(amulet(&input_cid(i), TREASURY, a)))
            .collect()
    }

    /// Direct (receiver preapproved): Transfer → TransferPreapproval_Send → AmuletRules_Transfer
    /// → fetch round, archive inputs, receiver's Amulet, treasury's change.
    pub fn direct(&self) -> (Intent, PreparedTransaction) {
        let n = self.inputs.len();
        let change = self.change();
        // ids: 0 root, 1 send, 2 rules transfer, 3 fetch, 4.. archives, then creates
        let mut rules_children: Vec<String> = (3..4 + n).map(|i| i.to_string()).collect();
        rules_children.push((4 + n).to_string());
        if !change.is_zero() {
            rules_children.push((5 + n).to_string());
        }
        let mut nodes = vec![
            self.root(vec!["1".to_owned()]),
            exercise(Ex {
                cid: cid(PREAPPROVAL),
                template: ("Splice.AmuletRules", "TransferPreapproval"),
                interface: None,
                choice: "TransferPreapproval_Send",
                arg: rec(&[
                    ("sender", party(TREASURY)),
                    ("amount", numeric(&self.amount)),
                ]),
                consuming: false,
                signatories: &[ALICE, PROVIDER, DSO],
                observers: &[],
                children: vec!["2".to_owned()],
            }),
            exercise(Ex {
                cid: cid(AMULET_RULES),
                template: ("Splice.AmuletRules", "AmuletRules"),
                interface: None,
                choice: "AmuletRules_Transfer",
                arg: rec(&[("expectedDso", some(party(DSO)))]),
                consuming: false,
                signatories: &[DSO],
                observers: &[],
                children: rules_children,
            }),
            fetch(&cid(OPEN_ROUND), ("Splice.Round", "OpenMiningRound")),
        ];
        nodes.extend(self.archives());
        nodes.push(amulet(&cid(100), &self.receiver, &self.amount));
        if !change.is_zero() {
            nodes.push(amulet(&cid(101), TREASURY, &change.to_string()));
        }
        let disclosed = [FACTORY, PREAPPROVAL, AMULET_RULES, OPEN_ROUND];
        let mut inputs = reference_inputs(&disclosed);
        inputs.extend(self.input_holdings());
        let prepared = PreparedTransaction {
            transaction: Some(transaction(nodes)),
            metadata: Some(metadata(inputs)),
        };
        (self.intent(&disclosed), prepared)
    }

    /// Offer (no preapproval): Transfer → AmuletRules_Transfer (archive inputs, LockedAmulet
    /// of the amount for the treasury, change) → create AmuletTransferInstruction.
    pub fn offer(&self) -> (Intent, PreparedTransaction) {
        let n = self.inputs.len();
        let mut rules_children: Vec<String> = (2..3 + n).map(|i| i.to_string()).collect();
        rules_children.push((3 + n).to_string());
        rules_children.push((4 + n).to_string());
        let mut nodes = vec![
            self.root(vec!["1".to_owned(), (5 + n).to_string()]),
            exercise(Ex {
                cid: cid(AMULET_RULES),
                template: ("Splice.AmuletRules", "AmuletRules"),
                interface: None,
                choice: "AmuletRules_Transfer",
                arg: rec(&[("expectedDso", some(party(DSO)))]),
                consuming: false,
                signatories: &[DSO],
                observers: &[],
                children: rules_children,
            }),
            fetch(&cid(OPEN_ROUND), ("Splice.Round", "OpenMiningRound")),
        ];
        nodes.extend(self.archives());
        let locked = rec(&[
            ("amulet", amulet_arg(TREASURY, &self.amount)),
            (
                "lock",
                rec(&[
                    ("holders", list(vec![party(DSO)])),
                    ("expiresAt", time(EXECUTE_BEFORE)),
                    (
                        "optContext",
                        some(text(&format!("transfer to '{}'", self.receiver))),
                    ),
                ]),
            ),
        ]);
        nodes.push(create(
            &cid(102),
            ("Splice.Amulet", "LockedAmulet"),
            locked,
            &[DSO, TREASURY],
            &[],
        ));
        nodes.push(amulet(&cid(101), TREASURY, &self.change().to_string()));
        let Some(Sum::Record(args)) = self.choice_argument().sum else {
            unreachable!()
        };
        let mut transfer = args.fields[1].value.clone().unwrap();
        *field_mut(&mut transfer, "inputHoldingCids") = list(vec![contract(&cid(102))]);
        let instruction = rec(&[
            ("lockedAmulet", contract(&cid(102))),
            ("transfer", transfer),
        ]);
        nodes.push(create(
            &cid(103),
            (
                "Splice.AmuletTransferInstruction",
                "AmuletTransferInstruction",
            ),
            instruction,
            &[DSO, TREASURY],
            &[&self.receiver],
        ));
        let disclosed = [FACTORY, AMULET_RULES, OPEN_ROUND];
        let mut inputs = reference_inputs(&disclosed);
        inputs.extend(self.input_holdings());
        let prepared = PreparedTransaction {
            transaction: Some(transaction(nodes)),
            metadata: Some(metadata(inputs)),
        };
        (self.intent(&disclosed), prepared)
    }
}

pub fn common(disclosed: &[u32]) -> Common {
    Common {
        treasury: PartyId::new(TREASURY).unwrap(),
        synchronizer: SynchronizerId::new(SYNC).unwrap(),
        disclosed: disclosed
            .iter()
            .map(|n| ContractId::new(&cid(*n)).unwrap())
            .collect(),
    }
}

pub fn amulet_instrument() -> InstrumentId {
    InstrumentId {
        admin: PartyId::new(DSO).unwrap(),
        id: "Amulet".to_owned(),
    }
}

/// The treasury accepts Alice's offer of `amount`: Accept → LockedAmulet_Unlock →
/// AmuletRules_Transfer → the treasury's new Amulet.
pub fn accept(amount: &str) -> (Intent, PreparedTransaction) {
    let nodes = vec![
        exercise(Ex {
            cid: cid(INSTRUCTION),
            template: (
                "Splice.AmuletTransferInstruction",
                "AmuletTransferInstruction",
            ),
            interface: Some((
                "Splice.Api.Token.TransferInstructionV1",
                "TransferInstruction",
            )),
            choice: "TransferInstruction_Accept",
            arg: rec(&[(
                "extraArgs",
                rec(&[
                    ("context", rec(&[("values", text_map(&[]))])),
                    ("meta", meta(&[])),
                ]),
            )]),
            consuming: true,
            signatories: &[DSO, ALICE],
            observers: &[TREASURY],
            children: vec!["1".to_owned()],
        }),
        exercise(Ex {
            cid: cid(SENDER_LOCKED),
            template: ("Splice.Amulet", "LockedAmulet"),
            interface: None,
            choice: "LockedAmulet_Unlock",
            arg: rec(&[]),
            consuming: true,
            signatories: &[DSO, ALICE],
            observers: &[],
            children: vec!["2".to_owned()],
        }),
        exercise(Ex {
            cid: cid(AMULET_RULES),
            template: ("Splice.AmuletRules", "AmuletRules"),
            interface: None,
            choice: "AmuletRules_Transfer",
            arg: rec(&[]),
            consuming: false,
            signatories: &[DSO],
            observers: &[],
            children: vec!["3".to_owned()],
        }),
        amulet(&cid(104), TREASURY, amount),
    ];
    let mut inputs = reference_inputs(&[AMULET_RULES]);
    inputs.push(input(create(
        &cid(INSTRUCTION),
        (
            "Splice.AmuletTransferInstruction",
            "AmuletTransferInstruction",
        ),
        rec(&[("lockedAmulet", contract(&cid(SENDER_LOCKED)))]),
        &[DSO, ALICE],
        &[TREASURY],
    )));
    let locked = rec(&[("amulet", amulet_arg(ALICE, amount)), ("lock", rec(&[]))]);
    inputs.push(input(create(
        &cid(SENDER_LOCKED),
        ("Splice.Amulet", "LockedAmulet"),
        locked,
        &[DSO, ALICE],
        &[],
    )));
    let prepared = PreparedTransaction {
        transaction: Some(transaction(nodes)),
        metadata: Some(metadata(inputs)),
    };
    let intent = Intent::AcceptInstruction(AcceptIntent {
        common: common(&[AMULET_RULES, SENDER_LOCKED]),
        instruction: ContractId::new(&cid(INSTRUCTION)).unwrap(),
        instrument: amulet_instrument(),
        through: Standard::V1,
    });
    (intent, prepared)
}

// ---- tampering helpers ----

/// What the node would answer: the V2 hash of these very bytes.
pub fn node_hash(prepared: &PreparedTransaction) -> [u8; 32] {
    *hash_prepared_transaction(prepared, HashingSchemeVersion::V2)
        .expect("hashable")
        .prepared_transaction
        .as_bytes()
}

pub fn nodes_mut(prepared: &mut PreparedTransaction) -> &mut Vec<Node> {
    &mut prepared.transaction.as_mut().unwrap().nodes
}

pub fn node_mut(prepared: &mut PreparedTransaction, index: usize) -> &mut v1::NodeType {
    match &mut nodes_mut(prepared)[index].versioned_node {
        Some(VersionedNode::V1(v1::Node { node_type: Some(n) })) => n,
        _ => panic!("no node"),
    }
}

pub fn root_argument(prepared: &mut PreparedTransaction) -> &mut Value {
    match node_mut(prepared, 0) {
        v1::NodeType::Exercise(e) => e.chosen_value.as_mut().unwrap(),
        _ => panic!("root is not an exercise"),
    }
}

pub fn transfer_field<'a>(prepared: &'a mut PreparedTransaction, label: &str) -> &'a mut Value {
    field_mut(field_mut(root_argument(prepared), "transfer"), label)
}

/// Appends `node` as a child of the node at `parent` (with a seed), keeping the tree whole.
pub fn add_child(prepared: &mut PreparedTransaction, parent: usize, node: v1::NodeType) {
    let tx = prepared.transaction.as_mut().unwrap();
    let index = tx.nodes.len();
    if matches!(node, v1::NodeType::Create(_) | v1::NodeType::Exercise(_)) {
        tx.node_seeds.push(NodeSeed {
            node_id: index as i32,
            seed: vec![0xee; 32],
        });
    }
    tx.nodes.push(Node {
        node_id: index.to_string(),
        versioned_node: Some(VersionedNode::V1(v1::Node {
            node_type: Some(node),
        })),
    });
    match node_mut(prepared, parent) {
        v1::NodeType::Exercise(e) => e.children.push(index.to_string()),
        _ => panic!("parent is not an exercise"),
    }
}

/// A signer that only counts: the verifier must never reach it with a tampered transaction.
#[derive(Default)]
pub struct CountingSigner {
    pub calls: Cell<usize>,
}

impl Signer for CountingSigner {
    fn public_key(&self) -> PublicKey {
        PublicKey([7; 32])
    }

    fn sign(&self, verified: &Verified) -> Result<Signature, SignError> {
        self.calls.set(self.calls.get() + 1);
        let mut sig = [0; 64];
        sig[..32].copy_from_slice(verified.hash());
        Ok(Signature(sig))
    }

    fn sign_onboarding(&self, verified: &VerifiedOnboarding) -> Result<Signature, SignError> {
        self.calls.set(self.calls.get() + 1);
        let mut sig = [0; 64];
        sig[..34].copy_from_slice(verified.multi_hash());
        Ok(Signature(sig))
    }
}

pub fn set_of(ids: &[&str]) -> BTreeSet<ContractId> {
    ids.iter().map(|c| ContractId::new(c).unwrap()).collect()
}

// ---- the sandbox's offer-style token (SBX) ----

pub const SBX_ADMIN: &str = "sbx-admin::1220abab";

pub fn token_holding(cid: &str, owner: &str, amount: &str, locked: bool) -> v1::NodeType {
    let lock = if locked {
        some(rec(&[("holders", list(vec![party(SBX_ADMIN)]))]))
    } else {
        v(Sum::Optional(Optional { value: None }))
    };
    let arg = rec(&[
        ("admin", party(SBX_ADMIN)),
        ("owner", party(owner)),
        ("amount", numeric(amount)),
        ("lock", lock),
    ]);
    create(
        cid,
        ("Sandbox.Token", "TokenHolding"),
        arg,
        &[SBX_ADMIN, owner],
        &[],
    )
}

impl Transfer {
    /// An SBX offer: Transfer on the token's factory → archive inputs, the treasury's locked
    /// holding, its change, the `TokenTransferInstruction`.
    pub fn sbx_offer(&self) -> (Intent, PreparedTransaction) {
        let t = Transfer {
            admin: SBX_ADMIN.to_owned(),
            instrument: "SBX".to_owned(),
            ..self.clone()
        };
        let n = t.inputs.len();
        let mut root = t.root((1..n + 4).map(|i| i.to_string()).collect());
        if let v1::NodeType::Exercise(e) = &mut root {
            e.template_id = Some(id("Sandbox.Token", "TokenTransferFactory"));
            e.signatories = vec![SBX_ADMIN.to_owned()];
            e.stakeholders = vec![SBX_ADMIN.to_owned()];
        }
        let mut nodes = vec![root];
        for i in 0..n {
            nodes.push(exercise(Ex {
                cid: input_cid(i),
                template: ("Sandbox.Token", "TokenHolding"),
                interface: None,
                choice: "Archive",
                arg: rec(&[]),
                consuming: true,
                signatories: &[SBX_ADMIN, TREASURY],
                observers: &[],
                children: vec![],
            }));
        }
        nodes.push(token_holding(&cid(102), TREASURY, &t.amount, true));
        nodes.push(token_holding(
            &cid(101),
            TREASURY,
            &t.change().to_string(),
            false,
        ));
        let Some(Sum::Record(args)) = t.choice_argument().sum else {
            unreachable!()
        };
        let mut transfer = args.fields[1].value.clone().unwrap();
        *field_mut(&mut transfer, "inputHoldingCids") = list(vec![contract(&cid(102))]);
        let instruction = rec(&[
            ("transfer", transfer),
            ("lockedHolding", contract(&cid(102))),
        ]);
        nodes.push(create(
            &cid(103),
            ("Sandbox.Token", "TokenTransferInstruction"),
            instruction,
            &[SBX_ADMIN, TREASURY],
            &[&t.receiver],
        ));
        let factory = create(
            &cid(FACTORY),
            ("Sandbox.Token", "TokenTransferFactory"),
            rec(&[("admin", party(SBX_ADMIN))]),
            &[SBX_ADMIN],
            &[],
        );
        let mut inputs = vec![input(factory)];
        inputs.extend(
            t.inputs
                .iter()
                .enumerate()
                .map(|(i, a)| input(token_holding(&input_cid(i), TREASURY, a, false))),
        );
        let prepared = PreparedTransaction {
            transaction: Some(transaction(nodes)),
            metadata: Some(metadata(inputs)),
        };
        (t.intent(&[FACTORY]), prepared)
    }
}
