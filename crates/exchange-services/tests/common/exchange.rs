//! The withdrawal tests' exchange: a sandbox whose treasury is an external party (its key in a
//! key file), customers with preapprovals and Canton Coin, an Integration DB with their
//! accounts, and the automation and ingestion run in rounds.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use canton_ledger::client::LedgerClient;
use canton_ledger::registry_client::RegistryClient;
use canton_sandbox::model::ledger::TxNodeKind;
use canton_sandbox::token::{InstructionChoice, OfferRequest};
use canton_sandbox::{Sandbox, SandboxConfig};
use exchange_core::selection::SelectionPolicy;
use exchange_core::signing::Signer;
use exchange_core::withdrawal::{WithdrawalId, WithdrawalOrder, WithdrawalState};
use exchange_core::{Amount, InstrumentId, PartyId, Timestamp};
use exchange_services::Transport;
use exchange_services::signer::FileSigner;
use exchange_services::treasury_setup::{Setup, SetupConfig, SetupError, setup_treasury};
use exchange_services::withdraw::{Automation, AutomationConfig, Round};
use exchange_store::{Store, Withdrawal};

use super::{
    account_of, amount, create_accounts, funded_customers, ingest, ingest_config,
    onboard_sandbox_tokens,
};
use crate::harness::TestDb;

pub const SECOND: i64 = 1_000_000;

/// A sandbox whose treasury is external (its key in a key file), customers with preapprovals
/// and Canton Coin, and an Integration DB with their accounts.
pub struct Exchange {
    pub sandbox: Sandbox,
    pub store: Store,
    pub treasury: String,
    pub customers: Vec<String>,
    pub amulet: InstrumentId,
    pub sbx: InstrumentId,
    pub signer: Arc<FileSigner>,
    pub registries: BTreeMap<PartyId, RegistryClient>,
    pub seq: u64,
    _keys: tempfile::TempDir,
}

impl Exchange {
    /// With the sandbox's tokens onboarded, as the tests of everything but onboarding want.
    pub async fn start(db: &TestDb, customers: usize) -> Exchange {
        Exchange::start_with(db, customers, false, true, |_| {})
            .await
            .0
    }

    /// As [`Exchange::start`], with SBX a V2-only issuer (token standard V2 only, CIP-0112).
    pub async fn start_with_v2_only_sbx(db: &TestDb, customers: usize) -> Exchange {
        Exchange::start_with(db, customers, false, true, |c| c.sbx_v2_only = true)
            .await
            .0
    }

    /// As [`Exchange::start`], with the Canton Coin registry not listing V1's transfer API
    /// (`AmuletConfig::advertise_v1_transfers`), so withdrawals pay Canton Coin through V2's
    /// factory, which a 0.6.11 `ExternalPartyAmuletRules` implements beside V1's.
    pub async fn start_with_amulet_through_v2(db: &TestDb, customers: usize) -> Exchange {
        Exchange::start_with(db, customers, false, true, |c| {
            c.amulet.advertise_v1_transfers = false
        })
        .await
        .0
    }

    /// As [`Exchange::start`], on a node of a Splice release before 0.6.11: no token standard
    /// V2 packages (a filter naming them is refused).
    pub async fn start_on_a_legacy_node(db: &TestDb, customers: usize) -> Exchange {
        Exchange::start_with(db, customers, false, true, |c| {
            c.amulet.release = canton_sandbox::token::SpliceRelease::Legacy
        })
        .await
        .0
    }

    /// With no token onboarded yet (nothing is credited until one is).
    pub async fn start_without_tokens(db: &TestDb, customers: usize) -> Exchange {
        Exchange::start_with(db, customers, false, false, |_| {})
            .await
            .0
    }

    /// As [`Exchange::start`], but the treasury is onboarded and given its preapproval by
    /// `treasury_setup` over the Ledger API (the validator operator as provider, the DSO from
    /// the Canton Coin registry), as an operator's `canton-exchange treasury setup` does.
    pub async fn start_via_setup(db: &TestDb, customers: usize) -> (Exchange, Setup) {
        let (x, setup) = Exchange::start_with(db, customers, true, true, |_| {}).await;
        (x, setup.expect("set up"))
    }

