//! supervisord's `datatypes.py` conversions, with the same accepted spellings. Each returns a
//! message (without location) on failure; the loader adds `file:line`.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use crate::config::AutoRestart;

/// Python's `str.strip()` whitespace.
fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// Python `int(s)` for base-10 (`" 12 "`, `"+3"`, `"1_000"`), within i64.
pub fn integer(s: &str) -> Result<i64, String> {
    parse_int(s, 10).ok_or_else(|| format!("{s:?} is not an integer"))
}

fn parse_int(s: &str, radix: u32) -> Option<i64> {
    let t = py_strip(s);
    let (neg, t) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let t = if radix == 8 {
        t.strip_prefix("0o")
            .or_else(|| t.strip_prefix("0O"))
            .unwrap_or(t)
    } else {
        t
    };
    // digits with single underscores between them, like Python's int()
    if t.is_empty() || t.starts_with('_') || t.ends_with('_') || t.contains("__") {
        return None;
    }
    let digits: String = t.chars().filter(|&c| c != '_').collect();
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = i64::from_str_radix(&digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

/// [`integer`] that must be `>= 0` and fit `T`.
pub fn non_negative<T: TryFrom<i64>>(s: &str) -> Result<T, String> {
    let v = integer(s)?;
    if v < 0 {
        return Err(format!("{s:?} must not be negative"));
    }
    T::try_from(v).map_err(|_| format!("{s:?} is too large"))
}

/// `boolean`: true/false, yes/no, on/off, 1/0, any case.
pub fn boolean(s: &str) -> Result<bool, String> {
    match s.to_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" => Ok(false),
        _ => Err(format!(
            "{s:?} is not a valid boolean value (use true/false, yes/no, on/off or 1/0)"
        )),
    }
}

/// `auto_restart`: a boolean or `unexpected`.
pub fn auto_restart(s: &str) -> Result<AutoRestart, String> {
    match s.to_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(AutoRestart::True),
        "no" | "false" | "off" | "0" => Ok(AutoRestart::False),
        "unexpected" => Ok(AutoRestart::Unexpected),
        _ => Err(format!(
            "invalid 'autorestart' value {s:?} (use true, false or unexpected)"
        )),
    }
}

