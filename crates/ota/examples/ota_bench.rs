//! Benchmark driver of `bench/ota_bench.sh` (not a test): activates a device on a hub, or
//! fetches and installs one content item with the OTA pipeline and prints timings and the
//! process's peak RSS as one JSON line.
//!
//! ```text
//! ota_bench activate <SERVER_URL> <SERIAL>             # prints the CIK
//! ota_bench install <SERVER_URL> <CIK> <ROOT> <NAME>   # prints {"download_ms": ...}
//! ```

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gwe_device_client::audit::AuditConfig;
use gwe_device_client::wire::ActivateRequest;
use gwe_device_client::{ClientConfig, DeviceClient};
use gwe_ota::{InstallItem, Installer, OtaConfig};

fn usage() -> libc::rusage {
    // SAFETY: getrusage fills the struct we pass.
    unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    }
}

fn peak_rss_kib() -> i64 {
    usage().ru_maxrss
}

/// User + system CPU time of the process so far (all threads), ms.
fn cpu_ms() -> i64 {
    let u = usage();
    let ms = |t: libc::timeval| t.tv_sec * 1000 + t.tv_usec / 1000;
    ms(u.ru_utime) + ms(u.ru_stime)
}

fn client(server: &str, cik: Option<&str>) -> Result<DeviceClient, String> {
    let mut c = ClientConfig::new(server).with_audit(AuditConfig::disabled());
    if let Some(cik) = cik {
        c = c.with_cik(cik);
    }
    c = c.with_request_timeout(Duration::from_secs(60));
    DeviceClient::new(c).map_err(|e| e.to_string())
}

async fn run(args: Vec<String>) -> Result<(), String> {
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["activate", server, sn] => {
            let c = client(server, None)?;
            let cik = c
                .activate(&ActivateRequest::murano(*sn))
                .await
                .map_err(|e| e.to_string())?;
            println!("{cik}");
            Ok(())
        }
        ["install", server, cik, root, name] => {
            let c = client(server, Some(cik))?;
            let marks: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
            let m = marks.clone();
            let inst = Installer::new(OtaConfig::under(&PathBuf::from(root))).with_observer(
                Arc::new(move |c| {
                    if let Ok(mut v) = m.lock() {
                        v.push((format!("{c:?}"), Instant::now()));
                    }
                }),
            );
            let item = InstallItem {
                name: name.to_string(),
                sha256: None,
            };
            let t0 = Instant::now();
            let cpu0 = cpu_ms();
            let r = inst.fetch_and_install(&c, &item, None).await;
            if !r.ok() {
                return Err(r.summary());
            }
            let mut phases = String::new();
            let mut last = t0;
            for (name, at) in marks.lock().map(|v| v.clone()).unwrap_or_default() {
                phases.push_str(&format!(
                    "{}{name}:{}",
                    if phases.is_empty() { "" } else { " " },
                    at.duration_since(last).as_millis()
                ));
                last = at;
            }
            println!(
                "{{\"phases_ms\": \"{phases}\", \"total_ms\": {}, \"cpu_ms\": {}, \"peak_rss_kib\": {}, \"sha256\": \"{}\"}}",
                t0.elapsed().as_millis(),
                cpu_ms() - cpu0,
                peak_rss_kib(),
                r.sha256.unwrap_or_default()
            );
            Ok(())
        }
        _ => Err("usage: ota_bench activate URL SN | ota_bench install URL CIK ROOT NAME".into()),
    }
}

fn main() {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = rt.block_on(run(std::env::args().skip(1).collect())) {
        eprintln!("ota_bench: {e}");
        std::process::exit(1);
    }
}
