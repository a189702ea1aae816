use super::*;
use std::error::Error as _;

#[test]
fn a_store_error_keeps_its_path_and_io_source() {
    let e = StoreError::io_at(
        "/state/nodes.journal",
        "cannot write /state/nodes.journal: disk full",
        io::Error::other("disk full"),
    );
    assert_eq!(
        e.to_string(),
        "cannot write /state/nodes.journal: disk full"
    );
    assert_eq!(e.path(), Some(Path::new("/state/nodes.journal")));
    assert_eq!(
        e.source().map(ToString::to_string).as_deref(),
        Some("disk full")
    );
    let e = StoreError::corrupt("bad");
    assert!(e.path().is_none() && e.source().is_none());
}
