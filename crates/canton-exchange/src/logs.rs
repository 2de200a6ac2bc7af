//! Logs of the long-running commands: `tracing` events as lines on stderr, filtered by
//! `RUST_LOG` (default `info`). Events name withdrawals and what went wrong, never secrets.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A second call (tests running commands in one process) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
