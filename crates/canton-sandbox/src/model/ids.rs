//! Identifiers in the real formats, derived deterministically from a seed and counters.
//!
//! Real ids are hashes; consumers treat them as opaque but some check the shape (length,
//! prefixes), so the sandbox mints ids of exactly the observed forms (`ledger-api.md` §2.4, §8):
//! update ids `1220` + 64 hex, contract ids `00` + 64 hex + `ca11` + `1220` + 64 hex (138 chars),
//! party ids `hint::1220` + 64 hex. The same seed and the same sequence of calls give the same
//! ids, so recordings of a scenario are reproducible.

use sha2::{Digest, Sha256};

#[derive(Debug, Clone)]
pub struct IdGen {
    seed: String,
    updates: u64,
    contracts: u64,
}

impl IdGen {
    pub fn new(seed: impl Into<String>) -> IdGen {
        IdGen {
            seed: seed.into(),
            updates: 0,
            contracts: 0,
        }
    }

    fn hash(&self, purpose: &str, n: u64) -> String {
        let mut h = Sha256::new();
        h.update(self.seed.as_bytes());
        h.update([0]);
        h.update(purpose.as_bytes());
        h.update([0]);
        h.update(n.to_be_bytes());
        hex::encode(h.finalize())
    }

    fn hash_name(&self, purpose: &str, name: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.seed.as_bytes());
        h.update([0]);
        h.update(purpose.as_bytes());
        h.update([0]);
        h.update(name.as_bytes());
        hex::encode(h.finalize())
    }

    pub fn next_update_id(&mut self) -> String {
        self.updates += 1;
        format!("1220{}", self.hash("update", self.updates))
    }

    pub fn next_contract_id(&mut self) -> String {
        self.contracts += 1;
        format!(
            "00{}ca111220{}",
            self.hash("contract-discriminator", self.contracts),
            self.hash("contract-suffix", self.contracts)
        )
    }

    /// A namespace fingerprint (`1220` + 64 hex) for a name: parties, the synchronizer, the
    /// participant.
    pub fn namespace(&self, name: &str) -> String {
        format!("1220{}", self.hash_name("namespace", name))
    }

    pub fn party_id(&self, hint: &str) -> String {
        format!("{hint}::{}", self.namespace(hint))
    }

    /// A W3C `traceparent` for an update, so transactions carry a plausible trace context.
    pub fn traceparent(&self, update_id: &str) -> String {
        let h = self.hash_name("trace", update_id);
        format!("00-{}-{}-01", &h[..32], &h[32..48])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_real_shapes_and_are_deterministic() {
        let mut a = IdGen::new("seed");
        let mut b = IdGen::new("seed");
        let cid = a.next_contract_id();
        assert_eq!(cid.len(), 138);
        assert!(cid.starts_with("00"));
        assert_eq!(&cid[66..74], "ca111220");
        assert_eq!(cid, b.next_contract_id());
        let uid = a.next_update_id();
        assert_eq!(uid.len(), 68);
        assert!(uid.starts_with("1220") && uid[4..].bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.next_contract_id(), cid);
        assert!(a.party_id("treasury").starts_with("treasury::1220"));
        assert_eq!(a.party_id("treasury").len(), "treasury::".len() + 68);
    }
}
