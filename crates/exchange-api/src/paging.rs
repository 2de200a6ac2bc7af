//! Cursor pagination: `limit` (1..=[`MAX_LIMIT`], default [`DEFAULT_LIMIT`]) and an opaque
//! `cursor` from the previous page's `nextCursor`. A cursor is the last row's sort key, tagged
//! with the list it belongs to and base64url-encoded: callers must not build or edit them, and
//! one from another list is refused.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use exchange_store::After;

use crate::problem::Problem;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

/// The page size asked for, checked.
pub fn limit(asked: Option<u32>) -> Result<u32, Problem> {
    match asked {
        None => Ok(DEFAULT_LIMIT),
        Some(n @ 1..=MAX_LIMIT) => Ok(n),
        Some(n) => Err(Problem::invalid(
            "limit",
            format!("limit must be between 1 and {MAX_LIMIT}, not {n}"),
        )),
    }
}

/// Which list a cursor belongs to.
#[derive(Clone, Copy)]
pub enum List {
    Accounts,
    Journal,
    Withdrawals,
    Deposits,
}

impl List {
    fn tag(self) -> &'static str {
        match self {
            List::Accounts => "a",
            List::Journal => "j",
            List::Withdrawals => "w",
            List::Deposits => "d",
        }
    }
}

fn bad_cursor() -> Problem {
    Problem::new(
        axum::http::StatusCode::BAD_REQUEST,
        "invalid-cursor",
        "the cursor is not one this list handed out",
    )
    .at("cursor")
}

fn encode(list: List, key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}1:{key}", list.tag()))
}

fn decode(list: List, cursor: &str) -> Result<String, Problem> {
    let bad = bad_cursor;
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let prefix = format!("{}1:", list.tag());
    text.strip_prefix(&prefix)
        .map(str::to_owned)
        .ok_or_else(bad)
}

/// A cursor after a text key (accounts).
pub fn text_cursor(list: List, key: &str) -> String {
    encode(list, key)
}

pub fn text_after(list: List, cursor: Option<&str>) -> Result<Option<String>, Problem> {
    cursor.map(|c| decode(list, c)).transpose()
}

/// A cursor after a numbered row (journal entries).
pub fn number_cursor(list: List, key: i64) -> String {
    encode(list, &key.to_string())
}

pub fn number_after(list: List, cursor: Option<&str>) -> Result<Option<i64>, Problem> {
    cursor
        .map(|c| decode(list, c)?.parse().map_err(|_| bad_cursor()))
        .transpose()
}

/// A cursor after a (time, id) key (withdrawals, deposits).
pub fn after_cursor(list: List, after: &After) -> String {
    encode(list, &format!("{}:{}", after.micros, after.id))
}

pub fn after_after(list: List, cursor: Option<&str>) -> Result<Option<After>, Problem> {
    cursor
        .map(|c| {
            let key = decode(list, c)?;
            key.split_once(':')
                .and_then(|(micros, id)| {
                    Some(After {
                        micros: micros.parse().ok()?,
                        id: id.to_owned(),
                    })
                })
                .ok_or_else(bad_cursor)
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_belong_to_their_list() {
        let after = After {
            micros: 17,
            id: "u1#2:x".into(),
        };
        let c = after_cursor(List::Deposits, &after);
        assert_eq!(after_after(List::Deposits, Some(&c)).unwrap(), Some(after));
        assert_eq!(
            after_after(List::Withdrawals, Some(&c)).unwrap_err().code,
            "invalid-cursor"
        );
        assert_eq!(
            number_after(List::Journal, Some("%%")).unwrap_err().code,
            "invalid-cursor"
        );
        let n = number_cursor(List::Journal, 42);
        assert_eq!(number_after(List::Journal, Some(&n)).unwrap(), Some(42));
        assert_eq!(limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(limit(Some(0)).unwrap_err().code, "invalid-field");
        assert_eq!(
            limit(Some(MAX_LIMIT + 1)).unwrap_err().code,
            "invalid-field"
        );
    }
}
