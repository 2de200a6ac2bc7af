//! Optional bearer auth on the Ledger API (`ledger-api.md` §1.9): when the sandbox is started
//! with a token, every `/v2` request must carry it, as `Authorization: Bearer <token>` or, on a
//! websocket upgrade, as the subprotocol `jwt.token.<token>` (next to `daml.ws.auth`). The token
//! is compared as an opaque string: there is no JWT validation, no user or rights model. The
//! control API and the registries stay open (the Registry API has no standardized auth).
//!
//! With the token endpoint on (`oauth.rs`), a token it issued is accepted until it expires;
//! after that the request is refused with 401, as a node refuses an expired JWT, and a
//! websocket opened with it is closed with `ACCESS_TOKEN_EXPIRED` when it expires.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use canton_ledger::ErrorCategory;

use crate::http::error::ApiError;
use crate::http::oauth::{Issuer, Validity};

/// The tokens the Ledger API accepts.
pub struct Authenticator {
    pub token: Option<String>,
    pub issuer: Option<Arc<Issuer>>,
}

/// When the token a websocket was opened with expires (a request extension).
#[derive(Clone, Copy, Debug)]
pub struct TokenExpiry(pub std::time::Instant);

/// The token a request presented, if any.
fn presented(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    bearer.or_else(|| {
        headers
            .get(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split(',')
                    .map(str::trim)
                    .find_map(|p| p.strip_prefix("jwt.token."))
            })
    })
}

pub async fn require_token(
    State(auth): State<Arc<Authenticator>>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = presented(request.headers()).map(str::to_owned);
    let Some(presented) = presented else {
        return unauthenticated("invalid token");
    };
    if auth.token.as_deref() == Some(presented.as_str()) {
        return next.run(request).await;
    }
    match auth.issuer.as_ref().map(|i| i.validity(&presented)) {
        Some(Validity::Valid { expires }) => {
            request.extensions_mut().insert(TokenExpiry(expires));
            next.run(request).await
        }
        Some(Validity::Expired) => unauthenticated("token expired"),
        _ => unauthenticated("invalid token"),
    }
}

fn unauthenticated(why: &str) -> Response {
    let mut error = ApiError::canton(
        "UNAUTHENTICATED",
        ErrorCategory::AuthInterceptorInvalidAuthenticationCredentials,
        "The command is missing a (valid) JWT token",
        vec![],
    );
    if let ApiError::Canton(e) = &mut error {
        e.context
            .insert("ledger_api_error".to_owned(), why.to_owned());
    }
    error.into_response()
}
