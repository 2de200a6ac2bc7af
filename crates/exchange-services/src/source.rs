//! Where updates come from: a node's JSON Ledger API (websocket, or HTTP pages as the
//! fallback), or a recorded file (audits and replays), behind one small interface.

use std::sync::Arc;

use canton_ledger::client::{ClientError, LedgerClient};
use canton_ledger::filters::UpdateFormat;
use canton_ledger::recording::{RecordingError, read_element, read_updates};
use canton_ledger::{JsTransaction, Update};
use serde::Deserialize;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The default bound on one line of a JSON-lines recording, and on a whole JSON-array
/// recording: a file without line breaks (or endless, like a pipe) must not fill the memory.
pub const DEFAULT_MAX_ELEMENT_BYTES: usize = 64 << 20;

/// How updates are read from a node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    /// The websocket stream: one connection, the node pushes.
    #[default]
    Websocket,
    /// `POST /v2/updates` pages of at most 200 elements, for setups where websockets are
    /// blocked.
    Http,
}

/// A recorded update stream, in offset order.
///
/// A JSON array is read whole (the fixtures are small). A JSON-lines file is streamed: opening
/// it keeps only each element's offset and byte position (16 bytes per element), and
/// [`Recording::read_from`] parses elements one at a time as they are read, so replaying a
/// recording of any length takes the same memory.
#[derive(Debug)]
pub struct Recording {
    content: Content,
}

#[derive(Debug)]
enum Content {
    Loaded(Vec<Update>),
    Lines {
        path: PathBuf,
        /// (offset, byte position of the line), in offset order.
        index: Vec<(i64, u64)>,
        /// The longest line read.
        max_line: usize,
    },
}

/// Just enough of an element to index it, without allocating the rest.
#[derive(Deserialize)]
struct Light {
    #[serde(default)]
    update: Option<LightUpdate>,
    #[serde(default)]
    offset: Option<i64>,
}

#[derive(Deserialize)]
enum LightUpdate {
    Transaction(LightWrapped),
    OffsetCheckpoint(LightWrapped),
    Reassignment(LightWrapped),
    TopologyTransaction(LightWrapped),
}

#[derive(Deserialize)]
struct LightWrapped {
    value: LightValue,
}

#[derive(Deserialize)]
struct LightValue {
    offset: i64,
}

fn light_offset(line: &str) -> Option<i64> {
    let light: Light = serde_json::from_str(line).ok()?;
    match light.update {
        Some(
            LightUpdate::Transaction(w)
            | LightUpdate::OffsetCheckpoint(w)
            | LightUpdate::Reassignment(w)
            | LightUpdate::TopologyTransaction(w),
        ) => Some(w.value.offset),
        None => light.offset,
    }
}

fn io_error(path: &Path, e: std::io::Error) -> RecordingFileError {
    RecordingFileError::Io(format!("{}: {e}", path.display()))
}

const WHOLE_HINT: &str =
    "write it as JSON lines (one element per line, in offset order), or raise --max-message-mib";

/// Reads one line (with its `\n`) into `line`, at most `max` bytes of it; the count read.
/// `line_number` (1-based) names the line in the error.
fn read_line_bounded(
    reader: &mut impl BufRead,
    line: &mut String,
    max: usize,
    path: &Path,
    line_number: usize,
) -> Result<usize, RecordingFileError> {
    let read = reader
        .take(max as u64 + 1)
        .read_line(line)
        .map_err(|e| io_error(path, e))?;
    if line.len() > max && !(line.len() == max + 1 && line.ends_with('\n')) {
        return Err(RecordingFileError::TooLarge(format!(
            "{}: line {line_number} is longer than {max} bytes (the bound on one element; see --max-message-mib)",
            path.display()
        )));
    }
    Ok(read)
}

/// The whole file as text, refused if longer than `max` bytes (a JSON-array recording, or
/// one out of offset order, is read whole); `hint` says how to proceed then.
pub fn read_bounded(path: &Path, max: usize, hint: &str) -> Result<String, RecordingFileError> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let mut text = String::new();
    file.take(max as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|e| io_error(path, e))?;
    if text.len() > max {
        return Err(RecordingFileError::TooLarge(format!(
            "{}: longer than {max} bytes, the bound on a file read whole: {hint}",
            path.display()
        )));
    }
    Ok(text)
}

impl Recording {
    /// A recording held in memory.
    pub fn parse(text: &str) -> Result<Recording, RecordingError> {
        let mut updates = read_updates(text)?;
        updates.sort_by_key(|u| u.offset().unwrap_or(0));
        Ok(Recording {
            content: Content::Loaded(updates),
        })
    }

    /// Opens a recording file: a JSON array is read whole, JSON lines are indexed and
    /// streamed (lines out of offset order are read whole too).
    pub fn open(path: &Path) -> Result<Recording, RecordingFileError> {
        Recording::open_bounded(path, DEFAULT_MAX_ELEMENT_BYTES)
    }

