//! The V2 primitive encodings (spec "Primitive Types" and "Collections"): big-endian Java-sized
//! integers, 4-byte length prefixes, `0x00`/`0x01` optionals. An `Encoder` can also keep a
//! human-readable trace of what it wrote (the `hashingDetails` of a prepare answer).

use sha2::{Digest, Sha256};

use crate::Hash;
use crate::error::HashError;
use crate::proto::Identifier;

/// Accumulates the bytes of one encoding (and, when traced, one line per piece written).
pub(crate) struct Encoder {
    buf: Vec<u8>,
    trace: Option<Vec<String>>,
}

impl Encoder {
    pub(crate) fn new(traced: bool) -> Encoder {
        Encoder {
            buf: Vec::new(),
            trace: traced.then(Vec::new),
        }
    }

    pub(crate) fn traced(&self) -> bool {
        self.trace.is_some()
    }

    /// A trace heading, e.g. `# Signatories`; writes no bytes.
    pub(crate) fn section(&mut self, name: &str) {
        if let Some(trace) = &mut self.trace {
            trace.push(format!("# {name}"));
        }
    }

    /// Appends `bytes` as they are; `note` (computed only when tracing) says what they are.
    pub(crate) fn raw(&mut self, bytes: &[u8], note: impl FnOnce() -> String) {
        self.buf.extend_from_slice(bytes);
        if let Some(trace) = &mut self.trace {
            trace.push(format!("'{}' # {}", hex::encode(bytes), note()));
        }
    }

    pub(crate) fn tag(&mut self, tag: u8, name: &str) {
        self.raw(&[tag], || name.to_string());
    }

    pub(crate) fn bool(&mut self, value: bool) {
        self.raw(&[u8::from(value)], || format!("{value} (bool)"));
    }

    pub(crate) fn int32(&mut self, value: i32) {
        self.raw(&value.to_be_bytes(), || format!("{value} (int)"));
    }

    /// Also used for proto `uint64` fields: Java reads them as a signed long with the same bits.
    pub(crate) fn int64(&mut self, value: i64) {
        self.raw(&value.to_be_bytes(), || format!("{value} (long)"));
    }

    /// A collection length, as a 4-byte signed int (Java's `size()`).
    pub(crate) fn len(&mut self, len: usize) -> Result<(), HashError> {
        let len = i32::try_from(len).map_err(|_| HashError::TooLong(len))?;
        self.int32(len);
        Ok(())
    }

    pub(crate) fn string(&mut self, value: &str) -> Result<(), HashError> {
        self.len(value.len())?;
        self.raw(value.as_bytes(), || format!("{value} (string)"));
        Ok(())
    }

    /// A contract id: length-prefixed hex-decoded bytes (collector note 1).
    pub(crate) fn contract_id(&mut self, contract_id: &str) -> Result<(), HashError> {
        let bytes = hex::decode(contract_id)
            .map_err(|_| HashError::InvalidContractId(contract_id.to_string()))?;
        self.len(bytes.len())?;
        self.raw(&bytes, || format!("{contract_id} (contractId)"));
        Ok(())
    }

    /// `repeated string`: the count, then each string.
    pub(crate) fn strings(&mut self, values: &[String]) -> Result<(), HashError> {
        self.len(values.len())?;
        values.iter().try_for_each(|value| self.string(value))
    }

    /// `package_id || split(module_name, '.') || split(entity_name, '.')`.
    pub(crate) fn identifier(&mut self, id: &Identifier) -> Result<(), HashError> {
        self.string(&id.package_id)?;
        self.dotted(&id.module_name)?;
        self.dotted(&id.entity_name)
    }

    fn dotted(&mut self, name: &str) -> Result<(), HashError> {
        let segments: Vec<&str> = name.split('.').collect();
        self.len(segments.len())?;
        segments.iter().try_for_each(|segment| self.string(segment))
    }

    /// `0x00`, or `0x01 || encode(value)`.
    pub(crate) fn optional<T>(
        &mut self,
        value: Option<T>,
        encode: impl FnOnce(&mut Encoder, T) -> Result<(), HashError>,
    ) -> Result<(), HashError> {
        match value {
            None => {
                self.raw(&[0], || "None".to_string());
                Ok(())
            }
            Some(value) => {
                self.raw(&[1], || "Some".to_string());
                encode(self, value)
            }
        }
    }

    /// A 32-byte hash, appended raw (no length: its size is fixed).
    pub(crate) fn hash(&mut self, hash: &Hash, note: &str) {
        self.raw(&hash.0, || note.to_string());
    }

    /// Adds `lines` (another encoding's trace) indented, writing no bytes.
    pub(crate) fn nested_trace(&mut self, lines: Vec<String>) {
        if let Some(trace) = &mut self.trace {
            trace.extend(lines.into_iter().map(|line| format!("  {line}")));
        }
    }

    pub(crate) fn sha256(&self) -> Hash {
        Hash(Sha256::digest(&self.buf).into())
    }

    pub(crate) fn into_parts(self) -> (Vec<u8>, Vec<String>) {
        (self.buf, self.trace.unwrap_or_default())
    }
}

/// The hash purpose that starts the transaction, metadata and final hashes (never node hashes).
pub(crate) const HASH_PURPOSE: [u8; 4] = [0x00, 0x00, 0x00, 0x30];

/// A new encoder that starts with the hash purpose.
pub(crate) fn with_purpose(traced: bool) -> Encoder {
    let mut encoder = Encoder::new(traced);
    encoder.raw(&HASH_PURPOSE, || "Hash Purpose".to_string());
    encoder
}
