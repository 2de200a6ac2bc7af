//! `canton-exchange keys generate --out FILE`, through the binary: a 0600 key file, the public
//! key and the fingerprint the sandbox (as Canton) derives from it, no secret on the terminal,
//! and never over an existing file.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Output;

use base64::Engine;

fn generate(path: &std::path::Path) -> Output {
    common::run(&["keys", "generate", "--out", path.to_str().unwrap()])
}

fn line_value(text: &str, prefix: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in {text}"));
    line[prefix.len()..].trim().to_owned()
}

#[test]
fn keys_generate_writes_a_0600_key_and_prints_the_sandboxs_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("treasury.key");
    let out = generate(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();

    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let file = std::fs::read_to_string(&path).unwrap();
    let secret_hex = line_value(&file, "secret-key=");
    let secret = hex::decode(&secret_hex).unwrap();
    let secret_b64 = base64::engine::general_purpose::STANDARD.encode(&secret);
    for shown in [&stdout, &stderr] {
        assert!(!shown.contains(&secret_hex) && !shown.contains(&secret_hex.to_uppercase()));
        assert!(!shown.contains(&secret_b64));
    }

    let public_hex = line_value(&stdout, "public key (hex):");
    assert_eq!(public_hex, line_value(&file, "public-key="));
    let public: [u8; 32] = hex::decode(&public_hex).unwrap().try_into().unwrap();
    let public_b64 = line_value(&stdout, "public key (base64):");
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(public_b64)
            .unwrap(),
        public
    );
    assert_eq!(
        line_value(&stdout, "fingerprint:"),
        canton_sandbox::interactive::fingerprint(&public)
    );
}

#[test]
fn keys_generate_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("treasury.key");
    std::fs::write(&path, "precious").unwrap();
    let out = generate(&path);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
    // And a second run over its own key is refused too.
    let fresh = dir.path().join("fresh.key");
    assert!(generate(&fresh).status.success());
    let first = std::fs::read(&fresh).unwrap();
    assert!(!generate(&fresh).status.success());
    assert_eq!(std::fs::read(&fresh).unwrap(), first);
}
