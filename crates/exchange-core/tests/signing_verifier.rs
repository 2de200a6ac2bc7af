//! Scenario tests of the verifier: the untampered Canton Coin transactions pass and are signed;
//! every single-field tampering is refused, named, and never reaches the signer.

mod signing_support;

use canton_interactive::encode_prepared_transaction;
use canton_interactive::proto::{PreparedTransaction, v1, value::Sum};
use exchange_core::signing::{Intent, Mismatch, Refused, verify, verify_and_sign};
use signing_support::*;

/// Verifies and signs `prepared` against `intent` with the node's hash being the hash of the
/// (possibly tampered) bytes, so only the semantic checks can refuse it.
fn attempt(intent: &Intent, prepared: &PreparedTransaction) -> (Result<(), Mismatch>, usize) {
    let signer = CountingSigner::default();
    let bytes = encode_prepared_transaction(prepared);
    let result = verify_and_sign(&signer, intent, &bytes, &node_hash(prepared));
    let calls = signer.calls.get();
    match result {
        Ok(_) => (Ok(()), calls),
        Err(Refused::Mismatch(m)) => (Err(m), calls),
        Err(Refused::Signer(e)) => panic!("signer error {e}"),
    }
}

fn assert_refused(intent: &Intent, prepared: &PreparedTransaction, what: &str) -> Mismatch {
    let (result, calls) = attempt(intent, prepared);
    let mismatch = result.expect_err("a tampered transaction must be refused");
    assert_eq!(mismatch.what(), what, "{mismatch}");
    assert_eq!(calls, 0, "the signer was reached");
    mismatch
}

fn tampered_direct(tamper: impl FnOnce(&mut PreparedTransaction)) -> (Intent, PreparedTransaction) {
    let (intent, mut prepared) = Transfer::default().direct();
    tamper(&mut prepared);
    (intent, prepared)
}

#[test]
fn untampered_transactions_pass_and_are_signed_once() {
    for (name, (intent, prepared)) in [
        ("direct", Transfer::default().direct()),
        ("offer", Transfer::default().offer()),
        ("accept", accept("12.5000000000")),
        ("sbx offer", Transfer::default().sbx_offer()),
    ] {
        let (result, calls) = attempt(&intent, &prepared);
        assert_eq!(result, Ok(()), "{name}");
        assert_eq!(calls, 1, "{name}");
        let verified = verify(&intent, &prepared, &node_hash(&prepared)).unwrap();
        assert_eq!(verified.hash(), &node_hash(&prepared));
        assert_eq!(verified.treasury().as_str(), TREASURY);
    }
}

#[test]
fn a_self_transfer_passes_and_keeps_the_amount() {
    let t = Transfer {
        receiver: TREASURY.to_owned(),
        ..Transfer::default()
    };
    let (intent, prepared) = t.direct();
    assert_eq!(attempt(&intent, &prepared).0, Ok(()));
}

type Tamper = Box<dyn Fn(&mut PreparedTransaction)>;

