//! The token standard's Registry API as each token admin serves it (`token-standard.md` §5,
//! `specs/transfer-instruction-v1.yaml`, `specs/token-metadata-v1.yaml`): which factory to
//! exercise, the choice context and the contracts to disclose. Pure: reads the world, answers
//! with the registry's wire types.
//!
//! Canton Coin answers as Scan does (§5.3): factory = `ExternalPartyAmuletRules`, kind by
//! sender/receiver/preapproval, context keys `amulet-rules`, `open-round` and, for `direct`,
//! `transfer-preapproval`; a pending `AmuletTransferInstruction`'s choice contexts carry
//! `amulet-rules`, `open-round` and `expire-lock` (reject/withdraw: `expire-lock = false` alone
//! once the LockedAmulet is gone). The SBX registry always answers `offer` (or
//! `self`). Both serve the V2 API (`transfer-instruction-v2.yaml`; Canton Coin since Splice
//! 0.6.11) with the same answers as V1's, `transfer-factory` and the choice contexts, and
//! advertise V2's APIs; a V2-only SBX's registry serves V2's only: its factory and instructions
//! do not implement V1's interfaces, so V1's answers are of no use.

use canton_ledger::registry::{
    ChoiceContext, DisclosedContract, GetRegistryInfoResponse, Instrument, SupportedApis,
    TransferFactoryWithChoiceContext, TransferInstructionChoice, TransferKind,
};
use canton_ledger::serde_util::DamlValue;
use exchange_core::Amount;
use serde_json::{Value as Json, json};

use crate::daml::{Rendering, show_decimal};
use crate::submit::TransferArgument;
use crate::token::TokenError;
use crate::token::offer::INSTRUMENT_ID as SBX;
use crate::world::World;

/// The tokens with a registry, each at its own base URL (`/registry/amulet`, `/registry/token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registry {
    Amulet,
    Token,
}

/// The registry's `{"error": …}` answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
}

const METADATA_API: &str = "splice-api-token-metadata-v1";
/// What a V2-only token speaks: V1's metadata API (V2 has none) and V2's holdings and transfer
/// instructions.
const V2_ONLY_APIS: [&str; 3] = [
    "splice-api-token-metadata-v1",
    "splice-api-token-holding-v2",
    "splice-api-token-transfer-instruction-v2",
];
const ALL_APIS: [&str; 5] = [
    "splice-api-token-metadata-v1",
    "splice-api-token-holding-v1",
    "splice-api-token-transfer-instruction-v1",
    "splice-api-token-allocation-v1",
    "splice-api-token-allocation-instruction-v1",
];
/// What Scan adds for Amulet since Splice 0.6.11 (`HttpTokenStandardMetadataHandler`; CIP-0112
/// §5.2: "the `supportedApis` field will now also include the v2 packages").
const AMULET_V2_APIS: [&str; 5] = [
    "splice-api-token-holding-v2",
    "splice-api-token-allocation-v2",
    "splice-api-token-allocation-instruction-v2",
    "splice-api-token-transfer-instruction-v2",
    "splice-api-token-transfer-events-v2",
];
/// What a dual (V1 and V2) SBX adds to V1's: its holdings, factory, instructions and events
/// speak V2 too (it has no allocations).
const SBX_V2_APIS: [&str; 3] = [
    "splice-api-token-holding-v2",
    "splice-api-token-transfer-instruction-v2",
    "splice-api-token-transfer-events-v2",
];

impl Registry {
    fn admin(self, w: &World) -> &str {
        match self {
            Registry::Amulet => &w.amulet.dso,
            Registry::Token => &w.token.admin,
        }
    }

