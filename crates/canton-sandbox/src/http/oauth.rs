//! An OAuth2-style token endpoint (`POST /oauth/token`, client-credentials grant, RFC 6749
//! §4.4), standing in for a validator's identity provider: it issues short-lived opaque bearer
//! tokens to the one configured client, and the Ledger API then requires one that has not
//! expired (see `auth.rs`). Tokens are random-looking strings, not JWTs: the sandbox checks
//! them by lookup, as it checks a static token by comparison.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The client the token endpoint knows, and how long its tokens live.
#[derive(Clone)]
pub struct OAuthConfig {
    pub client_id: String,
    pub client_secret: String,
    pub token_lifetime: Duration,
}

impl std::fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("token_lifetime", &self.token_lifetime)
            .finish()
    }
}

/// What a presented token is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    Valid { expires: Instant },
    Expired,
    Unknown,
}

/// Issues tokens and remembers them until they expire.
pub struct Issuer {
    config: OAuthConfig,
    issued: Mutex<HashMap<String, Instant>>,
    counter: AtomicU64,
    /// Expired tokens are remembered this long, to answer "expired" rather than "unknown".
    keep_expired: Duration,
}

impl Issuer {
    pub fn new(config: OAuthConfig) -> Issuer {
        Issuer {
            config,
            issued: Mutex::default(),
            counter: AtomicU64::new(0),
            keep_expired: Duration::from_secs(600),
        }
    }

    /// Forgets every token issued so far (a key rotation at the identity provider): the
    /// Ledger API refuses them from now on.
    pub fn revoke_all(&self) {
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// How many tokens were issued.
    pub fn issued(&self) -> u64 {
        self.counter.load(Ordering::Relaxed)
    }

    pub fn validity(&self, token: &str) -> Validity {
        let issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        match issued.get(token) {
            Some(expires) if Instant::now() < *expires => Validity::Valid { expires: *expires },
            Some(_) => Validity::Expired,
            None => Validity::Unknown,
        }
    }

    fn issue(&self) -> (String, Duration) {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let mut hash = Sha256::new();
        hash.update(self.config.client_secret.as_bytes());
        hash.update(n.to_be_bytes());
        hash.update(nanos.to_be_bytes());
        let token = format!("sbx.{}", hex::encode(hash.finalize()));
        let now = Instant::now();
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        issued.retain(|_, expires| *expires + self.keep_expired > now);
        issued.insert(token.clone(), now + self.config.token_lifetime);
        (token, self.config.token_lifetime)
    }
}

#[derive(serde::Deserialize)]
pub struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    // Accepted and not checked: the sandbox serves one audience.
    #[allow(dead_code)]
    audience: Option<String>,
    #[allow(dead_code)]
    scope: Option<String>,
}

/// RFC 6749 §5.2 error answers.
fn refuse(status: StatusCode, error: &str, description: &str) -> Response {
    let body = serde_json::json!({ "error": error, "error_description": description });
    (status, Json(body)).into_response()
}

/// `POST /oauth/token` (form-encoded).
pub async fn token(
    State(issuer): State<std::sync::Arc<Issuer>>,
    axum::Form(request): axum::Form<TokenRequest>,
) -> Response {
    if request.grant_type.as_deref() != Some("client_credentials") {
        return refuse(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials is supported",
        );
    }
    let config = &issuer.config;
    let id_ok = request.client_id.as_deref() == Some(config.client_id.as_str());
    let secret_ok = request.client_secret.as_deref() == Some(config.client_secret.as_str());
    if !(id_ok && secret_ok) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        );
    }
    let (access_token, lifetime) = issuer.issue();
    let body = serde_json::json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": lifetime.as_secs().max(1),
    });
    Json(body).into_response()
}
