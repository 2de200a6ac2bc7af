//! V2 metadata encoding (spec "Metadata", with collector notes 2-4): submitter, ids, mediator
//! group, time bounds, preparation time, and each input contract as
//! `created_at || sha_256(encode_node(create without seed))`.

use super::encoder::{Encoder, with_purpose};
use super::node::encode_create;
use crate::Hash;
use crate::error::HashError;
use crate::proto::v1;
use crate::proto::{InputContract, InputContractVersion, Metadata};

/// The metadata encoding version.
const METADATA_ENCODING_VERSION: u8 = 0x01;

/// `sha_256(0x00000030 || encode(metadata))`, with its trace when `traced`.
pub(crate) fn metadata_hash(
    metadata: &Metadata,
    traced: bool,
) -> Result<(Hash, Vec<String>), HashError> {
    let submitter = metadata
        .submitter_info
        .as_ref()
        .ok_or(HashError::MissingField("Metadata.submitter_info"))?;
    let mut enc = with_purpose(traced);
    enc.tag(METADATA_ENCODING_VERSION, "Metadata Encoding Version");
    enc.section("Act As Parties");
    enc.strings(&submitter.act_as)?;
    enc.section("Command Id");
    enc.string(&submitter.command_id)?;
    enc.section("Transaction UUID");
    enc.string(&metadata.transaction_uuid)?;
    enc.section("Mediator Group");
    // uint32 read as a Java int: same 4 bytes.
    enc.int32(metadata.mediator_group as i32);
    enc.section("Synchronizer Id");
    enc.string(&metadata.synchronizer_id)?;
    enc.section("Min Time Boundary");
    enc.optional(metadata.min_ledger_effective_time, |enc, t| {
        enc.int64(t as i64);
        Ok(())
    })?;
    enc.section("Max Time Boundary");
    enc.optional(metadata.max_ledger_effective_time, |enc, t| {
        enc.int64(t as i64);
        Ok(())
    })?;
    enc.section("Preparation Time");
    enc.int64(metadata.preparation_time as i64);
    enc.section("Input Contracts");
    enc.len(metadata.input_contracts.len())?;
    for contract in &metadata.input_contracts {
        input_contract(&mut enc, contract)?;
    }
    let hash = enc.sha256();
    Ok((hash, enc.into_parts().1))
}

fn input_contract(enc: &mut Encoder, contract: &InputContract) -> Result<(), HashError> {
    let InputContractVersion::V1(create) = contract
        .contract
        .as_ref()
        .ok_or(HashError::MissingField("InputContract.contract"))?;
    enc.section("Created At");
    enc.int64(contract.created_at as i64);
    enc.section("Create Contract");
    let (hash, lines) = input_contract_create(create, enc.traced())?;
    enc.nested_trace(lines);
    enc.hash(&hash, "Input Contract");
    Ok(())
}

/// `sha_256(encode_node(create))` of an input contract: no seed, no hash purpose.
pub(crate) fn input_contract_create(
    create: &v1::Create,
    traced: bool,
) -> Result<(Hash, Vec<String>), HashError> {
    let mut enc = Encoder::new(traced);
    encode_create(&mut enc, create, None)?;
    let hash = enc.sha256();
    Ok((hash, enc.into_parts().1))
}
