//! Builds the browser approval page into `OUT_DIR/page/`: `pairing-wasm` for `wasm32-unknown-unknown`
//! in a nested cargo with its own target dir, wasm-bindgen (as a library, pinned to the exact
//! `wasm-bindgen` version) for the `web` target, then every asset beside a gzip copy. `src/page.rs`
//! embeds them, so `openclaw gateway` alone serves the page.
//!
//! The recipe and its pitfalls (a shared target dir hangs, host RUSTFLAGS and clippy's wrapper leak
//! into the nested build, `omit_default_module_path(false)`) are measured in the project's
//! `reference/wasm-build.md`.

use flate2::Compression;
use flate2::write::GzEncoder;
use std::env;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Variables that must not reach the nested wasm build (see the module docs).
const SCRUBBED_ENV: [&str; 11] = [
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "RUSTC_WORKSPACE_WRAPPER",
    "CLIPPY_ARGS",
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
];

/// The page's static files, from `wasm/www/`.
const WWW: [&str; 3] = ["index.html", "app.js", "style.css"];

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let ws_root = manifest
        .parent()
        .expect("host/ sits in the workspace")
        .to_owned();
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    for p in [
        "wasm/src",
        "wasm/www",
        "wasm/Cargo.toml",
        "core/src",
        "core/Cargo.toml",
        "Cargo.toml",
        "Cargo.lock",
        "rust-toolchain.toml",
    ] {
        println!("cargo:rerun-if-changed={}", ws_root.join(p).display());
    }

    // One nested target dir for every outer build graph and profile (`<target-dir>/wasm-page`), so
    // clippy, test and run do not each rebuild the wasm from scratch; never the outer dir itself.
    let nested = out_dir
        .ancestors()
        .nth(4)
        .unwrap_or(&out_dir)
        .join("wasm-page");
    let mut cargo = Command::new(env::var_os("CARGO").expect("CARGO"));
    cargo
        .current_dir(&ws_root)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            "pairing-wasm",
            "--target-dir",
        ])
        .arg(&nested)
        .env("CARGO_BUILD_BUILD_DIR", &nested)
        // Small over fast: the page's logic is light, its download is not.
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "z")
        .env("CARGO_PROFILE_RELEASE_LTO", "true")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "0")
        .env("CARGO_PROFILE_RELEASE_PANIC", "abort")
        .stdout(Stdio::from(io::stderr()));
    for var in SCRUBBED_ENV {
        cargo.env_remove(var);
    }
    let status = cargo
        .status()
        .expect("cannot run cargo for the wasm page build");
    assert!(
        status.success(),
        "building pairing-wasm for wasm32-unknown-unknown failed ({status}); run \
         `cargo build --release --target wasm32-unknown-unknown -p pairing-wasm` to see why"
    );

    let web = out_dir.join("web");
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(nested.join("wasm32-unknown-unknown/release/pairing_wasm.wasm"))
        .web(true)
        .expect("the web target is available")
        .typescript(false)
        .omit_default_module_path(false)
        .remove_name_section(true)
        .remove_producers_section(true)
        .generate(&web)
        .expect("wasm-bindgen could not process pairing_wasm.wasm");

    let page = out_dir.join("page");
    std::fs::create_dir_all(&page).expect("create OUT_DIR/page");
    for name in WWW {
        stage(&ws_root.join("wasm/www").join(name), &page.join(name));
    }
    for name in ["pairing_wasm.js", "pairing_wasm_bg.wasm"] {
        stage(&web.join(name), &page.join(name));
    }
}

/// Copies `from` to `to` and writes `to.gz` beside it (best compression, no file name or time in the
/// header, so the bytes are reproducible).
fn stage(from: &Path, to: &Path) {
    let bytes =
        std::fs::read(from).unwrap_or_else(|e| panic!("cannot read {}: {e}", from.display()));
    std::fs::write(to, &bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", to.display()));
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(&bytes).expect("gzip in memory");
    let gz = gz.finish().expect("gzip in memory");
    let mut gz_path = to.as_os_str().to_owned();
    gz_path.push(".gz");
    std::fs::write(&gz_path, gz).expect("write the gzip copy");
}
