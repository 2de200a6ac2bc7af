//! Hand-written shapes from `ledger-api.md` and the Registry API specs: each type reads what the
//! documents show and writes the 3.4 server's encoding.

use canton_ledger::commands::{Command, DeduplicationPeriod, DisclosedContract, JsCommands};
use canton_ledger::completions::{CompletionResponse, CompletionStreamResponse};
use canton_ledger::errors::{ErrorCategory, JsCantonError, grpc, http_status_for_grpc};
use canton_ledger::interactive::{
    JsExecuteSubmissionAndWaitForTransactionRequest, JsExecuteSubmissionRequest,
    JsPrepareSubmissionRequest, MinLedgerTime, MinLedgerTimeBound, SignatureFormat,
    SigningAlgorithmSpec,
};
use canton_ledger::registry::{
    GetRegistryInfoResponse, ListInstrumentsResponse, TransferFactoryWithChoiceContext,
    TransferKind,
};
use canton_ledger::state::{JsContractEntry, JsGetActiveContractsResponse};
use canton_ledger::topology::{ParticipantPermission, TopologyEventKind};
use canton_ledger::version::GetLedgerApiVersionResponse;
use canton_ledger::{
    CumulativeFilter, Duration, EventFormat, Filters, GetUpdatesRequest, IdentifierFilter,
    JsGetUpdatesResponse, TransactionFormat, TransactionShape, Update, UpdateFormat, Wrapped,
};
use serde_json::{Value, json};

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

#[test]
fn offset_checkpoint_with_synchronizer_times() {
    let text = r#"{"update": {"OffsetCheckpoint": {"value": {"offset": 42,
        "synchronizerTimes": [{"synchronizerId": "global-domain::1220aa", "recordTime": "2025-10-14T11:29:59.294466Z"}]}}}}"#;
    let parsed: JsGetUpdatesResponse = serde_json::from_str(text).unwrap();
    let Update::OffsetCheckpoint(Wrapped { value: checkpoint }) = &parsed.update else {
        panic!("not a checkpoint: {parsed:?}");
    };
    assert_eq!(checkpoint.offset, 42);
    assert_eq!(checkpoint.synchronizer_times.len(), 1);
    assert_eq!(
        checkpoint.synchronizer_times[0].record_time,
        "2025-10-14T11:29:59.294466Z"
    );
    assert_eq!(parsed.update.offset(), Some(42));
    assert_eq!(
        to_json(&parsed),
        serde_json::from_str::<Value>(text).unwrap()
    );

    // Tolerant input: the offset as a string, the list null.
    let loose: JsGetUpdatesResponse = serde_json::from_str(
        r#"{"update": {"OffsetCheckpoint": {"value": {"offset": "43", "synchronizerTimes": null}}}}"#,
    )
    .unwrap();
    assert_eq!(loose.update.offset(), Some(43));
    assert_eq!(
        to_json(&loose),
        json!({"update": {"OffsetCheckpoint": {"value": {"offset": 43, "synchronizerTimes": []}}}})
    );
}