    fn instrument_id(self) -> &'static str {
        match self {
            Registry::Amulet => "Amulet",
            Registry::Token => SBX,
        }
    }

    /// The synchronizer the token's contracts live on.
    pub fn synchronizer(self, w: &World) -> crate::model::SyncIdx {
        match self {
            Registry::Amulet => w.amulet.config.synchronizer,
            Registry::Token => w.token.synchronizer,
        }
    }

    pub fn info(self, w: &World) -> GetRegistryInfoResponse {
        GetRegistryInfoResponse {
            admin_id: self.admin(w).to_owned(),
            supported_apis: SupportedApis::from([(METADATA_API.to_owned(), 1)]),
        }
    }

    pub fn instruments(self, w: &World) -> Vec<Instrument> {
        let (name, symbol, holdings) = match self {
            Registry::Amulet => ("Canton Coin", "CC", total(w, self)),
            Registry::Token => ("Sandbox Token", SBX, total(w, self)),
        };
        let mut apis: Vec<&str> = match self {
            Registry::Amulet if w.amulet.has_v2_events() => {
                [&ALL_APIS[..], &AMULET_V2_APIS].concat()
            }
            Registry::Amulet => ALL_APIS.to_vec(),
            Registry::Token if w.token.v2_only => V2_ONLY_APIS.to_vec(),
            // The offer-only token has no allocations.
            Registry::Token => [&ALL_APIS[..3], &SBX_V2_APIS].concat(),
        };
        if self == Registry::Amulet && !w.amulet.config.advertise_v1_transfers {
            apis.retain(|a| *a != "splice-api-token-transfer-instruction-v1");
        }
        vec![Instrument {
            id: self.instrument_id().to_owned(),
            name: name.to_owned(),
            symbol: symbol.to_owned(),
            total_supply: Some(show_decimal(holdings)),
            // As of the latest record time of the synchronizer the token lives on.
            total_supply_as_of: Some(w.ledger.record_time_of(self.synchronizer(w)).to_string()),
            decimals: 10,
            supported_apis: apis.iter().map(|a| ((*a).to_owned(), 1)).collect(),
        }]
    }

    pub fn instrument(self, w: &World, id: &str) -> Result<Instrument, RegistryError> {
        self.instruments(w)
            .into_iter()
            .find(|i| i.id == id)
            .ok_or_else(|| RegistryError::NotFound(format!("Instrument '{id}' not found.")))
    }

    /// `transfer-factory`: the factory for a `TransferFactory_Transfer` argument.
    pub fn transfer_factory(
        self,
        w: &World,
        choice_arguments: &Json,
        exclude_debug_fields: bool,
    ) -> Result<TransferFactoryWithChoiceContext, RegistryError> {
        // A V2-only issuer's factory does not implement V1's interface: no V1 factory to name.
        if self == Registry::Token && w.token.v2_only {
            return Err(RegistryError::NotFound(
                "SBX is a V2-only token: its transfer factory implements \
                 TransferInstructionV2.TransferFactory only (served by \
                 /registry/transfer-instruction/v2/transfer-factory)"
                    .into(),
            ));
        }
        let t = TransferArgument::read(choice_arguments)
            .and_then(|t| match t.actors {
                None => Ok(t),
                Some(_) => Err(TokenError::InvalidArgument(
                    "V2's argument, not V1's".into(),
                )),
            })
            .map_err(|e| {
                RegistryError::BadRequest(format!(
                    "Field choiceArguments does not contain a valid TransferFactory_Transfer: {e}"
                ))
            })?;
        self.factory_for(w, &t, exclude_debug_fields)
    }

    /// The V2 API's `transfer-factory` (`transfer-instruction-v2.yaml`): the factory for V2's
    /// `TransferFactory_Transfer {transfer (accounts), actors, extraArgs}`. Served for every
    /// factory that implements V2's interface: Canton Coin's since Splice 0.6.11 (the same
    /// answer as V1's: Scan hands out one context for both) and SBX's (no context).
    pub fn transfer_factory_v2(
        self,
        w: &World,
        choice_arguments: &Json,
        exclude_debug_fields: bool,
    ) -> Result<TransferFactoryWithChoiceContext, RegistryError> {
        if self == Registry::Amulet && !w.amulet.has_v2_events() {
            return Err(RegistryError::NotFound(
                "this registry serves the V1 transfer factory API only".into(),
            ));
        }
        let t = TransferArgument::read(choice_arguments)
            .ok()
            .filter(|t| t.actors.is_some())
            .ok_or_else(|| {
                RegistryError::BadRequest(
                    "Field choiceArguments does not contain a valid V2 TransferFactory_Transfer"
                        .into(),
                )
            })?;
        self.factory_for(w, &t, exclude_debug_fields)
    }

    /// The factory, transfer kind and choice context for the transfer `t` (either API's
    /// argument: the answer is the same, as the factory implements both interfaces).
    fn factory_for(
        self,
        w: &World,
        t: &TransferArgument,
        exclude_debug_fields: bool,
    ) -> Result<TransferFactoryWithChoiceContext, RegistryError> {
        let admin = self.admin(w);
        if t.admin != admin || t.instrument != self.instrument_id() {
            return Err(RegistryError::BadRequest(format!(
                "instrument {}/{} is not served by this registry ({admin}/{})",
                t.admin,
                t.instrument,
                self.instrument_id()
            )));
        }
        let disclose = |cid: &str| disclosed(w, cid, exclude_debug_fields);
        let (factory_id, kind, values, disclosed_contracts) = match self {
            Registry::Amulet => {
                let a = &w.amulet;
                let mut values = vec![
                    ("amulet-rules", contract_id_value(&a.amulet_rules)),
                    ("open-round", contract_id_value(&a.open_round)),
                ];
                let mut contracts = vec![
                    disclose(&a.amulet_rules),
                    disclose(&a.open_round),
                    disclose(&a.external_party_rules),
                ];
                // Since 0.6.11 transfers read the config state and report on it.
                if a.has_v2_events() {
                    values.push((
                        "external-party-config-state",
                        contract_id_value(&a.external_party_config_state),
                    ));
                    contracts.push(disclose(&a.external_party_config_state));
                }
                let kind = if t.sender == t.receiver {
                    TransferKind::SelfTransfer
                } else if let Some(preapproval) = a.preapproval_of(&w.ledger, &t.receiver) {
                    values.push(("transfer-preapproval", contract_id_value(&preapproval)));
                    contracts.push(disclose(&preapproval));
                    TransferKind::Direct
                } else {
                    TransferKind::Offer
                };
                (a.external_party_rules.clone(), kind, values, contracts)
            }
            Registry::Token => {
                let kind = if t.sender == t.receiver {
                    TransferKind::SelfTransfer
                } else {
                    TransferKind::Offer
                };
                let factory = w.token.factory.clone();
                let contracts = vec![disclose(&factory)];
                (factory, kind, vec![], contracts)
            }
        };
        Ok(TransferFactoryWithChoiceContext {
            factory_id,
            transfer_kind: kind,
            choice_context: ChoiceContext {
                choice_context_data: context_data(values),
                disclosed_contracts: disclosed_contracts.into_iter().flatten().collect(),
            },
        })
    }

    /// `choice-contexts/{accept|reject|withdraw}` of a pending transfer instruction.
    pub fn instruction_choice_context(
        self,
        w: &World,
        instruction_id: &str,
        choice: TransferInstructionChoice,
        exclude_debug_fields: bool,
    ) -> Result<ChoiceContext, RegistryError> {
        match self {
            Registry::Amulet => {
                let a = &w.amulet;
                let pending = a
                    .pending_instruction(&w.ledger, instruction_id)
                    .ok_or_else(|| {
                        RegistryError::NotFound(format!(
                            "AmuletTransferInstruction '{instruction_id}' not found."
                        ))
                    })?;
                let locked = a
                    .instruction_locked_amulet(&w.ledger, instruction_id)
                    .unwrap_or_default();
                // Once the LockedAmulet is gone (its owner unlocked it after expiry), Scan
                // refuses an accept context and tells reject and withdraw not to unlock it: a
                // context of `expire-lock = false` only, nothing disclosed.
                if !a.instruction_lock_is_live(&w.ledger, instruction_id) {
                    if choice == TransferInstructionChoice::Accept {
                        return Err(RegistryError::NotFound(format!(
                            "LockedAmulet '{locked}' not found for AmuletTransferInstruction '{instruction_id}', which expires on {}",
                            pending.execute_before
                        )));
                    }
                    return Ok(ChoiceContext {
                        choice_context_data: context_data(vec![(
                            "expire-lock",
                            json!({"tag": "AV_Bool", "value": false}),
                        )]),
                        disclosed_contracts: vec![],
                    });
                }
                // The lock is there: every choice unlocks it, and the LockedAmulet is disclosed
                // (the receiver is no stakeholder of it).
                let mut values = vec![
                    ("amulet-rules", contract_id_value(&a.amulet_rules)),
                    ("expire-lock", json!({"tag": "AV_Bool", "value": true})),
                    ("open-round", contract_id_value(&a.open_round)),
                ];
                let disclose = |cid: &str| disclosed(w, cid, exclude_debug_fields);
                let mut contracts = vec![
                    disclose(&a.amulet_rules),
                    disclose(&a.open_round),
                    disclose(&locked),
                ];
                // Since 0.6.11 the accept's transfer and the unlocks report on it.
                if a.has_v2_events() {
                    values.push((
                        "external-party-config-state",
                        contract_id_value(&a.external_party_config_state),
                    ));
                    contracts.push(disclose(&a.external_party_config_state));
                }
                Ok(ChoiceContext {
                    choice_context_data: context_data(values),
                    disclosed_contracts: contracts.into_iter().flatten().collect(),
                })
            }
            Registry::Token if w.token.v2_only => Err(RegistryError::NotFound(format!(
                "TransferInstruction '{instruction_id}' is a V2-only token's: its choice contexts \
                 are served by /registry/transfer-instruction/v2"
            ))),
            Registry::Token => token_choice_context(w, instruction_id, exclude_debug_fields),
        }
    }

    /// The V2 API's `choice-contexts/{accept|reject|withdraw}` (`transfer-instruction-v2.yaml`),
    /// for a `TransferInstructionV2` choice. Served by the SBX registry, and by Canton Coin's
    /// since 0.6.11 (its instructions implement V2's interface, whose choices run V1's: the same
    /// context as V1's).
    pub fn instruction_choice_context_v2(
        self,
        w: &World,
        instruction_id: &str,
        choice: TransferInstructionChoice,
        exclude_debug_fields: bool,
    ) -> Result<ChoiceContext, RegistryError> {
        match self {
            Registry::Amulet if w.amulet.has_v2_events() => {
                self.instruction_choice_context(w, instruction_id, choice, exclude_debug_fields)
            }
            Registry::Amulet => Err(RegistryError::NotFound(
                "this registry serves the V1 transfer instruction API only".into(),
            )),
            Registry::Token => token_choice_context(w, instruction_id, exclude_debug_fields),
        }
    }
}

