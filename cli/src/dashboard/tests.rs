use super::*;

#[test]
fn links_follow_the_scheme_and_keep_the_token_in_the_fragment() {
    assert_eq!(
        page_link("ws://127.0.0.1:18789/", "t0k"),
        "http://127.0.0.1:18789/#token=t0k"
    );
    assert_eq!(
        page_link("wss://gw.lan:18789/", "t0k"),
        "https://gw.lan:18789/#token=t0k"
    );
}

#[test]
fn the_forwarding_page_escapes_the_link() {
    let page = forwarding_page("http://h/#token=a\"b<c&d");
    assert!(
        page.contains("url=http://h/#token=a&quot;b&lt;c&amp;d\""),
        "{page}"
    );
    assert!(!page.contains("a\"b"), "{page}");
}