#[test]
fn offsets_accept_numeric_strings_but_not_garbage() {
    let ok: canton_ledger::state::GetLedgerEndResponse =
        serde_json::from_str(r#"{"offset": "4308"}"#).unwrap();
    assert_eq!(ok.offset, 4308);
    for bad in [
        r#"{"offset": "43x"}"#,
        r#"{"offset": 1.5}"#,
        r#"{"offset": 1e400}"#,
        r#"{"offset": 99999999999999999999999}"#,
        r#"{"offset": null}"#,
        r#"{"offset": true}"#,
        r#"{}"#,
    ] {
        assert!(
            serde_json::from_str::<canton_ledger::state::GetLedgerEndResponse>(bad).is_err(),
            "{bad} accepted"
        );
    }
    // Node ids are i32: an i64-only value is an error, not a wrap-around.
    let text = r#"{"offset": 1, "nodeId": 4294967296, "contractId": "00", "templateId": "p:M:T"}"#;
    assert!(serde_json::from_str::<canton_ledger::ArchivedEvent>(text).is_err());
}

#[test]
fn identifier_filter_encodings() {
    // The three documented cases (ledger-api.md §2.2) plus Empty, read and written alike.
    let cases = [
        json!({"WildcardFilter": {"value": {"includeCreatedEventBlob": true}}}),
        json!({"TemplateFilter": {"value": {"templateId": "#pkg:Mod:T", "includeCreatedEventBlob": false}}}),
        json!({"InterfaceFilter": {"value": {"interfaceId": "#splice-api-token-holding-v1:Splice.Api.Token.HoldingV1:Holding",
            "includeInterfaceView": true, "includeCreatedEventBlob": false}}}),
        json!({"Empty": {}}),
    ];
    for case in cases {
        let parsed: IdentifierFilter = serde_json::from_value(case.clone()).unwrap();
        assert_eq!(to_json(&parsed), case);
    }
    assert_eq!(
        to_json(&CumulativeFilter::interface("#i:M:I", true, false)),
        json!({"identifierFilter": {"InterfaceFilter": {"value": {"interfaceId": "#i:M:I",
            "includeInterfaceView": true, "includeCreatedEventBlob": false}}}})
    );
    // Missing booleans default to false.
    let parsed: IdentifierFilter =
        serde_json::from_value(json!({"TemplateFilter": {"value": {"templateId": "p:M:T"}}}))
            .unwrap();
    assert_eq!(
        to_json(&parsed),
        json!({"TemplateFilter": {"value": {"templateId": "p:M:T", "includeCreatedEventBlob": false}}})
    );
}

#[test]
fn get_updates_request_as_documented() {
    let mut filters_by_party = std::collections::BTreeMap::new();
    filters_by_party.insert(
        "treasury::1220ab".to_owned(),
        Filters {
            cumulative: vec![CumulativeFilter::wildcard(false)],
        },
    );
    let request = GetUpdatesRequest {
        begin_exclusive: 0,
        end_inclusive: Some(1234),
        update_format: Some(UpdateFormat {
            include_transactions: Some(TransactionFormat {
                event_format: Some(EventFormat {
                    filters_by_party,
                    filters_for_any_party: None,
                    verbose: false,
                }),
                transaction_shape: TransactionShape::LedgerEffects,
            }),
            ..UpdateFormat::default()
        }),
        ..GetUpdatesRequest::default()
    };
    let expected = json!({
        "beginExclusive": 0, "endInclusive": 1234, "verbose": false,
        "updateFormat": {
            "includeTransactions": {
                "eventFormat": {
                    "filtersByParty": {"treasury::1220ab": {"cumulative": [
                        {"identifierFilter": {"WildcardFilter": {"value": {"includeCreatedEventBlob": false}}}}]}},
                    "filtersForAnyParty": null, "verbose": false},
                "transactionShape": "TRANSACTION_SHAPE_LEDGER_EFFECTS"},
            "includeReassignments": null, "includeTopologyEvents": null}});
    assert_eq!(to_json(&request), expected);
    assert_eq!(
        serde_json::from_value::<GetUpdatesRequest>(expected).unwrap(),
        request
    );
    // A client's minimal request, with the party-wildcard `{}` and a string offset.
    let minimal: GetUpdatesRequest = serde_json::from_str(
        r#"{"beginExclusive": "17", "updateFormat": {"includeTransactions": {"eventFormat":
            {"filtersByParty": {"p": {}}}, "transactionShape": "TRANSACTION_SHAPE_ACS_DELTA"}}}"#,
    )
    .unwrap();
    assert_eq!(minimal.begin_exclusive, 17);
    assert_eq!(minimal.end_inclusive, None);
    let tx = minimal.update_format.unwrap().include_transactions.unwrap();
    assert_eq!(tx.transaction_shape, TransactionShape::AcsDelta);
    assert!(
        tx.event_format.unwrap().filters_by_party["p"]
            .cumulative
            .is_empty()
    );
}

