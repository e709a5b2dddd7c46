//! Load generator for a running `gwe-hub` on loopback (see `bench/hub_bench.sh`).
//!
//! Phases, each bounded in count and time (the whole run is capped by `--max-secs`):
//! 1. setup: `--devices` identities are added and activated through the real APIs;
//! 2. idle long polls: `--polls` connections each hold one long poll on a distinct
//!    `(device, alias)`; hub RSS is read from `/proc/<hub-pid>/status` before and after;
//! 3. write-to-wake: `--wakes` polls are woken one by one by a device write; the time from
//!    sending the write to receiving the poll's answer is recorded (p50/p99/max);
//! 4. write throughput: `--writers` keep-alive connections write for `--write-secs`.
//!
//! Usage: `loadgen --addr 127.0.0.1:PORT --token OPERATOR_TOKEN --hub-pid PID [options]`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Opts {
    addr: SocketAddr,
    token: String,
    hub_pid: Option<u32>,
    devices: usize,
    polls: usize,
    wakes: usize,
    writers: usize,
    write_secs: u64,
    max_secs: u64,
}

fn parse_opts() -> Result<Opts> {
    let mut o = Opts {
        addr: "127.0.0.1:8080".parse()?,
        token: String::new(),
        hub_pid: None,
        devices: 100,
        polls: 10_000,
        wakes: 1_000,
        writers: 32,
        write_secs: 10,
        max_secs: 300,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let val = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--addr" => o.addr = val.parse()?,
            "--token" => o.token = val.clone(),
            "--hub-pid" => o.hub_pid = Some(val.parse()?),
            "--devices" => o.devices = val.parse()?,
            "--polls" => o.polls = val.parse()?,
            "--wakes" => o.wakes = val.parse()?,
            "--writers" => o.writers = val.parse()?,
            "--write-secs" => o.write_secs = val.parse()?,
            "--max-secs" => o.max_secs = val.parse()?,
            other => bail!("unknown option {other}"),
        }
    }
    if o.token.is_empty() {
        bail!("--token OPERATOR_TOKEN is required");
    }
    o.polls = o.polls.min(50_000);
    o.wakes = o.wakes.min(o.polls);
    o.devices = o.devices.clamp(1, 10_000);
    o.writers = o.writers.clamp(1, 1_000);
    o.write_secs = o.write_secs.min(120);
    Ok(o)
}

/// One HTTP/1.1 response: status and body.
struct Resp {
    status: u16,
    body: Vec<u8>,
}

/// Reads one response from a keep-alive connection (Content-Length bodies only).
async fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Resp> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end])?.to_string();
            let status: u16 = head.split(' ').nth(1).context("status line")?.parse()?;
            let len: usize = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.trim().parse())
                .transpose()?
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                read_more(s, buf).await?;
            }
            let body = buf[end + 4..end + 4 + len].to_vec();
            buf.drain(..end + 4 + len);
            return Ok(Resp { status, body });
        }
        read_more(s, buf).await?;
    }
}

async fn read_more(s: &mut TcpStream, buf: &mut Vec<u8>) -> Result<()> {
    let mut chunk = [0u8; 4096];
    let n = s.read(&mut chunk).await?;
    if n == 0 {
        bail!("connection closed");
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

async fn request(addr: SocketAddr, req: String) -> Result<Resp> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    read_response(&mut s, &mut buf).await
}

async fn operator(o: &Opts, method: &str, path: &str, json: &str) -> Result<Resp> {
    request(
        o.addr,
        format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
            o.token,
            json.len()
        ),
    )
    .await
}

