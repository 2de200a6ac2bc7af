//! An error about a huge input quotes a bounded part of it (issue 8, item 12): a 50 MB amount
//! or id must not put 50 MB (100 MB Debug-escaped) on stderr.

use exchange_core::{Amount, PartyId, Timestamp};

const HUGE: usize = 50_000_000;

fn assert_short(message: &str, rest: usize) {
    assert!(message.len() < 2_000, "{} bytes", message.len());
    assert!(
        message.contains(&format!("(and {rest} more bytes)")),
        "{message}"
    );
}

#[test]
fn amount_errors_quote_a_bounded_prefix() {
    let digits = "1".repeat(HUGE);
    let e = digits.parse::<Amount>().unwrap_err().to_string();
    assert_short(&e, HUGE - 200);
    assert!(e.contains("more than 28 integer digits"), "{e}");
    let junk = "x".repeat(HUGE);
    assert_short(&junk.parse::<Amount>().unwrap_err().to_string(), HUGE - 200);
    let precise = format!("0.{}", "1".repeat(HUGE));
    assert_short(
        &precise.parse::<Amount>().unwrap_err().to_string(),
        HUGE + 2 - 200,
    );
}

#[test]
fn id_and_time_errors_quote_a_bounded_prefix() {
    let party = "p".repeat(HUGE);
    assert_short(&PartyId::new(&party).unwrap_err().to_string(), HUGE - 200);
    // Timestamps quote their first 64 characters (they always did).
    let time = "9".repeat(HUGE);
    assert!(time.parse::<Timestamp>().unwrap_err().to_string().len() < 2_000);
}
