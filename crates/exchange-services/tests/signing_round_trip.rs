//! Signing without signing blind, end to end on the sandbox: the treasury is an external party
//! whose key lives in a 0600 key file; a Canton Coin transfer is prepared by the node (with the
//! registry's factory, choice context and disclosures), decoded, verified against what the
//! exchange asked for, re-hashed, signed by the file signer and executed, and it commits. When the
//! node lies in what it prepares (each tamper fault of the sandbox), nothing is signed and the
//! refusal names what differs.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use canton_sandbox::{Sandbox, SandboxConfig, TamperKind};
use exchange_core::signing::{Common, Intent, Refused, Signer, TransferIntent, verify_and_sign};
use exchange_core::{Amount, ContractId, InstrumentId, PartyId, SynchronizerId};
use exchange_services::signer::FileSigner;
use serde_json::{Value, json};

const MEMO: &str = "w-signed-1";
const REQUESTED_AT: &str = "2025-09-26T09:00:00Z";
const EXECUTE_BEFORE: &str = "2099-01-01T00:00:00Z";

struct Net {
    sandbox: Sandbox,
    http: reqwest::Client,
    base: String,
    treasury: String,
    fingerprint: String,
    alice: String,
    signer: FileSigner,
    _keys: tempfile::TempDir,
}

