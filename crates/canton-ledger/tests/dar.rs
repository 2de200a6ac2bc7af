//! Reading real `.dar`s (the token standard's, as released) and refusing corrupt, tampered and
//! inflating ones.

use std::io::{Cursor, Read, Write};
use std::path::PathBuf;

use canton_ledger::dar::{DarLimits, read_dar, sha256_hex};

fn shared(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(path)
}

fn bytes(path: &str) -> Vec<u8> {
    std::fs::read(shared(path)).unwrap()
}

const HOLDING_V1: &str = "fixtures/dars/splice-api-token-holding-v1-1.0.0.dar";
const HOLDING_V1_ID: &str = "718a0f77e505a8de22f188bd4c87fe74101274e9d4cb1bfac7d09aec7158d35b";
const METADATA_V1_ID: &str = "4ded6b668cb3b64f7a88a30874cd41c75829f5e064b3fbbadf41ec7e8363354f";

#[test]
fn the_holding_dar_brings_its_main_package_and_dependencies() {
    let file = bytes(HOLDING_V1);
    let dar = read_dar(&file, DarLimits::default()).unwrap();
    assert_eq!(dar.main.package_id, HOLDING_V1_ID);
    assert_eq!(dar.main.name, "splice-api-token-holding-v1");
    assert_eq!(dar.main.version, "1.0.0");
    assert_eq!(dar.content_hash, sha256_hex(&file));
    assert_eq!(dar.packages[0], dar.main);
    // The manifest lists 31 archives: the main one, daml-prim/stdlib and metadata-v1.
    assert_eq!(dar.packages.len(), 31);
    let metadata = dar
        .packages
        .iter()
        .find(|p| p.package_id == METADATA_V1_ID)
        .expect("metadata-v1 is a dependency");
    assert_eq!(metadata.name, "splice-api-token-metadata-v1");
    let prim = dar
        .packages
        .iter()
        .find(|p| p.package_id.starts_with("54f85ebfc7dfae18"))
        .unwrap();
    assert_eq!(
        (prim.name.as_str(), prim.version.as_str()),
        ("daml-prim", "0.0.0")
    );
    let mut ids: Vec<&str> = dar.package_ids().collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 31, "each package once");
}

#[test]
fn every_shipped_dar_reads_with_the_name_of_its_main_package() {
    let cases = [
        (HOLDING_V1, "splice-api-token-holding-v1", HOLDING_V1_ID),
        (
            "fixtures/dars/splice-api-token-metadata-v1-1.0.0.dar",
            "splice-api-token-metadata-v1",
            METADATA_V1_ID,
        ),
        (
            "fixtures/dars/splice-api-token-transfer-instruction-v1-1.0.0.dar",
            "splice-api-token-transfer-instruction-v1",
            "55ba4deb0ad4662c",
        ),
        (
            "reference/token-standard-v2/dars/splice-api-token-holding-v2-1.0.0.dar",
            "splice-api-token-holding-v2",
            "4b7ecfc366d79ccc",
        ),
        (
            "reference/token-standard-v2/dars/splice-api-token-allocation-v2-1.0.0.dar",
            "splice-api-token-allocation-v2",
            "051a3b0563a6fa4d",
        ),
        (
            "reference/token-standard-v2/dars/splice-api-token-transfer-events-v2-1.0.0.dar",
            "splice-api-token-transfer-events-v2",
            "5c1097a9bad0af4b",
        ),
        (
            "reference/token-standard-v2/dars/splice-api-token-transfer-instruction-v2-1.0.0.dar",
            "splice-api-token-transfer-instruction-v2",
            "29317e3b7b165d2b",
        ),
    ];
    for (path, name, id_prefix) in cases {
        let dar = read_dar(&bytes(path), DarLimits::default()).unwrap();
        assert_eq!(dar.main.name, name, "{path}");
        assert_eq!(dar.main.version, "1.0.0", "{path}");
        assert!(dar.main.package_id.starts_with(id_prefix), "{path}");
    }
}

/// The zip's entries, in order.
fn entries(dar: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(Cursor::new(dar)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut entry = zip.by_index(i).unwrap();
            let mut out = Vec::new();
            entry.read_to_end(&mut out).unwrap();
            (entry.name().to_owned(), out)
        })
        .collect()
}

