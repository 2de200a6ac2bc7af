//! Records a node's update stream for the treasury party into a JSON-lines file that
//! `canton-exchange ingest --ledger file:FILE` replays: for benchmarks of ingestion alone, and
//! for audits.
//!
//! ```sh
//! cargo run --release -p exchange-services --example record_updates -- \
//!     http://127.0.0.1:PORT TREASURY_PARTY updates.jsonl
//! ```
//!
//! It reads `POST /v2/updates` pages up to the ledger end seen at start and writes one
//! `{"update": …}` object per line, in offset order.

use std::io::Write;

use canton_ledger::client::LedgerClient;
use canton_ledger::updates::{GetUpdatesRequest, JsGetUpdatesResponse};
use exchange_services::filter::treasury_format;

const PAGE: usize = 200;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, party, out] = args.as_slice() else {
        return Err("usage: record_updates LEDGER_URL PARTY OUT.jsonl".into());
    };
    let client = LedgerClient::new(url, None);
    let end = client.ledger_end().await?;
    let mut file = std::io::BufWriter::new(std::fs::File::create(out)?);
    let mut request = GetUpdatesRequest {
        begin_exclusive: 0,
        end_inclusive: Some(end),
        update_format: Some(treasury_format(party)),
        ..Default::default()
    };
    let mut written = 0usize;
    while request.begin_exclusive < end {
        let page = client.updates_page(&request, PAGE, None).await?;
        let short = page.len() < PAGE;
        for update in page {
            if let Some(offset) = update.offset() {
                request.begin_exclusive = request.begin_exclusive.max(offset);
            }
            serde_json::to_writer(&mut file, &JsGetUpdatesResponse { update })?;
            file.write_all(b"\n")?;
            written += 1;
        }
        if short {
            break;
        }
    }
    file.flush()?;
    eprintln!("wrote {written} elements up to offset {end} to {out}");
    Ok(())
}
