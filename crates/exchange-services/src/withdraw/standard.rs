//! Which token standard a withdrawal is paid with, as the issuer says: the instrument's
//! `supportedApis` in its registry's metadata (`GET /registry/metadata/v1/instruments/{id}`, the
//! one metadata API both standards share). V1's transfer factory when the instrument supports it
//! (every token that speaks both is paid as before), V2's when it supports V2 only (CIP-0112: a
//! V2-only token's V1 factory does not exist, its registry answers 404).
//!
//! Not kept in the store: the registry is the authority and is asked anyway on every attempt, so
//! the answer is remembered for the life of the process only, and forgotten when the registry
//! answers 404 for the factory it named (an issuer that dropped V1 is followed at the next
//! attempt, without an operator or a migration).

use std::collections::BTreeMap;
use std::sync::Mutex;

use canton_ledger::registry::SupportedApis;
use canton_ledger::registry_client::RegistryClient;
use exchange_core::InstrumentId;
use exchange_core::interfaces::{TRANSFER_FACTORY_V1, TRANSFER_FACTORY_V2};
use exchange_core::signing::Standard;

const V1_TRANSFERS: &str = TRANSFER_FACTORY_V1.package_name;
const V2_TRANSFERS: &str = TRANSFER_FACTORY_V2.package_name;

/// The standard to instruct a transfer with, from an instrument's `supportedApis`: V1 if
/// supported, else V2 if supported, else none (the instrument cannot be transferred through
/// the token standard).
pub fn transfer_standard(apis: &SupportedApis) -> Option<Standard> {
    if apis.contains_key(V1_TRANSFERS) {
        Some(Standard::V1)
    } else if apis.contains_key(V2_TRANSFERS) {
        Some(Standard::V2)
    } else {
        None
    }
}

/// What each instrument's registry said, for this process.
#[derive(Debug, Default)]
pub(crate) struct Standards(Mutex<BTreeMap<InstrumentId, Standard>>);

impl Standards {
    pub(crate) async fn of(
        &self,
        registry: &RegistryClient,
        instrument: &InstrumentId,
    ) -> Result<Standard, String> {
        if let Some(known) = self.lock().get(instrument) {
            return Ok(*known);
        }
        let metadata = registry
            .instrument(&instrument.id)
            .await
            .map_err(|e| format!("registry instrument metadata: {e}"))?;
        let standard = transfer_standard(&metadata.supported_apis).ok_or_else(|| {
            format!(
                "the registry lists neither {V1_TRANSFERS} nor {V2_TRANSFERS} for {}",
                instrument.id
            )
        })?;
        self.lock().insert(instrument.clone(), standard);
        Ok(standard)
    }

    /// Asks the registry again next time.
    pub(crate) fn forget(&self, instrument: &InstrumentId) {
        self.lock().remove(instrument);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<InstrumentId, Standard>> {
        // A panic while holding it left a map that is still whole: keep using it.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apis(names: &[&str]) -> SupportedApis {
        names.iter().map(|n| ((*n).to_owned(), 1)).collect()
    }

    #[test]
    fn v1_when_supported_v2_when_only_v2_none_otherwise() {
        let both = apis(&["splice-api-token-metadata-v1", V1_TRANSFERS, V2_TRANSFERS]);
        assert_eq!(transfer_standard(&both), Some(Standard::V1));
        let v2_only = apis(&[
            "splice-api-token-metadata-v1",
            "splice-api-token-holding-v2",
            V2_TRANSFERS,
        ]);
        assert_eq!(transfer_standard(&v2_only), Some(Standard::V2));
        let neither = apis(&[
            "splice-api-token-metadata-v1",
            "splice-api-token-holding-v1",
        ]);
        assert_eq!(transfer_standard(&neither), None);
    }
}
