use super::*;

#[test]
fn page_links_follow_the_scheme() {
    let url = endpoint::parse_url("ws://127.0.0.1:5/", false).unwrap();
    assert_eq!(page_link(&url, "T"), "http://127.0.0.1:5/#token=T");
    let url = endpoint::parse_url("wss://gw.lan:5/", false).unwrap();
    assert_eq!(page_link(&url, "T"), "https://gw.lan:5/#token=T");
}
