//! `canton-exchange demo`, the README's main command: sandbox, ingestion into SQLite, report.

use std::process::Command;

#[test]
fn demo_ingests_the_basic_scenario_and_reports_it() {
    let dir = std::env::temp_dir().join(format!("demo-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}", dir.join("demo.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_canton-exchange"))
        .args(["demo", "--db", &db])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The scenario's deposits: alice 100 and bob 25 to their accounts, carol's unknown memo
    // recorded but not credited, bob's offer still pending.
    assert!(
        stdout.contains("deposit-account-alice        Amulet             100.0000000000"),
        "{stdout}"
    );
    assert!(
        stdout.contains("deposit-account-bob          Amulet              25.0000000000"),
        "{stdout}"
    );
    assert!(stdout.contains("credited             2"), "{stdout}");
    assert!(stdout.contains("unknown-account deposits  1"), "{stdout}");
    assert!(stdout.contains("offered              1"), "{stdout}");
    // The treasury's own withdrawal was made outside this DB: recovered, booked to suspense.
    assert!(stdout.contains("recovered"), "{stdout}");
    assert!(stdout.contains("active holdings"), "{stdout}");

    // The treasury's pending outgoing offers lock their amounts: `holdings` shows each lock as
    // the holding view has it (held by the token's admin, until the offer's executeBefore,
    // naming the receiver), the other holdings as unlocked.
    let out = Command::new(env!("CARGO_BIN_EXE_canton-exchange"))
        .args(["holdings", "--db", &db, "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let holdings: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let holdings = holdings.as_array().unwrap();
    let locked: Vec<&serde_json::Value> =
        holdings.iter().filter(|h| !h["lock"].is_null()).collect();
    assert!(!locked.is_empty(), "{holdings:?}");
    assert!(locked.len() < holdings.len(), "{holdings:?}");
    for h in locked {
        let lock = &h["lock"];
        let holders = lock["holders"].as_array().unwrap();
        assert_eq!(holders.len(), 1, "{lock}");
        assert_eq!(holders[0], h["instrument"]["admin"], "{lock}");
        let expires: &str = lock["expiresAt"].as_str().unwrap();
        assert!(expires.ends_with('Z') && expires.contains('T'), "{lock}");
        assert!(
            lock["context"]
                .as_str()
                .unwrap()
                .starts_with("transfer to '"),
            "{lock}"
        );
        assert!(lock.get("expiresAfter").is_none(), "{lock}");
    }

    // A second run on the same DB ingests nothing again and credits nothing twice.
    let again = Command::new(env!("CARGO_BIN_EXE_canton-exchange"))
        .args(["demo", "--db", &db])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(stdout.contains("ingested 0 transactions"), "{stdout}");
    assert!(
        stdout.contains("deposit-account-alice        Amulet             100.0000000000"),
        "{stdout}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
