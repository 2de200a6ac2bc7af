//! Bounded retries with exponential backoff (`non-functionals.rst`, "Handling RPC Errors").

use std::future::Future;
use std::time::Duration;

use canton_ledger::client::{ClientError, ErrorClass};

use crate::observe::{IngestEvent, Observer};

#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Retries after the first attempt; then the error is final and ingestion exits.
    pub max_retries: u32,
    pub initial_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// The guide asks for at least a few seconds between retries.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 6,
            initial_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `attempt` (1-based), or `None` when retries are used up.
    pub fn delay(&self, attempt: u32) -> Option<Duration> {
        if attempt == 0 || attempt > self.max_retries {
            return None;
        }
        let factor = 2u32.saturating_pow(attempt - 1);
        Some(
            self.initial_delay
                .saturating_mul(factor)
                .min(self.max_delay),
        )
    }
}

/// Runs one ledger call, retrying it on its own with `policy` while its error is retryable; the
/// last error when retries are used up or the error is permanent. `what` names the call in the
/// retry events.
///
/// One call at a time: a sequence of calls retried as a whole (as the start-up check was) needs
/// every call to succeed in the same round, which a node failing half its requests rarely gives.
pub async fn retry_call<T, F, Fut>(
    policy: &RetryPolicy,
    observer: &dyn Observer,
    what: &str,
    mut call: F,
) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    let mut attempt = 0;
    loop {
        let e = match call().await {
            Ok(value) => return Ok(value),
            Err(e) => e,
        };
        attempt += 1;
        let delay = match e.class() {
            ErrorClass::Permanent => None,
            ErrorClass::Retryable | ErrorClass::NotYetAvailable => policy.delay(attempt),
        };
        let Some(delay) = delay else {
            return Err(e);
        };
        observer.event(&IngestEvent::Retrying {
            what: format!("{what}: {e}"),
            attempt,
            delay,
        });
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_stops() {
        let p = RetryPolicy {
            max_retries: 4,
            initial_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(10),
        };
        let delays: Vec<_> = (1..=5).map(|a| p.delay(a).map(|d| d.as_secs())).collect();
        assert_eq!(delays, [Some(2), Some(4), Some(8), Some(10), None]);
    }

    fn quick(max_retries: u32) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
        }
    }

    fn refused(n: u32) -> ClientError {
        ClientError::Transport {
            what: "ledger end",
            reason: format!("refused {n}"),
        }
    }

    /// Fails the first `failures` calls with `error`, then answers 7; counts the calls.
    async fn run(
        policy: RetryPolicy,
        failures: u32,
        error: fn(u32) -> ClientError,
    ) -> (Result<i64, ClientError>, u32, usize) {
        let observer = crate::observe::Collect::default();
        let calls = std::cell::Cell::new(0);
        let result = retry_call(&policy, &observer, "ledger end", || {
            let n = calls.get() + 1;
            calls.set(n);
            async move { if n <= failures { Err(error(n)) } else { Ok(7) } }
        })
        .await;
        let events = observer.0.lock().unwrap().len();
        (result, calls.get(), events)
    }

    #[tokio::test]
    async fn a_call_is_retried_until_it_answers() {
        let (result, calls, events) = run(quick(3), 3, refused).await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!((calls, events), (4, 3));
    }

    #[tokio::test]
    async fn the_last_error_when_retries_are_used_up() {
        let (result, calls, _) = run(quick(3), 10, refused).await;
        assert_eq!(result.unwrap_err().to_string(), "ledger end: refused 4");
        assert_eq!(calls, 4);
    }

    #[tokio::test]
    async fn a_permanent_error_is_not_retried() {
        let permanent = |_| ClientError::Decode {
            what: "ledger end",
            reason: "not a number".into(),
        };
        let (result, calls, events) = run(quick(3), 10, permanent).await;
        assert!(result.is_err());
        assert_eq!((calls, events), (1, 0));
    }
}
