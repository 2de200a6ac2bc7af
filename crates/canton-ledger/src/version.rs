//! `GET /v2/version`: the node's version and optional features. Read at start to check which
//! API line (3.4 / 3.5) the client talks to.

use serde::{Deserialize, Serialize};

use crate::serde_util::{Duration, int_or_default, null_as_default};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetLedgerApiVersionResponse {
    /// e.g. `"3.4.9"`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub version: String,
    #[serde(default)]
    pub features: Option<FeaturesDescriptor>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeaturesDescriptor {
    #[serde(default)]
    pub experimental: Option<ExperimentalFeatures>,
    #[serde(default)]
    pub user_management: Option<UserManagementFeature>,
    #[serde(default)]
    pub party_management: Option<PartyManagementFeature>,
    #[serde(default)]
    pub offset_checkpoint: Option<OffsetCheckpointFeature>,
    #[serde(default)]
    pub package_feature: Option<PackageFeature>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentalFeatures {
    #[serde(default)]
    pub static_time: Option<Supported>,
    #[serde(default)]
    pub command_inspection_service: Option<Supported>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supported {
    #[serde(default, deserialize_with = "null_as_default")]
    pub supported: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserManagementFeature {
    #[serde(default, deserialize_with = "null_as_default")]
    pub supported: bool,
    #[serde(default, deserialize_with = "int_or_default")]
    pub max_rights_per_user: i32,
    #[serde(default, deserialize_with = "int_or_default")]
    pub max_users_page_size: i32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartyManagementFeature {
    #[serde(default, deserialize_with = "int_or_default")]
    pub max_parties_page_size: i32,
}

/// The longest the node waits between two checkpoints in an idle open-ended stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OffsetCheckpointFeature {
    #[serde(default)]
    pub max_offset_checkpoint_emission_delay: Option<Duration>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageFeature {
    #[serde(default, deserialize_with = "int_or_default")]
    pub max_vetted_packages_page_size: i32,
}
