//! Process lifecycle with real children (generated shell scripts) against
//! the in-process daemon: every state transition of the spec.

mod common;

use common::{alive, lines, s, script, wait_for, Daemon, TIMEOUT};
use gwe_supervisor_client::Value;

#[test]
fn starting_to_running_after_startsecs_then_expected_exit_is_not_restarted() {
    let d = Daemon::start(
        "[program:app]\ncommand = {dir}/app.sh\nstartsecs = 1\nautorestart = unexpected\n",
        |dir| {
            script(
                dir,
                "app.sh",
                &format!("echo started >> {}/runs\nsleep 1.5\nexit 0", dir.display()),
            );
        },
    );
    assert_eq!(d.statename("app"), "STARTING");
    d.wait_state("app", "RUNNING");
    d.wait_state("app", "EXITED");
    let info = d.info("app");
    assert_eq!(info.get("exitstatus").and_then(Value::as_int), Some(0));
    d.wait_log("exited: app (exit status 0; expected)");
    let log = d.mainlog();
    assert!(log.contains("success: app entered RUNNING state, process has stayed up for > than 1 seconds (startsecs)"), "{log}");
    assert!(log.contains("INFO spawned: 'app' with pid "), "{log}");
    // not restarted: the exit was expected
    assert_eq!(lines(&d.path("runs")).len(), 1);
    assert_eq!(d.statename("app"), "EXITED");
}

#[test]
fn unexpected_exit_after_running_restarts_and_autorestart_false_does_not() {
    let d = Daemon::start(
        "[program:flaky]\ncommand = {dir}/flaky.sh\nstartsecs = 0\nexitcodes = 0\n\n\
         [program:once]\ncommand = {dir}/once.sh\nstartsecs = 0\nautorestart = false\n",
        |dir| {
            let runs = dir.join("runs");
            // exits 3 on the first run, then stays up
            script(
                dir,
                "flaky.sh",
                &format!(
                    "echo x >> {r}\n[ $(wc -l < {r}) -ge 2 ] && exec sleep 1000\nexit 3",
                    r = runs.display()
                ),
            );
            script(dir, "once.sh", "exit 7");
        },
    );
    d.wait_log("exited: flaky (exit status 3; not expected)");
    d.wait_state("flaky", "RUNNING");
    wait_for("second run", TIMEOUT, || {
        (lines(&d.path("runs")).len() == 2).then_some(())
    });
    d.wait_state("once", "EXITED");
    let info = d.info("once");
    assert_eq!(info.get("exitstatus").and_then(Value::as_int), Some(7));
    assert_eq!(
        info.get("spawnerr").and_then(Value::as_str),
        Some("Bad exit code 7")
    );
    d.wait_log("exited: once (exit status 7; not expected)");
}

#[test]
fn quick_exits_back_off_linearly_then_fatal_after_one_plus_startretries_attempts() {
    let d = Daemon::start(
        "[program:crash]\ncommand = {dir}/crash.sh\nstartsecs = 1\nstartretries = 2\n",
        |dir| {
            script(
                dir,
                "crash.sh",
                &format!("date +%s.%N >> {}/attempts\nexit 0", dir.display()),
            );
        },
    );
    d.wait_state("crash", "FATAL");
    let attempts = lines(&d.path("attempts"));
    assert_eq!(attempts.len(), 3, "1 + startretries attempts: {attempts:?}");
    let t: Vec<f64> = attempts.iter().map(|l| l.parse().unwrap()).collect();
    // waits of 1 s then 2 s between attempts (linear back-off)
    assert!(t[1] - t[0] >= 0.9, "{t:?}");
    assert!(t[2] - t[1] >= 1.9, "{t:?}");
    let info = d.info("crash");
    assert_eq!(
        info.get("description").and_then(Value::as_str),
        Some("Exited too quickly (process log may have details)")
    );
    d.wait_log("gave up: crash entered FATAL state, too many start retries too quickly");
    let log = d.mainlog();
    assert_eq!(
        log.matches("exited: crash (exit status 0; not expected)")
            .count(),
        3,
        "{log}"
    );
    assert!(
        !log.contains("success: crash"),
        "prompt reaping: never RUNNING\n{log}"
    );
    // a FATAL process can be started again
    let f = d
        .call("supervisor.startProcess", &[s("crash")])
        .unwrap_err();
    assert_eq!(f.code, 50, "SPAWN_ERROR: {f}");
}

