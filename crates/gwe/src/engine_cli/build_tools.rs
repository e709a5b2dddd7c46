//! The app build tools of `gwe`: `-x/--create-buildfile`, `-w/--check-buildfile`,
//! `-y/--build-app-tarball`, `-z/--check-tarball` (bodies in `gwe_package::cli`) and the signing
//! flags `--gen-signing-key`, `--sign-tarball`, `--check-signature`.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use gwe_package::{cli, BuildOptions, Limits, TrustedKeys, DEFAULT_BUILDFILE};

use super::args::Args;

/// Runs the build-tool flags that were given, in the original's order; `None` when none was.
pub fn run(args: &Args) -> Option<anyhow::Result<ExitCode>> {
    if !args.build_tool_given() {
        if args.app_name.is_some() || args.app_version.is_some() {
            return Some(Err(anyhow::anyhow!(
                "--app-name/--app-version answer --create-buildfile; give -x too"
            )));
        }
        if args.key.is_some() {
            return Some(Err(anyhow::anyhow!(
                "--key goes with --sign-tarball or --check-signature"
            )));
        }
        return None;
    }
    Some(run_given(args))
}

fn run_given(args: &Args) -> anyhow::Result<ExitCode> {
    let mut ok = true;
    let mut out = std::io::stdout().lock();
    if args.create_buildfile {
        let cwd = std::env::current_dir().context("current directory")?;
        let stdin = std::io::stdin();
        cli::create_buildfile_command(
            &cwd,
            args.app_name.as_deref(),
            args.app_version.as_deref(),
            stdin.is_terminal(),
            args.json,
            &mut stdin.lock(),
            &mut out,
        )?;
    }
    if let Some(file) = &args.check_buildfile {
        ok &= cli::check_buildfile_command(file, args.json, &mut out)?;
    }
    if let Some(file) = &args.build_app_tarball {
        let file = file.clone().unwrap_or_else(|| DEFAULT_BUILDFILE.into());
        ok &= cli::build_app_command(
            &file,
            &BuildOptions::default(),
            args.json,
            false,
            &mut out,
            &mut std::io::stderr(),
        )?;
    }
    if let Some(tarball) = &args.check_tarball {
        ok &= cli::check_tarball_command(tarball, &Limits::default(), args.json, &mut out)?;
    }
    if let Some(name) = &args.gen_signing_key {
        let dir = std::env::current_dir().context("current directory")?;
        let pair = gwe_package::generate_keypair(&dir, name)?;
        writeln!(out, "key id: {}", pair.key_id)?;
        writeln!(
            out,
            "private key (keep it secret): {}",
            pair.private_key.display()
        )?;
        writeln!(
            out,
            "public key (copy it into the gateways' trusted keys directory): {}",
            pair.public_key.display()
        )?;
    }
    if let Some(tarball) = &args.sign_tarball {
        let key = args
            .key
            .as_deref()
            .context("--sign-tarball needs --key PRIVATE_KEY_FILE")?;
        let sig = gwe_package::sign_tarball(tarball, key)?;
        writeln!(out, "{}", sig.display())?;
    }
    if let Some(tarball) = &args.check_signature {
        let key = args
            .key
            .as_deref()
            .context("--check-signature needs --key PUBLIC_KEY_FILE_OR_DIR")?;
        ok &= check_signature(tarball, key, &mut out)?;
    }
    out.flush()?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Verifies `<tarball>.sig` against one public key file or every `*.pub` of a directory.
fn check_signature(tarball: &Path, key: &Path, out: &mut dyn Write) -> anyhow::Result<bool> {
    let keys = if key.is_dir() {
        TrustedKeys::load_dir(key)?
    } else {
        let mut keys = TrustedKeys::default();
        keys.add_file(key)?;
        keys
    };
    match gwe_package::verify_tarball(tarball, &keys) {
        Ok(v) => {
            writeln!(
                out,
                "[PASS] {} signed by key {} (sha256 {})",
                v.file, v.key_id, v.sha256
            )?;
            Ok(true)
        }
        Err(e) => {
            writeln!(out, "[FAIL] {}: {e}", tarball.display())?;
            Ok(false)
        }
    }
}
