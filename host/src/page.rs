//! The browser approval page, embedded in the binary: `GET /` (when it is not a WebSocket upgrade),
//! `/app.js`, `/pair.js`, `/style.css`, `/pkg/pairing_wasm.js` and `/pkg/pairing_wasm_bg.wasm`.
//!
//! `build.rs` builds the assets (the wasm model and its wasm-bindgen glue, the HTML, CSS and JS) and
//! a gzip copy of each; a client that accepts gzip gets that copy. Every response says `no-cache` so a
//! new gateway build is picked up at once, and the page may not be framed by another site (an approve
//! button must never be clickjacked).

use warp::Filter;
use warp::http::{Response, StatusCode, header};

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// The URL path it is served at.
    pub path: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// The bytes.
    pub raw: &'static [u8],
    /// The same bytes, gzipped.
    pub gzip: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $file:literal, $type:literal) => {
        Asset {
            path: $path,
            content_type: $type,
            raw: include_bytes!(concat!(env!("OUT_DIR"), "/page/", $file)),
            gzip: include_bytes!(concat!(env!("OUT_DIR"), "/page/", $file, ".gz")),
        }
    };
}

/// Every file of the page. The first is the page itself, served at `/`.
pub static ASSETS: [Asset; 6] = [
    asset!("/", "index.html", "text/html; charset=utf-8"),
    asset!("/app.js", "app.js", "text/javascript; charset=utf-8"),
    asset!("/pair.js", "pair.js", "text/javascript; charset=utf-8"),
    asset!("/style.css", "style.css", "text/css; charset=utf-8"),
    asset!(
        "/pkg/pairing_wasm.js",
        "pairing_wasm.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "/pkg/pairing_wasm_bg.wasm",
        "pairing_wasm_bg.wasm",
        "application/wasm"
    ),
];

/// What the page may load: only itself; its wasm needs `wasm-unsafe-eval`, its socket the same host.
const CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
                   connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

/// The asset at `path`, if there is one.
pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// Whether an `Accept-Encoding` value allows gzip (a `gzip` or `*` entry whose `q` is not 0).
pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    accept_encoding.is_some_and(|v| {
        v.split(',').any(|entry| {
            let mut parts = entry.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
    })
}

/// The response for `asset`, gzipped when the client accepts it.
pub fn respond(asset: &'static Asset, accept_encoding: Option<&str>) -> Response<&'static [u8]> {
    let gzip = accepts_gzip(accept_encoding);
    let mut b = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, asset.content_type)
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::VARY, "Accept-Encoding")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::X_FRAME_OPTIONS, "DENY")
        .header(header::REFERRER_POLICY, "no-referrer")
        .header(header::CONTENT_SECURITY_POLICY, CSP);
    if gzip {
        b = b.header(header::CONTENT_ENCODING, "gzip");
    }
    let body = if gzip { asset.gzip } else { asset.raw };
    // Every header above is a valid static value, so building cannot fail.
    b.body(body).unwrap_or_else(|_| Response::new(&[][..]))
}

/// `GET` (or `HEAD`) of any page asset (the page itself at `/`); other paths are rejected for the next
/// filter.
pub fn assets() -> impl Filter<Extract = (Response<&'static [u8]>,), Error = warp::Rejection> + Clone
{
    warp::get()
        .or(warp::head())
        .unify()
        .and(warp::path::full())
        .and_then(|path: warp::path::FullPath| async move {
            find(path.as_str()).ok_or_else(warp::reject::not_found)
        })
        .and(warp::header::optional::<String>("accept-encoding"))
        .map(|asset: &'static Asset, enc: Option<String>| respond(asset, enc.as_deref()))
}

/// Transfer sizes of the page: `(path, raw bytes, gzip bytes)` for every asset.
pub fn sizes() -> Vec<(&'static str, usize, usize)> {
    ASSETS
        .iter()
        .map(|a| (a.path, a.raw.len(), a.gzip.len()))
        .collect()
}

#[cfg(test)]
mod tests;
