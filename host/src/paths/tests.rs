use super::*;

#[test]
fn tilde_expands_only_at_the_start() {
    let h = Some(PathBuf::from("/home/u"));
    assert_eq!(
        expand_tilde_with("~/x", h.clone()),
        PathBuf::from("/home/u/x")
    );
    assert_eq!(expand_tilde_with("~", h.clone()), PathBuf::from("/home/u"));
    assert_eq!(
        expand_tilde_with("/a/~b", h.clone()),
        PathBuf::from("/a/~b")
    );
    assert_eq!(expand_tilde_with("~other", h), PathBuf::from("~other"));
}
