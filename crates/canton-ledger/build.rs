//! Generates the Admin API's gRPC service stubs (client and server) for the one call the
//! exchange needs, from a manual definition: no `.proto` file and no `protoc`. The messages
//! are the hand-written prost types of `src/admin.rs`; the names and route are Canton's
//! (`com.digitalasset.canton.admin.participant.v30.PartyManagementService`).

fn main() {
    let method = tonic_build::manual::Method::builder()
        .name("get_highest_offset_by_timestamp")
        .route_name("GetHighestOffsetByTimestamp")
        .input_type("crate::admin::GetHighestOffsetByTimestampRequest")
        .output_type("crate::admin::GetHighestOffsetByTimestampResponse")
        .codec_path("tonic_prost::ProstCodec")
        .build();
    let service = tonic_build::manual::Service::builder()
        .name("PartyManagementService")
        .package("com.digitalasset.canton.admin.participant.v30")
        .method(method)
        .build();
    // No transport helpers: the client builds its own channel (timeouts, TLS), and the sandbox
    // serves the server half through axum.
    tonic_build::manual::Builder::new()
        .build_transport(false)
        .compile(&[service]);
    println!("cargo:rerun-if-changed=build.rs");
}