/// `byte_size`: a number with an optional KB/MB/GB suffix (any case, powers of 1024).
pub fn byte_size(s: &str) -> Result<u64, String> {
    let lower = s.to_lowercase();
    let (num, mult) = if let Some(n) = lower.strip_suffix("kb") {
        (n, 1u64 << 10)
    } else if let Some(n) = lower.strip_suffix("mb") {
        (n, 1 << 20)
    } else if let Some(n) = lower.strip_suffix("gb") {
        (n, 1 << 30)
    } else {
        (lower.as_str(), 1)
    };
    let v = parse_int(num, 10)
        .ok_or_else(|| format!("{s:?} is not a byte size (e.g. 1024, 200KB, 50MB, 1GB)"))?;
    if v < 0 {
        return Err(format!("{s:?} must not be negative"));
    }
    (v as u64)
        .checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// `octal_type`: `int(s, 8)` (`022`, `0o22`, `22`).
pub fn octal(s: &str) -> Result<u32, String> {
    match parse_int(s, 8) {
        Some(v) if (0..=0o7777).contains(&v) => Ok(v as u32),
        Some(_) => Err(format!(
            "{s:?} is out of range for a mode (0 to 7777 octal)"
        )),
        None => Err(format!("{s:?} can not be converted to an octal type")),
    }
}

/// Python's `signal` module names (Linux) and their numbers, `SIG_*` constants included
/// because supervisord's SIGNUMS includes them.
fn signal_table() -> Vec<(&'static str, i32)> {
    let mut t = vec![
        ("SIGABRT", libc::SIGABRT),
        ("SIGALRM", libc::SIGALRM),
        ("SIGBUS", libc::SIGBUS),
        ("SIGCHLD", libc::SIGCHLD),
        ("SIGCLD", libc::SIGCHLD),
        ("SIGCONT", libc::SIGCONT),
        ("SIGFPE", libc::SIGFPE),
        ("SIGHUP", libc::SIGHUP),
        ("SIGILL", libc::SIGILL),
        ("SIGINT", libc::SIGINT),
        ("SIGIO", libc::SIGIO),
        ("SIGIOT", libc::SIGIOT),
        ("SIGKILL", libc::SIGKILL),
        ("SIGPIPE", libc::SIGPIPE),
        ("SIGPROF", libc::SIGPROF),
        ("SIGQUIT", libc::SIGQUIT),
        ("SIGSEGV", libc::SIGSEGV),
        ("SIGSTOP", libc::SIGSTOP),
        ("SIGSYS", libc::SIGSYS),
        ("SIGTERM", libc::SIGTERM),
        ("SIGTRAP", libc::SIGTRAP),
        ("SIGTSTP", libc::SIGTSTP),
        ("SIGTTIN", libc::SIGTTIN),
        ("SIGTTOU", libc::SIGTTOU),
        ("SIGURG", libc::SIGURG),
        ("SIGUSR1", libc::SIGUSR1),
        ("SIGUSR2", libc::SIGUSR2),
        ("SIGVTALRM", libc::SIGVTALRM),
        ("SIGWINCH", libc::SIGWINCH),
        ("SIGXCPU", libc::SIGXCPU),
        ("SIGXFSZ", libc::SIGXFSZ),
        ("SIG_BLOCK", 0),
        ("SIG_DFL", 0),
        ("SIG_IGN", 1),
        ("SIG_SETMASK", 2),
        ("SIG_UNBLOCK", 1),
    ];
    #[cfg(any(target_os = "linux", target_os = "android"))]
    t.extend([
        ("SIGPOLL", libc::SIGPOLL),
        ("SIGPWR", libc::SIGPWR),
        ("SIGSTKFLT", libc::SIGSTKFLT),
        ("SIGRTMIN", libc::SIGRTMIN()),
        ("SIGRTMAX", libc::SIGRTMAX()),
    ]);
    t
}

/// `signal_number`: a number, or a name with or without `SIG`, any case.
pub fn signal_number(s: &str) -> Result<i32, String> {
    let table = signal_table();
    let num = match parse_int(s, 10) {
        Some(n) => {
            i32::try_from(n).map_err(|_| format!("value {s:?} is not a valid signal number"))?
        }
        None => {
            let mut name = py_strip(s).to_uppercase();
            if !name.starts_with("SIG") {
                name.insert_str(0, "SIG");
            }
            table
                .iter()
                .find(|(n, _)| *n == name)
                .map(|&(_, v)| v)
                .ok_or_else(|| format!("value {s:?} is not a valid signal name"))?
        }
    };
    if table.iter().any(|&(_, v)| v == num) {
        Ok(num)
    } else {
        Err(format!("value {s:?} is not a valid signal number"))
    }
}

/// `list_of_exitcodes`: comma-separated integers 0..=255 (empty gives none).
pub fn exitcodes(s: &str) -> Result<Vec<i32>, String> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split(',')
        .map(|p| match parse_int(p, 10) {
            Some(v) if (0..=255).contains(&v) => Ok(v as i32),
            _ => Err(format!("not a valid list of exit codes: {s:?}")),
        })
        .collect()
}

/// `list_of_strings`: comma-separated, each stripped (empty gives none).
pub fn list_of_strings(s: &str) -> Vec<String> {
    if s.is_empty() {
        return Vec::new();
    }
    s.split(',').map(|p| py_strip(p).to_owned()).collect()
}

/// `dict_of_key_value_pairs`: `KEY=val,KEY2="v, 2"` through the non-POSIX shlex tokenizer;
/// values lose surrounding quotes. Every fourth token (the comma) is skipped unchecked, as in
/// supervisord.
pub fn key_value_pairs(s: &str) -> Result<BTreeMap<String, String>, String> {
    let tokens = super::shlex::env_tokens(s).map_err(|e| format!("{e} in {s:?}"))?;
    let mut out = BTreeMap::new();
    let mut i = 0;
    while i < tokens.len() {
        if i + 3 > tokens.len() || tokens[i + 1] != "=" {
            return Err(format!("unexpected end of key/value pairs in value {s:?}"));
        }
        let v = tokens[i + 2].trim_matches(['\'', '"']);
        out.insert(tokens[i].clone(), v.to_owned());
        i += 4;
    }
    Ok(out)
}

