//! Compact storage of committed data, so that a node holding 100,000 transactions stays small
//! (the `load` scenario, the ingestion benchmark).
//!
//! Three ideas:
//! - every string the ledger stores (party ids, contract ids, texts, choice names) is kept once
//!   in a [`SymbolTable`] and referred to by a 4-byte [`Sym`]; sets of parties, which repeat
//!   endlessly (witnesses, stakeholders, actors), are interned too, as a [`PartySet`];
//! - Daml values are stored as a byte string ([`encode`]) of tags, varints and symbols instead of
//!   a tree of allocations, and are rendered to JSON text straight from it per request
//!   ([`write_json`]) or decoded back to a [`Value`] when a token needs to read one ([`decode`]);
//! - the table is append-only and shared by every clone of the ledger ([`Symbols`]): a backup
//!   costs no copy of it, and data encoded before or after a snapshot stays readable by both.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use exchange_core::{Amount, Timestamp};

use crate::daml::{Rendering, Value};

/// The Fx hash (rustc's): the tables here are hashed on every node of every commit, where
/// SipHash's protection against flooding buys nothing and costs a tenth of the load time.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// A `HashMap` with the [`FxHasher`].
pub type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// A string of the [`SymbolTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sym(u32);

/// A sorted, duplicate-free set of party symbols, interned in the [`SymbolTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartySet(u32);

#[derive(Debug, Default)]
pub struct SymbolTable {
    strings: Vec<Arc<str>>,
    /// Whether each string can be written as JSON without escapes (most can), decided once.
    plain: Vec<bool>,
    by_string: FxHashMap<Arc<str>, Sym>,
    /// Record field names and variant constructors (always `'static` in [`Value`]).
    labels: Vec<&'static str>,
    by_label: FxHashMap<&'static str, u32>,
    sets: Vec<Arc<[Sym]>>,
    by_set: FxHashMap<Arc<[Sym]>, PartySet>,
}

impl SymbolTable {
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.by_string.get(s) {
            return sym;
        }
        let sym = Sym(u32::try_from(self.strings.len()).expect("fewer than 2^32 strings"));
        let shared: Arc<str> = Arc::from(s);
        self.strings.push(shared.clone());
        self.plain.push(is_plain(s));
        self.by_string.insert(shared, sym);
        sym
    }

    /// The symbol of `s` if it was ever interned.
    pub fn lookup(&self, s: &str) -> Option<Sym> {
        self.by_string.get(s).copied()
    }

    pub fn get(&self, sym: Sym) -> &str {
        &self.strings[sym.0 as usize]
    }

    fn label(&mut self, l: &'static str) -> u32 {
        if let Some(&i) = self.by_label.get(l) {
            return i;
        }
        let i = u32::try_from(self.labels.len()).expect("few labels");
        self.labels.push(l);
        self.by_label.insert(l, i);
        i
    }

    pub fn party_set<'a>(&mut self, parties: impl IntoIterator<Item = &'a str>) -> PartySet {
        let syms: Vec<Sym> = parties.into_iter().map(|p| self.intern(p)).collect();
        self.set_of(syms)
    }

    pub fn union(&mut self, a: PartySet, b: PartySet) -> PartySet {
        if a == b {
            return a;
        }
        let syms = self.party_syms(a).iter().chain(self.party_syms(b)).copied();
        self.set_of(syms.collect())
    }

    fn set_of(&mut self, mut syms: Vec<Sym>) -> PartySet {
        // Sorted by string, as Canton prints party lists.
        syms.sort_by(|a, b| self.get(*a).cmp(self.get(*b)));
        syms.dedup();
        if let Some(&set) = self.by_set.get(syms.as_slice()) {
            return set;
        }
        let set = PartySet(u32::try_from(self.sets.len()).expect("fewer than 2^32 sets"));
        let shared: Arc<[Sym]> = syms.into();
        self.sets.push(shared.clone());
        self.by_set.insert(shared, set);
        set
    }

    pub fn party_syms(&self, set: PartySet) -> &[Sym] {
        &self.sets[set.0 as usize]
    }

    /// The parties of a set, sorted.
    pub fn parties(&self, set: PartySet) -> impl Iterator<Item = &str> + '_ {
        self.sets[set.0 as usize].iter().map(|s| self.get(*s))
    }

    pub fn contains(&self, set: PartySet, party: &str) -> bool {
        self.parties(set).any(|p| p == party)
    }
}

/// The shared, append-only symbol table of a ledger and all its clones (see the module doc).
#[derive(Debug, Clone, Default)]
pub struct Symbols(Arc<RwLock<SymbolTable>>);

