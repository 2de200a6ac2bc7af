//! Bearer-token authentication with two roles. The API keeps only the SHA-256 hashes of the
//! tokens (the caller loads them from a file or the environment, never argv), hashes what a
//! request presents and compares it with every known hash in constant time, so neither a
//! match nor its position leaks through timing.

use std::fmt;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::problem::Problem;
use crate::state::AppState;

/// Who calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The exchange's internal systems: open accounts, request withdrawals, read everything.
    Internal,
    /// Operators: switch withdrawals on and off, read the status; read everything else too,
    /// but neither open accounts nor move money.
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Internal => "internal",
            Role::Operator => "operator",
        }
    }
}

/// The SHA-256 of a token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The hash of `token` (for callers that load plain tokens from a file or env).
    pub fn of(token: &str) -> TokenHash {
        TokenHash(Sha256::digest(token.as_bytes()).into())
    }

    /// A hash given as 64 hex digits.
    pub fn from_hex(text: &str) -> Result<TokenHash, AuthError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| AuthError::MalformedHash)?;
        Ok(TokenHash(bytes))
    }
}

impl fmt::Debug for TokenHash {
    /// Even a hash is not printed: a short token could be found from it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(***)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("a token hash must be 64 hex digits (a SHA-256)")]
    MalformedHash,
    #[error("no API token configured: the API would refuse every request")]
    NoTokens,
    #[error("line {0}: expected `internal HASH` or `operator HASH`")]
    MalformedLine(usize),
}

/// The tokens the API accepts, by role.
#[derive(Clone, Debug, Default)]
pub struct ApiAuth {
    tokens: Vec<(TokenHash, Role)>,
}

impl ApiAuth {
    pub fn new() -> ApiAuth {
        ApiAuth::default()
    }

    pub fn with(mut self, role: Role, hash: TokenHash) -> ApiAuth {
        self.tokens.push((hash, role));
        self
    }

    /// Reads `ROLE HEX-SHA256` lines (`#` comments and blank lines skipped), as a token file
    /// holds them.
    pub fn parse(text: &str) -> Result<ApiAuth, AuthError> {
        let mut auth = ApiAuth::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (role, hash) = line
                .split_once(char::is_whitespace)
                .ok_or(AuthError::MalformedLine(n + 1))?;
            let role = match role {
                "internal" => Role::Internal,
                "operator" => Role::Operator,
                _ => return Err(AuthError::MalformedLine(n + 1)),
            };
            auth = auth.with(role, TokenHash::from_hex(hash)?);
        }
        if auth.tokens.is_empty() {
            return Err(AuthError::NoTokens);
        }
        Ok(auth)
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The role of `token`, if it is known. Every configured hash is compared, whatever
    /// matches first.
    pub fn role_of(&self, token: &str) -> Option<Role> {
        let presented = TokenHash::of(token);
        let mut found = None;
        for (hash, role) in &self.tokens {
            if bool::from(hash.0[..].ct_eq(&presented.0[..])) {
                found = Some(*role);
            }
        }
        found
    }

    /// The caller's role, if it may do what needs one of `allowed`.
    fn authorize(&self, parts: &Parts, allowed: &[Role]) -> Result<Role, Problem> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| Problem::unauthorized("no Authorization header"))?;
        // The scheme's name is case-insensitive (RFC 9110).
        let token = header
            .to_str()
            .ok()
            .filter(|h| {
                h.get(..7)
                    .is_some_and(|s| s.eq_ignore_ascii_case("bearer "))
            })
            .map(|h| &h[7..])
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Problem::unauthorized("expected `Authorization: Bearer <token>`"))?;
        let role = self
            .role_of(token)
            .ok_or_else(|| Problem::unauthorized("unknown token"))?;
        if !allowed.contains(&role) {
            return Err(Problem::forbidden(role));
        }
        Ok(role)
    }
}

/// A caller allowed to read: either role.
pub struct Reader(pub Role);

/// The exchange's internal systems (they move money).
pub struct Internal;

/// An operator.
pub struct Operator;

impl FromRequestParts<AppState> for Reader {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        state
            .auth
            .authorize(parts, &[Role::Internal, Role::Operator])
            .map(Reader)
    }
}

impl FromRequestParts<AppState> for Internal {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        state
            .auth
            .authorize(parts, &[Role::Internal])
            .map(|_| Internal)
    }
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        state
            .auth
            .authorize(parts, &[Role::Operator])
            .map(|_| Operator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_known_by_their_hash_and_role() {
        let auth = ApiAuth::new()
            .with(Role::Internal, TokenHash::of("sys-token"))
            .with(Role::Operator, TokenHash::of("op-token"));
        assert_eq!(auth.role_of("sys-token"), Some(Role::Internal));
        assert_eq!(auth.role_of("op-token"), Some(Role::Operator));
        assert_eq!(auth.role_of("sys-token "), None);
        assert_eq!(auth.role_of(""), None);
    }

    #[test]
    fn a_token_file_names_roles_and_hex_hashes() {
        let hash = hex::encode(Sha256::digest(b"t1"));
        let auth = ApiAuth::parse(&format!("# comment\n\ninternal {hash}\n")).unwrap();
        assert_eq!(auth.role_of("t1"), Some(Role::Internal));
        assert_eq!(
            ApiAuth::parse("admin 00").unwrap_err(),
            AuthError::MalformedLine(1)
        );
        assert_eq!(
            ApiAuth::parse("operator abcd").unwrap_err(),
            AuthError::MalformedHash
        );
        assert_eq!(ApiAuth::parse("# none\n").unwrap_err(), AuthError::NoTokens);
        assert_eq!(format!("{:?}", TokenHash::of("t1")), "TokenHash(***)");
    }
}
