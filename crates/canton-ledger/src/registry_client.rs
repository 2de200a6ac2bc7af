//! A client of one token admin's Registry API (`registry.rs` has its wire types). It reuses the
//! Ledger API client's transport, so both have the same timeouts, size bounds and error classes
//! (a registry's `{"error": …}` answers come back as [`ClientError::Http`] with that body).

use crate::client::{ClientError, ClientOptions, LedgerClient, Limits};
use crate::registry::{
    ChoiceContext, GetChoiceContextRequest, GetFactoryRequest, GetRegistryInfoResponse, Instrument,
    TransferFactoryWithChoiceContext, TransferInstructionChoice,
};
use crate::serde_util::DamlValue;
use crate::tls::{TlsError, Trust};

/// The Registry API of one instrument admin, at its base URL (the prefix of `/registry/…`).
#[derive(Clone, Debug)]
pub struct RegistryClient {
    http: LedgerClient,
}

impl RegistryClient {
    pub fn new(base: &str, limits: Limits) -> RegistryClient {
        RegistryClient {
            http: LedgerClient::with_limits(base, None, limits),
        }
    }

    /// A registry served over `https://` with certificates of these CAs.
    pub fn with_trust(
        base: &str,
        trust: Trust,
        limits: Limits,
    ) -> Result<RegistryClient, TlsError> {
        let options = ClientOptions {
            trust,
            limits,
            ..ClientOptions::default()
        };
        Ok(RegistryClient {
            http: LedgerClient::with_options(base, options)?,
        })
    }

    pub fn base_url(&self) -> &str {
        self.http.base_url()
    }

    /// This client, telling `observer` how long each request took (metrics).
    pub fn with_call_observer(
        self,
        observer: std::sync::Arc<dyn crate::call_timer::CallObserver>,
    ) -> RegistryClient {
        RegistryClient {
            http: self.http.with_call_observer(observer),
        }
    }

    /// `GET /registry/metadata/v1/info`: the registry's admin party (for Canton Coin, the DSO).
    pub async fn info(&self) -> Result<GetRegistryInfoResponse, ClientError> {
        self.http
            .get_json("registry info", "/registry/metadata/v1/info")
            .await
    }

    /// The factory to exercise `TransferFactory_Transfer` on, how the transfer will run and the
    /// context and disclosures it needs. `choice_arguments` is the choice's argument with an
    /// empty `extraArgs` context and meta.
    pub async fn transfer_factory(
        &self,
        choice_arguments: DamlValue,
    ) -> Result<TransferFactoryWithChoiceContext, ClientError> {
        self.post_factory(
            "registry transfer factory",
            "/registry/transfer-instruction/v1/transfer-factory",
            choice_arguments,
        )
        .await
    }

    /// As [`RegistryClient::transfer_factory`], from the V2 registry API: the factory for V2's
    /// `TransferFactory_Transfer {transfer, actors, extraArgs}` (a V2-only token's, whose V1
    /// endpoint answers 404).
    pub async fn transfer_factory_v2(
        &self,
        choice_arguments: DamlValue,
    ) -> Result<TransferFactoryWithChoiceContext, ClientError> {
        self.post_factory(
            "registry V2 transfer factory",
            "/registry/transfer-instruction/v2/transfer-factory",
            choice_arguments,
        )
        .await
    }

    /// The context and disclosures of a choice on a transfer instruction (accept, reject,
    /// withdraw).
    pub async fn choice_context(
        &self,
        transfer_instruction_id: &str,
        choice: TransferInstructionChoice,
    ) -> Result<ChoiceContext, ClientError> {
        let path = choice.path(transfer_instruction_id);
        self.post_choice_context("registry choice context", &path)
            .await
    }

    /// As [`RegistryClient::choice_context`], from the V2 registry API: the context of a
    /// `TransferInstructionV2` choice (a V2-only token's instruction).
    pub async fn choice_context_v2(
        &self,
        transfer_instruction_id: &str,
        choice: TransferInstructionChoice,
    ) -> Result<ChoiceContext, ClientError> {
        let path = choice.v2_path(transfer_instruction_id);
        self.post_choice_context("registry V2 choice context", &path)
            .await
    }

    /// The factory request of both standards' APIs (the same body, another path).
    async fn post_factory(
        &self,
        what: &'static str,
        path: &str,
        choice_arguments: DamlValue,
    ) -> Result<TransferFactoryWithChoiceContext, ClientError> {
        let body = GetFactoryRequest {
            choice_arguments,
            exclude_debug_fields: true,
        };
        self.http.post_json(what, path, &body).await
    }

    /// The choice-context request of both standards' APIs (the same body, another path).
    async fn post_choice_context(
        &self,
        what: &'static str,
        path: &str,
    ) -> Result<ChoiceContext, ClientError> {
        let body = GetChoiceContextRequest {
            meta: None,
            exclude_debug_fields: Some(true),
        };
        self.http.post_json(what, path, &body).await
    }

    /// `GET /registry/metadata/v1/instruments/{id}`: one instrument the registry serves.
    pub async fn instrument(&self, id: &str) -> Result<Instrument, ClientError> {
        let path = format!("/registry/metadata/v1/instruments/{}", path_segment(id));
        let request = self.http.http().get(self.http.url(&path));
        self.http.send("registry instrument", request).await
    }
}

/// `text` as one URL path segment: everything but unreserved characters percent-encoded.
fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
