//! The reading task: streams updates after an offset into a bounded channel, so the ledger is
//! read while the previous batch commits, and memory stays bounded however long the stream.
//! Retryable errors reconnect from the last element delivered, with backoff; when retries are
//! used up, or on a permanent error, the error is the last thing sent.

use std::sync::Arc;

use canton_ledger::Update;
use canton_ledger::client::{ClientError, ErrorClass, LedgerClient};
use canton_ledger::filters::UpdateFormat;
use canton_ledger::updates::GetUpdatesRequest;
use tokio::sync::mpsc;

use crate::observe::{IngestEvent, Observer};
use crate::retry::RetryPolicy;
use crate::source::{Source, Transport, recording_error};

/// The HTTP list cap of the JSON API (`http-list-max-elements-limit`).
const PAGE: usize = 200;
/// How long an open-ended HTTP page waits for more elements.
const PAGE_IDLE_MS: u64 = 500;

pub struct ReadRequest {
    pub begin_exclusive: i64,
    /// `None`: tail forever.
    pub end_inclusive: Option<i64>,
    pub format: UpdateFormat,
}

/// Starts reading; the receiver yields elements in order, then possibly one final error, then
/// closes (a bounded stream at its end, or after the error).
pub fn spawn(
    source: Source,
    request: ReadRequest,
    retry: RetryPolicy,
    capacity: usize,
    observer: Arc<dyn Observer>,
) -> mpsc::Receiver<Result<Update, ClientError>> {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    tokio::spawn(async move {
        let mut reader = Reader {
            source,
            request,
            tx,
            delivered: false,
        };
        let mut attempt = 0;
        loop {
            match reader.read().await {
                Ok(Done::Complete | Done::ReceiverGone) => return,
                Ok(Done::Progress) => attempt = 0,
                Err(e) => {
                    // Retries are counted between successes, not over the whole run.
                    if std::mem::take(&mut reader.delivered) {
                        attempt = 0;
                    }
                    attempt += 1;
                    let delay = match e.class() {
                        ErrorClass::Permanent => None,
                        ErrorClass::Retryable | ErrorClass::NotYetAvailable => retry.delay(attempt),
                    };
                    let Some(delay) = delay else {
                        let _ = reader.tx.send(Err(e)).await;
                        return;
                    };
                    observer.event(&IngestEvent::Retrying {
                        what: e.to_string(),
                        attempt,
                        delay,
                    });
                    tokio::time::sleep(delay).await;
                }
            }
        }
    });
    rx
}

enum Done {
    /// The bounded range is delivered.
    Complete,
    /// Ingestion stopped listening.
    ReceiverGone,
    /// Some elements were delivered before the stream ended; read on.
    Progress,
}

struct Reader {
    source: Source,
    request: ReadRequest,
    tx: mpsc::Sender<Result<Update, ClientError>>,
    delivered: bool,
}

impl Reader {
    fn complete(&self) -> bool {
        self.request
            .end_inclusive
            .is_some_and(|end| self.request.begin_exclusive >= end)
    }

    fn wire_request(&self) -> GetUpdatesRequest {
        GetUpdatesRequest {
            begin_exclusive: self.request.begin_exclusive,
            end_inclusive: self.request.end_inclusive,
            update_format: Some(self.request.format.clone()),
            ..Default::default()
        }
    }

    /// Sends one element and remembers where to resume; `false` if nobody listens any more.
    ///
    /// An offset checkpoint before where reading resumed is not passed on (it would move the
    /// checkpoint back). One at that very offset is: a node sends one at the ledger end as soon
    /// as a tailing stream has caught up, and again when only a synchronizer's time moved,
    /// which is how an idle ledger's record times advance (and withdrawals expire).
    async fn deliver(&mut self, update: Update) -> bool {
        let offset = update.offset();
        if matches!(update, Update::OffsetCheckpoint(_))
            && offset.is_some_and(|o| o < self.request.begin_exclusive)
        {
            return true;
        }
        if let Some(offset) = offset {
            self.request.begin_exclusive = self.request.begin_exclusive.max(offset);
        }
        self.delivered = true;
        self.tx.send(Ok(update)).await.is_ok()
    }

    async fn read(&mut self) -> Result<Done, ClientError> {
        if self.complete() {
            return Ok(Done::Complete);
        }
        match self.source.clone() {
            Source::File(recording) => {
                let end = self.request.end_inclusive.unwrap_or(i64::MAX);
                let begin = self.request.begin_exclusive;
                let elements = recording.elements(begin, end).map_err(recording_error)?;
                for element in elements {
                    if !self.deliver(element.map_err(recording_error)?).await {
                        return Ok(Done::ReceiverGone);
                    }
                }
                Ok(Done::Complete)
            }
            Source::Ledger {
                client,
                transport: Transport::Websocket,
            } => {
                let mut stream = client.updates_stream(&self.wire_request()).await?;
                let mut delivered = false;
                while let Some(element) = stream.next().await {
                    if !self.deliver(element?).await {
                        return Ok(Done::ReceiverGone);
                    }
                    delivered = true;
                }
                if self.request.end_inclusive.is_some() {
                    // A close says nothing: a node closes the same way at the end of the range
                    // and when the connection drops (or restarts). What is left of the range is
                    // read with a bounded HTTP page, whose answer is complete by its framing.
                    return self.confirm_rest(&client).await;
                }
                // An open-ended stream must not close: it is read again from where it
                // stopped, bounded by the retries.
                if delivered {
                    Ok(Done::Progress)
                } else {
                    Err(ClientError::Transport {
                        what: "updates websocket",
                        reason: "the stream closed without delivering anything".into(),
                    })
                }
            }
            Source::Ledger {
                client,
                transport: Transport::Http,
            } => loop {
                if self.complete() {
                    return Ok(Done::Complete);
                }
                // A bounded page blocks until its range is exhausted or the page is full, so a
                // short page ends the range; an open-ended one returns after a quiet spell.
                let bounded = self.request.end_inclusive;
                let idle = bounded.is_none().then_some(PAGE_IDLE_MS);
                let page = client
                    .updates_page(&self.wire_request(), PAGE, idle)
                    .await?;
                match (self.deliver_page(page).await, bounded) {
                    (Some(_), None) | (Some(false), Some(_)) => {}
                    (None, _) => return Ok(Done::ReceiverGone),
                    (Some(true), Some(end)) => {
                        self.request.begin_exclusive = end;
                        return Ok(Done::Complete);
                    }
                }
            },
        }
    }

    /// After a bounded websocket closed: one bounded HTTP page of the rest of the range. A
    /// short page means the range is delivered; a full one is progress, and reading goes on
    /// (over the websocket again). An error is retried like any other.
    async fn confirm_rest(&mut self, client: &LedgerClient) -> Result<Done, ClientError> {
        let Some(end) = self.request.end_inclusive else {
            return Ok(Done::Progress);
        };
        if self.complete() {
            return Ok(Done::Complete);
        }
        let page = client
            .updates_page(&self.wire_request(), PAGE, None)
            .await?;
        match self.deliver_page(page).await {
            None => Ok(Done::ReceiverGone),
            Some(false) => Ok(Done::Progress),
            Some(true) => {
                self.request.begin_exclusive = end;
                Ok(Done::Complete)
            }
        }
    }

    /// Delivers a page of a paged read; `Some(short)`: whether it was short (a bounded read
    /// is then at its end), `None` if nobody listens any more.
    async fn deliver_page(&mut self, page: Vec<Update>) -> Option<bool> {
        let short = page.len() < PAGE;
        for update in page {
            if !self.deliver(update).await {
                return None;
            }
        }
        Some(short)
    }
}