    async fn start_with(
        db: &TestDb,
        customers: usize,
        via_setup: bool,
        onboard: bool,
        configure: impl FnOnce(&mut SandboxConfig),
    ) -> (Exchange, Option<Setup>) {
        let keys = tempfile::tempdir().unwrap();
        let signer = Arc::new(FileSigner::generate(&keys.path().join("treasury.key")).unwrap());
        let mut config = SandboxConfig::default();
        // Record times follow the wall clock, as on a real synchronizer: `trecTgt` is wall time.
        config.ledger.start_time = Timestamp::now();
        config.ledger.clock_step_micros = 1;
        config.wall_clock = true;
        configure(&mut config);
        let sandbox = Sandbox::start(config).await.unwrap();
        let setup = if via_setup {
            Some(run_setup(&sandbox, signer.as_ref()).await.unwrap())
        } else {
            None
        };
        let public = signer.public_key().0;
        let (treasury, parties) = sandbox.with_world(|w| {
            let treasury = match &setup {
                Some(s) => s.treasury.to_string(),
                None => {
                    let (treasury, _) = w
                        .external
                        .allocate(&mut w.ledger, "treasury", &public)
                        .unwrap();
                    w.amulet
                        .create_preapproval(&mut w.ledger, &treasury)
                        .unwrap();
                    treasury
                }
            };
            (treasury, funded_customers(w, customers))
        });
        let info = sandbox.info();
        let instrument = |id: &str| {
            let token = info.tokens.iter().find(|t| t.instrument_id == id).unwrap();
            InstrumentId {
                admin: PartyId::new(&token.admin).unwrap(),
                id: id.into(),
            }
        };
        let registries = info
            .tokens
            .iter()
            .map(|t| {
                let admin = PartyId::new(&t.admin).unwrap();
                (
                    admin,
                    RegistryClient::new(&t.registry_url, Default::default()),
                )
            })
            .collect();
        let store = db.open().await;
        create_accounts(&store, customers).await;
        if onboard {
            onboard_sandbox_tokens(&store, &sandbox).await;
        }
        let x = Exchange {
            amulet: instrument("Amulet"),
            sbx: instrument("SBX"),
            sandbox,
            store,
            treasury,
            customers: parties,
            signer,
            registries,
            seq: 0,
            _keys: keys,
        };
        (x, setup)
    }

    pub fn config(&self, worker: &str) -> AutomationConfig {
        let mut config = AutomationConfig::new(worker);
        config.one_step.insert(self.amulet.clone());
        config.outcome_timeout = Duration::from_millis(300);
        config.retry_delay = Duration::from_millis(50);
        config
    }

    pub fn automation(&self, config: AutomationConfig) -> Automation {
        let signer: Arc<dyn Signer + Send + Sync> = self.signer.clone();
        Automation::new(
            self.store.clone(),
            LedgerClient::new(&self.sandbox.ledger_api_url(), None),
            self.registries.clone(),
            signer,
            PartyId::new(&self.treasury).unwrap(),
            config,
        )
    }

    pub async fn ingest(&self) {
        let source = exchange_services::Source::Ledger {
            client: LedgerClient::new(&self.sandbox.ledger_api_url(), None),
            transport: Transport::Http,
        };
        ingest(
            &self.store,
            source,
            ingest_config(&self.treasury, true, 100),
        )
        .await
        .unwrap();
    }

    /// A 1-step Canton Coin deposit by `customer` to its account, ingested.
    pub async fn deposit(&mut self, customer: usize, value: &str) {
        self.seq += 1;
        let request = canton_sandbox::token::TransferRequest {
            sender: self.customers[customer].clone(),
            receiver: self.treasury.clone(),
            amount: amount(value),
            memo: Some(account_of(customer).to_string()),
            inputs: None,
            command_id: format!("deposit-{}", self.seq),
        };
        self.sandbox
            .with_world(|w| w.amulet.transfer(&mut w.ledger, &request))
            .unwrap();
        self.ingest().await;
    }

    pub async fn place(&self, id: &str, customer: usize, receiver: &str, value: &str) {
        self.place_in(
            id,
            customer,
            receiver,
            value,
            self.amulet.clone(),
            3_600 * SECOND,
        )
        .await
    }

