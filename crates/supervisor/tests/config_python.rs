//! The strongest compatibility check of config loading: every fixture config is loaded by the
//! real supervisord 4.3 (`supervisor.options.ServerOptions`, pip-installed) and by us, and the
//! resulting programs, groups and server settings are compared field by field. Also checks
//! that configs supervisord refuses are refused here too.
//! python3 with the `supervisor` package is required (CI installs it); missing ones fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use gwe_supervisor::config::{self, AutoRestart, Config, LogTarget};
use serde_json::{json, Value};

/// Loads each config named on stdin with supervisord's own code; one JSON line per config.
const PY_SUPERVISORD: &str = r#"
import json, os, sys
from supervisor.options import ServerOptions
from supervisor.datatypes import Automatic, Syslog, RestartUnconditionally, RestartWhenExitUnexpected
from supervisor.loggers import LOG_LEVELS_BY_NUM
LEVELS = {50: 'critical', 40: 'error', 30: 'warn', 20: 'info', 10: 'debug', 5: 'trace', 3: 'blather'}
def norm(p):
    return os.path.normpath(os.path.abspath(p))
def logfile(v):
    if v is None: return 'NONE'
    if v is Automatic: return 'AUTO'
    if v is Syslog: return 'SYSLOG'
    return v
def restart(v):
    if v is RestartUnconditionally: return 'true'
    if v is RestartWhenExitUnexpected: return 'unexpected'
    return 'false'
for path in sys.stdin.read().split('\n'):
    if not path:
        continue
    o = ServerOptions()
    o.configfile = path
    try:
        o.process_config(do_usage=False)
    except ValueError as e:
        print(json.dumps({'err': str(e)}))
        continue
    s = o.configroot.supervisord
    groups = []
    for g in s.process_group_configs:
        procs = []
        for p in g.process_configs:
            procs.append({
                'name': p.name, 'command': p.command, 'priority': p.priority,
                'autostart': p.autostart, 'autorestart': restart(p.autorestart),
                'startsecs': p.startsecs, 'startretries': p.startretries,
                'exitcodes': p.exitcodes, 'stopsignal': p.stopsignal,
                'stopwaitsecs': p.stopwaitsecs, 'stopasgroup': p.stopasgroup,
                'killasgroup': p.killasgroup, 'uid': p.uid, 'directory': p.directory,
                'umask': p.umask, 'environment': p.environment,
                'redirect_stderr': p.redirect_stderr, 'serverurl': p.serverurl,
                'stdout': [logfile(p.stdout_logfile), p.stdout_logfile_maxbytes,
                           p.stdout_logfile_backups, p.stdout_capture_maxbytes,
                           p.stdout_events_enabled, p.stdout_syslog],
                'stderr': [logfile(p.stderr_logfile), p.stderr_logfile_maxbytes,
                           p.stderr_logfile_backups, p.stderr_capture_maxbytes,
                           p.stderr_events_enabled, p.stderr_syslog],
            })
        groups.append({'name': g.name, 'priority': g.priority, 'processes': procs})
    servers = []
    for c in s.server_configs:
        if 'file' in c:
            servers.append({'unix': c['file'], 'chmod': c['chmod'],
                            'username': c['username'], 'password': c['password']})
        else:
            servers.append({'inet': [c['host'], c['port']],
                            'username': c['username'], 'password': c['password']})
    print(json.dumps({'ok': {
        'supervisord': {
            'logfile': norm(s.logfile), 'logfile_maxbytes': s.logfile_maxbytes,
            'logfile_backups': s.logfile_backups, 'loglevel': LEVELS[s.loglevel],
            'pidfile': norm(s.pidfile), 'nodaemon': bool(s.nodaemon), 'silent': bool(s.silent),
            'minfds': s.minfds, 'minprocs': s.minprocs, 'umask': s.umask, 'identifier': s.identifier,
            'directory': s.directory, 'strip_ansi': bool(s.strip_ansi),
            'environment': s.environment, 'childlogdir': norm(s.childlogdir),
            'nocleanup': bool(s.nocleanup),
        },
        'groups': groups,
        'servers': servers,
    }}))
