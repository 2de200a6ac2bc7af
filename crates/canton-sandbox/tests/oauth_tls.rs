//! TLS and OAuth2, with the exchange's own client: the sandbox serves its Ledger API over TLS
//! (the test CA's certificate) and takes only tokens from its `POST /oauth/token`, which live
//! 1 s. The client trusts only that CA, fetches tokens with client credentials, reuses one
//! until 80% of its lifetime, renews it after, fetches a new one and retries once when a
//! request meets 401 (tokens revoked), and a websocket stream cut with ACCESS_TOKEN_EXPIRED
//! is retryable and reopens with a new token. Wrong secrets and untrusted CAs are refused.

mod common;

use std::time::Duration;

use canton_ledger::GetUpdatesRequest;
use canton_ledger::auth::{Auth, OAuth2Config, TokenProvider};
use canton_ledger::client::{
    ACCESS_TOKEN_EXPIRED, ClientError, ClientOptions, ErrorClass, LedgerClient,
};
use canton_ledger::tls::Trust;
use canton_sandbox::{OAuthConfig, Sandbox, SandboxConfig, Scenario, TlsIdentity};
use common::updates_request;

const TLS_DIR: &str = "../canton-ledger/tests/tls";

fn pem(name: &str) -> Vec<u8> {
    std::fs::read(format!("{TLS_DIR}/{name}")).unwrap()
}

async fn sandbox(lifetime: Duration) -> Sandbox {
    Sandbox::start(SandboxConfig {
        scenario: Scenario::Basic,
        tls: Some(TlsIdentity {
            cert_pem: pem("node.pem"),
            key_pem: pem("node.key"),
        }),
        oauth: Some(OAuthConfig {
            client_id: "exchange".into(),
            client_secret: "client-s3cret".into(),
            token_lifetime: lifetime,
        }),
        ..Default::default()
    })
    .await
    .expect("starts")
}

fn client(sandbox: &Sandbox, secret: &str, ca: &str) -> LedgerClient {
    let trust = Trust::CaPem(pem(ca));
    let config = OAuth2Config {
        token_url: sandbox.oauth_token_url().unwrap(),
        client_id: "exchange".into(),
        client_secret: secret.into(),
        audience: Some("https://ledger.example".into()),
        scope: Some("daml_ledger_api".into()),
        trust: trust.clone(),
    };
    let provider = TokenProvider::new(config, Default::default()).unwrap();
    let options = ClientOptions {
        auth: Auth::OAuth2(provider.into()),
        trust,
        limits: Default::default(),
    };
    LedgerClient::with_options(&sandbox.ledger_api_url(), options).unwrap()
}

#[tokio::test]
async fn tokens_are_fetched_reused_renewed_and_replaced_after_a_401() {
    let sandbox = sandbox(Duration::from_secs(1)).await;
    assert!(sandbox.ledger_api_url().starts_with("https://"));
    let client = client(&sandbox, "client-s3cret", "ca.pem");
    let end = client
        .ledger_end()
        .await
        .expect("ledger end over TLS with a token");
    client.ledger_end().await.unwrap();
    assert_eq!(
        sandbox.tokens_issued(),
        1,
        "one token for requests within its lifetime"
    );
    // Past 80% of its lifetime: renewed before the node would refuse it.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(client.ledger_end().await.unwrap(), end);
    assert_eq!(sandbox.tokens_issued(), 2);
    // Revoked at the provider: the 401 drops it, a new one is fetched, the request retried.
    sandbox.revoke_tokens();
    assert_eq!(client.ledger_end().await.unwrap(), end);
    assert_eq!(sandbox.tokens_issued(), 3);
}

#[tokio::test]
async fn a_stream_outliving_its_token_is_cut_retryably_and_reopens() {
    let sandbox = sandbox(Duration::from_secs(1)).await;
    let client = client(&sandbox, "client-s3cret", "ca.pem");
    let treasury = sandbox.parties().treasury.clone().unwrap();
    let request: GetUpdatesRequest = serde_json::from_value(updates_request(
        &treasury,
        "TRANSACTION_SHAPE_LEDGER_EFFECTS",
        0,
        None,
    ))
    .unwrap();
    let mut stream = client.updates_stream(&request).await.expect("wss opens");
    let cut = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match stream.next().await {
                Some(Ok(_)) => continue,
                Some(Err(e)) => return e,
                None => panic!("closed without an error"),
            }
        }
    })
    .await
    .expect("cut within 5 s");
    assert_eq!(cut.code(), Some(ACCESS_TOKEN_EXPIRED), "{cut}");
    assert_eq!(cut.class(), ErrorClass::Retryable);
    let mut again = client.updates_stream(&request).await.expect("reopens");
    assert!(matches!(again.next().await, Some(Ok(_))));
}

#[tokio::test]
async fn wrong_secrets_untrusted_certificates_and_plain_tokens_are_refused() {
    let sandbox = sandbox(Duration::from_secs(30)).await;
    let wrong = client(&sandbox, "not-the-secret", "ca.pem");
    let e = wrong.ledger_end().await.unwrap_err();
    assert!(matches!(e, ClientError::Http { status: 401, .. }), "{e}");
    assert!(e.to_string().contains("invalid_client"), "{e}");
    assert!(!e.to_string().contains("not-the-secret"), "{e}");

    let untrusted = client(&sandbox, "client-s3cret", "other-ca.pem");
    let e = untrusted.ledger_end().await.unwrap_err();
    assert!(matches!(e, ClientError::Transport { .. }), "{e}");
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");

    // A made-up token, over a trusted connection: 401 from the Ledger API.
    let options = ClientOptions {
        auth: Auth::Static("made-up".into()),
        trust: Trust::CaPem(pem("ca.pem")),
        limits: Default::default(),
    };
    let plain = LedgerClient::with_options(&sandbox.ledger_api_url(), options).unwrap();
    let e = plain.ledger_end().await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");
}
