//! Properties of the verifier over generated Canton Coin transfers, the real Wallet SDK prepared
//! transactions (a participant's `TransferPreapprovalProposal` create), and hostile bytes.

mod signing_support;

use std::path::PathBuf;

use base64::Engine;
use canton_interactive::proto::PreparedTransaction;
use canton_interactive::{decode_prepared_transaction, encode_prepared_transaction};
use exchange_core::signing::{
    Intent, Mismatch, PreapprovalIntent, REASON_KEY, Refused, verify, verify_and_sign, verify_bytes,
};
use exchange_core::{PartyId, SynchronizerId};
use proptest::prelude::*;
use signing_support::*;

fn transfer_strategy() -> impl Strategy<Value = Transfer> {
    (
        1i128..=10_000_000_000_000_000,
        proptest::collection::vec(0i128..=5_000_000_000_000_000, 1..6),
        "[ -~]{0,40}",
        prop_oneof![
            Just(ALICE.to_owned()),
            Just(TREASURY.to_owned()),
            "[a-z]{1,8}::1220[0-9a-f]{8}"
        ],
    )
        .prop_map(|(amount, extra, memo, receiver)| {
            // Inputs cover the amount: the first carries it, the others add change.
            let mut inputs: Vec<String> = extra.iter().map(|u| unit(*u)).collect();
            inputs[0] = unit(amount + extra[0]);
            Transfer {
                receiver,
                amount: unit(amount),
                memo,
                inputs,
                ..Transfer::default()
            }
        })
}

fn unit(units: i128) -> String {
    exchange_core::Amount::from_units(units)
        .unwrap()
        .to_string()
}

/// One single-field tampering of a direct transfer, and what the refusal must name.
fn tamper(which: usize, p: &mut PreparedTransaction, t: &Transfer) -> &'static str {
    match which {
        0 => {
            *transfer_field(p, "receiver") = party(MALLORY);
            "transfer.receiver"
        }
        1 => {
            let more = t.amount.parse::<exchange_core::Amount>().unwrap().units() + 1;
            *transfer_field(p, "amount") = numeric(&unit(more));
            "transfer.amount"
        }
        2 => {
            *field_mut(transfer_field(p, "instrumentId"), "id") = text("NotAmulet");
            "transfer.instrumentId.id"
        }
        3 => {
            *transfer_field(p, "meta") = meta(&[(REASON_KEY, &format!("{}!", t.memo))]);
            "transfer.meta.values"
        }
        4 => {
            *transfer_field(p, "inputHoldingCids") = list(vec![contract(&cid(99))]);
            "transfer.inputHoldingCids"
        }
        5 => {
            p.metadata
                .as_mut()
                .unwrap()
                .submitter_info
                .as_mut()
                .unwrap()
                .act_as
                .push(MALLORY.to_owned());
            "metadata.submitter_info.act_as"
        }
        6 => {
            add_child(p, 2, amulet(&cid(130), TREASURY, "1.0000000000"));
            add_child(p, 2, amulet(&cid(131), TREASURY, "1.0000000000"));
            "create"
        }
        7 => {
            p.metadata
                .as_mut()
                .unwrap()
                .input_contracts
                .push(input(amulet(&cid(132), TREASURY, "1.0000000000")));
            "input_contracts"
        }
        8 => {
            p.metadata.as_mut().unwrap().synchronizer_id = "other::1220ab".to_owned();
            "metadata.synchronizer_id"
        }
        _ => {
            *transfer_field(p, "executeBefore") = time(EXECUTE_BEFORE - 1);
            "transfer.executeBefore"
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn generated_transfers_pass_untampered(t in transfer_strategy(), kind in 0u8..3) {
        let (intent, prepared) = match kind {
            _ if t.receiver == TREASURY => t.direct(),
            0 => t.direct(),
            1 => t.offer(),
            _ => t.sbx_offer(),
        };
        prop_assert_eq!(verify(&intent, &prepared, &node_hash(&prepared)).map(|_| ()), Ok(()));
    }

    #[test]
    fn every_single_field_tampering_is_refused_and_named(t in transfer_strategy(), which in 0usize..10) {
        let (intent, mut prepared) = t.direct();
        let what = tamper(which, &mut prepared, &t);
        let signer = CountingSigner::default();
        let bytes = encode_prepared_transaction(&prepared);
        let result = verify_and_sign(&signer, &intent, &bytes, &node_hash(&prepared));
        match result {
            Err(Refused::Mismatch(m)) => prop_assert_eq!(m.what(), what, "{}", m),
            other => prop_assert!(false, "not refused: {:?}", other),
        }
        prop_assert_eq!(signer.calls.get(), 0);
    }

    #[test]
    fn hostile_bytes_give_typed_errors(t in transfer_strategy(), cut in any::<prop::sample::Index>(), flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let (intent, prepared) = t.direct();
        let bytes = encode_prepared_transaction(&prepared);
        let hash = node_hash(&prepared);
        // Truncated: refused (decoding, checking or hashing), never a panic.
        let truncated = &bytes[..cut.index(bytes.len())];
        prop_assert!(verify_bytes(&intent, truncated, &hash).is_err());
        // Mutated: refused, never a panic; or passed, when the flips only touched what the V2
        // hash leaves out by design (metadata such as the preparation time, or an unknown field
        // the decoder skips): then the transaction itself, what commits, is unchanged.
        let mut mutated = bytes.clone();
        for (at, byte) in flips {
            let i = at.index(mutated.len());
            mutated[i] ^= byte.max(1);
        }
        if verify_bytes(&intent, &mutated, &hash).is_ok() {
            let decoded = decode_prepared_transaction(&mutated).unwrap();
            prop_assert_eq!(decoded.transaction, prepared.transaction);
        }
    }
}

#[test]
fn wrong_wire_types_and_huge_lengths_are_decode_errors() {
    let (intent, prepared) = Transfer::default().direct();
    let hash = node_hash(&prepared);
    for bytes in [
        vec![0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], // field 1, length 4 GiB
        vec![0x0d, 0x00, 0x00, 0x00, 0x00],       // field 1 as fixed32
        vec![0x0a, 0x05, 0x01],                   // length past the end
        vec![0xff; 16],
    ] {
        let err = verify_bytes(&intent, &bytes, &hash).unwrap_err();
        assert!(matches!(err, Mismatch::Undecodable(_)), "{bytes:?}: {err}");
    }
    // Empty bytes decode to an empty message: refused for what is missing.
    assert_eq!(
        verify_bytes(&intent, &[], &hash).unwrap_err().what(),
        "metadata"
    );
}

// ---- the Wallet SDK's real prepared transactions ----

fn wallet_sdk_vectors() -> Option<serde_json::Value> {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let sub = "shared/specs/canton/test-vectors/wallet-sdk-prepared-transactions.json";
    let path = std::iter::once(crate_dir.join("../../..").join(sub))
        .chain(crate_dir.ancestors().map(|d| d.join(sub)))
        .find(|p| p.is_file());
    let Some(path) = path else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "missing {sub}"
        );
        eprintln!("SKIPPED: missing {sub}");
        return None;
    };
    Some(serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
}

