//! The package service (`ledger-api.md` §5): `POST /v2/packages` (raw `.dar` bytes → `{}`),
//! `GET /v2/packages` (`{packageIds}`), `GET /v2/packages/{id}` (the `.dalf` bytes, header
//! `Canton-Package-Hash`), `GET /v2/packages/{id}/status`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use canton_ledger::ErrorCategory;
use canton_ledger::packages::{GetPackageStatusResponse, ListPackagesResponse, PackageStatus};
use canton_ledger::serde_util::Empty;

use crate::http::AppState;
use crate::http::error::ApiError;
use crate::packages::read_dar;

pub async fn upload(State(s): State<AppState>, body: Bytes) -> Result<Json<Empty>, ApiError> {
    let dar = read_dar(&body).map_err(|e| {
        ApiError::canton(
            "INVALID_DAR",
            ErrorCategory::InvalidIndependentOfSystemState,
            e.to_string(),
            vec![],
        )
    })?;
    s.change(|w| w.packages.upload(dar));
    Ok(Json(Empty {}))
}

pub async fn list(State(s): State<AppState>) -> Json<ListPackagesResponse> {
    Json(ListPackagesResponse {
        package_ids: s.read().package_ids(),
    })
}

pub async fn status(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Json<GetPackageStatusResponse> {
    let known = s.read().has_package(&id);
    Json(GetPackageStatusResponse {
        package_status: if known {
            PackageStatus::Registered
        } else {
            PackageStatus::Unspecified
        },
    })
}

pub async fn archive(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let bytes = s.read().packages.archive(&id).ok_or_else(|| {
        ApiError::canton(
            "PACKAGE_NOT_FOUND",
            ErrorCategory::InvalidGivenCurrentSystemStateResourceMissing,
            "Could not find package.",
            vec![("PACKAGE_ID", id.clone())],
        )
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::HeaderName::from_static("canton-package-hash"), id),
        ],
        bytes.to_vec(),
    )
        .into_response())
}
