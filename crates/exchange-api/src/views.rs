//! What the API answers with: the store's records as JSON. Amounts are exact decimal strings
//! and times RFC 3339 strings (UTC), never numbers.

use exchange_core::changeset::Deposit;
use exchange_core::tokens::OnboardedToken;
use exchange_core::{Amount, ContractId, InstrumentId};
use exchange_store::{Account, DepositRecord, HoldingRecord, JournalRecord, Withdrawal};
use serde::Serialize;
use utoipa::ToSchema;

/// Amounts are exact decimal text with ten decimal places (`"12.5000000000"`).
fn amount(a: Amount) -> String {
    a.to_string()
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstrumentView {
    /// The instrument's admin (issuer) party.
    pub admin: String,
    pub id: String,
}

impl From<&InstrumentId> for InstrumentView {
    fn from(i: &InstrumentId) -> InstrumentView {
        InstrumentView {
            admin: i.admin.to_string(),
            id: i.id.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    /// Also the deposit memo.
    pub account_id: String,
    pub customer_ref: String,
    pub created_at: String,
}

impl From<Account> for AccountView {
    fn from(a: Account) -> AccountView {
        AccountView {
            account_id: a.id.to_string(),
            customer_ref: a.customer_id,
            created_at: a.created_at.to_string(),
        }
    }
}

/// A new deposit account and how customers deposit to it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpenedAccount {
    #[serde(flatten)]
    pub account: AccountView,
    /// The party customers transfer to.
    pub treasury_party: String,
    /// The metadata key of the transfer whose value is `memo`.
    pub memo_key: String,
    /// What customers put in the transfer's reason: the account id.
    pub memo: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BalanceView {
    pub instrument: InstrumentView,
    pub amount: String,
}

impl BalanceView {
    pub fn new(instrument: &InstrumentId, value: Amount) -> BalanceView {
        BalanceView {
            instrument: instrument.into(),
            amount: amount(value),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Balances {
    pub account_id: String,
    /// Every instrument the account has a journal entry of.
    pub balances: Vec<BalanceView>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntryView {
    /// Increasing in booking order.
    pub entry_id: i64,
    pub instrument: InstrumentView,
    /// Signed: credits positive, debits negative.
    pub amount: String,
    /// `deposit`, `withdrawal_reserve`, `withdrawal_refund`, `withdrawal_fee` or `adjustment`.
    pub cause: String,
    /// The deposit or withdrawal id (or the adjustment's reference).
    pub reference: String,
    pub update_id: Option<String>,
    pub record_time: Option<String>,
    pub booked_at: String,
}

impl From<JournalRecord> for JournalEntryView {
    fn from(r: JournalRecord) -> JournalEntryView {
        let e = r.entry;
        JournalEntryView {
            entry_id: r.entry_id,
            instrument: (&e.instrument).into(),
            amount: amount(e.amount),
            cause: e.cause.kind().to_owned(),
            reference: e.cause.reference().to_owned(),
            update_id: e.origin.as_ref().map(|o| o.update_id.to_string()),
            record_time: e.origin.as_ref().map(|o| o.record_time.to_string()),
            booked_at: r.booked_at.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DepositView {
    pub deposit_id: String,
    /// `offered`, `credited`, `unknown_account`, `cancelled` or `unrecognized`.
    pub state: String,
    /// The memo's account; absent when the transfer had no memo.
    pub account_id: Option<String>,
    pub instrument: InstrumentView,
    pub amount: String,
    pub sender: String,
    /// The transfer offer of a multi-step deposit.
    pub transfer_instruction: Option<String>,
    /// The update that first recorded the deposit.
    pub update_id: String,
    pub record_time: String,
    /// The update behind its current state.
    pub last_update_id: String,
    pub last_record_time: String,
    /// Why an unrecognized deposit is held back (not its issuer's, not onboarded).
    pub held_back: Option<String>,
}

impl From<DepositRecord> for DepositView {
    fn from(r: DepositRecord) -> DepositView {
        let Deposit {
            id,
            account,
            instrument,
            amount: value,
            sender,
            state,
            transfer_instruction,
            origin,
            held_back,
        } = r.deposit;
        DepositView {
            deposit_id: id.to_string(),
            state: state.as_str().to_owned(),
            account_id: account.map(|a| a.to_string()),
            instrument: (&instrument).into(),
            amount: amount(value),
            sender: sender.to_string(),
            transfer_instruction: transfer_instruction.map(|c| c.to_string()),
            update_id: origin.update_id.to_string(),
            record_time: origin.record_time.to_string(),
            last_update_id: r.updated.update_id.to_string(),
            last_record_time: r.updated.record_time.to_string(),
            held_back: held_back.map(|h| h.reason),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawalView {
    /// Also the transfer's reason memo on the ledger.
    pub withdrawal_id: String,
    /// `requested`, `submitted`, `pending_acceptance`, `completed`, `failed`, `expired` or
    /// `recovered`.
    pub state: String,
    /// `customer`, or `pool` for the pool job's self-transfers.
    pub purpose: String,
    pub account_id: Option<String>,
    pub instrument: InstrumentView,
    pub amount: String,
    pub receiver: String,
    /// The transfer must commit before this record time, else it expires and is refunded.
    pub trec_tgt: Option<String>,
    pub idempotency_key: Option<String>,
    /// Why it failed, or other notes.
    pub reason: Option<String>,
    pub transfer_instruction: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub last_update_id: Option<String>,
    pub last_record_time: Option<String>,
    /// The holdings reserved to fund it (active ones only).
    pub holdings: Vec<String>,
}

impl WithdrawalView {
    pub fn new(w: Withdrawal, holdings: Vec<ContractId>) -> WithdrawalView {
        WithdrawalView {
            withdrawal_id: w.id.to_string(),
            state: w.state.as_str().to_owned(),
            purpose: w.purpose.to_string(),
            account_id: w.account.map(|a| a.to_string()),
            instrument: (&w.instrument).into(),
            amount: amount(w.amount),
            receiver: w.receiver.to_string(),
            trec_tgt: w.trec_tgt.map(|t| t.to_string()),
            idempotency_key: w.idempotency_key,
            reason: w.reason,
            transfer_instruction: w.transfer_instruction.map(|c| c.to_string()),
            created_at: w.created_at.to_string(),
            updated_at: w.updated_at.to_string(),
            last_update_id: w.last_origin.as_ref().map(|o| o.update_id.to_string()),
            last_record_time: w.last_origin.map(|o| o.record_time.to_string()),
            holdings: holdings.into_iter().map(|c| c.to_string()).collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HoldingView {
    pub contract_id: String,
    pub instrument: InstrumentView,
    pub amount: String,
    pub locked: bool,
    /// The withdrawal it funds, if reserved.
    pub reserved_by: Option<String>,
    /// Why it is not counted (not its issuer's, or not onboarded).
    pub held_back: Option<String>,
    pub created_update_id: String,
    pub created_record_time: String,
}

impl From<HoldingRecord> for HoldingView {
    fn from(r: HoldingRecord) -> HoldingView {
        let h = r.holding;
        HoldingView {
            contract_id: h.contract_id.to_string(),
            instrument: (&h.instrument).into(),
            amount: amount(h.amount),
            locked: h.lock.is_some(),
            reserved_by: r.reserved_by.map(|w| w.to_string()),
            held_back: h.held_back.map(|b| b.reason),
            created_update_id: h.created.update_id.to_string(),
            created_record_time: h.created.record_time.to_string(),
        }
    }
}

/// One instrument's reconciliation: `ownFunds = onLedger - customerLiabilities - suspense -
/// inFlightWithdrawals`; negative own funds is a shortfall.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TotalsView {
    pub instrument: InstrumentView,
    pub on_ledger: String,
    pub held_back: String,
    pub customer_liabilities: String,
    pub suspense: String,
    pub in_flight_withdrawals: String,
    pub own_funds: String,
    pub shortfall: bool,
}

impl TotalsView {
    pub fn new(i: &InstrumentId, t: &exchange_core::reconcile::Totals) -> TotalsView {
        TotalsView {
            instrument: i.into(),
            on_ledger: amount(t.on_ledger),
            held_back: amount(t.held_back),
            customer_liabilities: amount(t.customer_liabilities),
            suspense: amount(t.suspense),
            in_flight_withdrawals: amount(t.in_flight_withdrawals),
            own_funds: amount(t.own_funds),
            shortfall: t.shortfall(),
        }
    }
}

/// An onboarded token: only its issuer's holdings are credited.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    pub instrument: InstrumentView,
    /// The admin's Registry API (a password in the URL shown as `***`).
    pub registry_url: String,
    /// `one-step` or `multi-step`.
    pub transfer_kind: String,
    /// The packages its holdings may come from.
    pub package_names: Vec<String>,
}

impl From<OnboardedToken> for TokenView {
    fn from(t: OnboardedToken) -> TokenView {
        TokenView {
            instrument: (&t.instrument).into(),
            registry_url: canton_ledger::client::shown_url(&t.registry_url),
            transfer_kind: t.transfer_kind.as_str().to_owned(),
            package_names: t.package_names.into_iter().collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SwitchView {
    pub enabled: bool,
    pub reason: String,
}

/// Lists a page of `$item`s with the cursor of the next page (absent on the last).
macro_rules! page_type {
    ($name:ident, $item:ty) => {
        #[derive(Serialize, ToSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            pub items: Vec<$item>,
            /// Give it as `cursor` for the next page; absent on the last page.
            pub next_cursor: Option<String>,
        }
    };
}

page_type!(AccountPage, AccountView);
page_type!(JournalPage, JournalEntryView);
page_type!(DepositPage, DepositView);
page_type!(WithdrawalPage, WithdrawalView);
