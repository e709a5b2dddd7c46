//! Command-line options and the config file, as supervisorctl's
//! `ClientOptions` reads them: getopt-style options up to the first
//! non-option word, then `[supervisorctl]` of the config file (given with
//! `-c` or found at supervisorctl's default paths), then defaults.

use std::path::{Component, Path, PathBuf};

use gwe_ini::Ini;

/// supervisorctl's default server URL.
pub(crate) const DEFAULT_SERVERURL: &str = "http://localhost:9001";

/// Everything needed to run one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    pub serverurl: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub json: bool,
    /// The shell's prompt without `> ` (`[supervisorctl] prompt`).
    pub prompt: String,
    /// The command and its arguments.
    pub command: Vec<String>,
}

/// Result of option parsing.
#[derive(Debug)]
pub(crate) enum Parsed {
    Run(Options),
    Help,
}

#[derive(Default)]
struct Cli {
    config: Option<String>,
    serverurl: Option<String>,
    username: Option<String>,
    password: Option<String>,
    json: bool,
    help: bool,
}

impl Options {
    /// Parses `args` (after `ctl`) and reads the config file.
    pub fn parse(args: &[String]) -> Result<Parsed, String> {
        let (cli, command) = parse_cli(args)?;
        if cli.help {
            return Ok(Parsed::Help);
        }
        let file = match &cli.config {
            Some(c) => Some(PathBuf::from(c)),
            None => default_config_file(),
        };
        let from_file = match &file {
            Some(f) => read_config(f)?,
            None => FileSettings::default(),
        };
        Ok(Parsed::Run(Options {
            serverurl: cli
                .serverurl
                .or(from_file.serverurl)
                .unwrap_or_else(|| DEFAULT_SERVERURL.to_owned()),
            username: cli.username.or(from_file.username),
            password: cli.password.or(from_file.password),
            json: cli.json,
            prompt: from_file.prompt.unwrap_or_else(|| "supervisor".to_owned()),
            command,
        }))
    }
}

/// getopt(3) semantics: options stop at the first non-option word or `--`.
fn parse_cli(args: &[String]) -> Result<(Cli, Vec<String>), String> {
    let mut cli = Cli::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        let value = |name: &str, inline: Option<&str>, i: &mut usize| -> Result<String, String> {
            if let Some(v) = inline {
                return Ok(v.to_owned());
            }
            *i += 1;
            args.get(*i)
                .cloned()
                .ok_or_else(|| format!("option {name} requires argument"))
        };
        if let Some(long) = a.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            match name {
                "configuration" => set_once(
                    &mut cli.config,
                    value("--configuration", inline, &mut i)?,
                    a,
                )?,
                "serverurl" => set_once(
                    &mut cli.serverurl,
                    check_url(value("--serverurl", inline, &mut i)?, a)?,
                    a,
                )?,
                "username" => set_once(&mut cli.username, value("--username", inline, &mut i)?, a)?,
                "password" => set_once(&mut cli.password, value("--password", inline, &mut i)?, a)?,
                "history-file" | "history_file" => {
                    value("--history-file", inline, &mut i)?;
                }
                "help" => cli.help = true,
                "json" => cli.json = true,
                // Without a command the shell starts anyway; with one,
                // supervisorctl runs it and exits (its main() ignores -i).
                "interactive" => {}
                _ => return Err(format!("option --{name} not recognized")),
            }
        } else {
            // Short options may be bundled (`-hj`) and take attached values (`-cfile`).
            let flags = &a[1..];
            for (pos, c) in flags.char_indices() {
                let rest = &flags[pos + c.len_utf8()..];
                let inline = (!rest.is_empty()).then_some(rest);
                let takes_value = matches!(c, 'c' | 's' | 'u' | 'p' | 'r');
                if takes_value {
                    let v = value(&format!("-{c}"), inline, &mut i)?;
                    match c {
                        'c' => set_once(&mut cli.config, v, a)?,
                        's' => set_once(&mut cli.serverurl, check_url(v, a)?, a)?,
                        'u' => set_once(&mut cli.username, v, a)?,
                        'p' => set_once(&mut cli.password, v, a)?,
                        _ => {}
                    }
                    break;
                }
                match c {
                    'h' | '?' => cli.help = true,
                    'j' => cli.json = true,
                    'i' => {}
                    _ => return Err(format!("option -{c} not recognized")),
                }
            }
        }
        i += 1;
    }
    Ok((cli, args[i.min(args.len())..].to_vec()))
}