#[test]
fn startsecs_zero_never_gives_fatal() {
    let d = Daemon::start(
        "[program:loop]\ncommand = {dir}/loop.sh\nstartsecs = 0\nstartretries = 1\nautorestart = true\n",
        |dir| {
            script(dir, "loop.sh", &format!("echo x >> {}/runs\nexit 1", dir.display()));
        },
    );
    wait_for("many restarts", TIMEOUT, || {
        (lines(&d.path("runs")).len() >= 8).then_some(())
    });
    assert_ne!(d.statename("loop"), "FATAL");
    assert_ne!(d.statename("loop"), "BACKOFF");
    assert!(!d.mainlog().contains("gave up: loop"));
    d.ok("supervisor.stopProcess", &[s("loop")]);
}

#[test]
fn stop_escalates_to_sigkill_after_stopwaitsecs_when_term_is_trapped() {
    let d = Daemon::start(
        "[program:stubborn]\ncommand = {dir}/stubborn.sh\nstartsecs = 0\nstopwaitsecs = 1\n",
        |dir| {
            script(
                dir,
                "stubborn.sh",
                &format!(
                    "trap 'echo got-term >> {}/trap' TERM\nwhile :; do sleep 0.1; done",
                    dir.display()
                ),
            );
        },
    );
    d.wait_state("stubborn", "RUNNING");
    let pid = d.pid_of("stubborn");
    assert_eq!(
        d.ok("supervisor.stopProcess", &[s("stubborn")]),
        Value::Bool(true)
    );
    assert_eq!(d.statename("stubborn"), "STOPPED");
    assert!(!alive(pid));
    assert_eq!(lines(&d.path("trap")), ["got-term"]);
    let log = d.mainlog();
    assert!(
        log.contains(&format!("WARN killing 'stubborn' ({pid}) with SIGKILL")),
        "{log}"
    );
    assert!(
        log.contains("stopped: stubborn (terminated by SIGKILL)"),
        "{log}"
    );
}

#[test]
fn stopasgroup_kills_grandchildren_and_plain_stop_does_not() {
    let d = Daemon::start(
        "[program:grp]\ncommand = {dir}/tree.sh grp\nstartsecs = 0\nstopasgroup = true\n\n\
         [program:solo]\ncommand = {dir}/tree.sh solo\nstartsecs = 0\n",
        |dir| {
            script(
                dir,
                "tree.sh",
                &format!("sleep 1000 &\necho $! > {}/$1.child\nwait", dir.display()),
            );
        },
    );
    let child = |n: &str| -> i64 {
        wait_for("grandchild pid", TIMEOUT, || {
            std::fs::read_to_string(d.path(&format!("{n}.child")))
                .ok()?
                .trim()
                .parse()
                .ok()
        })
    };
    let (g, solo) = (child("grp"), child("solo"));
    assert!(alive(g) && alive(solo));
    d.ok("supervisor.stopProcess", &[s("grp")]);
    wait_for("grandchild of grp gone", TIMEOUT, || {
        (!alive(g)).then_some(())
    });
    d.ok("supervisor.stopProcess", &[s("solo")]);
    assert!(
        alive(solo),
        "SIGTERM to the shell only leaves its sleep running"
    );
    unsafe { libc::kill(solo as i32, libc::SIGKILL) };
    // the orphan is ours to reap (child subreaper), and unknown
    d.wait_log(&format!("reaped unknown pid {solo}"));
}

