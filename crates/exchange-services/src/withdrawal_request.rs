//! A customer's withdrawal request as the exchange's systems hand it over (the `withdraw`
//! command's flags, the REST API's JSON): every field checked before anything reaches the DB,
//! the instrument resolved among the known ones, then placed in one DB transaction. Both
//! front ends call this module, so they refuse the same input for the same reasons.

use exchange_core::changeset::AccountId;
use exchange_core::memo::MemoKey;
use exchange_core::selection::SelectionPolicy;
use exchange_core::withdrawal::{WithdrawalId, WithdrawalOrder};
use exchange_core::{Amount, ContractId, InstrumentId, PartyId};
use exchange_store::{Store, StoreError, Withdrawal};

use crate::memo_key;
use crate::signer::KeyFileError;

/// Idempotency keys longer than this are refused: they are stored and indexed.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// The fields of a request, each named for the messages of both front ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Account,
    Receiver,
    Amount,
    Instrument,
    Admin,
    Ttl,
    IdempotencyKey,
}

impl Field {
    /// The JSON field of the REST API.
    pub fn api_name(self) -> &'static str {
        match self {
            Field::Account => "account",
            Field::Receiver => "receiver",
            Field::Amount => "amount",
            Field::Instrument => "instrumentId",
            Field::Admin => "instrumentAdmin",
            Field::Ttl => "ttlSecs",
            Field::IdempotencyKey => "Idempotency-Key",
        }
    }

    /// The flag of the `withdraw` command.
    pub fn cli_flag(self) -> &'static str {
        match self {
            Field::Account => "--account",
            Field::Receiver => "--to",
            Field::Amount => "--amount",
            Field::Instrument => "--instrument",
            Field::Admin => "--admin",
            Field::Ttl => "--ttl-secs",
            Field::IdempotencyKey => "--idempotency-key",
        }
    }
}

/// A field that cannot be what it says; `why` reads after the field's name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} {why}", .field.api_name())]
pub struct InvalidInput {
    pub field: Field,
    pub why: String,
}

impl InvalidInput {
    fn new(field: Field, why: impl Into<String>) -> InvalidInput {
        InvalidInput {
            field,
            why: why.into(),
        }
    }
}

/// The request as text, straight from its caller.
#[derive(Clone, Debug)]
pub struct RequestText<'a> {
    pub account: &'a str,
    pub receiver: &'a str,
    pub amount: &'a str,
    pub instrument: &'a str,
    pub admin: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    pub ttl_secs: u64,
}

/// A request whose every field is well formed (the instrument is not resolved yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedRequest {
    pub account: AccountId,
    pub receiver: PartyId,
    pub amount: Amount,
    pub instrument: String,
    pub admin: Option<PartyId>,
    pub idempotency_key: Option<String>,
    pub ttl_micros: i64,
}

