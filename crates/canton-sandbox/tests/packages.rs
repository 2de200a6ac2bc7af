//! `.dar` uploads through `/v2/packages` with the real token-standard DARs: ids from the
//! manifest, archives and status; a corrupt DAR; uploads lost by a restore.

mod common;

use common::*;
use serde_json::Value;

/// The fixture DARs, or `None` (SKIPPED) without the shared folder.
fn dars() -> Option<Vec<(String, Vec<u8>)>> {
    let dir = shared_dir().join("fixtures/dars");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "fixtures required under CI=true"
        );
        eprintln!("SKIPPED: {} is not readable", dir.display());
        return None;
    };
    let mut out: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "dar"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    Some(out)
}

async fn upload(client: &Client, bytes: Vec<u8>) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(format!("{}/v2/packages", client.base))
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn ids(client: &Client) -> Vec<String> {
    let list = client.get("/v2/packages").await.ok();
    list["packageIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

// splice-api-token-metadata-v1 1.0.0 (not one of the sandbox's built-in packages).
const METADATA_V1: &str = "4ded6b668cb3b64f7a88a30874cd41c75829f5e064b3fbbadf41ec7e8363354f";

#[tokio::test]
async fn real_dars_upload_list_download_and_are_lost_by_a_restore() {
    let Some(dars) = dars() else { return };
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let before = ids(&client).await;
    assert!(!before.contains(&METADATA_V1.to_owned()));
    let backup = sandbox.backup();

    for (name, bytes) in &dars {
        let (status, body) = upload(&client, bytes.clone()).await;
        assert_eq!((status, body.as_str()), (200, "{}"), "{name}");
    }
    // Re-uploading is harmless.
    let (status, _) = upload(&client, dars[0].1.clone()).await;
    assert_eq!(status, 200);
    let after = ids(&client).await;
    assert!(after.contains(&METADATA_V1.to_owned()), "{after:?}");
    // Each DAR brings its dependencies (daml-prim, daml-stdlib, ...).
    assert!(after.len() > before.len() + 3, "{after:?}");

    let status: Value = client
        .get(&format!("/v2/packages/{METADATA_V1}/status"))
        .await
        .ok();
    assert_eq!(status["packageStatus"], "PACKAGE_STATUS_REGISTERED");
    let r = reqwest::get(format!("{}/v2/packages/{METADATA_V1}", client.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["canton-package-hash"], METADATA_V1);
    assert!(!r.bytes().await.unwrap().is_empty());

    let (status, body) = upload(&client, b"not a zip".to_vec()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("INVALID_DAR"), "{body}");

    sandbox.restore(&backup);
    assert_eq!(ids(&client).await, before);
    let status: Value = client
        .get(&format!("/v2/packages/{METADATA_V1}/status"))
        .await
        .ok();
    assert_eq!(status["packageStatus"], "PACKAGE_STATUS_UNSPECIFIED");
    let gone = client.get(&format!("/v2/packages/{METADATA_V1}")).await;
    assert_eq!(gone.status, 404);
}

/// The token standard V2 interface packages are on the node from the start, under the main
/// package ids of the released DARs (`reference/token-standard-v2/dars/`), as the V1 ones are.
#[tokio::test]
async fn token_standard_v2_packages_are_built_in_with_their_released_ids() {
    let dir = shared_dir().join("reference/token-standard-v2/dars");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "reference DARs required under CI=true"
        );
        eprintln!("SKIPPED: {} is not readable", dir.display());
        return;
    };
    let sandbox = start_empty().await;
    let client = Client::new(&sandbox);
    let listed = ids(&client).await;
    let mut main_ids = Vec::new();
    for entry in entries {
        let path = entry.unwrap().path();
        let dar = canton_sandbox::packages::read_dar(&std::fs::read(&path).unwrap()).unwrap();
        main_ids.push(dar.main_package_id.clone());
        assert!(
            listed.contains(&dar.main_package_id),
            "{} ({}) is not on the node",
            path.display(),
            dar.main_package_id
        );
    }
    main_ids.sort();
    let mut built_in = vec![
        canton_sandbox::token::packages::ALLOCATION_V2_PACKAGE_ID,
        canton_sandbox::token::packages::HOLDING_V2_PACKAGE_ID,
        canton_sandbox::token::packages::TRANSFER_EVENTS_V2_PACKAGE_ID,
        canton_sandbox::token::packages::TRANSFER_INSTRUCTION_V2_PACKAGE_ID,
    ];
    built_in.sort();
    assert_eq!(main_ids, built_in);
}
