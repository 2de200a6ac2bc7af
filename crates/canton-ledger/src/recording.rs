//! Recorded update streams: what operators save from `/v2/updates` for audits and replays.
//!
//! A recording is a JSON array, or JSON lines (any whitespace-separated JSON values), whose
//! elements are stream elements `{"update": …}` or bare `JsTransaction`s (as test data and
//! `update-by-id` answers often are).

use serde_json::value::RawValue;

use crate::Wrapped;
use crate::quote::cut;
use crate::updates::{JsGetUpdatesResponse, JsTransaction, Update};

/// Why a recording could not be read; `index` is the element's position (0-based).
#[derive(Debug)]
pub struct RecordingError {
    pub index: Option<usize>,
    pub source: serde_json::Error,
}

impl std::fmt::Display for RecordingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // serde_json quotes the offending value (which may be megabytes): cut it.
        let reason = cut(&self.source.to_string());
        match self.index {
            Some(i) => write!(f, "element {i}: {reason}"),
            None => write!(f, "{reason}"),
        }
    }
}

/// No `source()`: the message already says all of it (an error chain would print the
/// decoder's reason twice, the second time uncut).
impl std::error::Error for RecordingError {}

/// Reads every element of a recording, in order.
pub fn read_updates(text: &str) -> Result<Vec<Update>, RecordingError> {
    let raws: Vec<&RawValue> = if text.trim_start().starts_with('[') {
        serde_json::from_str(text).map_err(|source| RecordingError {
            index: None,
            source,
        })?
    } else {
        serde_json::Deserializer::from_str(text)
            .into_iter::<&RawValue>()
            .enumerate()
            .map(|(i, r)| {
                r.map_err(|source| RecordingError {
                    index: Some(i),
                    source,
                })
            })
            .collect::<Result<_, _>>()?
    };
    raws.into_iter()
        .enumerate()
        .map(|(i, raw)| {
            read_element(raw.get()).map_err(|source| RecordingError {
                index: Some(i),
                source,
            })
        })
        .collect()
}

/// One element: `{"update": …}` or a bare transaction. A negative offset is refused here,
/// where a reader would otherwise sort it before the beginning and never deliver it (0 is
/// "before the first update" on a node, and the first offset of normalized recordings).
pub fn read_element(json: &str) -> Result<Update, serde_json::Error> {
    let update = if is_stream_element(json) {
        serde_json::from_str::<JsGetUpdatesResponse>(json)?.update
    } else {
        Update::Transaction(Wrapped {
            value: serde_json::from_str::<JsTransaction>(json)?,
        })
    };
    match update.offset() {
        Some(offset) if offset < 0 => Err(<serde_json::Error as serde::de::Error>::custom(
            format!("offset {offset}: an update's offset is never negative"),
        )),
        _ => Ok(update),
    }
}

/// A stream element is an object whose (only) key is `update`; a transaction has no such key.
fn is_stream_element(json: &str) -> bool {
    json.trim_start()
        .strip_prefix('{')
        .map(str::trim_start)
        .and_then(|rest| rest.strip_prefix("\"update\""))
        .is_some_and(|rest| rest.trim_start().starts_with(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TX: &str = r#"{"updateId":"u1","events":[],"offset":3,"synchronizerId":"s::1","recordTime":"1971-01-01T00:00:00Z"}"#;

    #[test]
    fn reads_arrays_lines_wrapped_and_bare() {
        let wrapped = format!(r#"{{"update":{{"Transaction":{{"value":{TX}}}}}}}"#);
        let checkpoint = r#"{"update": {"OffsetCheckpoint": {"value": {"offset": 4, "synchronizerTimes": []}}}}"#;
        let array = format!("[{wrapped}, {TX}, {checkpoint}]");
        let lines = format!("{wrapped}\n{TX}\n{checkpoint}\n");
        for text in [array, lines] {
            let updates = read_updates(&text).unwrap();
            let offsets: Vec<_> = updates.iter().map(Update::offset).collect();
            assert_eq!(offsets, [Some(3), Some(3), Some(4)]);
        }
    }

    #[test]
    fn names_the_bad_element() {
        let err = read_updates(&format!("[{TX}, {{\"updateId\": 5}}]")).unwrap_err();
        assert_eq!(err.index, Some(1));
        assert!(read_updates("[").is_err());
    }
}
