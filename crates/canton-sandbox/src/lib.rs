//! `canton-sandbox`: a small, faithful Canton participant for tests, demos and drills, reachable
//! only over the real wire protocol (JSON Ledger API v2 in the 3.4 shape).
//!
//! Layers, from pure to IO: [`daml`] (value encoding), [`model`] (ledger, projections), [`token`]
//! (Canton Coin-like templates and their transaction trees), [`http`] (the Ledger API and the
//! sandbox-only control API), [`server`] (start/stop), [`scenario`] (seed data).

pub mod daml;
pub mod model;
pub mod token;
