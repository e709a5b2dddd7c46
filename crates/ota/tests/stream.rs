//! The streamed OTA path (extraction while the download arrives) against the project's own hub
//! on 127.0.0.1, behind a TCP relay that can cut the connection in the middle of a download:
//! a cut download is resumed with `Range` (in the same try, and from the cache file in the
//! next), a hostile tarball is refused while it streams, and a tarball whose digest differs is
//! never activated (its install.sh never runs). The running version stays in place throughout.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use common::hub::*;
use common::*;
use gwe_device_client::DeviceClient;
use gwe_ota::{FailureKind, InstallItem, InstallResult, Installer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A TCP relay in front of the hub. While `cuts` is above zero, a connection whose answer
/// passes `cut_after` bytes is closed there (and `cuts` goes down by one); with `then_refuse`,
/// a cut also makes it close every new connection at once until `refusing` is cleared.
/// Records the `Range` headers the client sent.
struct Relay {
    addr: SocketAddr,
    cuts: Arc<AtomicU32>,
    then_refuse: Arc<AtomicBool>,
    refusing: Arc<AtomicBool>,
    ranges: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

async fn relay(to: SocketAddr, cut_after: u64) -> Relay {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let r = Relay {
        addr: listener.local_addr().unwrap(),
        cuts: Arc::new(AtomicU32::new(0)),
        then_refuse: Arc::default(),
        refusing: Arc::default(),
        ranges: Arc::default(),
        stop: Arc::new(AtomicBool::new(false)),
    };
    let (cuts, ranges, stop) = (r.cuts.clone(), r.ranges.clone(), r.stop.clone());
    let (then_refuse, refusing) = (r.then_refuse.clone(), r.refusing.clone());
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            if refusing.load(Ordering::SeqCst) {
                drop(client);
                continue;
            }
            let Ok(server) = TcpStream::connect(to).await else {
                continue;
            };
            let (cuts, ranges) = (cuts.clone(), ranges.clone());
            let (then_refuse, refusing) = (then_refuse.clone(), refusing.clone());
            tokio::spawn(async move {
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                // Refusing applies to pooled keep-alive connections too.
                let refusing_up = refusing.clone();
                let up = tokio::spawn(async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    while let Ok(n) = cr.read(&mut buf).await {
                        if n == 0 || refusing_up.load(Ordering::SeqCst) {
                            break;
                        }
                        let text = String::from_utf8_lossy(&buf[..n]);
                        for line in text.lines() {
                            if line.to_ascii_lowercase().starts_with("range:") {
                                ranges.lock().unwrap().push(line.to_string());
                            }
                        }
                        if sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
                let mut buf = vec![0u8; 16 * 1024];
                let mut sent = 0u64;
                while let Ok(n) = sr.read(&mut buf).await {
                    if n == 0 || refusing.load(Ordering::SeqCst) {
                        break;
                    }
                    let mut n = n as u64;
                    let cut = sent + n > cut_after
                        && cuts
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_sub(1))
                            .is_ok();
                    if cut {
                        n = cut_after.saturating_sub(sent);
                        if then_refuse.load(Ordering::SeqCst) {
                            refusing.store(true, Ordering::SeqCst);
                        }
                    }
                    if cw.write_all(&buf[..n as usize]).await.is_err() {
                        break;
                    }
                    sent += n;
                    if cut {
                        break;
                    }
                }
                up.abort();
                // Dropping both halves closes the connections.
            });
        }
    });
    r
}