fn set_once(slot: &mut Option<String>, v: String, opt: &str) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("conflicting command line option {opt:?}"));
    }
    *slot = Some(v);
    Ok(())
}

/// `datatypes.url`: needs a scheme and a netloc or path.
fn check_url(v: String, opt: &str) -> Result<String, String> {
    match v.split_once("://") {
        Some((scheme, rest)) if !scheme.is_empty() && !rest.is_empty() => Ok(v),
        _ => Err(format!(
            "invalid value for {opt} {v:?}: value {v:?} is not a URL"
        )),
    }
}

/// supervisorctl's search path (`Options.searchpaths`); `here` is two
/// levels above the executable, as supervisorctl derives it from argv[0].
fn default_config_file() -> Option<PathBuf> {
    let mut paths = Vec::new();
    if let Some(here) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().and_then(Path::parent).map(Path::to_path_buf))
    {
        paths.push(here.join("etc").join("supervisord.conf"));
        paths.push(here.join("supervisord.conf"));
    }
    for p in [
        "supervisord.conf",
        "etc/supervisord.conf",
        "/etc/supervisord.conf",
        "/etc/supervisor/supervisord.conf",
    ] {
        paths.push(PathBuf::from(p));
    }
    paths.into_iter().find(|p| p.exists())
}

#[derive(Debug, Default)]
struct FileSettings {
    serverurl: Option<String>,
    username: Option<String>,
    password: Option<String>,
    prompt: Option<String>,
}

/// Reads `[supervisorctl]` (required, as supervisorctl requires it).
/// Deliberate extension: without a `serverurl` there, a `[unix_http_server]`
/// `file` (and its `username`/`password`) in the same config is used before
/// the `http://localhost:9001` default.
fn read_config(path: &Path) -> Result<FileSettings, String> {
    if !path.exists() {
        return Err(format!("could not find config file {}", path.display()));
    }
    let ini = Ini::load(path).map_err(|e| e.to_string())?;
    if !ini.has_section("supervisorctl") {
        return Err(".ini file does not include supervisorctl section".into());
    }
    let here = absolute(path)
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let get = |section: &str, key: &str| -> Result<Option<String>, String> {
        match ini.get(section, key) {
            Some(e) => expand(&e.value, &here)
                .map(Some)
                .map_err(|m| format!("{m} in {section}.{key} ({})", e.location)),
            None => Ok(None),
        }
    };
    let mut serverurl = get("supervisorctl", "serverurl")?;
    let mut username = get("supervisorctl", "username")?;
    let mut password = get("supervisorctl", "password")?;
    let prompt = get("supervisorctl", "prompt")?;
    if serverurl.is_none() {
        if let Some(file) = get("unix_http_server", "file")? {
            serverurl = Some(format!("unix://{file}"));
            // The socket's own credentials go with it.
            if username.is_none() {
                username = get("unix_http_server", "username")?;
            }
            if password.is_none() {
                password = get("unix_http_server", "password")?;
            }
        }
    }
    let serverurl = serverurl.map(|u| match u.strip_prefix("unix://") {
        Some(p) => format!("unix://{}", normalize_path(p).display()),
        None => u,
    });
    Ok(FileSettings {
        serverurl,
        username,
        password,
        prompt,
    })
}

