//! Secrets (the DB password, bearer tokens) come from the environment or files, never argv,
//! and are never shown: every DB URL the binary prints goes through [`redact_url`].

use std::path::Path;

use anyhow::{Context, Result, bail};

const HIDDEN: &str = "***";

/// `url` with its password replaced by `***`, in the user info (`postgres://user:PW@host/db`)
/// and in a `password=` query parameter.
pub fn redact_url(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let mut out = match user_info_password(head) {
        Some(range) => format!("{}{HIDDEN}{}", &head[..range.start], &head[range.end..]),
        None => head.to_owned(),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}={HIDDEN}"),
                _ => p.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

/// The byte range of the password in `scheme://user:PASSWORD@host…`, if there is one.
fn user_info_password(head: &str) -> Option<std::ops::Range<usize>> {
    let start = head.find("://")? + 3;
    let authority_len = head[start..].find('/').unwrap_or(head.len() - start);
    let authority = &head[start..start + authority_len];
    let at = authority.rfind('@')?;
    let colon = authority[..at].find(':')?;
    Some(start + colon + 1..start + at)
}

/// The password in `url`'s user info, as written (percent-encoded).
pub fn url_password(url: &str) -> Option<&str> {
    let head = url.split_once('?').map_or(url, |(head, _)| head);
    user_info_password(head).map(|range| &head[range])
}

/// Whether `url` carries a password already.
fn has_password(url: &str) -> bool {
    redact_url(url) != url || url.to_ascii_lowercase().contains("password=")
}

/// `url` with `password` added as the `password` query parameter (percent-encoded), which
/// PostgreSQL URLs accept; refused if the URL has one already or is not PostgreSQL.
pub fn with_password(url: &str, password: &str) -> Result<String> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        bail!("a DB password applies to postgres:// URLs only");
    }
    if has_password(url) {
        bail!("the DB URL has a password already: give it in one place only");
    }
    let encoded: String = password
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let separator = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{separator}password={encoded}"))
}

/// A secret kept in a file (first line, surrounding whitespace trimmed); the error names the
/// file, never its content.
pub fn read_secret_file(path: &Path, what: &str) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the {what} from {}", path.display()))?;
    let secret = text.lines().next().unwrap_or("").trim();
    if secret.is_empty() {
        bail!("the {what} file {} is empty", path.display());
    }
    Ok(secret.to_owned())
}

/// `text` with every occurrence of the non-empty `secrets` replaced by `***` (for messages
/// from libraries that may quote what they were given, e.g. a URL).
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_owned(), |t, s| t.replace(s, HIDDEN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_wherever_the_url_has_them() {
        assert_eq!(
            redact_url("postgres://user:s3cr%40t@db.example:5432/exchange"),
            "postgres://user:***@db.example:5432/exchange"
        );
        assert_eq!(
            redact_url("postgres://db/x?user=u&password=pw&sslmode=require"),
            "postgres://db/x?user=u&password=***&sslmode=require"
        );
        assert_eq!(redact_url("postgres://user@db/x"), "postgres://user@db/x");
        assert_eq!(redact_url("sqlite://a:b/c.db"), "sqlite://a:b/c.db");
        assert_eq!(
            with_password("postgres://u@h/db", "p w&x").unwrap(),
            "postgres://u@h/db?password=p%20w%26x"
        );
        assert!(with_password("postgres://u:pw@h/db", "x").is_err());
        assert!(with_password("sqlite://x.db", "x").is_err());
        assert_eq!(scrub("a pw b", &["pw", ""]), "a *** b");
    }
}
