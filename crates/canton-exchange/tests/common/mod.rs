//! What the binary's integration tests share: running `canton-exchange` as an operator does, a
//! `canton-exchange sandbox` process to run it against, the basic scenario's onboarding and
//! withdrawal, and waiting for what happens meanwhile.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The built binary, with the variables that name a DB, node or key cleared: a developer's
/// shell must not point a test at theirs.
pub fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_canton-exchange"));
    for var in [
        "CANTON_EXCHANGE_DB",
        "CANTON_EXCHANGE_DB_PASSWORD",
        "CANTON_LEDGER_URL",
        "CANTON_LEDGER_TOKEN",
        "CANTON_EXCHANGE_MEMO_KEY_FILE",
    ] {
        command.env_remove(var);
    }
    command
}

/// The binary with `args` and the variables `env` set, to its end.
pub fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    binary()
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

pub fn run(args: &[&str]) -> Output {
    run_env(args, &[])
}

/// It must succeed.
pub fn succeeded_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let out = run_env(args, env);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn succeeded(args: &[&str]) -> Output {
    succeeded_env(args, &[])
}

/// Its stdout; it must succeed.
pub fn ok_env(args: &[&str], env: &[(&str, &str)]) -> String {
    String::from_utf8(succeeded_env(args, env).stdout).unwrap()
}

pub fn ok(args: &[&str]) -> String {
    ok_env(args, &[])
}

/// Its stderr; it must fail.
pub fn refused(args: &[&str]) -> String {
    let out = run(args);
    assert!(!out.status.success(), "{args:?} succeeded");
    String::from_utf8(out.stderr).unwrap()
}

/// The shared fixtures (`/work/shared/fixtures` seen from here); without them the test is
/// skipped, except in CI, where they must be there.
pub fn fixtures() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "missing {}",
        dir.display()
    );
    eprintln!("SKIPPED: missing {}", dir.display());
    None
}

/// A child process, killed when dropped: a failed assertion must not leave it running.
pub struct Running(pub Child);

