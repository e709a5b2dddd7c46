//! The typed client against the real Python supervisord (every method
//! `gwe ctl` and the engine use), and against deliberately broken HTTP
//! servers on 127.0.0.1 (malformed, oversized, truncated, closing, slow).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gwe_supervisor_client::xmlrpc::{encode_response, Value};
use gwe_supervisor_client::{Channel, Client, ClientError, FaultCode, ProcessState};

// ------------------------------------------------------------ real daemon

struct Supervisord {
    dir: tempfile::TempDir,
    url: String,
    child: Child,
}

impl Supervisord {
    fn start() -> Supervisord {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let conf = dir.path().join("supervisord.conf");
        std::fs::write(
            &conf,
            format!(
                "[unix_http_server]\nfile={d}/s.sock\n\
[supervisord]\nlogfile={d}/supervisord.log\npidfile={d}/supervisord.pid\nchildlogdir={d}\nidentifier=gwe-test\n\
[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\
[program:echo]\ncommand=sh -c 'echo out-line; echo err-line >&2; exec cat'\nstartsecs=0\n\
[program:idle]\ncommand=sleep 1000\nautostart=false\nstartsecs=0\n\
[group:grp]\nprograms=a,b\n\
[program:a]\ncommand=sleep 1000\nstartsecs=0\n\
[program:b]\ncommand=sleep 1000\nstartsecs=0\n"
            ),
        )
        .unwrap();
        let child = Command::new("supervisord")
            .arg("-n")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("supervisord must be installed (pip install supervisor)");
        let s = Supervisord {
            url: format!("unix://{d}/s.sock"),
            dir,
            child,
        };
        wait_for(|| {
            Client::new(&s.url)
                .unwrap()
                .get_all_process_info()
                .is_ok_and(|all| all.iter().filter(|p| p.statename == "RUNNING").count() == 3)
        });
        s
    }
}

