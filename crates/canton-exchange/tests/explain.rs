//! `canton-exchange explain` end to end, on the real LocalNet recording.

mod common;

use std::process::Output;

use common::{fixtures, run};

const TREASURY: &str =
    "treasury::1220bada55b12697a660ade92a1c920b2cd9d9bed0e854c17fb3697119c46b29c5e8";

fn explain(args: &[&str]) -> Output {
    run(&[&["explain"], args].concat())
}

#[test]
fn json_has_one_object_per_transaction() {
    let Some(dir) = fixtures() else { return };
    let file = dir.join("localnet-treasury/one-step-deposit-and-withdraw.json");
    let out = explain(&[
        "--party",
        TREASURY,
        "--format",
        "json",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);

    let deposit = &lines[0];
    assert_eq!(
        deposit["updateId"],
        "12203a75ad5ef327168b20b18f1539e57c9f437e3f434b187c4f186ab491497d348a"
    );
    assert_eq!(deposit["offset"], 1134);
    assert_eq!(deposit["recordTime"], "2025-09-26T09:42:55.614733Z");
    assert_eq!(
        deposit["synchronizerId"],
        "global-domain::12209431d07c316412c8f76bb30f1c75bd0b6b05ff5b69fd7975b139a8e03ee18c36"
    );
    assert_eq!(
        deposit["holdingChanges"],
        serde_json::json!([{
            "instrument": {"admin": "DSO::12209431d07c316412c8f76bb30f1c75bd0b6b05ff5b69fd7975b139a8e03ee18c36", "id": "Amulet"},
            "created": "100.0000000000", "archived": "0.0000000000", "net": "100.0000000000"
        }])
    );
    let t = &deposit["transfers"][0];
    assert_eq!(t["direction"], "in");
    assert_eq!(
        t["sender"],
        "alice::122080fa98b3301de1c1421405c1dae5ef2435a6bd2a80a0e42860abfab66394ed07"
    );
    assert_eq!(t["receiver"], TREASURY);
    assert_eq!(t["amount"], "100.0000000000");
    assert_eq!(t["reason"], "fd53f70c-5c3e-4324-b678-bc6ca90f7325");
    assert_eq!(t["status"], "completed");
    assert_eq!(t["transferInstructionCid"], serde_json::Value::Null);
    assert_eq!(deposit["unexplained"], serde_json::json!([]));
    // The sender's input coins are archived in the treasury's view, but are not its own.
    assert_eq!(deposit["unresolvedArchives"], serde_json::json!([]));

    let withdrawal = &lines[1];
    assert_eq!(withdrawal["transfers"][0]["direction"], "out");
    assert_eq!(withdrawal["transfers"][0]["amount"], "20.0000000000");
    assert_eq!(withdrawal["holdingChanges"][0]["net"], "-20.0000000000");
}

#[test]
fn table_is_readable() {
    let Some(dir) = fixtures() else { return };
    let file = dir.join("localnet-treasury/one-step-deposit-and-withdraw.json");
    let out = explain(&["--party", TREASURY, file.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("IN  <- completed"), "{text}");
    assert!(
        text.contains("memo \"fd53f70c-5c3e-4324-b678-bc6ca90f7325\""),
        "{text}"
    );
    assert!(text.contains("OUT -> completed"), "{text}");
}

#[test]
fn bad_input_gets_a_clear_error() {
    let out = explain(&["--party", TREASURY, "/nonexistent/recording.json"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("reading /nonexistent/recording.json"));

    for party in ["not-a-party", "a::b::c"] {
        let out = explain(&["--party", party, "/dev/null"]);
        assert!(!out.status.success(), "{party}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--party"));
    }

    let dir = std::env::temp_dir().join(format!("explain-bad-{}", std::process::id()));
    std::fs::write(
        &dir,
        r#"[{"update": {"Transaction": {"value": {"updateId": 7}}}}]"#,
    )
    .unwrap();
    let out = explain(&["--party", TREASURY, dir.to_str().unwrap()]);
    std::fs::remove_file(&dir).ok();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("element 0"), "{err}");
}

/// The withdrawal without the deposit before it: its input holding (the treasury's 100) is
/// unknown. It is listed as unresolved, with its contract id and how to resolve it, and the
/// totals are marked as bounds, never a silent `archived 0, net +80`.
#[test]
fn an_unresolved_own_archive_is_reported() {
    let Some(dir) = fixtures() else { return };
    let all: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("localnet-treasury/one-step-deposit-and-withdraw.json"))
            .unwrap(),
    )
    .unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_string(&all[1..]).unwrap()).unwrap();
    let input = "00d69441f6f0";

    let out = explain(&["--party", TREASURY, file.path().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let holdings = text.lines().find(|l| l.contains("holdings")).unwrap();
    let words: Vec<&str> = holdings.split_whitespace().collect();
    let after = |label: &str| words[words.iter().position(|w| *w == label).unwrap() + 1];
    assert_eq!(
        (after("created"), after("archived"), after("net")),
        ("80", ">=0", "<=80"),
        "{holdings}"
    );
    let line = text
        .lines()
        .find(|l| l.contains("UNRESOLVED archive"))
        .unwrap_or_else(|| panic!("no unresolved archive in {text}"));
    assert!(line.contains(input) && line.contains("Amulet"), "{line}");
    assert!(text.contains("--events-by-contract-id"), "{text}");

    let out = explain(&[
        "--party",
        TREASURY,
        "--format",
        "json",
        file.path().to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let tx: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let change = &tx["holdingChanges"][0];
    assert_eq!(change["net"], "80.0000000000");
    assert_eq!(change["netIsUpperBound"], true);
    assert_eq!(change["archivedIsLowerBound"], true);
    let unresolved = tx["unresolvedArchives"].as_array().unwrap();
    assert_eq!(unresolved.len(), 1, "{tx}");
    assert!(
        unresolved[0]["contractId"]
            .as_str()
            .unwrap()
            .starts_with(input),
        "{tx}"
    );
    assert_eq!(unresolved[0]["why"], "inputOfPartysTransfer");
    assert!(
        tx["resolveWith"]
            .as_str()
            .unwrap()
            .contains("--events-by-contract-id")
    );
}

/// The splice-cli 0.6.11 recording (Canton Coin with V1 and V2 signals), as alice.
fn splice_v2(extra: &[&str], file: Option<&str>) -> String {
    let dir = fixtures().unwrap().join("splice-cli-0.6.11");
    let txs = dir.join("txs.json");
    let known = dir.join("eventsByContractIdResponses.json");
    let mut args = vec![
        "--party",
        "alice::normalized",
        "--events-by-contract-id",
        known.to_str().unwrap(),
    ];
    args.extend(extra);
    args.push(file.unwrap_or(txs.to_str().unwrap()));
    let out = explain(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn each_transfer_says_which_standard_it_was_read_from() {
    if fixtures().is_none() {
        return;
    }
    let onboarded = ["--onboarded", "dso::normalized/Amulet"];
    let text = splice_v2(&onboarded, None);
    // update-4: 200 CC from aliceValidator, labelled in V1 and reported in V2.
    assert!(text.contains("[TransferPreapproval_SendV2 V2]"), "{text}");
    assert!(text.contains("[EventLog_HoldingsChange V2]"), "{text}");
    assert!(!text.contains("UNTRUSTED"), "{text}");
    let v1_only = splice_v2(&[], None);
    assert!(
        v1_only.contains("[TransferPreapproval_SendV2 V1]"),
        "{v1_only}"
    );
    assert!(!v1_only.contains(" V2]"), "{v1_only}");

    let json = splice_v2(&[onboarded[0], onboarded[1], "--format", "json"], None);
    let update4: serde_json::Value = json
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|t| t["updateId"] == "update-4")
        .unwrap();
    let transfer = &update4["transfers"][0];
    assert_eq!(transfer["readFrom"], "V2");
    assert_eq!(transfer["v2Leg"]["leg"]["side"], "ReceiverSide");
    assert_eq!(transfer["amount"], "200.0000000000");

    let bad = explain(&[
        "--party",
        "alice::normalized",
        "--onboarded",
        "Amulet",
        "x.json",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not ADMIN/ID"));
}

#[test]
fn untrusted_v2_events_are_shown() {
    let Some(dir) = fixtures() else { return };
    let text = std::fs::read_to_string(dir.join("splice-cli-0.6.11/txs.json")).unwrap();
    let mut all: serde_json::Value = serde_json::from_str(&text).unwrap();
    // update-4's event on alice's account, exercised by alice instead of the DSO.
    let events = &mut all[4]["update"]["Transaction"]["value"]["events"];
    let forged = events
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .filter_map(|e| e.get_mut("ExercisedEvent"))
        .find(|x| {
            x["choice"] == "EventLog_HoldingsChange"
                && x["choiceArgument"]["account"]["owner"] == "alice::normalized"
        })
        .unwrap();
    forged["actingParties"] = serde_json::json!(["alice::normalized"]);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), all.to_string()).unwrap();
    let out = splice_v2(
        &["--onboarded", "dso::normalized/Amulet"],
        Some(file.path().to_str().unwrap()),
    );
    assert!(
        out.contains(
            "UNTRUSTED V2 event node 11 of admin dso::normalized: not exercised by its admin alone"
        ),
        "{out}"
    );
    assert!(out.contains("[TransferPreapproval_SendV2 V1]"), "{out}");
}
