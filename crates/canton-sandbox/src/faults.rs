//! Injected Ledger API faults, for drilling a client's retry and resume logic: retryable errors,
//! slow answers and websocket streams that drop or close mid-way. Pure: this module only decides; the
//! HTTP layer ([`crate::http::faults`]) applies the decision.
//!
//! Reproducible: every decision comes from a ChaCha8 stream seeded with [`FaultConfig::seed`]
//! (portable across platforms and releases, unlike `StdRng`), and every request draws the same
//! number of values whatever the outcome, so the same seed and the same request sequence give
//! the same faults. No wall-clock randomness.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

/// What to inject. Rates are probabilities in `[0, 1]`, drawn independently per request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultConfig {
    #[serde(default)]
    pub seed: u64,
    /// Share of Ledger API requests answered with a retryable error instead of being served.
    #[serde(default)]
    pub error_rate: f64,
    /// Share of Ledger API requests delayed by `slow_ms` before being served (or refused).
    #[serde(default)]
    pub slow_rate: f64,
    #[serde(default)]
    pub slow_ms: u64,
    /// Websocket connections are dropped after this many frames of a stream, without a close
    /// handshake, as a lost connection is: the client reads an error, not an end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_websocket_after: Option<usize>,
    /// Websocket streams end with a normal close (no reason) after this many frames, as a node
    /// shutting its server down does: the client cannot tell it from a completed stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_websocket_after: Option<usize>,
    /// What `prepare` may tamper with (see [`TamperKind`]); one kind is drawn per tampered
    /// answer. Executing a tampered transaction commits nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tamper_prepare: Vec<TamperKind>,
    /// Share of `prepare` answers tampered with (when `tamper_prepare` names a kind).
    #[serde(default)]
    pub tamper_rate: f64,
    /// The next this many interactive executions (`execute`, `executeAndWait`) commit, and then
    /// their answer is lost: the client gets a retryable 503, as from a proxy whose upstream
    /// connection dropped, and cannot tell whether anything committed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lose_execute_answers: usize,
    /// While on, `execute` accepts (signature and deduplication checks answered at once, `{}`)
    /// but does not sequence: the submission waits, node-local, until
    /// `Sandbox::release_pending` (or `POST /sandbox/control/pending/release`) sequences it, or
    /// a restore loses it, as a node restored from a backup taken before sequencing does.
    #[serde(default, skip_serializing_if = "is_false")]
    pub hold_executions: bool,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// How a tampered `prepare` answer differs from the honest one, so that a client's refusal to
/// sign can be tested. The first four change the root `TransferFactory_Transfer`'s
/// `choiceArgument` only (other commands have no such field and are answered honestly); the
/// hash is then the true V2 hash of the tampered bytes, so only decoding catches them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TamperKind {
    /// `transfer.receiver` is another party (the instrument admin).
    Receiver,
    /// `transfer.amount` is ten times the amount asked for.
    Amount,
    /// `transfer.inputHoldingCids[0]` is another contract id.
    Input,
    /// The memo (`transfer.meta.values["splice.lfdecentralizedtrust.org/reason"]`) is changed.
    Memo,
    /// An extra root node moves one of the party's input holdings to another party: a consuming
    /// exercise on it by the party, with a create of the same holding owned by someone else.
    ExtraNode,
    /// The bytes are honest, the hash is not theirs (one bit flipped).
    Hash,
}

impl FaultConfig {
    /// Whether this config injects anything at all (`{}` does not: it clears the faults).
    pub fn is_active(&self) -> bool {
        self.error_rate > 0.0
            || (self.slow_rate > 0.0 && self.slow_ms > 0)
            || self.drop_websocket_after.is_some()
            || self.close_websocket_after.is_some()
            || self.tampers()
            || self.lose_execute_answers > 0
            || self.hold_executions
    }

    /// Whether `prepare` answers may be tampered with.
    pub fn tampers(&self) -> bool {
        self.tamper_rate > 0.0 && !self.tamper_prepare.is_empty()
    }
}

/// The retryable errors a real participant gives under stress; the client must retry both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectedError {
    /// 503, category 1 (`TransientServerFailure`): the Ledger API server is restarting.
    ServiceNotRunning,
    /// 409, category 2 (`ContentionOnSharedResources`): the sequencer sheds load.
    SequencerBackpressure,
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decision {
    /// Sleep this long first.
    pub delay_ms: Option<u64>,
    /// Then refuse with this instead of serving.
    pub error: Option<InjectedError>,
}