#[test]
fn root_argument_tamperings_are_named() {
    let cases: Vec<(&str, Tamper)> = vec![
        (
            "transfer.receiver",
            Box::new(|p| *transfer_field(p, "receiver") = party(MALLORY)),
        ),
        (
            "transfer.amount",
            Box::new(|p| *transfer_field(p, "amount") = numeric("20.0000000001")),
        ),
        (
            "transfer.sender",
            Box::new(|p| *transfer_field(p, "sender") = party(ALICE)),
        ),
        (
            "transfer.instrumentId.id",
            Box::new(|p| *field_mut(transfer_field(p, "instrumentId"), "id") = text("Amulet2")),
        ),
        (
            "transfer.instrumentId.admin",
            Box::new(|p| *field_mut(transfer_field(p, "instrumentId"), "admin") = party(MALLORY)),
        ),
        (
            "transfer.meta.values",
            Box::new(|p| {
                *transfer_field(p, "meta") =
                    meta(&[(exchange_core::signing::REASON_KEY, "other memo")])
            }),
        ),
        (
            "transfer.meta.values",
            Box::new(|p| {
                *transfer_field(p, "meta") = meta(&[
                    (exchange_core::signing::REASON_KEY, "4331c77f-withdrawal"),
                    ("x", "y"),
                ])
            }),
        ),
        (
            "transfer.inputHoldingCids",
            Box::new(|p| {
                *transfer_field(p, "inputHoldingCids") = list(vec![contract(&input_cid(0))])
            }),
        ),
        (
            "transfer.executeBefore",
            Box::new(|p| *transfer_field(p, "executeBefore") = time(EXECUTE_BEFORE + 1)),
        ),
        (
            "transfer.requestedAt",
            Box::new(|p| *transfer_field(p, "requestedAt") = time(REQUESTED_AT - 1)),
        ),
        (
            "choice.expectedAdmin",
            Box::new(|p| *field_mut(root_argument(p), "expectedAdmin") = party(MALLORY)),
        ),
        (
            "extraArgs.meta.values",
            Box::new(|p| {
                *field_mut(field_mut(root_argument(p), "extraArgs"), "meta") = meta(&[("k", "v")])
            }),
        ),
        // A wrong shape is named too, never read as a default.
        (
            "transfer.amount",
            Box::new(|p| *transfer_field(p, "amount") = text("20")),
        ),
    ];
    for (what, tamper) in cases {
        let (intent, prepared) = tampered_direct(|p| tamper(p));
        assert_refused(&intent, &prepared, what);
    }
}

#[test]
fn root_node_tamperings_are_named() {
    let with_root = |f: &dyn Fn(&mut v1::Exercise)| {
        tampered_direct(|p| match node_mut(p, 0) {
            v1::NodeType::Exercise(e) => f(e),
            _ => unreachable!(),
        })
    };
    let (i, p) = with_root(&|e| e.contract_id = cid(PREAPPROVAL));
    assert_refused(&i, &p, "root.contract_id");
    let (i, p) = with_root(&|e| e.choice_id = "TransferFactory_PublicFetch".to_owned());
    assert_refused(&i, &p, "root.choice_id");
    let (i, p) = with_root(&|e| e.acting_parties.push(MALLORY.to_owned()));
    assert_refused(&i, &p, "root.acting_parties");
    let (i, p) = with_root(&|e| e.interface_id = Some(id("Evil", "TransferFactory")));
    assert_refused(&i, &p, "root.interface_id");
    // A second root.
    let (i, p) = tampered_direct(|p| p.transaction.as_mut().unwrap().roots.push("3".to_owned()));
    assert_refused(&i, &p, "transaction.roots");
}

#[test]
fn metadata_tamperings_are_named() {
    let (i, p) = tampered_direct(|p| {
        p.metadata
            .as_mut()
            .unwrap()
            .submitter_info
            .as_mut()
            .unwrap()
            .act_as
            .push(ALICE.to_owned())
    });
    assert_refused(&i, &p, "metadata.submitter_info.act_as");
    let (i, p) = tampered_direct(|p| {
        p.metadata
            .as_mut()
            .unwrap()
            .submitter_info
            .as_mut()
            .unwrap()
            .act_as = vec![ALICE.to_owned()]
    });
    assert_refused(&i, &p, "metadata.submitter_info.act_as");
    let (i, p) = tampered_direct(|p| {
        p.metadata.as_mut().unwrap().synchronizer_id = "other::1220ab".to_owned()
    });
    assert_refused(&i, &p, "metadata.synchronizer_id");
}

#[test]
fn an_extra_input_contract_is_refused() {
    let (i, p) = tampered_direct(|p| {
        let extra = input(amulet(&cid(77), TREASURY, "1000.0000000000"));
        p.metadata.as_mut().unwrap().input_contracts.push(extra);
    });
    let m = assert_refused(&i, &p, "input_contracts");
    assert_eq!(
        m,
        Mismatch::UnexpectedInputContract {
            contract_id: cid(77)
        }
    );
}

#[test]
fn a_selected_input_missing_from_the_input_contracts_is_refused() {
    let (i, p) = tampered_direct(|p| {
        p.metadata.as_mut().unwrap().input_contracts.retain(|c| {
            !matches!(&c.contract, Some(canton_interactive::proto::InputContractVersion::V1(c)) if c.contract_id == input_cid(1))
        })
    });
    // The archive of the input now acts on a contract the transaction does not know, but the
    // missing input is what is named first.
    let m = assert_refused(&i, &p, "input_contracts");
    assert_eq!(
        m,
        Mismatch::MissingInputContract {
            contract_id: input_cid(1)
        }
    );
}