#[test]
fn unknown_enum_values_are_kept() {
    let shape: TransactionShape = serde_json::from_str(r#""TRANSACTION_SHAPE_FUTURE""#).unwrap();
    assert_eq!(
        shape,
        TransactionShape::Unrecognized("TRANSACTION_SHAPE_FUTURE".into())
    );
    assert_eq!(to_json(&shape), json!("TRANSACTION_SHAPE_FUTURE"));
    assert_eq!(TransactionShape::default(), TransactionShape::Unspecified);
}

#[test]
fn canton_error_example_from_the_reference() {
    let text = r#"{"code": "CONTRACT_NOT_FOUND", "cause": "human readable", "correlationId": "abc", "traceId": null,
        "context": {"participant": "p1", "category": "11", "definite_answer": "false"},
        "resources": [["CONTRACT_ID", "00ab"]], "errorCategory": 11, "grpcCodeValue": 5,
        "retryInfo": "1 second", "definiteAnswer": false}"#;
    let error: JsCantonError = serde_json::from_str(text).unwrap();
    assert_eq!(error.code, "CONTRACT_NOT_FOUND");
    assert_eq!(error.resources, vec![("CONTRACT_ID".into(), "00ab".into())]);
    assert_eq!(error.context["category"], "11");
    assert_eq!(
        error.category(),
        Some(ErrorCategory::InvalidGivenCurrentSystemStateResourceMissing)
    );
    assert_eq!(error.http_status(), 404);
    assert!(!error.is_retryable());
    assert_eq!(
        to_json(&error),
        serde_json::from_str::<Value>(text).unwrap()
    );

    // Absent optionals are written as null, in server order.
    let minimal: JsCantonError =
        serde_json::from_str(r#"{"code": "X", "cause": "y", "errorCategory": -1}"#).unwrap();
    assert_eq!(
        serde_json::to_string(&minimal).unwrap(),
        r#"{"code":"X","cause":"y","correlationId":null,"traceId":null,"context":{},"resources":[],"errorCategory":-1,"grpcCodeValue":null,"retryInfo":null,"definiteAnswer":null}"#
    );
    assert_eq!(minimal.category(), None);
    assert_eq!(minimal.http_status(), 500);

    let too_many = JsCantonError {
        code: "JSON_API_MAXIMUM_LIST_ELEMENTS_NUMBER_REACHED".into(),
        error_category: 2,
        grpc_code_value: Some(grpc::ABORTED),
        ..JsCantonError::default()
    };
    assert_eq!(too_many.http_status(), 413);
}

#[test]
fn error_category_table() {
    // ledger-api.md §1.8: category, gRPC code, HTTP status.
    let table = [
        (1, 14, 503),
        (2, 10, 409),
        (3, 4, 504),
        (4, 13, 500),
        (5, 3, 400),
        (6, 16, 401),
        (7, 7, 403),
        (8, 3, 400),
        (9, 9, 400),
        (10, 6, 409),
        (11, 5, 404),
        (12, 11, 400),
        (14, 12, 501),
    ];
    for (category, grpc_code, http) in table {
        let c = ErrorCategory::from_code(category).unwrap();
        assert_eq!(c.code(), category);
        assert_eq!(c.grpc_code(), grpc_code, "category {category}");
        assert_eq!(c.http_status(), http, "category {category}");
    }
    assert_eq!(ErrorCategory::ALL.len(), table.len());
    for unknown in [-1, 0, 13, 15] {
        assert_eq!(ErrorCategory::from_code(unknown), None);
    }
    assert_eq!(http_status_for_grpc(grpc::RESOURCE_EXHAUSTED), 429);
    assert_eq!(http_status_for_grpc(grpc::CANCELLED), 499);
    assert_eq!(http_status_for_grpc(grpc::UNKNOWN), 500);
    assert_eq!(http_status_for_grpc(grpc::DATA_LOSS), 500);
    assert_eq!(http_status_for_grpc(99), 500);
    assert!(ErrorCategory::ContentionOnSharedResources.is_retryable());
    assert!(ErrorCategory::InvalidGivenCurrentSystemStateSeekAfterEnd.is_retryable());
    assert!(!ErrorCategory::InvalidGivenCurrentSystemStateResourceExists.is_retryable());
}

#[test]
fn js_commands_as_documented() {
    let text = r##"{
      "commands": [{"ExerciseCommand": {"templateId": "#pkg:Mod:Iface", "contractId": "00ab",
                    "choice": "TransferFactory_Transfer", "choiceArgument": {"x": "1.0"}}},
                   {"CreateCommand": {"templateId": "#pkg:Mod:T", "createArguments": {"owner": "p"}}}],
      "commandId": "uuid", "actAs": ["party::1220ab"], "readAs": [], "userId": "u",
      "workflowId": "", "submissionId": "s",
      "deduplicationPeriod": {"DeduplicationDuration": {"value": {"seconds": 600, "nanos": 0}}},
      "minLedgerTimeRel": {"seconds": 5, "nanos": 0, "unknownFields": {"fields": {}}},
      "disclosedContracts": [{"templateId": "pkg:M:T", "contractId": "00cd", "createdEventBlob": "YmxvYg==",
                              "synchronizerId": "global-domain::1220"}],
      "synchronizerId": "", "packageIdSelectionPreference": ["pkg"],
      "prefetchContractKeys": [], "tapsMaxPasses": 3}"##;
    let commands: JsCommands = serde_json::from_str(text).unwrap();
    assert_eq!(commands.commands.len(), 2);
    let Command::ExerciseCommand(exercise) = &commands.commands[0] else {
        panic!("not an exercise");
    };
    assert_eq!(exercise.choice_argument.get(), r#"{"x": "1.0"}"#);
    assert_eq!(
        commands.deduplication_period,
        Some(DeduplicationPeriod::duration(Duration::from_secs(600)))
    );
    assert_eq!(commands.min_ledger_time_rel, Some(Duration::from_secs(5)));
    assert_eq!(commands.taps_max_passes, Some(3));
    let out = to_json(&commands);
    assert_eq!(out["minLedgerTimeAbs"], Value::Null);
    assert_eq!(out["minLedgerTimeRel"], json!({"seconds": 5, "nanos": 0}));
    assert_eq!(
        out["commands"][1],
        json!({"CreateCommand": {"templateId": "#pkg:Mod:T", "createArguments": {"owner": "p"}}})
    );
    // Without the 3.4.12 field the output is the 3.4 shape.
    let plain = JsCommands::default();
    assert!(to_json(&plain).get("tapsMaxPasses").is_none());

    for (period, encoded) in [
        (
            DeduplicationPeriod::offset(123),
            json!({"DeduplicationOffset": {"value": 123}}),
        ),
        (DeduplicationPeriod::default(), json!({"Empty": {}})),
    ] {
        assert_eq!(to_json(&period), encoded);
        assert_eq!(
            serde_json::from_value::<DeduplicationPeriod>(encoded).unwrap(),
            period
        );
    }
    // A disclosed contract needs only its blob.
    let disclosed: DisclosedContract =
        serde_json::from_str(r#"{"createdEventBlob": "YmxvYg=="}"#).unwrap();
    assert_eq!(
        to_json(&disclosed),
        json!({"templateId": null, "contractId": "", "createdEventBlob": "YmxvYg==", "synchronizerId": ""})
    );
}

#[test]
fn completion_stream_elements() {
    let text = r#"[
      {"completionResponse": {"Completion": {"value": {"commandId": "c1",
        "status": {"code": 0, "message": "", "details": []}, "updateId": "1220ab", "userId": "u",
        "actAs": ["p"], "submissionId": "s", "deduplicationPeriod": {"DeduplicationOffset": {"value": "7"}},
        "traceContext": null, "offset": 12,
        "synchronizerTime": {"synchronizerId": "global-domain::1220", "recordTime": "2025-10-14T11:29:59Z"}}}}},
      {"completionResponse": {"OffsetCheckpoint": {"value": {"offset": 13, "synchronizerTimes": []}}}},
      {"completionResponse": {"Empty": {}}}]"#;
    let elements: Vec<CompletionStreamResponse> = serde_json::from_str(text).unwrap();
    let CompletionResponse::Completion(Wrapped { value: completion }) =
        &elements[0].completion_response
    else {
        panic!("not a completion");
    };
    assert_eq!(completion.offset, 12);
    assert_eq!(completion.status.as_ref().unwrap().code, 0);
    assert_eq!(
        completion.deduplication_period,
        DeduplicationPeriod::offset(7)
    );
    assert!(matches!(
        elements[1].completion_response,
        CompletionResponse::OffsetCheckpoint(_)
    ));
    assert_eq!(
        elements[2].completion_response,
        CompletionResponse::default()
    );
}

#[test]
fn interactive_submission_bodies() {
    let execute = r#"{ "preparedTransaction": "cHJlcGFyZWQ=",
      "partySignatures": { "signatures": [ { "party": "alice::1220ab",
          "signatures": [ { "format": "SIGNATURE_FORMAT_CONCAT", "signature": "c2ln",
                            "signedBy": "1220ab", "signingAlgorithmSpec": "SIGNING_ALGORITHM_SPEC_ED25519" } ] } ] },
      "deduplicationPeriod": {"Empty": {}}, "submissionId": "uuid", "userId": "u",
      "hashingSchemeVersion": "HASHING_SCHEME_VERSION_V2", "minLedgerTime": null }"#;
    let request: JsExecuteSubmissionRequest = serde_json::from_str(execute).unwrap();
    let signature = &request.party_signatures.as_ref().unwrap().signatures[0].signatures[0];
    assert_eq!(signature.format, SignatureFormat::Concat);
    assert_eq!(
        signature.signing_algorithm_spec,
        SigningAlgorithmSpec::Ed25519
    );
    assert_eq!(
        to_json(&request),
        serde_json::from_str::<Value>(execute).unwrap()
    );

    let with_format = JsExecuteSubmissionAndWaitForTransactionRequest {
        request: request.clone(),
        transaction_format: None,
    };
    let text = serde_json::to_string(&with_format).unwrap();
    assert!(text.starts_with(r#"{"preparedTransaction":"#), "{text}");
    assert!(
        text.ends_with(r#""minLedgerTime":null,"transactionFormat":null}"#),
        "{text}"
    );
    assert_eq!(
        serde_json::from_str::<JsExecuteSubmissionAndWaitForTransactionRequest>(&text).unwrap(),
        with_format
    );

    let prepare = JsPrepareSubmissionRequest {
        command_id: "c".into(),
        act_as: vec!["alice::1220ab".into()],
        min_ledger_time: Some(MinLedgerTime {
            time: MinLedgerTimeBound::MinLedgerTimeAbs(Wrapped {
                value: "2025-10-14T11:29:59Z".into(),
            }),
        }),
        max_record_time: Some("2025-10-14T12:00:00.999999Z".into()),
        ..JsPrepareSubmissionRequest::default()
    };
    let out = to_json(&prepare);
    assert_eq!(
        out["minLedgerTime"],
        json!({"time": {"MinLedgerTimeAbs": {"value": "2025-10-14T11:29:59Z"}}})
    );
    assert_eq!(out["maxRecordTime"], json!("2025-10-14T12:00:00.999999Z"));
    assert_eq!(out["estimateTrafficCost"], Value::Null);
    assert!(out.get("hashingSchemeVersion").is_none());
    let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 13, "{keys:?}");
}

#[test]
fn active_contract_entries() {
    let text = r#"[{"workflowId": "", "contractEntry": {"JsActiveContract": {"createdEvent": {"offset": 5,
        "nodeId": 0, "contractId": "00ab", "templateId": "p:M:T", "contractKey": null, "createArgument": {},
        "createdEventBlob": "", "interfaceViews": [], "witnessParties": ["p"], "signatories": ["p"],
        "observers": [], "createdAt": "2025-10-14T11:29:59Z", "packageName": "pkg"},
        "synchronizerId": "global-domain::1220", "reassignmentCounter": 0}}},
      {"workflowId": "", "contractEntry": {"JsEmpty": {}}}]"#;
    let entries: Vec<JsGetActiveContractsResponse> = serde_json::from_str(text).unwrap();
    let JsContractEntry::JsActiveContract(active) = &entries[0].contract_entry else {
        panic!("not active");
    };
    assert_eq!(active.created_event.contract_id, "00ab");
    assert!(matches!(
        entries[1].contract_entry,
        JsContractEntry::JsEmpty(_)
    ));
}