"#;

fn uid_of(user: &Option<String>) -> Value {
    match user {
        None => Value::Null,
        Some(u) => match u.parse::<u32>() {
            Ok(n) => json!(n),
            Err(_) => match nix::unistd::User::from_name(u) {
                Ok(Some(p)) => json!(p.uid.as_raw()),
                _ => json!(format!("unknown user {u}")),
            },
        },
    }
}

fn log_json(l: &config::LogConfig) -> Value {
    let target = match &l.target {
        LogTarget::Auto => json!("AUTO"),
        // supervisord turns `syslog` into no file plus the syslog flag
        LogTarget::None | LogTarget::Syslog => json!("NONE"),
        LogTarget::File(p) => json!(p),
    };
    json!([
        target,
        l.maxbytes,
        l.backups,
        l.capture_maxbytes,
        l.events_enabled,
        l.syslog
    ])
}

/// Our model in the shape the Python side prints.
fn ours(c: &Config) -> Value {
    let s = &c.supervisord;
    let groups: Vec<Value> = c
        .groups
        .iter()
        .map(|g| {
            let procs: Vec<Value> = g
                .processes
                .iter()
                .map(|p| {
                    // supervisord stores the merged environment in the process config
                    let mut env = s.environment.clone();
                    env.extend(p.environment.clone());
                    json!({
                        "name": p.name, "command": p.command, "priority": p.priority,
                        "autostart": p.autostart,
                        "autorestart": match p.autorestart {
                            AutoRestart::True => "true",
                            AutoRestart::False => "false",
                            AutoRestart::Unexpected => "unexpected",
                        },
                        "startsecs": p.startsecs, "startretries": p.startretries,
                        "exitcodes": p.exitcodes, "stopsignal": p.stopsignal,
                        "stopwaitsecs": p.stopwaitsecs, "stopasgroup": p.stopasgroup,
                        "killasgroup": p.killasgroup, "uid": uid_of(&p.user),
                        "directory": p.directory, "umask": p.umask, "environment": env,
                        "redirect_stderr": p.redirect_stderr, "serverurl": p.serverurl,
                        "stdout": log_json(&p.stdout), "stderr": log_json(&p.stderr),
                    })
                })
                .collect();
            json!({"name": g.name, "priority": g.priority, "processes": procs})
        })
        .collect();
    let mut servers = Vec::new();
    if let Some(i) = &c.inet_http_server {
        let (host, port) = match i.port.rsplit_once(':') {
            Some((h, p)) => (
                if h == "*" { "" } else { h }.to_lowercase(),
                p.parse::<u16>().unwrap_or(0),
            ),
            None => (String::new(), i.port.parse::<u16>().unwrap_or(0)),
        };
        servers.push(json!({"inet": [host, port], "username": i.username, "password": i.password}));
    }
    if let Some(u) = &c.unix_http_server {
        servers.push(json!({"unix": u.file, "chmod": u.chmod, "username": u.username, "password": u.password}));
    }
    json!({"ok": {
        "supervisord": {
            "logfile": s.logfile, "logfile_maxbytes": s.logfile_maxbytes,
            "logfile_backups": s.logfile_backups, "loglevel": s.loglevel,
            "pidfile": s.pidfile, "nodaemon": s.nodaemon, "silent": s.silent,
            "minfds": s.minfds, "minprocs": s.minprocs, "umask": s.umask,
            "identifier": s.identifier, "directory": s.directory, "strip_ansi": s.strip_ansi,
            "environment": s.environment, "childlogdir": s.childlogdir, "nocleanup": s.nocleanup,
        },
        "groups": groups,
        "servers": servers,
    }})
}

