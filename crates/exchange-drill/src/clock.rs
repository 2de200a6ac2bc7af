//! Sandbox time in a drill. The exchange stamps withdrawals with the wall clock (`trecTgt =
//! now + ttl`, `requestedAt = now - skew`, `executeBefore = now + offer time`) while the node
//! enforces them in its record time, so the drill keeps the node's clock in a window where
//! both meet, and moves it forward by days to age backups and expire offers:
//!
//! - never behind the wall clock (`requestedAt` must not be after the ledger time);
//! - traffic moves it at most [`AHEAD_CAP`] ahead of the wall clock, below the withdrawal ttl,
//!   so new withdrawals can still commit;
//! - a DB restore moves it past tSafe (now + ttl): from then on traffic cannot move it further
//!   (every later withdrawal would miss its `trecTgt`), only the final settling does.

use canton_sandbox::Sandbox;
use exchange_core::Timestamp;

pub const SECOND: i64 = 1_000_000;
pub const DAY: i64 = 86_400 * SECOND;
/// The ttl of withdrawals and pool transfers, and `recover db`'s ttl (they must agree).
pub const WITHDRAWAL_TTL: i64 = 90 * DAY;
/// An offer withdrawal's `executeBefore` after its request: beyond the ttl, so offers expire
/// only when the drill settles at its end (or a long advance passes it).
pub const OFFER_TIME: i64 = 100 * DAY;
/// How far ahead of the wall clock traffic may move the node's clock.
pub const AHEAD_CAP: i64 = 60 * DAY;
/// Node backups older than this (in sandbox time) are not restored (the guide's limit).
pub const BACKUP_MAX_AGE: i64 = 30 * DAY;

pub fn ledger_time(sandbox: &Sandbox) -> Timestamp {
    sandbox.with_world(|w| w.ledger.record_time())
}

/// Moves the node's clock to `to` if that is later; returns the clock after.
pub fn move_to(sandbox: &Sandbox, to: Timestamp) -> Timestamp {
    sandbox.with_world(|w| {
        let now = w.ledger.record_time();
        if to > now {
            w.ledger.set_time(to).unwrap_or(now)
        } else {
            now
        }
    })
}

/// Not behind the wall clock.
pub fn catch_up(sandbox: &Sandbox) -> Timestamp {
    move_to(sandbox, Timestamp::now())
}

/// Moves forward by up to `micros`, within the cap; returns how far it moved.
pub fn advance(sandbox: &Sandbox, micros: i64) -> i64 {
    let before = catch_up(sandbox);
    let cap = Timestamp::now().micros().saturating_add(AHEAD_CAP);
    let target = before.micros().saturating_add(micros).min(cap);
    if target <= before.micros() {
        return 0;
    }
    let Some(to) = Timestamp::from_micros(target) else {
        return 0;
    };
    move_to(sandbox, to).micros() - before.micros()
}
