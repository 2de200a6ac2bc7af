//! Step 4: the restored node lost the `.dar`s uploaded after its backup. Every `.dar` recorded
//! at token onboarding whose main package the node does not list is uploaded again from the
//! bytes the DB kept (checked against their recorded hash first), and the node must list it
//! afterwards.

use std::collections::BTreeSet;

use canton_ledger::client::LedgerClient;
use canton_ledger::dar::sha256_hex;
use exchange_store::{Dar, Store};

use super::RecoverError;

/// What step 4 found and did: main package ids (with file names, for operators).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DarCheck {
    /// Onboarded `.dar`s the restored node lists.
    pub present: Vec<String>,
    /// Onboarded `.dar`s it lacked: uploaded again (or, in a dry run, to upload).
    pub missing: Vec<String>,
    /// Whether `missing` were uploaded (false in a dry run).
    pub uploaded: bool,
}

/// Step 4, narrated; a recording (audits, replays) stands for a node without packages.
pub(super) async fn step_4(
    store: &Store,
    client: Option<&LedgerClient>,
    dry_run: bool,
    say: &mut dyn FnMut(u8, String),
) -> Result<DarCheck, RecoverError> {
    say(
        4,
        "comparing the node's packages with the .dars recorded at token onboarding".into(),
    );
    let Some(client) = client else {
        say(
            4,
            "the updates come from a recording: no packages to compare".into(),
        );
        return Ok(DarCheck::default());
    };
    let (check, missing) = restore_dars(store, client, dry_run).await?;
    say(4, describe(&check, &missing));
    Ok(check)
}

fn describe(check: &DarCheck, missing: &[Dar]) -> String {
    let names: Vec<String> = missing
        .iter()
        .map(|d| format!("{} ({})", d.file_name, d.main_package_id))
        .collect();
    let present = if check.present.is_empty() {
        "none".to_owned()
    } else {
        check.present.join(", ")
    };
    match (names.is_empty(), check.uploaded) {
        (true, _) => format!("present on the node: {present}; nothing to upload"),
        (false, true) => format!(
            "present on the node: {present}; uploaded again and now listed: {}",
            names.join(", ")
        ),
        (false, false) => format!(
            "present on the node: {present}; missing, would be uploaded again: {}",
            names.join(", ")
        ),
    }
}

async fn restore_dars(
    store: &Store,
    client: &LedgerClient,
    dry_run: bool,
) -> Result<(DarCheck, Vec<Dar>), RecoverError> {
    let dars = store.onboarded_dars().await?;
    let listed: BTreeSet<String> = client.package_ids().await?.into_iter().collect();
    let (present, missing): (Vec<Dar>, Vec<Dar>) = dars
        .into_iter()
        .partition(|d| listed.contains(&d.main_package_id));
    let mut check = DarCheck {
        present: present.iter().map(|d| d.main_package_id.clone()).collect(),
        missing: missing.iter().map(|d| d.main_package_id.clone()).collect(),
        uploaded: false,
    };
    if dry_run || missing.is_empty() {
        return Ok((check, missing));
    }
    for dar in &missing {
        // Only the bytes recorded at onboarding: a DB that changed them is not trusted.
        if !dar.content_hash.is_empty() && sha256_hex(&dar.content) != dar.content_hash {
            return Err(RecoverError::DarAltered {
                main_package_id: dar.main_package_id.clone(),
                file_name: dar.file_name.clone(),
            });
        }
        client.upload_dar(dar.content.clone()).await?;
    }
    let listed: BTreeSet<String> = client.package_ids().await?.into_iter().collect();
    let unlisted: Vec<String> = missing
        .iter()
        .filter(|d| !listed.contains(&d.main_package_id))
        .map(|d| d.main_package_id.clone())
        .collect();
    if !unlisted.is_empty() {
        return Err(RecoverError::DarNotListed(unlisted.join(", ")));
    }
    check.uploaded = true;
    Ok((check, missing))
}