fn run_supervisord_options(paths: &[PathBuf]) -> Vec<Value> {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(PY_SUPERVISORD)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("python3 is required (CI installs it with `pip install supervisor`): {e}")
        });
    {
        use std::io::Write;
        let list: String = paths.iter().map(|p| format!("{}\n", p.display())).collect();
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin.write_all(list.as_bytes()).expect("write to python");
    }
    let out = child.wait_with_output().expect("python3 output");
    assert!(
        out.status.success(),
        "python3 with the supervisor package failed (CI must `pip install supervisor==4.3.0`): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8 from python");
    let results: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(results.len(), paths.len());
    results
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn fixtures_load_exactly_as_supervisord_loads_them() {
    let mut paths: Vec<PathBuf> = [
        "basic.conf",
        "full.conf",
        "numprocs.conf",
        "groups.conf",
        "defaults.conf",
        "comments.conf",
        "includes/supervisord.conf",
    ]
    .iter()
    .map(|n| data(n))
    .collect();
    // The embedded sample too, from a temp dir (its paths are all under %(here)s).
    let dir = tempfile::tempdir().expect("temp dir");
    let sample = dir.path().join("supervisord.conf");
    std::fs::write(&sample, config::sample()).expect("write sample");
    paths.push(sample);

    let theirs = run_supervisord_options(&paths);
    for (path, py) in paths.iter().zip(&theirs) {
        assert!(
            py.get("ok").is_some(),
            "supervisord refused fixture {}: {py}",
            path.display()
        );
        let groups = py["ok"]["groups"].as_array().map_or(0, Vec::len);
        assert!(
            groups > 0,
            "{}: a fixture without programs proves little",
            path.display()
        );
        let model =
            config::load(path).unwrap_or_else(|e| panic!("we refused {}: {e}", path.display()));
        let us = ours(&model);
        if us != *py {
            // Show the first differing part to make failures readable.
            for key in ["supervisord", "servers", "groups"] {
                assert_eq!(
                    us["ok"][key],
                    py["ok"][key],
                    "{}: {key} differs",
                    path.display()
                );
            }
        }
        assert_eq!(us, *py, "{}", path.display());
    }
}

/// Configs both supervisord and we must refuse.
const BAD: &[&str] = &[
    "[supervisord]\n[program:x]\ncommand=x\nautorestart=maybe\n",
    "[supervisord]\n[program:x]\n",
    "[supervisord]\n[program:x]\ncommand=x\nstopsignal=FOO\n",
    "[supervisord]\n[program:x]\ncommand=x\nstartsecs=abc\n",
    "[supervisord]\n[program:x]\ncommand=%(nope)s\n",
    "[supervisord]\n[program:x]\ncommand=x\nnumprocs=2\n",
    "[supervisord]\n[program:x]\ncommand=x\nstopasgroup=true\nkillasgroup=false\n",
    "[supervisord]\n[program:x]\ncommand=x\nexitcodes=0,256\n",
    "[supervisord]\n[program:x]\ncommand=x\numask=9\n",
    "[supervisord]\n[program:x]\ncommand=x\nstdout_logfile_maxbytes=5TB\n",
    "[supervisord]\n[program:x y]\ncommand=x\n",
    "[supervisord]\n[program:x]\ncommand=x\nprocess_name=a/b\n",
    "[supervisord]\n[program:x]\ncommand=x\nstdout_logfile=/nonexistent-dir/x.log\n",
    "[supervisord]\n[program:x]\ncommand=x\nenvironment=A\n",
    "[supervisord]\n[program:x]\ncommand=x\nuser=no-such-user-gwe\n",
    "[supervisord]\n[group:g]\nprograms=missing\n",
    "[supervisord]\nloglevel=verbose\n",
    "[supervisord]\nminfds=many\n",
    "[supervisord]\nchildlogdir=/nonexistent-dir\n",
    "[supervisord]\n[inet_http_server]\nport=host:\n",
    "[supervisord]\n[inet_http_server]\nport=1\nusername=u\n",
    "[supervisord]\n[unix_http_server]\nchmod=0700\n",
    "[supervisord]\n[unix_http_server]\nfile=/tmp/x.sock\nchmod=abc\n",
    "[supervisord]\n[include]\n",
    "[program:x]\ncommand=x\n",
    "k = v\n[supervisord]\n",
    "[supervisord]\nnovalue\n",
];

