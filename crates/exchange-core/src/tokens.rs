//! Onboarded tokens, and the one rule that decides whether a holding is really the instrument it
//! claims to be.
//!
//! A holding's `HoldingV1` view is written by whoever wrote its template: anyone can deploy a
//! template whose view says `{admin: DSO, id: "Amulet"}`. What a counterfeiter cannot forge is the
//! signatories: a contract with the instrument admin as signatory exists only if the admin
//! authorized its creation. So a holding counts as the instrument it claims only when
//! - the instrument (admin, id) was onboarded by the operator, and
//! - the admin is a signatory of the holding contract, and
//! - the holding's template comes from a package the operator named for that token at onboarding:
//!   by package *name* (the package ids of the `.dar`s uploaded for it, or a name given
//!   explicitly for tokens whose `.dar`s the validator manages, such as `splice-amulet` for
//!   Canton Coin). Names, not ids, because every upgrade of a token brings new package ids under
//!   the same name (smart-contract upgrading keeps the name), and the signatory rule is what
//!   proves issuance; the name rule only keeps an admin's unrelated templates out.
//!
//! Everything else is [`Recognition::NotOnboarded`] or [`Recognition::Counterfeit`]: recorded for
//! support, never credited, never spent. Pure: the caller loads the onboarded tokens.

use std::collections::{BTreeMap, BTreeSet};

use crate::{InstrumentId, PartyId};

/// How deposits of a token reach the treasury.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TokenTransferKind {
    /// The sender's transfer completes at once (Canton Coin with the treasury's preapproval).
    OneStep,
    /// Deposits arrive as offers (`TransferInstruction`s) that the treasury accepts.
    MultiStep,
}

impl TokenTransferKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenTransferKind::OneStep => "one-step",
            TokenTransferKind::MultiStep => "multi-step",
        }
    }

    pub fn parse(text: &str) -> Option<TokenTransferKind> {
        match text {
            "one-step" => Some(TokenTransferKind::OneStep),
            "multi-step" => Some(TokenTransferKind::MultiStep),
            _ => None,
        }
    }
}

/// A token the operator onboarded: what ingestion credits and the automations act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardedToken {
    pub instrument: InstrumentId,
    /// The admin's Registry API (for Canton Coin: the validator's scan proxy).
    pub registry_url: String,
    pub transfer_kind: TokenTransferKind,
    /// Package names the token's holdings may come from.
    pub package_names: BTreeSet<String>,
}

/// Where a holding (or transfer instruction) contract comes from, as its created event says.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// `package-id:Module:Entity` (or `#package-name:Module:Entity`).
    pub template_id: String,
    /// The created event's `packageName`; for a `#name:` template reference, that name.
    pub package_name: Option<String>,
    pub signatories: Vec<PartyId>,
}

impl Provenance {
    /// What a created event says of its contract. Signatories that are not valid party ids
    /// are left out (they cannot be an instrument admin either).
    pub fn of(event: &canton_ledger::CreatedEvent) -> Provenance {
        Provenance {
            template_id: event.template_id.clone(),
            package_name: Some(event.package_name.clone()).filter(|n| !n.is_empty()),
            signatories: event
                .signatories
                .iter()
                .filter_map(|p| PartyId::new(p).ok())
                .collect(),
        }
    }

    /// The package name: the event's, or the one a `#name:Module:Entity` reference carries.
    pub fn package_name(&self) -> Option<&str> {
        self.package_name.as_deref().or_else(|| {
            self.template_id
                .strip_prefix('#')
                .and_then(|rest| rest.split(':').next())
        })
    }
}

/// The verdict on one contract claiming an instrument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recognition {
    /// The instrument is onboarded and its admin stands behind the contract.
    Recognized,
    /// The instrument (admin, id) was not onboarded (yet).
    NotOnboarded,
    /// The instrument is onboarded but this contract is not its admin's.
    Counterfeit(String),
}

impl Recognition {
    pub fn is_recognized(&self) -> bool {
        matches!(self, Recognition::Recognized)
    }
}

/// Why a holding or deposit is held back (not credited, not spent) and what to judge it by
/// again once more tokens are onboarded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldBack {
    pub reason: String,
    /// The contracts whose issuer decides: a holding's own; a deposit's new treasury holdings
    /// (or, for an offer still pending, its transfer instruction).
    pub provenance: Vec<Provenance>,
}