#[test]
fn spawn_errors() {
    let d = Daemon::start(
        "[program:missing]\ncommand = /no/such/binary\nstartretries = 1\n\n\
         [program:notexec]\ncommand = {dir}/plain.txt\nautostart = false\n",
        |dir| {
            std::fs::write(dir.join("plain.txt"), "x").unwrap();
        },
    );
    d.wait_state("missing", "FATAL");
    assert_eq!(
        d.info("missing").get("spawnerr").and_then(Value::as_str),
        Some("can't find command '/no/such/binary'")
    );
    d.wait_log("spawnerr: can't find command '/no/such/binary'");
    let f = d
        .call("supervisor.startProcess", &[s("missing")])
        .unwrap_err();
    assert_eq!(
        (f.code, f.message.as_str()),
        (20, "NO_FILE: can't find command '/no/such/binary'")
    );
    let f = d
        .call("supervisor.startProcess", &[s("notexec")])
        .unwrap_err();
    assert_eq!(f.code, 21, "{f}");
    assert!(f.message.ends_with("plain.txt' is not executable"), "{f}");
}

#[test]
fn failures_after_the_fork_go_to_stderr_and_exit_127_like_supervisord() {
    // found and executable, but the kernel cannot run it (ENOEXEC); and a
    // directory that does not exist: both fail in the child, after the fork
    let d = Daemon::start(
        "[program:badexec]\ncommand = {dir}/garbage.bin\nstartsecs = 1\nstartretries = 0\n\
         stderr_logfile = {dir}/badexec.err\n\n\
         [program:badcwd]\ncommand = /bin/sh -c 'echo ran'\ndirectory = {dir}/nowhere\n\
         startsecs = 1\nstartretries = 0\nstderr_logfile = {dir}/badcwd.err\n",
        |dir| {
            let f = dir.join("garbage.bin");
            std::fs::write(&f, [0x7f, b'E', b'L', b'F', 0, 1, 2]).unwrap();
            std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
        },
    );
    d.wait_state("badexec", "FATAL");
    d.wait_state("badcwd", "FATAL");
    for n in ["badexec", "badcwd"] {
        // supervisord clears exitstatus on a too-quick exit
        assert_eq!(
            d.info(n).get("spawnerr").and_then(Value::as_str),
            Some("Exited too quickly (process log may have details)")
        );
        d.wait_log(&format!("exited: {n} (exit status 127; not expected)"));
    }
    let dir = d.dir.path().display().to_string();
    wait_for("child error lines", TIMEOUT, || {
        (lines(&d.path("badexec.err"))
            == [
                format!("supervisor: couldn't exec {dir}/garbage.bin: ENOEXEC"),
                "supervisor: child process was not spawned".to_string(),
            ]
            && lines(&d.path("badcwd.err"))
                == [
                    format!("supervisor: couldn't chdir to {dir}/nowhere: ENOENT"),
                    "supervisor: child process was not spawned".to_string(),
                ])
        .then_some(())
    });
}

#[test]
fn priority_orders_start_and_reverse_stop() {
    let prog = |n: &str, p: u32| {
        format!("[program:{n}]\ncommand = {{dir}}/p.sh {n}\npriority = {p}\nstartsecs = 0\n\n")
    };
    let conf = format!("{}{}{}", prog("c", 30), prog("a", 10), prog("b", 20));
    let mut d = Daemon::start(&conf, |dir| {
        script(
            dir,
            "p.sh",
            &format!("echo start:$1 >> {o}\ntrap 'echo stop:$1 >> {o}; exit 0' TERM\nwhile :; do sleep 0.05; done", o = dir.join("order").display()),
        );
    });
    for n in ["a", "b", "c"] {
        d.wait_state(n, "RUNNING");
    }
    let order = d.path("order");
    d.shutdown().unwrap();
    let got = lines(&order);
    let starts: Vec<&str> = got
        .iter()
        .filter(|l| l.starts_with("start"))
        .map(String::as_str)
        .collect();
    let stops: Vec<&str> = got
        .iter()
        .filter(|l| l.starts_with("stop"))
        .map(String::as_str)
        .collect();
    // the children run concurrently, so start order is read from the spawn log
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(sorted, ["start:a", "start:b", "start:c"]);
    let log = d.mainlog();
    let at = |n: &str| log.find(&format!("spawned: '{n}'")).unwrap();
    assert!(at("a") < at("b") && at("b") < at("c"), "{log}");
    assert_eq!(stops, ["stop:c", "stop:b", "stop:a"]);
    assert!(
        !d.path("supervisord.pid").exists(),
        "pidfile removed at exit"
    );
    assert!(!d.path("supervisord.pid.children").exists());
}