/// `process_or_group_name`: stripped, without space, `:` or `/`.
pub fn process_or_group_name(s: &str) -> Result<String, String> {
    let t = py_strip(s);
    if let Some(c) = t.chars().find(|c| [' ', ':', '/'].contains(c)) {
        return Err(format!("invalid name {s:?} because of character {c:?}"));
    }
    if t.is_empty() {
        return Err("empty name".to_owned());
    }
    Ok(t.to_owned())
}

/// `logging_level`: one of supervisord's level names, returned lower-case.
pub fn logging_level(s: &str) -> Result<String, String> {
    let l = s.to_lowercase();
    match l.as_str() {
        "critical" | "error" | "warn" | "info" | "debug" | "trace" | "blather" => Ok(l),
        _ => Err(format!(
            "bad logging level name {s:?} (critical, error, warn, info, debug, trace, blather)"
        )),
    }
}

/// `inet_address`: `host:port`, `*:port`, `:port` or `port`; host lower-cased, `*` -> empty.
pub fn inet_address(s: &str) -> Result<(String, u16), String> {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => {
            if p.is_empty() {
                return Err(format!("no port number specified in {s:?}"));
            }
            (h.to_lowercase(), p)
        }
        None => (String::new(), s),
    };
    let port = match parse_int(port, 10) {
        Some(v) if (1..=0xffff).contains(&v) => v as u16,
        _ => return Err(format!("not a valid port number: {port:?}")),
    };
    let host = if host == "*" { String::new() } else { host };
    Ok((host, port))
}

/// `os.path.expanduser`: `~` and `~user` prefixes.
pub fn expanduser(s: &str) -> String {
    let Some(rest) = s.strip_prefix('~') else {
        return s.to_owned();
    };
    let (user, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let home = if user.is_empty() {
        std::env::var("HOME").ok().or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|u| u.dir.to_string_lossy().into_owned())
        })
    } else {
        nix::unistd::User::from_name(user)
            .ok()
            .flatten()
            .map(|u| u.dir.to_string_lossy().into_owned())
    };
    match home {
        Some(h) => {
            let h = if h.len() > 1 {
                h.trim_end_matches('/')
            } else {
                &h
            };
            format!("{h}{tail}")
        }
        None => s.to_owned(),
    }
}

/// `os.path.normpath(os.path.abspath(p))` (lexical: `..` is not resolved through symlinks).
pub fn normalize_path(p: &Path) -> PathBuf {
    let abs = if p.is_absolute() {
        p.to_owned()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(p)
    };
    let mut out = PathBuf::from("/");
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// `existing_dirpath`: `~` expanded; a path whose directory part (if any) exists.
pub fn existing_dirpath(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(expanduser(s));
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() && !d.is_dir() => Err(format!(
            "the directory named as part of the path {s:?} does not exist"
        )),
        _ => Ok(p),
    }
}

/// `existing_directory`: `~` expanded; must be an existing directory.
pub fn existing_directory(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(expanduser(s));
    if p.is_dir() {
        Ok(p)
    } else {
        Err(format!("{s:?} is not an existing directory"))
    }
}

/// `name_to_uid`: a user name or a numeric uid that exists.
pub fn check_user(s: &str) -> Result<(), String> {
    use nix::unistd::{Uid, User};
    let found = match s.parse::<u32>() {
        Ok(uid) => User::from_uid(Uid::from_raw(uid)),
        Err(_) => User::from_name(s),
    };
    match found {
        Ok(Some(_)) => Ok(()),
        _ => Err(format!("invalid user name {s:?}")),
    }
}

