//! Our own `prost` definitions of the Canton topology messages an external party's onboarding
//! consists of (`com.digitalasset.canton.protocol.v30` `topology.proto`, `crypto.v30`
//! `crypto.proto`, `version.v1` `untyped_versioned_message.proto`): official field names and
//! numbers, only the mappings onboarding uses. A mapping this crate does not define decodes as
//! an empty `TopologyMapping` (prost skips unknown fields), which every check refuses.

/// `version.v1.UntypedVersionedMessage`: how `generate-topology` serializes each transaction
/// (the `data` of the `TopologyTransaction`, and its proto version, 30).
#[derive(Clone, PartialEq, prost::Message)]
pub struct UntypedVersionedMessage {
    #[prost(oneof = "Wrapper", tags = "1")]
    pub wrapper: Option<Wrapper>,
    #[prost(int32, tag = "2")]
    pub version: i32,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Wrapper {
    #[prost(bytes, tag = "1")]
    Data(Vec<u8>),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TopologyTransaction {
    /// [`TopologyChangeOp`].
    #[prost(int32, tag = "1")]
    pub operation: i32,
    /// 1 for a mapping that did not exist before.
    #[prost(uint32, tag = "2")]
    pub serial: u32,
    #[prost(message, optional, tag = "3")]
    pub mapping: Option<TopologyMapping>,
}

/// `Enums.TopologyChangeOp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub enum TopologyChangeOp {
    Unspecified = 0,
    AddReplace = 1,
    Remove = 2,
}

/// `Enums.ParticipantPermission`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub enum ParticipantPermission {
    Unspecified = 0,
    Submission = 1,
    Confirmation = 2,
    Observation = 3,
}

/// `TopologyMapping`: the mappings onboarding uses (others are skipped on decode).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TopologyMapping {
    #[prost(oneof = "Mapping", tags = "1, 9, 16")]
    pub mapping: Option<Mapping>,
}

// The variants carry Canton's message names.
#[allow(clippy::enum_variant_names)]
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Mapping {
    #[prost(message, tag = "1")]
    NamespaceDelegation(NamespaceDelegation),
    #[prost(message, tag = "9")]
    PartyToParticipant(PartyToParticipant),
    #[prost(message, tag = "16")]
    PartyToKeyMapping(PartyToKeyMapping),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NamespaceDelegation {
    /// The fingerprint of the namespace's root key.
    #[prost(string, tag = "1")]
    pub namespace: String,
    #[prost(message, optional, tag = "2")]
    pub target_key: Option<SigningPublicKey>,
    /// Deprecated in Canton, still written for a root delegation.
    #[prost(bool, tag = "3")]
    pub is_root_delegation: bool,
    #[prost(oneof = "DelegationRestriction", tags = "4, 5, 6")]
    pub restriction: Option<DelegationRestriction>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum DelegationRestriction {
    #[prost(message, tag = "4")]
    CanSignAllMappings(Empty),
    #[prost(message, tag = "5")]
    CanSignAllButNamespaceDelegations(Empty),
    /// `CanSignSpecificMappings { repeated TopologyMappingCode mappings = 1 }`.
    #[prost(message, tag = "6")]
    CanSignSpecificMappings(SpecificMappings),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Empty {}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SpecificMappings {
    #[prost(int32, repeated, tag = "1")]
    pub mappings: Vec<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PartyToKeyMapping {
    #[prost(string, tag = "1")]
    pub party: String,
    #[prost(uint32, tag = "3")]
    pub threshold: u32,
    #[prost(message, repeated, tag = "4")]
    pub signing_keys: Vec<SigningPublicKey>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PartyToParticipant {
    #[prost(string, tag = "1")]
    pub party: String,
    #[prost(uint32, tag = "2")]
    pub threshold: u32,
    #[prost(message, repeated, tag = "3")]
    pub participants: Vec<HostingParticipant>,
    /// Newer nodes may carry the party's keys here instead of a `PartyToKeyMapping`.
    #[prost(message, optional, tag = "6")]
    pub party_signing_keys: Option<SigningKeysWithThreshold>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HostingParticipant {
    #[prost(string, tag = "1")]
    pub participant_uid: String,
    /// [`ParticipantPermission`].
    #[prost(int32, tag = "2")]
    pub permission: i32,
    /// Present while the party is being onboarded onto an existing participant.
    #[prost(message, optional, tag = "3")]
    pub onboarding: Option<Empty>,
}

/// `crypto.v30.SigningKeysWithThreshold`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SigningKeysWithThreshold {
    #[prost(message, repeated, tag = "1")]
    pub keys: Vec<SigningPublicKey>,
    #[prost(uint32, tag = "2")]
    pub threshold: u32,
}

/// `crypto.v30.SigningPublicKey`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SigningPublicKey {
    /// [`CryptoKeyFormat`].
    #[prost(int32, tag = "2")]
    pub format: i32,
    #[prost(bytes = "vec", tag = "3")]
    pub public_key: Vec<u8>,
    /// Deprecated `SigningKeyScheme`; `1` is Ed25519.
    #[prost(int32, tag = "4")]
    pub scheme: i32,
    /// `SigningKeyUsage`: 1 namespace, 4 protocol, ...
    #[prost(int32, repeated, tag = "5")]
    pub usage: Vec<i32>,
    /// [`SigningKeySpec`].
    #[prost(int32, tag = "6")]
    pub key_spec: i32,
}

/// `crypto.v30.CryptoKeyFormat` (the values onboarding meets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub enum CryptoKeyFormat {
    Unspecified = 0,
    Der = 2,
    Raw = 3,
    DerX509SubjectPublicKeyInfo = 4,
}

/// `crypto.v30.SigningKeySpec` (the values onboarding meets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub enum SigningKeySpec {
    Unspecified = 0,
    EcCurve25519 = 1,
}

/// `crypto.v30.SigningKeyUsage` values used here.
pub const SIGNING_KEY_USAGE_NAMESPACE: i32 = 1;
pub const SIGNING_KEY_USAGE_PROTOCOL: i32 = 4;