impl Net {
    async fn start() -> Net {
        let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
        let keys = tempfile::tempdir().unwrap();
        let signer = FileSigner::generate(&keys.path().join("treasury.key")).unwrap();
        let mut net = Net {
            base: sandbox.ledger_api_url(),
            sandbox,
            http: reqwest::Client::new(),
            treasury: String::new(),
            fingerprint: String::new(),
            alice: String::new(),
            signer,
            _keys: keys,
        };
        let public = BASE64.encode(net.signer.public_key().0);
        let treasury = net
            .post(
                "/sandbox/control/external-parties",
                json!({"hint": "treasury", "publicKey": public}),
            )
            .await;
        net.treasury = treasury["party"].as_str().unwrap().to_owned();
        net.fingerprint = treasury["publicKeyFingerprint"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(net.fingerprint, net.signer.public_key().fingerprint());
        let alice = net
            .post("/sandbox/control/parties", json!({"hint": "alice"}))
            .await;
        net.alice = alice["party"].as_str().unwrap().to_owned();
        net.post(
            "/sandbox/control/preapprovals",
            json!({"receiver": net.alice}),
        )
        .await;
        net
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.try_post(path, body).await.unwrap()
    }

    /// The answer, or the error status and body.
    async fn try_post(&self, path: &str, body: Value) -> Result<Value, String> {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let r = self.http.post(url).json(&body).send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        if !status.is_success() {
            return Err(format!("{path}: {status} {text}"));
        }
        Ok(serde_json::from_str(&text).unwrap())
    }

    async fn mint(&self, amount: &str) -> String {
        let minted = self
            .post(
                "/sandbox/control/mint",
                json!({"owner": self.treasury, "amount": amount}),
            )
            .await;
        minted["contractId"].as_str().unwrap().to_owned()
    }

    /// What the exchange asks for, and the node's prepared answer to it: the factory, choice
    /// context and disclosures from the registry, then `prepare`.
    async fn prepare(&self, input: &str) -> (Intent, Value) {
        self.try_prepare(input).await.unwrap()
    }

    async fn try_prepare(&self, input: &str) -> Result<(Intent, Value), String> {
        let info = self.sandbox.info();
        let token = info
            .tokens
            .iter()
            .find(|t| t.instrument_id == "Amulet")
            .unwrap();
        let mut arguments = json!({
            "expectedAdmin": token.admin,
            "transfer": {
                "sender": self.treasury, "receiver": self.alice, "amount": "10",
                "instrumentId": {"admin": token.admin, "id": "Amulet"},
                "requestedAt": REQUESTED_AT, "executeBefore": EXECUTE_BEFORE,
                "inputHoldingCids": [input],
                "meta": {"values": {"splice.lfdecentralizedtrust.org/reason": MEMO}},
            },
            "extraArgs": {"context": {"values": {}}, "meta": {"values": {}}},
        });
        let registry = format!(
            "{}/registry/transfer-instruction/v1/transfer-factory",
            token.registry_url
        );
        let factory = self
            .try_post(&registry, json!({"choiceArguments": arguments}))
            .await?;
        arguments["extraArgs"]["context"] = factory["choiceContext"]["choiceContextData"].clone();
        let disclosed = factory["choiceContext"]["disclosedContracts"].clone();
        let factory_id = factory["factoryId"].as_str().unwrap().to_owned();
        let prepared = self
            .try_post(
                "/v2/interactive-submission/prepare",
                json!({
                    "userId": "exchange",
                    "commandId": MEMO,
                    "commands": [{"ExerciseCommand": {
                        "templateId": "#splice-api-token-transfer-instruction-v1:Splice.Api.Token.TransferInstructionV1:TransferFactory",
                        "contractId": factory_id,
                        "choice": "TransferFactory_Transfer",
                        "choiceArgument": arguments,
                    }}],
                    "actAs": [self.treasury],
                    "disclosedContracts": disclosed,
                }),
            )
            .await?;
        let disclosed: BTreeSet<ContractId> = disclosed
            .as_array()
            .unwrap()
            .iter()
            .map(|d| ContractId::new(d["contractId"].as_str().unwrap()).unwrap())
            .collect();
        let admin = PartyId::new(&token.admin).unwrap();
        let intent = Intent::Transfer(TransferIntent {
            common: Common {
                treasury: PartyId::new(&self.treasury).unwrap(),
                synchronizer: SynchronizerId::new(&token.synchronizer_id).unwrap(),
                disclosed,
            },
            factory: ContractId::new(&factory_id).unwrap(),
            expected_admin: admin.clone(),
            receiver: PartyId::new(&self.alice).unwrap(),
            amount: Amount::from_whole(10),
            instrument: InstrumentId {
                admin,
                id: "Amulet".into(),
            },
            memo: MEMO.into(),
            inputs: BTreeSet::from([ContractId::new(input).unwrap()]),
            requested_at: REQUESTED_AT.parse().unwrap(),
            execute_before: EXECUTE_BEFORE.parse().unwrap(),
            max_fee: Amount::ZERO,
            through: exchange_core::signing::Standard::V1,
        });
        Ok((intent, prepared))
    }

    fn sign(&self, intent: &Intent, prepared: &Value) -> Result<String, Refused> {
        let field = |name: &str| BASE64.decode(prepared[name].as_str().unwrap()).unwrap();
        let bytes = field("preparedTransaction");
        let hash = field("preparedTransactionHash");
        verify_and_sign(&self.signer, intent, &bytes, &hash).map(|s| BASE64.encode(s.0))
    }

    async fn execute(&self, prepared: &Value, signature: &str) -> Value {
        self.post(
            "/v2/interactive-submission/executeAndWait",
            json!({
                "preparedTransaction": prepared["preparedTransaction"],
                "partySignatures": {"signatures": [{"party": self.treasury, "signatures": [{
                    "format": "SIGNATURE_FORMAT_CONCAT",
                    "signature": signature,
                    "signedBy": self.fingerprint,
                    "signingAlgorithmSpec": "SIGNING_ALGORITHM_SPEC_ED25519",
                }]}]},
                "deduplicationPeriod": {"Empty": {}},
                "submissionId": MEMO,
                "userId": "exchange",
                "hashingSchemeVersion": "HASHING_SCHEME_VERSION_V2",
            }),
        )
        .await
    }
}

#[tokio::test]
async fn a_verified_transfer_is_signed_by_the_key_file_and_commits() {
    let net = Net::start().await;
    let input = net.mint("100").await;
    let (intent, prepared) = net.prepare(&input).await;
    let signature = net
        .sign(&intent, &prepared)
        .expect("exactly what was asked");
    let done = net.execute(&prepared, &signature).await;
    assert!(done["updateId"].is_string(), "{done}");
    // The Amulet reached alice; the treasury's input is spent, so the node refuses to prepare
    // the same transfer again.
    let holdings = net
        .post("/sandbox/control/holdings", json!({"owner": net.alice}))
        .await;
    assert!(holdings.to_string().contains("10.0000000000"), "{holdings}");
    let spent = net.try_prepare(&input).await.unwrap_err();
    assert!(spent.contains("CONTRACT_NOT_FOUND"), "{spent}");
}

#[tokio::test]
async fn a_node_that_lies_in_prepare_gets_nothing_signed() {
    let net = Net::start().await;
    let input = net.mint("100").await;
    let kinds = [
        (TamperKind::Receiver, "transfer.receiver"),
        (TamperKind::Amount, "transfer.amount"),
        (TamperKind::Input, "transfer.inputholdingcids"),
        (TamperKind::Memo, "w-signed-1-tampered"),
        (TamperKind::ExtraNode, "transaction.roots"),
        (TamperKind::Hash, "is not the transaction's hash"),
    ];
    for (kind, named) in kinds {
        net.sandbox.tamper_prepare(7, &[kind]);
        let (intent, prepared) = net.prepare(&input).await;
        let refused = net
            .sign(&intent, &prepared)
            .expect_err(&format!("{kind:?} must not be signed"));
        let why = refused.to_string();
        assert!(matches!(refused, Refused::Mismatch(_)), "{kind:?}: {why}");
        assert!(why.to_lowercase().contains(named), "{kind:?}: {why}");
    }
    // Honest again: signed, and it commits.
    net.sandbox.set_faults(Default::default());
    let (intent, prepared) = net.prepare(&input).await;
    let signature = net.sign(&intent, &prepared).expect("honest");
    net.execute(&prepared, &signature).await;
}
