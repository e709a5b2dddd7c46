//! The real python `supervisorctl` against `gwe supervisord`: every command
//! it has, with supervisorctl's own output and exit codes.

mod supervisord_util;

use std::io::Read;
use std::process::{Command, Stdio};

use supervisord_util::{script, wait_for, Sv, TIMEOUT};

fn talker_conf() -> &'static str {
    "[program:talker]\ncommand = {dir}/talker.sh\nstartsecs = 0\n\n\
     [group:g]\nprograms = a,b\n\n\
     [program:a]\ncommand = sleep 1000\nstartsecs = 0\n\n\
     [program:b]\ncommand = sleep 1000\nstartsecs = 0\n\n\
     [program:off]\ncommand = sleep 1000\nautostart = false\n"
}

fn start() -> Sv {
    Sv::start(talker_conf(), |dir| {
        script(
            dir,
            "talker.sh",
            "i=0\nwhile :; do i=$((i+1)); echo out-$i; echo err-$i >&2; sleep 0.1; done",
        );
    })
}

#[test]
fn status_start_stop_restart_pid_version() {
    let sv = start();
    sv.wait_status("talker", "RUNNING");
    sv.wait_status("g:a", "RUNNING");
    // `off` is STOPPED: status exits 3
    let out = sv.ctl_ok(&["status"], 3);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[0].starts_with("g:a ") && lines[0].contains("RUNNING") && lines[0].contains("pid "),
        "{out}"
    );
    assert!(
        lines[2].starts_with("off ")
            && lines[2].contains("STOPPED")
            && lines[2].contains("Not started"),
        "{out}"
    );
    assert!(sv
        .ctl_ok(&["status", "nope"], 4)
        .contains("nope: ERROR (no such process)"));
    assert_eq!(sv.ctl_ok(&["version"], 0).trim(), "4.3.0");
    assert_eq!(sv.ctl_ok(&["pid"], 0).trim(), sv.pid().to_string());
    assert_eq!(sv.ctl_ok(&["pid", "all"], 0).lines().count(), 4);
    let pid_a: i32 = sv.ctl_ok(&["pid", "g:a"], 0).trim().parse().unwrap();
    assert!(pid_a > 0);

    assert_eq!(sv.ctl_ok(&["start", "off"], 0).trim(), "off: started");
    // ALREADY_STARTED does not change the exit status
    assert!(sv
        .ctl_ok(&["start", "off"], 0)
        .contains("off: ERROR (already started)"));
    assert!(sv
        .ctl_ok(&["start", "nope"], 1)
        .contains("nope: ERROR (no such process)"));
    let out = sv.ctl_ok(&["stop", "g:*"], 0);
    assert!(
        out.contains("g:a: stopped") && out.contains("g:b: stopped"),
        "{out}"
    );
    assert!(sv
        .ctl_ok(&["stop", "g:a"], 0)
        .contains("g:a: ERROR (not running)"));
    let out = sv.ctl_ok(&["restart", "g:a"], 0);
    assert!(
        out.contains("g:a: ERROR (not running)") && out.contains("g:a: started"),
        "{out}"
    );
    let out = sv.ctl_ok(&["restart", "all"], 0);
    assert!(
        out.contains("talker: stopped") && out.contains("talker: started"),
        "{out}"
    );
    let new_a: i32 = sv.ctl_ok(&["pid", "g:a"], 0).trim().parse().unwrap();
    assert_ne!(new_a, pid_a);
    let out = sv.ctl_ok(&["stop", "all"], 0);
    assert_eq!(out.lines().count(), 4, "{out}");
    assert!(sv
        .ctl_ok(&["status"], 3)
        .lines()
        .all(|l| l.contains("STOPPED")));
    assert!(sv.ctl_ok(&["start", "all"], 0).contains("talker: started"));
}

