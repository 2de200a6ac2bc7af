//! The operator's status page at `/`: one self-contained HTML document (inline style and
//! script, nothing fetched from elsewhere) that holds no data itself. In the browser it asks
//! for a bearer token and reads the authenticated endpoints like any other client, so serving
//! it publicly weakens nothing.
//!
//! The page is kept as three files (markup, style, script) so each can be read and edited as
//! what it is; they are put together once. Its Content-Security-Policy allows exactly that
//! style and that script (by hash) and requests to this origin only: were an escaping mistake
//! ever to put markup from the data into the page, no injected script would run.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

const MARKUP: &str = include_str!("status_page/page.html");
const STYLE: &str = include_str!("status_page/page.css");
const SCRIPT: &str = include_str!("status_page/page.js");

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(status_page))
}

/// The assembled document and the policy that allows its own style and script only.
struct Page {
    html: String,
    policy: String,
}

fn page() -> &'static Page {
    static PAGE: OnceLock<Page> = OnceLock::new();
    PAGE.get_or_init(|| Page {
        html: MARKUP
            .replacen("/*STYLE*/", STYLE, 1)
            .replacen("/*SCRIPT*/", SCRIPT, 1),
        policy: format!(
            "default-src 'none'; script-src '{}'; style-src '{}'; connect-src 'self'; \
             img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            source_hash(SCRIPT),
            source_hash(STYLE),
        ),
    })
}

/// A CSP hash source: the SHA-256 of an inline element's exact text.
fn source_hash(text: &str) -> String {
    format!(
        "sha256-{}",
        STANDARD.encode(Sha256::digest(text.as_bytes()))
    )
}

/// The status page (HTML, no data: it reads the API with a token given in the browser).
///
/// Give an operator token in the page's form, or in the URL fragment (`/#token=…`, which
/// browsers never send to a server); it stays in the tab's session storage.
#[utoipa::path(get, path = "/", tag = "page",
    responses((status = 200, description = "The status page", content_type = "text/html", body = String)))]
async fn status_page() -> impl IntoResponse {
    let page = page();
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, page.policy.as_str()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        page.html.as_str(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_assembled_whole_and_fetches_nothing_from_elsewhere() {
        let html = &page().html;
        assert!(html.contains(SCRIPT) && html.contains(STYLE));
        assert!(!html.contains("/*STYLE*/") && !html.contains("/*SCRIPT*/"));
        for outside in ["http://", "https://", "//cdn", "src=", "@import"] {
            assert!(!html.contains(outside), "the page refers to {outside}");
        }
        // The script writes text only: markup from the data could not become elements.
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
        ] {
            assert!(!SCRIPT.contains(sink), "the script uses {sink}");
        }
    }
}