/// An SBX instruction's choice context: the same for each choice and either API (the token
/// needs no context), with the factory and the locked holding disclosed.
fn token_choice_context(
    w: &World,
    instruction_id: &str,
    exclude_debug_fields: bool,
) -> Result<ChoiceContext, RegistryError> {
    w.token
        .pending_instruction(&w.ledger, instruction_id)
        .ok_or_else(|| {
            RegistryError::NotFound(format!("TransferInstruction '{instruction_id}' not found."))
        })?;
    // The receiver is no stakeholder of the locked holding its choices consume.
    let locked = crate::disclosure::token_locked_holding(w, instruction_id).unwrap_or_default();
    Ok(ChoiceContext {
        choice_context_data: context_data(vec![]),
        disclosed_contracts: [
            disclosed(w, &w.token.factory, exclude_debug_fields),
            disclosed(w, &locked, exclude_debug_fields),
        ]
        .into_iter()
        .flatten()
        .collect(),
    })
}

/// What the registry's holdings add up to (its `totalSupply`).
fn total(w: &World, registry: Registry) -> Amount {
    let amounts: Vec<Amount> = match registry {
        Registry::Amulet => w
            .ledger
            .parties()
            .flat_map(|p| w.amulet.holdings(&w.ledger, &p.party))
            .map(|h| h.amount)
            .collect(),
        Registry::Token => w
            .ledger
            .parties()
            .flat_map(|p| w.token.holdings(&w.ledger, &p.party))
            .map(|(_, a)| a)
            .collect(),
    };
    amounts
        .into_iter()
        .fold(Amount::ZERO, |sum, a| sum.checked_add(a).unwrap_or(sum))
}

