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
const WWW: [&str; 4] = ["index.html", "app.js", "pair.js", "style.css"];

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

    ensure_wasm_target();

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
    if !status.success() {
        fail(&format!(
            "building the approval page (pairing-wasm for wasm32-unknown-unknown) failed ({status}); \
             its errors are above. To see them alone, run:\n    \
             cargo build --release --target wasm32-unknown-unknown -p pairing-wasm"
        ));
    }

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

/// The target the page is compiled for.
const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Makes sure the toolchain building us has the wasm32 standard library, installing it with rustup when
/// it is missing: rustup 1.29 does not install the targets `rust-toolchain.toml` lists when the stable
/// toolchain is already there, and without the target the nested build fails with an unhelpful "can't
/// find crate for `core`".
fn ensure_wasm_target() {
    if wasm_std_present() {
        return;
    }
    let toolchain = env::var("RUSTUP_TOOLCHAIN").ok();
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", WASM_TARGET]);
    if let Some(t) = &toolchain {
        rustup.args(["--toolchain", t]);
    }
    println!(
        "cargo:warning=the {WASM_TARGET} target was missing; installing it with `rustup target add {WASM_TARGET}` (once)"
    );
    match rustup.stdout(Stdio::from(io::stderr())).status() {
        Ok(s) if s.success() && wasm_std_present() => {}
        Ok(s) => fail(&format!(
            "the approval page needs the {WASM_TARGET} target, and `rustup target add {WASM_TARGET}` failed ({s}). \
             Run it yourself and build again:\n    rustup target add {WASM_TARGET}{}",
            toolchain
                .map(|t| format!(" --toolchain {t}"))
                .unwrap_or_default()
        )),
        Err(e) => fail(&format!(
            "the approval page needs the {WASM_TARGET} target, which this Rust toolchain lacks, and rustup \
             could not be run ({e}). Install the target for the toolchain in use (with rustup: \
             `rustup target add {WASM_TARGET}`) and build again."
        )),
    }
}

/// Whether the sysroot of the compiler building us has the wasm32 standard library.
fn wasm_std_present() -> bool {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(out) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let lib = sysroot.join("lib/rustlib").join(WASM_TARGET).join("lib");
    std::fs::read_dir(lib).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("libcore-") && name.ends_with(".rlib")
        })
    })
}

/// Stops the build with one message that says what to do (cargo shows a build script's panic text).
fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    panic!("{message}");
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
