//! `device_info`: what the gateway is and how full it is.
//!
//! The keys the original's cloud apps read (`uname`, `df`, `free`, `ipaddrs`) hold the text a
//! person would read from `uname -a`, `df`, `free` and the interface addresses; richer,
//! structured data sits beside them (schema: docs/reports.md).

use std::collections::BTreeMap;

use serde::Serialize;

use super::system::{self, Filesystem, Interface, MemInfo, TreeUsage, Uname};

/// The OS as `/etc/os-release` names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OsInfo {
    /// `NAME`.
    pub name: Option<String>,
    /// `VERSION` (else `VERSION_ID`).
    pub version: Option<String>,
    /// `ID`.
    pub id: Option<String>,
    /// `PRETTY_NAME`.
    pub pretty_name: Option<String>,
}

/// The kernel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KernelInfo {
    /// Kernel name (`Linux`).
    pub name: String,
    /// Release (`uname -r`).
    pub release: String,
    /// Build (`uname -v`).
    pub build: String,
    /// Architecture (`uname -m`).
    pub arch: String,
}

/// Memory and CPU used by one hosted app (its process and all descendants).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppUsage {
    /// The app's main pid (from the supervisor).
    pub pid: i64,
    /// Processes counted.
    pub processes: u32,
    /// Resident memory, KiB.
    pub rss_kb: u64,
    /// CPU time since start, seconds.
    pub cpu_seconds: f64,
}

/// The `device_info` report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceInfo {
    /// `uname -a` text (legacy key).
    pub uname: String,
    /// `df` text (legacy key).
    pub df: String,
    /// `free` text (legacy key).
    pub free: String,
    /// Interface addresses, one interface a line (legacy key).
    pub ipaddrs: String,
    /// The engine's version.
    pub engine_version: String,
    /// The OS.
    pub os: OsInfo,
    /// The kernel.
    pub kernel: KernelInfo,
    /// Host name.
    pub hostname: String,
    /// Seconds since boot.
    pub uptime_s: u64,
    /// Boot time, unix seconds.
    pub boot_time: u64,
    /// Load averages (1, 5, 15 minutes).
    pub load: Option<[f64; 3]>,
    /// Memory and swap, KiB.
    pub memory: MemInfo,
    /// Every mounted filesystem with a size.
    pub filesystems: Vec<Filesystem>,
    /// Every network interface.
    pub interfaces: Vec<Interface>,
    /// Memory and CPU of each hosted app, by program name.
    pub apps: BTreeMap<String, AppUsage>,
}

/// Collects `device_info` now; `apps` are the hosted programs' names and main pids (pid 0 =
/// not running, left out).
pub fn collect(apps: &[(String, i64)], now_unix: u64) -> DeviceInfo {
    let uname = Uname::current();
    let os = system::os_release();
    let mem = system::meminfo();
    let filesystems = system::filesystems();
    let interfaces = system::interfaces();
    let uptime = system::uptime_seconds().unwrap_or(0.0).max(0.0) as u64;
    let (page_kb, ticks) = system::page_kb_and_ticks();
    let running: Vec<&(String, i64)> = apps.iter().filter(|(_, pid)| *pid > 0).collect();
    let procs = if running.is_empty() {
        Vec::new()
    } else {
        system::all_processes()
    };
    let mut app_usage = BTreeMap::new();
    for (name, pid) in running {
        let Ok(pid32) = i32::try_from(*pid) else {
            continue;
        };
        if let Some(TreeUsage {
            processes,
            rss_kb,
            cpu_seconds,
        }) = system::tree_usage(&procs, pid32, page_kb, ticks)
        {
            app_usage.insert(
                name.clone(),
                AppUsage {
                    pid: *pid,
                    processes,
                    rss_kb,
                    cpu_seconds,
                },
            );
        }
    }
    let get = |k: &str| os.get(k).cloned();
    DeviceInfo {
        uname: uname.render(),
        df: system::render_df(&filesystems),
        free: system::render_free(&mem),
        ipaddrs: system::render_ipaddrs(&interfaces),
        engine_version: crate::VERSION.to_string(),
        os: OsInfo {
            name: get("NAME"),
            version: get("VERSION").or_else(|| get("VERSION_ID")),
            id: get("ID"),
            pretty_name: get("PRETTY_NAME"),
        },
        kernel: KernelInfo {
            name: uname.sysname.clone(),
            release: uname.release.clone(),
            build: uname.version.clone(),
            arch: uname.machine.clone(),
        },
        hostname: uname.nodename.clone(),
        uptime_s: uptime,
        boot_time: now_unix.saturating_sub(uptime),
        load: system::load_average(),
        memory: mem,
        filesystems,
        interfaces,
        apps: app_usage,
    }
}

impl DeviceInfo {
    /// What must change for the report to count as changed: identity, OS, addresses, the
    /// filesystems and their whole-percent usage, the set of apps. Memory, load, counters
    /// and uptime move all the time and are left out (boot time is rounded to a minute
    /// because it is computed from two clocks).
    pub fn fingerprint(&self) -> serde_json::Value {
        let fs: Vec<_> = self
            .filesystems
            .iter()
            .map(|f| {
                (
                    f.device.as_str(),
                    f.mount_point.as_str(),
                    f.fs_type.as_str(),
                    f.size_kb,
                    f.use_percent,
                )
            })
            .collect();
        let ifaces: Vec<_> = self
            .interfaces
            .iter()
            .map(|i| (i.name.as_str(), &i.mac, &i.ipv4, &i.ipv6))
            .collect();
        serde_json::json!({
            "uname": self.uname,
            "ipaddrs": self.ipaddrs,
            "engine_version": self.engine_version,
            "os": self.os,
            "hostname": self.hostname,
            "boot_minute": self.boot_time / 60,
            "filesystems": fs,
            "interfaces": ifaces,
            "apps": self.apps.keys().collect::<Vec<_>>(),
            "swap_total_kb": self.memory.swap_total_kb,
            "mem_total_kb": self.memory.total_kb,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_legacy_text_and_rich_data_from_this_system() {
        let me = std::process::id() as i64;
        let info = collect(&[("self".into(), me), ("stopped".into(), 0)], 2_000_000_000);
        assert!(info.uname.contains(&info.kernel.release));
        assert!(info.df.starts_with("Filesystem"));
        assert!(info.free.contains("Mem:"));
        assert!(info.ipaddrs.contains("lo: 127.0.0.1/8"), "{}", info.ipaddrs);
        assert!(info.memory.total_kb > 0);
        assert!(info.apps["self"].rss_kb > 0);
        assert!(!info.apps.contains_key("stopped"));
        assert_eq!(info.engine_version, crate::VERSION);
        let json = serde_json::to_value(&info).unwrap();
        for key in ["uname", "df", "free", "ipaddrs"] {
            assert!(json[key].is_string(), "{key}");
        }
    }

    #[test]
    fn fingerprint_ignores_volatile_fields() {
        let a = collect(&[], 2_000_000_000);
        let mut b = a.clone();
        b.uptime_s += 100;
        b.load = Some([9.0, 9.0, 9.0]);
        b.memory.free_kb += 1000;
        b.free = "different".into();
        b.df = "different".into();
        assert_eq!(a.fingerprint(), b.fingerprint());
        b.hostname = "other".into();
        assert_ne!(a.fingerprint(), b.fingerprint());
    }
}