/// The onboarded tokens, by instrument.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Onboarded {
    tokens: BTreeMap<InstrumentId, OnboardedToken>,
}

impl Onboarded {
    pub fn new(tokens: impl IntoIterator<Item = OnboardedToken>) -> Onboarded {
        Onboarded {
            tokens: tokens
                .into_iter()
                .map(|t| (t.instrument.clone(), t))
                .collect(),
        }
    }

    pub fn get(&self, instrument: &InstrumentId) -> Option<&OnboardedToken> {
        self.tokens.get(instrument)
    }

    pub fn is_onboarded(&self, instrument: &InstrumentId) -> bool {
        self.tokens.contains_key(instrument)
    }

    pub fn iter(&self) -> impl Iterator<Item = &OnboardedToken> {
        self.tokens.values()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Whether a contract claiming `instrument` really is that instrument's (module docs).
    pub fn judge(&self, instrument: &InstrumentId, provenance: &Provenance) -> Recognition {
        let Some(token) = self.tokens.get(instrument) else {
            return Recognition::NotOnboarded;
        };
        if !provenance.signatories.contains(&instrument.admin) {
            return Recognition::Counterfeit(format!(
                "its instrument admin {} is not a signatory (signed by {})",
                instrument.admin,
                join(&provenance.signatories)
            ));
        }
        match provenance.package_name() {
            Some(name) if token.package_names.contains(name) => Recognition::Recognized,
            Some(name) => Recognition::Counterfeit(format!(
                "its template {} is from package {name}, not one onboarded for the token ({})",
                provenance.template_id,
                token
                    .package_names
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            None => Recognition::Counterfeit(format!(
                "the package of its template {} is unknown",
                provenance.template_id
            )),
        }
    }
}

impl Onboarded {
    /// Judges every contract that decides about `instrument`: held back unless there is at
    /// least one and each is recognized.
    pub fn judge_all(
        &self,
        instrument: &InstrumentId,
        provenance: Vec<Provenance>,
    ) -> Option<HeldBack> {
        let reason = if provenance.is_empty() {
            Some(format!("no contract of {instrument} backs it"))
        } else {
            provenance
                .iter()
                .find_map(|p| match self.judge(instrument, p) {
                    Recognition::Recognized => None,
                    Recognition::NotOnboarded => Some(format!("{instrument} is not onboarded")),
                    Recognition::Counterfeit(why) => Some(format!("not {instrument}: {why}")),
                })
        };
        reason.map(|reason| HeldBack { reason, provenance })
    }
}

/// Why a token cannot be onboarded as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OnboardingRefusal {
    #[error(
        "the registry's admin is {registry_admin}, not {admin}: it does not serve this instrument"
    )]
    WrongAdmin {
        admin: String,
        registry_admin: String,
    },
    #[error("the registry answered instrument {served:?} when asked for {asked:?}")]
    WrongInstrument { asked: String, served: String },
    #[error(
        "no package name: give --dar files of the token's packages or --package-name (without \
         one, nothing of the token could ever be credited)"
    )]
    NoPackageName,
}

/// Whether the registry's metadata (its `adminId`, and the id of the instrument it returned for
/// `instrument.id`) is the instrument being onboarded: onboarding against another admin's
/// registry would trust that admin's transfer factories and contexts for this token.
pub fn check_registry(
    instrument: &InstrumentId,
    registry_admin: &str,
    served_id: &str,
) -> Result<(), OnboardingRefusal> {
    if registry_admin != instrument.admin.as_str() {
        return Err(OnboardingRefusal::WrongAdmin {
            admin: instrument.admin.as_str().to_owned(),
            registry_admin: registry_admin.to_owned(),
        });
    }
    if served_id != instrument.id {
        return Err(OnboardingRefusal::WrongInstrument {
            asked: instrument.id.clone(),
            served: served_id.to_owned(),
        });
    }
    Ok(())
}

/// The package names a token is onboarded with: the main packages' names of its `.dar`s and
/// the names the operator gives. At least one, else nothing could ever be credited.
pub fn onboarding_package_names<'a>(
    dar_names: impl IntoIterator<Item = &'a str>,
    named: impl IntoIterator<Item = &'a str>,
) -> Result<BTreeSet<String>, OnboardingRefusal> {
    let names: BTreeSet<String> = dar_names
        .into_iter()
        .chain(named)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    if names.is_empty() {
        return Err(OnboardingRefusal::NoPackageName);
    }
    Ok(names)
}

