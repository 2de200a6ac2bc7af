//! Reading one batch off the reader's channel: it closes when full, late, when the stream ends
//! or fails, or when a stop is asked for.

use canton_ledger::Update;
use canton_ledger::client::ClientError;
use tokio::sync::{mpsc, watch};

use super::{IngestConfig, stop_requested};

/// What the reader sends: an update, or the error that ended its stream.
type Element = Result<Update, ClientError>;

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
    elements: &mut mpsc::Receiver<Element>,
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use canton_ledger::Wrapped;
    use canton_ledger::updates::OffsetCheckpoint;
    use exchange_core::PartyId;
    use exchange_core::ingest::FoldConfig;

    use super::*;

    fn config(batch_transactions: usize, batch_wait: Duration) -> IngestConfig {
        let treasury = PartyId::new("treasury::1220ab").unwrap();
        let mut config = IngestConfig::new(FoldConfig::new(treasury));
        config.batch_transactions = batch_transactions;
        config.batch_wait = batch_wait;
        config
    }

    fn transaction(offset: i64) -> Update {
        let tx = serde_json::from_value(serde_json::json!({
            "updateId": format!("u{offset}"),
            "offset": offset,
            "synchronizerId": "sync::1220cd",
            "recordTime": "2026-01-01T00:00:00Z",
        }))
        .unwrap();
        Update::Transaction(Wrapped { value: tx })
    }

    fn checkpoint(offset: i64) -> Update {
        Update::OffsetCheckpoint(Wrapped {
            value: OffsetCheckpoint {
                offset,
                synchronizer_times: Vec::new(),
            },
        })
    }

    fn offsets(read: &Read) -> Vec<i64> {
        read.updates.iter().filter_map(Update::offset).collect()
    }

    /// A channel holding `updates`; the stream goes on while its sender is kept.
    fn stream(updates: Vec<Element>) -> (mpsc::Sender<Element>, mpsc::Receiver<Element>) {
        let (tx, rx) = mpsc::channel(updates.len().max(1));
        for u in updates {
            tx.try_send(u).unwrap();
        }
        (tx, rx)
    }

    #[tokio::test]
    async fn a_batch_closes_at_its_transaction_count_not_counting_checkpoints() {
        let (sender, mut elements) = stream(vec![
            Ok(transaction(1)),
            Ok(checkpoint(2)),
            Ok(transaction(3)),
            Ok(transaction(4)),
        ]);
        drop(sender);
        let (_stop_tx, mut stop) = watch::channel(false);
        let config = config(2, Duration::from_secs(60));
        let first = next_batch(&mut elements, &mut stop, &config).await.unwrap();
        assert_eq!(offsets(&first), [1, 2, 3]);
        assert!(!first.finished && first.failure.is_none());
        let second = next_batch(&mut elements, &mut stop, &config).await.unwrap();
        assert_eq!(offsets(&second), [4]);
        assert!(second.finished);
    }

    #[tokio::test]
    async fn a_batch_closes_when_the_stream_ends_or_fails() {
        let (sender, mut elements) = stream(vec![Ok(transaction(1))]);
        drop(sender);
        let (_stop_tx, mut stop) = watch::channel(false);
        let config = config(10, Duration::from_secs(60));
        let read = next_batch(&mut elements, &mut stop, &config).await.unwrap();
        assert_eq!(offsets(&read), [1]);
        assert!(read.finished);

        let failure = ClientError::Transport {
            what: "updates",
            reason: "reset".into(),
        };
        let (_sender, mut elements) = stream(vec![Ok(transaction(1)), Err(failure)]);
        let read = next_batch(&mut elements, &mut stop, &config).await.unwrap();
        assert_eq!(offsets(&read), [1]);
        assert!(matches!(read.failure, Some(ClientError::Transport { .. })));
        assert!(!read.finished);
    }

    #[tokio::test]
    async fn a_batch_closes_when_late() {
        // The stream stays open and idle after its first element.
        let (_sender, mut elements) = stream(vec![Ok(transaction(1))]);
        let (_stop_tx, mut stop) = watch::channel(false);
        let config = config(10, Duration::from_millis(20));
        let read = tokio::time::timeout(
            Duration::from_secs(5),
            next_batch(&mut elements, &mut stop, &config),
        )
        .await
        .expect("closed at batch_wait, not held open by the idle stream")
        .unwrap();
        assert_eq!(offsets(&read), [1]);
        assert!(!read.finished && read.failure.is_none());
    }

    #[tokio::test]
    async fn a_stop_before_the_first_element_reads_nothing() {
        let (_sender, mut elements) = stream(vec![Ok(transaction(1))]);
        let (stop_tx, mut stop) = watch::channel(false);
        stop_tx.send(true).unwrap();
        let config = config(10, Duration::from_secs(60));
        assert!(
            next_batch(&mut elements, &mut stop, &config)
                .await
                .is_none()
        );
        // What was not read stays for whoever reads next.
        let next = elements.recv().await.unwrap().unwrap();
        assert_eq!(next.offset(), Some(1));
    }
}
