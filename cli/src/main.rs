//! `openclaw`: the command-line tool (`openclaw gateway`, `openclaw nodes …`, `openclaw node pair`).
//!
//! Not built yet: it arrives with issue #4. Until then the binary says so and exits non-zero, so no
//! script mistakes it for a working gateway.

fn main() {
    eprintln!("openclaw: not implemented yet; the gateway and the CLI arrive with issue #4");
    std::process::exit(1);
}
