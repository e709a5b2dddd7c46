//! The engine's long-running mode as a program of its own: `gwe-engine [--config-dir DIR]
//! [-o|--once]`. `gwe` with no other flag hands over to the `gwe-engine` binary installed beside
//! it (exec, same arguments and environment), because a binary holding only the engine's code
//! keeps far fewer pages resident than the all-in-one `gwe` on a 64 MB gateway. Without that
//! binary, `gwe` runs [`main`] in its own process: both paths are this module.
//!
//! The hand-over is checked: `gwe` passes its [`BUILD_ID`] in [`ENV_EXPECT`] and its own path
//! in [`ENV_FALLBACK`]. A `gwe-engine` built from other sources (an engine update that
//! replaced only `gwe`, a rollback to `gwe.prev`, a stale development build) does not run;
//! it execs the fallback again with [`ENV_IN_PROCESS`] set, and `gwe` runs the engine itself.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use crate::config::{ConfigDir, EngineConfig};
use crate::runner::{run_blocking, RunError, RunOptions};

/// The engine binary's file name, looked for beside `gwe`.
pub const BIN: &str = "gwe-engine";
/// What this build is: the version and a hash of the sources the engine was built from.
pub const BUILD_ID: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "+",
    env!("GWE_ENGINE_SOURCE_HASH")
);
/// Set by `gwe` when it execs `gwe-engine`: the [`BUILD_ID`] the engine must have.
pub const ENV_EXPECT: &str = "GWE_ENGINE_EXPECT_BUILD";
/// Set by `gwe` when it execs `gwe-engine`: the `gwe` to go back to on a mismatch.
pub const ENV_FALLBACK: &str = "GWE_ENGINE_FALLBACK";
/// Tells `gwe` to run the engine in its own process instead of exec'ing `gwe-engine`.
pub const ENV_IN_PROCESS: &str = "GWE_ENGINE_IN_PROCESS";

/// The arguments of the long-running mode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DaemonArgs {
    /// `--config-dir DIR` (else `$GWE_CONFIG_DIR`, else the default).
    pub config_dir: Option<PathBuf>,
    /// `-o/--once`: one check-in, then exit.
    pub once: bool,
}

impl DaemonArgs {
    /// Parses `args` (without the program name) when they are only the long-running mode's
    /// flags, each at most once, spelled in full: `--config-dir DIR`, `--config-dir=DIR`, `-o`,
    /// `--once`. Anything else is `None` (for `gwe`: its full command line handles it).
    pub fn parse(args: &[OsString]) -> Option<DaemonArgs> {
        let mut parsed = DaemonArgs::default();
        let mut it = args.iter();
        let mut once_seen = false;
        while let Some(arg) = it.next() {
            let value = match arg.to_str() {
                Some("-o" | "--once") if !once_seen => {
                    once_seen = true;
                    parsed.once = true;
                    continue;
                }
                Some("--config-dir") => it.next()?.clone(),
                Some(s) => OsString::from(s.strip_prefix("--config-dir=")?),
                None => return None,
            };
            // An empty or flag-like value is left to the full parser (it explains the problem).
            if parsed.config_dir.is_some()
                || value.is_empty()
                || value.as_encoded_bytes().starts_with(b"-")
            {
                return None;
            }
            parsed.config_dir = Some(PathBuf::from(value));
        }
        Some(parsed)
    }
}