/// `colon_separated_user_group`: `user` or `user:group`, both existing.
pub fn check_user_group(s: &str) -> Result<(), String> {
    use nix::unistd::{Gid, Group};
    let (user, group) = match s.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (s, None),
    };
    check_user(user).map_err(|_| format!("invalid user:group definition {s:?}"))?;
    if let Some(g) = group {
        let found = match g.parse::<u32>() {
            Ok(gid) => Group::from_gid(Gid::from_raw(gid)),
            Err(_) => Group::from_name(g),
        };
        if !matches!(found, Ok(Some(_))) {
            return Err(format!("invalid user:group definition {s:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datatypes_accept_supervisords_spellings() {
        assert_eq!(integer(" 12 "), Ok(12));
        assert_eq!(integer("1_000"), Ok(1000));
        assert!(integer("1__0").is_err() && integer("x").is_err() && integer("").is_err());
        for t in ["true", "YES", "On", "1"] {
            assert_eq!(boolean(t), Ok(true));
        }
        for f in ["false", "no", "OFF", "0"] {
            assert_eq!(boolean(f), Ok(false));
        }
        assert!(boolean("maybe").is_err() && boolean("").is_err());
        assert_eq!(auto_restart("Unexpected"), Ok(AutoRestart::Unexpected));
        assert!(auto_restart("maybe").is_err());
        assert_eq!(byte_size("50MB"), Ok(50 << 20));
        assert_eq!(byte_size("200kb"), Ok(200 << 10));
        assert_eq!(byte_size("1GB"), Ok(1 << 30));
        assert_eq!(byte_size("0"), Ok(0));
        assert_eq!(byte_size("12345"), Ok(12345));
        assert!(
            byte_size("5TB").is_err() && byte_size("MB").is_err() && byte_size("-1MB").is_err()
        );
        assert!(byte_size("9999999999999GB").is_err());
        assert_eq!(octal("022"), Ok(0o22));
        assert_eq!(octal("0o700"), Ok(0o700));
        assert_eq!(octal("777"), Ok(0o777));
        assert!(octal("8").is_err() && octal("99999").is_err());
        assert_eq!(signal_number("TERM"), Ok(libc::SIGTERM));
        assert_eq!(signal_number("sigkill"), Ok(libc::SIGKILL));
        assert_eq!(signal_number(" hup "), Ok(libc::SIGHUP));
        assert_eq!(signal_number("15"), Ok(15));
        assert_eq!(signal_number("0"), Ok(0));
        assert!(
            signal_number("NOPE").is_err()
                && signal_number("99").is_err()
                && signal_number("-1").is_err()
        );
        assert_eq!(exitcodes("0, 2"), Ok(vec![0, 2]));
        assert_eq!(exitcodes(""), Ok(vec![]));
        assert!(exitcodes("256").is_err() && exitcodes("0,x").is_err() && exitcodes("-1").is_err());
        assert_eq!(list_of_strings("a, b ,c"), ["a", "b", "c"]);
        assert_eq!(process_or_group_name(" web "), Ok("web".into()));
        for bad in ["a b", "a:b", "a/b", "  "] {
            assert!(process_or_group_name(bad).is_err(), "{bad}");
        }
        assert_eq!(logging_level("DEBUG"), Ok("debug".into()));
        assert!(logging_level("verbose").is_err());
        assert_eq!(
            inet_address("127.0.0.1:9001"),
            Ok(("127.0.0.1".into(), 9001))
        );
        assert_eq!(inet_address("*:9001"), Ok((String::new(), 9001)));
        assert_eq!(inet_address("9001"), Ok((String::new(), 9001)));
        assert!(
            inet_address("host:").is_err()
                && inet_address("h:70000").is_err()
                && inet_address("h:0").is_err()
        );
        assert_eq!(
            normalize_path(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
    }

    #[test]
    fn environment_pairs_like_supervisord() {
        let env = key_value_pairs(r#"A="x, y",B='z',C=/usr/bin:/bin,D=1"#).unwrap();
        let want: Vec<(&str, &str)> = vec![
            ("A", "x, y"),
            ("B", "z"),
            ("C", "/usr/bin:/bin"),
            ("D", "1"),
        ];
        assert_eq!(
            env.iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
            want
        );
        assert!(key_value_pairs("").unwrap().is_empty());
        assert!(key_value_pairs("A=1,B").is_err());
        assert!(key_value_pairs("A").is_err());
        assert!(key_value_pairs("A=\"open").is_err());
    }
}