impl Relay {
    /// Whether the client sent a `Range` header line matching `f`.
    fn sent_range(&self, f: impl Fn(&str) -> bool) -> bool {
        self.ranges.lock().unwrap().iter().any(|l| f(l))
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Bytes that gzip cannot shrink (so the tarball is about as large as the payload).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// `app.v<version>.tar.gz` with a 2 MiB payload; its install.sh appends to `marker`.
fn big_app(dir: &Path, version: &str, marker: &Path) -> PathBuf {
    tarball(
        dir,
        &format!("app.v{version}.tar.gz"),
        vec![
            install_sh(&format!(
                "echo \"installed $APP_VERSION\" >> '{}'",
                marker.display()
            )),
            Entry::File("payload.bin", 0o644, payload(version)),
        ],
    )
}

fn payload(version: &str) -> Vec<u8> {
    noise(2 << 20, version.parse::<u64>().unwrap() + 7)
}

fn item(name: &str, sha256: Option<String>) -> InstallItem {
    InstallItem {
        name: name.into(),
        sha256,
    }
}

fn part(root: &Path, name: &str) -> PathBuf {
    root.join(format!("ota/cache/{name}.part"))
}

fn cache_files(root: &Path) -> Vec<String> {
    std::fs::read_dir(root.join("ota/cache"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The version directories of `app` (staging directories included).
fn app_dirs(root: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root.join("apps/app"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != "current")
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// One try through `relay` that is cut once and then refused: a fetch failure that keeps what
/// arrived in the cache file. Returns the cache file's length.
async fn cut_try(s: &Setup, relay: &Relay, client: &DeviceClient, tarball: &Path) -> u64 {
    let name = tarball.file_name().unwrap().to_str().unwrap();
    relay.ranges.lock().unwrap().clear();
    relay.then_refuse.store(true, Ordering::SeqCst);
    relay.cuts.store(1, Ordering::SeqCst);
    let r = s
        .inst
        .fetch_and_install(client, &item(name, None), None)
        .await;
    assert_eq!(r.result, InstallResult::Failed, "{}", r.summary());
    assert_eq!(r.error.as_ref().unwrap().kind, FailureKind::Fetch, "{r:?}");
    let kept = std::fs::metadata(part(&s.root, name))
        .expect("the partial download is kept")
        .len();
    assert!(kept > 0 && kept < std::fs::metadata(tarball).unwrap().len());
    kept
}

/// The next try with the relay open again: installed with the tarball's digest, the download
/// resumed from the `kept` bytes of the cache file.
async fn resumed_try(s: &Setup, relay: &Relay, client: &DeviceClient, tarball: &Path, kept: u64) {
    let name = tarball.file_name().unwrap().to_str().unwrap();
    relay.then_refuse.store(false, Ordering::SeqCst);
    relay.refusing.store(false, Ordering::SeqCst);
    let r = s
        .inst
        .fetch_and_install(client, &item(name, None), None)
        .await;
    assert_eq!(r.result, InstallResult::Installed, "{}", r.summary());
    assert_eq!(
        r.sha256.as_deref(),
        Some(gwe_package::sha256_file(tarball).unwrap().as_str())
    );
    assert!(
        relay.sent_range(|l| l.contains(&format!("bytes={kept}-"))),
        "resumed from the cache file: {:?}",
        relay.ranges.lock().unwrap()
    );
}

struct Setup {
    _t: tempfile::TempDir,
    pkgs: PathBuf,
    root: PathBuf,
    marker: PathBuf,
    hub: Hub,
    inst: Installer,
}

/// A hub, an installer (no supervisor: the apps are one-off) and v1 installed from a file.
async fn setup() -> Setup {
    let t = tempfile::tempdir().unwrap();
    let pkgs = t.path().join("pkgs");
    std::fs::create_dir_all(&pkgs).unwrap();
    let root = t.path().join("gw");
    let marker = t.path().join("installed.txt");
    let hub = start_hub(&t.path().join("hub")).await;
    let inst = installer(&root, None);
    let v1 = big_app(&pkgs, "1", &marker);
    let i = inst.clone();
    let r = tokio::task::spawn_blocking(move || i.install_file(&v1, "test"))
        .await
        .unwrap();
    assert!(r.ok(), "{}", r.summary());
    assert_eq!(
        current(&root, "app").as_deref().map(|c| &c[..2]),
        Some("1-")
    );
    Setup {
        _t: t,
        pkgs,
        root,
        marker,
        hub,
        inst,
    }
}

fn marker_lines(marker: &Path) -> Vec<String> {
    std::fs::read_to_string(marker)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_download_resumes_in_the_same_try_and_from_the_cache_file() {
    let s = setup().await;
    let v2 = big_app(&s.pkgs, "2", &s.marker);
    upload(&s.hub, &v2, "").await;
    let v2_sha = gwe_package::sha256_file(&v2).unwrap();
    let relay = relay(s.hub.addr, 700_000).await;

    // Cut once: the client resumes with Range within the same try; the extraction, fed from
    // the same stream, never notices.
    let client = device(&s.hub, relay.addr, "gw-cut", 3).await;
    relay.cuts.store(1, Ordering::SeqCst);
    let r = s
        .inst
        .fetch_and_install(&client, &item("app.v2.tar.gz", None), None)
        .await;
    assert_eq!(r.result, InstallResult::Installed, "{}", r.summary());
    assert_eq!(r.sha256.as_deref(), Some(v2_sha.as_str()));
    assert_eq!(
        relay.cuts.load(Ordering::SeqCst),
        0,
        "the connection was cut"
    );
    assert!(
        relay.sent_range(|l| l.contains("bytes=") && !l.contains("bytes=0-")),
        "resumed with Range: {:?}",
        relay.ranges.lock().unwrap()
    );
    assert_eq!(
        std::fs::read(s.root.join("apps/app/current/payload.bin")).unwrap(),
        payload("2")
    );
    assert!(
        cache_files(&s.root).is_empty(),
        "{:?}",
        cache_files(&s.root)
    );

    // Cut, then the server is out of reach: the install fails as a fetch failure, keeps what
    // arrived, and leaves v2 running; the next try resumes from the cache file.
    let v3 = big_app(&s.pkgs, "3", &s.marker);
    upload(&s.hub, &v3, "").await;
    let once = device(&s.hub, relay.addr, "gw-cut-once", 1).await;
    let kept = cut_try(&s, &relay, &once, &v3).await;
    assert_eq!(
        current(&s.root, "app").as_deref().map(|c| &c[..2]),
        Some("2-")
    );
    assert_eq!(
        app_dirs(&s.root).len(),
        1,
        "v2 only: {:?}",
        app_dirs(&s.root)
    );
    assert!(app_dirs(&s.root)[0].starts_with("2-"));
    assert_eq!(marker_lines(&s.marker), ["installed 1", "installed 2"]);

    resumed_try(&s, &relay, &once, &v3, kept).await;
    assert_eq!(
        std::fs::read(s.root.join("apps/app/current/payload.bin")).unwrap(),
        payload("3")
    );
    assert_eq!(
        marker_lines(&s.marker),
        ["installed 1", "installed 2", "installed 3"]
    );
    assert!(
        cache_files(&s.root).is_empty(),
        "{:?}",
        cache_files(&s.root)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_tarballs_are_refused_while_they_stream() {
    let s = setup().await;
    let client = device(&s.hub, s.hub.addr, "gw-hostile", 3).await;
    let marker = s.marker.display().to_string();
    let cases: Vec<(&str, Vec<Entry>, &str)> = vec![
        (
            "app.v2.tar.gz",
            vec![
                Entry::File("payload.bin", 0o644, noise(1 << 20, 3)),
                Entry::RawPath(b"../../escaped.txt", b"out".to_vec()),
                install_sh(&format!("echo bad >> '{marker}'")),
            ],
            "..",
        ),
        (
            "app.v3.tar.gz",
            vec![
                Entry::File("payload.bin", 0o644, noise(1 << 20, 4)),
                Entry::Symlink("out", "../../.."),
                Entry::File("out/escaped.txt", 0o644, b"x".to_vec()),
                install_sh(&format!("echo bad >> '{marker}'")),
            ],
            "out",
        ),
        (
            "app.v4.tar.gz",
            vec![
                Entry::File("payload.bin", 0o644, noise(1 << 20, 5)),
                Entry::CharDevice("dev"),
                install_sh(&format!("echo bad >> '{marker}'")),
            ],
            "dev",
        ),
    ];
    for (name, entries, what) in cases {
        let t = tarball(&s.pkgs, name, entries);
        upload(&s.hub, &t, "").await;
        let r = s
            .inst
            .fetch_and_install(&client, &item(name, None), None)
            .await;
        assert_eq!(r.result, InstallResult::Failed, "{name}: {}", r.summary());
        let e = r.error.as_ref().unwrap();
        assert_eq!(e.kind, FailureKind::Archive, "{name}: {e:?}");
        assert!(e.message.contains(what), "{name}: {}", e.message);
        assert_eq!(
            current(&s.root, "app").as_deref().map(|c| &c[..2]),
            Some("1-")
        );
        assert_eq!(
            app_dirs(&s.root).len(),
            1,
            "{name}: {:?}",
            app_dirs(&s.root)
        );
        assert!(
            cache_files(&s.root).is_empty(),
            "{name}: {:?}",
            cache_files(&s.root)
        );
        assert!(!s.root.join("escaped.txt").exists() && !s.root.join("apps/escaped.txt").exists());
    }
    assert_eq!(
        marker_lines(&s.marker),
        ["installed 1"],
        "no install.sh ran"
    );
    assert_eq!(registry_version(&s.root, "app").as_deref(), Some("1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_mismatch_is_never_activated() {
    let s = setup().await;
    let client = device(&s.hub, s.hub.addr, "gw-digest", 3).await;
    let v2 = big_app(&s.pkgs, "2", &s.marker);
    upload(&s.hub, &v2, "").await;
    let real = gwe_package::sha256_file(&v2).unwrap();
    let wrong = "ab".repeat(32);
    let r = s
        .inst
        .fetch_and_install(&client, &item("app.v2.tar.gz", Some(wrong.clone())), None)
        .await;
    assert_eq!(r.result, InstallResult::Failed, "{}", r.summary());
    let e = r.error.as_ref().unwrap();
    assert_eq!(e.kind, FailureKind::Digest, "{e:?}");
    assert!(
        e.message.contains(&real) && e.message.contains(&wrong),
        "{}",
        e.message
    );
    assert!(r.script.is_none(), "install.sh never ran");
    assert_eq!(marker_lines(&s.marker), ["installed 1"]);
    assert_eq!(
        current(&s.root, "app").as_deref().map(|c| &c[..2]),
        Some("1-")
    );
    assert_eq!(app_dirs(&s.root).len(), 1, "{:?}", app_dirs(&s.root));
    assert!(
        cache_files(&s.root).is_empty(),
        "{:?}",
        cache_files(&s.root)
    );
    assert_eq!(registry_version(&s.root, "app").as_deref(), Some("1"));
    let attempt = &registry_entry(&s.root, "app")["last_attempt"];
    assert_eq!(attempt["result"], "failed", "{attempt}");

    // With the right digest it installs.
    let r = s
        .inst
        .fetch_and_install(&client, &item("app.v2.tar.gz", Some(real)), None)
        .await;
    assert_eq!(r.result, InstallResult::Installed, "{}", r.summary());
    assert_eq!(marker_lines(&s.marker), ["installed 1", "installed 2"]);
}

/// A download large enough that the cache file's pages are written back and dropped behind the
/// extraction (and the extracted payload's too) is cut after 30 MiB: the next try resumes from
/// the cache file, whose dropped pages come back from the disk, hashes its prefix, and installs
/// a byte-identical payload with the right digest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_download_cut_after_its_pages_were_dropped_resumes_whole() {
    let s = setup().await;
    let big = noise(34 << 20, 99);
    let v2 = tarball(
        &s.pkgs,
        "app.v2.tar.gz",
        vec![
            install_sh(&format!(
                "echo \"installed $APP_VERSION\" >> '{}'",
                s.marker.display()
            )),
            Entry::File("payload.bin", 0o644, big.clone()),
        ],
    );
    upload(&s.hub, &v2, "").await;
    let relay = relay(s.hub.addr, 30 << 20).await;
    let once = device(&s.hub, relay.addr, "gw-big", 1).await;
    let kept = cut_try(&s, &relay, &once, &v2).await;
    assert!(kept >= 28 << 20, "kept {kept} bytes");
    assert_eq!(
        std::fs::read(part(&s.root, "app.v2.tar.gz")).unwrap(),
        std::fs::read(&v2).unwrap()[..kept as usize],
        "the cache file holds exactly what arrived"
    );
    resumed_try(&s, &relay, &once, &v2, kept).await;
    assert!(
        std::fs::read(s.root.join("apps/app/current/payload.bin")).unwrap() == big,
        "installed payload differs"
    );
    assert_eq!(marker_lines(&s.marker), ["installed 1", "installed 2"]);
}