/// `gwe-engine ARGS`: `args[0]` is the program name.
pub fn main(args: Vec<OsString>) -> ExitCode {
    check_hand_over(&args);
    let Some(parsed) = DaemonArgs::parse(args.get(1..).unwrap_or_default()) else {
        eprintln!(
            "usage: {BIN} [--config-dir DIR] [-o|--once]\n(the engine's other flags are gwe's)"
        );
        return ExitCode::from(2);
    };
    match run(parsed) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut message = format!("gwe: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                message.push_str(&format!(": {s}"));
                source = s.source();
            }
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// When `gwe` exec'd this binary expecting another build, exec `gwe` back to run the engine
/// in-process (returns only when there is nothing to do or that exec failed).
fn check_hand_over(args: &[OsString]) {
    let expected = std::env::var_os(ENV_EXPECT);
    let fallback = std::env::var_os(ENV_FALLBACK);
    // Not inherited by the apps and scripts the engine starts. SAFETY (edition 2024 wording):
    // nothing else runs yet, this is the first thing the program does.
    std::env::remove_var(ENV_EXPECT);
    std::env::remove_var(ENV_FALLBACK);
    let Some(expected) = expected else {
        return;
    };
    if expected == OsStr::new(BUILD_ID) {
        return;
    }
    let Some(fallback) = fallback else {
        eprintln!(
            "{BIN}: built as {BUILD_ID}, gwe expected {}; running anyway",
            expected.to_string_lossy()
        );
        return;
    };
    let err = Command::new(&fallback)
        .arg0("gwe")
        .args(args.iter().skip(1))
        .env(ENV_IN_PROCESS, "1")
        .exec();
    eprintln!(
        "{BIN}: built as {BUILD_ID}, gwe expected {}; cannot go back to {}: {err}; running anyway",
        expected.to_string_lossy(),
        PathBuf::from(fallback).display()
    );
}

/// Runs the engine until a termination signal (or for one check-in): logging at the level of
/// Engine.config, interrupted OTA installs finished or rolled back, then the check-in cycle
/// with the OTA installer answering `engine_fetch`.
pub fn run(args: DaemonArgs) -> Result<(), RunError> {
    let dir = ConfigDir::locate(args.config_dir);
    init_logging(&dir);
    let options = RunOptions {
        config_dir: dir.clone(),
        once: args.once,
        commands: Some(std::sync::Arc::new(crate::cycle::ota::OtaHandler::new(
            dir.clone(),
        ))),
    };
    crate::cycle::ota::recover(&dir);
    run_blocking(options)
}

/// Logs to stderr at Engine.config's level (INFO while it is broken: the engine reports that
/// itself); the HTTP stack's per-connection chatter only when it warns. A plain target filter:
/// no regex-based directive parser in a long-running process.
fn init_logging(dir: &ConfigDir) {
    use tracing::level_filters::LevelFilter;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let level = dir
        .load_engine()
        .unwrap_or_else(|_| EngineConfig::default())
        .log_level
        .tracing_level();
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(LevelFilter::from_level(level))
        .with_targets(["hyper", "hyper_util", "rustls", "h2"].map(|t| (t, LevelFilter::WARN)));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    let _ = tracing_subscriber::registry()
        .with(fmt)
        .with(filter)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Option<DaemonArgs> {
        DaemonArgs::parse(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn only_the_long_running_flags_parse() {
        assert_eq!(parse(&[]), Some(DaemonArgs::default()));
        let dir = Some(PathBuf::from("/x y"));
        assert_eq!(
            parse(&["--config-dir", "/x y"]),
            Some(DaemonArgs {
                config_dir: dir.clone(),
                once: false
            })
        );
        assert_eq!(
            parse(&["-o", "--config-dir=/x y"]),
            Some(DaemonArgs {
                config_dir: dir,
                once: true
            })
        );
        assert_eq!(parse(&["--once"]).map(|a| a.once), Some(true));
        for other in [
            &["-v"][..],
            &["--config-dir"],
            &["--config-dir", ""],
            &["--config-dir="],
            &["--config-dir", "-o"],
            &["--config-dir", "a", "--config-dir", "b"],
            &["-o", "-o"],
            &["--once", "-o"],
            &["--conf", "a"],
            &["-oe"],
            &["--on"],
            &["-t", "5", "--once"],
            &["--once", "x"],
        ] {
            assert_eq!(parse(other), None, "{other:?}");
        }
    }

    #[test]
    fn build_id_names_the_version_and_the_sources() {
        let (version, hash) = BUILD_ID.split_once('+').unwrap();
        assert_eq!(version, crate::VERSION);
        assert_eq!(hash.len(), 16);
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