#[test]
fn topology_transaction_update() {
    let text = r#"{"update": {"TopologyTransaction": {"value": {"updateId": "1220cd", "offset": 9,
        "synchronizerId": "global-domain::1220", "recordTime": "2025-10-14T11:29:59Z",
        "events": [{"event": {"ParticipantAuthorizationAdded": {"value": {"partyId": "p::1220",
            "participantId": "PAR::1220", "participantPermission": "PARTICIPANT_PERMISSION_SUBMISSION"}}}},
          {"event": {"ParticipantAuthorizationRevoked": {"value": {"partyId": "q::1220", "participantId": "PAR::1220"}}}}],
        "traceContext": null}}}}"#;
    let parsed: JsGetUpdatesResponse = serde_json::from_str(text).unwrap();
    let Update::TopologyTransaction(Wrapped { value: topology }) = &parsed.update else {
        panic!("not topology");
    };
    let TopologyEventKind::ParticipantAuthorizationAdded(Wrapped { value: added }) =
        &topology.events[0].event
    else {
        panic!("not added");
    };
    assert_eq!(
        added.participant_permission,
        Some(ParticipantPermission::Submission)
    );
    assert_eq!(parsed.update.offset(), Some(9));
    assert_eq!(
        to_json(&parsed),
        serde_json::from_str::<Value>(text).unwrap()
    );
}