#[test]
fn archiving_a_treasury_contract_that_is_not_an_input_is_refused() {
    // Even a contract the registry disclosed: the treasury's own preapproval, archived.
    let (intent, mut prepared) = Transfer::default().direct();
    let own = create(
        &cid(78),
        ("Splice.AmuletRules", "TransferPreapproval"),
        rec(&[]),
        &[TREASURY, PROVIDER, DSO],
        &[],
    );
    prepared
        .metadata
        .as_mut()
        .unwrap()
        .input_contracts
        .push(input(own));
    let Intent::Transfer(mut t) = intent else {
        unreachable!()
    };
    t.common
        .disclosed
        .insert(exchange_core::ContractId::new(&cid(78)).unwrap());
    add_child(
        &mut prepared,
        2,
        exercise(Ex {
            cid: cid(78),
            template: ("Splice.AmuletRules", "TransferPreapproval"),
            interface: None,
            choice: "TransferPreapproval_Cancel",
            arg: rec(&[]),
            consuming: true,
            signatories: &[TREASURY, PROVIDER, DSO],
            observers: &[],
            children: vec![],
        }),
    );
    let m = assert_refused(&Intent::Transfer(t), &prepared, "archive");
    assert!(m.to_string().contains(&cid(78)), "{m}");
}

#[test]
fn extra_creates_for_the_treasury_are_refused() {
    let extra: Vec<(&str, v1::NodeType)> = vec![
        (
            "a second change",
            amulet(&cid(120), TREASURY, "1.0000000000"),
        ),
        (
            "another instrument",
            create(
                &cid(121),
                ("Splice.Amulet", "Amulet"),
                amulet_arg_of(MALLORY, TREASURY, "1.0000000000"),
                &[MALLORY, TREASURY],
                &[],
            ),
        ),
        (
            "a locked holding in a direct transfer",
            create(
                &cid(122),
                ("Splice.Amulet", "LockedAmulet"),
                rec(&[
                    ("amulet", amulet_arg(TREASURY, "5.0000000000")),
                    ("lock", rec(&[])),
                ]),
                &[DSO, TREASURY],
                &[],
            ),
        ),
        (
            "an obligation of the treasury",
            create(
                &cid(123),
                ("Mallory.Iou", "Iou"),
                rec(&[("issuer", party(TREASURY))]),
                &[TREASURY],
                &[MALLORY],
            ),
        ),
        (
            "a holding of someone else the treasury signs",
            amulet(&cid(124), MALLORY, "0.0000000000").with_signatory(TREASURY),
        ),
    ];
    for (name, node) in extra {
        let (i, p) = tampered_direct(|p| add_child(p, 2, node));
        let (result, calls) = attempt(&i, &p);
        let m = result.expect_err(name);
        assert_eq!(m.what(), "create", "{name}: {m}");
        assert_eq!(calls, 0);
    }
}

trait WithSignatory {
    fn with_signatory(self, party: &str) -> Self;
}

impl WithSignatory for v1::NodeType {
    fn with_signatory(mut self, p: &str) -> Self {
        if let v1::NodeType::Create(c) = &mut self {
            c.signatories.push(p.to_owned());
            c.stakeholders.push(p.to_owned());
        }
        self
    }
}

#[test]
fn paying_someone_else_out_of_the_change_is_refused() {
    // The change shrinks by 5 and Mallory gets 5: every create of the treasury's is fine on its
    // own, but the treasury spends more than the amount.
    let (i, p) = tampered_direct(|p| {
        let change_index = nodes_mut(p).len() - 1;
        *node_mut(p, change_index) = amulet(&cid(101), TREASURY, "0.0000000000");
        add_child(p, 2, amulet(&cid(125), MALLORY, "5.0000000000"));
    });
    let m = assert_refused(&i, &p, "spend");
    assert_eq!(
        m,
        Mismatch::Overspend {
            limit: "20".parse().unwrap(),
            found: "25".parse().unwrap()
        }
    );
}

