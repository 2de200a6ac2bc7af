//! `canton-exchange migrate`: brings the Integration DB's schema up to this binary's, for
//! operators who upgrade before they run anything that writes (`ingest` migrates on start too).

use anyhow::Result;

use crate::db::{DbArgs, runtime};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    db: DbArgs,
}

pub fn run(args: &Args, out: &mut impl std::io::Write) -> Result<()> {
    runtime()?.block_on(async {
        let store = args.db.open().await?;
        store.close().await;
        anyhow::Ok(())
    })?;
    writeln!(out, "the Integration DB's schema is up to date")?;
    Ok(())
}
