//! `canton-exchange treasury setup` through the binary, against `canton-exchange sandbox`: the
//! first run allocates the treasury as an external party of the key file and creates its
//! TransferPreapproval, the second finds both and says so, and the key's secret is never
//! printed. A hint the node already has under another key is refused, naming both parties.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use exchange_core::signing::Signer;
use exchange_services::signer::FileSigner;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_canton-exchange");

/// The sandbox process; killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_sandbox(dir: &Path) -> (Running, Value) {
    let info_path = dir.join("info.json");
    let child = Command::new(BIN)
        .args(["sandbox", "--scenario", "basic", "--info-file"])
        .arg(&info_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(text) = std::fs::read_to_string(&info_path) {
            return (running, serde_json::from_str(&text).unwrap());
        }
        if let Some(status) = running.0.try_wait().unwrap() {
            panic!("the sandbox exited ({status}) before writing its info file");
        }
        assert!(Instant::now() < deadline, "no info file after 120 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn setup(info: &Value, key: &Path, hint: &str) -> Output {
    let registry = info["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["instrumentId"] == "Amulet")
        .unwrap()["registryUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    Command::new(BIN)
        .args(["treasury", "setup", "--ledger"])
        .arg(info["ledgerApiUrl"].as_str().unwrap())
        .arg("--key")
        .arg(key)
        .args(["--hint", hint, "--provider"])
        .arg(info["parties"]["validator"].as_str().unwrap())
        .args(["--registry", &registry, "--wait-secs", "20"])
        .output()
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn treasury_setup_allocates_and_preapproves_once_and_then_finds_both() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("treasury.key");
    let generated = Command::new(BIN)
        .args(["keys", "generate", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(generated.status.success(), "{:?}", text(&generated));
    let secret = std::fs::read_to_string(&key)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("secret-key=").map(str::to_owned))
        .unwrap();
    let fingerprint = FileSigner::load(&key).unwrap().public_key().fingerprint();
    let party = format!("exchange-treasury::{fingerprint}");
    let (_sandbox, info) = start_sandbox(dir.path());

    let first = setup(&info, &key, "exchange-treasury");
    let (stdout, stderr) = text(&first);
    assert!(first.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("allocated treasury {party} as an external party")),
        "{stdout}"
    );
    assert!(stdout.contains("created TransferPreapproval "), "{stdout}");
    assert!(!stdout.contains(&secret) && !stderr.contains(&secret));

    let second = setup(&info, &key, "exchange-treasury");
    let (stdout2, stderr2) = text(&second);
    assert!(second.status.success(), "{stdout2}\n{stderr2}");
    assert!(
        stdout2.contains(&format!("found treasury {party} already allocated")),
        "{stdout2}"
    );
    let cid = stdout
        .lines()
        .find_map(|l| l.strip_prefix("created TransferPreapproval "))
        .unwrap();
    assert!(
        stdout2.contains(&format!("found TransferPreapproval {cid} already active")),
        "{stdout2}"
    );

    // The scenario's own treasury holds the hint `treasury` under another namespace.
    let clash = setup(&info, &key, "treasury");
    let (stdout3, stderr3) = text(&clash);
    assert!(!clash.status.success(), "{stdout3}");
    let theirs = info["parties"]["treasury"].as_str().unwrap();
    assert!(
        stderr3.contains(theirs) && stderr3.contains(&format!("treasury::{fingerprint}")),
        "{stderr3}"
    );
    assert!(!stdout3.contains(&secret) && !stderr3.contains(&secret));
}