impl Running {
    /// SIGTERM, then its exit status; it must stop within `within`.
    pub fn terminate(&mut self, within: Duration) -> ExitStatus {
        sigterm(&self.0);
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "still running {within:?} after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// What an operator's `kill` or a service manager sends to stop a process.
pub fn sigterm(child: &Child) {
    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `canton-exchange sandbox` with `args`, once it serves: it writes its info file (in `dir`)
/// only then. The info file's content is returned with the process.
pub fn sandbox(dir: &Path, args: &[&str]) -> (Running, Value) {
    let info = dir.join("info.json");
    let child = binary()
        .arg("sandbox")
        .args(args)
        .arg("--info-file")
        .arg(&info)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let info = wait_for_info(&info, &mut running.0);
    (running, info)
}

/// The info file a sandbox writes once it serves; it must not exit before.
pub fn wait_for_info(path: &Path, child: &mut Child) -> Value {
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

/// A token the sandbox serves, from its info file.
pub struct Token {
    pub admin: String,
    pub id: String,
    pub registry: String,
}

impl Token {
    pub fn of(info: &Value, id: &str) -> Token {
        let t = info["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["instrumentId"] == id)
            .unwrap_or_else(|| panic!("no {id} in {info}"));
        Token {
            admin: t["admin"].as_str().unwrap().to_owned(),
            id: id.to_owned(),
            registry: t["registryUrl"].as_str().unwrap().to_owned(),
        }
    }
}

/// The basic scenario on a sandbox process whose treasury is the external party of a new key
/// file: what `run` needs to be pointed at it.
pub struct BasicNode {
    pub running: Running,
    pub key: String,
    pub url: String,
    pub treasury: String,
    pub alice: String,
    pub amulet: Token,
    /// `--registry ADMIN=URL` for Canton Coin.
    pub registry: String,
}

impl BasicNode {
    /// The key file is written in `dir`.
    pub fn start(dir: &Path) -> BasicNode {
        let (key, _) = key_file(dir, "treasury.key");
        let key = key.to_str().unwrap().to_owned();
        let (running, info) = sandbox(dir, &["--scenario", "basic", "--treasury-key", &key]);
        let text = |v: &Value| v.as_str().unwrap().to_owned();
        let amulet = Token::of(&info, "Amulet");
        BasicNode {
            running,
            key,
            url: text(&info["ledgerApiUrl"]),
            treasury: text(&info["parties"]["treasury"]),
            alice: text(&info["parties"]["customers"]["alice"]),
            registry: format!("{}={}", amulet.admin, amulet.registry),
            amulet,
        }
    }

    /// `run` for the treasury against this node and `db`; the key and what to run are added.
    pub fn run_args<'a>(&'a self, db: &'a str) -> Vec<&'a str> {
        vec![
            "run",
            "--party",
            &self.treasury,
            "--ledger",
            &self.url,
            "--db",
            db,
            "--registry",
            &self.registry,
        ]
    }
}

/// A new key file (`keys generate`) and the treasury party of its key.
pub fn key_file(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(name);
    let out = ok(&["keys", "generate", "--out", path.to_str().unwrap()]);
    let fingerprint = out
        .lines()
        .find_map(|l| l.strip_prefix("fingerprint:"))
        .expect("keys generate prints the fingerprint")
        .trim()
        .to_owned();
    (path, format!("treasury::{fingerprint}"))
}

/// The secret line's value of a key file, to check it is never shown.
pub fn secret_of(key: &Path) -> String {
    std::fs::read_to_string(key)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("secret-key="))
        .expect("a secret line")
        .to_owned()
}

/// The basic scenario's onboarding, as an operator does it: alice's deposit account opened
/// and Canton Coin onboarded (the registry confirms admin and instrument). `tls` is added to
/// `tokens add`, which runs with `env`.
pub fn onboard_alice(db: &str, ledger: &str, amulet: &Token, tls: &[&str], env: &[(&str, &str)]) {
    ok(&[
        "accounts",
        "add",
        "--db",
        db,
        "--id",
        "deposit-account-alice",
        "--customer",
        "alice",
    ]);
    let mut add = vec![
        "tokens",
        "add",
        "--db",
        db,
        "--ledger",
        ledger,
        "--admin",
        &amulet.admin,
        "--instrument",
        "Amulet",
        "--registry-url",
        &amulet.registry,
        "--package-name",
        "splice-amulet",
    ];
    add.extend_from_slice(tls);
    ok_env(&add, env);
}

/// 30 Canton Coin from alice's account back to `alice`, with the idempotency key `k-1`.
pub fn withdraw_30_to(db: &str, alice: &str) {
    ok(&[
        "withdraw",
        "--db",
        db,
        "--account",
        "deposit-account-alice",
        "--to",
        alice,
        "--amount",
        "30",
        "--instrument",
        "Amulet",
        "--idempotency-key",
        "k-1",
    ]);
}

/// The withdrawal with idempotency key `key`, as `withdrawals --format json` lists it.
pub fn withdrawal(db: &str, key: &str) -> Option<Value> {
    let listed: Value =
        serde_json::from_str(&ok(&["withdrawals", "--db", db, "--format", "json"])).unwrap();
    listed
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["idempotencyKey"] == key)
        .cloned()
}

/// `accounts --format json`.
pub fn accounts(db: &str) -> Value {
    serde_json::from_str(&ok(&["accounts", "--db", db, "--format", "json"])).unwrap()
}

/// `holdings --format json`.
pub fn holdings(db: &str) -> Value {
    serde_json::from_str(&ok(&["holdings", "--db", db, "--format", "json"])).unwrap()
}

/// Polls `f` until it returns `Some`, for at most `secs`.
pub fn eventually<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(value) = f() {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `GET path` at `base` (`http://host:port`) over a bare connection: the status line and the
/// body (lossily decoded).
pub fn http_get(base: &str, path: &str) -> (String, String) {
    let host = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

/// The status code of `GET path` at `base`.
pub fn http_status(base: &str, path: &str) -> u16 {
    let (status_line, _) = http_get(base, path);
    status_line.split(' ').nth(1).unwrap().parse().unwrap()
}
