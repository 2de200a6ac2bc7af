//! State, version and party endpoints: small, read-only answers.

use axum::Json;
use axum::extract::State;
use canton_ledger::parties::{GetParticipantIdResponse, ListKnownPartiesResponse, PartyDetails};
use canton_ledger::state::{
    ConnectedSynchronizer, GetConnectedSynchronizersResponse, GetLatestPrunedOffsetsResponse,
    GetLedgerEndResponse,
};
use canton_ledger::version::{
    ExperimentalFeatures, FeaturesDescriptor, GetLedgerApiVersionResponse, OffsetCheckpointFeature,
    PackageFeature, PartyManagementFeature, Supported, UserManagementFeature,
};
use canton_ledger::{Duration, parties::ObjectMeta};

use crate::http::AppState;

/// The 3.4 line the sandbox imitates.
pub const LEDGER_API_VERSION: &str = "3.4.9";

pub async fn ledger_end(State(s): State<AppState>) -> Json<GetLedgerEndResponse> {
    Json(GetLedgerEndResponse {
        offset: s.read().ledger.ledger_end(),
    })
}

/// Divulged contracts are not modelled, so both offsets are the pruning offset.
pub async fn latest_pruned_offsets(
    State(s): State<AppState>,
) -> Json<GetLatestPrunedOffsetsResponse> {
    let pruned = s.read().ledger.pruned_up_to();
    Json(GetLatestPrunedOffsetsResponse {
        participant_pruned_up_to_inclusive: pruned,
        all_divulged_contracts_pruned_up_to_inclusive: pruned,
    })
}

/// Every connected synchronizer, the global one first. The permission is
/// `PARTICIPANT_PERMISSION_UNSPECIFIED` (no `party` asked about; the query parameters are not
/// read).
pub async fn connected_synchronizers(
    State(s): State<AppState>,
) -> Json<GetConnectedSynchronizersResponse> {
    let world = s.read();
    Json(GetConnectedSynchronizersResponse {
        connected_synchronizers: world
            .ledger
            .synchronizers()
            .iter()
            .map(|sync| ConnectedSynchronizer {
                synchronizer_alias: sync.alias.clone(),
                synchronizer_id: sync.id.clone(),
                permission: Default::default(),
            })
            .collect(),
    })
}

pub async fn version() -> Json<GetLedgerApiVersionResponse> {
    Json(GetLedgerApiVersionResponse {
        version: LEDGER_API_VERSION.into(),
        features: Some(FeaturesDescriptor {
            experimental: Some(ExperimentalFeatures {
                static_time: Some(Supported { supported: false }),
                command_inspection_service: Some(Supported { supported: false }),
            }),
            user_management: Some(UserManagementFeature {
                supported: false,
                max_rights_per_user: 1000,
                max_users_page_size: 1000,
            }),
            party_management: Some(PartyManagementFeature {
                max_parties_page_size: 10000,
            }),
            offset_checkpoint: Some(OffsetCheckpointFeature {
                max_offset_checkpoint_emission_delay: Some(Duration::from_secs(75)),
            }),
            package_feature: Some(PackageFeature {
                max_vetted_packages_page_size: 100,
            }),
        }),
    })
}

pub async fn parties(State(s): State<AppState>) -> Json<ListKnownPartiesResponse> {
    let world = s.read();
    Json(ListKnownPartiesResponse {
        party_details: world
            .ledger
            .parties()
            .map(|p| PartyDetails {
                party: p.party.clone(),
                is_local: p.is_local,
                local_metadata: Some(ObjectMeta::default()),
                identity_provider_id: String::new(),
            })
            .collect(),
        next_page_token: String::new(),
    })
}

pub async fn participant_id(State(s): State<AppState>) -> Json<GetParticipantIdResponse> {
    Json(GetParticipantIdResponse {
        participant_id: s.read().ledger.participant_id().to_owned(),
    })
}