#[test]
fn tail_follow_maintail_clear_signal() {
    let sv = start();
    sv.wait_status("talker", "RUNNING");
    wait_for("output", TIMEOUT, || {
        sv.ctl_ok(&["tail", "talker"], 0)
            .contains("out-3")
            .then_some(())
    });
    let err = sv.ctl_ok(&["tail", "talker", "stderr"], 0);
    assert!(err.contains("err-") && !err.contains("out-"), "{err}");
    let out = sv.ctl_ok(&["tail", "-20", "talker"], 0);
    assert!(
        out.trim_end().len() <= 20 && out.contains("out-"),
        "{out:?}"
    );
    // tail -f streams over GET /logtail
    let mut f = Command::new("supervisorctl")
        .arg("-c")
        .arg(&sv.conf)
        .args(["tail", "-f", "talker"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = f.stdout.take().unwrap();
    let got = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        // read until at least 5 fresh lines arrived
        while String::from_utf8_lossy(&buf).matches("out-").count() < 15 {
            match stdout.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        String::from_utf8_lossy(&buf).into_owned()
    });
    wait_for("tail -f output", TIMEOUT, || {
        got.is_finished().then_some(())
    });
    let text = got.join().unwrap();
    let _ = f.kill();
    let _ = f.wait();
    assert!(text.contains("==> Press Ctrl-C to exit <=="), "{text}");
    assert!(text.matches("out-").count() >= 15, "{text}");

    // maintail -f streams over GET /mainlogtail
    let mut f = Command::new("supervisorctl")
        .arg("-c")
        .arg(sv.path("ctl.conf"))
        .args(["maintail", "-f"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = f.stdout.take().unwrap();
    let got = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while !String::from_utf8_lossy(&buf).contains("stopped: b (terminated by SIGTERM)") {
            match stdout.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        String::from_utf8_lossy(&buf).into_owned()
    });
    // something new in the main log while following
    assert!(sv.ctl_ok(&["stop", "g:b"], 0).contains("g:b: stopped"));
    wait_for("maintail -f output", TIMEOUT, || {
        got.is_finished().then_some(())
    });
    let text = got.join().unwrap();
    let _ = f.kill();
    let _ = f.wait();
    assert!(text.contains("==> Press Ctrl-C to exit <=="), "{text}");

    let main = sv.ctl_ok(&["maintail"], 0);
    assert!(main.contains("spawned: 'talker' with pid"), "{main}");
    assert!(sv.ctl_ok(&["maintail", "-100"], 0).trim_end().len() <= 100);

    assert_eq!(sv.ctl_ok(&["clear", "talker"], 0).trim(), "talker: cleared");
    assert!(!sv.ctl_ok(&["tail", "talker"], 0).contains("out-1\n"));
    assert!(sv.ctl_ok(&["clear", "all"], 0).contains("g:a: cleared"));

    assert_eq!(
        sv.ctl_ok(&["signal", "USR1", "g:a"], 0).trim(),
        "g:a: signalled"
    );
    sv.wait_log("exited: a (terminated by SIGUSR1; not expected)");
    assert!(sv
        .ctl_ok(&["signal", "BOGUS", "talker"], 1)
        .contains("ERROR (bad signal name)"));
}

#[test]
fn avail_reread_update_add_remove_reload_shutdown() {
    let mut sv = start();
    sv.wait_status("talker", "RUNNING");
    let avail = sv.ctl_ok(&["avail"], 0);
    assert!(
        avail.contains("talker") && avail.contains("in use"),
        "{avail}"
    );
    assert_eq!(
        sv.ctl_ok(&["reread"], 0).trim(),
        "No config updates to processes"
    );
    // drop g, change talker's config, add extra
    let dir = sv.dir.path().to_path_buf();
    Sv::write_conf(
        &sv.conf,
        &dir,
        "[program:talker]\ncommand = {dir}/talker.sh\nstartsecs = 0\nstopsignal = INT\n\n\
         [program:extra]\ncommand = sleep 1000\nstartsecs = 0\n\n\
         [program:off]\ncommand = sleep 1000\nautostart = false\n",
    );
    let out = sv.ctl_ok(&["reread"], 0);
    assert!(
        out.contains("extra: available")
            && out.contains("g: disappeared")
            && out.contains("talker: changed"),
        "{out}"
    );
    let out = sv.ctl_ok(&["update"], 0);
    assert!(
        out.contains("extra: added process group")
            && out.contains("g: stopped")
            && out.contains("g: removed process group"),
        "{out}"
    );
    assert!(out.contains("talker: updated process group"), "{out}");
    sv.wait_status("extra", "RUNNING");
    assert!(sv.ctl_ok(&["status", "g:a"], 4).contains("no such"));
    assert_eq!(
        sv.ctl_ok(&["remove", "extra"], 1).trim(),
        "ERROR: process/group still running: extra"
    );
    sv.ctl_ok(&["stop", "extra"], 0);
    assert_eq!(
        sv.ctl_ok(&["remove", "extra"], 0).trim(),
        "extra: removed process group"
    );
    assert_eq!(
        sv.ctl_ok(&["add", "extra"], 0).trim(),
        "extra: added process group"
    );
    assert_eq!(
        sv.ctl_ok(&["add", "extra"], 0).trim(),
        "ERROR: process group already active"
    );

    let before: i32 = sv.ctl_ok(&["pid", "talker"], 0).trim().parse().unwrap();
    assert_eq!(sv.ctl_ok(&["reload"], 0).trim(), "Restarted supervisord");
    wait_for("talker restarted", TIMEOUT, || {
        // while it restarts the daemon answers SHUTDOWN_STATE (exit 1), as supervisord does
        let o = sv.ctl(&["pid", "talker"]);
        if o.status.code() != Some(0) {
            return None;
        }
        let p: i32 = String::from_utf8_lossy(&o.stdout).trim().parse().ok()?;
        (p != 0 && p != before).then_some(())
    });
    assert_eq!(
        sv.ctl_ok(&["pid"], 0).trim(),
        sv.pid().to_string(),
        "same daemon after reload"
    );

    assert_eq!(sv.ctl_ok(&["shutdown"], 0).trim(), "Shut down");
    let st = sv.wait_exit();
    assert_eq!(st.code(), Some(0));
    assert!(!sv.path("supervisord.pid").exists());
    assert!(!sv.path("supervisor.sock").exists());
}