/// `AV_ContractId`, the `AnyValue` case the context keys carry.
fn contract_id_value(cid: &str) -> Json {
    json!({"tag": "AV_ContractId", "value": cid})
}

fn context_data(values: Vec<(&str, Json)>) -> DamlValue {
    let values: serde_json::Map<String, Json> =
        values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    raw(&json!({ "values": values }))
}

fn raw(v: &Json) -> DamlValue {
    serde_json::value::to_raw_value(v).expect("JSON")
}

/// A contract as a registry discloses it. The blob is the sandbox's stand-in (it has no Daml
/// engine to read one back): base64 of a tag and the contract id.
fn disclosed(w: &World, cid: &str, exclude_debug_fields: bool) -> Option<DisclosedContract> {
    let c = w.ledger.contract(cid)?;
    let debug = !exclude_debug_fields;
    Some(DisclosedContract {
        template_id: c.create.template.wire(),
        contract_id: cid.to_owned(),
        created_event_blob: crate::disclosure::created_event_blob(cid),
        synchronizer_id: w
            .ledger
            .contract_synchronizer(cid)
            .map(|i| w.ledger.synchronizer(i).id.clone())
            .unwrap_or_default(),
        debug_package_name: debug.then(|| c.create.template.package_name.to_string()),
        debug_payload: debug.then(|| c.create.argument.to_raw(Rendering::Argument)),
        debug_created_at: debug.then(|| c.created_at.to_string()),
    })
}
