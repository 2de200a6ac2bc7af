//! The page writer of `POST /v2/updates` (`model::render`) against the wire structs it stands in
//! for: for every transaction of the basic scenario (plus one with escapes in its memo and one
//! with an external transaction hash) and several update formats, the bytes it writes equal
//! the `serde_json` serialization of `project_with`'s `JsGetUpdatesResponse`, and it writes
//! nothing exactly when the projection is `None`.

use canton_ledger::filters::TransactionFormat;
use canton_ledger::{JsGetUpdatesResponse, Update, Wrapped};
use canton_sandbox::model::filter::ResolvedFilter;
use canton_sandbox::model::projection::project_with;
use canton_sandbox::model::render::write_transaction_update;
use canton_sandbox::token::TransferRequest;
use canton_sandbox::{Sandbox, SandboxConfig, Scenario};
use serde_json::json;

fn formats(treasury: &str, alice: &str) -> Vec<(String, TransactionFormat)> {
    let iface = |id: &str, view: bool| {
        json!({"identifierFilter": {"InterfaceFilter": {"value": {
            "interfaceId": id, "includeInterfaceView": view, "includeCreatedEventBlob": false}}}})
    };
    let holding = "#splice-api-token-holding-v1:Splice.Api.Token.HoldingV1:Holding";
    let factory = "#splice-api-token-transfer-instruction-v1:Splice.Api.Token.TransferInstructionV1:TransferFactory";
    let instruction = "#splice-api-token-transfer-instruction-v1:Splice.Api.Token.TransferInstructionV1:TransferInstruction";
    let guide = json!({treasury: {"cumulative": [
        {"identifierFilter": {"WildcardFilter": {"value": {"includeCreatedEventBlob": false}}}},
        iface(holding, true), iface(factory, true), iface(instruction, true),
    ]}});
    let cases = [
        (
            "guide filter, ledger effects",
            json!({"eventFormat": {"filtersByParty": guide, "verbose": false},
                   "transactionShape": "TRANSACTION_SHAPE_LEDGER_EFFECTS"}),
        ),
        (
            "guide filter, acs delta",
            json!({"eventFormat": {"filtersByParty": guide, "verbose": true},
                   "transactionShape": "TRANSACTION_SHAPE_ACS_DELTA"}),
        ),
        (
            "any party wildcard, ledger effects",
            json!({"eventFormat": {"filtersForAnyParty": {"cumulative": []}, "verbose": false},
                   "transactionShape": "TRANSACTION_SHAPE_LEDGER_EFFECTS"}),
        ),
        (
            "holdings without views for alice, acs delta",
            json!({"eventFormat": {"filtersByParty": {alice: {"cumulative": [iface(holding, false)]}}},
                   "transactionShape": "TRANSACTION_SHAPE_ACS_DELTA"}),
        ),
        (
            "Amulet template for treasury and alice, any party instructions, ledger effects",
            json!({"eventFormat": {
                "filtersByParty": {
                    treasury: {"cumulative": [{"identifierFilter": {"TemplateFilter": {"value": {
                        "templateId": "#splice-amulet:Splice.Amulet:Amulet", "includeCreatedEventBlob": false}}}}]},
                    alice: {"cumulative": [iface(holding, true)]},
                },
                "filtersForAnyParty": {"cumulative": [iface(instruction, true)]}},
                "transactionShape": "TRANSACTION_SHAPE_LEDGER_EFFECTS"}),
        ),
    ];
    cases
        .into_iter()
        .map(|(name, format)| {
            (
                name.to_owned(),
                serde_json::from_value(format).expect("a TransactionFormat"),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_page_writer_writes_what_the_wire_structs_serialize_to() {
    let sandbox = Sandbox::start(SandboxConfig {
        scenario: Scenario::Basic,
        ..Default::default()
    })
    .await
    .expect("starts");
    let treasury = sandbox.parties().treasury.clone().expect("a treasury");
    let alice = sandbox.parties().customers["alice"].clone();
    let checked = sandbox.with_world(|w| {
        // A memo that needs escaping, and a transaction that carries an external hash.
        let out = w
            .amulet
            .transfer(
                &mut w.ledger,
                &TransferRequest {
                    sender: alice.clone(),
                    receiver: treasury.clone(),
                    amount: "1.5".parse().unwrap(),
                    memo: Some("quote \" backslash \\ tab \t é \u{1}".into()),
                    inputs: None,
                    command_id: "escapes".into(),
                },
            )
            .expect("transfers");
        w.ledger.set_external_transaction_hash(out.offset, "ab12");
        let table = w.ledger.symbols();
        let hosted = w.hosted_parties();
        let mut checked = 0;
        for (name, format) in formats(&treasury, &alice) {
            let default = Default::default();
            let event_format = format.event_format.as_ref().unwrap_or(&default);
            let filter = ResolvedFilter::new(event_format, hosted.iter().map(String::as_str));
            let mut seen = 0;
            for tx in w.ledger.log() {
                let expected =
                    project_with(tx, &format, w.ledger.synchronizer_id(), &filter, &table).map(
                        |t| {
                            serde_json::to_string(&JsGetUpdatesResponse {
                                update: Update::Transaction(Wrapped { value: t }),
                            })
                            .expect("serializes")
                        },
                    );
                let mut written = String::from("[");
                let wrote = write_transaction_update(
                    &mut written,
                    tx,
                    &format,
                    w.ledger.synchronizer_id(),
                    &filter,
                    &table,
                );
                match expected {
                    Some(expected) => {
                        assert!(wrote, "{name}: offset {} not written", tx.offset);
                        assert_eq!(written[1..], expected, "{name}: offset {}", tx.offset);
                        seen += 1;
                    }
                    None => {
                        assert!(!wrote, "{name}: offset {} written", tx.offset);
                        assert_eq!(
                            written, "[",
                            "{name}: a skipped transaction leaves no trace"
                        );
                    }
                }
            }
            assert!(seen > 3, "{name}: the format shows something ({seen})");
            checked += seen;
        }
        checked
    });
    assert!(checked > 50, "{checked} transactions compared");
    sandbox.shutdown().await;
}
