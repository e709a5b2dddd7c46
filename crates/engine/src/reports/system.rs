//! Facts about the running system, read directly from the kernel (`/proc`, `/sys`,
//! `statvfs`, `getifaddrs`, `uname`) instead of running `df`, `free` or `ip`: a gateway may
//! lack those tools, and spawning them costs memory. Parsers take text so they are tested on
//! fixed input; the readers around them are thin.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;

/// Largest `/proc` or `/etc` file read whole: they are a few KiB; anything bigger is hostile.
const MAX_TEXT: u64 = 1024 * 1024;

/// Reads a small text file, `None` when absent, unreadable or oversized.
pub fn read_small(path: &Path) -> Option<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    let mut text = String::new();
    file.take(MAX_TEXT).read_to_string(&mut text).ok()?;
    Some(text)
}

/// `/proc/meminfo`, in KiB.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemInfo {
    /// MemTotal.
    pub total_kb: u64,
    /// MemFree.
    pub free_kb: u64,
    /// MemAvailable (estimated by the kernel).
    pub available_kb: u64,
    /// Buffers.
    pub buffers_kb: u64,
    /// Cached + SReclaimable (what `free` shows as cache).
    pub cache_kb: u64,
    /// Shmem.
    pub shared_kb: u64,
    /// total - free - buffers - cache.
    pub used_kb: u64,
    /// SwapTotal.
    pub swap_total_kb: u64,
    /// SwapFree.
    pub swap_free_kb: u64,
}

/// Parses `/proc/meminfo`; unknown or malformed lines are skipped.
pub fn parse_meminfo(text: &str) -> MemInfo {
    let mut fields: HashMap<&str, u64> = HashMap::new();
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let Some(num) = rest.split_whitespace().next().and_then(|n| n.parse().ok()) else {
            continue;
        };
        fields.insert(key.trim(), num);
    }
    let f = |k: &str| fields.get(k).copied().unwrap_or(0);
    let cache = f("Cached").saturating_add(f("SReclaimable"));
    MemInfo {
        total_kb: f("MemTotal"),
        free_kb: f("MemFree"),
        available_kb: fields.get("MemAvailable").copied().unwrap_or(f("MemFree")),
        buffers_kb: f("Buffers"),
        cache_kb: cache,
        shared_kb: f("Shmem"),
        used_kb: f("MemTotal")
            .saturating_sub(f("MemFree"))
            .saturating_sub(f("Buffers"))
            .saturating_sub(cache),
        swap_total_kb: f("SwapTotal"),
        swap_free_kb: f("SwapFree"),
    }
}

/// The text `free` prints (KiB).
pub fn render_free(m: &MemInfo) -> String {
    let swap_used = m.swap_total_kb.saturating_sub(m.swap_free_kb);
    format!(
        "{:>15} {:>11} {:>11} {:>11} {:>11} {:>11}\n\
         {:<7}{:>8} {:>11} {:>11} {:>11} {:>11} {:>11}\n\
         {:<7}{:>8} {:>11} {:>11}\n",
        "total",
        "used",
        "free",
        "shared",
        "buff/cache",
        "available",
        "Mem:",
        m.total_kb,
        m.used_kb,
        m.free_kb,
        m.shared_kb,
        m.buffers_kb + m.cache_kb,
        m.available_kb,
        "Swap:",
        m.swap_total_kb,
        swap_used,
        m.swap_free_kb,
    )
}

/// One line of `/proc/mounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The device (or pseudo name).
    pub device: String,
    /// Where it is mounted.
    pub mount_point: String,
    /// The filesystem type.
    pub fs_type: String,
}

/// Parses `/proc/mounts` (octal escapes such as `\040` for a space are decoded).
pub fn parse_mounts(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let mut it = line.split_whitespace();
            Some(Mount {
                device: unescape_octal(it.next()?),
                mount_point: unescape_octal(it.next()?),
                fs_type: it.next()?.to_string(),
            })
        })
        .collect()
}

