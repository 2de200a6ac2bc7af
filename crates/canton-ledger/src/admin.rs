//! The one Admin API call the exchange needs, `PartyManagementService.GetHighestOffsetByTimestamp`
//! (`ledger-api.md` §6), as protobuf messages with the real field numbers (derived by hand, so no
//! `protoc` is needed), plus gRPC's length-prefixed message framing. No IO here.

/// The full gRPC path (HTTP/2 `:path`).
pub const GET_HIGHEST_OFFSET_BY_TIMESTAMP_PATH: &str = "/com.digitalasset.canton.admin.participant.v30.PartyManagementService/GetHighestOffsetByTimestamp";

/// The proto source of the messages below, for `grpcurl -proto` (the sandbox has no reflection).
pub const PARTY_MANAGEMENT_PROTO: &str = r#"syntax = "proto3";
package com.digitalasset.canton.admin.participant.v30;
import "google/protobuf/timestamp.proto";
service PartyManagementService {
  rpc GetHighestOffsetByTimestamp(GetHighestOffsetByTimestampRequest) returns (GetHighestOffsetByTimestampResponse);
}
message GetHighestOffsetByTimestampRequest {
  string synchronizer_id = 1;
  google.protobuf.Timestamp timestamp = 2;
  bool force = 3;
}
message GetHighestOffsetByTimestampResponse { int64 ledger_offset = 1; }
"#;

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct ProtoTimestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl ProtoTimestamp {
    pub fn from_micros(micros: i64) -> ProtoTimestamp {
        ProtoTimestamp {
            seconds: micros.div_euclid(1_000_000),
            nanos: (micros.rem_euclid(1_000_000) * 1000) as i32,
        }
    }

    /// Microseconds since the epoch, truncating sub-microsecond nanos (Canton's precision).
    pub fn to_micros(self) -> Option<i64> {
        self.seconds
            .checked_mul(1_000_000)?
            .checked_add(i64::from(self.nanos) / 1000)
    }
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct GetHighestOffsetByTimestampRequest {
    #[prost(string, tag = "1")]
    pub synchronizer_id: String,
    #[prost(message, optional, tag = "2")]
    pub timestamp: Option<ProtoTimestamp>,
    #[prost(bool, tag = "3")]
    pub force: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct GetHighestOffsetByTimestampResponse {
    #[prost(int64, tag = "1")]
    pub ledger_offset: i64,
}

/// One gRPC message frame: flag byte 0 (uncompressed), big-endian u32 length, the message.
pub fn encode_frame(message: &impl prost::Message) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut out = Vec::with_capacity(5 + body.len());
    out.push(0);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    Truncated,
    Compressed,
    Decode(String),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Truncated => f.write_str("truncated gRPC frame"),
            FrameError::Compressed => f.write_str("compressed gRPC messages are not supported"),
            FrameError::Decode(e) => write!(f, "undecodable message: {e}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Decodes the single message of a unary call's body.
pub fn decode_frame<M: prost::Message + Default>(body: &[u8]) -> Result<M, FrameError> {
    let (header, rest) = body.split_at_checked(5).ok_or(FrameError::Truncated)?;
    if header[0] != 0 {
        return Err(FrameError::Compressed);
    }
    let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    let message = rest.get(..len).ok_or(FrameError::Truncated)?;
    M::decode(message).map_err(|e| FrameError::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_with_the_real_field_numbers() {
        let request = GetHighestOffsetByTimestampRequest {
            synchronizer_id: "s".into(),
            timestamp: Some(ProtoTimestamp::from_micros(1_500_001)),
            force: true,
        };
        let frame = encode_frame(&request);
        // field 1 (string), field 2 (message), field 3 (varint).
        assert_eq!(&frame[5..8], &[0x0a, 1, b's']);
        assert_eq!(frame[8], 0x12);
        assert_eq!(frame[frame.len() - 2..], [0x18, 1]);
        assert_eq!(
            decode_frame::<GetHighestOffsetByTimestampRequest>(&frame),
            Ok(request)
        );
        let ts = ProtoTimestamp::from_micros(-1);
        assert_eq!((ts.seconds, ts.nanos), (-1, 999_999_000));
        assert_eq!(ts.to_micros(), Some(-1));
        assert_eq!(
            decode_frame::<GetHighestOffsetByTimestampResponse>(&[0, 0]),
            Err(FrameError::Truncated)
        );
    }
}