/// Why a request was not placed.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// Neither onboarded nor ever held by the treasury.
    #[error("unknown instrument {id}{}: neither onboarded nor ever held by the treasury",
        .admin.as_ref().map(|a| format!(" of admin {a}")).unwrap_or_default())]
    UnknownInstrument { id: String, admin: Option<PartyId> },
    /// Two known instruments share the id: the caller must name the admin.
    #[error("instrument id {id} is ambiguous: name its admin (one of {})", .admins.join(", "))]
    AmbiguousInstrument { id: String, admins: Vec<String> },
    #[error(
        "the Integration DB names no treasury party yet (ingestion records it): a sealed withdrawal id needs it"
    )]
    NoTreasuryParty,
    #[error("withdrawal id: {0}")]
    Id(#[from] KeyFileError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks every field; nothing is read or written.
pub fn check(text: &RequestText<'_>) -> Result<CheckedRequest, InvalidInput> {
    let account = AccountId::new(text.account)
        .ok_or_else(|| InvalidInput::new(Field::Account, "must be non-empty"))?;
    let receiver = PartyId::new(text.receiver)
        .map_err(|e| InvalidInput::new(Field::Receiver, format!("{:?}: {e}", text.receiver)))?;
    let amount: Amount = text
        .amount
        .parse()
        .map_err(|e| InvalidInput::new(Field::Amount, format!("{:?}: {e}", text.amount)))?;
    if !amount.is_positive() {
        return Err(InvalidInput::new(
            Field::Amount,
            format!("must be positive, not {}", text.amount),
        ));
    }
    if text.instrument.is_empty() {
        return Err(InvalidInput::new(Field::Instrument, "must be non-empty"));
    }
    let admin = text
        .admin
        .map(|a| {
            PartyId::new(a).map_err(|e| InvalidInput::new(Field::Admin, format!("{a:?}: {e}")))
        })
        .transpose()?;
    if text.ttl_secs == 0 {
        return Err(InvalidInput::new(Field::Ttl, "must be positive"));
    }
    let ttl_micros = i64::try_from(text.ttl_secs)
        .ok()
        .and_then(|s| s.checked_mul(1_000_000))
        .ok_or_else(|| InvalidInput::new(Field::Ttl, "is too large"))?;
    let idempotency_key = match text.idempotency_key {
        None => None,
        Some("") => {
            return Err(InvalidInput::new(
                Field::IdempotencyKey,
                "must not be empty",
            ));
        }
        Some(k) if k.len() > MAX_IDEMPOTENCY_KEY_LEN => {
            return Err(InvalidInput::new(
                Field::IdempotencyKey,
                format!("is longer than {MAX_IDEMPOTENCY_KEY_LEN} bytes"),
            ));
        }
        Some(k) if k.chars().any(char::is_control) => {
            return Err(InvalidInput::new(
                Field::IdempotencyKey,
                "must not contain control characters",
            ));
        }
        Some(k) => Some(k.to_owned()),
    };
    Ok(CheckedRequest {
        account,
        receiver,
        amount,
        instrument: text.instrument.to_owned(),
        admin,
        idempotency_key,
        ttl_micros,
    })
}

/// The known instrument the request names, refusing an unknown or ambiguous id.
pub async fn resolve_instrument(
    store: &Store,
    id: &str,
    admin: Option<&PartyId>,
) -> Result<InstrumentId, RequestError> {
    let matching: Vec<InstrumentId> = store
        .known_instruments()
        .await?
        .into_iter()
        .filter(|i| i.id == id && admin.is_none_or(|a| &i.admin == a))
        .collect();
    match matching.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(RequestError::UnknownInstrument {
            id: id.to_owned(),
            admin: admin.cloned(),
        }),
        several => Err(RequestError::AmbiguousInstrument {
            id: id.to_owned(),
            admins: several.iter().map(|i| i.admin.to_string()).collect(),
        }),
    }
}

/// A placed withdrawal; `repeated` when its idempotency key had placed it before.
#[derive(Clone, Debug)]
pub struct Placed {
    pub withdrawal: Withdrawal,
    pub repeated: bool,
}

/// Resolves the instrument, makes the withdrawal's id (sealed for the treasury party when
/// there is a memo key) and places the withdrawal: the store refuses it while withdrawals are
/// switched off, for lack of funds or holdings, and answers a repeated key with the first.
pub async fn place(
    store: &Store,
    request: &CheckedRequest,
    memo_key: Option<&MemoKey>,
) -> Result<Placed, RequestError> {
    let instrument = resolve_instrument(store, &request.instrument, request.admin.as_ref()).await?;
    let treasury = match memo_key {
        Some(_) => Some(
            store
                .treasury_party()
                .await?
                .ok_or(RequestError::NoTreasuryParty)?,
        ),
        None => None,
    };
    let id = memo_key::new_withdrawal_id(memo_key.zip(treasury.as_ref()), &request.account)?;
    let order = order(request, instrument, id);
    let withdrawal = store.place_withdrawal(&order).await?;
    // A fresh id is made for every call: another one is the first request's.
    let repeated = withdrawal.id != order.id;
    Ok(Placed {
        withdrawal,
        repeated,
    })
}

