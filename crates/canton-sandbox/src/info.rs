//! The sandbox's info file: what a client needs to talk to it (URL, synchronizer, parties,
//! tokens), written as JSON for demos and scripts.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxInfo {
    pub ledger_api_url: String,
    /// `host:port` of the Admin API (gRPC over h2c), or `https://host:port` with TLS.
    pub admin_api_url: String,
    /// The OAuth2 token endpoint (client credentials), when the sandbox issues tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_token_url: Option<String>,
    /// The global synchronizer's id (kept for readers that know only one).
    pub synchronizer_id: String,
    /// Every connected synchronizer, the global one first.
    #[serde(default)]
    pub synchronizers: Vec<InfoSynchronizer>,
    pub parties: InfoParties,
    pub tokens: Vec<InfoToken>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InfoParties {
    pub treasury: Option<String>,
    /// The treasury's key fingerprint (its party's namespace) when it is an external party
    /// (`SandboxConfig::treasury_key`); absent for a local treasury.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treasury_public_key_fingerprint: Option<String>,
    pub customers: BTreeMap<String, String>,
    pub dso: String,
    pub validator: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InfoSynchronizer {
    pub alias: String,
    pub synchronizer_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InfoToken {
    pub admin: String,
    pub instrument_id: String,
    /// The synchronizer the token's contracts live on.
    #[serde(default)]
    pub synchronizer_id: String,
    /// Base URL of the token admin's Registry API (`…/registry/metadata/v1/info` etc. below it).
    pub registry_url: String,
}

impl SandboxInfo {
    /// Writes the file atomically (temp file + rename), so a reader never sees half of it.
    pub fn write_to(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text + "\n")?;
        std::fs::rename(tmp, path)
    }
}
