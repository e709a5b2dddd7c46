//! The real `gwe supervisord` binary and signals: SIGTERM/SIGINT shutdown in
//! reverse priority order, SIGHUP reload (a bad config keeps the old one),
//! recovery after `kill -9` of the supervisor, socket permissions, and
//! daemonizing without `-n`.

mod supervisord_util;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use supervisord_util::{pids_with, script, send_signal, wait_for, Sv, TIMEOUT};

fn lines(p: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn sigterm_stops_in_reverse_priority_and_exits_zero() {
    let prog = |n: &str, p: u32| {
        format!("[program:{n}]\ncommand = {{dir}}/p.sh {n}\npriority = {p}\nstartsecs = 0\n\n")
    };
    let conf = format!(
        "{}{}{}",
        prog("late", 300),
        prog("early", 100),
        prog("mid", 200)
    );
    let mut sv = Sv::start(&conf, |dir| {
        let o = dir.join("order");
        script(dir, "p.sh", &format!("echo start:$1 >> {o}\ntrap 'echo stop:$1 >> {o}; exit 0' TERM\nwhile :; do sleep 0.05; done", o = o.display()));
    });
    for n in ["early", "mid", "late"] {
        sv.wait_status(n, "RUNNING");
    }
    sv.kill("TERM");
    assert_eq!(sv.wait_exit().code(), Some(0));
    let got = lines(&sv.path("order"));
    // stops are strictly ordered: a group is stopped only once the one before is down
    let stops: Vec<&str> = got
        .iter()
        .filter(|l| l.starts_with("stop"))
        .map(String::as_str)
        .collect();
    assert_eq!(stops, ["stop:late", "stop:mid", "stop:early"]);
    // the children start concurrently, so their start order is read from the spawn log
    let log = sv.mainlog();
    let at = |n: &str| log.find(&format!("spawned: '{n}'")).unwrap();
    assert!(at("early") < at("mid") && at("mid") < at("late"), "{log}");
    assert!(
        log.contains("WARN received SIGTERM indicating exit request"),
        "{log}"
    );
    assert!(!sv.path("supervisord.pid").exists());
}

#[test]
fn sigint_also_shuts_down() {
    let mut sv = Sv::start("[program:s]\ncommand = sleep 1000\nstartsecs = 0\n", |_| {});
    sv.wait_status("s", "RUNNING");
    sv.kill("INT");
    assert_eq!(sv.wait_exit().code(), Some(0));
    assert!(sv
        .mainlog()
        .contains("received SIGINT indicating exit request"));
}

#[test]
fn sighup_reloads_and_a_bad_config_keeps_the_old_one() {
    let sv = Sv::start(
        "[program:one]\ncommand = sleep 1000\nstartsecs = 0\n",
        |_| {},
    );
    sv.wait_status("one", "RUNNING");
    let dir = sv.dir.path().to_path_buf();
    Sv::write_conf(
        &sv.conf,
        &dir,
        "[program:two]\ncommand = sleep 1000\nstartsecs = 0\n",
    );
    sv.kill("HUP");
    sv.wait_status("two", "RUNNING");
    assert!(
        sv.ctl(&["status", "one"]).status.code() == Some(4),
        "one is gone after reload"
    );
    let pid_two = String::from_utf8_lossy(&sv.ctl(&["pid", "two"]).stdout)
        .trim()
        .to_owned();
    // broken config: logged, old one kept, nothing restarted
    std::fs::write(&sv.conf, "[supervisord\nthis is not ini").unwrap();
    sv.kill("HUP");
    sv.wait_log("could not reload config, keeping the current one");
    sv.wait_status("two", "RUNNING");
    assert_eq!(
        String::from_utf8_lossy(&sv.ctl(&["pid", "two"]).stdout).trim(),
        pid_two
    );
    // same through supervisorctl reload: refused, still running
    let o = sv.ctl(&["reload"]);
    assert_ne!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(
        String::from_utf8_lossy(&sv.ctl(&["pid", "two"]).stdout).trim(),
        pid_two
    );
}

#[test]
fn kill_9_of_the_supervisor_then_restart_runs_the_app_only_once() {
    let marker = format!("gwe-once-{}", std::process::id());
    let conf = format!("[program:app]\ncommand = {{dir}}/app.sh {marker}\nstartsecs = 0\n");
    let mut sv = Sv::start(&conf, |dir| {
        // the shell is the process group leader; its sleep child is in the group
        script(
            dir,
            "app.sh",
            &format!("sleep 1000 &\necho $! >> {}/sleeps\nwait", dir.display()),
        );
    });
    sv.wait_status("app", "RUNNING");
    let first_sleep = wait_for("sleep pid", TIMEOUT, || {
        lines(&sv.path("sleeps")).first()?.parse::<i32>().ok()
    });
    assert_eq!(pids_with(&marker).len(), 1);
    let app_pid = pids_with(&marker)[0];
    // a second supervisor on the same files refuses to start and kills nothing
    let o = Command::new(env!("CARGO_BIN_EXE_gwe"))
        .args(["supervisord", "-n", "-c"])
        .arg(&sv.conf)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("another supervisord"));
    assert_eq!(pids_with(&marker), [app_pid]);
    assert!(alive(first_sleep));
    // SIGKILL: no clean-up, the app is orphaned
    sv.kill("KILL");
    let st = sv.wait_exit();
    assert!(!st.success());
    assert_eq!(pids_with(&marker).len(), 1, "the orphan still runs");
    assert!(alive(first_sleep));
    assert!(sv.path("supervisord.pid.children").exists());
    sv.spawn();
    sv.wait_status("app", "RUNNING");
    sv.wait_log("left running by a previous supervisord");
    // exactly one copy: the old process group (shell and sleep) was killed
    wait_for("one copy", TIMEOUT, || {
        (pids_with(&marker).len() == 1).then_some(())
    });
    assert!(!alive(first_sleep));
    let pid: i32 = String::from_utf8_lossy(&sv.ctl(&["pid", "app"]).stdout)
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pids_with(&marker), [pid]);
    drop(sv);
    wait_for("app gone after clean shutdown", TIMEOUT, || {
        pids_with(&marker).is_empty().then_some(())
    });
}

