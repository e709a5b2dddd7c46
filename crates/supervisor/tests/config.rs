//! Config loading: defaults of every option, expansions, numprocs, includes, the embedded
//! sample, and every kind of refusal with its exact `file:line:` prefix.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gwe_supervisor::config::{self, AutoRestart, Config, LogConfig, LogTarget, ProcessConfig};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Dir(tempfile::tempdir().expect("temp dir"))
    }
    fn path(&self) -> &Path {
        self.0.path()
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(&p, text).expect("write");
        p
    }
    fn load(&self, text: &str) -> Result<Config, config::ConfigError> {
        config::load(&self.write("supervisord.conf", text))
    }
    fn ok(&self, text: &str) -> Config {
        self.load(text).unwrap_or_else(|e| panic!("refused: {e}"))
    }
    /// The error text, with the temp dir replaced by `DIR` for exact comparisons.
    fn err(&self, text: &str) -> String {
        match self.load(text) {
            Ok(_) => panic!("accepted {text:?}"),
            Err(e) => e
                .to_string()
                .replace(&self.path().display().to_string(), "DIR"),
        }
    }
}

fn only(c: &Config) -> &ProcessConfig {
    assert_eq!(c.groups.len(), 1, "{:?}", c.groups);
    assert_eq!(c.groups[0].processes.len(), 1);
    &c.groups[0].processes[0]
}

fn default_log() -> LogConfig {
    LogConfig {
        target: LogTarget::Auto,
        maxbytes: 50 * 1024 * 1024,
        backups: 10,
        capture_maxbytes: 0,
        events_enabled: false,
        syslog: false,
    }
}

#[test]
fn every_program_option_has_supervisords_default() {
    let d = Dir::new();
    let c = d.ok("[supervisord]\n[program:app]\ncommand = /bin/app --flag\n");
    let p = only(&c);
    let want = ProcessConfig {
        name: "app".into(),
        program_name: "app".into(),
        group: "app".into(),
        command: "/bin/app --flag".into(),
        argv: vec!["/bin/app".into(), "--flag".into()],
        priority: 999,
        autostart: true,
        autorestart: AutoRestart::Unexpected,
        startsecs: 1,
        startretries: 3,
        exitcodes: vec![0],
        stopsignal: libc::SIGTERM,
        stopwaitsecs: 10,
        stopasgroup: false,
        killasgroup: false,
        user: None,
        directory: None,
        umask: None,
        environment: BTreeMap::new(),
        redirect_stderr: false,
        stdout: default_log(),
        stderr: default_log(),
        serverurl: None,
    };
    assert_eq!(*p, want);
    assert_eq!(c.groups[0].priority, 999);
}

#[test]
fn supervisord_section_defaults() {
    let d = Dir::new();
    let c = d.ok("[supervisord]\n");
    let s = &c.supervisord;
    let cwd = std::env::current_dir().expect("cwd");
    assert_eq!(s.logfile, Some(cwd.join("supervisord.log")));
    assert_eq!(s.pidfile, cwd.join("supervisord.pid"));
    assert_eq!((s.logfile_maxbytes, s.logfile_backups), (50 << 20, 10));
    assert_eq!(s.loglevel, "info");
    assert_eq!(
        (s.nodaemon, s.silent, s.nocleanup, s.strip_ansi),
        (false, false, false, false)
    );
    assert_eq!((s.minfds, s.minprocs, s.umask), (1024, 200, 0o22));
    assert_eq!(s.identifier, "supervisor");
    assert_eq!((s.user.clone(), s.directory.clone()), (None, None));
    assert!(s.environment.is_empty());
    assert_eq!(s.childlogdir, std::env::temp_dir());
    assert_eq!(c.unix_http_server, None);
    assert_eq!(c.inet_http_server, None);
    assert_eq!(c.supervisorctl, Default::default());
    assert!(c.groups.is_empty());
    assert_eq!(c.server_url(), None);
    assert_eq!(c.path, d.path().join("supervisord.conf"));
}