fn unescape_octal(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (bytes[i + 1] - b'0') as u32 * 64
                + (bytes[i + 2] - b'0') as u32 * 8
                + (bytes[i + 3] - b'0') as u32;
            if let Ok(b) = u8::try_from(v) {
                out.push(b);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Space and inodes of one mounted filesystem (KiB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Filesystem {
    /// The device.
    pub device: String,
    /// Where it is mounted.
    pub mount_point: String,
    /// Its type (ext4, ubifs, tmpfs...).
    pub fs_type: String,
    /// Size.
    pub size_kb: u64,
    /// Used.
    pub used_kb: u64,
    /// Available to unprivileged users.
    pub avail_kb: u64,
    /// Used share as `df` rounds it (percent, rounded up).
    pub use_percent: u64,
    /// Inodes in total.
    pub inodes: u64,
    /// Inodes in use.
    pub inodes_used: u64,
    /// Inodes free.
    pub inodes_free: u64,
}

/// Filesystems whose `statvfs` can block for a long time on a dead network: not measured.
const NETWORK_FS: [&str; 7] = ["nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "9p"];

/// Every mounted filesystem with a size (pseudo filesystems of size 0 are left out, as `df`
/// does), each mount point once.
// statvfs field types are 32-bit on some 32-bit ARM targets: the casts are needed there.
#[allow(clippy::unnecessary_cast)]
pub fn filesystems() -> Vec<Filesystem> {
    let mounts = read_small(Path::new("/proc/mounts"))
        .map(|t| parse_mounts(&t))
        .unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for m in mounts {
        if NETWORK_FS.contains(&m.fs_type.as_str()) || !seen.insert(m.mount_point.clone()) {
            continue;
        }
        let Ok(st) = nix::sys::statvfs::statvfs(Path::new(&m.mount_point)) else {
            continue;
        };
        let frag = st.fragment_size().max(1) as u64;
        let size_kb = (st.blocks() as u64).saturating_mul(frag) / 1024;
        if size_kb == 0 {
            continue;
        }
        let free_kb = (st.blocks_free() as u64).saturating_mul(frag) / 1024;
        let avail_kb = (st.blocks_available() as u64).saturating_mul(frag) / 1024;
        let used_kb = size_kb.saturating_sub(free_kb);
        let denom = used_kb + avail_kb;
        let use_percent = if denom == 0 {
            0
        } else {
            (used_kb * 100).div_ceil(denom)
        };
        let inodes = st.files() as u64;
        let inodes_free = st.files_free() as u64;
        out.push(Filesystem {
            device: m.device,
            mount_point: m.mount_point,
            fs_type: m.fs_type,
            size_kb,
            used_kb,
            avail_kb,
            use_percent,
            inodes,
            inodes_used: inodes.saturating_sub(inodes_free),
            inodes_free,
        });
    }
    out
}

/// The text `df` prints (1K blocks).
pub fn render_df(fs: &[Filesystem]) -> String {
    let width = fs.iter().map(|f| f.device.len()).max().unwrap_or(0).max(14);
    let mut out = format!(
        "{:<width$} {:>10} {:>10} {:>10} {:>4} Mounted on\n",
        "Filesystem", "1K-blocks", "Used", "Available", "Use%"
    );
    for f in fs {
        out.push_str(&format!(
            "{:<width$} {:>10} {:>10} {:>10} {:>3}% {}\n",
            f.device, f.size_kb, f.used_kb, f.avail_kb, f.use_percent, f.mount_point
        ));
    }
    out
}

/// One network interface.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Interface {
    /// Its name.
    pub name: String,
    /// Its MAC address (upper case), when it has one.
    pub mac: Option<String>,
    /// IPv4 addresses with prefix length (`192.168.1.5/24`).
    pub ipv4: Vec<String>,
    /// IPv6 addresses with prefix length.
    pub ipv6: Vec<String>,
    /// Bytes received since boot.
    pub rx_bytes: u64,
    /// Bytes sent since boot.
    pub tx_bytes: u64,
}

/// Every interface with its addresses (getifaddrs) and counters (`/sys/class/net`).
pub fn interfaces() -> Vec<Interface> {
    let mut by_name: BTreeMap<String, Interface> = BTreeMap::new();
    if let Ok(addrs) = nix::ifaddrs::getifaddrs() {
        for a in addrs {
            let entry = by_name
                .entry(a.interface_name.clone())
                .or_insert_with(|| Interface {
                    name: a.interface_name.clone(),
                    ..Default::default()
                });
            let Some(addr) = a.address else { continue };
            if let Some(v4) = addr.as_sockaddr_in() {
                let prefix = a
                    .netmask
                    .and_then(|m| m.as_sockaddr_in().map(|m| u32::from(m.ip()).count_ones()))
                    .unwrap_or(32);
                entry.ipv4.push(format!("{}/{prefix}", v4.ip()));
            } else if let Some(v6) = addr.as_sockaddr_in6() {
                let prefix = a
                    .netmask
                    .and_then(|m| m.as_sockaddr_in6().map(|m| u128::from(m.ip()).count_ones()))
                    .unwrap_or(128);
                entry.ipv6.push(format!("{}/{prefix}", v6.ip()));
            }
        }
    }
    let net = Path::new("/sys/class/net");
    for (name, iface) in by_name.iter_mut() {
        let dir = net.join(name);
        let num = |file: &str| {
            read_small(&dir.join("statistics").join(file))
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(0)
        };
        iface.rx_bytes = num("rx_bytes");
        iface.tx_bytes = num("tx_bytes");
        iface.mac = read_small(&dir.join("address"))
            .map(|t| t.trim().to_ascii_uppercase())
            .filter(|m| !m.is_empty() && m != "00:00:00:00:00:00");
    }
    by_name.into_values().collect()
}

/// The interface addresses as text, one interface a line (`eth0: 10.0.0.2/24 fe80::1/64`).
pub fn render_ipaddrs(ifaces: &[Interface]) -> String {
    let mut out = String::new();
    for i in ifaces {
        let addrs: Vec<&str> = i
            .ipv4
            .iter()
            .chain(i.ipv6.iter())
            .map(String::as_str)
            .collect();
        out.push_str(&i.name);
        out.push(':');
        for a in addrs {
            out.push(' ');
            out.push_str(a);
        }
        out.push('\n');
    }
    out
}

/// `uname` facts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Uname {
    /// Kernel name (Linux).
    pub sysname: String,
    /// Host name.
    pub nodename: String,
    /// Kernel release (`6.1.0-13-arm64`).
    pub release: String,
    /// Kernel build (`#1 SMP PREEMPT ...`).
    pub version: String,
    /// Architecture (`armv7l`, `aarch64`, `x86_64`).
    pub machine: String,
}

impl Uname {
    /// The running kernel's.
    pub fn current() -> Self {
        let u = nix::sys::utsname::uname();
        let s = |o: &std::ffi::OsStr| o.to_string_lossy().into_owned();
        match u {
            Ok(u) => Uname {
                sysname: s(u.sysname()),
                nodename: s(u.nodename()),
                release: s(u.release()),
                version: s(u.version()),
                machine: s(u.machine()),
            },
            Err(_) => Uname::default(),
        }
    }

    /// What `uname -a` prints (without the processor/platform fields, like busybox).
    pub fn render(&self) -> String {
        let os = if self.sysname == "Linux" {
            " GNU/Linux"
        } else {
            ""
        };
        format!(
            "{} {} {} {} {}{os}",
            self.sysname, self.nodename, self.release, self.version, self.machine
        )
    }
}

/// `/etc/os-release` (or `/usr/lib/os-release`) as key/value pairs, quotes removed.
pub fn parse_os_release(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.starts_with('#') {
                return None;
            }
            let (k, v) = line.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            Some((k.trim().to_string(), v.replace("\\\"", "\"")))
        })
        .collect()
}