impl Symbols {
    pub fn read(&self) -> RwLockReadGuard<'_, SymbolTable> {
        // Interning cannot leave the table inconsistent halfway, so a poisoned lock is usable.
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, SymbolTable> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// An encoded Daml value.
pub type Encoded = Box<[u8]>;

mod tag {
    pub const RECORD: u8 = 0;
    pub const VARIANT: u8 = 1;
    pub const TEXT: u8 = 2;
    pub const PARTY: u8 = 3;
    pub const CONTRACT_ID: u8 = 4;
    pub const NUMERIC: u8 = 5;
    pub const INT64: u8 = 6;
    pub const FALSE: u8 = 7;
    pub const TRUE: u8 = 8;
    pub const TIME: u8 = 9;
    pub const UNIT: u8 = 10;
    pub const NONE: u8 = 11;
    pub const SOME: u8 = 12;
    pub const LIST: u8 = 13;
    pub const TEXT_MAP: u8 = 14;
    pub const GEN_MAP: u8 = 15;
    pub const ENUM: u8 = 16;
}

pub fn encode(value: &Value, table: &mut SymbolTable) -> Encoded {
    let mut out = Vec::with_capacity(64);
    encode_into(value, table, &mut out);
    out.into_boxed_slice()
}

fn put_uvarint(out: &mut Vec<u8>, mut n: u128) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_ivarint(out: &mut Vec<u8>, n: i128) {
    put_uvarint(out, ((n << 1) ^ (n >> 127)) as u128);
}

fn encode_into(value: &Value, table: &mut SymbolTable, out: &mut Vec<u8>) {
    let sym = |out: &mut Vec<u8>, t: u8, s: &str, table: &mut SymbolTable| {
        out.push(t);
        put_uvarint(out, u128::from(table.intern(s).0));
    };
    match value {
        Value::Record(fields) => {
            out.push(tag::RECORD);
            put_uvarint(out, fields.len() as u128);
            for (label, v) in fields {
                put_uvarint(out, u128::from(table.label(label)));
                encode_into(v, table, out);
            }
        }
        Value::Variant(label, v) => {
            out.push(tag::VARIANT);
            put_uvarint(out, u128::from(table.label(label)));
            encode_into(v, table, out);
        }
        Value::Enum(label) => {
            out.push(tag::ENUM);
            put_uvarint(out, u128::from(table.label(label)));
        }
        Value::Text(s) => sym(out, tag::TEXT, s, table),
        Value::Party(s) => sym(out, tag::PARTY, s, table),
        Value::ContractId(s) => sym(out, tag::CONTRACT_ID, s, table),
        Value::Numeric(a) => {
            out.push(tag::NUMERIC);
            put_ivarint(out, a.units());
        }
        Value::Int64(i) => {
            out.push(tag::INT64);
            put_ivarint(out, i128::from(*i));
        }
        Value::Bool(b) => out.push(if *b { tag::TRUE } else { tag::FALSE }),
        Value::Time(t) => {
            out.push(tag::TIME);
            put_ivarint(out, i128::from(t.micros()));
        }
        Value::Unit => out.push(tag::UNIT),
        Value::Optional(None) => out.push(tag::NONE),
        Value::Optional(Some(v)) => {
            out.push(tag::SOME);
            encode_into(v, table, out);
        }
        Value::List(items) => {
            out.push(tag::LIST);
            put_uvarint(out, items.len() as u128);
            for v in items {
                encode_into(v, table, out);
            }
        }
        Value::TextMap(m) => {
            out.push(tag::TEXT_MAP);
            put_uvarint(out, m.len() as u128);
            for (k, v) in m {
                put_uvarint(out, u128::from(table.intern(k).0));
                encode_into(v, table, out);
            }
        }
        Value::GenMap(pairs) => {
            out.push(tag::GEN_MAP);
            put_uvarint(out, pairs.len() as u128);
            for (k, v) in pairs {
                encode_into(k, table, out);
                encode_into(v, table, out);
            }
        }
    }
}

/// A cursor over an encoded value. The bytes were written by [`encode`] in this process, so a
/// malformed input is a bug: reads panic rather than return errors.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.bytes[self.pos];
        self.pos += 1;
        b
    }

    fn uvarint(&mut self) -> u128 {
        let mut n = 0u128;
        let mut shift = 0;
        loop {
            let b = self.byte();
            n |= u128::from(b & 0x7f) << shift;
            if b < 0x80 {
                return n;
            }
            shift += 7;
        }
    }

    fn ivarint(&mut self) -> i128 {
        let n = self.uvarint();
        ((n >> 1) as i128) ^ -((n & 1) as i128)
    }

    fn index(&mut self) -> usize {
        self.uvarint() as usize
    }

    fn sym(&mut self) -> Sym {
        Sym(self.uvarint() as u32)
    }

    /// Moves past one value.
    fn skip(&mut self) {
        match self.byte() {
            tag::RECORD => {
                for _ in 0..self.index() {
                    self.uvarint();
                    self.skip();
                }
            }
            tag::VARIANT => {
                self.uvarint();
                self.skip();
            }
            tag::TEXT
            | tag::PARTY
            | tag::CONTRACT_ID
            | tag::NUMERIC
            | tag::INT64
            | tag::TIME
            | tag::ENUM => {
                self.uvarint();
            }
            tag::SOME => self.skip(),
            tag::LIST => {
                for _ in 0..self.index() {
                    self.skip();
                }
            }
            tag::TEXT_MAP => {
                for _ in 0..self.index() {
                    self.uvarint();
                    self.skip();
                }
            }
            tag::GEN_MAP => {
                for _ in 0..2 * self.index() {
                    self.skip();
                }
            }
            _ => {}
        }
    }
}

