//! The Ledger API calls that set a party up (`ledger-api.md` §3, §5): the participant's id, the
//! parties it knows, onboarding an external party (`generate-topology`, `allocate`) and the
//! active contracts a setup step waits for. Same transport, limits and errors as the rest of
//! [`LedgerClient`].

use crate::client::{ClientError, LedgerClient};
use crate::parties::{
    AllocateExternalPartyRequest, AllocateExternalPartyResponse,
    GenerateExternalPartyTopologyRequest, GenerateExternalPartyTopologyResponse,
    GetParticipantIdResponse, ListKnownPartiesResponse, PartyDetails,
};
use crate::state::{
    ConnectedSynchronizer, GetActiveContractsRequest, GetConnectedSynchronizersResponse,
    JsGetActiveContractsResponse,
};

/// At most this many pages of parties are read (a node lists up to 10 000 per page by default).
const MAX_PARTY_PAGES: usize = 1_000;

impl LedgerClient {
    /// `GET /v2/parties/participant-id`: `PAR::<uid>`.
    pub async fn participant_id(&self) -> Result<String, ClientError> {
        let answer: GetParticipantIdResponse = self
            .get_json("participant id", "/v2/parties/participant-id")
            .await?;
        Ok(answer.participant_id)
    }

    /// `GET /v2/state/connected-synchronizers`: the synchronizers this participant is on.
    pub async fn connected_synchronizers(&self) -> Result<Vec<ConnectedSynchronizer>, ClientError> {
        let answer: GetConnectedSynchronizersResponse = self
            .get_json(
                "connected synchronizers",
                "/v2/state/connected-synchronizers",
            )
            .await?;
        Ok(answer.connected_synchronizers)
    }

    /// Every party the node knows (`GET /v2/parties`, paged until `nextPageToken` is empty).
    pub async fn list_parties(&self) -> Result<Vec<PartyDetails>, ClientError> {
        let mut parties = Vec::new();
        let mut token = String::new();
        for _ in 0..MAX_PARTY_PAGES {
            let path = if token.is_empty() {
                "/v2/parties".to_owned()
            } else {
                format!("/v2/parties?pageToken={}", query_escape(&token))
            };
            let page: ListKnownPartiesResponse = self.get_json("list parties", &path).await?;
            parties.extend(page.party_details);
            if page.next_page_token.is_empty() || page.next_page_token == token {
                return Ok(parties);
            }
            token = page.next_page_token;
        }
        Err(ClientError::Decode {
            what: "list parties",
            reason: format!("more than {MAX_PARTY_PAGES} pages of parties"),
        })
    }

    /// `POST /v2/parties/external/generate-topology`: the transactions that would onboard an
    /// external party and the multi-hash its key signs. Nothing changes on the node.
    pub async fn generate_external_party_topology(
        &self,
        request: &GenerateExternalPartyTopologyRequest,
    ) -> Result<GenerateExternalPartyTopologyResponse, ClientError> {
        self.post_json(
            "generate external party topology",
            "/v2/parties/external/generate-topology",
            request,
        )
        .await
    }

    /// `POST /v2/parties/external/allocate`: submits the signed onboarding transactions.
    pub async fn allocate_external_party(
        &self,
        request: &AllocateExternalPartyRequest,
    ) -> Result<AllocateExternalPartyResponse, ClientError> {
        self.post_json(
            "allocate external party",
            "/v2/parties/external/allocate",
            request,
        )
        .await
    }

    /// `POST /v2/state/active-contracts?limit=`: at most `limit` entries (a node refuses a
    /// bounded answer larger than its own limit, 200 by default).
    pub async fn active_contracts(
        &self,
        request: &GetActiveContractsRequest,
        limit: usize,
    ) -> Result<Vec<JsGetActiveContractsResponse>, ClientError> {
        let path = format!("/v2/state/active-contracts?limit={limit}");
        self.post_json("active contracts", &path, request).await
    }
}

/// Percent-encodes a page token for a query string (tokens are opaque, often base64).
fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
