//! What the withdrawal and the deposit automation share: attempting what a round claimed, a few
//! at a time, and the loop of rounds.

use std::future::Future;
use std::time::Duration;

use exchange_store::StoreError;
use futures_util::StreamExt;
use tokio::sync::watch;

/// Runs `work` on each of `items`, at most `concurrency` at once, and returns every result once
/// all have ended, or the first error once all have ended.
///
/// `work` must be the whole of an item's handling, its attempt *and* the bookkeeping of how it
/// went. While a consumer of a buffered stream awaits something of its own, the futures still in
/// the buffer are not polled; one suspended inside a SQLite write transaction keeps the store's
/// write turn, and the consumer's own write then waits for it until its timeout. That is what
/// recording each attempt in the consumer did under load ("no turn to write within 10 s", or
/// the pool's timeout). Here the consumer only collects.
pub(crate) async fn each_concurrently<'a, T, R, F, Fut>(
    items: &'a [T],
    concurrency: usize,
    work: F,
) -> Result<Vec<R>, StoreError>
where
    F: Fn(&'a T) -> Fut,
    Fut: Future<Output = Result<R, StoreError>>,
{
    let mut done = futures_util::stream::iter(items)
        .map(work)
        .buffer_unordered(concurrency.max(1));
    let mut results = Vec::with_capacity(items.len());
    let mut first_error = None;
    while let Some(result) = done.next().await {
        match result {
            Ok(r) => results.push(r),
            // The others go on: each records its own outcome, which a DB error in one does not
            // make wrong. The round reports the error, and `run` tries again later.
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(results),
    }
}

/// How a service runs its rounds.
pub(crate) struct Rounds<'a> {
    /// Named in the log when a round fails.
    pub name: &'a str,
    /// The wait after a round that failed (the DB is down or busy).
    pub retry_delay: Duration,
    /// The wait after a round that found nothing to do.
    pub idle_poll: Duration,
}

impl Rounds<'_> {
    /// Runs `round` until `stop`. A round returns how many items it claimed; one that failed
    /// decided nothing without the DB, so the service goes on after `retry_delay` rather than
    /// stopping.
    pub(crate) async fn run<F, Fut>(&self, mut stop: watch::Receiver<bool>, mut round: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<usize, StoreError>>,
    {
        loop {
            if *stop.borrow() {
                return;
            }
            let wait = match round().await {
                Ok(0) => self.idle_poll,
                Ok(_) => continue,
                Err(e) => {
                    tracing::error!("{}: {e}; retrying", self.name);
                    self.retry_delay
                }
            };
            tokio::select! {
                _ = stop.changed() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// The shape of the starvation: item 1 is suspended while holding the write turn (a lock
    /// here) when item 0's attempt ends and its bookkeeping wants the turn. Item 1 must go on
    /// being polled, else item 0 waits forever.
    #[tokio::test]
    async fn an_item_holding_the_write_turn_is_polled_while_another_records() {
        let turn = Arc::new(tokio::sync::Mutex::new(()));
        let items = [0, 1];
        let work = |i: &i32| {
            let turn = turn.clone();
            let i = *i;
            async move {
                if i == 1 {
                    let _held = turn.lock().await;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                } else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    let _recorded = turn.lock().await;
                }
                Ok::<_, StoreError>(i)
            }
        };
        let mut done =
            tokio::time::timeout(Duration::from_secs(5), each_concurrently(&items, 2, work))
                .await
                .expect("no item starved")
                .unwrap();
        done.sort();
        assert_eq!(done, [0, 1]);
    }

    #[tokio::test]
    async fn an_error_is_reported_after_every_item_has_ended() {
        let ended = Arc::new(AtomicUsize::new(0));
        let items = [0, 1, 2, 3];
        let work = |i: &i32| {
            let ended = ended.clone();
            let i = *i;
            async move {
                tokio::time::sleep(Duration::from_millis(5 * i as u64)).await;
                ended.fetch_add(1, Ordering::SeqCst);
                match i {
                    0 => Err(StoreError::Conflict("first".into())),
                    2 => Err(StoreError::Conflict("second".into())),
                    _ => Ok(i),
                }
            }
        };
        let result = each_concurrently(&items, 2, work).await;
        assert!(matches!(result, Err(StoreError::Conflict(why)) if why == "first"));
        assert_eq!(
            ended.load(Ordering::SeqCst),
            4,
            "no item was dropped midway"
        );
    }
}
