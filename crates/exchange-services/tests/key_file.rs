//! The treasury's key file: written 0600 and never over another, refused when others may read
//! it, never leaking the secret in errors or `Debug`, and signing only verified transactions.

use std::os::unix::fs::PermissionsExt;

use canton_interactive::proto::{
    DamlTransaction, Identifier, Metadata, Node, NodeSeed, PreparedTransaction, Record,
    RecordField, SubmitterInfo, Value, VersionedNode, v1, value::Sum,
};
use canton_interactive::{HashingSchemeVersion, hash_prepared_transaction};
use ed25519_dalek::{Signature as DalekSignature, Verifier, VerifyingKey};
use exchange_core::signing::{Common, Intent, PreapprovalIntent, Signer, verify};
use exchange_core::{PartyId, SynchronizerId};
use exchange_services::signer::{FileSigner, KeyFileError};

fn secret_of(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let line = text.lines().find(|l| l.starts_with("secret-key=")).unwrap();
    line["secret-key=".len()..].to_owned()
}

#[test]
fn a_generated_key_file_is_0600_loads_back_and_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("treasury.key");
    let generated = FileSigner::generate(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let loaded = FileSigner::load(&path).unwrap();
    assert_eq!(loaded.public_key(), generated.public_key());
    let before = std::fs::read(&path).unwrap();
    let err = FileSigner::generate(&path).unwrap_err();
    assert!(matches!(err, KeyFileError::Exists { .. }), "{err}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the key was overwritten"
    );
    // Debug shows the public key, never the secret.
    let secret = secret_of(&path);
    assert!(!format!("{loaded:?}").contains(&secret));
    assert!(format!("{loaded:?}").contains(&loaded.public_key().to_hex()));
}

#[test]
fn a_key_file_others_may_access_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("treasury.key");
    FileSigner::generate(&path).unwrap();
    for mode in [0o640, 0o604, 0o660, 0o602] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let err = FileSigner::load(&path).unwrap_err();
        assert!(
            matches!(err, KeyFileError::Permissions { .. }),
            "{mode:o}: {err}"
        );
        assert!(err.to_string().contains("chmod 600"));
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
    FileSigner::load(&path).unwrap();
}

#[test]
fn malformed_key_files_are_refused_without_echoing_them() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.key");
    FileSigner::generate(&good).unwrap();
    let text = std::fs::read_to_string(&good).unwrap();
    let secret = secret_of(&good);
    let other_secret = "11".repeat(32);
    let cases = [
        text.replace("format=canton-exchange/ed25519-key/v1", "format=v0"),
        text.replace(&secret, &secret[..62]),
        text.replace(&secret, &other_secret),
        format!("{text}secret-key={secret}\n"),
        text.replace("secret-key=", "secret="),
        text.lines()
            .filter(|l| !l.starts_with("public-key"))
            .collect::<Vec<_>>()
            .join("\n"),
    ];
    for (i, content) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.key"));
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = FileSigner::load(&path).unwrap_err();
        assert!(
            matches!(err, KeyFileError::Malformed { .. }),
            "case {i}: {err}"
        );
        let shown = format!("{err} {err:?}");
        assert!(
            !shown.contains(&secret[..16]) && !shown.contains(&other_secret[..16]),
            "case {i}: {shown}"
        );
    }
}

fn value(sum: Sum) -> Value {
    Value::of(sum)
}

/// A lone `TransferPreapprovalProposal` create by `treasury`, and its intent.
fn preapproval(treasury: &str) -> (Intent, PreparedTransaction) {
    let fields = [("receiver", treasury), ("provider", "validator::1220ee")]
        .into_iter()
        .map(|(l, p)| RecordField {
            label: l.to_owned(),
            value: Some(value(Sum::Party(p.to_owned()))),
        })
        .chain(std::iter::once(RecordField {
            label: "expectedDso".to_owned(),
            value: Some(value(Sum::Optional(canton_interactive::proto::Optional {
                value: Some(Box::new(value(Sum::Party("DSO::1220cc".to_owned())))),
            }))),
        }))
        .collect();
    let create = v1::Create {
        lf_version: "2.1".to_owned(),
        contract_id: format!("00{:064x}", 9),
        package_name: "splice-wallet".to_owned(),
        template_id: Some(Identifier {
            package_id: "ab".repeat(32),
            module_name: "Splice.Wallet.TransferPreapproval".to_owned(),
            entity_name: "TransferPreapprovalProposal".to_owned(),
        }),
        argument: Some(value(Sum::Record(Record {
            record_id: None,
            fields,
        }))),
        signatories: vec![treasury.to_owned()],
        stakeholders: vec![treasury.to_owned(), "validator::1220ee".to_owned()],
    };
    let prepared = PreparedTransaction {
        transaction: Some(DamlTransaction {
            version: "2.1".to_owned(),
            roots: vec!["0".to_owned()],
            nodes: vec![Node {
                node_id: "0".to_owned(),
                versioned_node: Some(VersionedNode::V1(v1::Node {
                    node_type: Some(v1::NodeType::Create(create)),
                })),
            }],
            node_seeds: vec![NodeSeed {
                node_id: 0,
                seed: vec![3; 32],
            }],
        }),
        metadata: Some(Metadata {
            submitter_info: Some(SubmitterInfo {
                act_as: vec![treasury.to_owned()],
                command_id: "c".to_owned(),
            }),
            synchronizer_id: "sync::1220ff".to_owned(),
            transaction_uuid: "u".to_owned(),
            preparation_time: 1,
            ..Default::default()
        }),
    };
    let intent = Intent::Preapproval(PreapprovalIntent {
        common: Common {
            treasury: PartyId::new(treasury).unwrap(),
            synchronizer: SynchronizerId::new("sync::1220ff").unwrap(),
            disclosed: Default::default(),
        },
        provider: PartyId::new("validator::1220ee").unwrap(),
        dso: PartyId::new("DSO::1220cc").unwrap(),
    });
    (intent, prepared)
}

#[test]
fn the_file_signer_signs_the_verified_hash_with_the_files_key() {
    let dir = tempfile::tempdir().unwrap();
    let signer = FileSigner::generate(&dir.path().join("k")).unwrap();
    let treasury = format!("treasury::{}", signer.public_key().fingerprint());
    let (intent, prepared) = preapproval(&treasury);
    let hash = *hash_prepared_transaction(&prepared, HashingSchemeVersion::V2)
        .unwrap()
        .prepared_transaction
        .as_bytes();
    let verified = verify(&intent, &prepared, &hash).unwrap();
    let signature = signer.sign(&verified).unwrap();
    let key = VerifyingKey::from_bytes(&signer.public_key().0).unwrap();
    key.verify(&hash, &DalekSignature::from_bytes(&signature.0))
        .unwrap();
}
