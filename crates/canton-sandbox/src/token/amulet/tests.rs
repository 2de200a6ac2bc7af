use super::*;
use crate::model::LedgerConfig;
use crate::model::ledger::TxNodeKind;

fn amount(s: &str) -> Amount {
    s.parse().unwrap()
}

fn setup() -> (Ledger, AmuletToken, String, String) {
    setup_of(SpliceRelease::default())
}

fn setup_of(release: SpliceRelease) -> (Ledger, AmuletToken, String, String) {
    let mut l = Ledger::new(LedgerConfig::default());
    let dso = l.allocate_party("DSO").unwrap();
    let provider = l.allocate_party("validator").unwrap();
    let treasury = l.allocate_party("treasury").unwrap();
    let alice = l.allocate_party("alice").unwrap();
    let config = AmuletConfig {
        release,
        ..AmuletConfig::default()
    };
    let token = AmuletToken::bootstrap(&mut l, &dso, &provider, config).unwrap();
    token.create_preapproval(&mut l, &treasury).unwrap();
    (l, token, treasury, alice)
}

/// Node ids, last descendants and what each node does; the gaps are fetch nodes (the
/// ledger keeps only their place in the numbering).
fn layout(l: &Ledger, offset: i64) -> Vec<(i32, i32, String)> {
    let mut out = Vec::new();
    for n in l.update_at(offset).unwrap().nodes.iter() {
        while out.len() < n.node_id as usize {
            let gap = out.len() as i32;
            out.push((gap, gap, "fetch".to_owned()));
        }
        let what = match &n.kind {
            TxNodeKind::Create(c) => format!("create {}", c.template.entity),
            TxNodeKind::Exercise { choice, .. } => l.symbols().get(*choice).to_owned(),
        };
        out.push((n.node_id, n.last_descendant, what));
    }
    out
}

#[test]
fn one_step_transfer_has_the_real_node_layout_and_consumes_its_inputs() {
    let (mut l, token, treasury, alice) = setup_of(SpliceRelease::Legacy);
    let a = token.mint(&mut l, &alice, amount("60")).unwrap();
    let b = token.mint(&mut l, &alice, amount("70")).unwrap();
    let request = TransferRequest {
        sender: alice.clone(),
        receiver: treasury.clone(),
        amount: amount("100"),
        memo: Some("memo-1".into()),
        inputs: Some(vec![a.contract_id.clone(), b.contract_id.clone()]),
        command_id: "c1".into(),
    };
    let out = token.transfer(&mut l, &request).unwrap();
    let shown = layout(&l, out.offset);
    // The recording's deposit (2 inputs): Send at 5, Transfer at 6, archives at 9 and 11,
    // receiver Amulet at 12, change at 13, all under root 0.
    let expected: Vec<(i32, i32, String)> = [
        (0, 13, "TransferFactory_Transfer"),
        (1, 1, "fetch"),
        (2, 2, "fetch"),
        (3, 3, "fetch"),
        (4, 4, "fetch"),
        (5, 13, "TransferPreapproval_Send"),
        (6, 13, "AmuletRules_Transfer"),
        (7, 7, "fetch"),
        (8, 8, "fetch"),
        (9, 9, "Archive"),
        (10, 10, "fetch"),
        (11, 11, "Archive"),
        (12, 12, "create Amulet"),
        (13, 13, "create Amulet"),
    ]
    .into_iter()
    .map(|(a, b, c)| (a, b, c.to_owned()))
    .collect();
    assert_eq!(shown, expected);
    assert_eq!(token.holdings(&l, &alice)[0].amount, amount("30"));
    assert_eq!(token.holdings(&l, &treasury)[0].amount, amount("100"));
    let again = token.transfer(
        &mut l,
        &TransferRequest {
            command_id: "c2".into(),
            ..request
        },
    );
    assert!(matches!(
        again,
        Err(TokenError::Ledger(LedgerError::ContractNotFound(_)))
    ));
}

#[test]
fn one_step_transfer_of_0_6_11_runs_send_v2_and_reports_each_account() {
    let (mut l, token, treasury, alice) = setup();
    let a = token.mint(&mut l, &alice, amount("60")).unwrap();
    let b = token.mint(&mut l, &alice, amount("70")).unwrap();
    let request = TransferRequest {
        sender: alice.clone(),
        receiver: treasury.clone(),
        amount: amount("100"),
        memo: Some("memo-1".into()),
        inputs: Some(vec![a.contract_id, b.contract_id]),
        command_id: "c1".into(),
    };
    let out = token.transfer(&mut l, &request).unwrap();
    // No AmuletRules_Transfer: SendV2 fetches the config state, spends the inputs, makes
    // the outputs and reports one event per account.
    let expected: Vec<(i32, i32, String)> = [
        (0, 14, "TransferFactory_Transfer"),
        (1, 1, "fetch"),
        (2, 2, "fetch"),
        (3, 3, "fetch"),
        (4, 4, "fetch"),
        (5, 14, "TransferPreapproval_SendV2"),
        (6, 6, "fetch"),
        (7, 7, "fetch"),
        (8, 8, "Archive"),
        (9, 9, "fetch"),
        (10, 10, "Archive"),
        (11, 11, "create Amulet"),
        (12, 12, "create Amulet"),
        (13, 13, "EventLog_HoldingsChange"),
        (14, 14, "EventLog_HoldingsChange"),
    ]
    .into_iter()
    .map(|(a, b, c)| (a, b, c.to_owned()))
    .collect();
    assert_eq!(layout(&l, out.offset), expected);
    assert_eq!(token.holdings(&l, &treasury)[0].amount, amount("100"));
}

#[test]
fn limits_inputs_and_funds() {
    let (mut l, token, treasury, alice) = setup();
    let a = token.mint(&mut l, &alice, amount("1")).unwrap();
    let request = |inputs: Vec<String>, amt: &str| TransferRequest {
        sender: alice.clone(),
        receiver: treasury.clone(),
        amount: amount(amt),
        memo: None,
        inputs: Some(inputs),
        command_id: "c".into(),
    };
    let too_many = vec![a.contract_id.clone(); MAX_INPUTS + 1];
    assert!(matches!(
        token.transfer(&mut l, &request(too_many, "1")),
        Err(TokenError::Interpretation(m)) if m.contains("maximum number of inputs")
    ));
    assert!(matches!(
        token.transfer(&mut l, &request(vec![a.contract_id.clone()], "2")),
        Err(TokenError::Interpretation(m)) if m.contains("InsufficientFunds")
    ));
    // Exact amount: no change output.
    let out = token
        .transfer(&mut l, &request(vec![a.contract_id], "1"))
        .unwrap();
    assert!(out.sender_change_cids.is_empty());
}