#[test]
fn registry_api_shapes() {
    let factory = r#"{"factoryId": "00ef", "transferKind": "direct", "choiceContext": {
        "choiceContextData": {"values": {"amulet-rules": {"tag": "AV_ContractId", "value": "00aa"}}},
        "disclosedContracts": [{"templateId": "p:M:T", "contractId": "00aa", "createdEventBlob": "YmxvYg==",
          "synchronizerId": "global-domain::1220", "debugPackageName": "splice-amulet",
          "debugPayload": {"dso": "DSO::1220"}, "debugCreatedAt": "2025-10-14T11:29:59Z"}]}}"#;
    let parsed: TransferFactoryWithChoiceContext = serde_json::from_str(factory).unwrap();
    assert_eq!(parsed.transfer_kind, TransferKind::Direct);
    assert_eq!(
        to_json(&parsed),
        serde_json::from_str::<Value>(factory).unwrap()
    );
    let disclosed: DisclosedContract = parsed.choice_context.disclosed_contracts[0].clone().into();
    assert_eq!(disclosed.template_id.as_deref(), Some("p:M:T"));
    // Without debug fields nothing is invented.
    let lean = r#"{"choiceContextData": {"values": {}}, "disclosedContracts": [{"templateId": "p:M:T",
        "contractId": "00aa", "createdEventBlob": "YmxvYg==", "synchronizerId": "s"}]}"#;
    let context: canton_ledger::registry::ChoiceContext = serde_json::from_str(lean).unwrap();
    assert_eq!(
        to_json(&context),
        serde_json::from_str::<Value>(lean).unwrap()
    );

    let info: GetRegistryInfoResponse = serde_json::from_str(
        r#"{"adminId": "DSO::1220", "supportedApis": {"splice-api-token-metadata-v1": 1}}"#,
    )
    .unwrap();
    assert_eq!(info.supported_apis["splice-api-token-metadata-v1"], 1);
    let instruments: ListInstrumentsResponse = serde_json::from_str(
        r#"{"instruments": [{"id": "Amulet", "name": "Canton Coin", "symbol": "CC",
            "totalSupply": "1000.0000000000", "totalSupplyAsOf": "2025-10-14T11:29:59Z",
            "supportedApis": {"splice-api-token-holding-v1": 1}}]}"#,
    )
    .unwrap();
    assert_eq!(instruments.instruments[0].decimals, 10);
    assert_eq!(instruments.next_page_token, None);
}