    /// [`Recording::open`] with `max` bytes per line, and per file read whole.
    pub fn open_bounded(path: &Path, max: usize) -> Result<Recording, RecordingFileError> {
        let file = File::open(path).map_err(|e| io_error(path, e))?;
        let mut reader = BufReader::new(file);
        let mut index = Vec::new();
        let mut position = 0u64;
        let mut line = String::new();
        let mut first = true;
        let mut line_number = 0;
        loop {
            line.clear();
            line_number += 1;
            let read = match read_line_bounded(&mut reader, &mut line, max, path, line_number) {
                // An array on one long line is read whole, bounded as a whole.
                Err(RecordingFileError::TooLarge(_))
                    if first && line.trim_start().starts_with('[') =>
                {
                    return Ok(Recording::parse(&read_bounded(path, max, WHOLE_HINT)?)?);
                }
                other => other?,
            };
            if read == 0 {
                break;
            }
            let trimmed = line.trim();
            if first && !trimmed.is_empty() {
                first = false;
                if trimmed.starts_with('[') || light_offset(trimmed).is_none() {
                    // An array, or a pretty-printed stream: read it whole.
                    return Ok(Recording::parse(&read_bounded(path, max, WHOLE_HINT)?)?);
                }
            }
            if !trimmed.is_empty() {
                let offset = match light_offset(trimmed) {
                    Some(o) if o >= 0 => o,
                    // Not indexable cheaply, or negative: the full read says why.
                    _ => read_element(trimmed)
                        .map_err(|source| RecordingError {
                            index: Some(index.len()),
                            source,
                        })?
                        .offset()
                        .unwrap_or(0),
                };
                index.push((offset, position));
            }
            position += read as u64;
        }
        if !index.is_sorted_by_key(|(offset, _)| *offset) {
            return Ok(Recording::parse(&read_bounded(path, max, WHOLE_HINT)?)?);
        }
        Ok(Recording {
            content: Content::Lines {
                path: path.to_owned(),
                index,
                max_line: max,
            },
        })
    }

    pub fn len(&self) -> usize {
        match &self.content {
            Content::Loaded(updates) => updates.len(),
            Content::Lines { index, .. } => index.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The offset of the last element.
    pub fn last_offset(&self) -> Option<i64> {
        match &self.content {
            Content::Loaded(updates) => updates.last().and_then(Update::offset),
            Content::Lines { index, .. } => index.last().map(|(offset, _)| *offset),
        }
    }

    /// The elements after `begin` up to `end`, in order; a streamed file parses them one at a
    /// time as they are taken.
    pub fn elements(&self, begin: i64, end: i64) -> Result<Elements<'_>, RecordingFileError> {
        Ok(match &self.content {
            Content::Loaded(updates) => Elements::Loaded {
                updates: updates.iter(),
                begin,
                end,
            },
            Content::Lines {
                path,
                index,
                max_line,
            } => {
                let first = index.partition_point(|(offset, _)| *offset <= begin);
                let mut file = File::open(path).map_err(|e| io_error(path, e))?;
                if let Some((_, position)) = index.get(first) {
                    file.seek(SeekFrom::Start(*position))
                        .map_err(|e| io_error(path, e))?;
                }
                Elements::Lines {
                    path,
                    reader: BufReader::with_capacity(1 << 20, file),
                    index: index[first..].iter().enumerate(),
                    first,
                    end,
                    line: String::new(),
                    max_line: *max_line,
                }
            }
        })
    }

    /// The first transaction that `matches` (a scan: for identity checks, not the hot path).
    fn find_transaction(
        &self,
        mut matches: impl FnMut(&JsTransaction) -> bool,
    ) -> Result<Option<JsTransaction>, RecordingFileError> {
        for element in self.elements(i64::MIN, i64::MAX)? {
            if let Update::Transaction(t) = element?
                && matches(&t.value)
            {
                return Ok(Some(t.value));
            }
        }
        Ok(None)
    }
}

/// Why a recording file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordingFileError {
    #[error("{0}")]
    Io(String),
    /// A line, or a file read whole, longer than the bound.
    #[error("{0}")]
    TooLarge(String),
    #[error(transparent)]
    Element(#[from] RecordingError),
}

/// Iterates over a recording's elements in a range; see [`Recording::elements`].
pub enum Elements<'r> {
    Loaded {
        updates: std::slice::Iter<'r, Update>,
        begin: i64,
        end: i64,
    },
    Lines {
        path: &'r Path,
        reader: BufReader<File>,
        index: std::iter::Enumerate<std::slice::Iter<'r, (i64, u64)>>,
        first: usize,
        end: i64,
        line: String,
        max_line: usize,
    },
}

