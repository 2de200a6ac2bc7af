//! `com.daml.ledger.api.v2` Daml values (`value.proto`, Daml v3.4.11): every variant of `Value`,
//! with the official field numbers and wire types.

/// A Daml value. `sum` is a proto `oneof`; `None` means the sender set no variant.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Value {
    #[prost(
        oneof = "value::Sum",
        tags = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16"
    )]
    pub sum: Option<value::Sum>,
}

pub mod value {
    /// The variants of `Value.sum`.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Sum {
        /// `google.protobuf.Empty`.
        #[prost(message, tag = "1")]
        Unit(()),
        #[prost(bool, tag = "2")]
        Bool(bool),
        #[prost(sint64, tag = "3")]
        Int64(i64),
        /// Days since the Unix epoch.
        #[prost(int32, tag = "4")]
        Date(i32),
        /// Microseconds since the Unix epoch.
        #[prost(sfixed64, tag = "5")]
        Timestamp(i64),
        /// Decimal text, e.g. `"125.1002"`; hashed as the string it is, never reformatted.
        #[prost(string, tag = "6")]
        Numeric(String),
        #[prost(string, tag = "7")]
        Party(String),
        #[prost(string, tag = "8")]
        Text(String),
        /// Hexadecimal contract id.
        #[prost(string, tag = "9")]
        ContractId(String),
        #[prost(message, tag = "10")]
        Optional(super::Optional),
        #[prost(message, tag = "11")]
        List(super::List),
        #[prost(message, tag = "12")]
        TextMap(super::TextMap),
        #[prost(message, tag = "13")]
        GenMap(super::GenMap),
        #[prost(message, tag = "14")]
        Record(super::Record),
        #[prost(message, tag = "15")]
        Variant(super::Variant),
        #[prost(message, tag = "16")]
        Enum(super::Enum),
    }
}

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Message)]
pub struct Identifier {
    #[prost(string, tag = "1")]
    pub package_id: String,
    /// Dotted module name, e.g. `Splice.Wallet.TransferPreapproval`.
    #[prost(string, tag = "2")]
    pub module_name: String,
    /// Dotted entity name, e.g. `TransferPreapprovalProposal`.
    #[prost(string, tag = "3")]
    pub entity_name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Record {
    #[prost(message, optional, tag = "1")]
    pub record_id: Option<Identifier>,
    #[prost(message, repeated, tag = "2")]
    pub fields: Vec<RecordField>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RecordField {
    /// Empty when the sender left the label out (labels are optional in Daml values).
    #[prost(string, tag = "1")]
    pub label: String,
    #[prost(message, optional, tag = "2")]
    pub value: Option<Value>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Variant {
    #[prost(message, optional, tag = "1")]
    pub variant_id: Option<Identifier>,
    #[prost(string, tag = "2")]
    pub constructor: String,
    #[prost(message, optional, boxed, tag = "3")]
    pub value: Option<Box<Value>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Enum {
    #[prost(message, optional, tag = "1")]
    pub enum_id: Option<Identifier>,
    #[prost(string, tag = "2")]
    pub constructor: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct List {
    #[prost(message, repeated, tag = "1")]
    pub elements: Vec<Value>,
}

/// A Daml `Optional`: `value` absent is `None`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Optional {
    #[prost(message, optional, boxed, tag = "1")]
    pub value: Option<Box<Value>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TextMap {
    #[prost(message, repeated, tag = "1")]
    pub entries: Vec<TextMapEntry>,
}

/// `TextMap.Entry`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TextMapEntry {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(message, optional, tag = "2")]
    pub value: Option<Value>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GenMap {
    #[prost(message, repeated, tag = "1")]
    pub entries: Vec<GenMapEntry>,
}

/// `GenMap.Entry`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GenMapEntry {
    #[prost(message, optional, tag = "1")]
    pub key: Option<Value>,
    #[prost(message, optional, tag = "2")]
    pub value: Option<Value>,
}

impl Value {
    /// A value holding `sum` (handy for building values in code and tests).
    pub fn of(sum: value::Sum) -> Value {
        Value { sum: Some(sum) }
    }
}
