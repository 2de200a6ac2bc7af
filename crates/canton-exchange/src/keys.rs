//! `canton-exchange keys`: the treasury's signing key. `generate` writes a new Ed25519 key file
//! (mode 0600, never over an existing file) and prints what onboarding the external party needs:
//! the public key and its Canton fingerprint (the party's namespace). The secret is never
//! printed.

use std::path::PathBuf;

use anyhow::{Context, Result};
use base64::Engine;
use exchange_core::memo::MemoKey;
use exchange_core::signing::Signer;
use exchange_services::memo_key;
use exchange_services::signer::FileSigner;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Write a new Ed25519 key to FILE (mode 0600; refuses to overwrite) and print its public
    /// key and fingerprint.
    Generate(GenerateArgs),
    /// Write a new withdrawal memo key to FILE (mode 0600; refuses to overwrite): withdrawal ids
    /// sealed with it let ingestion attribute withdrawals a DB restore lost. Back it up apart
    /// from the DB.
    GenerateMemoKey(GenerateArgs),
}

/// The withdrawal memo key, for the commands that make withdrawal ids or ingest.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct MemoKeyArgs {
    /// A file holding the withdrawal memo key (`keys generate-memo-key`; mode 0600): new
    /// withdrawal ids carry their account sealed with it, and ingestion attributes recovered
    /// withdrawals with it.
    #[arg(long, env = "CANTON_EXCHANGE_MEMO_KEY_FILE", value_name = "FILE")]
    pub memo_key_file: Option<PathBuf>,
}

impl MemoKeyArgs {
    pub fn load(&self) -> Result<Option<MemoKey>> {
        self.memo_key_file
            .as_deref()
            .map(|path| memo_key::load(path).context("loading the withdrawal memo key"))
            .transpose()
    }
}

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// The key file to create.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

pub fn run(command: &Command, out: &mut impl std::io::Write) -> Result<()> {
    match command {
        Command::Generate(args) => generate(args, out),
        Command::GenerateMemoKey(args) => {
            memo_key::generate(&args.out).context("writing the memo key file")?;
            writeln!(
                out,
                "memo key file: {} (mode 0600); back it up apart from the Integration DB",
                args.out.display()
            )?;
            Ok(())
        }
    }
}

fn generate(args: &GenerateArgs, out: &mut impl std::io::Write) -> Result<()> {
    let signer = FileSigner::generate(&args.out).context("writing the key file")?;
    let public = signer.public_key();
    writeln!(
        out,
        "key file:            {} (mode 0600)",
        args.out.display()
    )?;
    writeln!(out, "public key (hex):    {}", public.to_hex())?;
    writeln!(
        out,
        "public key (base64): {}",
        base64::engine::general_purpose::STANDARD.encode(public.0)
    )?;
    writeln!(out, "fingerprint:         {}", public.fingerprint())?;
    writeln!(
        out,
        "the external party id is <hint>::{}",
        public.fingerprint()
    )?;
    Ok(())
}