fn join(parties: &[PartyId]) -> String {
    parties
        .iter()
        .map(PartyId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party(p: &str) -> PartyId {
        PartyId::new(p).unwrap()
    }

    fn amulet() -> InstrumentId {
        InstrumentId {
            admin: party("dso::1220aa"),
            id: "Amulet".into(),
        }
    }

    fn onboarded() -> Onboarded {
        Onboarded::new([OnboardedToken {
            instrument: amulet(),
            registry_url: "http://scan".into(),
            transfer_kind: TokenTransferKind::OneStep,
            package_names: BTreeSet::from(["splice-amulet".to_owned()]),
        }])
    }

    fn provenance(template: &str, name: Option<&str>, signatories: &[&str]) -> Provenance {
        Provenance {
            template_id: template.into(),
            package_name: name.map(str::to_owned),
            signatories: signatories.iter().map(|p| party(p)).collect(),
        }
    }

    #[test]
    fn the_admins_holding_from_an_onboarded_package_is_recognized() {
        let real = provenance(
            "abc123:Splice.Amulet:Amulet",
            Some("splice-amulet"),
            &["dso::1220aa", "treasury::1220bb"],
        );
        assert_eq!(onboarded().judge(&amulet(), &real), Recognition::Recognized);
        // A normalized `#name:` reference carries the name itself.
        let normalized = provenance(
            "#splice-amulet:Splice.Amulet:Amulet",
            None,
            &["dso::1220aa"],
        );
        assert!(onboarded().judge(&amulet(), &normalized).is_recognized());
    }

    #[test]
    fn a_view_claiming_the_instrument_without_the_admins_signature_is_counterfeit() {
        let fake = provenance(
            "def456:Fake.Coin:Coin",
            Some("splice-amulet"),
            &["forger::1220cc"],
        );
        let verdict = onboarded().judge(&amulet(), &fake);
        assert!(
            matches!(&verdict, Recognition::Counterfeit(why) if why.contains("not a signatory")),
            "{verdict:?}"
        );
    }

    #[test]
    fn an_admin_signed_contract_of_another_package_is_not_the_token() {
        let other = provenance(
            "def456:Other:Thing",
            Some("dso-other-app"),
            &["dso::1220aa"],
        );
        assert!(matches!(
            onboarded().judge(&amulet(), &other),
            Recognition::Counterfeit(_)
        ));
        let unknown = provenance("def456:Other:Thing", None, &["dso::1220aa"]);
        assert!(matches!(
            onboarded().judge(&amulet(), &unknown),
            Recognition::Counterfeit(_)
        ));
    }

    #[test]
    fn an_instrument_not_onboarded_is_not_recognized() {
        let other = InstrumentId {
            admin: party("issuer::1220dd"),
            id: "SBX".into(),
        };
        let p = provenance("x:A:B", Some("sbx"), &["issuer::1220dd"]);
        assert_eq!(onboarded().judge(&other, &p), Recognition::NotOnboarded);
        // The same id under another admin is another instrument.
        let forged_admin = InstrumentId {
            admin: party("issuer::1220dd"),
            id: "Amulet".into(),
        };
        assert_eq!(
            onboarded().judge(&forged_admin, &p),
            Recognition::NotOnboarded
        );
    }

    #[test]
    fn a_registry_of_another_admin_or_instrument_is_refused() {
        let amulet = amulet();
        assert_eq!(check_registry(&amulet, "dso::1220aa", "Amulet"), Ok(()));
        assert!(matches!(
            check_registry(&amulet, "issuer::1220dd", "Amulet"),
            Err(OnboardingRefusal::WrongAdmin { .. })
        ));
        assert!(matches!(
            check_registry(&amulet, "dso::1220aa", "amulet"),
            Err(OnboardingRefusal::WrongInstrument { .. })
        ));
    }

    #[test]
    fn package_names_are_the_dars_and_the_named_ones_and_never_none() {
        let names = onboarding_package_names(["holding", "x"], ["splice-amulet", "x"]).unwrap();
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["holding", "splice-amulet", "x"]
        );
        assert_eq!(
            onboarding_package_names([], [" "]),
            Err(OnboardingRefusal::NoPackageName)
        );
    }

    #[test]
    fn transfer_kinds_round_trip() {
        for kind in [TokenTransferKind::OneStep, TokenTransferKind::MultiStep] {
            assert_eq!(TokenTransferKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(TokenTransferKind::parse("two-step"), None);
    }
}