#[test]
fn the_receiver_must_be_paid_or_offered_the_amount() {
    // The receiver's holding goes to Mallory instead, root arguments untouched.
    let (i, p) = tampered_direct(|p| {
        let index = nodes_mut(p).len() - 2;
        *node_mut(p, index) = amulet(&cid(100), MALLORY, "20.0000000000");
    });
    assert_refused(&i, &p, "delivery");
    // An offer whose instruction names someone else.
    let (i, mut p) = Transfer::default().offer();
    let last = nodes_mut(&mut p).len() - 1;
    if let v1::NodeType::Create(c) = node_mut(&mut p, last) {
        *field_mut(
            field_mut(c.argument.as_mut().unwrap(), "transfer"),
            "receiver",
        ) = party(MALLORY);
    }
    assert_refused(&i, &p, "create");
}

#[test]
fn a_rollback_node_is_refused() {
    let (i, p) = tampered_direct(|p| {
        add_child(
            p,
            2,
            v1::NodeType::Rollback(v1::Rollback { children: vec![] }),
        )
    });
    assert_refused(&i, &p, "rollback");
}

#[test]
fn a_node_on_an_unknown_contract_is_refused() {
    let (i, p) =
        tampered_direct(|p| add_child(p, 2, fetch(&cid(90), ("Splice.Round", "OpenMiningRound"))));
    assert_refused(&i, &p, "unknown_contract");
}

#[test]
fn a_hash_that_is_not_the_hash_of_the_bytes_is_refused() {
    let (intent, prepared) = Transfer::default().direct();
    let signer = CountingSigner::default();
    let bytes = encode_prepared_transaction(&prepared);
    let mut wrong = node_hash(&prepared);
    wrong[0] ^= 1;
    let err = verify_and_sign(&signer, &intent, &bytes, &wrong).unwrap_err();
    assert!(
        matches!(err, Refused::Mismatch(Mismatch::Hash { .. })),
        "{err}"
    );
    // The node's hash of the original, handed out with tampered bytes (a memo-neutral change
    // the checks do not read: the command id).
    let mut tampered = prepared.clone();
    tampered
        .metadata
        .as_mut()
        .unwrap()
        .submitter_info
        .as_mut()
        .unwrap()
        .command_id = "other".to_owned();
    let err = verify_and_sign(
        &signer,
        &intent,
        &encode_prepared_transaction(&tampered),
        &node_hash(&prepared),
    )
    .unwrap_err();
    assert!(
        matches!(err, Refused::Mismatch(Mismatch::Hash { .. })),
        "{err}"
    );
    // A hash of the wrong length.
    let err = verify_and_sign(&signer, &intent, &bytes, &[0; 31]).unwrap_err();
    assert!(
        matches!(err, Refused::Mismatch(Mismatch::Hash { .. })),
        "{err}"
    );
    assert_eq!(signer.calls.get(), 0);
}

#[test]
fn accept_tamperings_are_named() {
    let (i, mut p) = accept("12.5000000000");
    if let v1::NodeType::Exercise(e) = node_mut(&mut p, 0) {
        e.contract_id = cid(SENDER_LOCKED);
    }
    assert_refused(&i, &p, "root.contract_id");
    // The received holding goes to the treasury but in another instrument.
    let (i, mut p) = accept("12.5000000000");
    *node_mut(&mut p, 3) = create(
        &cid(104),
        ("Splice.Amulet", "Amulet"),
        amulet_arg_of(MALLORY, TREASURY, "12.5000000000"),
        &[MALLORY, TREASURY],
        &[],
    );
    assert_refused(&i, &p, "create");
    // The accept also archives a treasury holding.
    let (i, mut p) = accept("12.5000000000");
    p.metadata
        .as_mut()
        .unwrap()
        .input_contracts
        .push(input(amulet(&cid(79), TREASURY, "3.0000000000")));
    assert_refused(&i, &p, "input_contracts");
}

#[test]
fn a_value_of_the_wrong_variant_is_named_not_defaulted() {
    let (i, p) = tampered_direct(|p| {
        *transfer_field(p, "receiver") = v(Sum::Text(ALICE.to_owned()));
    });
    let m = assert_refused(&i, &p, "transfer.receiver");
    assert!(
        m.to_string().contains("expected a Party, found Text"),
        "{m}"
    );
}

