//! The routes, one module per resource. Each registers its handlers with `utoipa_axum`, so
//! a route and its OpenAPI operation are one declaration and cannot drift apart.

pub mod accounts;
pub mod deposits;
pub mod health;
pub mod metrics;
pub mod operator;
pub mod status_page;
pub mod treasury;
pub mod withdrawals;
