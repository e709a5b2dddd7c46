//! supervisord's command line (`-c -n -e -l -j -d`, their long forms, `-h`,
//! `-v`) over [`crate::daemon::run`]. Hand-written rather than clap so that
//! the small `gwe-supervisord` binary stays small (its resident text is most
//! of the daemon's memory); `gwe supervisord` uses this same parser.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::daemon::{self, Options};

/// The `--help` text.
pub const HELP: &str = "\
Run the supervisord-compatible process supervisor. It reads a supervisord.conf, starts the
[program:x] processes and serves supervisorctl on the configured sockets. Without -n (and without
nodaemon=true in the file) it forks into the background like supervisord.

Usage: gwe supervisord [OPTIONS]

Options:
  -c, --configuration <FILE>  Configuration file (default: supervisord.conf, etc/supervisord.conf,
                              /etc/supervisord.conf, /etc/supervisor/supervisord.conf, the first
                              that exists)
  -n, --nodaemon              Stay in the foreground
  -e, --loglevel <LEVEL>      Log level (critical, error, warn, info, debug, trace, blather)
  -l, --logfile <FILE>        Main log file
  -j, --pidfile <FILE>        pid file
  -d, --directory <DIR>       Directory to chdir to when daemonizing
  -h, --help                  Print this help
  -v, --version               Print the version
";

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    /// Run the daemon; `config` is `None` when `-c` was not given.
    Run(Options, Option<PathBuf>),
    /// Print the help.
    Help,
    /// Print the version.
    Version,
}

/// A command-line error (printed with the usage hint, exit code 2).
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum UsageError {
    /// An option that is not one of supervisord's.
    #[error("unexpected argument '{0}'")]
    Unknown(String),
    /// An option that takes a value came last.
    #[error("option '{0}' needs a value")]
    MissingValue(String),
    /// A value that is not valid UTF-8 where text is needed (`-e`).
    #[error("option '{0}' needs a UTF-8 value")]
    NotUtf8(String),
}

/// Parses the arguments after the program/subcommand name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed, UsageError> {
    let mut opts = Options::default();
    let mut config = None;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let Some(s) = arg.to_str() else {
            return Err(UsageError::Unknown(arg.to_string_lossy().into_owned()));
        };
        // split "--name=value" and "-cvalue"
        let (name, inline): (&str, Option<OsString>) = if let Some(long) = s.strip_prefix("--") {
            match long.split_once('=') {
                Some((n, v)) => (n, Some(v.into())),
                None => (long, None),
            }
        } else if s.len() > 2 && s.starts_with('-') && s.is_char_boundary(2) {
            (&s[1..2], Some(s[2..].into()))
        } else if let Some(short) = s.strip_prefix('-').filter(|r| !r.is_empty()) {
            (short, None)
        } else {
            return Err(UsageError::Unknown(s.to_owned()));
        };
        let flag = match name {
            "h" | "help" => return Ok(Parsed::Help),
            "v" | "version" => return Ok(Parsed::Version),
            "n" | "nodaemon" => {
                if inline.is_some() {
                    return Err(UsageError::Unknown(s.to_owned()));
                }
                opts.nodaemon = true;
                continue;
            }
            "c" | "configuration" => 'c',
            "e" | "loglevel" => 'e',
            "l" | "logfile" => 'l',
            "j" | "pidfile" => 'j',
            "d" | "directory" => 'd',
            _ => return Err(UsageError::Unknown(s.to_owned())),
        };
        let value = match inline.or_else(|| it.next()) {
            Some(v) => v,
            None => return Err(UsageError::MissingValue(s.to_owned())),
        };
        match flag {
            'c' => config = Some(PathBuf::from(value)),
            'e' => {
                let v = value
                    .into_string()
                    .map_err(|_| UsageError::NotUtf8(s.to_owned()))?;
                opts.loglevel = Some(v);
            }
            'l' => opts.logfile = Some(value.into()),
            'j' => opts.pidfile = Some(value.into()),
            _ => opts.directory = Some(value.into()),
        }
    }
    Ok(Parsed::Run(opts, config))
}