#[test]
fn configs_supervisord_refuses_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let paths: Vec<PathBuf> = BAD
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let p = dir.path().join(format!("bad-{i}.conf"));
            std::fs::write(&p, text).expect("write config");
            p
        })
        .collect();
    let theirs = run_supervisord_options(&paths);
    for ((path, text), py) in paths.iter().zip(BAD).zip(&theirs) {
        // MissingSectionHeader / ParsingError escape read_config as exceptions other than
        // ValueError in some cases; either way supervisord must not have produced a config.
        assert!(py.get("ok").is_none(), "supervisord accepted {text:?}");
        let e = config::load(path).expect_err(text);
        let shown = e.to_string();
        assert!(
            shown.starts_with(&format!("{}:", path.display())),
            "error must start with the file name: {shown}"
        );
    }
}

/// Deterministic xorshift64*, so a failing config can be reproduced.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Option values, valid and invalid, for the generated corpus. Left out on purpose: the
/// documented differences (negative startsecs/startretries/stopwaitsecs, empty or
/// unparsable commands, duplicate group names), which supervisord accepts and we refuse.
const PROGRAM_OPTIONS: &[(&str, &[&str])] = &[
    ("priority", &["1", "-5", "999", "x", "1_0", " 7", "300"]),
    (
        "autostart",
        &["true", "FALSE", "yes", "no", "on", "off", "1", "0", "maybe"],
    ),
    (
        "autorestart",
        &[
            "true",
            "false",
            "unexpected",
            "Unexpected",
            "sometimes",
            "1",
        ],
    ),
    ("startsecs", &["0", "1", "10", "abc"]),
    ("startretries", &["0", "3", "100", "x"]),
    (
        "exitcodes",
        &["0", "0,2", "1, 2", "", "256", "a", "0,,1", "255"],
    ),
    (
        "stopsignal",
        &[
            "TERM", "term", "SIGINT", "9", "HUP", "KILL", "FOO", "99", "usr1", "sigusr2", "0",
        ],
    ),
    ("stopwaitsecs", &["0", "10", "x"]),
    ("stopasgroup", &["true", "false"]),
    ("killasgroup", &["true", "false", "x"]),
    ("redirect_stderr", &["true", "false", "x"]),
    ("numprocs", &["1", "2", "3", "0", "x"]),
    ("numprocs_start", &["0", "5", "x"]),
    (
        "process_name",
        &[
            "%(program_name)s",
            "%(program_name)s_%(process_num)02d",
            "p%(process_num)d",
            "bad name",
            "%(nope)s",
            "%(group_name)s-%(process_num)d",
        ],
    ),
    (
        "environment",
        &[
            "A=1",
            "A=\"x,y\",B=2",
            "A",
            "A=1,B",
            "K=%(process_num)d",
            "K=%(bad)s",
            "A=1,B='two words'",
            "A=café,B=1",
            "A=x#y",
            "A=1 B=2",
            "A=\"q\"\"r\"",
            "A=1;B=2,C=3",
            "P=/usr/bin:/bin",
        ],
    ),
    (
        "stdout_logfile",
        &[
            "AUTO",
            "NONE",
            "off",
            "syslog",
            "%(here)s/%(program_name)s-%(process_num)d.log",
            "/nonexistent-gwe/x.log",
            "%(here)s/%(ENV_K)s.log",
        ],
    ),
    (
        "stdout_logfile_maxbytes",
        &["50MB", "1KB", "0", "10", "5TB", "x", "1gb"],
    ),
    ("stdout_logfile_backups", &["0", "10", "x"]),
    ("stdout_capture_maxbytes", &["0", "1MB", "q"]),
    ("stdout_events_enabled", &["true", "false"]),
    ("stdout_syslog", &["true", "false", "x"]),
    (
        "stderr_logfile",
        &[
            "AUTO",
            "NONE",
            "%(here)s/err-%(program_name)s.log",
            "syslog",
        ],
    ),
    ("stderr_logfile_maxbytes", &["0", "2MB", "bad"]),
    ("stderr_logfile_backups", &["3", "x"]),
    ("stderr_capture_maxbytes", &["0", "64KB"]),
    ("stderr_events_enabled", &["true", "no"]),
    ("stderr_syslog", &["false", "on"]),
    ("umask", &["022", "77", "8", "x", "0o22"]),
    (
        "directory",
        &["/tmp", "%(here)s", "%(here)s/%(program_name)s"],
    ),
    ("user", &["root", "0", "no-such-user-gwe"]),
    ("serverurl", &["AUTO", "http://127.0.0.1:9001", "auto"]),
];

