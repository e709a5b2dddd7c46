//! The XML-RPC server with raw HTTP: method semantics not covered by the
//! supervisorctl tests, and malformed, hostile and oversized input.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use common::{http, http_bytes, s, split_response, Daemon};
use gwe_supervisor_client::xmlrpc::{self, Value};

fn daemon() -> Daemon {
    Daemon::start(
        "[program:a]\ncommand = sleep 1000\nstartsecs = 0\n\n\
         [group:g]\nprograms = b,c\n\n\
         [program:b]\ncommand = sleep 1000\nstartsecs = 0\npriority = 2\n\n\
         [program:c]\ncommand = sleep 1000\nstartsecs = 0\npriority = 1\nautostart = false\n",
        |_| {},
    )
}

fn post(d: &Daemon, body: &str) -> (u16, String) {
    let raw = http(
        &d.sock,
        &format!(
            "POST /RPC2 HTTP/1.1\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    let (code, body) = split_response(&raw);
    (code, String::from_utf8_lossy(body).into_owned())
}

#[test]
fn identity_and_state_methods() {
    let d = daemon();
    assert_eq!(d.ok("supervisor.getAPIVersion", &[]), s("3.0"));
    assert_eq!(d.ok("supervisor.getVersion", &[]), s("3.0"));
    assert_eq!(d.ok("supervisor.getSupervisorVersion", &[]), s("4.3.0"));
    assert_eq!(d.ok("supervisor.getIdentification", &[]), s("supervisor"));
    assert_eq!(
        d.ok("supervisor.getState", &[]),
        Value::Struct(vec![
            ("statecode".into(), Value::Int(1)),
            ("statename".into(), s("RUNNING"))
        ])
    );
    assert_eq!(
        d.ok("supervisor.getPID", &[]),
        Value::Int(i64::from(std::process::id()))
    );
    let methods = d.ok("system.listMethods", &[]);
    assert!(methods
        .as_array()
        .unwrap()
        .contains(&s("supervisor.startProcess")));
    assert!(d
        .ok("system.methodHelp", &[s("supervisor.getState")])
        .as_str()
        .is_some());
    assert_eq!(
        d.ok("system.methodSignature", &[s("supervisor.getProcessInfo")]),
        Value::Array(vec![Value::Array(vec![s("struct"), s("string")])])
    );
}

#[test]
fn process_info_sorted_and_group_calls() {
    let d = daemon();
    d.wait_state("a", "RUNNING");
    d.wait_state("g:b", "RUNNING");
    let all = d.ok("supervisor.getAllProcessInfo", &[]);
    let names: Vec<(String, String)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p.get("group").unwrap().as_str().unwrap().into(),
                p.get("name").unwrap().as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("a".into(), "a".into()),
            ("g".into(), "b".into()),
            ("g".into(), "c".into())
        ]
    );
    let info = d.info("g:b");
    let keys: Vec<&str> = info
        .as_struct()
        .unwrap()
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "name",
            "group",
            "start",
            "stop",
            "now",
            "state",
            "statename",
            "spawnerr",
            "exitstatus",
            "logfile",
            "stdout_logfile",
            "stderr_logfile",
            "pid",
            "description"
        ]
    );
    assert!(info
        .get("description")
        .unwrap()
        .as_str()
        .unwrap()
        .starts_with("pid "));
    assert_eq!(
        d.call("supervisor.getProcessInfo", &[s("g")])
            .unwrap_err()
            .message,
        "BAD_NAME: g"
    );
    assert_eq!(
        d.call("supervisor.getProcessInfo", &[s("g:zz")])
            .unwrap_err()
            .message,
        "BAD_NAME: g:zz"
    );
    // group start: only c was not running
    let r = d.ok("supervisor.startProcessGroup", &[s("g")]);
    let r = r.as_array().unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].get("name"), Some(&s("c")));
    assert_eq!(r[0].get("status"), Some(&Value::Int(80)));
    assert_eq!(r[0].get("description"), Some(&s("OK")));
    // g:* through stopProcess
    let r = d.ok("supervisor.stopProcess", &[s("g:*")]);
    assert_eq!(r.as_array().unwrap().len(), 2);
    assert_eq!(d.statename("g:c"), "STOPPED");
    let r = d.ok("supervisor.stopAllProcesses", &[]);
    assert_eq!(r.as_array().unwrap().len(), 1, "only a was still running");
    let r = d.ok("supervisor.startAllProcesses", &[]);
    assert_eq!(r.as_array().unwrap().len(), 3);
    assert_eq!(
        d.call("supervisor.startProcessGroup", &[s("nope")])
            .unwrap_err()
            .code,
        10
    );
    let cfg = d.ok("supervisor.getAllConfigInfo", &[]);
    let cfg = cfg.as_array().unwrap();
    assert_eq!(cfg.len(), 3);
    assert_eq!(cfg[0].get("name"), Some(&s("a")));
    assert_eq!(cfg[0].get("inuse"), Some(&Value::Bool(true)));
    assert_eq!(cfg[0].get("stdout_logfile"), Some(&s("auto")));
}

