//! The program config of a long-running app, from its `supervisor.conf` in the original's form.
//!
//! The file must hold exactly one section: `[supervisord]` (the original's form, renamed to
//! `[program:<APP_NAME>]`) or `[program:<APP_NAME>]`. Its options win over the imposed defaults
//! (`redirect_stderr = true`, `stdout_logfile_maxbytes = 200KB`, `stdout_logfile_backups = 1`,
//! `stdout_logfile = <log dir>/<APP_NAME>.log`), so a chatty app cannot fill the disk unless it
//! asks to. A missing `command` (the original's `command = command` placeholder) is refused.

use std::path::Path;

use gwe_ini::{Ini, Location};

use crate::error::{Failure, FailureKind};

/// Largest `supervisor.conf` accepted.
pub const MAX_CONF_BYTES: usize = 64 * 1024;

/// The merged program config, ready to be written as `<APP_NAME>.conf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramConf {
    /// The INI text.
    pub text: String,
    /// `autostart` is not false: the health window applies.
    pub autostart: bool,
}

fn refuse(msg: String) -> Failure {
    Failure::new(
        FailureKind::ProgramConfig,
        format!("supervisor.conf: {msg}"),
    )
}

/// Turns the text of an app's `supervisor.conf` into its program config.
pub fn program_conf(app: &str, text: &[u8], log_dir: &Path) -> Result<ProgramConf, Failure> {
    if text.len() > MAX_CONF_BYTES {
        return Err(refuse(format!("larger than {MAX_CONF_BYTES} bytes")));
    }
    let text = std::str::from_utf8(text).map_err(|_| refuse("not UTF-8 text".into()))?;
    let ini = Ini::parse_str(text, Path::new("supervisor.conf"))
        .map_err(|e| refuse(format!("does not parse as INI: {e}")))?;
    if !ini.defaults().is_empty() {
        return Err(refuse(
            "a [DEFAULT] section would change every program of the supervisor: remove it".into(),
        ));
    }
    let program = format!("program:{app}");
    let names: Vec<&str> = ini.section_names().collect();
    let section = match names.as_slice() {
        [] => {
            return Err(refuse(format!(
                "no [supervisord] section (or [{program}]): the file is not recognized"
            )))
        }
        [one] if *one == "supervisord" || *one == program => {
            ini.section(one).ok_or_else(|| refuse("section vanished".into()))?
        }
        [one] => {
            return Err(refuse(format!(
                "section [{one}] is not [supervisord] or [{program}] (the app's name comes from the tarball's name)"
            )))
        }
        many => {
            return Err(refuse(format!(
                "exactly one section is allowed ([supervisord] or [{program}]), found {}",
                many.iter()
                    .map(|s| format!("[{s}]"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    };
    match section.get("command").map(|e| e.value.trim()) {
        None | Some("") | Some("command") => {
            return Err(refuse(format!(
                "[{}] has no `command`: the default placeholder `command = command` always fails; \
                 give the command that starts the app",
                section.name()
            )))
        }
        Some(_) => {}
    }
    let mut out = Ini::new();
    let log = log_dir.join(format!("{app}.log"));
    let defaults = [
        ("redirect_stderr", "true".to_string()),
        ("stdout_logfile_maxbytes", "200KB".to_string()),
        ("stdout_logfile_backups", "1".to_string()),
        ("stdout_logfile", log.display().to_string()),
    ];
    {
        let s = out.section_or_insert(&program, Location::programmatic());
        for entry in section.entries() {
            s.set(&entry.key, &entry.value, Location::programmatic());
        }
        for (k, v) in &defaults {
            if s.get(k).is_none() {
                s.set(k, v, Location::programmatic());
            }
        }
    }
    let autostart = out
        .get(&program, "autostart")
        .map(|e| {
            !matches!(
                e.value.trim().to_ascii_lowercase().as_str(),
                "false" | "no" | "off" | "0"
            )
        })
        .unwrap_or(true);
    let body = out
        .write_string()
        .map_err(|e| refuse(format!("cannot be written back faithfully: {e}")))?;
    Ok(ProgramConf {
        text: format!("; written by Gateway Engine from {app}'s supervisor.conf\n{body}"),
        autostart,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> Result<ProgramConf, Failure> {
        program_conf("app", text.as_bytes(), Path::new("/var/log"))
    }

    #[test]
    fn original_form_gets_defaults_and_own_values_win() {
        let c = conf("[supervisord]\ncommand = /bin/sh /usr/local/bin/example.sh\nstdout_logfile_backups = 5\n").unwrap();
        let ini = Ini::parse_str(&c.text, Path::new("x")).unwrap();
        let g = |k| ini.get("program:app", k).unwrap().value.clone();
        assert_eq!(g("command"), "/bin/sh /usr/local/bin/example.sh");
        assert_eq!(g("stdout_logfile_backups"), "5");
        assert_eq!(g("stdout_logfile_maxbytes"), "200KB");
        assert_eq!(g("redirect_stderr"), "true");
        assert_eq!(g("stdout_logfile"), "/var/log/app.log");
        assert!(c.autostart);
        assert_eq!(ini.section_names().count(), 1);
    }

    #[test]
    fn program_section_accepted_and_autostart_read() {
        let c = conf("[program:app]\ncommand = sleep 1\nautostart = false\n").unwrap();
        assert!(!c.autostart);
    }

    #[test]
    fn refusals_name_the_reason() {
        let cases = [
            ("", "no [supervisord] section"),
            ("command = x\n", "does not parse"),
            ("[supervisord]\n", "no `command`"),
            ("[supervisord]\ncommand = command\n", "placeholder"),
            ("[program:other]\ncommand = x\n", "[program:other] is not"),
            (
                "[supervisord]\ncommand = x\n[program:app]\ncommand = y\n",
                "exactly one section",
            ),
            (
                "[supervisord]\ncommand = x\n[unix_http_server]\nfile=/tmp/x\n",
                "exactly one section",
            ),
            (
                "[DEFAULT]\nuser = root\n[supervisord]\ncommand = x\n",
                "[DEFAULT]",
            ),
            (
                "[supervisord]\ncommand = x\n\u{0}\u{1}garbage line\n",
                "does not parse",
            ),
        ];
        for (text, want) in cases {
            let e = conf(text).unwrap_err();
            assert_eq!(e.kind, FailureKind::ProgramConfig, "{text:?}");
            assert!(e.message.contains(want), "{text:?}: {}", e.message);
        }
        assert!(program_conf("app", &[0xff, 0xfe], Path::new("/l"))
            .unwrap_err()
            .message
            .contains("UTF-8"));
        let big = format!(
            "[supervisord]\ncommand = x\n;{}\n",
            "x".repeat(MAX_CONF_BYTES)
        );
        assert!(conf(&big).unwrap_err().message.contains("larger"));
    }
}
