//! `config check` and `run --config` through the binary. `config check` accepts the documented
//! sample (with this machine's files put in by environment overrides) and refuses bad files
//! with errors that name the problem: an unknown key (with its path), a secret that cannot be
//! resolved, a key file other users can read, a URL that is not one, a float amount.
//!
//! `run --config` against a sandbox process serving TLS (the test CA) whose Ledger API takes
//! only OAuth2 tokens living 1 s: tokens expire many times during the run (requests and the
//! update stream), and it keeps ingesting and pays a withdrawal; SIGTERM then stops it with
//! exit 0, promptly, with the books right. On SQLite and PostgreSQL.

#[path = "../../exchange-store/tests/harness/mod.rs"]
#[allow(dead_code)] // shared with the store's tests, which use all of it
mod harness;

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::{
    Running, Token, binary, eventually, key_file, ok, onboard_alice, run, run_env, withdraw_30_to,
    withdrawal,
};
use harness::TestDb;
use serde_json::Value;

const CA: &str = "../canton-ledger/tests/tls/ca.pem";
const CERT: &str = "../canton-ledger/tests/tls/node.pem";
const KEY: &str = "../canton-ledger/tests/tls/node.key";
const SAMPLE: &str = "../../docs/config.sample.toml";

conformance!(run_over_tls_with_expiring_oauth2_tokens_ingests_pays_and_stops_on_sigterm);

fn ca() -> PathBuf {
    std::fs::canonicalize(CA).unwrap()
}

fn private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// The environment that makes the sample valid on this machine.
fn sample_env(dir: &Path) -> Vec<(String, String)> {
    let (key, party) = key_file(dir, "treasury.key");
    let password = dir.join("db-password");
    private(&password, "pw\n");
    let ca = ca().to_str().unwrap().to_owned();
    vec![
        ("CANTON_EXCHANGE__TREASURY__PARTY".into(), party),
        (
            "CANTON_EXCHANGE__TREASURY__KEY_FILE".into(),
            key.to_str().unwrap().into(),
        ),
        ("CANTON_EXCHANGE__LEDGER__CA_FILE".into(), ca.clone()),
        ("CANTON_EXCHANGE__ADMIN_API__CA_FILE".into(), ca),
        (
            "CANTON_EXCHANGE__DB__PASSWORD".into(),
            format!("{{file={:?}}}", password.to_str().unwrap()),
        ),
        ("CANTON_EXCHANGE_OAUTH_SECRET".into(), "s3cret-value".into()),
    ]
}

fn check(file: &Path, env: &[(String, String)]) -> Output {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    run_env(&["config", "check", file.to_str().unwrap()], &env)
}

fn refused(file: &Path, env: &[(String, String)]) -> String {
    let out = check(file, env);
    assert!(!out.status.success(), "accepted {}", file.display());
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn config_check_accepts_the_sample_and_prints_the_plan_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let env = sample_env(dir.path());
    let out = check(Path::new(SAMPLE), &env);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "https://validator.example.com:7575",
        "OAuth2 client credentials at https://idp.example.com/oauth/token",
        "secret from env CANTON_EXCHANGE_OAUTH_SECRET",
        "postgres://exchange@db.example.com/exchange (password from file",
        "ingestion, withdrawals, deposits, pool",
        "keep 4 holdings of 1000 or more, merge those below 1",
        "listen on 127.0.0.1:8080",
        "logs       human lines on stderr",
    ] {
        assert!(stdout.contains(expected), "{expected:?} not in:\n{stdout}");
    }
    assert!(
        !stdout.contains("s3cret-value") && !stdout.contains("pw\n"),
        "{stdout}"
    );

    // An environment override wins over the file.
    let mut overridden = env.clone();
    overridden.push((
        "CANTON_EXCHANGE__SERVICE__ONLY".into(),
        "[\"ingestion\"]".into(),
    ));
    let out = check(Path::new(SAMPLE), &overridden);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("run        ingestion as"), "{stdout}");
    // The log format, from the file's `[service] log_format` or its override.
    let mut json_logs = env.clone();
    json_logs.push(("CANTON_EXCHANGE__SERVICE__LOG_FORMAT".into(), "json".into()));
    let out = check(Path::new(SAMPLE), &json_logs);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("logs       json lines"), "{stdout}");
    let mut bad_logs = env.clone();
    bad_logs.push(("CANTON_EXCHANGE__SERVICE__LOG_FORMAT".into(), "xml".into()));
    let e = refused(Path::new(SAMPLE), &bad_logs);
    assert!(e.contains("log_format") || e.contains("xml"), "{e}");

    // As shipped, its paths do not exist here: the error names the key.
    let e = refused(Path::new(SAMPLE), &env[2..]);
    assert!(e.contains("treasury"), "{e}");
}