#[test]
fn an_input_that_is_not_a_treasury_holding_of_the_instrument_is_refused() {
    // The input contract's create says the holding is Alice's: the spend cannot be accounted.
    let (i, p) = tampered_direct(|p| {
        for c in &mut p.metadata.as_mut().unwrap().input_contracts {
            if let Some(canton_interactive::proto::InputContractVersion::V1(c)) = &mut c.contract
                && c.contract_id == input_cid(0)
            {
                c.argument = Some(amulet_arg(ALICE, "15.0000000000"));
            }
        }
    });
    let m = assert_refused(&i, &p, &format!("input {}", input_cid(0)));
    assert!(m.to_string().contains(ALICE), "{m}");
}

#[test]
fn an_expired_locked_input_unlocked_on_the_fly_passes() {
    // Input 0 is the treasury's LockedAmulet whose lock expired: Canton Coin unlocks it
    // (`LockedAmulet_OwnerExpireLock`, a new Amulet) and spends that new Amulet in the same
    // transaction. Neither the unlocked coin nor its archive is foreign to the intent.
    let t = Transfer::default();
    let (intent, mut p) = t.direct();
    let locked = rec(&[
        ("amulet", amulet_arg(TREASURY, &t.inputs[0])),
        ("lock", rec(&[("holders", list(vec![party(DSO)]))])),
    ]);
    for c in &mut p.metadata.as_mut().unwrap().input_contracts {
        if let Some(canton_interactive::proto::InputContractVersion::V1(c)) = &mut c.contract
            && c.contract_id == input_cid(0)
        {
            c.template_id = Some(id("Splice.Amulet", "LockedAmulet"));
            c.argument = Some(locked.clone());
        }
    }
    // The archive of input 0 (node 4) becomes the expiry, whose new Amulet is then archived.
    if let v1::NodeType::Exercise(e) = node_mut(&mut p, 4) {
        e.template_id = Some(id("Splice.Amulet", "LockedAmulet"));
        e.choice_id = "LockedAmulet_OwnerExpireLock".to_owned();
    }
    add_child(&mut p, 4, amulet(&cid(140), TREASURY, &t.inputs[0]));
    add_child(
        &mut p,
        2,
        exercise(Ex {
            cid: cid(140),
            template: ("Splice.Amulet", "Amulet"),
            interface: None,
            choice: "Archive",
            arg: rec(&[]),
            consuming: true,
            signatories: &[DSO, TREASURY],
            observers: &[],
            children: vec![],
        }),
    );
    assert_eq!(attempt(&intent, &p).0, Ok(()));
    // Without its archive, the unlocked coin is a second holding kept: refused, named.
    let (intent, mut p2) = t.direct();
    add_child(&mut p2, 2, amulet(&cid(141), TREASURY, "1.0000000000"));
    let m = assert_refused(&intent, &p2, "create");
    assert!(m.to_string().contains("more than 1 unlocked"), "{m}");
}

#[test]
fn sbx_offer_tamperings_are_named() {
    // The locked holding is another instrument's (admin).
    let (i, mut p) = Transfer::default().sbx_offer();
    let locked = 1 + Transfer::default().inputs.len();
    if let v1::NodeType::Create(c) = node_mut(&mut p, locked) {
        *field_mut(c.argument.as_mut().unwrap(), "admin") = party(MALLORY);
    }
    let m = assert_refused(&i, &p, "create");
    assert!(m.to_string().contains(MALLORY), "{m}");
    // The change shrinks: the treasury spends more than the amount.
    let (i, mut p) = Transfer::default().sbx_offer();
    *node_mut(&mut p, locked + 1) = token_holding(&cid(101), TREASURY, "1.0000000000", false);
    assert_refused(&i, &p, "spend");
    // The instruction offers a different amount.
    let (i, mut p) = Transfer::default().sbx_offer();
    if let v1::NodeType::Create(c) = node_mut(&mut p, locked + 2) {
        *field_mut(
            field_mut(c.argument.as_mut().unwrap(), "transfer"),
            "amount",
        ) = numeric("2.0");
    }
    assert_refused(&i, &p, "create");
}