#[test]
fn autostart_false_and_rpc_start_stop_faults() {
    let d = Daemon::start(
        "[program:idle]\ncommand = sleep 1000\nautostart = false\nstartsecs = 1\n\n\
         [program:quick]\ncommand = {dir}/quick.sh\nautostart = false\nstartsecs = 2\n",
        |dir| {
            script(dir, "quick.sh", "sleep 0.2; exit 1");
        },
    );
    let info = d.info("idle");
    assert_eq!(
        info.get("statename").and_then(Value::as_str),
        Some("STOPPED")
    );
    assert_eq!(
        info.get("description").and_then(Value::as_str),
        Some("Not started")
    );
    assert_eq!(
        d.call("supervisor.stopProcess", &[s("idle")])
            .unwrap_err()
            .code,
        70
    );
    // start with wait: answers only once RUNNING (after startsecs)
    assert_eq!(
        d.ok("supervisor.startProcess", &[s("idle")]),
        Value::Bool(true)
    );
    assert_eq!(d.statename("idle"), "RUNNING");
    assert_eq!(
        d.call("supervisor.startProcess", &[s("idle")])
            .unwrap_err()
            .message,
        "ALREADY_STARTED: idle"
    );
    let f = d
        .call("supervisor.startProcess", &[s("quick")])
        .unwrap_err();
    assert_eq!(f.message, "SPAWN_ERROR: quick");
    assert_eq!(
        d.call("supervisor.startProcess", &[s("nope")])
            .unwrap_err()
            .message,
        "BAD_NAME: nope"
    );
    assert_eq!(
        d.call("supervisor.stopProcess", &[s("idle:idle")]).unwrap(),
        Value::Bool(true)
    );
    assert_eq!(d.statename("idle"), "STOPPED");
    // no wait: returns at once, in STARTING
    assert_eq!(
        d.ok("supervisor.startProcess", &[s("idle"), Value::Bool(false)]),
        Value::Bool(true)
    );
    assert_eq!(d.statename("idle"), "STARTING");
}

#[test]
fn signal_process_and_environment() {
    let d = Daemon::start(
        "[program:env]\ncommand = {dir}/env.sh\nstartsecs = 0\nenvironment = FOO=\"bar baz\",SUPERVISOR_ENABLED=\"overridden\"\n",
        |dir| {
            script(
                dir,
                "env.sh",
                &format!(
                    "echo \"$SUPERVISOR_ENABLED|$SUPERVISOR_PROCESS_NAME|$SUPERVISOR_GROUP_NAME|$SUPERVISOR_SERVER_URL|$FOO\" > {d}/env\n\
                     trap 'echo hup >> {d}/sig' HUP\nwhile :; do sleep 0.05; done",
                    d = dir.display()
                ),
            );
        },
    );
    d.wait_state("env", "RUNNING");
    let env = wait_for("env file", TIMEOUT, || {
        std::fs::read_to_string(d.path("env"))
            .ok()
            .filter(|s| !s.is_empty())
    });
    let sock = d.sock.display().to_string();
    assert_eq!(
        env.trim(),
        format!("overridden|env|env|unix://{sock}|bar baz")
    );
    assert_eq!(
        d.ok("supervisor.signalProcess", &[s("env"), s("HUP")]),
        Value::Bool(true)
    );
    wait_for("HUP trapped", TIMEOUT, || {
        (lines(&d.path("sig")) == ["hup"]).then_some(())
    });
    assert_eq!(
        d.call("supervisor.signalProcess", &[s("env"), s("NOPE")])
            .unwrap_err()
            .message,
        "BAD_SIGNAL: NOPE"
    );
    let r = d.ok("supervisor.signalAllProcesses", &[s("USR2")]);
    assert_eq!(r.as_array().map(<[Value]>::len), Some(1));
    // killed by a signal: never expected, so autorestart=unexpected restarts it
    d.wait_log("exited: env (terminated by SIGUSR2; not expected)");
    wait_for("restart", TIMEOUT, || {
        (d.mainlog().matches("spawned: 'env'").count() == 2).then_some(())
    });
}

