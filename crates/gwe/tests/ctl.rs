//! `gwe ctl` against a real daemon (Python supervisord by default, see
//! `ctl_support::daemon_command`), compared with the real `supervisorctl`
//! on the same daemon: same stdout (pids and uptimes masked), same exit code.

mod ctl_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use ctl_support::{config_text, mask, run, wait_for, Daemon, PROGRAMS};
use gwe_supervisor_client::ProcessState;

#[test]
fn read_only_commands_match_supervisorctl() {
    let d = Daemon::start(PROGRAMS);
    for cmd in [
        "status",
        "status all",
        "status cat",
        "status grp:*",
        "status grp:g1 cat",
        "status nope",
        "status nogroup:*",
        "status grp:nope cat",
        "status manual",
        "pid",
        "pid all",
        "pid cat",
        "pid manual",
        "pid nope",
        "pid cat nope",
        "version",
        "version extra",
        "avail",
        "avail extra",
        "reread",
        "reread extra",
        "tail cat",
        "tail cat stderr",
        "tail cat STDOUT",
        "tail -5 cat",
        "tail -5 cat stderr",
        "tail manual",
        "tail nope",
        "tail cat bogus",
        "tail -x cat",
        "tail",
        "tail a b c d",
        "maintail -0",
        "maintail -x",
        "maintail a b",
        "maintail nodash",
        "start",
        "stop",
        "restart",
        "clear",
        "signal",
        "signal HUP",
        "shutdown now",
        "reload now",
        "update nope",
        "bogus command",
        "help status",
    ] {
        d.compare(&[], cmd, false);
    }
}

#[test]
fn gwe_called_as_supervisorctl_acts_as_gwe_ctl() {
    let d = Daemon::start(PROGRAMS);
    let link = d.dir.path().join("supervisorctl");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_gwe"), &link).unwrap();
    for cmd in ["status", "status nope", "pid cat", "version"] {
        let via_link = run(Command::new(&link).arg("-c").arg(&d.conf), cmd);
        let via_ctl = d.gwe(cmd);
        assert_eq!(
            (mask(&via_link.stdout), via_link.code),
            (mask(&via_ctl.stdout), via_ctl.code),
            "{cmd}"
        );
    }
    // and it is not mistaken for the engine's flags
    let r = run(Command::new(&link).arg("-c").arg(&d.conf), "status cat");
    assert!(r.stdout.starts_with("cat "), "{r:?}");
}

#[test]
fn status_exit_codes() {
    let d = Daemon::start(PROGRAMS);
    assert_eq!(d.gwe("status cat").code, 0);
    // A stopped process: 3; a bad name: 4.
    assert_eq!(d.gwe("status manual").code, 3);
    assert_eq!(d.gwe("status nope").code, 4);
    let r = d.gwe("status");
    assert_eq!(r.code, 3, "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{r:?}");
    assert!(
        lines[0].starts_with("cat                              RUNNING   pid "),
        "{lines:?}"
    );
    assert!(lines
        .iter()
        .any(|l| l.starts_with("grp:g1   ") && l.contains("RUNNING")));
    assert!(lines.contains(&"manual                           STOPPED   Not started"));
}

#[test]
fn start_stop_restart_match_supervisorctl() {
    let d = Daemon::start(PROGRAMS);
    d.compare(&["stop manual"], "start manual", false);
    d.compare(&["start manual"], "start manual", false);
    d.compare(&["start manual"], "stop manual", false);
    d.compare(&["stop manual"], "stop manual", false);
    d.compare(&[], "start nope", false);
    d.compare(&[], "stop nope", false);
    d.compare(&[], "start nogroup:*", false);
    d.compare(&[], "stop nogroup:*", false);
    d.compare(&["stop grp:*"], "start grp:*", true);
    d.compare(&["start grp:*"], "stop grp:*", true);
    d.compare(&["start grp:*"], "restart grp:*", true);
    d.compare(&["stop manual"], "restart manual cat", true);
    d.compare(&["stop manual"], "start manual nope", false);
    d.compare(&[], "start failing", false);
    d.compare(&["start all"], "stop all", true);
    d.compare(&["stop all"], "start all", true);
    d.compare(&["start all"], "start all", true);
}

