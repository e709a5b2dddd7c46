//! Codec timing (not a test): encode and decode a getAllProcessInfo answer
//! of N processes. Run: `cargo run --release -p gwe-supervisor-client --example codec_bench [N]`.

use std::time::Instant;

use gwe_supervisor_client::xmlrpc::{encode_response, parse_response, Value};
use gwe_supervisor_client::ProcessInfo;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let infos: Vec<Value> = (0..n)
        .map(|i| {
            ProcessInfo {
                name: format!("program_{i:03}"),
                group: format!("group_{}", i / 10),
                description: format!("pid {}, uptime 1:02:03", 1000 + i),
                start: 1_700_000_000,
                stop: 0,
                now: 1_700_003_723,
                state: 20,
                statename: "RUNNING".into(),
                spawnerr: String::new(),
                exitstatus: 0,
                logfile: format!("/var/log/supervisor/program_{i:03}-stdout.log"),
                stdout_logfile: format!("/var/log/supervisor/program_{i:03}-stdout.log"),
                stderr_logfile: format!("/var/log/supervisor/program_{i:03}-stderr.log"),
                pid: 1000 + i as i64,
            }
            .to_value()
        })
        .collect();
    let v = Value::Array(infos);
    let mut out = String::with_capacity(1 << 20);
    let rounds = 200;
    let t = Instant::now();
    for _ in 0..rounds {
        out.clear();
        encode_response(&mut out, &v);
    }
    let enc = t.elapsed() / rounds;
    let t = Instant::now();
    for _ in 0..rounds {
        let parsed = parse_response(out.as_bytes());
        assert!(matches!(parsed, Ok(Ok(_))));
    }
    let dec = t.elapsed() / rounds;
    println!(
        "N={n}: document {} bytes, encode {:?}, decode {:?} (mean of {rounds})",
        out.len(),
        enc,
        dec
    );
}
