//! A synchronizer's record-time clock (one per connected synchronizer).
//!
//! Canton assigns every transaction a record time (the sequencing time of its confirmation
//! request) that is strictly increasing per synchronizer, at microsecond precision. The model
//! never reads the wall clock: time moves only by a fixed step per transaction or when told to,
//! so a run is reproducible. The server may propose wall-clock times; they are honoured only if
//! they keep the clock strictly increasing.

use exchange_core::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("record time must increase: {requested} is not after {current}")]
    NotIncreasing {
        requested: Timestamp,
        current: Timestamp,
    },
    #[error("time out of range")]
    OutOfRange,
}

#[derive(Debug, Clone)]
pub struct SyncClock {
    /// The latest record time handed out (or set); the next one is strictly later.
    current: Timestamp,
    /// How far the clock moves for each transaction when nobody sets it.
    step_micros: i64,
}

impl SyncClock {
    pub fn new(start: Timestamp, step_micros: i64) -> SyncClock {
        SyncClock {
            current: start,
            step_micros: step_micros.max(1),
        }
    }

    /// The latest record time; what an `OffsetCheckpoint` reports for this synchronizer.
    pub fn current(&self) -> Timestamp {
        self.current
    }

    /// The record time the next transaction would get: `proposal` if it is later than the
    /// current time, else the current time plus one step. Does not move the clock.
    pub fn peek_next(&self, proposal: Option<Timestamp>) -> Timestamp {
        match proposal {
            Some(p) if p > self.current => p,
            _ => self
                .current
                .checked_add_micros(self.step_micros)
                .unwrap_or(self.current),
        }
    }

    /// Moves the clock to a record time obtained from [`SyncClock::peek_next`] once the
    /// transaction has been accepted.
    pub fn commit(&mut self, record_time: Timestamp) {
        debug_assert!(record_time > self.current);
        self.current = record_time;
    }

    pub fn next_record_time(&mut self, proposal: Option<Timestamp>) -> Timestamp {
        let next = self.peek_next(proposal);
        self.commit(next);
        next
    }

    /// Moves the clock forward by `micros` (> 0), as time passing without traffic does.
    pub fn advance(&mut self, micros: i64) -> Result<Timestamp, ClockError> {
        let to = self
            .current
            .checked_add_micros(micros)
            .ok_or(ClockError::OutOfRange)?;
        self.set(to)
    }

    /// Sets the clock to a later instant; going back (or standing still) is refused.
    pub fn set(&mut self, to: Timestamp) -> Result<Timestamp, ClockError> {
        if to <= self.current {
            return Err(ClockError::NotIncreasing {
                requested: to,
                current: self.current,
            });
        }
        self.current = to;
        Ok(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictly_increasing_whatever_is_proposed() {
        let start = Timestamp::from_micros(1_000_000).unwrap();
        let mut c = SyncClock::new(start, 10);
        assert_eq!(c.next_record_time(None).micros(), 1_000_010);
        assert_eq!(c.next_record_time(Some(start)).micros(), 1_000_020);
        let later = Timestamp::from_micros(5_000_000).unwrap();
        assert_eq!(c.next_record_time(Some(later)), later);
        assert!(c.set(later).is_err());
        assert_eq!(c.advance(1).unwrap().micros(), 5_000_001);
    }
}
