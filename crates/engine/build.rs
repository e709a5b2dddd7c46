//! Emits `GWE_ENGINE_SOURCE_HASH`: a hash of the sources the engine is built from (this crate,
//! the workspace crates it depends on, the lock file). `gwe` and the `gwe-engine` binary are
//! built separately (different profiles); they compare this hash when `gwe` hands the engine
//! over to `gwe-engine`, so a stale or mismatched sibling binary is never run as the engine.

use std::path::{Path, PathBuf};

/// Workspace crates compiled into the engine (their `src` trees and manifests).
const CRATES: [&str; 7] = [
    "engine",
    "ota",
    "device-client",
    "device-api",
    "supervisor-client",
    "package",
    "ini",
];

/// FNV-1a, 64 bit: stable across toolchains (std's hasher is not).
fn fnv(hash: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *hash ^= u64::from(*b);
        *hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let crates_dir = manifest.parent().unwrap_or(&manifest).to_path_buf();
    let mut inputs = Vec::new();
    for name in CRATES {
        let dir = crates_dir.join(name);
        println!("cargo:rerun-if-changed={}", dir.join("src").display());
        println!(
            "cargo:rerun-if-changed={}",
            dir.join("Cargo.toml").display()
        );
        files(&dir.join("src"), &mut inputs);
        inputs.push(dir.join("Cargo.toml"));
    }
    let lock = crates_dir.join("../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    inputs.push(lock);
    inputs.sort();
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for path in &inputs {
        // Relative names, so that the hash does not depend on where the checkout is.
        let name = path.strip_prefix(&crates_dir).unwrap_or(path);
        fnv(&mut hash, name.to_string_lossy().as_bytes());
        fnv(&mut hash, &[0]);
        if let Ok(bytes) = std::fs::read(path) {
            fnv(&mut hash, &bytes);
        }
        fnv(&mut hash, &[0]);
    }
    println!("cargo:rustc-env=GWE_ENGINE_SOURCE_HASH={hash:016x}");
}