fn alive(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rfind(')')
        .is_some_and(|i| !stat[i + 1..].trim_start().starts_with('Z'))
}

#[test]
fn socket_is_0700_by_default_and_chmod_is_honoured() {
    let sv = Sv::start("[program:s]\ncommand = sleep 1000\n", |_| {});
    let mode = std::fs::metadata(sv.path("supervisor.sock"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700);
    drop(sv);
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("s.conf");
    let d = dir.path().display();
    // as root, also hand the socket to nobody (chown)
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let chown = if root { "chown = nobody\n" } else { "" };
    std::fs::write(
        &conf,
        format!(
            "[unix_http_server]\nfile = {d}/s.sock\nchmod = 0660\n{chown}\n[supervisord]\nlogfile = {d}/l.log\npidfile = {d}/s.pid\nchildlogdir = {d}\n\n\
             [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
        ),
    )
    .unwrap();
    // without -n: daemonizes, the parent exits 0 at once
    let st = Command::new(env!("CARGO_BIN_EXE_gwe"))
        .args(["supervisord", "-c"])
        .arg(&conf)
        .status()
        .unwrap();
    assert!(st.success());
    let pid: i32 = wait_for("pidfile", TIMEOUT, || {
        std::fs::read_to_string(dir.path().join("s.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    });
    wait_for("socket", TIMEOUT, || {
        std::os::unix::net::UnixStream::connect(dir.path().join("s.sock")).ok()
    });
    let mode = std::fs::metadata(dir.path().join("s.sock"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o660);
    // the socket and the pidfile are put in place under temporary names and
    // renamed: nothing of those is left
    assert_eq!(leftovers(dir.path(), "s.sock."), Vec::<String>::new());
    let pid_tmp: Vec<_> = leftovers(dir.path(), "s.pid.")
        .into_iter()
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert_eq!(pid_tmp, Vec::<String>::new());
    if root {
        use std::os::unix::fs::MetadataExt;
        let nobody = Command::new("id")
            .args(["-u", "nobody"])
            .output()
            .unwrap()
            .stdout;
        let nobody: u32 = String::from_utf8_lossy(&nobody).trim().parse().unwrap();
        assert_eq!(
            std::fs::metadata(dir.path().join("s.sock")).unwrap().uid(),
            nobody
        );
    }
    // a second daemon on the same socket (other pidfile, via -j) refuses to start
    let o = Command::new(env!("CARGO_BIN_EXE_gwe"))
        .args(["supervisord", "-n", "-c"])
        .arg(&conf)
        .arg("-j")
        .arg(dir.path().join("other.pid"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("Another program is already listening"));
    assert!(!dir.path().join("other.pid").exists());
    send_signal(pid, "TERM");
    wait_for("daemon exit", TIMEOUT, || {
        (!dir.path().join("s.pid").exists()).then_some(())
    });
}

/// Files in `dir` whose names start with `prefix`.
fn leftovers(dir: &std::path::Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

#[test]
fn bad_config_fails_at_start_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("bad.conf");
    std::fs::write(&conf, "[program:x]\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_gwe"))
        .args(["supervisord", "-n", "-c"])
        .arg(&conf)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(!o.stderr.is_empty());
    let o = Command::new(env!("CARGO_BIN_EXE_gwe"))
        .args(["supervisord", "--help"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("-c, --configuration"));
}
