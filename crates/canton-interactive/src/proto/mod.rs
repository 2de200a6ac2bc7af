//! Our own `prost` definitions of the Canton 3.4 protobuf messages a client needs (official field
//! names, numbers and types from `specs/canton/proto/`; no protoc, no build script).

mod daml_value;
mod transaction;

pub use daml_value::*;
pub use transaction::*;
