/// `cargo test -p pairing-core print_reference_hashes -- --ignored --nocapture` prints the hashes to
/// paste above after an intended change.
#[test]
#[ignore]
fn print_reference_hashes() {
    for (seed, _) in super::REFERENCE_HASHES {
        println!(
            "HASH {seed} {}",
            super::run(seed, 200).unwrap().transcript_hash
        );
    }
}

#[test]
fn reference_hashes_hold() {
    for (seed, hash) in super::REFERENCE_HASHES {
        assert_eq!(
            super::run(seed, 200).unwrap().transcript_hash,
            hash,
            "seed {seed}"
        );
    }
}

#[test]
fn a_short_run_is_deterministic() {
    let a = super::run(7, 200).unwrap();
    let b = super::run(7, 200).unwrap();
    assert_eq!(a, b);
    assert_ne!(
        super::run(8, 200).unwrap().transcript_hash,
        a.transcript_hash
    );
}
