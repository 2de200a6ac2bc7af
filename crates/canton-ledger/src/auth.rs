//! How the Ledger API client authenticates: no token, a static bearer token, or a token from
//! an OAuth2 authorization server by the client-credentials grant (RFC 6749 §4.4), which is
//! what validators' identity providers (Auth0, Keycloak, Okta…) hand machine users.
//!
//! The client-credentials request is one form POST; it is written here rather than taken from
//! the `oauth2` crate, which would bring its own HTTP client stack and types for the whole
//! family of flows when this one request is all a service account needs. The secret travels
//! in the body (`client_secret_post`), which those providers accept.
//!
//! A fetched token is cached and replaced once 80% of its `expires_in` has passed, so requests
//! rarely meet an expired one; a request the node still answers 401 drops it, and the caller
//! fetches a new one and retries that request once ([`Auth::rejected`]). Tokens and the
//! secret never appear in `Debug` output or errors.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::client::{ClientError, ClientOptions, LedgerClient};
use crate::tls::Trust;

/// A cached token is replaced after this share of its lifetime.
const REFRESH_AT: f64 = 0.8;
/// A token answered without `expires_in` is kept this long (or until a 401).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// The client-credentials settings of an OAuth2 authorization server.
#[derive(Clone)]
pub struct OAuth2Config {
    /// The token endpoint, e.g. `https://idp.example/oauth/token`.
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// The `audience` parameter (Auth0 and Canton's docs use it to name the Ledger API).
    pub audience: Option<String>,
    pub scope: Option<String>,
    /// Which CAs the token endpoint's certificate must chain to.
    pub trust: Trust,
}

impl std::fmt::Debug for OAuth2Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2Config")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("audience", &self.audience)
            .field("scope", &self.scope)
            .finish()
    }
}

/// How requests are authenticated.
#[derive(Clone, Default)]
pub enum Auth {
    #[default]
    None,
    /// A bearer token used as is (e.g. a long-lived JWT from a file).
    Static(Arc<str>),
    /// Tokens fetched from an authorization server, shared by every clone.
    OAuth2(Arc<TokenProvider>),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("Auth::None"),
            Auth::Static(_) => f.write_str("Auth::Static(***)"),
            Auth::OAuth2(p) => write!(f, "Auth::OAuth2({:?})", p.config),
        }
    }
}

impl From<Option<String>> for Auth {
    fn from(token: Option<String>) -> Auth {
        match token {
            Some(token) => Auth::Static(token.into()),
            None => Auth::None,
        }
    }
}

impl Auth {
    /// The token to send now, fetching one if the cached token is missing or due.
    pub async fn token(&self) -> Result<Option<String>, ClientError> {
        match self {
            Auth::None => Ok(None),
            Auth::Static(token) => Ok(Some(token.to_string())),
            Auth::OAuth2(provider) => provider.token().await.map(Some),
        }
    }

    /// The node refused `token` (401): whether asking again with a new token may help. For
    /// OAuth2 the token is dropped (unless another request replaced it already), so the next
    /// [`Auth::token`] fetches a fresh one.
    pub async fn rejected(&self, token: &str) -> bool {
        match self {
            Auth::OAuth2(provider) => {
                provider.forget(token).await;
                true
            }
            _ => false,
        }
    }
}

struct Cached {
    token: String,
    refresh_at: Instant,
}

/// Fetches, caches and refreshes client-credentials tokens.
pub struct TokenProvider {
    config: OAuth2Config,
    http: LedgerClient,
    /// Held while fetching, so concurrent requests wait for one fetch instead of each making
    /// their own.
    cached: Mutex<Option<Cached>>,
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<f64>,
}

impl TokenProvider {
    pub fn new(
        config: OAuth2Config,
        limits: crate::client::Limits,
    ) -> Result<TokenProvider, crate::tls::TlsError> {
        let options = ClientOptions {
            auth: Auth::None,
            trust: config.trust.clone(),
            limits,
        };
        let http = LedgerClient::with_options(&config.token_url, options)?;
        Ok(TokenProvider {
            config,
            http,
            cached: Mutex::new(None),
        })
    }

    async fn token(&self) -> Result<String, ClientError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let fresh = self.fetch().await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    async fn forget(&self, rejected: &str) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| c.token == rejected) {
            *cached = None;
        }
    }

    async fn fetch(&self) -> Result<Cached, ClientError> {
        let what = "OAuth2 token";
        let c = &self.config;
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.as_str()),
        ];
        if let Some(audience) = &c.audience {
            form.push(("audience", audience));
        }
        if let Some(scope) = &c.scope {
            form.push(("scope", scope));
        }
        let started = Instant::now();
        let request = self.http.http().post(self.http.url("")).form(&form);
        let answer: TokenResponse =
            self.http
                .send_with(what, request, None)
                .await
                .map_err(|e| {
                    // An authorization server's error could quote what it was sent.
                    scrub_error(e, &c.client_secret)
                })?;
        if let Some(kind) = &answer.token_type
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(ClientError::Decode {
                what,
                reason: format!("token_type {kind:?}, expected Bearer"),
            });
        }
        if answer.access_token.is_empty() {
            return Err(ClientError::Decode {
                what,
                reason: "empty access_token".into(),
            });
        }
        let lifetime = match answer.expires_in {
            Some(secs) if secs.is_finite() && secs > 0.0 => {
                Duration::from_secs_f64(secs.min(86_400.0 * 365.0))
            }
            _ => DEFAULT_LIFETIME,
        };
        Ok(Cached {
            token: answer.access_token,
            // Counted from the request, so the time it took is not lifetime we think is left.
            refresh_at: started + lifetime.mul_f64(REFRESH_AT),
        })
    }
}

fn scrub_error(e: ClientError, secret: &str) -> ClientError {
    if secret.is_empty() {
        return e;
    }
    match e {
        ClientError::Http { what, status, body } => ClientError::Http {
            what,
            status,
            body: body.replace(secret, "***"),
        },
        ClientError::Transport { what, reason } => ClientError::Transport {
            what,
            reason: reason.replace(secret, "***"),
        },
        ClientError::Decode { what, reason } => ClientError::Decode {
            what,
            reason: reason.replace(secret, "***"),
        },
        other => other,
    }
}
