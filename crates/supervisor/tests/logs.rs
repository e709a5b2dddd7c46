//! Child output capture and log files against the in-process daemon: AUTO
//! names, NONE, explicit paths, redirect_stderr, rotation, reading/tailing/
//! clearing through RPC, and a broken log path that must not stop anything.

mod common;

use common::{header_with, lines, s, script, wait_for, Daemon, ExtDaemon, TIMEOUT};
use gwe_supervisor_client::Value;

fn logfile(d: &Daemon, name: &str, key: &str) -> String {
    d.info(name)
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

#[test]
fn auto_none_explicit_and_redirect() {
    let d = Daemon::start(
        "[program:auto]\ncommand = {dir}/both.sh\nstartsecs = 0\nautorestart = false\n\n\
         [program:none]\ncommand = {dir}/both.sh\nstartsecs = 0\nautorestart = false\nstdout_logfile = NONE\nstderr_logfile = NONE\n\n\
         [program:explicit]\ncommand = {dir}/both.sh\nstartsecs = 0\nautorestart = false\nstdout_logfile = {dir}/ex.out\nstderr_logfile = {dir}/ex.err\n\n\
         [program:redir]\ncommand = {dir}/both.sh\nstartsecs = 0\nautorestart = false\nredirect_stderr = true\nstdout_logfile = {dir}/redir.log\n",
        |dir| {
            script(dir, "both.sh", "echo to-stdout\necho to-stderr >&2");
        },
    );
    for n in ["auto", "none", "explicit", "redir"] {
        d.wait_state(n, "EXITED");
    }
    let out = logfile(&d, "auto", "stdout_logfile");
    let err = logfile(&d, "auto", "stderr_logfile");
    let dir = d.dir.path().display().to_string();
    assert!(
        out.starts_with(&format!("{dir}/auto-stdout---supervisor-")) && out.ends_with(".log"),
        "{out}"
    );
    assert!(
        err.starts_with(&format!("{dir}/auto-stderr---supervisor-")),
        "{err}"
    );
    wait_for("auto logs", TIMEOUT, || {
        (std::fs::read_to_string(&out).ok()? == "to-stdout\n"
            && std::fs::read_to_string(&err).ok()? == "to-stderr\n")
            .then_some(())
    });
    assert_eq!(logfile(&d, "none", "stdout_logfile"), "");
    let f = d
        .call(
            "supervisor.readProcessStdoutLog",
            &[s("none"), Value::Int(0), Value::Int(0)],
        )
        .unwrap_err();
    assert_eq!(f.code, 20, "NO_FILE: {f}");
    wait_for("explicit logs", TIMEOUT, || {
        (lines(&d.path("ex.out")) == ["to-stdout"] && lines(&d.path("ex.err")) == ["to-stderr"])
            .then_some(())
    });
    wait_for("redirected", TIMEOUT, || {
        let mut l = lines(&d.path("redir.log"));
        l.sort();
        (l == ["to-stderr", "to-stdout"]).then_some(())
    });
    assert_eq!(logfile(&d, "redir", "stderr_logfile"), "");
}

#[test]
fn rotation_by_maxbytes_with_backups() {
    let d = Daemon::start(
        "[program:big]\ncommand = {dir}/big.sh\nstartsecs = 0\nautorestart = false\n\
         stdout_logfile = {dir}/big.log\nstdout_logfile_maxbytes = 1KB\nstdout_logfile_backups = 2\n",
        |dir| {
            // 30 chunks of 6 lines of 100 bytes, a little apart, numbered 0..179
            script(
                dir,
                "big.sh",
                "i=0\nwhile [ $i -lt 180 ]; do printf '%099d\\n' $i; i=$((i+1)); [ $((i % 6)) -eq 0 ] && sleep 0.01; done",
            );
        },
    );
    d.wait_state("big", "EXITED");
    let p = |s: &str| d.path(s);
    wait_for("last line written", TIMEOUT, || {
        let all = ["big.log.2", "big.log.1", "big.log"]
            .map(|f| std::fs::read_to_string(p(f)).unwrap_or_default())
            .concat();
        all.ends_with(&format!("{:099}\n", 179)).then_some(())
    });
    assert!(p("big.log.1").exists(), "rotated at least once");
    assert!(!p("big.log.3").exists(), "only 2 backups");
    for f in ["big.log.1", "big.log.2"] {
        if let Ok(m) = std::fs::metadata(p(f)) {
            assert!(m.len() >= 1024, "{f} rotated at >= maxbytes: {}", m.len());
        }
    }
    // what is kept is an unbroken tail of the output, in order
    let kept = ["big.log.2", "big.log.1", "big.log"]
        .map(|f| std::fs::read_to_string(p(f)).unwrap_or_default())
        .concat();
    let nums: Vec<u32> = kept.lines().map(|l| l.parse().unwrap()).collect();
    assert!(nums.windows(2).all(|w| w[1] == w[0] + 1), "{nums:?}");
    assert_eq!(nums.last(), Some(&179));
    assert!(std::fs::metadata(p("big.log")).unwrap().len() < 1024);
}

#[test]
fn read_tail_and_clear_through_rpc() {
    let d = Daemon::start(
        "[program:talk]\ncommand = {dir}/talk.sh\nstartsecs = 0\n",
        |dir| {
            script(
                dir,
                "talk.sh",
                "echo 0123456789\necho oops >&2\nexec sleep 1000",
            );
        },
    );
    wait_for("output", TIMEOUT, || {
        (d.ok(
            "supervisor.readProcessStdoutLog",
            &[s("talk"), Value::Int(0), Value::Int(0)],
        ) == s("0123456789\n"))
        .then_some(())
    });
    assert_eq!(
        d.ok(
            "supervisor.readProcessStdoutLog",
            &[s("talk"), Value::Int(-5), Value::Int(0)]
        ),
        s("6789\n")
    );
    assert_eq!(
        d.ok(
            "supervisor.readProcessLog",
            &[s("talk"), Value::Int(2), Value::Int(3)]
        ),
        s("234")
    );
    wait_for("stderr", TIMEOUT, || {
        (d.ok(
            "supervisor.readProcessStderrLog",
            &[s("talk"), Value::Int(0), Value::Int(0)],
        ) == s("oops\n"))
        .then_some(())
    });
    let f = d
        .call(
            "supervisor.readProcessStdoutLog",
            &[s("talk"), Value::Int(-5), Value::Int(2)],
        )
        .unwrap_err();
    assert_eq!(f.code, 3, "BAD_ARGUMENTS");
    let t = d.ok(
        "supervisor.tailProcessStdoutLog",
        &[s("talk"), Value::Int(0), Value::Int(4)],
    );
    assert_eq!(
        t,
        Value::Array(vec![s("789\n"), Value::Int(11), Value::Bool(true)])
    );
    let t = d.ok(
        "supervisor.tailProcessStderrLog",
        &[s("talk"), Value::Int(0), Value::Int(100)],
    );
    assert_eq!(
        t,
        Value::Array(vec![s("oops\n"), Value::Int(5), Value::Bool(false)])
    );
    assert_eq!(
        d.ok("supervisor.clearProcessLogs", &[s("talk")]),
        Value::Bool(true)
    );
    assert_eq!(
        d.ok(
            "supervisor.readProcessStdoutLog",
            &[s("talk"), Value::Int(0), Value::Int(0)]
        ),
        s("")
    );
    let all = d.ok("supervisor.clearAllProcessLogs", &[]);
    assert_eq!(
        all.as_array().unwrap()[0]
            .get("status")
            .and_then(Value::as_int),
        Some(80)
    );
    // main log
    let main = d.ok("supervisor.readLog", &[Value::Int(0), Value::Int(0)]);
    assert!(main.as_str().unwrap().contains("spawned: 'talk'"));
    assert_eq!(d.ok("supervisor.clearLog", &[]), Value::Bool(true));
    let main = d.ok("supervisor.readLog", &[Value::Int(0), Value::Int(0)]);
    assert!(
        main.as_str().unwrap().contains("reopening log file")
            && !main.as_str().unwrap().contains("spawned"),
        "{main:?}"
    );
    // sendProcessStdin reaches the child
    assert_eq!(
        d.call("supervisor.sendProcessStdin", &[s("talk"), Value::Int(1)])
            .unwrap_err()
            .code,
        2
    );
}

#[test]
fn stdin_is_delivered() {
    let d = Daemon::start(
        "[program:cat]\ncommand = cat\nstartsecs = 0\nstdout_logfile = {dir}/cat.log\n",
        |_| {},
    );
    d.wait_state("cat", "RUNNING");
    assert_eq!(
        d.ok(
            "supervisor.sendProcessStdin",
            &[s("cat"), s("hello stdin\n")]
        ),
        Value::Bool(true)
    );
    wait_for("echoed", TIMEOUT, || {
        (lines(&d.path("cat.log")) == ["hello stdin"]).then_some(())
    });
    d.ok("supervisor.stopProcess", &[s("cat")]);
    assert_eq!(
        d.call("supervisor.sendProcessStdin", &[s("cat"), s("x")])
            .unwrap_err()
            .code,
        70
    );
}

#[test]
fn unwritable_log_never_blocks_the_child_or_other_apps() {
    let d = Daemon::start(
        "[program:lost]\ncommand = {dir}/flood.sh\nstartsecs = 0\nautorestart = false\nstdout_logfile = {dir}/adir\n\n\
         [program:full]\ncommand = {dir}/flood.sh\nstartsecs = 0\nautorestart = false\nstdout_logfile = /dev/full\nstdout_logfile_maxbytes = 0\n\n\
         [program:fine]\ncommand = {dir}/fine.sh\nstartsecs = 0\nautorestart = false\nstdout_logfile = {dir}/fine.log\n",
        |dir| {
            // the log "file" is a directory: every open fails with EISDIR
            std::fs::create_dir(dir.join("adir")).unwrap();
            // 4 MiB: far more than a pipe holds, so a reader that stopped draining would block it
            script(dir, "flood.sh", "head -c 4194304 /dev/zero\necho done >&2");
            script(dir, "fine.sh", "echo fine");
        },
    );
    d.wait_state("lost", "EXITED");
    d.wait_state("full", "EXITED");
    d.wait_state("fine", "EXITED");
    wait_for("fine logged", TIMEOUT, || {
        (lines(&d.path("fine.log")) == ["fine"]).then_some(())
    });
    d.wait_log("cannot write lost stdout log, dropping output");
    d.wait_log("cannot write full stdout log, dropping output");
    // every byte was drained and counted
    d.wait_log("lost stdout log: 4194304 bytes of output dropped");
    d.wait_log("full stdout log: 4194304 bytes of output dropped");
    let log = d.mainlog();
    assert_eq!(
        log.matches("cannot write lost stdout log").count(),
        1,
        "logged once\n{log}"
    );
    // still serving
    assert_eq!(d.daemon_statename(), "RUNNING");
}

#[test]
fn many_megabytes_are_captured_exactly() {
    // 256 MiB from `cat` of a cached file, four times over: a writer that
    // outruns the hot thread's naps, so it gathers back to back, and fast
    // enough for several rate windows that the thread yields between gathers
    // instead of sleeping; every byte must land, in order, across
    // rotations. A counter in every 8 bytes: a lost, repeated or moved piece
    // shows.
    let source: Vec<u8> = (0..8u64 << 20).flat_map(u64::to_le_bytes).collect();
    let d = Daemon::start(
        "[program:bulk]\ncommand = cat {dir}/source.bin {dir}/source.bin {dir}/source.bin {dir}/source.bin\n\
         startsecs = 0\nautorestart = false\n\
         stdout_logfile = {dir}/bulk.log\nstdout_logfile_maxbytes = 32MB\nstdout_logfile_backups = 8\n",
        |dir| std::fs::write(dir.join("source.bin"), &source).unwrap(),
    );
    let expected = source.repeat(4);
    d.wait_state("bulk", "EXITED");
    // oldest backup first
    let files: Vec<_> = (1..=8)
        .rev()
        .map(|n| d.path(&format!("bulk.log.{n}")))
        .chain([d.path("bulk.log")])
        .collect();
    // wait on the sizes, then read the 256 MiB once
    wait_for("256 MiB captured", TIMEOUT, || {
        let sizes: Option<u64> = files
            .iter()
            .map(|f| Some(std::fs::metadata(f).ok()?.len()))
            .sum();
        (sizes? == expected.len() as u64).then_some(())
    });
    let mut all = Vec::new();
    for f in &files {
        all.extend(std::fs::read(f).unwrap());
    }
    if all != expected {
        let first_difference = all.iter().zip(&expected).position(|(a, b)| a != b);
        panic!("captured bytes differ from the source, first at {first_difference:?}");
    }
}

#[test]
fn a_burst_then_a_quiet_line_arrives_whole_and_in_order() {
    // 32 MiB in 8 KiB writes makes the stream hot (drained in batches from a
    // grown pipe); the line written after the burst, while the process keeps
    // running, must still reach the file (the burst's end is noticed)
    let d = Daemon::start(
        "[program:burst]\ncommand = {dir}/burst.sh\nstartsecs = 0\nautorestart = false\n\
         stdout_logfile = {dir}/burst.log\nstdout_logfile_maxbytes = 0\n",
        |dir| {
            script(
                dir,
                "burst.sh",
                "head -c 33554432 /dev/zero | tr '\\0' x\nsleep 0.5\necho; echo after-the-burst\nexec sleep 1000",
            );
        },
    );
    d.wait_state("burst", "RUNNING");
    let path = d.path("burst.log");
    wait_for("the line after the burst", TIMEOUT, || {
        (std::fs::metadata(&path).ok()?.len() == (32 << 20) + 17).then_some(())
    });
    let text = std::fs::read(&path).unwrap();
    assert!(text[..32 << 20].iter().all(|&b| b == b'x'));
    assert_eq!(&text[32 << 20..], b"\nafter-the-burst\n");
}

#[test]
fn rotated_out_logs_a_killed_daemon_left_are_removed_at_start() {
    // a daemon killed between renaming the oldest backup away and unlinking it
    // leaves `<log>.N.discarded-<pid>-<n>`; the next start removes it
    let d = Daemon::start(
        "[program:p]\ncommand = /bin/sleep 1000\nstartsecs = 0\n\
         stdout_logfile = {dir}/p.log\nstdout_logfile_maxbytes = 1KB\nstdout_logfile_backups = 1\n",
        |dir| {
            std::fs::write(dir.join("p.log.1.discarded-1-0"), "old").unwrap();
            std::fs::write(dir.join("other.log.discarded-1-0"), "not ours").unwrap();
        },
    );
    d.wait_state("p", "RUNNING");
    assert!(!d.path("p.log.1.discarded-1-0").exists());
    assert!(d.path("other.log.discarded-1-0").exists());
}

#[test]
fn a_hot_stream_still_rotates_by_maxbytes() {
    let d = Daemon::start(
        "[program:hot]\ncommand = {dir}/hot.sh\nstartsecs = 0\nautorestart = false\n\
         stdout_logfile = {dir}/hot.log\nstdout_logfile_maxbytes = 4MB\nstdout_logfile_backups = 2\n",
        |dir| {
            script(
                dir,
                "hot.sh",
                "head -c 25165824 /dev/zero | tr '\\0' y\nsleep 0.3\necho; echo done-marker\nexec sleep 1000",
            );
        },
    );
    d.wait_state("hot", "RUNNING");
    let main = d.path("hot.log");
    wait_for("the marker after the burst", TIMEOUT, || {
        std::fs::read(&main)
            .ok()?
            .ends_with(b"\ndone-marker\n")
            .then_some(())
    });
    // spliced data stops at the rotation point (a plain write, as
    // supervisord's, may carry up to 128 KiB past it), so a backup holds
    // exactly maxbytes however large the hot thread's pieces are
    for n in [1, 2] {
        let len = std::fs::metadata(d.path(&format!("hot.log.{n}")))
            .unwrap()
            .len();
        assert_eq!(len, 4 << 20, "hot.log.{n}");
    }
    assert!(!d.path("hot.log.3").exists());
}

/// Runs a program writing 32 MiB of `y` under a daemon with a file size
/// limit (RLIMIT_FSIZE) of `limit` bytes and `supervisord` added to its
/// `[supervisord]` section; checks that the child runs to its end, every byte
/// is either in the file or counted as dropped, and the daemon lives on.
fn past_the_file_size_limit(supervisord: &str, limit: u64) {
    let total: u64 = 32 << 20;
    let conf = format!(
        "{}[program:hot]\ncommand = {{dir}}/hot.sh\nstartsecs = 0\nautorestart = false\n\
         stdout_logfile = {{dir}}/hot.log\nstdout_logfile_maxbytes = 0\n",
        header_with(std::path::Path::new("{dir}"), supervisord)
    );
    let (dir, mut cmd) = ExtDaemon::command(&conf, |dir| {
        script(
            dir,
            "hot.sh",
            &format!("head -c {total} /dev/zero | tr '\\0' y\necho child-done >&2"),
        );
    });
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit between fork and exec, no allocation.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let d = ExtDaemon::start(dir, cmd);
    d.wait_state("hot", "EXITED");
    d.wait_log("cannot write hot stdout log, dropping output");
    let dropped = wait_for("the count of dropped bytes", TIMEOUT, || {
        let log = d.mainlog();
        let at = log.find("hot stdout log: ")?;
        let n = log[at + "hot stdout log: ".len()..].split(' ').next()?;
        n.parse::<u64>().ok()
    });
    let kept = std::fs::metadata(d.path("hot.log")).unwrap().len();
    assert_eq!(kept, limit, "the file holds what the limit allows");
    assert_eq!(kept + dropped, total, "every byte written or counted");
    let text = std::fs::read(d.path("hot.log")).unwrap();
    assert!(text.iter().all(|&b| b == b'y'), "no byte out of place");
    // the child ran to its end, and the daemon still serves
    assert_eq!(
        d.ok(
            "supervisor.readProcessStderrLog",
            &[s("hot"), Value::from(0), Value::from(0)]
        )
        .as_str(),
        Some("child-done\n")
    );
    assert_eq!(d.daemon_statename(), "RUNNING");
}

#[test]
fn a_hot_stream_past_the_file_size_limit_is_drained_dropped_and_counted() {
    // spliced, on the capture thread once the stream is hot
    past_the_file_size_limit("", 8 << 20);
}

#[test]
fn copied_output_past_the_file_size_limit_counts_only_what_was_dropped() {
    // strip_ansi makes the bytes pass through the daemon (plain writes); a
    // limit off every write boundary makes one write land in part
    past_the_file_size_limit("strip_ansi = true\n", (8 << 20) + 100);
}

#[test]
fn stdout_and_stderr_to_one_explicit_path_do_not_overwrite_each_other() {
    // two pipes, one file: every line of both streams must arrive whole
    let d = Daemon::start(
        "[program:two]\ncommand = {dir}/two.sh\nstartsecs = 0\nautorestart = false\n\
         stdout_logfile = {dir}/two.log\nstderr_logfile = {dir}/two.log\n\
         stdout_logfile_maxbytes = 0\nstderr_logfile_maxbytes = 0\n",
        |dir| {
            script(
                dir,
                "two.sh",
                "i=0\nwhile [ $i -lt 2000 ]; do printf 'out%04d%0092d\\n' $i 0; printf 'err%04d%0092d\\n' $i 0 >&2; i=$((i+1)); done",
            );
        },
    );
    d.wait_state("two", "EXITED");
    wait_for("both streams captured", TIMEOUT, || {
        (lines(&d.path("two.log")).len() >= 4000).then_some(())
    });
    let got = lines(&d.path("two.log"));
    assert_eq!(got.len(), 4000, "no line lost or split");
    let mut want: Vec<String> = (0..2000)
        .flat_map(|i| [format!("out{i:04}{:092}", 0), format!("err{i:04}{:092}", 0)])
        .collect();
    let mut got = got;
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(
        std::fs::metadata(d.path("two.log")).unwrap().len(),
        4000 * 100
    );
}

/// The CPUs a thread of this process may run on (`Cpus_allowed_list` of
/// `/proc/self/task/<tid>`, or `/proc/thread-self` for `None`).
fn cpus_allowed(tid: Option<&str>) -> Option<String> {
    let task = tid.map_or("/proc/thread-self".to_owned(), |t| {
        format!("/proc/self/task/{t}")
    });
    let status = std::fs::read_to_string(format!("{task}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.starts_with("Cpus_allowed_list:"))?;
    Some(line["Cpus_allowed_list:".len()..].trim().to_owned())
}

/// The in-process daemon's capture threads.
fn capture_threads() -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .flatten()
        .map(|t| t.file_name().to_string_lossy().into_owned())
        .filter(|tid| {
            std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
                .is_ok_and(|c| c.trim() == "gwe-capture")
        })
        .collect()
}

/// writer.py DIR: 1 MiB writes as fast as the pipe takes them until DIR/slow
/// exists, then 64 KiB every 0.6 ms (about 100 MB/s: still hot, no longer
/// busy), paced by spinning so that the pipe never stays empty long enough to
/// cool, until DIR/stop exists.
fn write_fast_then_slow(dir: &std::path::Path) {
    std::fs::write(
        dir.join("writer.py"),
        "import os, sys, time\n\
         d = sys.argv[1]\n\
         mb = bytes(1 << 20)\n\
         while not os.path.exists(d + '/slow'):\n    for _ in range(64):\n        os.write(1, mb)\n\
         piece = bytes(65536)\n\
         due = time.perf_counter()\n\
         while not os.path.exists(d + '/stop'):\n    os.write(1, piece)\n    due += 0.0006\n    while time.perf_counter() < due:\n        pass\n",
    )
    .unwrap();
}

/// Whether a `Cpus_allowed_list` names one CPU.
fn one_cpu(list: &str) -> bool {
    !list.contains(['-', ','])
}

#[test]
fn two_fast_writers_capture_threads_never_both_keep_to_a_cpu() {
    if one_cpu(&cpus_allowed(None).unwrap()) {
        eprintln!("skipped: this test may run on one CPU only");
        return;
    }
    let d = Daemon::start(
        "[program:a]\ncommand = python3 {dir}/writer.py {dir}\nstartsecs = 0\nautorestart = false\n\
         stdout_logfile = {dir}/a.log\nstdout_logfile_maxbytes = 16MB\nstdout_logfile_backups = 1\n\n\
         [program:b]\ncommand = python3 {dir}/writer.py {dir}\nstartsecs = 0\nautorestart = false\n\
         stdout_logfile = {dir}/b.log\nstdout_logfile_maxbytes = 16MB\nstdout_logfile_backups = 1\n",
        write_fast_then_slow,
    );
    // a kept thread gives its CPU back within a 10 ms window of the other
    // stream turning busy: sample for a second once both threads run
    wait_for("two capture threads", TIMEOUT, || {
        (capture_threads().len() == 2).then_some(())
    });
    let end = std::time::Instant::now() + std::time::Duration::from_secs(1);
    // only threads seen in two samples in a row count: a rotation's unlink
    // thread, started by a kept capture thread, has its name and its CPU for
    // the first moments of its life of a millisecond or so
    let mut samples = 0;
    let mut before = Vec::new();
    while std::time::Instant::now() < end {
        let now = capture_threads();
        let masks: Vec<_> = now
            .iter()
            .filter(|t| before.contains(*t))
            .map(|t| (t.clone(), cpus_allowed(Some(t))))
            .collect();
        let kept = masks
            .iter()
            .filter(|(_, c)| c.as_deref().is_some_and(one_cpu))
            .count();
        if masks.len() == 2 {
            samples += 1;
            assert!(kept <= 1, "both capture threads kept to one CPU: {masks:?}");
        }
        before = now;
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(samples > 0, "never saw both capture threads again");
    std::fs::write(d.path("stop"), "").unwrap();
    std::fs::write(d.path("slow"), "").unwrap();
    d.wait_state("a", "EXITED");
    d.wait_state("b", "EXITED");
}

#[test]
fn a_fast_writers_capture_thread_keeps_to_one_cpu_until_the_writer_slows() {
    let all = cpus_allowed(None).unwrap();
    if one_cpu(&all) {
        eprintln!("skipped: this test may run on one CPU only ({all})");
        return;
    }
    let d = Daemon::start(
        "[program:fast]\ncommand = python3 {dir}/writer.py {dir}\nstartsecs = 0\nautorestart = false\n\
         stdout_logfile = {dir}/fast.log\nstdout_logfile_maxbytes = 16MB\nstdout_logfile_backups = 1\n",
        write_fast_then_slow,
    );
    let pinned = wait_for("a capture thread kept to one CPU", TIMEOUT, || {
        capture_threads()
            .into_iter()
            .find(|tid| cpus_allowed(Some(tid)).is_some_and(|c| one_cpu(&c)))
    });
    std::fs::write(d.path("slow"), "").unwrap();
    wait_for("the same thread allowed every CPU again", TIMEOUT, || {
        let now = cpus_allowed(Some(&pinned));
        assert!(
            now.is_some(),
            "the hot period ended before the writer slowed down"
        );
        (now.as_deref() == Some(all.as_str())).then_some(())
    });
    std::fs::write(d.path("stop"), "").unwrap();
    d.wait_state("fast", "EXITED");
}