#[test]
fn reload_config_add_remove_groups() {
    let d = daemon();
    d.wait_state("a", "RUNNING");
    assert_eq!(
        d.ok("supervisor.reloadConfig", &[]),
        Value::Array(vec![Value::Array(vec![
            Value::Array(vec![]),
            Value::Array(vec![]),
            Value::Array(vec![])
        ])])
    );
    let text = std::fs::read_to_string(&d.conf).unwrap().replace(
        "[program:a]\ncommand = sleep 1000",
        "[program:z]\ncommand = sleep 999",
    );
    std::fs::write(&d.conf, text).unwrap();
    assert_eq!(
        d.ok("supervisor.reloadConfig", &[]),
        Value::Array(vec![Value::Array(vec![
            Value::Array(vec![s("z")]),
            Value::Array(vec![]),
            Value::Array(vec![s("a")])
        ])])
    );
    assert_eq!(
        d.call("supervisor.removeProcessGroup", &[s("a")])
            .unwrap_err()
            .code,
        91,
        "STILL_RUNNING"
    );
    d.ok("supervisor.stopProcess", &[s("a")]);
    assert_eq!(
        d.ok("supervisor.removeProcessGroup", &[s("a")]),
        Value::Bool(true)
    );
    assert_eq!(
        d.call("supervisor.removeProcessGroup", &[s("a")])
            .unwrap_err()
            .code,
        10
    );
    assert_eq!(
        d.ok("supervisor.addProcessGroup", &[s("z")]),
        Value::Bool(true)
    );
    assert_eq!(
        d.call("supervisor.addProcessGroup", &[s("z")])
            .unwrap_err()
            .code,
        90,
        "ALREADY_ADDED"
    );
    assert_eq!(
        d.call("supervisor.addProcessGroup", &[s("q")])
            .unwrap_err()
            .code,
        10
    );
    d.wait_state("z", "RUNNING");
    std::fs::write(&d.conf, "[broken").unwrap();
    assert_eq!(
        d.call("supervisor.reloadConfig", &[]).unwrap_err().code,
        92,
        "CANT_REREAD"
    );
    assert_eq!(d.call("supervisor.restart", &[]).unwrap_err().code, 92);
    assert_eq!(d.statename("z"), "RUNNING");
}

#[test]
fn multicall() {
    let d = daemon();
    d.wait_state("g:b", "RUNNING");
    let call = |m: &str, p: Vec<Value>| {
        Value::Struct(vec![
            ("methodName".into(), s(m)),
            ("params".into(), Value::Array(p)),
        ])
    };
    let r = d.ok(
        "system.multicall",
        &[Value::Array(vec![
            call("supervisor.getAPIVersion", vec![]),
            call("supervisor.nope", vec![]),
            call("supervisor.startProcess", vec![s("g:c")]),
            call("system.multicall", vec![Value::Array(vec![])]),
        ])],
    );
    let r = r.as_array().unwrap();
    assert_eq!(r[0], Value::Array(vec![s("3.0")]));
    assert_eq!(r[1].get("faultCode"), Some(&Value::Int(1)));
    assert_eq!(r[2], Value::Array(vec![Value::Bool(true)]));
    assert_eq!(r[3].get("faultCode"), Some(&Value::Int(2)));
    assert_eq!(d.statename("g:c"), "RUNNING");
}

