//! Token onboarding with its `.dar`s, on SQLite and PostgreSQL: one transaction records the
//! token, the `.dar`s, their packages and links; repeating it is harmless and says so.

mod harness;

use exchange_core::tokens::{OnboardedToken, TokenTransferKind};
use exchange_core::{InstrumentId, PartyId, Timestamp};
use exchange_store::{Dar, OnboardingReport};
use harness::TestDb;

conformance!(
    a_token_and_its_dars_round_trip,
    onboarding_again_is_harmless_and_says_what_it_found,
    a_dar_shared_by_two_tokens_is_recorded_once,
);

fn instrument(admin: &str, id: &str) -> InstrumentId {
    InstrumentId {
        admin: PartyId::new(admin).unwrap(),
        id: id.into(),
    }
}

fn token(id: &str, names: &[&str]) -> OnboardedToken {
    OnboardedToken {
        instrument: instrument("issuer::1220aa", id),
        registry_url: "http://registry.example".into(),
        transfer_kind: TokenTransferKind::MultiStep,
        package_names: names.iter().map(|n| n.to_string()).collect(),
    }
}

fn dar(main: &str, at: i64) -> Dar {
    Dar {
        main_package_id: main.into(),
        file_name: format!("{main}.dar"),
        content: format!("zip bytes of {main}").into_bytes(),
        uploaded_at: Timestamp::from_micros(at).unwrap(),
        content_hash: format!("{main}-sha256"),
        package_name: format!("{main}-name"),
        package_version: "1.2.3".into(),
        package_ids: vec!["daml-prim".into(), main.to_owned()],
        listed_at: Some(Timestamp::from_micros(at + 5).unwrap()),
        ledger_end_before: Some(7),
        ledger_end_after: Some(8),
    }
}

async fn a_token_and_its_dars_round_trip(db: &TestDb) {
    let store = db.open().await;
    let sbx = token("SBX", &["pkg-a-name", "extra"]);
    let report = store
        .onboard_token_with_dars(&sbx, &[dar("pkg-a", 100), dar("pkg-b", 200)])
        .await
        .unwrap();
    assert_eq!(
        report,
        OnboardingReport {
            token_new: true,
            package_names_added: vec!["extra".into(), "pkg-a-name".into()],
            dars_recorded: vec!["pkg-a".into(), "pkg-b".into()],
            dars_known: vec![],
            dars_linked: vec!["pkg-a".into(), "pkg-b".into()],
        }
    );
    assert_eq!(
        store.onboarded_tokens().await.unwrap(),
        std::slice::from_ref(&sbx)
    );
    assert_eq!(
        store.token_dars(&sbx.instrument).await.unwrap(),
        [dar("pkg-a", 100), dar("pkg-b", 200)]
    );
    assert!(
        store
            .token_dars(&instrument("issuer::1220aa", "OTHER"))
            .await
            .unwrap()
            .is_empty()
    );
    // The node-restore runbook's query sees them too, packages included.
    assert_eq!(
        store
            .dars_uploaded_since(Timestamp::from_micros(150).unwrap())
            .await
            .unwrap(),
        [dar("pkg-b", 200)]
    );
}

async fn onboarding_again_is_harmless_and_says_what_it_found(db: &TestDb) {
    let store = db.open().await;
    let sbx = token("SBX", &["pkg-a-name"]);
    store
        .onboard_token_with_dars(&sbx, &[dar("pkg-a", 100)])
        .await
        .unwrap();
    // The same dar uploaded again later (new times) plus one more.
    let again = store
        .onboard_token_with_dars(&sbx, &[dar("pkg-a", 300), dar("pkg-c", 300)])
        .await
        .unwrap();
    assert_eq!(
        again,
        OnboardingReport {
            token_new: false,
            package_names_added: vec![],
            dars_recorded: vec!["pkg-c".into()],
            dars_known: vec!["pkg-a".into()],
            dars_linked: vec!["pkg-c".into()],
        }
    );
    // The first record of pkg-a is kept.
    assert_eq!(
        store.token_dars(&sbx.instrument).await.unwrap(),
        [dar("pkg-a", 100), dar("pkg-c", 300)]
    );
    let same = store
        .onboard_token_with_dars(&sbx, &[dar("pkg-a", 400)])
        .await
        .unwrap();
    assert!(!same.token_new && same.dars_recorded.is_empty() && same.dars_linked.is_empty());
    assert_eq!(store.onboarded_tokens().await.unwrap(), [sbx]);
}

async fn a_dar_shared_by_two_tokens_is_recorded_once(db: &TestDb) {
    let store = db.open().await;
    let one = token("ONE", &["shared-name"]);
    let two = token("TWO", &["shared-name"]);
    store
        .onboard_token_with_dars(&one, &[dar("shared", 100)])
        .await
        .unwrap();
    let report = store
        .onboard_token_with_dars(&two, &[dar("shared", 200)])
        .await
        .unwrap();
    assert!(report.token_new);
    assert_eq!(report.dars_known, ["shared"]);
    assert_eq!(report.dars_linked, ["shared"]);
    assert_eq!(
        store.token_dars(&two.instrument).await.unwrap(),
        [dar("shared", 100)]
    );
    assert_eq!(
        store
            .dars_uploaded_since(Timestamp::UNIX_EPOCH)
            .await
            .unwrap()
            .len(),
        1
    );
}