const COMMANDS: &[&str] = &[
    "cmd %(program_name)s",
    "sh -c 'echo %(process_num)d'",
    "x --home=%(ENV_HOME)s",
    "x %(group_name)s %(host_node_name)s",
    "x 100%%",
    "%(nope)s",
    "x %",
    "/bin/prog \"quoted arg\" plain\\ escaped",
    "x %(numprocs)d %(process_num)03d %(here)s",
];

fn generated_config(r: &mut Rng) -> String {
    let mut s = String::from(
        "[supervisord]\nlogfile = %(here)s/supervisord.log\npidfile = %(here)s/supervisord.pid\n",
    );
    if r.chance(30) {
        s.push_str(&format!(
            "loglevel = {}\n",
            r.pick(&["debug", "WARN", "blather", "loud"])
        ));
    }
    if r.chance(30) {
        s.push_str(&format!(
            "environment = {}\n",
            r.pick(&["K=\"v\"", "K=1,L=2", "K", "K=%(here)s"])
        ));
    }
    if r.chance(15) {
        s.push_str(&format!(
            "[DEFAULT]\n{} = {}\n",
            r.pick(&["autorestart", "startsecs", "priority"]),
            r.pick(&["true", "5", "x"])
        ));
    }
    let count = 1 + r.next() % 3;
    let mut names = Vec::new();
    for i in 0..count {
        let name = format!("p{i}");
        s.push_str(&format!("\n[program:{name}]\n"));
        if r.chance(97) {
            s.push_str(&format!("command = {}\n", r.pick(COMMANDS)));
        }
        for (key, values) in PROGRAM_OPTIONS {
            if r.chance(5) {
                s.push_str(&format!("{key} = {}\n", r.pick(values)));
            }
        }
        names.push(name);
    }
    if r.chance(30) {
        let mut members: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|_| r.chance(50))
            .collect();
        if r.chance(10) {
            members.push("unknown");
        }
        s.push_str(&format!(
            "\n[group:g]\nprograms = {}\npriority = {}\n",
            members.join(","),
            r.pick(&["5", "999", "x"])
        ));
    }
    s
}