#[test]
fn signal_and_clear_match_supervisorctl() {
    let d = Daemon::start(PROGRAMS);
    d.compare(&[], "signal HUP nope", false);
    d.compare(&[], "signal BOGUS cat", false);
    d.compare(&["stop manual"], "signal USR1 manual", false);
    d.compare(&[], "signal 0 cat", false);
    d.compare(&[], "signal CONT grp:*", true);
    d.compare(&[], "signal CONT nogroup:*", false);
    d.compare(&["start all"], "signal CONT all", true);
    d.compare(&[], "clear cat", false);
    d.compare(&[], "clear nope", false);
    d.compare(&[], "clear all", true);
}

#[test]
fn start_waits_until_running_and_reports_spawn_failures() {
    let d = Daemon::start(PROGRAMS);
    let r = d.gwe("start manual");
    assert_eq!((r.stdout.as_str(), r.code), ("manual: started\n", 0));
    let info = d.client().get_process_info("manual").unwrap();
    assert_eq!(info.process_state(), Some(ProcessState::Running));
    // Exits before startsecs with no retries: FATAL, "abnormal termination"/"spawn error".
    let r = d.gwe("start failing");
    assert_eq!(r.code, 7, "{r:?}");
    assert!(r.stdout.starts_with("failing: ERROR ("), "{r:?}");
}

#[test]
fn tail_follow_streams_new_output() {
    let d = Daemon::start(PROGRAMS);
    for (args, first) in [
        ("tail -f cat", "hello-out"),
        ("tail -f cat stderr", "hello-err"),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gwe"))
            .arg("ctl")
            .arg("-c")
            .arg(&d.conf)
            .args(args.split_whitespace())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let recv = || {
            rx.recv_timeout(Duration::from_secs(20))
                .expect("tail -f output")
        };
        assert_eq!(recv(), "==> Press Ctrl-C to exit <==");
        assert_eq!(recv(), first);
        if first == "hello-out" {
            // New output arrives while following (cat echoes its stdin).
            d.client().send_process_stdin("cat", "live line\n").unwrap();
            assert_eq!(recv(), "live line");
        }
        child.kill().unwrap();
        child.wait().unwrap();
    }
    // A bad name: the banner, then the HTTP error on stderr; exit 0 like supervisorctl.
    let want = d.reference("tail -f nope");
    let got = d.gwe("tail -f nope");
    assert_eq!(
        (got.stdout.as_str(), got.code),
        (want.stdout.as_str(), want.code)
    );
    assert_eq!(got.stderr, want.stderr);
}

#[test]
fn maintail_reads_the_main_log() {
    let d = Daemon::start(PROGRAMS);
    let r = d.gwe("maintail");
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("supervisord started with pid"), "{r:?}");
    let r = d.gwe("maintail -100");
    assert!(r.stdout.len() <= 101, "{r:?}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gwe"))
        .args(["ctl", "-c"])
        .arg(&d.conf)
        .args(["maintail", "-f"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(
        lines.next().unwrap().unwrap(),
        "==> Press Ctrl-C to exit <=="
    );
    // Cause a log line and see it arrive.
    d.client().stop_process("manual", true).ok();
    d.client().start_process("manual", true).unwrap();
    let mut seen = false;
    for line in lines.by_ref() {
        if line.unwrap().contains("spawned: 'manual'") {
            seen = true;
            break;
        }
    }
    assert!(seen);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn reread_update_add_remove_match_supervisorctl() {
    let d = Daemon::start(PROGRAMS);
    d.compare(&[], "reread", false);
    d.compare(&[], "update", false);
    // New, changed and removed groups.
    let changed = PROGRAMS
        .replace(
            "[program:manual]\ncommand=sleep 1000",
            "[program:manual]\ncommand=sleep 2000",
        )
        .replace(
            "[program:failing]",
            "[program:newprog]\ncommand=sleep 1000\nstartsecs=0\n\n[program:failing_gone]",
        )
        .replace("[group:grp]\nprograms=g1,g2", "[group:grp]\nprograms=g1");
    std::fs::write(&d.conf, config_text(d.dir.path(), &changed)).unwrap();
    d.compare(&[], "reread", true);
    let r = d.gwe("update nope");
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.starts_with("ERROR: no such group: nope\n"),
        "{r:?}"
    );
    let r = d.gwe("update manual");
    assert_eq!(r.stdout, "manual: stopped\nmanual: updated process group\n");
    let r = d.gwe("update");
    assert_eq!(r.code, 0, "{r:?}");
    let mut lines: Vec<&str> = r.stdout.lines().collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            "failing: removed process group",
            "failing: stopped",
            "failing_gone: added process group",
            "g2: added process group",
            "grp: stopped",
            "grp: updated process group",
            "newprog: added process group",
        ]
    );
    d.compare(&[], "reread", false);
    d.wait_ready();
    let r = d.gwe("status newprog");
    assert!(r.stdout.contains("RUNNING"), "{r:?}");
    // remove / add by hand.
    d.compare(&["add newprog", "stop newprog"], "remove newprog", false);
    d.compare(&[], "remove nope", false);
    d.compare(&[], "remove cat", false);
    d.compare(&["stop newprog", "remove newprog"], "add newprog", false);
    d.compare(&[], "add newprog", false);
    d.compare(&[], "add nope", false);
}

