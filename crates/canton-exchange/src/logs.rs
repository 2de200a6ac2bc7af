//! Logs of the long-running commands: `tracing` events on stderr, filtered by `RUST_LOG`
//! (default `info`), as readable lines or (`--log-format json`) one JSON object per line
//! for log shippers: `timestamp`, `level`, `target`, `fields.message` and the event's other
//! fields. Events name withdrawals, offsets and what went wrong, never secrets: tokens, keys
//! and client secrets are never formatted into an event, a URL's password is shown as `***`
//! (`shown_url`, and the DB's errors are scrubbed of theirs).

use tracing_subscriber::EnvFilter;

/// How log lines look.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines: time, level, message and fields.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

pub fn init(format: LogFormat) {
    init_at(format, "info");
}

/// As [`init`], with `default` as the filter when `RUST_LOG` is not set (the demo shows
/// warnings only: its story is the progress report).
pub fn init_at(format: LogFormat, default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: not in files or log shippers.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    // A second call (tests running commands in one process) keeps the first subscriber.
    let _ = match format {
        LogFormat::Human => builder.with_target(false).try_init(),
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
    };
}