#[test]
fn version_tolerates_unknown_fields() {
    let text = r#"{"version": "3.4.9", "features": {"experimental": {"staticTime": {"supported": false},
        "commandInspectionService": {"supported": true}},
        "userManagement": {"supported": true, "maxRightsPerUser": 1000, "maxUsersPageSize": 1000},
        "partyManagement": {"maxPartiesPageSize": 10000},
        "offsetCheckpoint": {"maxOffsetCheckpointEmissionDelay": {"seconds": 75, "nanos": 0,
            "unknownFields": {"fields": {}}}},
        "packageFeature": {"maxVettedPackagesPageSize": 100}, "somethingNew": 1}}"#;
    let version: GetLedgerApiVersionResponse = serde_json::from_str(text).unwrap();
    let features = version.features.unwrap();
    assert_eq!(
        features
            .offset_checkpoint
            .unwrap()
            .max_offset_checkpoint_emission_delay,
        Some(Duration::from_secs(75))
    );
    assert_eq!(
        features.party_management.unwrap().max_parties_page_size,
        10000
    );
}

#[test]
fn reassignment_update() {
    let created = r#"{"offset": 20, "nodeId": 0, "contractId": "00ab", "templateId": "p:M:T",
        "contractKey": null, "createArgument": {"owner": "p"}, "createdEventBlob": "", "interfaceViews": [],
        "witnessParties": ["p"], "signatories": ["p"], "observers": [], "createdAt": "2025-10-14T11:29:59Z",
        "packageName": "pkg", "representativePackageId": "p", "acsDelta": true}"#;
    let text = format!(
        r#"{{"update": {{"Reassignment": {{"value": {{"updateId": "1220ef", "commandId": "", "workflowId": "",
        "offset": 20, "events": [
          {{"JsAssignmentEvent": {{"source": "s1", "target": "s2", "reassignmentId": "r", "submitter": "p",
            "reassignmentCounter": 1, "createdEvent": {created}}}}},
          {{"JsUnassignedEvent": {{"value": {{"reassignmentId": "r2", "contractId": "00cd", "templateId": "p:M:T",
            "source": "s2", "target": "s1", "submitter": "p", "reassignmentCounter": 2,
            "assignmentExclusivity": null, "witnessParties": ["p"], "packageName": "pkg", "offset": 20, "nodeId": 1}}}}}}],
        "traceContext": null, "recordTime": "2025-10-14T11:29:59Z", "synchronizerId": "s2"}}}}}}}}"#
    );
    let parsed: JsGetUpdatesResponse = serde_json::from_str(&text).unwrap();
    let Update::Reassignment(Wrapped {
        value: reassignment,
    }) = &parsed.update
    else {
        panic!("not a reassignment");
    };
    assert_eq!(reassignment.events.len(), 2);
    assert_eq!(parsed.update.offset(), Some(20));
    assert_eq!(
        to_json(&parsed),
        serde_json::from_str::<Value>(&text).unwrap()
    );
}
