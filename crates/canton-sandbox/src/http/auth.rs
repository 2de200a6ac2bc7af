//! Optional bearer auth on the Ledger API (`ledger-api.md` §1.9): when the sandbox is started
//! with a token, every `/v2` request must carry it, as `Authorization: Bearer <token>` or, on a
//! websocket upgrade, as the subprotocol `jwt.token.<token>` (next to `daml.ws.auth`). The token
//! is compared as an opaque string: there is no JWT validation, no user or rights model. The
//! control API and the registries stay open (the Registry API has no standardized auth).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use canton_ledger::ErrorCategory;

use crate::http::error::ApiError;

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
    State(token): State<Arc<str>>,
    request: Request,
    next: Next,
) -> Response {
    if presented(request.headers()) == Some(&*token) {
        return next.run(request).await;
    }
    let mut error = ApiError::canton(
        "UNAUTHENTICATED",
        ErrorCategory::AuthInterceptorInvalidAuthenticationCredentials,
        "The command is missing a (valid) JWT token",
        vec![],
    );
    if let ApiError::Canton(e) = &mut error {
        e.context
            .insert("ledger_api_error".to_owned(), "invalid token".to_owned());
    }
    error.into_response()
}