fn real(name: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let file = wallet_sdk_vectors()?;
    let vector = file["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap();
    let b64 = |k: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(vector[k].as_str().unwrap())
            .unwrap()
    };
    Some((
        b64("prepared_transaction_base64"),
        b64("expected_prepared_transaction_hash_base64"),
    ))
}

const BOB: &str = "bob::12205be3b9d177573fffb68eb245986f88b9df58d44ce575819078970580d87d1dc0";
const LOCALNET_PROVIDER: &str = "app_user_localnet-localparty-1::12203a52fe5af3b87e0696182ac668a6cb315dab4bdc30da9e5b6dda9eb728784216";
const LOCALNET_DSO: &str =
    "DSO::1220bbd000b6987573b8c09f444e4df5509af8997b839109d7e2c212d547f0af0950";

fn preapproval_intent(bytes: &[u8], provider: &str) -> Intent {
    let decoded = canton_interactive::decode_prepared_transaction(bytes).unwrap();
    let synchronizer = decoded.metadata.unwrap().synchronizer_id;
    Intent::Preapproval(PreapprovalIntent {
        common: exchange_core::signing::Common {
            treasury: PartyId::new(BOB).unwrap(),
            synchronizer: SynchronizerId::new(&synchronizer).unwrap(),
            disclosed: Default::default(),
        },
        provider: PartyId::new(provider).unwrap(),
        dso: PartyId::new(LOCALNET_DSO).unwrap(),
    })
}

#[test]
fn a_participants_real_preapproval_proposal_passes_with_its_real_hash() {
    let Some((bytes, hash)) = real("transfer_preapproval_proposal") else {
        return;
    };
    let intent = preapproval_intent(&bytes, LOCALNET_PROVIDER);
    let verified = verify_bytes(&intent, &bytes, &hash).unwrap();
    assert_eq!(verified.hash().as_slice(), hash.as_slice());
    assert_eq!(verified.treasury().as_str(), BOB);
}

#[test]
fn the_real_preapproval_proposal_for_another_provider_or_hash_is_refused() {
    let Some((bytes, hash)) = real("transfer_preapproval_proposal") else {
        return;
    };
    let other = preapproval_intent(&bytes, "other-validator::1220abcd");
    assert_eq!(
        verify_bytes(&other, &bytes, &hash).unwrap_err().what(),
        "proposal.provider"
    );
    let mut wrong = hash.clone();
    wrong[31] ^= 0x80;
    let intent = preapproval_intent(&bytes, LOCALNET_PROVIDER);
    assert_eq!(
        verify_bytes(&intent, &bytes, &wrong).unwrap_err().what(),
        "hash"
    );
    // Another treasury: the real act_as is bob's.
    let Intent::Preapproval(mut p) = intent else {
        unreachable!()
    };
    p.common.treasury = PartyId::new(TREASURY).unwrap();
    assert_eq!(
        verify_bytes(&Intent::Preapproval(p), &bytes, &hash)
            .unwrap_err()
            .what(),
        "metadata.submitter_info.act_as"
    );
}

#[test]
fn a_real_ping_is_not_a_transfer() {
    let Some((bytes, hash)) = real("create_ping") else {
        return;
    };
    let decoded = canton_interactive::decode_prepared_transaction(&bytes).unwrap();
    let metadata = decoded.metadata.unwrap();
    let (intent, _) = Transfer::default().direct();
    let Intent::Transfer(mut t) = intent else {
        unreachable!()
    };
    t.common.treasury = PartyId::new(&metadata.submitter_info.unwrap().act_as[0]).unwrap();
    t.common.synchronizer = SynchronizerId::new(&metadata.synchronizer_id).unwrap();
    let err = verify_bytes(&Intent::Transfer(t), &bytes, &hash).unwrap_err();
    assert_eq!(err.what(), "root", "{err}");
}
