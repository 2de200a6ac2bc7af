//! Transaction trees as a submitter builds them, before the ledger numbers and commits them.
//!
//! A transaction is a forest of action nodes in execution order. Fetch nodes are part of it
//! because on a real ledger they take up node ids (the gaps a reader sees, `ledger-api.md` §2.6)
//! even though no reader ever receives them.

use std::collections::BTreeSet;

use crate::daml::Value;
use crate::model::template::Identifier;

#[derive(Debug, Clone)]
pub enum Node {
    Create(Create),
    Exercise(Exercise),
    Fetch(Fetch),
}

#[derive(Debug, Clone)]
pub struct Create {
    pub contract_id: String,
    pub template: Identifier,
    pub argument: Value,
    pub signatories: BTreeSet<String>,
    /// Never contains a signatory (the ledger prints them apart).
    pub observers: BTreeSet<String>,
    /// Every interface the template implements, with this contract's view value.
    pub interfaces: Vec<(Identifier, Value)>,
}

#[derive(Debug, Clone)]
pub struct Exercise {
    pub contract_id: String,
    /// Set when the choice is exercised through an interface (e.g. `TransferFactory`).
    pub interface: Option<Identifier>,
    pub choice: String,
    pub argument: Value,
    pub acting_parties: BTreeSet<String>,
    /// The choice's declared `observer`s: informees of the exercise (and so witnesses of its
    /// subtree) without being stakeholders or actors. Empty for every Splice choice the sandbox
    /// models; the counterfeit token's send uses it to show its transfer to the receiver.
    pub choice_observers: BTreeSet<String>,
    pub consuming: bool,
    pub result: Value,
    pub children: Vec<Node>,
}

#[derive(Debug, Clone)]
pub struct Fetch {
    pub contract_id: String,
    pub acting_parties: BTreeSet<String>,
}

impl Exercise {
    /// The `Archive` choice every template has: consuming, by the signatories, unit in and out.
    pub fn archive(contract_id: &str, signatories: &BTreeSet<String>) -> Exercise {
        Exercise {
            contract_id: contract_id.to_owned(),
            interface: None,
            choice: "Archive".to_owned(),
            argument: Value::record(vec![]),
            acting_parties: signatories.clone(),
            choice_observers: Default::default(),
            consuming: true,
            result: Value::Unit,
            children: vec![],
        }
    }
}

/// A set of parties from anything that yields party strings.
pub fn parties<'a>(items: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    items.into_iter().map(str::to_owned).collect()
}
