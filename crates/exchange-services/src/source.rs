//! Where updates come from: a node's JSON Ledger API (websocket, or HTTP pages as the
//! fallback), or a recorded file (audits and replays), behind one small interface.

use std::sync::Arc;

use canton_ledger::client::{ClientError, LedgerClient};
use canton_ledger::filters::UpdateFormat;
use canton_ledger::recording::{RecordingError, read_updates};
use canton_ledger::{JsTransaction, Update};

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
#[derive(Debug)]
pub struct Recording {
    pub updates: Vec<Update>,
}

impl Recording {
    pub fn parse(text: &str) -> Result<Recording, RecordingError> {
        let mut updates = read_updates(text)?;
        updates.sort_by_key(|u| u.offset().unwrap_or(0));
        Ok(Recording { updates })
    }

    fn transactions(&self) -> impl Iterator<Item = &JsTransaction> {
        self.updates.iter().filter_map(|u| match u {
            Update::Transaction(t) => Some(&t.value),
            _ => None,
        })
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
    pub fn describe(&self) -> String {
        match self {
            Source::Ledger { client, transport } => {
                format!("{} ({transport:?})", client.base_url())
            }
            Source::File(r) => format!("a recording of {} elements", r.updates.len()),
        }
    }

    pub async fn ledger_end(&self) -> Result<i64, ClientError> {
        match self {
            Source::Ledger { client, .. } => client.ledger_end().await,
            Source::File(r) => Ok(r.updates.last().and_then(Update::offset).unwrap_or(0)),
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
                .transactions()
                .find(|t| t.offset == offset)
                .map(|t| t.update_id.clone())),
        }
    }

    /// The offset this node gave the transaction `update_id`; `None` if it does not have it.
    pub async fn offset_of(
        &self,
        update_id: &str,
        format: &UpdateFormat,
    ) -> Result<Option<i64>, ClientError> {
        match self {
            Source::Ledger { client, .. } => match client.update_by_id(update_id, format).await {
                Ok(Update::Transaction(t)) => Ok(Some(t.value.offset)),
                Ok(_) => Ok(None),
                Err(e) if e.code() == Some("UPDATE_NOT_FOUND") => Ok(None),
                Err(e) => Err(e),
            },
            Source::File(r) => Ok(r
                .transactions()
                .find(|t| t.update_id == update_id)
                .map(|t| t.offset)),
        }
    }
}