pub fn decode(bytes: &[u8], table: &SymbolTable) -> Value {
    decode_one(&mut Reader { bytes, pos: 0 }, table)
}

fn decode_one(r: &mut Reader<'_>, table: &SymbolTable) -> Value {
    let string = |r: &mut Reader<'_>| table.get(r.sym()).to_owned();
    match r.byte() {
        tag::RECORD => {
            let n = r.index();
            Value::Record(
                (0..n)
                    .map(|_| {
                        let label = table.labels[r.index()];
                        (label, decode_one(r, table))
                    })
                    .collect(),
            )
        }
        tag::VARIANT => {
            let label = table.labels[r.index()];
            Value::Variant(label, Box::new(decode_one(r, table)))
        }
        tag::ENUM => Value::Enum(table.labels[r.index()]),
        tag::TEXT => Value::Text(string(r)),
        tag::PARTY => Value::Party(string(r)),
        tag::CONTRACT_ID => Value::ContractId(string(r)),
        tag::NUMERIC => Value::Numeric(Amount::from_units(r.ivarint()).expect("encoded Amount")),
        tag::INT64 => Value::Int64(r.ivarint() as i64),
        tag::FALSE => Value::Bool(false),
        tag::TRUE => Value::Bool(true),
        tag::TIME => Value::Time(Timestamp::from_micros(r.ivarint() as i64).expect("encoded")),
        tag::UNIT => Value::Unit,
        tag::NONE => Value::Optional(None),
        tag::SOME => Value::Optional(Some(Box::new(decode_one(r, table)))),
        tag::LIST => {
            let n = r.index();
            Value::List((0..n).map(|_| decode_one(r, table)).collect())
        }
        tag::TEXT_MAP => {
            let n = r.index();
            Value::TextMap(
                (0..n)
                    .map(|_| {
                        let k = string(r);
                        (k, decode_one(r, table))
                    })
                    .collect(),
            )
        }
        tag::GEN_MAP => {
            let n = r.index();
            Value::GenMap(
                (0..n)
                    .map(|_| (decode_one(r, table), decode_one(r, table)))
                    .collect(),
            )
        }
        t => unreachable!("unknown value tag {t}"),
    }
}

/// Writes the JSON text of an encoded value, exactly as [`Value::to_raw`] would.
pub fn write_json(bytes: &[u8], table: &SymbolTable, rendering: Rendering, out: &mut String) {
    write_one(&mut Reader { bytes, pos: 0 }, table, rendering, out);
}

/// The raw JSON the wire types carry.
pub fn to_raw(bytes: &[u8], table: &SymbolTable, rendering: Rendering) -> canton_ledger::DamlValue {
    let mut out = String::with_capacity(bytes.len() * 8);
    write_json(bytes, table, rendering, &mut out);
    serde_json::value::RawValue::from_string(out).expect("rendered Daml value is valid JSON")
}