fn order(request: &CheckedRequest, instrument: InstrumentId, id: WithdrawalId) -> WithdrawalOrder {
    WithdrawalOrder {
        id,
        account: request.account.clone(),
        instrument,
        amount: request.amount,
        receiver: request.receiver.clone(),
        ttl_micros: request.ttl_micros,
        synchronizer: None,
        idempotency_key: request.idempotency_key.clone(),
        policy: SelectionPolicy::default(),
    }
}

/// The active holdings reserved to fund `withdrawal`.
pub async fn funding(
    store: &Store,
    withdrawal: &Withdrawal,
) -> Result<Vec<ContractId>, StoreError> {
    Ok(store
        .reserved_holdings(&withdrawal.id)
        .await?
        .into_iter()
        .map(|h| h.holding.contract_id)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text<'a>() -> RequestText<'a> {
        RequestText {
            account: "acc",
            receiver: "bob::1220ab",
            amount: "1.5",
            instrument: "Amulet",
            admin: None,
            idempotency_key: Some("k1"),
            ttl_secs: 60,
        }
    }

    #[test]
    fn a_well_formed_request_is_checked_exactly() {
        let checked = check(&text()).unwrap();
        assert_eq!(checked.amount, "1.5".parse().unwrap());
        assert_eq!(checked.ttl_micros, 60_000_000);
        assert_eq!(checked.idempotency_key.as_deref(), Some("k1"));
    }

    #[test]
    fn each_bad_field_is_named() {
        let long = "k".repeat(MAX_IDEMPOTENCY_KEY_LEN + 1);
        let cases: Vec<(RequestText, Field, &str)> = vec![
            (
                RequestText {
                    account: "",
                    ..text()
                },
                Field::Account,
                "non-empty",
            ),
            (
                RequestText {
                    receiver: "bob",
                    ..text()
                },
                Field::Receiver,
                "\"bob\"",
            ),
            (
                RequestText {
                    amount: "0",
                    ..text()
                },
                Field::Amount,
                "must be positive",
            ),
            (
                RequestText {
                    amount: "-1",
                    ..text()
                },
                Field::Amount,
                "must be positive",
            ),
            (
                RequestText {
                    amount: "1e3",
                    ..text()
                },
                Field::Amount,
                "malformed",
            ),
            (
                RequestText {
                    amount: "1.00000000001",
                    ..text()
                },
                Field::Amount,
                "decimal places",
            ),
            (
                RequestText {
                    instrument: "",
                    ..text()
                },
                Field::Instrument,
                "non-empty",
            ),
            (
                RequestText {
                    admin: Some("dso"),
                    ..text()
                },
                Field::Admin,
                "\"dso\"",
            ),
            (
                RequestText {
                    ttl_secs: 0,
                    ..text()
                },
                Field::Ttl,
                "positive",
            ),
            (
                RequestText {
                    ttl_secs: u64::MAX,
                    ..text()
                },
                Field::Ttl,
                "too large",
            ),
            (
                RequestText {
                    idempotency_key: Some(""),
                    ..text()
                },
                Field::IdempotencyKey,
                "empty",
            ),
            (
                RequestText {
                    idempotency_key: Some(&long),
                    ..text()
                },
                Field::IdempotencyKey,
                "longer",
            ),
            (
                RequestText {
                    idempotency_key: Some("a\nb"),
                    ..text()
                },
                Field::IdempotencyKey,
                "control",
            ),
        ];
        for (input, field, why) in cases {
            let e = check(&input).unwrap_err();
            assert_eq!(e.field, field, "{input:?}");
            assert!(e.why.contains(why), "{input:?}: {e}");
        }
    }
}