fn zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in entries {
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn refusal(dar: &[u8], limits: DarLimits) -> String {
    read_dar(dar, limits).unwrap_err().to_string()
}

#[test]
fn a_rebuilt_zip_of_the_same_entries_still_reads() {
    // The control for the tampering tests below: rebuilding alone changes nothing.
    let rebuilt = zip_of(&entries(&bytes(HOLDING_V1)));
    assert_eq!(
        read_dar(&rebuilt, DarLimits::default())
            .unwrap()
            .main
            .package_id,
        HOLDING_V1_ID
    );
}

#[test]
fn a_dalf_whose_payload_was_changed_is_refused() {
    let mut files = entries(&bytes(HOLDING_V1));
    let main = files
        .iter_mut()
        .find(|(name, _)| name.ends_with(&format!("holding-v1-1.0.0-{HOLDING_V1_ID}.dalf")))
        .unwrap();
    // Inside the payload (the archive starts with the payload's tag and length).
    main.1[100] ^= 0x01;
    let why = refusal(&zip_of(&files), DarLimits::default());
    assert!(why.contains("hashes to"), "{why}");
}

#[test]
fn a_dalf_under_another_packages_name_is_refused() {
    let mut files = entries(&bytes(HOLDING_V1));
    let metadata = files
        .iter()
        .find(|(name, _)| name.ends_with(&format!("{METADATA_V1_ID}.dalf")))
        .unwrap()
        .1
        .clone();
    // The main archive swapped for another package, valid in itself, under the main's name.
    let main = files
        .iter_mut()
        .find(|(name, _)| name.ends_with(&format!("holding-v1-1.0.0-{HOLDING_V1_ID}.dalf")))
        .unwrap();
    main.1 = metadata;
    let why = refusal(&zip_of(&files), DarLimits::default());
    assert!(why.contains("file name says package"), "{why}");
}

#[test]
fn corrupt_files_are_refused() {
    let file = bytes(HOLDING_V1);
    assert!(refusal(&file[..file.len() / 2], DarLimits::default()).contains("not a valid .dar"));
    assert!(refusal(b"not a zip", DarLimits::default()).contains("not a zip archive"));
    let without_manifest: Vec<_> = entries(&file)
        .into_iter()
        .filter(|(name, _)| !name.starts_with("META-INF"))
        .collect();
    assert!(refusal(&zip_of(&without_manifest), DarLimits::default()).contains("MANIFEST.MF"));
    let garbage_dalf = vec![
        (
            "META-INF/MANIFEST.MF".to_owned(),
            b"Manifest-Version: 1.0\nMain-Dalf: x.dalf\n".to_vec(),
        ),
        ("x.dalf".to_owned(), vec![0xff; 40]),
    ];
    assert!(refusal(&zip_of(&garbage_dalf), DarLimits::default()).contains("x.dalf"));
}

#[test]
fn a_zip_that_inflates_beyond_the_bounds_is_refused() {
    let bomb = vec![
        (
            "META-INF/MANIFEST.MF".to_owned(),
            b"Manifest-Version: 1.0\nMain-Dalf: big.dalf\n".to_vec(),
        ),
        // 8 MiB of zeros deflate to a few KiB.
        ("big.dalf".to_owned(), vec![0; 8 << 20]),
    ];
    let file = zip_of(&bomb);
    assert!(file.len() < 64 << 10);
    let limits = DarLimits {
        max_entry_bytes: 1 << 20,
        ..DarLimits::default()
    };
    assert!(refusal(&file, limits).contains("inflates beyond"));
    let small_total = DarLimits {
        max_total_bytes: 1 << 20,
        ..DarLimits::default()
    };
    assert!(refusal(&file, small_total).contains("inflates beyond"));
    // The real dar within tight but sufficient bounds, and a file over the file bound.
    let real = bytes(HOLDING_V1);
    let tight = DarLimits {
        max_file_bytes: real.len() as u64,
        max_entries: 40,
        max_entry_bytes: 1 << 20,
        max_total_bytes: 2 << 20,
    };
    assert!(read_dar(&real, tight).is_ok());
    let smaller = DarLimits {
        max_file_bytes: real.len() as u64 - 1,
        ..tight
    };
    assert!(refusal(&real, smaller).contains("more than"));
}