#[test]
fn servers_and_server_url() {
    let d = Dir::new();
    let c = d.ok("[supervisord]\n[unix_http_server]\nfile = %(here)s/run/../s.sock\n[inet_http_server]\nport = *:9001\nusername = u\npassword = p%%w\n");
    let u = c.unix_http_server.as_ref().expect("unix server");
    assert_eq!(u.file, d.path().join("s.sock"));
    assert_eq!(
        (u.chmod, u.chown.clone(), u.username.clone()),
        (0o700, None, None)
    );
    let i = c.inet_http_server.as_ref().expect("inet server");
    assert_eq!(
        (
            i.port.as_str(),
            i.username.as_deref(),
            i.password.as_deref()
        ),
        ("*:9001", Some("u"), Some("p%w"))
    );
    assert_eq!(
        c.server_url(),
        Some(format!("unix://{}", d.path().join("s.sock").display()))
    );

    let c = d.ok("[supervisord]\n[inet_http_server]\nport = *:9001\n");
    assert_eq!(c.server_url().as_deref(), Some("http://localhost:9001"));
    let c = d.ok("[supervisord]\n[inet_http_server]\nport = 127.0.0.1:9002\n");
    assert_eq!(c.server_url().as_deref(), Some("http://127.0.0.1:9002"));
    let c = d.ok("[supervisord]\n[inet_http_server]\nport = 9002\n[supervisorctl]\nserverurl = unix://%(here)s/x/../ctl.sock\nusername = a\nprompt = gw\n");
    assert_eq!(
        c.server_url(),
        Some(format!("unix://{}", d.path().join("ctl.sock").display()))
    );
    assert_eq!(c.supervisorctl.username.as_deref(), Some("a"));
    assert_eq!(c.supervisorctl.prompt.as_deref(), Some("gw"));
    let c = d.ok("[supervisord]\n[unix_http_server]\nfile=/tmp/a.sock\nchmod=0770\nchown=root:root\nusername=x\npassword={SHA}ab\n");
    let u = c.unix_http_server.expect("unix");
    assert_eq!(
        (u.chmod, u.chown.as_deref(), u.password.as_deref()),
        (0o770, Some("root:root"), Some("{SHA}ab"))
    );
}

#[test]
fn every_expansion() {
    let d = Dir::new();
    // PATH is always set; setting a variable here would race with other test threads.
    let path_var = std::env::var("PATH").expect("PATH is set");
    let host = nix::unistd::gethostname()
        .expect("hostname")
        .into_string()
        .expect("utf-8 hostname");
    let c = d.ok(concat!(
        "[supervisord]\nenvironment = GLOBAL=\"g\"\n",
        "[group:grp]\nprograms = prog\n",
        "[program:prog]\n",
        "command = run %(here)s %(program_name)s %(group_name)s %(host_node_name)s %(ENV_PATH)s %(ENV_GLOBAL)s %(ENV_LOCAL)s %(process_num)d %(process_num)02d %(numprocs)d 100%%\n",
        "environment = LOCAL=\"l-%(process_num)s\"\n",
        "directory = %(here)s/%(program_name)s\n",
        "stdout_logfile = %(here)s/%(group_name)s-%(process_num)s.log\n",
        "process_name = %(program_name)s-%(process_num)d\n",
    ));
    let p = only(&c);
    let here = d.path().display().to_string();
    assert_eq!(
        p.command,
        format!("run {here} prog grp {host} {path_var} g l-0 0 00 1 100%")
    );
    assert_eq!(p.name, "prog-0");
    assert_eq!(p.group, "grp");
    assert_eq!(p.directory, Some(d.path().join("prog")));
    assert_eq!(p.stdout.target, LogTarget::File(d.path().join("grp-0.log")));
    assert_eq!(p.environment.get("LOCAL").map(String::as_str), Some("l-0"));
    // the [supervisord] environment is not copied into the program's own map
    assert_eq!(p.environment.get("GLOBAL"), None);
    assert_eq!(
        c.supervisord.environment.get("GLOBAL").map(String::as_str),
        Some("g")
    );
}

