//! The seeded workload (pairing_core::workload) over many seeds: invariants after every step.
//!
//! `SEEDS=N` runs N seeds (default 300), `SEED=x` replays one, `STEPS=n` sets steps per seed
//! (default 300). A failure names the seed and step; replay it with `SEED=<seed>`.

use pairing_core::workload;

fn env(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

#[test]
fn seeded_workloads_keep_every_invariant() {
    let steps = env("STEPS").unwrap_or(300) as usize;
    let seeds: Vec<u64> = match env("SEED") {
        Some(s) => vec![s],
        None => (1..=env("SEEDS").unwrap_or(300)).collect(),
    };
    let (mut approvals, mut crashes, mut failed) = (0, 0, 0);
    for &seed in &seeds {
        match workload::run(seed, steps) {
            Ok(r) => {
                approvals += r.approvals;
                crashes += r.crashes;
                failed += r.failed_commits;
            }
            Err(v) => panic!(
                "invariant broken — replay with SEED={} STEPS={steps}: {v}",
                v.seed
            ),
        }
    }
    eprintln!(
        "{} seeds × {steps} steps: {approvals} approvals, {crashes} crashes, {failed} failed commits",
        seeds.len()
    );
    assert!(
        approvals > 0 && crashes > 0 && failed > 0,
        "the workload exercised too little"
    );
}