#[test]
fn wrong_arguments_and_unknown_methods_are_faults() {
    let d = daemon();
    let code = |m: &str, p: &[Value]| d.call(m, p).unwrap_err().code;
    assert_eq!(code("supervisor.nope", &[]), 1);
    assert_eq!(code("nope", &[]), 1);
    assert_eq!(code("supervisor.getState", &[s("extra")]), 2);
    assert_eq!(code("supervisor.startProcess", &[]), 2);
    assert_eq!(code("supervisor.startProcess", &[Value::Int(3)]), 2);
    assert_eq!(code("supervisor.readLog", &[s("x"), Value::Int(0)]), 3);
    assert_eq!(
        code("supervisor.readLog", &[Value::Array(vec![]), Value::Int(0)]),
        2
    );
    assert_eq!(
        code("supervisor.signalProcess", &[s("a"), Value::Double(1.5)]),
        11
    );
    assert_eq!(code("system.multicall", &[s("x")]), 2);
    assert_eq!(code("system.methodHelp", &[s("x.y")]), 4);
}

#[test]
fn malformed_hostile_and_oversized_http() {
    let d = daemon();
    // not XML
    assert_eq!(post(&d, "this is not xml").0, 400);
    // truncated, deep nesting, doctype
    assert_eq!(
        post(&d, "<?xml version='1.0'?><methodCall><methodName>x").0,
        400
    );
    let deep = format!("<methodCall><methodName>x</methodName><params><param><value>{}</value></param></params></methodCall>", "<array><data><value>".repeat(200));
    assert_eq!(post(&d, &deep).0, 400);
    assert_eq!(
        post(
            &d,
            "<!DOCTYPE x [<!ENTITY a 'b'>]><methodCall><methodName>&a;</methodName></methodCall>"
        )
        .0,
        400
    );
    // wrong typed XML scalar
    assert_eq!(post(&d, "<methodCall><methodName>supervisor.getPID</methodName><params><param><value><int>x</int></value></param></params></methodCall>").0, 400);
    // 413 for a huge body, decided from the header alone
    let raw = http(
        &d.sock,
        "POST /RPC2 HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",
    );
    assert_eq!(split_response(&raw).0, 413);
    let big = "x".repeat(3 << 20);
    let raw = http(
        &d.sock,
        &format!(
            "POST /RPC2 HTTP/1.1\r\nContent-Length: {}\r\n\r\n{big}",
            big.len()
        ),
    );
    assert_eq!(split_response(&raw).0, 413);
    // garbage, missing length, chunked, wrong method/path, header flood
    assert_eq!(
        split_response(&http_bytes(&d.sock, b"\x00\xff\xfegarbage\r\n\r\n")).0,
        400
    );
    assert_eq!(
        split_response(&http(&d.sock, "POST /RPC2 HTTP/1.1\r\n\r\n")).0,
        411
    );
    assert_eq!(
        split_response(&http(
            &d.sock,
            "POST /RPC2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        ))
        .0,
        501
    );
    assert_eq!(
        split_response(&http(&d.sock, "GET /RPC2 HTTP/1.1\r\n\r\n")).0,
        405
    );
    assert_eq!(
        split_response(&http(&d.sock, "GET /nope HTTP/1.1\r\n\r\n")).0,
        404
    );
    assert_eq!(
        split_response(&http(&d.sock, "GET /logtail/nope/stdout HTTP/1.1\r\n\r\n")).0,
        404
    );
    let flood = format!("GET / HTTP/1.1\r\n{}\r\n", "X-A: b\r\n".repeat(100));
    assert_eq!(split_response(&http(&d.sock, &flood)).0, 431);
    let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(20000));
    assert_eq!(split_response(&http(&d.sock, &long)).0, 431);
    // a client that connects and vanishes mid-request
    {
        let mut c = UnixStream::connect(&d.sock).unwrap();
        c.write_all(b"POST /RPC2 HTTP/1.1\r\nContent-Length: 100\r\n\r\n<methodCall>")
            .unwrap();
    }
    // still serving
    assert_eq!(d.ok("supervisor.getAPIVersion", &[]), s("3.0"));
}

#[test]
fn keep_alive_serves_several_calls_on_one_connection() {
    let d = daemon();
    let mut c = UnixStream::connect(&d.sock).unwrap();
    c.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    for _ in 0..3 {
        let body = xmlrpc::encode_call("supervisor.getAPIVersion", &[]);
        write!(
            c,
            "POST /RPC2 HTTP/1.1\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        // read exactly one response: head, then Content-Length bytes
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while !buf.ends_with(b"\r\n\r\n") {
            c.read_exact(&mut byte).unwrap();
            buf.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&buf).to_lowercase();
        assert!(head.starts_with("http/1.1 200"));
        assert!(!head.contains("connection: close"));
        let len: usize = head
            .split("content-length: ")
            .nth(1)
            .unwrap()
            .split("\r\n")
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let mut body = vec![0u8; len];
        c.read_exact(&mut body).unwrap();
        assert_eq!(xmlrpc::parse_response(&body).unwrap(), Ok(s("3.0")));
    }
}

#[test]
fn basic_auth_on_the_unix_socket() {
    // a daemon whose socket requires credentials
    let dir = tempfile::tempdir().unwrap();
    let _guard = common::serial();
    let conf = dir.path().join("s.conf");
    let p = dir.path().display();
    std::fs::write(
        &conf,
        format!(
            "[unix_http_server]\nfile = {p}/s.sock\nusername = user\npassword = secret\n\n\
             [supervisord]\nlogfile = {p}/l.log\npidfile = {p}/s.pid\nchildlogdir = {p}\nnodaemon = true\nsilent = true\n\n\
             [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
        ),
    )
    .unwrap();
    let opts = gwe_supervisor::Options {
        config: conf,
        nodaemon: true,
        ..Default::default()
    };
    let t = std::thread::spawn(move || gwe_supervisor::run(opts).map_err(|e| e.to_string()));
    let sock = dir.path().join("s.sock");
    common::wait_for("socket", common::TIMEOUT, || {
        UnixStream::connect(&sock).ok()
    });
    let body = xmlrpc::encode_call("supervisor.shutdown", &[]);
    let req = |auth: &str| {
        format!(
            "POST /RPC2 HTTP/1.1\r\n{auth}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let raw = http(&sock, &req(""));
    assert_eq!(split_response(&raw).0, 401);
    assert!(String::from_utf8_lossy(&raw).contains("WWW-Authenticate: Basic"));
    // base64("user:wrong") and base64("user:secret")
    assert_eq!(
        split_response(&http(
            &sock,
            &req("Authorization: Basic dXNlcjp3cm9uZw==\r\n")
        ))
        .0,
        401
    );
    assert_eq!(
        split_response(&http(
            &sock,
            &req("Authorization: Basic dXNlcjpzZWNyZXQ=\r\n")
        ))
        .0,
        200
    );
    common::wait_for("exit", common::TIMEOUT, || t.is_finished().then_some(()));
    assert_eq!(t.join().unwrap(), Ok(()));
}

#[test]
fn logtail_and_mainlogtail_stream_chunked() {
    let d = Daemon::start(
        "[program:t]\ncommand = {dir}/t.sh\nstartsecs = 0\n",
        |dir| {
            common::script(
                dir,
                "t.sh",
                "i=0\nwhile :; do i=$((i+1)); echo line-$i; sleep 0.05; done",
            );
        },
    );
    d.wait_state("t", "RUNNING");
    for (path, needle) in [
        ("/logtail/t/stdout", "line-"),
        ("/logtail/t", "line-"),
        ("/mainlogtail", "spawned: 't'"),
    ] {
        let mut c = UnixStream::connect(&d.sock).unwrap();
        c.set_read_timeout(Some(common::TIMEOUT)).unwrap();
        write!(c, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while !String::from_utf8_lossy(&buf).contains(needle) {
            let n = c.read(&mut chunk).unwrap();
            assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&buf));
            buf.extend_from_slice(&chunk[..n]);
        }
        let text = String::from_utf8_lossy(&buf).to_lowercase();
        assert!(text.starts_with("http/1.1 200"), "{text}");
        assert!(text.contains("transfer-encoding: chunked"), "{text}");
    }
    // HTTP/1.0: raw stream, closed by the server only when we go away
    let mut c = UnixStream::connect(&d.sock).unwrap();
    write!(c, "GET /logtail/t/stderr HTTP/1.0\r\n\r\n").unwrap();
    let mut head = [0u8; 12];
    c.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let d = daemon();
    let mut c = UnixStream::connect(&d.sock).unwrap();
    c.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    let body = xmlrpc::encode_call("supervisor.getAPIVersion", &[]);
    write!(c, "POST /RPC2 HTTP/1.1\r\nExpect: 100-continue\r\nConnection: close\r\nContent-Length: {}\r\n\r\n", body.len()).unwrap();
    let mut interim = [0u8; 25];
    c.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    c.write_all(body.as_bytes()).unwrap();
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).unwrap();
    let (code, body) = split_response(&rest);
    assert_eq!(code, 200);
    assert_eq!(xmlrpc::parse_response(body).unwrap(), Ok(s("3.0")));
}
