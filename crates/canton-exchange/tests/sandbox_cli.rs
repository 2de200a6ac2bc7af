//! `canton-exchange sandbox --treasury-key FILE`, through the binary as an operator runs it: with
//! a 0600 key file it serves and its info file names the external treasury of that key; a key
//! file others may read is refused, naming the file and its mode and never the key.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use exchange_core::signing::Signer;
use exchange_services::signer::FileSigner;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_canton-exchange");

/// A key file written by `keys generate`, and its secret line's value (to check it is never
/// shown).
fn key_file(dir: &Path) -> (std::path::PathBuf, String) {
    let path = dir.join("treasury.key");
    let out = Command::new(BIN)
        .args(["keys", "generate", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let secret = text
        .lines()
        .find_map(|l| l.strip_prefix("secret-key="))
        .expect("a secret line")
        .to_owned();
    (path, secret)
}

/// The sandbox process; killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits for the info file the sandbox writes once it serves.
fn wait_for_info(path: &Path, child: &mut Child) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return serde_json::from_str(&text).expect("the info file is JSON");
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the sandbox exited ({status}) before writing its info file");
        }
        assert!(Instant::now() < deadline, "no info file after 120 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `GET path` on the Ledger API at `base` (`http://host:port`): the status line and the body.
fn get(base: &str, path: &str) -> (String, String) {
    let host = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

#[test]
fn sandbox_with_a_treasury_key_serves_an_external_treasury() {
    let dir = tempfile::tempdir().unwrap();
    let (key, secret) = key_file(dir.path());
    let fingerprint = FileSigner::load(&key).unwrap().public_key().fingerprint();
    let info_path = dir.path().join("info.json");
    let child = Command::new(BIN)
        .args(["sandbox", "--scenario", "basic", "--treasury-key"])
        .arg(&key)
        .arg("--info-file")
        .arg(&info_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let info = wait_for_info(&info_path, &mut running.0);
    assert_eq!(
        info["parties"]["treasury"],
        Value::String(format!("treasury::{fingerprint}"))
    );
    assert_eq!(
        info["parties"]["treasuryPublicKeyFingerprint"],
        Value::String(fingerprint.clone())
    );
    // It serves, with the basic story committed.
    let base = info["ledgerApiUrl"].as_str().unwrap();
    let (status, body) = get(base, "/v2/state/ledger-end");
    assert!(status.contains(" 200 "), "{status}");
    let end: Value = serde_json::from_str(&body).unwrap();
    assert!(end["offset"].as_i64().unwrap() > 20, "{body}");
    drop(running);
    let info_text = std::fs::read_to_string(&info_path).unwrap();
    assert!(!info_text.contains(&secret));
}

#[test]
fn sandbox_refuses_a_treasury_key_file_others_may_read() {
    let dir = tempfile::tempdir().unwrap();
    let (key, secret) = key_file(dir.path());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let info_path = dir.path().join("info.json");
    let out: Output = Command::new(BIN)
        .args(["sandbox", "--scenario", "basic", "--treasury-key"])
        .arg(&key)
        .arg("--info-file")
        .arg(&info_path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stderr.contains(&key.display().to_string()), "{stderr}");
    assert!(stderr.contains("mode 0644"), "{stderr}");
    for shown in [&stdout, &stderr] {
        assert!(!shown.contains(&secret), "the secret was shown: {shown}");
    }
    assert!(!info_path.exists(), "no node, no info file");
}