/// The OS release of this system.
pub fn os_release() -> BTreeMap<String, String> {
    read_small(Path::new("/etc/os-release"))
        .or_else(|| read_small(Path::new("/usr/lib/os-release")))
        .map(|t| parse_os_release(&t))
        .unwrap_or_default()
}

/// Seconds since boot (`/proc/uptime`).
pub fn uptime_seconds() -> Option<f64> {
    read_small(Path::new("/proc/uptime"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Load averages over 1, 5 and 15 minutes (`/proc/loadavg`).
pub fn load_average() -> Option<[f64; 3]> {
    let text = read_small(Path::new("/proc/loadavg"))?;
    let mut it = text.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// Memory of this system.
pub fn meminfo() -> MemInfo {
    read_small(Path::new("/proc/meminfo"))
        .map(|t| parse_meminfo(&t))
        .unwrap_or_default()
}

/// One process from `/proc/<pid>/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// Its pid.
    pub pid: i32,
    /// Its parent.
    pub ppid: i32,
    /// User + system CPU time, in clock ticks.
    pub cpu_ticks: u64,
    /// Resident set, in pages.
    pub rss_pages: u64,
}

/// Parses the text of `/proc/<pid>/stat` (the command name may hold spaces and parentheses,
/// so fields are counted after the last `)`).
pub fn parse_proc_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text[..open].trim().parse().ok()?;
    let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // After the name: state(0) ppid(1) ... utime(11) stime(12) ... rss(21).
    let num = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    Some(ProcStat {
        pid,
        ppid: fields.get(1)?.parse().ok()?,
        cpu_ticks: num(11)?.saturating_add(num(12)?),
        rss_pages: num(21)?,
    })
}

/// Every process now running.
pub fn all_processes() -> Vec<ProcStat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let e = e.ok()?;
        let name = e.file_name();
        let name = name.to_str()?;
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        parse_proc_stat(&read_small(&e.path().join("stat"))?)
    })
    .collect()
}