/// The sample with `from` replaced by `to` (which must occur).
fn edited(dir: &Path, name: &str, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(SAMPLE).unwrap();
    assert!(text.contains(from), "{from:?} not in the sample");
    let path = dir.join(name);
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    path
}

#[test]
fn config_check_refuses_bad_files_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let env = sample_env(d);

    let typo = edited(d, "typo.toml", "user_id = ", "user_idd = ");
    let e = refused(&typo, &env);
    assert!(e.contains("user_idd") && e.contains("ledger"), "{e}");

    let table = edited(d, "table.toml", "[deposits]", "[deposit]");
    let e = refused(&table, &env);
    assert!(e.contains("deposit"), "{e}");

    let no_secret = env
        .iter()
        .filter(|(k, _)| k != "CANTON_EXCHANGE_OAUTH_SECRET")
        .cloned()
        .collect::<Vec<_>>();
    let e = refused(Path::new(SAMPLE), &no_secret);
    assert!(
        e.contains("CANTON_EXCHANGE_OAUTH_SECRET") && e.contains("not set"),
        "{e}"
    );

    let inline = edited(
        d,
        "inline.toml",
        "client_secret = { env = \"CANTON_EXCHANGE_OAUTH_SECRET\" }",
        "client_secret = \"hunter2\"",
    );
    let e = refused(&inline, &env);
    assert!(e.contains("never written in the config file"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");

    let mut open_key = env.clone();
    let key = PathBuf::from(&env[1].1);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = refused(Path::new(SAMPLE), &open_key);
    assert!(e.contains("0644") && e.contains("treasury.key_file"), "{e}");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();

    open_key.push((
        "CANTON_EXCHANGE__LEDGER__URL".into(),
        "validator.example.com:7575".into(),
    ));
    let e = refused(Path::new(SAMPLE), &open_key);
    assert!(e.contains("ledger.url"), "{e}");

    let float = edited(d, "float.toml", "target = \"1000\"", "target = 1000.5");
    let e = refused(&float, &env);
    assert!(e.contains("float") && e.contains("target"), "{e}");

    let wrong_key = {
        let (other, _) = key_file(d, "other.key");
        let mut env = env.clone();
        env[1].1 = other.to_str().unwrap().into();
        env
    };
    let e = refused(Path::new(SAMPLE), &wrong_key);
    assert!(e.contains("is not the key of"), "{e}");

    let e = refused(&d.join("missing.toml"), &env);
    assert!(e.contains("missing.toml"), "{e}");
}

/// A sandbox over TLS whose Ledger API takes only OAuth2 tokens living 1 s.
fn tls_oauth_sandbox(dir: &Path, key: &Path, secret: &Path) -> (Running, Value) {
    common::sandbox(
        dir,
        &[
            "--scenario",
            "basic",
            "--wall-clock",
            "--tls-cert",
            CERT,
            "--tls-key",
            KEY,
            "--oauth-client-id",
            "exchange",
            "--oauth-token-lifetime-secs",
            "1",
            "--oauth-client-secret-file",
            secret.to_str().unwrap(),
            "--treasury-key",
            key.to_str().unwrap(),
        ],
    )
}

fn balance_of_alice(db: &str) -> String {
    common::accounts(db).to_string()
}

async fn run_over_tls_with_expiring_oauth2_tokens_ingests_pays_and_stops_on_sigterm(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (key, _) = key_file(d, "treasury.key");
    let secret = d.join("oauth-secret");
    private(&secret, "client-s3cret\n");
    let (_sandbox, info) = tls_oauth_sandbox(d, &key, &secret);
    let url = info["ledgerApiUrl"].as_str().unwrap();
    assert!(url.starts_with("https://"), "{url}");
    let token_url = info["oauthTokenUrl"].as_str().unwrap();
    let treasury = info["parties"]["treasury"].as_str().unwrap();
    let alice = info["parties"]["customers"]["alice"].as_str().unwrap();
    let amulet = Token::of(&info, "Amulet");
    let ca = ca();
    let ca = ca.to_str().unwrap();
    let db_url = db.url.as_str();

    // Without a token the node refuses (its Ledger API requires one).
    let refused = run(&[
        "ingest",
        "--party",
        treasury,
        "--ledger",
        url,
        "--db",
        db_url,
        "--once",
        "--ledger-ca-file",
        ca,
    ]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("401"), "{stderr}");

    // Onboarding through the same TLS and OAuth2 settings, as flags and environment.
    let oauth_env = [
        ("CANTON_LEDGER_CA_FILE", ca),
        ("CANTON_OAUTH_TOKEN_URL", token_url),
        ("CANTON_OAUTH_CLIENT_ID", "exchange"),
        ("CANTON_OAUTH_CLIENT_SECRET_FILE", secret.to_str().unwrap()),
        ("CANTON_OAUTH_CA_FILE", ca),
    ];
    onboard_alice(
        db_url,
        url,
        &amulet,
        &["--registry-ca-file", ca],
        &oauth_env,
    );

    let config = d.join("exchange.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[treasury]
party = "{treasury}"
key_file = "{key}"

[ledger]
url = "{url}"
ca_file = "{ca}"

[ledger.oauth2]
token_url = "{token_url}"
client_id = "exchange"
client_secret = {{ file = "{secret}" }}
ca_file = "{ca}"

[db]
url = "{db_url}"

[registries]
ca_file = "{ca}"

[[registries.admins]]
admin = "{admin}"
url = "{registry}"

[withdrawals]
retry_secs = 1
"#,
            key = key.display(),
            secret = secret.display(),
            admin = amulet.admin,
            registry = amulet.registry,
        ),
    )
    .unwrap();
    ok(&["config", "check", config.to_str().unwrap()]);

    // `--only withdrawals`: nothing ingested (no balance yet), and idle at once.
    let cfg = config.to_str().unwrap();
    let alone = run(&[
        "run",
        "--config",
        cfg,
        "--only",
        "withdrawals",
        "--until-idle",
    ]);
    let stderr = String::from_utf8_lossy(&alone.stderr);
    assert!(
        alone.status.success() && stderr.contains("idle"),
        "{stderr}"
    );
    assert!(!balance_of_alice(db_url).contains("\"100.0000000000\""));
    // The service flags and a config file do not mix.
    let mixed = run(&["run", "--config", cfg, "--party", treasury]);
    let stderr = String::from_utf8_lossy(&mixed.stderr);
    assert!(
        !mixed.status.success() && stderr.contains("--config replaces"),
        "{stderr}"
    );

    let log = d.join("run.log");
    let started = Instant::now();
    let mut service = Running(
        binary()
            .args(["run", "--config", config.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    // The basic scenario's 100 Amulet for alice, ingested over TLS.
    eventually(60, "alice's deposit credited", || {
        balance_of_alice(db_url)
            .contains("\"100.0000000000\"")
            .then_some(())
    });
    // Tokens live 1 s: let several expire before the withdrawal is asked for.
    std::thread::sleep(Duration::from_secs(3));
    withdraw_30_to(db_url, alice);
    let state = eventually(90, "the withdrawal completed", || {
        withdrawal(db_url, "k-1")
            .filter(|w| matches!(w["state"].as_str(), Some("completed" | "failed")))
    });
    assert_eq!(state["state"], "completed", "{state}");
    assert!(
        started.elapsed() > Duration::from_secs(3),
        "the run outlived several tokens"
    );

    // SIGTERM: a prompt, clean exit.
    let status = service.terminate(Duration::from_secs(20));
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.contains("stopping"), "{stderr}");
    // Streams were cut as their tokens expired, and ingestion went on with new ones.
    assert!(stderr.contains("ACCESS_TOKEN_EXPIRED"), "{stderr}");
    assert!(!stderr.contains("client-s3cret"), "{stderr}");
    // Nothing lost: 100 deposited, 30 withdrawn.
    let accounts = balance_of_alice(db_url);
    assert!(accounts.contains("\"70.0000000000\""), "{accounts}");
}