#[test]
fn json_output() {
    let d = Daemon::start(PROGRAMS);
    let r = d.gwe("--json status");
    assert_eq!(r.code, 3);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("status JSON");
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 5);
    assert_eq!(list[0]["namespec"], "cat");
    assert_eq!(list[0]["statename"], "RUNNING");
    assert!(list[0]["pid"].as_i64().unwrap() > 0);
    let names: Vec<&str> = list
        .iter()
        .map(|p| p["namespec"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cat", "failing", "grp:g1", "grp:g2", "manual"]);

    let v: serde_json::Value = serde_json::from_str(&d.gwe("-j pid").stdout).unwrap();
    assert!(v["pid"].as_i64().unwrap() > 1);
    let r = d.gwe("-j pid cat nope");
    assert_eq!(r.code, 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(v[0]["pid"].as_i64().unwrap() > 0);
    assert!(v[1]["pid"].is_null());
    let v: serde_json::Value = serde_json::from_str(&d.gwe("-j version").stdout).unwrap();
    assert_eq!(v["version"], "4.3.0".to_owned().as_str());
    let v: serde_json::Value = serde_json::from_str(&d.gwe("-j avail").stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 5);
    let r = d.gwe("-j start manual nope");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v[0]["ok"], true);
    assert_eq!(v[1]["ok"], false);
    assert_eq!(v[1]["message"], "nope: ERROR (no such process)");
    let v: serde_json::Value = serde_json::from_str(&d.gwe("-j reread").stdout).unwrap();
    assert_eq!(v["added"], serde_json::json!([]));
}

#[test]
fn reload_and_shutdown() {
    let mut d = Daemon::start(PROGRAMS);
    let pid_before = d.client().get_pid().unwrap();
    let r = d.gwe("reload");
    assert_eq!((r.stdout.as_str(), r.code), ("Restarted supervisord\n", 0));
    d.wait_ready();
    assert_eq!(
        d.client().get_pid().unwrap(),
        pid_before,
        "reload keeps the daemon process"
    );
    let r = d.gwe("shutdown");
    assert_eq!((r.stdout.as_str(), r.code), ("Shut down\n", 0));
    wait_for("daemon exit", || d.exited());
    // Now nothing listens: the supervisorctl messages and exit codes.
    for cmd in [
        "status",
        "version",
        "pid",
        "shutdown",
        "tail cat",
        "start cat",
        "reread",
        "avail",
    ] {
        d.compare(&[], cmd, false);
    }
}

#[test]
fn unreachable_servers() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("unix://{}/none.sock", dir.path().display());
    let r = run(
        Command::new(env!("CARGO_BIN_EXE_gwe")).args(["ctl", "-s", &missing]),
        "version",
    );
    assert_eq!(
        (r.stdout.clone(), r.code),
        (format!("{missing} no such file\n"), 7)
    );
    let r = run(
        Command::new(env!("CARGO_BIN_EXE_gwe")).args(["ctl", "-s", &missing]),
        "status",
    );
    assert_eq!(r.code, 4);
    // A socket file nobody listens on: connection refused.
    let path = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let stale = format!("unix://{}", path.display());
    for cmd in ["version", "status", "shutdown", "reread"] {
        let want = run(Command::new("supervisorctl").args(["-s", &stale]), cmd);
        let got = run(
            Command::new(env!("CARGO_BIN_EXE_gwe")).args(["ctl", "-s", &stale]),
            cmd,
        );
        assert_eq!(mask(&got.stdout), mask(&want.stdout), "{cmd}");
        assert_eq!(got.code, want.code, "{cmd}");
    }
    let r = run(
        Command::new(env!("CARGO_BIN_EXE_gwe")).args(["ctl", "-s", &stale]),
        "version",
    );
    assert_eq!(r.stdout, format!("{stale} refused connection\n"));
}

