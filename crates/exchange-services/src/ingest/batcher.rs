//! Reading one batch off the reader's channel: it closes when full, late, when the stream ends
//! or fails, or when a stop is asked for.

use canton_ledger::Update;
use canton_ledger::client::ClientError;
use tokio::sync::{mpsc, watch};

use super::{IngestConfig, stop_requested};

/// One batch as read, and what ended it early.
pub(super) struct Read {
    /// Possibly empty (the stream ended or failed first).
    pub(super) updates: Vec<Update>,
    /// The stream failed after these updates.
    pub(super) failure: Option<ClientError>,
    /// The stream ended after these updates.
    pub(super) finished: bool,
}

/// Waits for the first element of a batch (`None` if a stop comes first), then fills it until
/// it holds `config.batch_transactions` transactions, `config.batch_wait` has passed since the
/// first element, the stream ends or fails, or a stop is asked for.
pub(super) async fn next_batch(
    elements: &mut mpsc::Receiver<Result<Update, ClientError>>,
    stop: &mut watch::Receiver<bool>,
    config: &IngestConfig,
) -> Option<Read> {
    let first = tokio::select! {
        biased;
        _ = stop_requested(stop) => return None,
        e = elements.recv() => e,
    };
    let mut read = Read {
        updates: Vec::new(),
        failure: None,
        finished: false,
    };
    match first {
        None => read.finished = true,
        Some(Err(e)) => read.failure = Some(e),
        Some(Ok(u)) => read.updates.push(u),
    }
    let deadline = tokio::time::Instant::now() + config.batch_wait;
    let mut transactions = read.updates.len();
    while read.failure.is_none() && !read.finished && transactions < config.batch_transactions {
        match tokio::time::timeout_at(deadline, elements.recv()).await {
            Err(_) => break,
            Ok(None) => read.finished = true,
            Ok(Some(Err(e))) => read.failure = Some(e),
            Ok(Some(Ok(u))) => {
                transactions += usize::from(matches!(u, Update::Transaction(_)));
                read.updates.push(u);
            }
        }
        if *stop.borrow() {
            break;
        }
    }
    Some(read)
}