fn default_config() -> Option<PathBuf> {
    [
        "supervisord.conf",
        "etc/supervisord.conf",
        "/etc/supervisord.conf",
        "/etc/supervisor/supervisord.conf",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// Runs supervisord from a command line; `args[0]` is the program or
/// subcommand name and is skipped. Exit codes as supervisord: 0, or 2 for a
/// usage, configuration or start-up error.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let progname = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_else(|| "supervisord".into());
    // supervisord's `usage()`: the error, then where help is
    let refuse = |msg: &dyn std::fmt::Display| {
        eprintln!("Error: {msg}\nFor help, use {progname} -h");
        ExitCode::from(2)
    };
    let (mut opts, config) = match parse(args.into_iter().skip(1)) {
        Ok(Parsed::Run(o, c)) => (o, c),
        Ok(Parsed::Help) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Version) => {
            println!("{}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n\nUsage: gwe supervisord [OPTIONS]\n\nFor more information, try '--help'.");
            return ExitCode::from(2);
        }
    };
    let Some(config) = config.or_else(default_config) else {
        return refuse(&"No config file found at default paths; use the -c option to specify a config file at a different path");
    };
    opts.config = config;
    match daemon::run(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => refuse(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> Result<Parsed, UsageError> {
        parse(a.iter().map(OsString::from))
    }

    #[test]
    fn short_long_and_inline_forms() {
        let want = Options {
            config: PathBuf::new(),
            nodaemon: true,
            loglevel: Some("debug".into()),
            logfile: Some("l.log".into()),
            pidfile: Some("p.pid".into()),
            directory: Some("/d".into()),
        };
        let c = Some(PathBuf::from("s.conf"));
        for args in [
            &[
                "-c", "s.conf", "-n", "-e", "debug", "-l", "l.log", "-j", "p.pid", "-d", "/d",
            ][..],
            &["-cs.conf", "-n", "-edebug", "-ll.log", "-jp.pid", "-d/d"],
            &[
                "--configuration=s.conf",
                "--nodaemon",
                "--loglevel",
                "debug",
                "--logfile=l.log",
                "--pidfile",
                "p.pid",
                "--directory=/d",
            ],
        ] {
            assert_eq!(
                p(args),
                Ok(Parsed::Run(want.clone(), c.clone())),
                "{args:?}"
            );
        }
        assert_eq!(p(&[]), Ok(Parsed::Run(Options::default(), None)));
    }

    #[test]
    fn help_and_version() {
        assert_eq!(p(&["-n", "--help"]), Ok(Parsed::Help));
        assert_eq!(p(&["-h"]), Ok(Parsed::Help));
        assert_eq!(p(&["--version"]), Ok(Parsed::Version));
        assert!(HELP.contains("-c, --configuration"));
    }

    #[test]
    fn malformed_arguments_are_usage_errors() {
        assert_eq!(p(&["-c"]), Err(UsageError::MissingValue("-c".into())));
        assert_eq!(
            p(&["--pidfile"]),
            Err(UsageError::MissingValue("--pidfile".into()))
        );
        assert_eq!(p(&["-x"]), Err(UsageError::Unknown("-x".into())));
        assert_eq!(
            p(&["--bogus=1"]),
            Err(UsageError::Unknown("--bogus=1".into()))
        );
        assert_eq!(p(&["stray"]), Err(UsageError::Unknown("stray".into())));
        assert_eq!(p(&["-"]), Err(UsageError::Unknown("-".into())));
        assert_eq!(
            p(&["--nodaemon=yes"]),
            Err(UsageError::Unknown("--nodaemon=yes".into()))
        );
        assert_eq!(p(&["-é"]), Err(UsageError::Unknown("-é".into())));
        let long = "-".repeat(100_000);
        assert!(p(&[&long]).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_arguments() {
        use std::os::unix::ffi::OsStringExt;
        let bad = OsString::from_vec(vec![b'x', 0xff]);
        // paths may be any bytes, the log level may not
        let r = parse([OsString::from("-c"), bad.clone()]);
        assert_eq!(
            r,
            Ok(Parsed::Run(
                Options::default(),
                Some(PathBuf::from(bad.clone()))
            ))
        );
        let r = parse([OsString::from("-e"), bad.clone()]);
        assert_eq!(r, Err(UsageError::NotUtf8("-e".into())));
        assert!(parse([bad]).is_err());
    }
}