impl Drop for Supervisord {
    fn drop(&mut self) {
        let _ = Client::new(&self.url).unwrap().shutdown();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for(mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "condition not met within 20 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_typed_method_against_supervisord() {
    let s = Supervisord::start();
    let mut c = Client::new(&s.url).unwrap();
    assert_eq!(c.get_api_version().unwrap(), "3.0");
    assert_eq!(c.get_version().unwrap(), "3.0");
    assert_eq!(c.get_supervisor_version().unwrap(), "4.3.0");
    assert_eq!(c.get_identification().unwrap(), "gwe-test");
    let st = c.get_state().unwrap();
    assert_eq!((st.statecode, st.statename.as_str()), (1, "RUNNING"));
    assert_eq!(c.get_pid().unwrap(), i64::from(s.child.id()));

    let all = c.get_all_process_info().unwrap();
    let names: Vec<String> = all.iter().map(|p| p.namespec()).collect();
    assert_eq!(names, ["echo", "grp:a", "grp:b", "idle"]);
    let echo = c.get_process_info("echo").unwrap();
    assert_eq!(echo.process_state(), Some(ProcessState::Running));
    assert!(echo.pid > 0 && echo.description.starts_with("pid "));
    assert!(echo
        .stdout_logfile
        .starts_with(&s.dir.path().display().to_string()));
    let e = c.get_process_info("nope").unwrap_err();
    assert_eq!(e.fault().map(|f| f.code), Some(FaultCode::BadName.code()));
    assert_eq!(e.fault().unwrap().message, "BAD_NAME: nope");

    // Logs.
    wait_for(|| c.read_process_stdout_log("echo", 0, 0).unwrap() == "out-line\n");
    assert_eq!(
        c.read_process_stderr_log("echo", -100, 0).unwrap(),
        "err-line\n"
    );
    assert_eq!(
        c.read_process_log("echo", Channel::Stdout, -4, 0).unwrap(),
        "ine\n"
    );
    let t = c.tail_process_stdout_log("echo", 0, 100).unwrap();
    assert_eq!(
        (t.bytes.as_str(), t.offset, t.overflow),
        ("out-line\n", 9, false)
    );
    let t = c.tail_process_stderr_log("echo", 0, 3).unwrap();
    assert!(t.overflow);
    assert!(c.send_process_stdin("echo", "from stdin\n").unwrap());
    wait_for(|| {
        c.read_process_stdout_log("echo", 0, 0)
            .unwrap()
            .contains("from stdin")
    });
    assert!(c.clear_process_logs("echo").unwrap());
    assert_eq!(c.read_process_stdout_log("echo", 0, 0).unwrap(), "");
    let cleared = c.clear_all_process_logs().unwrap();
    assert_eq!(cleared.len(), 4);
    assert!(c.read_log(0, 0).unwrap().contains("supervisord started"));
    assert!(c.clear_log().unwrap());

    // Lifecycle.
    assert!(c.start_process("idle", true).unwrap());
    let e = c.start_process("idle", true).unwrap_err();
    assert_eq!(e.fault().unwrap().code, FaultCode::AlreadyStarted.code());
    assert!(c.signal_process("idle", "CONT").unwrap());
    let e = c.signal_process("idle", "NOSUCHSIG").unwrap_err();
    assert_eq!(e.fault().unwrap().code, FaultCode::BadSignal.code());
    assert!(c.stop_process("idle", true).unwrap());
    let r = c.stop_process_group("grp", true).unwrap();
    assert_eq!(r.len(), 2);
    assert!(r
        .iter()
        .all(|x| x.status == FaultCode::Success.code() && x.group == "grp"));
    let r = c.start_process_group("grp", true).unwrap();
    assert_eq!(
        r.iter()
            .map(|x| x.namespec())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        2
    );
    let r = c.signal_process_group("grp", "CONT").unwrap();
    assert_eq!(r.len(), 2);
    let r = c.signal_all_processes("CONT").unwrap();
    assert_eq!(r.len(), 3);
    let r = c.stop_all_processes(true).unwrap();
    assert_eq!(r.len(), 3);
    let r = c.start_all_processes(true).unwrap();
    assert_eq!(r.len(), 4);

    // Config.
    let changes = c.reload_config().unwrap();
    assert!(changes.added.is_empty() && changes.changed.is_empty() && changes.removed.is_empty());
    let cfg = c.get_all_config_info().unwrap();
    assert_eq!(cfg.len(), 4);
    let idle = cfg.iter().find(|i| i.name == "idle").unwrap();
    assert!(idle.inuse && !idle.autostart);
    assert_eq!((idle.group_prio, idle.process_prio), (999, 999));
    assert_eq!(
        idle.raw.get("command").and_then(Value::as_str),
        Some("sleep 1000")
    );
    let e = c.add_process_group("echo").unwrap_err();
    assert_eq!(e.fault().unwrap().code, FaultCode::AlreadyAdded.code());
    let e = c.remove_process_group("echo").unwrap_err();
    assert_eq!(e.fault().unwrap().code, FaultCode::StillRunning.code());
    c.stop_process("idle", true).unwrap();
    assert!(c.remove_process_group("idle").unwrap());
    assert!(c.add_process_group("idle").unwrap());

    // system.*
    let methods = c.list_methods().unwrap();
    assert!(methods.iter().any(|m| m == "supervisor.getAllProcessInfo"));
    assert!(methods.iter().any(|m| m == "system.multicall"));
    let res = c
        .multicall(&[
            ("supervisor.getAPIVersion", vec![]),
            ("supervisor.getProcessInfo", vec!["nope".into()]),
            ("supervisor.getPID", vec![]),
        ])
        .unwrap();
    assert_eq!(res[0], Ok(Value::String("3.0".into())));
    assert_eq!(res[1].as_ref().unwrap_err().code, FaultCode::BadName.code());
    assert_eq!(
        res[2].as_ref().unwrap().as_int(),
        Some(i64::from(s.child.id()))
    );
    let e = c.call("supervisor.noSuchMethod", &[]).unwrap_err();
    assert_eq!(e.fault().unwrap().code, FaultCode::UnknownMethod.code());

    // Streaming tail: the recent log, then live output.
    let mut stream = c.logtail("echo", Channel::Stdout).unwrap();
    c.send_process_stdin("echo", "streamed\n").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&got).contains("streamed") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "stream ended early");
        got.extend_from_slice(&buf[..n]);
    }
    let mut main = c.mainlogtail().unwrap();
    let n = main.read(&mut buf).unwrap();
    assert!(n > 0);
    let e = c.logtail("nope", Channel::Stderr).unwrap_err();
    assert!(matches!(e, ClientError::Status { status: 404, .. }), "{e}");

    // After restart the socket is recreated: the kept-alive connection is
    // stale and the client reconnects by itself.
    assert!(c.restart().unwrap());
    wait_for(|| c.get_state().is_ok_and(|s| s.statename == "RUNNING"));
    assert_eq!(c.get_api_version().unwrap(), "3.0");
}

// ------------------------------------------------------ hostile servers

/// Serves each accepted connection with `respond(request_index, stream)`.
fn fake_server(
    respond: impl Fn(usize, &mut TcpStream) + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", l.local_addr().unwrap().port());
    let conns = Arc::new(AtomicUsize::new(0));
    let counter = conns.clone();
    let respond = Arc::new(respond);
    std::thread::spawn(move || {
        for (i, s) in l.incoming().enumerate() {
            let Ok(mut s) = s else { return };
            counter.fetch_add(1, Ordering::SeqCst);
            let respond = respond.clone();
            std::thread::spawn(move || respond(i, &mut s));
        }
    });
    (url, conns)
}

/// Reads one request (headers + Content-Length body); false at EOF.
fn read_request(s: &mut TcpStream) -> bool {
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return false;
        }
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).is_ok()
}

fn ok_body(v: &Value) -> String {
    let mut body = String::new();
    encode_response(&mut body, v);
    body
}