#[test]
fn http_server_with_basic_auth() {
    let d = Daemon::start_http_auth(PROGRAMS);
    d.compare(&[], "status", false);
    d.compare(&[], "-u user -p wrong status", false);
    d.compare(&[], "-u user -p s3cret status", false);
    d.compare(&[], "-u user -p s3cret tail cat", false);
    d.compare(&[], "-u user -p wrong reread", false);
    let r = d.gwe("-u user -p s3cret pid cat");
    assert_eq!(r.code, 0);
}

#[test]
fn usage_errors() {
    let gwe = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gwe"));
        c.arg("ctl").env("HOME", "/nonexistent");
        c
    };
    let r = run(&mut gwe(), "--help");
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("status [NAME...|all]"));
    for bad in [
        "-x status",
        "-s",
        "-s notaurl status",
        "--bogus",
        "-c /nonexistent/x.conf status",
    ] {
        let r = run(&mut gwe(), bad);
        assert_eq!(r.code, 2, "{bad}: {r:?}");
        assert!(r.stderr.starts_with("Error: "), "{bad}: {r:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("c.conf");
    std::fs::write(&conf, "[supervisord]\n").unwrap();
    let r = run(gwe().arg("-c").arg(&conf), "status");
    let want = run(Command::new("supervisorctl").arg("-c").arg(&conf), "status");
    assert_eq!(r.code, want.code);
    assert_eq!(r.stderr.lines().next(), want.stderr.lines().next());
}

/// A one-answer-per-request XML-RPC server on 127.0.0.1 that always sends `body`.
fn canned_server(body: String) -> String {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", l.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            let body = body.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(s.try_clone().unwrap());
                loop {
                    let mut len = 0usize;
                    loop {
                        let mut line = String::new();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut req = vec![0; len];
                    if r.read_exact(&mut req).is_err() {
                        return;
                    }
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if s.write_all(resp.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

#[test]
fn upcheck_failures() {
    use gwe_supervisor_client::xmlrpc::{encode_fault, encode_response, Value};
    let gwe = |url: &str, cmd: &str| {
        run(
            Command::new(env!("CARGO_BIN_EXE_gwe")).args(["ctl", "-s", url]),
            cmd,
        )
    };

    let mut wrong_version = String::new();
    encode_response(&mut wrong_version, &Value::String("2.0".into()));
    let url = canned_server(wrong_version);
    let r = gwe(&url, "version");
    assert_eq!(r.code, 5, "{r:?}");
    assert_eq!(
        r.stdout,
        "Sorry, this version of supervisorctl expects to talk to a server with API version 3.0, but the remote version is 2.0.\n"
    );
    assert_eq!(
        gwe(&url, "status").code,
        4,
        "status always exits 4 when upcheck fails"
    );

    let mut unknown = String::new();
    encode_fault(&mut unknown, 1, "UNKNOWN_METHOD");
    let url = canned_server(unknown);
    let r = gwe(&url, "pid");
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stdout.starts_with(
        "Sorry, supervisord responded but did not recognize the supervisor namespace"
    ));

    // Garbage instead of XML-RPC: a plain error, exit 1.
    let url = canned_server("<html>not xml-rpc</html>".into());
    let r = gwe(&url, "version");
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.starts_with("error: "), "{r:?}");
}

#[test]
fn fg_attaches_stdin_and_output() {
    use std::io::Write;
    let d = Daemon::start(PROGRAMS);
    for cmd in ["fg", "fg a b", "fg nope", "fg manual"] {
        d.compare(&[], cmd, false);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_gwe"))
        .args(["ctl", "-c"])
        .arg(&d.conf)
        .args(["fg", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let recv = || rx.recv_timeout(Duration::from_secs(20)).expect("fg output");
    assert_eq!(recv(), "==> Press Ctrl-C to exit <==");
    stdin.write_all(b"typed into fg\n").unwrap();
    // The recent log comes first (both channels, in any order), then the echo.
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l == "typed into fg") {
        seen.push(recv());
    }
    assert!(seen.contains(&"hello-out".to_owned()), "{seen:?}");
    drop(stdin);
    let mut rest = Vec::new();
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(20)) {
        rest.push(l);
    }
    assert_eq!(
        rest.last().map(String::as_str),
        Some("Exiting foreground"),
        "{rest:?}"
    );
    assert!(child.wait().unwrap().success());
}