    pub async fn place_in(
        &self,
        id: &str,
        customer: usize,
        receiver: &str,
        value: &str,
        instrument: InstrumentId,
        ttl_micros: i64,
    ) {
        let order = WithdrawalOrder {
            id: WithdrawalId::new(id).unwrap(),
            account: account_of(customer),
            instrument,
            amount: amount(value),
            receiver: PartyId::new(receiver).unwrap(),
            ttl_micros,
            synchronizer: None,
            idempotency_key: None,
            policy: SelectionPolicy::default(),
        };
        self.store.place_withdrawal(&order).await.unwrap();
    }

    /// Automation rounds and ingestion, until no withdrawal is left to act on (or `rounds`).
    pub async fn settle(&self, automation: &Automation, rounds: usize) -> Vec<Round> {
        let mut done = Vec::new();
        for _ in 0..rounds {
            let round = automation.run_round().await.unwrap();
            self.ingest().await;
            done.push(round);
            let open = self
                .store
                .withdrawals_in_progress(Timestamp::now())
                .await
                .unwrap();
            if open == 0 {
                break;
            }
            if round.claimed == 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        done
    }

    /// Withdrawal `id` as the Integration DB has it.
    pub async fn withdrawal(&self, id: &str) -> Withdrawal {
        let id = WithdrawalId::new(id).unwrap();
        self.store.withdrawal(&id).await.unwrap().unwrap()
    }

    pub async fn state(&self, id: &str) -> WithdrawalState {
        self.withdrawal(id).await.state
    }

    pub async fn balance(&self, customer: usize, instrument: &InstrumentId) -> Amount {
        self.store
            .balance(&account_of(customer), instrument)
            .await
            .unwrap()
    }

    /// The treasury's Canton Coin as ingestion mirrors it: `total` in all, none still reserved
    /// by a withdrawal.
    pub async fn assert_treasury_keeps(&self, total: Amount) {
        let holdings = self.store.active_holdings(&self.amulet).await.unwrap();
        let kept = holdings.iter().fold(Amount::ZERO, |s, h| {
            s.checked_add(h.holding.amount).unwrap()
        });
        assert_eq!(kept, total, "{holdings:?}");
        assert!(
            holdings.iter().all(|h| h.reserved_by.is_none()),
            "{holdings:?}"
        );
    }

    /// Canton Coin `party` holds on the ledger.
    pub fn held(&self, party: &str) -> Amount {
        self.sandbox.with_world(|w| {
            w.amulet
                .holdings(&w.ledger, party)
                .iter()
                .fold(Amount::ZERO, |sum, h| sum.checked_add(h.amount).unwrap())
        })
    }

    /// SBX `party` holds on the ledger.
    pub fn held_sbx(&self, party: &str) -> Amount {
        self.sandbox.with_world(|w| {
            w.token
                .holdings(&w.ledger, party)
                .iter()
                .fold(Amount::ZERO, |sum, (_, a)| sum.checked_add(*a).unwrap())
        })
    }

    /// Moves the synchronizer's record time on to `to` (a later transaction shows it).
    pub fn advance_record_time_to(&self, to: Timestamp) {
        self.sandbox.with_world(|w| {
            let now = w.ledger.record_time_of(0);
            w.ledger.advance_time(to.micros() - now.micros()).unwrap();
        })
    }

    /// Payments ingestion booked for withdrawal `id`: itself, plus one recovered withdrawal
    /// per further transfer with its memo (`duplicate_of`).
    pub async fn payments(&self, id: &str) -> usize {
        let all = self.store.withdrawals(None).await.unwrap();
        let paid_once = all.iter().any(|w| {
            w.id.as_str() == id
                && matches!(
                    w.state,
                    WithdrawalState::Completed | WithdrawalState::PendingAcceptance
                )
        });
        let repeats = all
            .iter()
            .filter(|w| w.duplicate_of.as_ref().is_some_and(|d| d.as_str() == id))
            .count();
        usize::from(paid_once) + repeats
    }

    pub fn new_party(&self, hint: &str) -> String {
        self.sandbox
            .with_world(|w| w.ledger.allocate_party(hint))
            .unwrap()
    }
}

/// `treasury_setup` against `sandbox` with `signer`'s key, hint `treasury`: the provider is the
/// node's validator operator, the DSO the Canton Coin registry's admin.
pub async fn run_setup(sandbox: &Sandbox, signer: &dyn Signer) -> Result<Setup, SetupError> {
    let provider = sandbox.with_world(|w| w.amulet.provider.clone());
    let info = sandbox.info();
    let amulet = info
        .tokens
        .iter()
        .find(|t| t.instrument_id == "Amulet")
        .unwrap();
    let mut config = SetupConfig::new("treasury", "exchange");
    config.provider = Some(PartyId::new(&provider).unwrap());
    config.registry = Some(RegistryClient::new(
        &amulet.registry_url,
        Default::default(),
    ));
    config.timeout = Duration::from_secs(10);
    config.poll_interval = Duration::from_millis(20);
    let client = LedgerClient::new(&sandbox.ledger_api_url(), None);
    setup_treasury(&client, signer, &config, |_| {}).await
}

/// The root of the transaction committed with `command_id`, an exercise: its interface (empty
/// if none), its acting parties and whether it consumes.
pub fn root_exercise(x: &Exchange, command_id: &str) -> (String, Vec<String>, bool) {
    x.sandbox.with_world(|w| {
        let tx = w
            .ledger
            .log()
            .iter()
            .find(|tx| tx.command_id == command_id)
            .unwrap_or_else(|| panic!("{command_id} committed"))
            .clone();
        let TxNodeKind::Exercise {
            interface,
            acting_parties,
            consuming,
            ..
        } = &tx.nodes[0].kind
        else {
            panic!("the root of {command_id} is no exercise");
        };
        let interface = interface
            .as_ref()
            .map(|i| i.to_string())
            .unwrap_or_default();
        let table = w.ledger.symbols();
        let actors = table.parties(*acting_parties).map(str::to_owned).collect();
        (interface, actors, *consuming)
    })
}

pub async fn notes(x: &Exchange, id: &str) -> (u32, u32, Option<String>) {
    let id = WithdrawalId::new(id).unwrap();
    x.store.attempt_notes(&id).await.unwrap()
}

/// A party outside the exchange with a transfer preapproval (so 1-step transfers reach it).
pub fn preapproved(x: &Exchange, hint: &str) -> String {
    let receiver = x.new_party(hint);
    x.sandbox
        .with_world(|w| w.amulet.create_preapproval(&mut w.ledger, &receiver))
        .unwrap();
    receiver
}

/// Customer 0 withdraws `value` Canton Coin (withdrawal `id`) to a party outside the exchange
/// with a preapproval, and the automation pays it: completed, the receiver holds `value`.
/// Returns the receiver.
pub async fn pay_a_withdrawal(x: &Exchange, id: &str, value: &str) -> String {
    let receiver = preapproved(x, "outside");
    x.place(id, 0, &receiver, value).await;
    let automation = x.automation(x.config("a"));
    x.settle(&automation, 20).await;
    assert_eq!(x.state(id).await, WithdrawalState::Completed);
    assert_eq!(x.held(&receiver), amount(value));
    receiver
}

/// SBX deposits of `values` by `customer`, offered to the treasury and accepted, ingested.
pub async fn sbx_deposits(x: &mut Exchange, customer: usize, values: &[&str]) {
    let sender = x.customers[customer].clone();
    let treasury = x.treasury.clone();
    for value in values {
        x.seq += 1;
        let seq = x.seq;
        x.sandbox.with_world(|w| {
            w.token.mint(&mut w.ledger, &sender, amount(value)).unwrap();
            let offer = w
                .token
                .offer(
                    &mut w.ledger,
                    &OfferRequest {
                        sender: sender.clone(),
                        receiver: treasury.clone(),
                        amount: amount(value),
                        memo: Some(account_of(customer).to_string()),
                        execute_before: None,
                        command_id: format!("sbx-deposit-{seq}"),
                    },
                )
                .unwrap();
            w.token
                .act(
                    &mut w.ledger,
                    &offer.transfer_instruction_cid,
                    InstructionChoice::Accept,
                    &format!("sbx-accept-{seq}"),
                )
                .unwrap();
        });
    }
    x.ingest().await;
}