/// The active config and its random stream.
#[derive(Debug, Clone)]
pub struct Faults {
    config: FaultConfig,
    rng: ChaCha8Rng,
    /// Executions whose answer is still to be lost.
    answers_to_lose: usize,
}

impl Faults {
    pub fn new(config: FaultConfig) -> Faults {
        let rng = ChaCha8Rng::seed_from_u64(config.seed);
        let answers_to_lose = config.lose_execute_answers;
        Faults {
            config,
            rng,
            answers_to_lose,
        }
    }

    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// A uniform draw in `[0, 1)` from the top 53 bits.
    fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The fate of the next Ledger API request. Always three draws, so one request's outcome
    /// never shifts the next one's.
    pub fn decide(&mut self) -> Decision {
        let (slow, error, kind) = (self.unit(), self.unit(), self.unit());
        let delay_ms = (slow < self.config.slow_rate && self.config.slow_ms > 0)
            .then_some(self.config.slow_ms);
        let error = (error < self.config.error_rate).then_some(if kind < 0.5 {
            InjectedError::ServiceNotRunning
        } else {
            InjectedError::SequencerBackpressure
        });
        Decision { delay_ms, error }
    }

    /// Whether the answer of the execution that just committed is lost (counts down).
    pub fn lose_execute_answer(&mut self) -> bool {
        let lose = self.answers_to_lose > 0;
        self.answers_to_lose = self.answers_to_lose.saturating_sub(1);
        lose
    }

    /// Whether (and how) to tamper with the next `prepare` answer. Always two draws.
    pub fn decide_tamper(&mut self) -> Option<TamperKind> {
        let (tamper, kind) = (self.unit(), self.unit());
        let kinds = &self.config.tamper_prepare;
        (tamper < self.config.tamper_rate && !kinds.is_empty())
            .then(|| kinds[((kind * kinds.len() as f64) as usize).min(kinds.len() - 1)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(seed: u64) -> FaultConfig {
        FaultConfig {
            seed,
            error_rate: 0.3,
            slow_rate: 0.2,
            slow_ms: 5,
            drop_websocket_after: None,
            close_websocket_after: None,
            tamper_prepare: vec![],
            tamper_rate: 0.0,
            lose_execute_answers: 0,
            hold_executions: false,
        }
    }

    fn run(seed: u64, n: usize) -> Vec<Decision> {
        let mut faults = Faults::new(config(seed));
        (0..n).map(|_| faults.decide()).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_decisions() {
        assert_eq!(run(42, 200), run(42, 200));
        assert_ne!(run(42, 200), run(43, 200));
    }

    #[test]
    fn rates_are_roughly_honoured_and_both_errors_occur() {
        let decisions = run(7, 2000);
        let errors = decisions.iter().filter(|d| d.error.is_some()).count();
        let slow = decisions.iter().filter(|d| d.delay_ms.is_some()).count();
        assert!((450..750).contains(&errors), "{errors} errors");
        assert!((300..500).contains(&slow), "{slow} slow");
        for kind in [
            InjectedError::ServiceNotRunning,
            InjectedError::SequencerBackpressure,
        ] {
            assert!(decisions.iter().any(|d| d.error == Some(kind)));
        }
    }

    #[test]
    fn an_empty_config_injects_nothing() {
        let empty: FaultConfig = serde_json::from_str("{}").unwrap();
        assert!(!empty.is_active());
        let mut faults = Faults::new(empty);
        assert!((0..100).all(|_| faults.decide() == Decision::default()));
        assert!((0..100).all(|_| faults.decide_tamper().is_none()));
    }

    #[test]
    fn tampering_draws_every_named_kind_at_its_rate() {
        let kinds = vec![TamperKind::Receiver, TamperKind::Hash];
        let mut faults = Faults::new(FaultConfig {
            seed: 3,
            tamper_prepare: kinds.clone(),
            tamper_rate: 0.5,
            ..FaultConfig::default()
        });
        let drawn: Vec<_> = (0..400).filter_map(|_| faults.decide_tamper()).collect();
        assert!((150..250).contains(&drawn.len()), "{}", drawn.len());
        assert!(kinds.iter().all(|k| drawn.contains(k)));
        assert!(drawn.iter().all(|k| kinds.contains(k)));
    }
}