#[test]
fn generated_configs_match_supervisord() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rng = Rng(0xc0ff_ee00_1234_5678);
    let mut paths = Vec::new();
    let mut texts = Vec::new();
    for i in 0..400 {
        let text = generated_config(&mut rng);
        let p = dir.path().join(format!("gen-{i}.conf"));
        std::fs::write(&p, &text).expect("write config");
        paths.push(p);
        texts.push(text);
    }
    let theirs = run_supervisord_options(&paths);
    let (mut accepted, mut refused) = (0, 0);
    let mut mismatches = Vec::new();
    for ((path, text), py) in paths.iter().zip(&texts).zip(&theirs) {
        let ours = config::load(path);
        match (py.get("ok"), &ours) {
            (Some(_), Ok(model)) => {
                accepted += 1;
                let us = self::ours(model);
                if us != *py {
                    mismatches.push(format!("{text}\n  supervisord: {py}\n  gwe:         {us}"));
                }
            }
            (None, Err(_)) => refused += 1,
            (Some(_), Err(e)) => {
                mismatches.push(format!("{text}\n  supervisord accepted, gwe refused: {e}"))
            }
            (None, Ok(_)) => mismatches.push(format!(
                "{text}\n  supervisord refused ({py}), gwe accepted"
            )),
        }
    }
    eprintln!(
        "generated corpus: {accepted} accepted, {refused} refused, {} differ",
        mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        paths.len(),
        mismatches[..mismatches.len().min(5)].join("\n\n")
    );
    assert!(
        accepted > 40 && refused > 40,
        "corpus balance: {accepted} accepted, {refused} refused"
    );
}

/// `environment` values and `command` lines through supervisord's own functions
/// (`dict_of_key_value_pairs`, `shlex.split`) and ours, on hand-picked and generated strings.
const PY_TOKENS: &str = r#"
import json, shlex, sys
from supervisor.datatypes import dict_of_key_value_pairs
for line in sys.stdin.read().split('\n'):
    if not line:
        continue
    s = json.loads(line)
    out = {}
    try:
        out['env'] = dict_of_key_value_pairs(s)
    except ValueError:
        out['env'] = None
    try:
        out['argv'] = shlex.split(s)
    except ValueError:
        out['argv'] = None
    print(json.dumps(out))
"#;

#[test]
fn environment_and_command_parsing_match_supervisord() {
    let mut inputs: Vec<String> = [
        "A=1",
        "A=1,B=2",
        "A=\"x, y\",B='z'",
        "A=café",
        "A=x#y\nB=2",
        "A=1 B=2",
        "A",
        "A=",
        "A=1,",
        "A=\"open",
        "A='q'\"r\"",
        "PATH=/usr/bin:/bin,HOME=/root",
        "A=a.b+c-d(e):f",
        "A=1;B=2,C=3",
        "  A = 1 , B = 2  ",
        "A=\"\",B=''",
        "=1",
        "A==1",
        "A=1,,B=2",
        "sh -c 'echo a; echo b'",
        "x \"a \\\"q\\\" \\n\" y",
        "a\\ b c\\\\d",
        "'' x",
        "a''b",
        "x # not a comment",
        "unclosed 'quote",
        "trailing\\",
        "tab\tsep\nnewline",
        "日本 語",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let alphabet: Vec<char> = "AB=,\"' \\#;:/.é\tx1".chars().collect();
    let mut rng = Rng(0xfeed_beef_0000_0042);
    for _ in 0..600 {
        let len = 1 + rng.next() % 14;
        inputs.push(
            (0..len)
                .map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize])
                .collect(),
        );
    }
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(PY_TOKENS)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("python3 is required (CI installs it): {e}"));
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        for s in &inputs {
            writeln!(stdin, "{}", serde_json::to_string(s).expect("json")).expect("write");
        }
    }
    let out = child.wait_with_output().expect("python output");
    assert!(out.status.success(), "python3 with supervisor failed");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let theirs: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(theirs.len(), inputs.len());
    let (mut env_ok, mut argv_ok) = (0, 0);
    for (s, py) in inputs.iter().zip(&theirs) {
        let env = config::parse_environment(s).ok();
        let argv = config::split_command(s).ok();
        assert_eq!(json!(env), py["env"], "environment {s:?}");
        assert_eq!(json!(argv), py["argv"], "command {s:?}");
        env_ok += usize::from(env.is_some());
        argv_ok += usize::from(argv.is_some());
    }
    // both outcomes must be well represented
    assert!(
        env_ok > 50 && env_ok < inputs.len() - 50,
        "{env_ok} environments parsed"
    );
    assert!(
        argv_ok > 50 && argv_ok < inputs.len() - 50,
        "{argv_ok} commands parsed"
    );
}