#[test]
fn numprocs_expands_names_and_sorts_like_supervisord() {
    let c = config::load(&data("numprocs.conf")).expect("numprocs fixture");
    let worker = c.find_group("worker").expect("worker group");
    let names: Vec<&str> = worker.processes.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["worker_09", "worker_10", "worker_11"]);
    let w10 = c.find_process("worker:worker_10").expect("worker_10");
    assert_eq!(
        w10.argv,
        ["/bin/sh", "-c", "echo worker 10 of 3 in worker %"]
    );
    assert_eq!(w10.environment["SLOT"], "10");
    assert_eq!(w10.environment["NAME"], "worker-010");
    assert_eq!(w10.environment["SEEN"], "from supervisord");
    assert_eq!(w10.directory, Some(data("10")));
    assert_eq!(w10.stdout.target, LogTarget::File(data("worker-10.log")));
    assert!(c
        .find_group("zero")
        .expect("zero group")
        .processes
        .is_empty());
    let padded: Vec<&str> = c
        .find_group("padded")
        .expect("padded")
        .processes
        .iter()
        .map(|p| p.command.as_str())
        .collect();
    assert_eq!(padded, ["echo     0|0  |pad|0", "echo     1|1  |pad|1"]);
    // find_process: bare name finds the homogeneous group's process
    assert_eq!(
        c.find_process("worker_11").map(|p| p.group.as_str()),
        Some("worker")
    );
    assert!(c.find_process("nope").is_none() && c.find_process("worker:nope").is_none());
}

#[test]
fn groups_and_priorities() {
    let c = config::load(&data("groups.conf")).expect("groups fixture");
    let order: Vec<(&str, i64)> = c
        .groups
        .iter()
        .map(|g| (g.name.as_str(), g.priority))
        .collect();
    assert_eq!(
        order,
        [
            ("standalone", 40),
            ("web", 50),
            ("empty", 999),
            ("late", 999)
        ]
    );
    let web = c.find_group("web").expect("web");
    let procs: Vec<(&str, &str)> = web
        .processes
        .iter()
        .map(|p| (p.name.as_str(), p.program_name.as_str()))
        .collect();
    assert_eq!(
        procs,
        [("nginx", "nginx"), ("app_0", "app"), ("app_1", "app")]
    );
    assert!(web.processes.iter().all(|p| p.group == "web"));
    assert_eq!(
        c.find_process("web:app_1").map(|p| p.command.as_str()),
        Some("gunicorn app:wsgi -b 127.0.0.1:8000 --workers=1")
    );
    assert_eq!(
        c.find_process("standalone").map(|p| p.argv.clone()),
        Some(vec![
            "/usr/bin/standalone".to_owned(),
            "--group".into(),
            "standalone".into()
        ])
    );
}

#[test]
fn includes_are_globbed_relative_to_the_main_file_sorted_and_expand_here_per_file() {
    let c = config::load(&data("includes/supervisord.conf")).expect("includes fixture");
    let names: Vec<&str> = c.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["base", "web", "worker"]); // .hidden.conf and notes.txt are not matched
    let base = c.find_process("base").expect("base");
    assert_eq!(
        base.priority, 5,
        "20-override.conf is read after 10-base.conf"
    );
    let conf_d = data("includes/conf.d");
    assert_eq!(base.command, format!("{}/base.sh", conf_d.display()));
    let web = c.find_process("web").expect("web");
    let web_dir = data("includes/apps/web");
    assert_eq!(web.directory.as_deref(), Some(web_dir.as_path()));
    assert_eq!(web.environment["APP_DIR"], web_dir.display().to_string());
    assert_eq!(
        c.unix_http_server.as_ref().map(|u| u.file.clone()),
        Some(data("includes/gwe.sock"))
    );
}