#[test]
fn hostile_responses_are_errors_not_panics() {
    let cases: Vec<(&str, String)> = vec![
        ("not http", "garbage\r\n\r\n".into()),
        ("bad status", "HTTP/1.1 abc OK\r\n\r\n".into()),
        (
            "500",
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n".into(),
        ),
        (
            "truncated body",
            "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n<?xml".into(),
        ),
        (
            "bad chunk",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".into(),
        ),
        (
            "not xml",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".into(),
        ),
        ("doctype", {
            let b = "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><methodResponse/>";
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{b}", b.len())
        }),
        (
            "oversized declared",
            "HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\n".into(),
        ),
        (
            "huge header",
            format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(100_000)),
        ),
        ("wrong type", {
            let b = ok_body(&Value::Int(5));
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{b}", b.len())
        }),
    ];
    for (what, resp) in cases {
        let resp = Arc::new(resp);
        let r2 = resp.clone();
        let (url, _) = fake_server(move |_, s| {
            read_request(s);
            let _ = s.write_all(r2.as_bytes());
        });
        let mut c = Client::new(&url).unwrap().with_max_response(1 << 20);
        let e = c.get_supervisor_version().expect_err(what);
        assert!(!e.to_string().is_empty(), "{what}");
    }
}

#[test]
fn oversized_chunked_body_is_refused() {
    let (url, _) = fake_server(|_, s| {
        read_request(s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "x".repeat(64 * 1024));
        for _ in 0..64 {
            if s.write_all(chunk.as_bytes()).is_err() {
                return;
            }
        }
    });
    let mut c = Client::new(&url).unwrap().with_max_response(1 << 20);
    let e = c.get_supervisor_version().unwrap_err();
    assert!(e.to_string().contains("larger than"), "{e}");
}

#[test]
fn chunked_and_close_delimited_responses_work() {
    let body = ok_body(&Value::String("4.3.0".into()));
    let b2 = body.clone();
    let (url, _) = fake_server(move |_, s| {
        read_request(s);
        let (a, b) = b2.split_at(10);
        let resp = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x};ext=1\r\n{b}\r\n0\r\n\r\n",
            a.len(),
            b.len()
        );
        let _ = s.write_all(resp.as_bytes());
    });
    assert_eq!(
        Client::new(&url).unwrap().get_supervisor_version().unwrap(),
        "4.3.0"
    );
    let (url, _) = fake_server(move |_, s| {
        read_request(s);
        let _ = s.write_all(format!("HTTP/1.0 200 OK\r\n\r\n{body}").as_bytes());
        // Close-delimited: the body ends when we drop the stream.
    });
    assert_eq!(
        Client::new(&url).unwrap().get_supervisor_version().unwrap(),
        "4.3.0"
    );
}

#[test]
fn server_closing_idle_keepalive_connection_is_retried() {
    let body = ok_body(&Value::String("3.0".into()));
    // Each connection answers exactly one request, then closes without saying so.
    let (url, conns) = fake_server(move |_, s| {
        if read_request(s) {
            let _ = s.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    });
    let mut c = Client::new(&url).unwrap();
    for _ in 0..5 {
        assert_eq!(c.get_api_version().unwrap(), "3.0");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(conns.load(Ordering::SeqCst), 5);
}

#[test]
fn unauthorized_and_timeouts() {
    let (url, _) = fake_server(|_, s| {
        read_request(s);
        let _ = s.write_all(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
    });
    let e = Client::new(&url)
        .unwrap()
        .with_auth("u", "p")
        .get_api_version()
        .unwrap_err();
    assert!(matches!(e, ClientError::Unauthorized));
    assert_eq!(e.to_string(), "Server requires authentication");

    // A server that never answers: the read timeout fires.
    let (url, _) = fake_server(|_, s| {
        read_request(s);
        std::thread::sleep(Duration::from_secs(5));
    });
    let mut c = Client::new(&url)
        .unwrap()
        .with_timeout(Some(Duration::from_millis(200)));
    let e = c.get_api_version().unwrap_err();
    assert!(matches!(e, ClientError::Io { .. }), "{e}");
}

#[test]
fn basic_auth_header_is_sent() {
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let body = ok_body(&Value::String("3.0".into()));
    let (url, _) = fake_server(move |_, s| {
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        tx.lock().unwrap().send(head).unwrap();
        let _ = s.write_all(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
    });
    Client::new(&url)
        .unwrap()
        .with_auth("user", "123")
        .get_api_version()
        .unwrap();
    let head = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(head.starts_with("POST /RPC2 HTTP/1.1\r\n"), "{head}");
    assert!(
        head.contains("Authorization: Basic dXNlcjoxMjM=\r\n"),
        "{head}"
    );
    assert!(head.contains("Content-Type: text/xml\r\n"), "{head}");
}

#[test]
fn one_keepalive_connection_is_reused() {
    let body = ok_body(&Value::String("3.0".into()));
    let (url, conns) = fake_server(move |_, s| {
        while read_request(s) {
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if s.write_all(resp.as_bytes()).is_err() {
                return;
            }
        }
    });
    let mut c = Client::new(&url).unwrap();
    for _ in 0..50 {
        assert_eq!(c.get_api_version().unwrap(), "3.0");
    }
    assert_eq!(conns.load(Ordering::SeqCst), 1);
    c.disconnect();
    c.get_api_version().unwrap();
    assert_eq!(conns.load(Ordering::SeqCst), 2);
}