fn write_one(r: &mut Reader<'_>, table: &SymbolTable, rendering: Rendering, out: &mut String) {
    match r.byte() {
        tag::RECORD => {
            let n = r.index();
            // Find where each field starts, and which trailing `None`s to leave out.
            let mut fields = Vec::with_capacity(n);
            for _ in 0..n {
                let label = r.index();
                fields.push((label, r.pos));
                r.skip();
            }
            let end = r.pos;
            let keep = match rendering {
                Rendering::View => n,
                Rendering::Argument => fields
                    .iter()
                    .rposition(|&(_, at)| r.bytes[at] != tag::NONE)
                    .map_or(0, |i| i + 1),
            };
            out.push('{');
            for (i, &(label, at)) in fields[..keep].iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_str(table.labels[label], out);
                out.push(':');
                r.pos = at;
                write_one(r, table, rendering, out);
            }
            out.push('}');
            r.pos = end;
        }
        tag::VARIANT => {
            let label = table.labels[r.index()];
            out.push_str("{\"tag\":");
            write_json_str(label, out);
            out.push_str(",\"value\":");
            write_one(r, table, rendering, out);
            out.push('}');
        }
        tag::ENUM => write_json_str(table.labels[r.index()], out),
        tag::TEXT | tag::PARTY | tag::CONTRACT_ID => write_sym(table, r.sym(), out),
        tag::NUMERIC => {
            let a = Amount::from_units(r.ivarint()).expect("encoded Amount");
            out.push('"');
            out.push_str(&a.to_string());
            out.push('"');
        }
        tag::INT64 => {
            out.push('"');
            out.push_str(&(r.ivarint() as i64).to_string());
            out.push('"');
        }
        tag::FALSE => out.push_str("false"),
        tag::TRUE => out.push_str("true"),
        tag::TIME => {
            let t = Timestamp::from_micros(r.ivarint() as i64).expect("encoded Timestamp");
            out.push('"');
            out.push_str(&t.to_string());
            out.push('"');
        }
        tag::UNIT => out.push_str("{}"),
        tag::NONE => out.push_str("null"),
        tag::SOME => write_one(r, table, rendering, out),
        tag::LIST => {
            out.push('[');
            for i in 0..r.index() {
                if i > 0 {
                    out.push(',');
                }
                write_one(r, table, rendering, out);
            }
            out.push(']');
        }
        tag::TEXT_MAP => {
            out.push('{');
            for i in 0..r.index() {
                if i > 0 {
                    out.push(',');
                }
                write_sym(table, r.sym(), out);
                out.push(':');
                write_one(r, table, rendering, out);
            }
            out.push('}');
        }
        tag::GEN_MAP => {
            out.push('[');
            for i in 0..r.index() {
                if i > 0 {
                    out.push(',');
                }
                out.push('[');
                write_one(r, table, rendering, out);
                out.push(',');
                write_one(r, table, rendering, out);
                out.push(']');
            }
            out.push(']');
        }
        t => unreachable!("unknown value tag {t}"),
    }
}

/// Whether `s` prints as JSON between quotes without escapes.
pub(crate) fn is_plain(s: &str) -> bool {
    // A fold without early exit: the compiler vectorizes it, and the strings checked (party
    // and contract ids, names, timestamps) are nearly always plain, so exiting early gains
    // nothing.
    s.bytes().fold(true, |plain, b| {
        plain & (b >= 0x20) & (b != b'"') & (b != b'\\') & (b < 0x7f)
    })
}

/// An interned string as JSON, using the plainness checked once at interning.
pub(crate) fn write_sym(table: &SymbolTable, sym: Sym, out: &mut String) {
    let s = table.get(sym);
    if table.plain[sym.0 as usize] {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        write_json_str(s, out);
    }
}

/// A JSON string literal, escaped as serde_json escapes it.
/// `s` as a JSON string, escaped as `serde_json` escapes it.
pub fn write_json_str(s: &str, out: &mut String) {
    if is_plain(s) {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::Value::String(s.to_owned()).to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        Value::record(vec![
            ("a", Value::none()),
            ("n", Value::Numeric("-12.5".parse().unwrap())),
            ("i", Value::Int64(-19)),
            ("t", Value::Time(Timestamp::from_micros(1_500_000).unwrap())),
            ("v", Value::variant("Tag", Value::Unit)),
            ("e", Value::Enum("SenderSide")),
            ("p", Value::party("alice::1220ab")),
            ("c", Value::cid("00ff")),
            ("o", Value::some(Value::text("quote \" and é"))),
            (
                "l",
                Value::List(vec![Value::Bool(true), Value::Bool(false)]),
            ),
            ("m", Value::metadata([("k", "v".to_owned())])),
            (
                "g",
                Value::GenMap(vec![(Value::party("p::1"), Value::record(vec![]))]),
            ),
            ("z", Value::none()),
        ])
    }

    #[test]
    fn round_trips_and_renders_like_the_value() {
        let mut table = SymbolTable::default();
        let v = sample();
        let bytes = encode(&v, &mut table);
        assert_eq!(decode(&bytes, &table), v);
        for rendering in [Rendering::Argument, Rendering::View] {
            assert_eq!(
                to_raw(&bytes, &table, rendering).get(),
                v.to_raw(rendering).get()
            );
        }
    }

    #[test]
    fn interns_strings_and_party_sets() {
        let mut table = SymbolTable::default();
        assert_eq!(table.intern("x"), table.intern("x"));
        let a = table.party_set(["b", "a", "b"]);
        assert_eq!(a, table.party_set(["a", "b"]));
        assert_eq!(table.parties(a).collect::<Vec<_>>(), ["a", "b"]);
        assert!(table.contains(a, "b") && !table.contains(a, "c"));
    }
}
