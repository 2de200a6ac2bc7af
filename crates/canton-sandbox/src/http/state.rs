//! State, version and party endpoints: small, read-only answers.

use axum::Json;
use axum::extract::{Query, State};
use canton_ledger::parties::{GetParticipantIdResponse, ListKnownPartiesResponse, PartyDetails};
use canton_ledger::state::{
    ConnectedSynchronizer, GetConnectedSynchronizersResponse, GetLatestPrunedOffsetsResponse,
    GetLedgerEndResponse,
};
use canton_ledger::topology::ParticipantPermission;
use canton_ledger::version::{
    ExperimentalFeatures, FeaturesDescriptor, GetLedgerApiVersionResponse, OffsetCheckpointFeature,
    PackageFeature, PartyManagementFeature, Supported, UserManagementFeature,
};
use canton_ledger::{Duration, parties::ObjectMeta};
use serde::Deserialize;

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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectedSynchronizersQuery {
    pub party: Option<String>,
    pub participant_id: Option<String>,
}

/// Every connected synchronizer, the global one first. Without `party`: all of them, permission
/// `PARTICIPANT_PERMISSION_UNSPECIFIED`. With `party`, as Canton's sync service answers: only
/// the synchronizers on which that participant (this one unless `participantId` names it)
/// hosts the party, with the party's permission there; here every hosted party is hosted on
/// all of them, local parties with submission and external parties with confirmation rights
/// (their own key submits). A party hosted elsewhere or unknown gets an empty list.
pub async fn connected_synchronizers(
    State(s): State<AppState>,
    Query(query): Query<ConnectedSynchronizersQuery>,
) -> Json<GetConnectedSynchronizersResponse> {
    let world = s.read();
    let party = query.party.filter(|p| !p.is_empty());
    let here = query
        .participant_id
        .filter(|p| !p.is_empty())
        .is_none_or(|p| p == world.ledger.participant_id());
    let permission = match &party {
        None => Some(ParticipantPermission::Unspecified),
        Some(_) if !here => None,
        Some(p) if world.external.key_of(p).is_some() => Some(ParticipantPermission::Confirmation),
        Some(p) if world.ledger.is_known_party(p) => Some(ParticipantPermission::Submission),
        Some(_) => None,
    };
    Json(GetConnectedSynchronizersResponse {
        connected_synchronizers: permission
            .map(|permission| {
                world
                    .ledger
                    .synchronizers()
                    .iter()
                    .map(|sync| ConnectedSynchronizer {
                        synchronizer_alias: sync.alias.clone(),
                        synchronizer_id: sync.id.clone(),
                        permission: permission.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
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