/// Python `%`-interpolation with `here` and `ENV_*` (supervisor's `expand`).
fn expand(s: &str, here: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('%') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(r) = after.strip_prefix('%') {
            out.push('%');
            rest = r;
        } else if let Some(r) = after.strip_prefix('(') {
            let close = r
                .find(")s")
                .ok_or_else(|| format!("bad format string {s:?}"))?;
            let name = &r[..close];
            let value = if name == "here" {
                here.to_owned()
            } else if let Some(var) = name.strip_prefix("ENV_") {
                std::env::var(var).map_err(|_| {
                    format!("format string {s:?} names %({name})s which cannot be expanded")
                })?
            } else {
                return Err(format!(
                    "format string {s:?} names %({name})s which cannot be expanded"
                ));
            };
            out.push_str(&value);
            rest = &r[close + 2..];
        } else {
            return Err(format!("bad format string {s:?}"));
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// `os.path.normpath(os.path.abspath(os.path.expanduser(p)))`.
fn normalize_path(p: &str) -> PathBuf {
    let expanded = match p.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => match std::env::var_os("HOME") {
            Some(h) => PathBuf::from(format!("{}{rest}", h.to_string_lossy())),
            None => PathBuf::from(p),
        },
        _ => PathBuf::from(p),
    };
    let abs = absolute(&expanded);
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn getopt_style() {
        let (cli, cmd) = parse_cli(&s(&[
            "-s",
            "unix:///x.sock",
            "-uuser",
            "--password=pw",
            "--json",
            "tail",
            "-100",
            "foo",
        ]))
        .unwrap();
        assert_eq!(cli.serverurl.as_deref(), Some("unix:///x.sock"));
        assert_eq!(cli.username.as_deref(), Some("user"));
        assert_eq!(cli.password.as_deref(), Some("pw"));
        assert!(cli.json);
        assert_eq!(cmd, s(&["tail", "-100", "foo"]));
        let (_, cmd) = parse_cli(&s(&["--", "-x"])).unwrap();
        assert_eq!(cmd, s(&["-x"]));
        assert!(parse_cli(&s(&["-s"])).is_err());
        assert!(parse_cli(&s(&["-x"])).is_err());
        assert!(parse_cli(&s(&["--bogus"])).is_err());
        assert!(parse_cli(&s(&["-s", "nourl"])).is_err());
        assert!(parse_cli(&s(&["-s", "http://a", "-s", "http://b"])).is_err());
        assert!(parse_cli(&s(&["-h"])).unwrap().0.help);
    }

    #[test]
    fn config_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("sup.conf");
        std::env::set_var("GWE_CTL_TEST_USER", "envuser");
        std::fs::write(&f, "[supervisorctl]\nserverurl = unix://%(here)s/../x/./s.sock ; comment\nusername=%(ENV_GWE_CTL_TEST_USER)s\npassword = 100%%\n").unwrap();
        let got = read_config(&f).unwrap();
        let expect = normalize_path(&format!("{}/../x/s.sock", dir.path().display()));
        assert_eq!(got.serverurl, Some(format!("unix://{}", expect.display())));
        assert_eq!(got.username.as_deref(), Some("envuser"));
        assert_eq!(got.password.as_deref(), Some("100%"));

        std::fs::write(
            &f,
            "[unix_http_server]\nfile=/run/s.sock\nusername=u\npassword=p\n[supervisorctl]\n",
        )
        .unwrap();
        let got = read_config(&f).unwrap();
        assert_eq!(got.serverurl.as_deref(), Some("unix:///run/s.sock"));
        assert_eq!(
            (got.username.as_deref(), got.password.as_deref()),
            (Some("u"), Some("p"))
        );

        std::fs::write(&f, "[supervisord]\n").unwrap();
        assert_eq!(
            read_config(&f).unwrap_err(),
            ".ini file does not include supervisorctl section"
        );
        std::fs::write(&f, "[supervisorctl]\nserverurl=%(nope)s\n").unwrap();
        assert!(read_config(&f).is_err());
        assert!(read_config(&dir.path().join("missing.conf"))
            .unwrap_err()
            .starts_with("could not find config file"));
    }
}
