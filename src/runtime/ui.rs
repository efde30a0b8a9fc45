//! `GET /debug/ui`: the live inspector page (`docs/operations.md`, "Reading the inspector").
//!
//! One self-contained HTML page: the two machines' Graphviz SVGs that CI keeps current in
//! `docs/diagrams/` (embedded at build time, so the tenant's machine needs no Graphviz), a
//! little CSS and a script that lights the current states from `/debug/events`. No external
//! asset: the SVGs' XML prologue and namespace declarations (the only URLs in them) are
//! stripped, and a Content-Security-Policy forbids loading anything from elsewhere.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::sync::LazyLock;

const TEMPLATE: &str = include_str!("ui/inspector.html");
const SOCKET_SVG: &str = include_str!("../../docs/diagrams/socket_mode.svg");
const ONBOARDING_SVG: &str = include_str!("../../docs/diagrams/onboarding.svg");

/// Only inline script and style, and requests to this origin (the event stream).
const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                   connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

static PAGE: LazyLock<String> = LazyLock::new(|| {
    TEMPLATE
        .replace("{{VERSION}}", env!("CARGO_PKG_VERSION"))
        .replace("{{SOCKET_SVG}}", &inline_svg(SOCKET_SVG))
        .replace("{{ONBOARDING_SVG}}", &inline_svg(ONBOARDING_SVG))
});

/// The page, as served.
pub fn page_html() -> &'static str {
    &PAGE
}

pub(crate) async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_SECURITY_POLICY, CSP),
        ],
        page_html(),
    )
        .into_response()
}

/// Graphviz's standalone SVG made fit for inline HTML: from the `<svg` element on (the XML
/// declaration and DOCTYPE carry the DTD's URL), without the namespace declarations (HTML's
/// parser puts `<svg>` in the SVG namespace by itself).
fn inline_svg(svg: &str) -> String {
    let start = svg.find("<svg").unwrap_or(0);
    svg[start..]
        .replace(r#" xmlns="http://www.w3.org/2000/svg""#, "")
        .replace(r#" xmlns:xlink="http://www.w3.org/1999/xlink""#, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_svgs_lose_every_url() {
        for svg in [SOCKET_SVG, ONBOARDING_SVG] {
            let inline = inline_svg(svg);
            assert!(inline.starts_with("<svg"));
            assert!(!inline.contains("http"), "{inline}");
        }
    }
}