async fn setup(o: &Opts) -> Result<Vec<String>> {
    let run = std::process::id();
    let mut ciks = Vec::with_capacity(o.devices);
    for i in 0..o.devices {
        let sn = format!("load-{run}-{i}");
        let r = operator(
            o,
            "POST",
            "/api/v1/products/default/devices",
            &format!("{{\"sn\":\"{sn}\"}}"),
        )
        .await?;
        if r.status != 201 {
            bail!(
                "add device: {} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
        }
        let body = format!("id={sn}");
        let r = request(
            o.addr,
            format!(
                "POST /provision/activate HTTP/1.1\r\nHost: x\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ),
        )
        .await?;
        if r.status != 200 {
            bail!("activate: {}", r.status);
        }
        ciks.push(String::from_utf8(r.body)?);
    }
    Ok(ciks)
}

fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn waiting_polls(o: &Opts) -> Result<u64> {
    let r = operator(o, "GET", "/api/v1/stats", "").await?;
    let v: serde_json::Value = serde_json::from_slice(&r.body)?;
    v["long_polls"].as_u64().context("long_polls")
}

fn poll_target(i: usize, devices: usize) -> (usize, String) {
    (i % devices, format!("p{}", i / devices))
}

/// A connection holding one long poll; returns when its answer arrives.
async fn hold_poll(addr: SocketAddr, cik: String, alias: String) -> Result<(u16, Instant)> {
    let mut s = TcpStream::connect(addr).await?;
    let req = format!(
        "GET /onep:v1/stack/alias?{alias} HTTP/1.1\r\nHost: x\r\nX-Exosite-CIK: {cik}\r\n\
         Request-Timeout: 300000\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    let r = read_response(&mut s, &mut buf).await?;
    Ok((r.status, Instant::now()))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

async fn run(o: Opts) -> Result<()> {
    println!("setup: {} devices", o.devices);
    let ciks = setup(&o).await?;

    // Phase 2: idle long polls.
    let base_polls = waiting_polls(&o).await?;
    let rss_before = rss_kib(o.hub_pid);
    let mut handles = Vec::with_capacity(o.polls);
    for i in 0..o.polls {
        let (d, alias) = poll_target(i, o.devices);
        handles.push(tokio::spawn(hold_poll(o.addr, ciks[d].clone(), alias)));
        if i % 500 == 499 {
            tokio::task::yield_now().await;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let n = waiting_polls(&o).await?;
        if n >= base_polls + o.polls as u64 {
            break;
        }
        if Instant::now() > deadline {
            bail!("only {n} of {} polls registered in 120 s", o.polls);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Let allocator and kernel settle before reading RSS.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = rss_kib(o.hub_pid);
    println!("idle long polls: {}", o.polls);
    if let (Some(b), Some(a)) = (rss_before, rss_after) {
        let per = (a.saturating_sub(b)) as f64 * 1024.0 / o.polls as f64;
        println!("hub RSS before: {b} KiB, with polls: {a} KiB, per idle poll: {per:.0} bytes");
    }

    // Phase 3: write-to-wake on the first `wakes` polls, one at a time.
    let mut writer = TcpStream::connect(o.addr).await?;
    writer.set_nodelay(true)?;
    let mut wbuf = Vec::new();
    let mut lat = Vec::with_capacity(o.wakes);
    let mut polls = handles.into_iter();
    for i in 0..o.wakes {
        let Some(h) = polls.next() else { break };
        let (d, alias) = poll_target(i, o.devices);
        let body = format!("{alias}=wake{i}");
        let req = format!(
            "POST /onep:v1/stack/alias HTTP/1.1\r\nHost: x\r\nX-Exosite-CIK: {}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            ciks[d],
            body.len()
        );
        let sent = Instant::now();
        writer.write_all(req.as_bytes()).await?;
        let w = read_response(&mut writer, &mut wbuf).await?;
        if w.status != 204 {
            bail!("wake write answered {}", w.status);
        }
        let (status, woke) = tokio::time::timeout(Duration::from_secs(10), h)
            .await
            .context("poll not woken within 10 s")???;
        if status != 200 {
            bail!("woken poll answered {status}");
        }
        lat.push(woke.duration_since(sent));
    }
    lat.sort();
    println!(
        "write-to-wake over {} wakes: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        lat.len(),
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    // Close the remaining idle polls and let the hub finish tearing them down, so the
    // write phase measures writes only.
    for h in polls {
        h.abort();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while waiting_polls(&o).await? > base_polls && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Phase 4: write throughput.
    let count = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let stop_at = Instant::now() + Duration::from_secs(o.write_secs);
    let mut writers = Vec::new();
    for w in 0..o.writers {
        let cik = ciks[w % ciks.len()].clone();
        let addr = o.addr;
        let count = count.clone();
        let errors = errors.clone();
        writers.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await?;
            s.set_nodelay(true)?;
            let mut buf = Vec::new();
            let mut i = 0u64;
            while Instant::now() < stop_at {
                i += 1;
                let body = format!("w{w}={i}&status=ok");
                let req = format!(
                    "POST /onep:v1/stack/alias HTTP/1.1\r\nHost: x\r\nX-Exosite-CIK: {cik}\r\n\
                     Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n\
                     Content-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                s.write_all(req.as_bytes()).await?;
                let r = read_response(&mut s, &mut buf).await?;
                if r.status == 204 {
                    count.fetch_add(1, Ordering::Relaxed);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            anyhow::Ok(())
        }));
    }
    let started = Instant::now();
    for w in writers {
        w.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    let n = count.load(Ordering::Relaxed);
    println!(
        "device writes: {n} in {secs:.1} s over {} connections = {:.0} writes/s ({} errors)",
        o.writers,
        n as f64 / secs,
        errors.load(Ordering::Relaxed)
    );
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let o = parse_opts()?;
    let _ = gwe_hub::limits::raise_fd_limit();
    let cap = Duration::from_secs(o.max_secs);
    tokio::time::timeout(cap, run(o))
        .await
        .context("load generator hit its time cap")?
}
