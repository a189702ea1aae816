use super::*;

#[test]
fn gzip_negotiation() {
    assert!(accepts_gzip(Some("gzip, deflate, br, zstd")));
    assert!(accepts_gzip(Some("br;q=1.0, GZIP;q=0.5")));
    assert!(accepts_gzip(Some("*")));
    assert!(!accepts_gzip(Some("gzip;q=0, br")));
    assert!(!accepts_gzip(Some("identity")));
    assert!(!accepts_gzip(None));
}

#[test]
fn assets_are_embedded_and_gzip_is_smaller() {
    for a in &ASSETS {
        assert!(!a.raw.is_empty(), "{}", a.path);
        assert!(a.gzip.len() < a.raw.len(), "{}", a.path);
    }
    let wasm = find("/pkg/pairing_wasm_bg.wasm").unwrap();
    assert_eq!(&wasm.raw[..4], b"\0asm");
    let glue = std::str::from_utf8(find("/pkg/pairing_wasm.js").unwrap().raw).unwrap();
    // The no-argument init() must find the wasm beside the glue.
    assert!(
        glue.contains("pairing_wasm_bg.wasm"),
        "default module path kept"
    );
    let index = std::str::from_utf8(find("/").unwrap().raw).unwrap();
    assert!(index.contains(r#"<link rel="icon" href="data:,">"#));
    assert!(!index.contains("https://"), "no CDN or external font");
}

/// The size budget (issue 5): wasm + JS at most 150 KB gzipped. Prints the table BENCHMARKS.md
/// quotes: `cargo test -p pairing-host page_size -- --nocapture`.
#[test]
fn page_size_within_budget() {
    let mut code_gz = 0;
    let mut all_gz = 0;
    println!("| asset | raw bytes | gzip bytes |\n|---|---:|---:|");
    for (path, raw, gz) in sizes() {
        println!("| `{path}` | {raw} | {gz} |");
        all_gz += gz;
        if path.ends_with(".js") || path.ends_with(".wasm") {
            code_gz += gz;
        }
    }
    println!("wasm + JS gzipped: {code_gz} B; whole page gzipped: {all_gz} B");
    assert!(code_gz <= 150_000, "wasm + JS is {code_gz} B gzipped");
}

#[tokio::test]
async fn served_with_types_caching_and_gzip() {
    let f = assets();
    let res = warp::test::request()
        .path("/pkg/pairing_wasm_bg.wasm")
        .header("accept-encoding", "gzip, deflate")
        .reply(&f)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/wasm");
    assert_eq!(res.headers()["content-encoding"], "gzip");
    assert_eq!(res.headers()["cache-control"], "no-cache");
    let res = warp::test::request().path("/app.js").reply(&f).await;
    assert!(res.headers().get("content-encoding").is_none());
    assert_eq!(res.body().as_ref(), find("/app.js").unwrap().raw);
    let res = warp::test::request().path("/nope").reply(&f).await;
    assert_eq!(res.status(), 404);
}