#[test]
fn includes_from_a_temp_tree_and_their_errors() {
    let d = Dir::new();
    d.write("apps/b/supervisor.conf", "[program:b]\ncommand = b\n");
    d.write("apps/a/supervisor.conf", "[program:a]\ncommand = a\n");
    let c = d.ok("[supervisord]\n[include]\nfiles = apps/*/supervisor.conf\n");
    let names: Vec<&str> = c.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);

    // an error inside an included file points into that file
    d.write(
        "apps/c/supervisor.conf",
        "[program:c]\ncommand = c\nautostart = maybe\n",
    );
    let e = d.err("[supervisord]\n[include]\nfiles = apps/*/supervisor.conf\n");
    assert!(
        e.starts_with("DIR/apps/c/supervisor.conf:3: [program:c] autostart: "),
        "{e}"
    );

    // an unreadable include (dangling symlink) is refused at the files= line
    std::fs::remove_dir_all(d.path().join("apps")).expect("rm");
    std::fs::create_dir_all(d.path().join("conf.d")).expect("mkdir");
    std::os::unix::fs::symlink(d.path().join("missing"), d.path().join("conf.d/x.conf"))
        .expect("symlink");
    let e = d.err("[supervisord]\n\n[include]\nfiles = conf.d/*.conf\n");
    assert!(
        e.starts_with(
            "DIR/supervisord.conf:4: [include] files: cannot read included file DIR/conf.d/x.conf"
        ),
        "{e}"
    );

    // a binary include fails with its own file and line
    std::fs::remove_file(d.path().join("conf.d/x.conf")).expect("rm");
    std::fs::write(
        d.path().join("conf.d/bin.conf"),
        b"[program:x]\ncommand=\xff\xfe\n",
    )
    .expect("write");
    let e = d.err("[supervisord]\n[include]\nfiles = conf.d/*.conf\n");
    assert_eq!(e, "DIR/conf.d/bin.conf:2: file is not valid UTF-8 text");

    // [include] without files
    let e = d.err("[supervisord]\n[include]\n");
    assert_eq!(
        e,
        "DIR/supervisord.conf:2: [include] section has no files setting"
    );
    // no match is only a warning
    let c = d.ok("[supervisord]\n[include]\nfiles = nothing/*.conf\n");
    assert!(c.groups.is_empty());
}

#[test]
fn values_are_converted_like_supervisord() {
    let d = Dir::new();
    let c = d.ok(concat!(
        "[supervisord]\n[program:x]\ncommand = sh -c \"echo 'a b'\" c\\ d\n",
        "autostart = Off\nautorestart = TRUE\nstartsecs = 0\nstartretries = 10\nexitcodes = 0, 3\n",
        "stopsignal = kill\nstopwaitsecs = 60\nstopasgroup = yes\nuser = 0\numask = 022\n",
        "environment = A=\"1,2\",B='x y',C=plain\nredirect_stderr = 1\n",
        "stdout_logfile = NONE\nstdout_logfile_maxbytes = 200KB\nstdout_logfile_backups = 0\n",
        "stdout_capture_maxbytes = 1MB\nstdout_events_enabled = on\nstdout_syslog = true\n",
        "stderr_logfile = %(here)s/err.log\nserverurl = AUTO\n",
    ));
    let p = only(&c);
    assert_eq!(p.argv, ["sh", "-c", "echo 'a b'", "c d"]);
    assert!(!p.autostart);
    assert_eq!(p.autorestart, AutoRestart::True);
    assert_eq!((p.startsecs, p.startretries, p.stopwaitsecs), (0, 10, 60));
    assert_eq!(p.exitcodes, [0, 3]);
    assert_eq!(p.stopsignal, libc::SIGKILL);
    assert!(
        p.stopasgroup && p.killasgroup,
        "killasgroup defaults to stopasgroup"
    );
    assert_eq!(p.user.as_deref(), Some("0"));
    assert_eq!(p.umask, Some(0o22));
    let env: Vec<(&str, &str)> = p
        .environment
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(env, [("A", "1,2"), ("B", "x y"), ("C", "plain")]);
    assert!(p.redirect_stderr);
    assert_eq!(
        p.stdout,
        LogConfig {
            target: LogTarget::None,
            maxbytes: 200 * 1024,
            backups: 0,
            capture_maxbytes: 1 << 20,
            events_enabled: true,
            syslog: true
        }
    );
    assert_eq!(
        p.stderr.target,
        LogTarget::None,
        "redirect_stderr drops the stderr log file"
    );
    assert_eq!(p.serverurl, None);

    let c = d.ok("[supervisord]\n[program:x]\ncommand=x\nstdout_logfile=syslog\nautorestart=unexpected\nserverurl=unix:///tmp/s.sock\n");
    let p = only(&c);
    assert_eq!(
        (p.stdout.target.clone(), p.stdout.syslog),
        (LogTarget::Syslog, true)
    );
    assert_eq!(p.serverurl.as_deref(), Some("unix:///tmp/s.sock"));
}