#[test]
fn user_directory_and_umask_are_applied_in_the_child() {
    let root = unsafe { libc::geteuid() } == 0;
    let d = Daemon::start(
        "[program:who]\ncommand = {dir}/who.sh\nstartsecs = 0\nautorestart = false\nuser = nobody\n\
         directory = {dir}/work\numask = 027\nstdout_logfile = {dir}/who.log\n",
        |dir| {
            std::fs::create_dir(dir.join("work")).unwrap();
            // nobody must be able to traverse to the script and its log
            std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
            std::fs::set_permissions(dir.join("work"), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
            script(dir, "who.sh", "echo \"$(id -un) $(pwd) $(umask)\"");
        },
    );
    if root {
        d.wait_state("who", "EXITED");
        let dir = d.dir.path().display().to_string();
        wait_for("output", TIMEOUT, || {
            (lines(&d.path("who.log")) == [format!("nobody {dir}/work 0027")]).then_some(())
        });
    } else {
        // not root: switching users is refused before any fork
        d.wait_state("who", "FATAL");
        assert_eq!(
            d.info("who").get("spawnerr").and_then(Value::as_str),
            Some("Can't drop privilege as nonroot user")
        );
    }
}

#[test]
fn inherited_fds_are_not_leaked_into_children() {
    // an fd without FD_CLOEXEC, as a library or parent might leave behind
    let leak = unsafe { libc::dup(2) } as u32;
    assert!(leak > 2);
    let d = Daemon::start(
        "[program:fds]\ncommand = {dir}/fds.sh\nstartsecs = 0\nautorestart = false\nstdout_logfile = {dir}/fds.log\n",
        |dir| {
            script(dir, "fds.sh", "ls /proc/$$/fd");
        },
    );
    d.wait_state("fds", "EXITED");
    // the shell sees 0 1 2 and the fd it uses to list the directory
    wait_for("listing", TIMEOUT, || {
        let fds: Vec<u32> = lines(&d.path("fds.log"))
            .iter()
            .filter_map(|l| l.parse().ok())
            .collect();
        (!fds.is_empty()).then_some(fds)
    });
    let fds: Vec<u32> = lines(&d.path("fds.log"))
        .iter()
        .filter_map(|l| l.parse().ok())
        .collect();
    assert!(!fds.contains(&leak), "fd {leak} leaked: {fds:?}");
    assert!(fds.iter().filter(|f| **f > 2).count() <= 1, "{fds:?}");
    unsafe { libc::close(leak as i32) };
}

#[test]
fn start_while_stopping_is_refused_and_never_runs_two_copies() {
    let d = Daemon::start(
        "[program:slow]\ncommand = {dir}/slow.sh\nstartsecs = 0\nstopwaitsecs = 2\n",
        |dir| {
            script(
                dir,
                "slow.sh",
                &format!(
                    "echo $$ >> {}/pids\ntrap '' TERM\nwhile :; do sleep 0.05; done",
                    dir.display()
                ),
            );
        },
    );
    d.wait_state("slow", "RUNNING");
    assert_eq!(
        d.ok("supervisor.stopProcess", &[s("slow"), Value::Bool(false)]),
        Value::Bool(true)
    );
    assert_eq!(d.statename("slow"), "STOPPING");
    let f = d.call("supervisor.startProcess", &[s("slow")]).unwrap_err();
    assert_eq!(f.message, "ABNORMAL_TERMINATION: slow");
    d.wait_log("process 'slow' already running");
    d.wait_state("slow", "STOPPED");
    assert_eq!(lines(&d.path("pids")).len(), 1);
}
