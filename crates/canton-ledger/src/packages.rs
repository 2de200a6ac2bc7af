//! Package service (`ledger-api.md` §5). Uploads (`POST /v2/packages`, raw `.dar` bytes) answer
//! `{}`, i.e. [`crate::Empty`].

use serde::{Deserialize, Serialize};

use crate::serde_util::null_as_default;

proto_enum! {
    pub enum PackageStatus {
        Unspecified = "PACKAGE_STATUS_UNSPECIFIED",
        Registered = "PACKAGE_STATUS_REGISTERED",
    }
}

/// `GET /v2/packages`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListPackagesResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub package_ids: Vec<String>,
}

/// `GET /v2/packages/{package-id}/status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetPackageStatusResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub package_status: PackageStatus,
}
