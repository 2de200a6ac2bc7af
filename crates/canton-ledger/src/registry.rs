//! The token standard's off-ledger Registry API, served per token admin (`token-standard.md`
//! §5; `specs/transfer-instruction-v1.yaml`, `specs/token-metadata-v1.yaml`). Not a Canton
//! server: its OpenAPI servers leave absent optionals out instead of writing `null`, so these
//! types do the same.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::serde_util::{DamlValue, null_as_default};

proto_enum! {
    /// How a transfer will run: `offer` needs the receiver's acceptance, `direct` is one
    /// transaction (pre-approved receiver), `self` is sender == receiver.
    pub enum TransferKind {
        Offer = "offer",
        Direct = "direct",
        SelfTransfer = "self",
    }
}

/// Body of `POST /registry/transfer-instruction/v1/transfer-factory`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetFactoryRequest {
    /// The `TransferFactory_Transfer` argument, with `extraArgs.context` and `extraArgs.meta`
    /// set to `{"values": {}}`.
    pub choice_arguments: DamlValue,
    #[serde(default, deserialize_with = "null_as_default")]
    pub exclude_debug_fields: bool,
}

/// Answer of the transfer-factory call: exercise `TransferFactory_Transfer` on `factoryId` with
/// `extraArgs.context = choiceContext.choiceContextData`, disclosing its contracts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferFactoryWithChoiceContext {
    pub factory_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub transfer_kind: TransferKind,
    pub choice_context: ChoiceContext,
}

/// What a choice on a registry contract needs besides its own arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChoiceContext {
    /// A Daml `ChoiceContext` (`{"values": {key: AnyValue}}`), to be placed verbatim in
    /// `extraArgs.context`.
    pub choice_context_data: DamlValue,
    #[serde(default, deserialize_with = "null_as_default")]
    pub disclosed_contracts: Vec<DisclosedContract>,
}

/// A registry-supplied disclosed contract. The `debug*` fields are the registry's claims, not
/// checked against the blob: display them, never trust them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DisclosedContract {
    #[serde(default, deserialize_with = "null_as_default")]
    pub template_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub contract_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_event_blob: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub synchronizer_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_package_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_payload: Option<DamlValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_created_at: Option<String>,
}

impl From<DisclosedContract> for crate::commands::DisclosedContract {
    fn from(c: DisclosedContract) -> Self {
        crate::commands::DisclosedContract {
            template_id: Some(c.template_id).filter(|t| !t.is_empty()),
            contract_id: c.contract_id,
            created_event_blob: c.created_event_blob,
            synchronizer_id: c.synchronizer_id,
        }
    }
}

/// Body of `POST /registry/transfer-instruction/v1/{id}/choice-contexts/{accept|reject|withdraw}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetChoiceContextRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_debug_fields: Option<bool>,
}

/// Which choice on a transfer instruction a context is asked for; names the URL's last segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferInstructionChoice {
    Accept,
    Reject,
    Withdraw,
}

impl TransferInstructionChoice {
    pub fn path_segment(self) -> &'static str {
        match self {
            TransferInstructionChoice::Accept => "accept",
            TransferInstructionChoice::Reject => "reject",
            TransferInstructionChoice::Withdraw => "withdraw",
        }
    }

    /// `/registry/transfer-instruction/v1/{id}/choice-contexts/{choice}`; the id is a contract
    /// id (hex), which needs no escaping.
    pub fn path(self, transfer_instruction_id: &str) -> String {
        format!(
            "/registry/transfer-instruction/v1/{transfer_instruction_id}/choice-contexts/{}",
            self.path_segment()
        )
    }

    /// The V2 registry API's path (`transfer-instruction-v2.yaml`):
    /// `/registry/transfer-instruction/v2/{id}/choice-contexts/{choice}`, where a V2-only
    /// token's registry serves the context of the `TransferInstructionV2` choices.
    pub fn v2_path(self, transfer_instruction_id: &str) -> String {
        format!(
            "/registry/transfer-instruction/v2/{transfer_instruction_id}/choice-contexts/{}",
            self.path_segment()
        )
    }
}

/// The registry's error body (400/404/409/500).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub error: String,
}

/// API name (`splice-api-token-metadata-v1`, …) → supported minor version.
pub type SupportedApis = BTreeMap<String, i32>;

/// `GET /registry/metadata/v1/info`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetRegistryInfoResponse {
    /// The instrument admin party; the `admin` of every `InstrumentId` this registry serves.
    #[serde(default, deserialize_with = "null_as_default")]
    pub admin_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub supported_apis: SupportedApis,
}

/// `GET /registry/metadata/v1/instruments/{id}` and the elements of the instrument list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instrument {
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub symbol: String,
    /// A decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_supply: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_supply_as_of: Option<String>,
    /// 0..=10; for display only (amounts on ledger always have 10 decimals).
    #[serde(default = "ten_decimals")]
    pub decimals: u8,
    #[serde(default, deserialize_with = "null_as_default")]
    pub supported_apis: SupportedApis,
}

fn ten_decimals() -> u8 {
    10
}

/// `GET /registry/metadata/v1/instruments?pageSize=&pageToken=`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListInstrumentsResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub instruments: Vec<Instrument>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}