impl Iterator for Elements<'_> {
    type Item = Result<Update, RecordingFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Elements::Loaded {
                updates,
                begin,
                end,
            } => updates
                .find(|u| {
                    let offset = u.offset().unwrap_or(0);
                    offset > *begin && offset <= *end
                })
                .map(|u| Ok(u.clone())),
            Elements::Lines {
                path,
                reader,
                index,
                first,
                end,
                line,
                max_line,
            } => {
                let (i, (offset, _)) = index.next()?;
                if *offset > *end {
                    return None;
                }
                // Skip blank lines between elements. (The file was indexed with the same
                // bound; it is checked again in case the file changed since.)
                loop {
                    line.clear();
                    match read_line_bounded(reader, line, *max_line, path, *first + i + 1) {
                        Err(e) => return Some(Err(e)),
                        Ok(_) if !line.is_empty() && line.trim().is_empty() => continue,
                        Ok(_) => break,
                    }
                }
                Some(read_element(line.trim()).map_err(|source| {
                    RecordingError {
                        index: Some(*first + i),
                        source,
                    }
                    .into()
                }))
            }
        }
    }
}

/// A source of updates.
#[derive(Clone, Debug)]
pub enum Source {
    Ledger {
        client: LedgerClient,
        transport: Transport,
    },
    File(Arc<Recording>),
}

impl Source {
    pub async fn ledger_end(&self) -> Result<i64, ClientError> {
        match self {
            Source::Ledger { client, .. } => client.ledger_end().await,
            Source::File(r) => Ok(r.last_offset().unwrap_or(0)),
        }
    }

    pub async fn pruned_offset(&self) -> Result<i64, ClientError> {
        match self {
            Source::Ledger { client, .. } => client.pruned_offset().await,
            Source::File(_) => Ok(0),
        }
    }

    /// The update id of the transaction at `offset`; `None` if the node has none there.
    pub async fn update_id_at(
        &self,
        offset: i64,
        format: &UpdateFormat,
    ) -> Result<Option<String>, ClientError> {
        match self {
            Source::Ledger { client, .. } => match client.update_by_offset(offset, format).await {
                Ok(Update::Transaction(t)) => Ok(Some(t.value.update_id)),
                Ok(_) => Ok(None),
                Err(e) if e.code() == Some("UPDATE_NOT_FOUND") => Ok(None),
                Err(e) => Err(e),
            },
            Source::File(r) => Ok(r
                .find_transaction(|t| t.offset == offset)
                .map_err(recording_error)?
                .map(|t| t.update_id)),
        }
    }

    /// The offset this node gave the transaction `update_id`; `None` if it does not have it.
    pub async fn offset_of(
        &self,
        update_id: &str,
        format: &UpdateFormat,
    ) -> Result<Option<i64>, ClientError> {
        Ok(self.transaction(update_id, format).await?.map(|t| t.offset))
    }

    /// The transaction `update_id` as this node shows it; `None` if it does not have it.
    pub async fn transaction(
        &self,
        update_id: &str,
        format: &UpdateFormat,
    ) -> Result<Option<JsTransaction>, ClientError> {
        match self {
            Source::Ledger { client, .. } => match client.update_by_id(update_id, format).await {
                Ok(Update::Transaction(t)) => Ok(Some(t.value)),
                Ok(_) => Ok(None),
                Err(e) if e.code() == Some("UPDATE_NOT_FOUND") => Ok(None),
                Err(e) => Err(e),
            },
            Source::File(r) => r
                .find_transaction(|t| t.update_id == update_id)
                .map_err(recording_error),
        }
    }
}

/// A recording that cannot be read mid-way is as broken as a node that answers garbage.
pub(crate) fn recording_error(e: RecordingFileError) -> ClientError {
    ClientError::Decode {
        what: "recording",
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"updateId":"u1","events":[],"offset":3,"synchronizerId":"s::1","recordTime":"1971-01-01T00:00:00Z"}"#;

    #[test]
    fn lines_and_arrays_over_the_bound_are_refused_naming_line_and_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let long = format!(r#"{{"updateId":"{}"}}"#, "x".repeat(1000));
        std::fs::write(&path, format!("{LINE}\n\n{long}\n")).unwrap();
        let e = Recording::open_bounded(&path, 500).unwrap_err().to_string();
        assert!(
            e.ends_with(
                "line 3 is longer than 500 bytes (the bound on one element; see --max-message-mib)"
            ),
            "{e}"
        );
        // A line of exactly the bound (without its newline) is read.
        let exact = Recording::open_bounded(&path, long.len())
            .unwrap_err()
            .to_string();
        assert!(!exact.contains("longer than"), "{exact}");

        let array = dir.path().join("r.json");
        std::fs::write(&array, format!("[{LINE},\n{LINE}]")).unwrap();
        assert_eq!(Recording::open_bounded(&array, 1000).unwrap().len(), 2);
        let e = Recording::open_bounded(&array, 150)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("longer than 150 bytes, the bound on a file read whole"),
            "{e}"
        );
    }
}
