//! Table-driven tests of the machine with synthetic time: no processes.

use super::*;
use crate::process::program_config;

fn cfg() -> ProcessConfig {
    program_config("app", "/bin/true")
}

/// Start a machine and bring it to STARTING with pid 42 at `t`.
fn started(m: &mut Machine, c: &ProcessConfig, t: Instant) {
    let fx = m.tick(c, t, true);
    assert_eq!(fx, vec![Effect::Spawn]);
    m.begin_spawn(&c.name, t);
    let fx = m.spawned(&c.name, 42);
    assert_eq!(
        fx,
        vec![Effect::Log(
            Level::Info,
            "spawned: 'app' with pid 42".into()
        )]
    );
    assert_eq!(m.state, Starting);
}

fn logs(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Log(l, s) if *l >= Level::Info => Some(s.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn autostart_only_when_never_started_and_allowed() {
    let c = cfg();
    let t = Instant::now();
    let mut m = Machine::default();
    assert!(
        m.tick(&c, t, false).is_empty(),
        "no start while shutting down"
    );
    let mut c2 = c.clone();
    c2.autostart = false;
    assert!(m.tick(&c2, t, true).is_empty());
    assert_eq!(m.tick(&c, t, true), vec![Effect::Spawn]);
    m.laststart = Some(t);
    assert!(
        m.tick(&c, t, true).is_empty(),
        "a stopped, once-started process stays stopped"
    );
}

#[test]
fn starting_becomes_running_only_after_more_than_startsecs() {
    let c = cfg(); // startsecs 1
    let t = Instant::now();
    let mut m = Machine::default();
    started(&mut m, &c, t);
    assert_eq!(m.deadline(&c), Some(t + Duration::from_millis(1001)));
    assert!(m.tick(&c, t + Duration::from_millis(1000), true).is_empty());
    assert_eq!(m.state, Starting);
    let fx = m.tick(&c, t + Duration::from_millis(1001), true);
    assert_eq!(m.state, Running);
    assert_eq!(
        logs(&fx),
        ["success: app entered RUNNING state, process has stayed up for > than 1 seconds (startsecs)"]
    );
    assert_eq!(m.deadline(&c), None, "nothing timed while RUNNING");
}

#[test]
fn exit_cases_table() {
    // (startsecs, seconds up before exit, exit, autorestart, expected state, restart?, log)
    use AutoRestart as A;
    let rows: &[(u64, u64, ExitStatus, A, ProcessState, bool, &str)] = &[
        (
            1,
            0,
            ExitStatus::Code(0),
            A::Unexpected,
            Backoff,
            true,
            "exited: app (exit status 0; not expected)",
        ),
        (
            1,
            5,
            ExitStatus::Code(0),
            A::Unexpected,
            Exited,
            false,
            "exited: app (exit status 0; expected)",
        ),
        (
            1,
            5,
            ExitStatus::Code(3),
            A::Unexpected,
            Exited,
            true,
            "exited: app (exit status 3; not expected)",
        ),
        (
            1,
            5,
            ExitStatus::Code(0),
            A::True,
            Exited,
            true,
            "exited: app (exit status 0; expected)",
        ),
        (
            1,
            5,
            ExitStatus::Code(3),
            A::False,
            Exited,
            false,
            "exited: app (exit status 3; not expected)",
        ),
        (
            1,
            5,
            ExitStatus::Signal {
                sig: 9,
                core: false,
            },
            A::Unexpected,
            Exited,
            true,
            "exited: app (terminated by SIGKILL; not expected)",
        ),
        (
            0,
            0,
            ExitStatus::Code(1),
            A::Unexpected,
            Exited,
            true,
            "exited: app (exit status 1; not expected)",
        ),
        (
            10,
            9,
            ExitStatus::Code(0),
            A::False,
            Backoff,
            true,
            "exited: app (exit status 0; not expected)",
        ),
    ];
    for (i, &(startsecs, up, status, auto, want, restarts, line)) in rows.iter().enumerate() {
        let mut c = cfg();
        c.startsecs = startsecs;
        c.autorestart = auto;
        let t = Instant::now();
        let mut m = Machine::default();
        started(&mut m, &c, t);
        let now = t + Duration::from_secs(up);
        if up > startsecs {
            m.tick(&c, now, true);
            assert_eq!(m.state, Running, "row {i}");
        }
        let fx = m.exited(&c, status, now);
        assert_eq!(m.state, want, "row {i}");
        assert_eq!(logs(&fx).last().map(String::as_str), Some(line), "row {i}");
        assert_eq!(m.pid, 0);
        let later = now + Duration::from_secs(u64::from(m.backoff));
        let again = m.tick(&c, later, true);
        assert_eq!(
            again.contains(&Effect::Spawn),
            restarts,
            "row {i}: {again:?}"
        );
    }
}

#[test]
fn backoff_is_linear_and_gives_up_after_one_plus_startretries_attempts() {
    let c = cfg(); // startretries 3
    let mut t = Instant::now();
    let mut m = Machine::default();
    let mut attempts = 0;
    let mut fatal_log = Vec::new();
    for round in 1..=10u64 {
        if m.state == Fatal {
            break;
        }
        // spawn whenever the machine asks for it
        let fx = m.tick(&c, t, true);
        assert_eq!(fx, vec![Effect::Spawn], "round {round}");
        attempts += 1;
        m.begin_spawn(&c.name, t);
        m.spawned(&c.name, 7);
        m.exited(&c, ExitStatus::Code(1), t);
        assert_eq!(m.state, Backoff);
        assert_eq!(m.backoff, attempts);
        assert_eq!(m.delay, Some(t + Duration::from_secs(u64::from(attempts))));
        if m.backoff <= c.startretries {
            // not yet due
            assert!(m
                .tick(&c, t + Duration::from_millis(999 * round), true)
                .is_empty());
            t += Duration::from_secs(u64::from(attempts));
        } else {
            fatal_log = logs(&m.tick(&c, t, true));
        }
    }
    assert_eq!(attempts, 1 + c.startretries);
    assert_eq!(m.state, Fatal);
    assert_eq!(
        fatal_log,
        ["gave up: app entered FATAL state, too many start retries too quickly"]
    );
    assert!(
        m.tick(&c, t + Duration::from_secs(100), true).is_empty(),
        "FATAL stays"
    );
}

#[test]
fn startsecs_zero_never_backs_off() {
    let mut c = cfg();
    c.startsecs = 0;
    let t = Instant::now();
    let mut m = Machine::default();
    for _ in 0..20 {
        started(&mut m, &c, t);
        m.exited(&c, ExitStatus::Code(1), t);
        assert_eq!(m.state, Exited);
        assert_eq!(m.backoff, 0);
    }
}

#[test]
fn spawn_error_goes_to_backoff_then_fatal() {
    let mut c = cfg();
    c.startretries = 1;
    let t = Instant::now();
    let mut m = Machine::default();
    m.tick(&c, t, true);
    m.begin_spawn(&c.name, t);
    let fx = m.spawn_failed(&c.name, "can't find command 'nope'".into(), t);
    assert_eq!(logs(&fx), ["spawnerr: can't find command 'nope'"]);
    assert_eq!(m.state, Backoff);
    assert_eq!(
        m.tick(&c, t + Duration::from_secs(1), true),
        vec![Effect::Spawn]
    );
    m.begin_spawn(&c.name, t);
    m.spawn_failed(&c.name, "can't find command 'nope'".into(), t);
    m.tick(&c, t, true);
    assert_eq!(m.state, Fatal);
    assert_eq!(m.spawnerr.as_deref(), Some("can't find command 'nope'"));
}

#[test]
fn stop_sends_stopsignal_then_sigkill_after_stopwaitsecs() {
    let mut c = cfg();
    c.stopsignal = libc::SIGINT;
    c.stopwaitsecs = 5;
    c.stopasgroup = true;
    c.killasgroup = true;
    let t = Instant::now();
    let mut m = Machine::default();
    started(&mut m, &c, t);
    let fx = m.stop(&c, t).unwrap();
    assert!(fx.contains(&Effect::Signal {
        sig: libc::SIGINT,
        group: true
    }));
    assert_eq!(m.state, Stopping);
    assert_eq!(m.deadline(&c), Some(t + Duration::from_secs(5)));
    assert!(m.tick(&c, t + Duration::from_secs(4), true).is_empty());
    let fx = m.tick(&c, t + Duration::from_secs(5), true);
    assert!(fx.contains(&Effect::Signal {
        sig: libc::SIGKILL,
        group: true
    }));
    assert_eq!(logs(&fx), ["killing 'app' (42) with SIGKILL"]);
    assert_eq!(m.state, Stopping);
    let fx = m.exited(
        &c,
        ExitStatus::Signal {
            sig: 9,
            core: false,
        },
        t + Duration::from_secs(5),
    );
    assert_eq!(m.state, Stopped);
    assert_eq!(logs(&fx), ["stopped: app (terminated by SIGKILL)"]);
    assert!(
        m.tick(&c, t + Duration::from_secs(9), true).is_empty(),
        "no restart after stop"
    );
}

#[test]
fn stop_of_backoff_and_of_stopped() {
    let c = cfg();
    let t = Instant::now();
    let mut m = Machine::default();
    assert!(m.stop(&c, t).is_err(), "nothing to stop");
    started(&mut m, &c, t);
    m.exited(&c, ExitStatus::Code(1), t);
    assert_eq!(m.state, Backoff);
    assert_eq!(m.stop(&c, t).unwrap(), vec![]);
    assert_eq!(m.state, Stopped);
}

#[test]
fn shutdown_gives_up_backoff_and_stops_running() {
    let c = cfg();
    let t = Instant::now();
    let mut m = Machine::default();
    started(&mut m, &c, t);
    m.exited(&c, ExitStatus::Code(1), t);
    m.stop_for_shutdown(&c, t);
    assert_eq!(m.state, Fatal);
    let mut m = Machine::default();
    started(&mut m, &c, t);
    let fx = m.stop_for_shutdown(&c, t);
    assert!(fx.contains(&Effect::Signal {
        sig: libc::SIGTERM,
        group: false
    }));
    assert_eq!(m.state, Stopping);
}

#[test]
fn kill_failure_goes_unknown_and_exit_recovers() {
    let c = cfg();
    let t = Instant::now();
    let mut m = Machine::default();
    started(&mut m, &c, t);
    m.stop(&c, t).unwrap();
    m.kill_failed(&c.name, "EPERM", t);
    assert_eq!(m.state, Unknown);
    m.exited(&c, ExitStatus::Code(0), t);
    assert_eq!(m.state, Stopped);
}

#[test]
fn illegal_transition_is_refused_and_logged() {
    let mut m = Machine::default();
    let mut fx = Vec::new();
    m.go("app", Running, Instant::now(), &mut fx);
    assert_eq!(m.state, Stopped);
    assert!(matches!(&fx[0], Effect::Log(Level::Error, s) if s.contains("STOPPED -> RUNNING")));
}

#[test]
fn signal_needs_a_pid() {
    let mut m = Machine::default();
    assert!(m.signal("app", libc::SIGHUP).is_err());
    m.pid = 9;
    assert_eq!(
        m.signal("app", libc::SIGHUP).unwrap(),
        vec![Effect::Signal {
            sig: libc::SIGHUP,
            group: false
        }]
    );
}