/// Memory and CPU of a process and all its descendants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct TreeUsage {
    /// Processes counted (the process and its descendants).
    pub processes: u32,
    /// Resident memory of all of them, KiB.
    pub rss_kb: u64,
    /// CPU time of all of them since they started, seconds.
    pub cpu_seconds: f64,
}

/// Sums `root` and its descendants in `procs`; `None` when `root` is not among them.
pub fn tree_usage(
    procs: &[ProcStat],
    root: i32,
    page_kb: u64,
    ticks_per_s: u64,
) -> Option<TreeUsage> {
    let mut children: HashMap<i32, Vec<&ProcStat>> = HashMap::new();
    for p in procs {
        children.entry(p.ppid).or_default().push(p);
    }
    let start = procs.iter().find(|p| p.pid == root)?;
    let mut usage = TreeUsage::default();
    let mut ticks = 0u64;
    let mut stack = vec![start];
    let mut seen = std::collections::HashSet::new();
    while let Some(p) = stack.pop() {
        if !seen.insert(p.pid) {
            continue;
        }
        usage.processes += 1;
        usage.rss_kb = usage
            .rss_kb
            .saturating_add(p.rss_pages.saturating_mul(page_kb));
        ticks = ticks.saturating_add(p.cpu_ticks);
        if let Some(kids) = children.get(&p.pid) {
            stack.extend(kids.iter().copied());
        }
    }
    usage.cpu_seconds = ticks as f64 / ticks_per_s.max(1) as f64;
    Some(usage)
}