#[test]
fn default_section_applies_to_every_program() {
    let c = config::load(&data("defaults.conf")).expect("defaults fixture");
    let a = c.find_process("a").expect("a");
    let b = c.find_process("b").expect("b");
    assert_eq!(
        (a.autorestart, b.autorestart),
        (AutoRestart::True, AutoRestart::False)
    );
    assert_eq!((a.startsecs, b.startsecs), (3, 3));
    assert_eq!(a.stdout.target, LogTarget::File(data("a.log")));
    assert_eq!(b.stdout.target, LogTarget::File(data("b.log")));
}

#[test]
fn unknown_options_and_sections_are_ignored_and_standard_plugins_accepted() {
    let d = Dir::new();
    let c = d.ok(concat!(
        "[supervisord]\nno_such_option = 1\n",
        "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
        "[ctlplugin:x]\nsupervisor.ctl_factory = x:y\n",
        "[something_else]\nk = v\n",
        "[program:x]\ncommand = x\nfrobnicate = yes\n",
    ));
    assert_eq!(only(&c).name, "x");
}

#[test]
fn the_sample_config_loads_into_the_expected_model() {
    let d = Dir::new();
    let path = d.write("supervisord.conf", config::sample());
    let c = config::load(&path).unwrap_or_else(|e| panic!("sample refused: {e}"));
    let here = d.path();
    let s = &c.supervisord;
    assert_eq!(s.logfile, Some(here.join("supervisord.log")));
    assert_eq!(
        (s.logfile_maxbytes, s.logfile_backups, s.loglevel.as_str()),
        (1 << 20, 2, "info")
    );
    assert_eq!(s.pidfile, here.join("supervisord.pid"));
    assert!(s.nodaemon && !s.silent);
    assert_eq!((s.minfds, s.minprocs, s.umask), (1024, 200, 0o22));
    assert_eq!(s.childlogdir, here);
    let env: Vec<(&str, String)> = s
        .environment
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    assert_eq!(
        env,
        [
            ("GWE_HOME", here.display().to_string()),
            ("LANG", "C.UTF-8".to_owned())
        ]
    );
    let sock = here.join("supervisor.sock");
    assert_eq!(
        c.unix_http_server
            .as_ref()
            .map(|u| (u.file.clone(), u.chmod)),
        Some((sock.clone(), 0o700))
    );
    assert_eq!(c.server_url(), Some(format!("unix://{}", sock.display())));
    assert_eq!(c.inet_http_server, None);

    let groups: Vec<(&str, i64, Vec<&str>)> = c
        .groups
        .iter()
        .map(|g| {
            (
                g.name.as_str(),
                g.priority,
                g.processes.iter().map(|p| p.name.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("gwe", 1, vec!["gwe"]),
            ("apps", 100, vec!["sensor_00", "sensor_01", "report"])
        ]
    );
    let log = |target: LogTarget, maxbytes: u64, backups: u32| LogConfig {
        target,
        maxbytes,
        backups,
        ..default_log()
    };
    let gwe = c.find_process("gwe").expect("gwe");
    let mut want = ProcessConfig {
        name: "gwe".into(),
        program_name: "gwe".into(),
        group: "gwe".into(),
        command: format!("gwe run --config {}/Engine.config", here.display()),
        argv: vec![
            "gwe".into(),
            "run".into(),
            "--config".into(),
            format!("{}/Engine.config", here.display()),
        ],
        priority: 1,
        autostart: true,
        autorestart: AutoRestart::True,
        startsecs: 5,
        startretries: 3,
        exitcodes: vec![0],
        stopsignal: libc::SIGTERM,
        stopwaitsecs: 30,
        stopasgroup: false,
        killasgroup: false,
        user: None,
        directory: None,
        umask: None,
        environment: BTreeMap::new(),
        redirect_stderr: true,
        stdout: log(LogTarget::File(here.join("gwe.log")), 512 * 1024, 3),
        stderr: log(LogTarget::None, 50 << 20, 10),
        serverurl: None,
    };
    assert_eq!(*gwe, want);

    let sensor = c.find_process("apps:sensor_01").expect("sensor_01");
    want = ProcessConfig {
        name: "sensor_01".into(),
        program_name: "sensor".into(),
        group: "apps".into(),
        command: "python3 -u poll.py --slot 1 --name \"sensor 1\"".into(),
        argv: [
            "python3", "-u", "poll.py", "--slot", "1", "--name", "sensor 1",
        ]
        .map(String::from)
        .to_vec(),
        priority: 999,
        autostart: true,
        autorestart: AutoRestart::Unexpected,
        startsecs: 1,
        startretries: 3,
        exitcodes: vec![0, 2],
        stopsignal: libc::SIGINT,
        stopwaitsecs: 10,
        stopasgroup: true,
        killasgroup: true,
        user: None,
        directory: Some(here.to_owned()),
        umask: None,
        environment: [("POLL_MS", "250"), ("SENSOR_BUS", "i2c-1")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into(),
        redirect_stderr: false,
        stdout: default_log(),
        stderr: log(LogTarget::None, 50 << 20, 10),
        serverurl: None,
    };
    assert_eq!(*sensor, want);

    let report = c.find_process("apps:report").expect("report");
    assert_eq!(report.argv, ["/bin/sh", "-c", "echo report done"]);
    assert_eq!(
        (report.autostart, report.autorestart, report.startsecs),
        (false, AutoRestart::False, 0)
    );
}

/// Every refusal names the file and the line of the offending option (or section header).
#[test]
fn errors_point_at_file_and_line() {
    let d = Dir::new();
    let cases: &[(&str, &str)] = &[
        ("[supervisord]\n[program:x]\ncommand=x\nautorestart=maybe\n",
         "DIR/supervisord.conf:4: [program:x] autorestart: invalid 'autorestart' value \"maybe\" (use true, false or unexpected)"),
        ("[supervisord]\n\n[program:x]\nautostart=true\n",
         "DIR/supervisord.conf:3: [program:x] does not specify a command"),
        ("[supervisord]\n[program:x]\ncommand=x\nstopsignal=FOO\n",
         "DIR/supervisord.conf:4: [program:x] stopsignal: value \"FOO\" is not a valid signal name"),
        ("[supervisord]\n[program:x]\ncommand=x\nstartsecs=abc\n",
         "DIR/supervisord.conf:4: [program:x] startsecs: \"abc\" is not an integer"),
        ("[supervisord]\n[program:x]\ncommand=%(nope)s\n",
         "DIR/supervisord.conf:3: [program:x] command: %(nope) cannot be expanded"),
        ("[supervisord]\n[program:x]\ncommand=x\nnumprocs=2\n",
         "DIR/supervisord.conf:2: [program:x] process_name: %(process_num) must be present within process_name when numprocs > 1"),
        ("[supervisord]\n[program:x]\ncommand=x\nstopasgroup=true\nkillasgroup=false\n",
         "DIR/supervisord.conf:5: [program:x]: cannot set stopasgroup=true and killasgroup=false"),
        ("[supervisord]\n[program:a]\ncommand=x\n[program: a]\ncommand=y\n",
         "DIR/supervisord.conf:4: [program: a]: duplicate group name \"a\" (also [program:a])"),
        ("[supervisord]\n[group:g]\nprograms=a,b\n[program:a]\ncommand=x\nprocess_name=same\n[program:b]\ncommand=y\nprocess_name=same\n",
         "DIR/supervisord.conf:7: [program:b]: process name \"same\" is used more than once in group \"g\""),
        ("[supervisord]\n[group:g]\nprograms=a,missing\n[program:a]\ncommand=x\n",
         "DIR/supervisord.conf:3: [group:g] names unknown program missing"),
        ("[supervisord]\n[eventlistener:x]\ncommand=x\nevents=TICK_5\n",
         "DIR/supervisord.conf:2: [eventlistener:x] is not supported yet"),
        ("[supervisord]\n[fcgi-program:x]\ncommand=x\n",
         "DIR/supervisord.conf:2: [fcgi-program:x] is not supported yet"),
        ("[program:x]\ncommand=x\n",
         "DIR/supervisord.conf: .ini file does not include supervisord section"),
        ("[supervisord]\n[program:x]\ncommand=\"unclosed\n",
         "DIR/supervisord.conf:3: [program:x] command: can't parse command \"\\\"unclosed\": No closing quotation"),
        ("[supervisord]\n[program:x]\ncommand=   \n",
         "DIR/supervisord.conf:3: [program:x] command: command is empty"),
        ("[supervisord]\n[program:x]\ncommand=x\nnumprocs=100000\nprocess_name=%(process_num)s\n",
         "DIR/supervisord.conf:4: [program:x] numprocs: \"100000\" must be between 0 and 10000"),
        ("[supervisord]\n[inet_http_server]\nport=1\nusername=u\n",
         "DIR/supervisord.conf:2: [inet_http_server] contains incomplete authentication"),
        ("# header comment\nkey = value\n",
         "DIR/supervisord.conf:2: file contains no section headers before this line: \"key = value\""),
        ("[supervisord]\nminfds = 1\nbroken line\n",
         "DIR/supervisord.conf:3: not a [section] header, a `key = value` option or a comment: \"broken line\""),
    ];
    for (text, want) in cases {
        let got = d.err(text);
        assert!(
            got.starts_with(want),
            "for {text:?}\n  got:  {got}\n  want: {want}..."
        );
    }
}

#[test]
fn all_problems_are_reported_at_once() {
    let d = Dir::new();
    let e = d.err("[supervisord]\nminfds=x\n[program:a]\ncommand=a\nautostart=maybe\nstartsecs=-1\n[program:b]\n");
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 4, "{e}");
    assert!(
        lines[0].starts_with("DIR/supervisord.conf:2: [supervisord] minfds:"),
        "{e}"
    );
    assert!(
        lines[1].starts_with("DIR/supervisord.conf:5: [program:a] autostart:"),
        "{e}"
    );
    assert!(
        lines[2].starts_with("DIR/supervisord.conf:6: [program:a] startsecs:"),
        "{e}"
    );
    assert!(
        lines[3].starts_with("DIR/supervisord.conf:7: [program:b] does not specify a command"),
        "{e}"
    );
    // numprocs copies of one mistake are reported once
    let e = d.err("[supervisord]\n[program:a]\ncommand=a\ndirectory=%(oops)s\nnumprocs=5\nprocess_name=%(process_num)d\n");
    assert_eq!(e.lines().count(), 1, "{e}");
}

#[test]
fn hostile_files_are_refused_cleanly() {
    let d = Dir::new();
    // oversized
    let big = d.path().join("big.conf");
    let mut text = String::from("[supervisord]\n");
    while text.len() <= gwe_ini::MAX_FILE_SIZE as usize {
        text.push_str("; padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(&big, text).expect("write");
    let e = config::load(&big).expect_err("oversized").to_string();
    assert!(e.contains("too large"), "{e}");
    // binary
    let bin = d.path().join("bin.conf");
    std::fs::write(&bin, [0u8, 159, 146, 150, 255, 0, 1, 2]).expect("write");
    let e = config::load(&bin).expect_err("binary").to_string();
    assert!(e.starts_with(&format!("{}:1: ", bin.display())), "{e}");
    // missing file and a directory
    let e = config::load(&d.path().join("missing.conf"))
        .expect_err("missing")
        .to_string();
    assert!(e.contains("cannot read"), "{e}");
    assert!(config::load(d.path()).is_err());
    // garbage: deterministic random text never panics; a refusal always names the file
    let alphabet = b"[]=:;#% \n\tabcXYZ(){}\"'\\/";
    let mut seed = 0x1234_5678_9abc_def0u64;
    for i in 0..200 {
        let mut g = String::new();
        for _ in 0..(20 + i % 200) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            g.push(alphabet[(seed % alphabet.len() as u64) as usize] as char);
        }
        if let Err(e) = d.load(&g) {
            assert!(
                e.to_string().starts_with(&d.path().display().to_string()),
                "{e}"
            );
            assert!(!e.problems.is_empty());
        }
    }
    // expansion bombs are bounded
    let e = d.err("[supervisord]\n[program:x]\ncommand=%(program_name)999999999s\n");
    assert!(e.contains("too large"), "{e}");
}
