//! The OpenAPI 3.1 document: the routes' own declarations (`utoipa_axum`), the schemas of
//! their types, two bearer security schemes (one per role), and the problems every
//! authenticated operation can answer with, added once here rather than on each route.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr, Response};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::problem::{PROBLEM_JSON, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "canton-exchange API",
        description = "The exchange's internal systems and operators over the Canton Integration DB: deposit accounts, deposits, withdrawals, the treasury and operations. Amounts are decimal strings; errors are application/problem+json with a stable `code`.",
    ),
    components(schemas(Problem)),
    modifiers(&Security),
    tags(
        (name = "accounts", description = "Deposit accounts, balances and journals"),
        (name = "deposits", description = "Deposits, credited or not"),
        (name = "withdrawals", description = "Customer withdrawals"),
        (name = "treasury", description = "Holdings and reconciliation"),
        (name = "operator", description = "Operations (operator role)"),
        (name = "health", description = "Liveness, readiness and metrics (no authentication)"),
        (name = "page", description = "The operators' status page (HTML without data, no authentication: it reads the API with a token given in the browser)"),
    )
)]
struct Base;

/// The bearer schemes and the problems of authenticated operations.
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Document) {
        if let Some(components) = doc.components.as_mut() {
            for (name, role) in [
                ("internal", "the exchange's internal systems"),
                ("operator", "operators"),
            ] {
                let mut http = Http::new(HttpAuthScheme::Bearer);
                http.description = Some(format!("A token of {role}"));
                components.add_security_scheme(name, SecurityScheme::Http(http));
            }
        }
        for item in doc.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post].into_iter().flatten() {
                let responses = &mut op.responses.responses;
                if op.security.is_some() {
                    add(
                        responses,
                        "401",
                        "`unauthorized`: no token, or an unknown one",
                    );
                    add(
                        responses,
                        "403",
                        "`forbidden`: the token's role may not do this",
                    );
                    add(responses, "503", "`database-unavailable`");
                }
                add(responses, "500", "`internal`: logged, details withheld");
            }
        }
    }
}

fn add(
    responses: &mut std::collections::BTreeMap<String, RefOr<Response>>,
    status: &str,
    why: &str,
) {
    responses.entry(status.to_owned()).or_insert_with(|| {
        let mut response = Response::new(why);
        response.content.insert(
            PROBLEM_JSON.to_owned(),
            Content::new(Some(Ref::from_schema_name("Problem"))),
        );
        RefOr::T(response)
    });
}

/// Every route, with its documentation.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(Base::openapi())
        .merge(crate::routes::accounts::router())
        .merge(crate::routes::deposits::router())
        .merge(crate::routes::withdrawals::router())
        .merge(crate::routes::treasury::router())
        .merge(crate::routes::operator::router())
        .merge(crate::routes::health::router())
        // Documented like any route (as `text/html`), so the contract test holds it to the
        // router too: `/` answers GET only, without a token.
        .merge(crate::routes::status_page::router())
        .merge(crate::routes::metrics::router())
        .routes(routes!(openapi_json))
}

/// The document, built once.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let (_, mut doc) = api_router().split_for_parts();
        // Modifiers ran on the base document only: run again over the merged routes.
        Security.modify(&mut doc);
        doc.to_pretty_json()
            .expect("the OpenAPI document serializes")
    })
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "health",
    responses((status = 200, description = "The OpenAPI 3.1 document")))]
async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document())
}
