//! How the reading commands print: a table for people or JSON for programs, and ids shortened
//! to fit a table's columns.

#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Json,
}

/// An id shortened for a table cell, `…` marking the cut. A party id keeps its hint and the
/// start of its namespace: the namespace is what tells parties apart, and a look-alike (say a
/// counterfeit token's admin) can take any hint it likes.
pub fn short(id: &str) -> String {
    match id.split_once("::") {
        Some((hint, namespace)) => format!("{hint}::{}", cut(namespace, 8)),
        None => cut(id, 17),
    }
}

/// The first `keep` characters of `s` and `…`; `s` whole when cutting would save fewer than
/// three characters (not worth the lost information).
fn cut(s: &str, keep: usize) -> String {
    if s.chars().count() <= keep + 3 {
        return s.to_owned();
    }
    format!("{}…", s.chars().take(keep).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::short;

    #[test]
    fn a_party_keeps_its_hint_and_the_start_of_its_namespace() {
        let real = "dso::1220a1b2c3d4e5f60718293a4b5c6d7e8f90";
        let look_alike = "dso::1220ffeeddccbbaa00112233445566778899";
        assert_eq!(short(real), "dso::1220a1b2…");
        assert_ne!(short(real), short(look_alike));
        let long_hint = "exchange-treasury-operator::1220a1b2c3d4e5f6";
        assert_eq!(short(long_hint), "exchange-treasury-operator::1220a1b2…");
    }

    #[test]
    fn other_ids_keep_seventeen_characters_and_nothing_is_cut_to_save_under_three() {
        let contract = "00d69441f6f0a9b8c7d6e5f4a3b2c1d0e9f8";
        assert_eq!(short(contract), "00d69441f6f0a9b8c…");
        assert_eq!(short("acct-1"), "acct-1");
        assert_eq!(short("dso::normalized"), "dso::normalized");
        assert_eq!(short("dso::normalized+12"), "dso::normaliz…");
        assert_eq!(short("12345678901234567890"), "12345678901234567890");
        assert_eq!(short("123456789012345678901"), "12345678901234567…");
    }

    #[test]
    fn characters_are_counted_not_bytes() {
        let id = "é".repeat(30);
        assert_eq!(short(&id), format!("{}…", "é".repeat(17)));
        assert_eq!(short(&format!("p::{}", "ü".repeat(20))), "p::üüüüüüüü…");
    }
}