/// Page size in KiB and clock ticks per second of this system.
pub fn page_kb_and_ticks() -> (u64, u64) {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    // SAFETY: as above.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    ((page.max(1024) as u64) / 1024, ticks.max(1) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMINFO: &str = "MemTotal:       16000000 kB\nMemFree:         2000000 kB\n\
        MemAvailable:    9000000 kB\nBuffers:          500000 kB\nCached:          6000000 kB\n\
        SwapCached:            0 kB\nShmem:            300000 kB\nSReclaimable:     400000 kB\n\
        SwapTotal:       1000000 kB\nSwapFree:         750000 kB\ngarbage line\nX: y kB\n";

    #[test]
    fn meminfo_and_free_text() {
        let m = parse_meminfo(MEMINFO);
        assert_eq!(m.total_kb, 16_000_000);
        assert_eq!(m.cache_kb, 6_400_000);
        assert_eq!(m.used_kb, 16_000_000 - 2_000_000 - 500_000 - 6_400_000);
        let text = render_free(&m);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].contains("total")
                && lines[0].contains("buff/cache")
                && lines[0].contains("available")
        );
        assert!(
            lines[1].starts_with("Mem:")
                && lines[1].contains("16000000")
                && lines[1].contains("9000000")
        );
        assert!(lines[2].starts_with("Swap:") && lines[2].contains("250000"));
    }

    #[test]
    fn meminfo_hostile_input_is_zeroes() {
        let m = parse_meminfo("MemTotal: 99999999999999999999999 kB\nMemFree: -1\n\u{0}:::\n");
        assert_eq!(m.total_kb, 0);
        assert_eq!(m.used_kb, 0);
    }

    #[test]
    fn mounts_decode_escapes_and_skip_short_lines() {
        let m = parse_mounts(
            "/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /mnt/my\\040disk vfat rw 0 0\nshort\n",
        );
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].mount_point, "/mnt/my disk");
        assert_eq!(unescape_octal("a\\777b\\04"), "a\\777b\\04");
    }

    #[test]
    fn df_text_has_header_and_rows() {
        let fs = vec![Filesystem {
            device: "/dev/root".into(),
            mount_point: "/".into(),
            fs_type: "ext4".into(),
            size_kb: 1000,
            used_kb: 431,
            avail_kb: 569,
            use_percent: 44,
            inodes: 10,
            inodes_used: 1,
            inodes_free: 9,
        }];
        let text = render_df(&fs);
        assert!(text.starts_with("Filesystem"));
        assert!(text.contains("1K-blocks") && text.contains("Mounted on"));
        assert!(text.lines().nth(1).unwrap().ends_with(" 44% /"), "{text}");
    }

    #[test]
    fn proc_stat_with_hostile_command_names() {
        let line = "1234 (my) app (x)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 5000 10000000 321 18446744073709551615";
        let p = parse_proc_stat(line).unwrap();
        assert_eq!(
            (p.pid, p.ppid, p.cpu_ticks, p.rss_pages),
            (1234, 1, 300, 321)
        );
        assert!(parse_proc_stat("garbage").is_none());
        assert!(parse_proc_stat("12 (x) S").is_none());
        assert!(parse_proc_stat(")(").is_none());
    }

    #[test]
    fn tree_usage_sums_descendants_and_survives_cycles() {
        let p = |pid, ppid| ProcStat {
            pid,
            ppid,
            cpu_ticks: 100,
            rss_pages: 10,
        };
        let procs = vec![p(10, 1), p(11, 10), p(12, 11), p(20, 1), p(30, 30)];
        let u = tree_usage(&procs, 10, 4, 100).unwrap();
        assert_eq!(u.processes, 3);
        assert_eq!(u.rss_kb, 120);
        assert!((u.cpu_seconds - 3.0).abs() < 1e-9);
        assert_eq!(tree_usage(&procs, 30, 4, 100).unwrap().processes, 1);
        assert!(tree_usage(&procs, 99, 4, 100).is_none());
    }

    #[test]
    fn os_release_quotes() {
        let m =
            parse_os_release("NAME=\"Debian GNU/Linux\"\nVERSION_ID='12'\nID=debian\n# c\nbad\n");
        assert_eq!(m["NAME"], "Debian GNU/Linux");
        assert_eq!(m["VERSION_ID"], "12");
        assert_eq!(m["ID"], "debian");
    }

    #[test]
    fn live_system_readers_return_something_sane() {
        assert!(meminfo().total_kb > 0);
        assert!(!filesystems().is_empty());
        assert!(interfaces()
            .iter()
            .any(|i| i.name == "lo" && i.ipv4.iter().any(|a| a == "127.0.0.1/8")));
        assert!(Uname::current()
            .render()
            .contains(&Uname::current().release));
        let me = std::process::id() as i32;
        let (page, ticks) = page_kb_and_ticks();
        let usage = tree_usage(&all_processes(), me, page, ticks).unwrap();
        assert!(usage.rss_kb > 0);
    }
}
