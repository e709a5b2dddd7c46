//! The gateway's serial number: `uuid` when set, else the upper-cased MAC address of `iface`
//! (read from `/sys/class/net/<iface>/address`), written back to `uuid` at start.

use std::path::PathBuf;

use crate::config::{ConfigDir, ConfigError, GatewayCfg};

/// Where network interfaces are listed (`/sys/class/net`).
pub const DEFAULT_SYS_CLASS_NET: &str = "/sys/class/net";
/// Environment variable that moves [`DEFAULT_SYS_CLASS_NET`] (containers, tests).
pub const SYS_CLASS_NET_ENV: &str = "GWE_SYS_CLASS_NET";

/// Why the serial number cannot be determined.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Neither `uuid` nor `iface` is configured.
    #[error(
        "{path}: no serial number: [device] uuid and iface are both empty; \
         set one with `gwe --set-uuid SERIAL` or `gwe --set-iface IFACE`"
    )]
    NoSerial {
        /// The Gateway.cfg in question.
        path: PathBuf,
    },
    /// `iface` is set but its MAC cannot be read.
    #[error("{path}: [device] iface = {iface:?}: {problem}")]
    Mac {
        /// The Gateway.cfg in question.
        path: PathBuf,
        /// The interface.
        iface: String,
        /// What went wrong.
        problem: String,
    },
    /// Writing the serial back failed.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Access to the system's network interfaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetSys {
    root: PathBuf,
}

impl Default for NetSys {
    fn default() -> Self {
        Self::from_env()
    }
}

impl NetSys {
    /// `$GWE_SYS_CLASS_NET`, else `/sys/class/net`.
    pub fn from_env() -> Self {
        let root = std::env::var_os(SYS_CLASS_NET_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SYS_CLASS_NET));
        Self { root }
    }

    /// Interfaces listed under `root` (a directory shaped like `/sys/class/net`).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Whether `iface` exists.
    pub fn exists(&self, iface: &str) -> bool {
        crate::config::validate_iface_name(iface).is_ok()
            && !iface.is_empty()
            && self.root.join(iface).exists()
    }

    /// The MAC address of `iface`, upper-cased (`00:2F:AC:43:55:A0`).
    pub fn mac_address(&self, iface: &str) -> Result<String, String> {
        crate::config::validate_iface_name(iface)?;
        if iface.is_empty() {
            return Err("no interface named".into());
        }
        let path = self.root.join(iface).join("address");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "no such network interface on this system ({} missing)",
                    path.display()
                )
            } else {
                format!("cannot read {}: {e}", path.display())
            }
        })?;
        let mac = text.trim().to_ascii_uppercase();
        let well_formed = mac.len() == 17
            && mac.split(':').count() == 6
            && mac
                .split(':')
                .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
        if !well_formed {
            return Err(format!(
                "{} does not hold a MAC address: {mac:?}",
                path.display()
            ));
        }
        if mac == "00:00:00:00:00:00" {
            return Err("the interface has no hardware address (00:00:00:00:00:00)".into());
        }
        Ok(mac)
    }
}

/// The serial number of `cfg`: its `uuid`, else the MAC of its `iface`.
pub fn serial_of(dir: &ConfigDir, cfg: &GatewayCfg, net: &NetSys) -> Result<String, IdentityError> {
    if !cfg.uuid.is_empty() {
        return Ok(cfg.uuid.clone());
    }
    if cfg.iface.is_empty() {
        return Err(IdentityError::NoSerial {
            path: dir.gateway_cfg_path(),
        });
    }
    net.mac_address(&cfg.iface)
        .map_err(|problem| IdentityError::Mac {
            path: dir.gateway_cfg_path(),
            iface: cfg.iface.clone(),
            problem,
        })
}

/// Makes sure `uuid` is set: when empty, fills it with the MAC of `iface` and writes it back.
/// Returns the configuration as it now stands.
pub fn ensure_serial(dir: &ConfigDir, net: &NetSys) -> Result<GatewayCfg, IdentityError> {
    let cfg = dir.load_gateway()?;
    if !cfg.uuid.is_empty() {
        return Ok(cfg);
    }
    let serial = serial_of(dir, &cfg, net)?;
    tracing::info!(serial = %serial, iface = %cfg.iface, "serial number taken from the interface's MAC address");
    Ok(dir.update_gateway(|g| {
        if g.uuid.is_empty() {
            g.uuid = serial;
        }
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_net(dir: &std::path::Path, iface: &str, addr: &str) -> NetSys {
        std::fs::create_dir_all(dir.join(iface)).unwrap();
        std::fs::write(dir.join(iface).join("address"), addr).unwrap();
        NetSys::at(dir)
    }

    #[test]
    fn mac_is_upper_cased_and_validated() {
        let t = tempfile::tempdir().unwrap();
        let net = fake_net(t.path(), "eth7", "02:ab:cd:ef:00:1f\n");
        assert_eq!(net.mac_address("eth7").unwrap(), "02:AB:CD:EF:00:1F");
        fake_net(t.path(), "bad0", "garbage");
        assert!(net
            .mac_address("bad0")
            .unwrap_err()
            .contains("does not hold a MAC"));
        fake_net(t.path(), "lo", "00:00:00:00:00:00");
        assert!(net
            .mac_address("lo")
            .unwrap_err()
            .contains("no hardware address"));
        assert!(net
            .mac_address("nope0")
            .unwrap_err()
            .contains("no such network interface"));
        assert!(net.mac_address("../x").is_err());
        assert!(!net.exists("nope0"));
        assert!(net.exists("eth7"));
    }

    #[test]
    fn uuid_wins_else_mac_written_back_else_refusal() {
        let t = tempfile::tempdir().unwrap();
        let net = fake_net(&t.path().join("net"), "eth0", "aa:bb:cc:dd:ee:ff");
        let dir = ConfigDir::new(t.path().join("etc"));
        let err = ensure_serial(&dir, &net).unwrap_err().to_string();
        assert!(
            err.contains("--set-uuid") && err.contains("Gateway.cfg"),
            "{err}"
        );
        dir.update_gateway(|g| g.iface = "eth0".into()).unwrap();
        let cfg = ensure_serial(&dir, &net).unwrap();
        assert_eq!(cfg.uuid, "AA:BB:CC:DD:EE:FF");
        assert_eq!(dir.load_gateway().unwrap().uuid, "AA:BB:CC:DD:EE:FF");
        dir.update_gateway(|g| g.uuid = "custom".into()).unwrap();
        assert_eq!(ensure_serial(&dir, &net).unwrap().uuid, "custom");
        dir.update_gateway(|g| {
            g.uuid.clear();
            g.iface = "wlan9".into();
        })
        .unwrap();
        let err = ensure_serial(&dir, &net).unwrap_err().to_string();
        assert!(
            err.contains("wlan9") && err.contains("no such network interface"),
            "{err}"
        );
    }
}
