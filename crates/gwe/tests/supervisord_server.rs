//! `gwe supervisord` as a server: the TCP `[inet_http_server]` with basic
//! auth driven by the real supervisorctl, and an idle daemon that does not
//! wake up (event-driven loop, no periodic tick).

mod supervisord_util;

use std::process::Command;
use std::time::Duration;

use supervisord_util::{Sv, TIMEOUT};

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn inet_http_server_with_basic_auth() {
    let port = free_port();
    let conf = format!(
        "[inet_http_server]\nport = 127.0.0.1:{port}\nusername = admin\npassword = s3cret\n\n\
         [program:web]\ncommand = {{dir}}/env.sh\nstartsecs = 0\n"
    );
    let sv = Sv::start(&conf, |dir| {
        supervisord_util::script(
            dir,
            "env.sh",
            &format!(
                "echo $SUPERVISOR_SERVER_URL > {}/url\nexec sleep 1000",
                dir.display()
            ),
        );
    });
    sv.wait_status("web", "RUNNING");
    let url = format!("http://127.0.0.1:{port}");
    let ctl_conf = sv.path("inet-ctl.conf");
    std::fs::write(&ctl_conf, "[supervisorctl]\n").unwrap();
    let ctl = |user: &str, pass: &str, args: &[&str]| {
        Command::new("supervisorctl")
            .arg("-c")
            .arg(&ctl_conf)
            .args(["-s", &url, "-u", user, "-p", pass])
            .args(args)
            .output()
            .unwrap()
    };
    let o = ctl("admin", "s3cret", &["status", "web"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("web") && out.contains("RUNNING"), "{out}");
    let o = ctl("admin", "wrong", &["status"]);
    let out = String::from_utf8_lossy(&o.stdout).to_lowercase();
    assert!(out.contains("401") || out.contains("unauthorized"), "{out}");
    assert_ne!(o.status.code(), Some(0));
    let got = supervisord_util::wait_for("url file", TIMEOUT, || {
        std::fs::read_to_string(sv.path("url"))
            .ok()
            .filter(|s| !s.is_empty())
    });
    assert_eq!(got.trim(), format!("http://127.0.0.1:{port}"));
}

/// Context switches of every thread of `pid`.
fn switches(pid: i32) -> u64 {
    let mut total = 0;
    for t in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let status = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
        for l in status.lines() {
            if l.starts_with("voluntary_ctxt_switches")
                || l.starts_with("nonvoluntary_ctxt_switches")
            {
                total += l
                    .split_whitespace()
                    .last()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    total
}

#[test]
fn an_idle_daemon_does_not_wake_up() {
    let sv = Sv::start(
        "[program:a]\ncommand = sleep 1000\nstartsecs = 0\n\n[program:b]\ncommand = sleep 1000\nstartsecs = 1\n",
        |_| {},
    );
    sv.wait_status("a", "RUNNING");
    sv.wait_status("b", "RUNNING");
    let pid = sv.pid();
    let before = switches(pid);
    // an observation window, not a wait: supervisord would wake 3 times here
    std::thread::sleep(Duration::from_secs(3));
    let after = switches(pid);
    assert!(
        after - before <= 1,
        "idle daemon woke {} times",
        after - before
    );
}
