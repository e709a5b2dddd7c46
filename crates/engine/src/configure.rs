//! What the configuring flags of `gwe` do (`-c -m -r -P -u -i -l -d -t -a`), as one call that
//! validates every value first, then writes each file once, then says what to print.

use crate::config::{
    parse_interval, validate_field, validate_iface_name, ConfigDir, ConfigError, EngineConfig,
    GatewayCfg, LogLevel, MAX_ACT_RETRY_INTERVAL, MAX_UPDATE_INTERVAL,
};
use crate::identity::NetSys;

/// The configuring flags given on one command line (`None` = not given; `Some("")` = given
/// empty, which clears `uuid` and restores the default User-Agent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigureRequest {
    /// `-c/--set-cik`.
    pub cik: Option<String>,
    /// `-m/--set-model`.
    pub model: Option<String>,
    /// `-r/--set-vendor`.
    pub vendor: Option<String>,
    /// `-P/--set-product-id`: sets vendor and model (an explicit `-m`/`-r` wins).
    pub product_id: Option<String>,
    /// `-u/--set-uuid`.
    pub uuid: Option<String>,
    /// `-i/--set-iface`.
    pub iface: Option<String>,
    /// `-l/--set-act-retry-interval` (seconds, as typed).
    pub act_retry_interval: Option<String>,
    /// `-d/--set-debug-level`.
    pub debug_level: Option<String>,
    /// `-t/--set-update-interval` (seconds, as typed).
    pub update_interval: Option<String>,
    /// `-a/--set-user-agent`.
    pub user_agent: Option<String>,
}

impl ConfigureRequest {
    /// Whether any flag changes Gateway.cfg.
    pub fn touches_gateway(&self) -> bool {
        self.cik.is_some()
            || self.model.is_some()
            || self.vendor.is_some()
            || self.product_id.is_some()
            || self.uuid.is_some()
            || self.iface.is_some()
    }

    /// Whether any flag changes Engine.config.
    pub fn touches_engine(&self) -> bool {
        self.act_retry_interval.is_some()
            || self.debug_level.is_some()
            || self.update_interval.is_some()
            || self.user_agent.is_some()
    }

    /// Whether any configuring flag was given.
    pub fn is_empty(&self) -> bool {
        !self.touches_gateway() && !self.touches_engine()
    }
}

/// A flag's value that cannot be used; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigureError {
    /// A value is invalid.
    #[error("{flag} {value:?}: {problem}")]
    BadValue {
        /// The flag's long name.
        flag: &'static str,
        /// The value given.
        value: String,
        /// What is wrong with it.
        problem: String,
    },
    /// Reading or writing the files failed (or they hold mistakes).
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// What a configuring call did, for the command line to print.
#[derive(Debug, Clone, Default)]
pub struct ConfigureOutcome {
    /// Lines for stdout before the configuration (the `Found interface ...` line).
    pub notes: Vec<String>,
    /// Warnings for stderr (an interface that does not exist).
    pub warnings: Vec<String>,
    /// Gateway.cfg as written, when it was changed.
    pub gateway: Option<GatewayCfg>,
    /// Engine.config as written, when it was changed.
    pub engine: Option<EngineConfig>,
}

struct Validated {
    act_retry: Option<u64>,
    level: Option<LogLevel>,
    interval: Option<u64>,
}

fn bad(flag: &'static str, value: &str, problem: impl Into<String>) -> ConfigureError {
    ConfigureError::BadValue {
        flag,
        value: value.to_string(),
        problem: problem.into(),
    }
}

fn validate(req: &ConfigureRequest) -> Result<Validated, ConfigureError> {
    for (flag, key, value) in [
        ("--set-cik", "cik", &req.cik),
        ("--set-model", "model", &req.model),
        ("--set-vendor", "vendor", &req.vendor),
        ("--set-product-id", "model", &req.product_id),
        ("--set-uuid", "uuid", &req.uuid),
    ] {
        if let Some(v) = value {
            validate_field(key, v).map_err(|p| bad(flag, v, p))?;
        }
    }
    for (flag, value) in [
        ("--set-cik", &req.cik),
        ("--set-model", &req.model),
        ("--set-vendor", &req.vendor),
        ("--set-product-id", &req.product_id),
        ("--set-uuid", &req.uuid),
        ("--set-user-agent", &req.user_agent),
    ] {
        if let Some(v) = value {
            if !representable(v) {
                return Err(bad(
                    flag,
                    v,
                    "cannot be stored in an INI file (' ;' or ' #' starts a comment there)",
                ));
            }
        }
    }
    if let Some(v) = &req.iface {
        validate_iface_name(v).map_err(|p| bad("--set-iface", v, p))?;
    }
    if let Some(v) = &req.user_agent {
        if v.chars().any(char::is_control) {
            return Err(bad("--set-user-agent", v, "contains control characters"));
        }
    }
    let act_retry = match &req.act_retry_interval {
        Some(v) => Some(
            parse_interval(v, MAX_ACT_RETRY_INTERVAL)
                .map_err(|p| bad("--set-act-retry-interval", v, p))?,
        ),
        None => None,
    };
    let interval = match &req.update_interval {
        Some(v) => Some(
            parse_interval(v, MAX_UPDATE_INTERVAL)
                .map_err(|p| bad("--set-update-interval", v, p))?,
        ),
        None => None,
    };
    let level = match &req.debug_level {
        Some(v) => Some(LogLevel::parse(v).ok_or_else(|| {
            bad(
                "--set-debug-level",
                v,
                "expected DEBUG, INFO, WARNING, ERROR or CRITICAL",
            )
        })?),
        None => None,
    };
    Ok(Validated {
        act_retry,
        level,
        interval,
    })
}

/// Whether `value` survives a write and re-read of an INI file.
fn representable(value: &str) -> bool {
    let mut doc = crate::config::ini::IniDoc::default();
    doc.set("s", "k", value);
    doc.render().is_ok()
}

/// Applies `req` to the files in `dir`. Every value is checked before anything is written.
pub fn apply(
    dir: &ConfigDir,
    net: &NetSys,
    req: &ConfigureRequest,
) -> Result<ConfigureOutcome, ConfigureError> {
    let checked = validate(req)?;
    let mut outcome = ConfigureOutcome::default();
    // Load both files first so a mistake in either is reported before anything is written.
    let current_gateway = dir.load_gateway()?;
    dir.load_engine()?;
    if let Some(iface) = req.iface.as_deref().filter(|i| !i.is_empty()) {
        match net.mac_address(iface) {
            Ok(mac) => outcome.notes.push(format!(
                "Found interface '{iface}' with MAC address (serial/uuid): {mac}"
            )),
            Err(problem) => outcome.warnings.push(format!(
                "warning: interface '{iface}': {problem}; gwe cannot take its serial number from \
                 it until the interface exists"
            )),
        }
    }
    if req.touches_gateway() {
        // A uuid that was filled from the old interface's MAC follows the interface change.
        let old_mac = net.mac_address(&current_gateway.iface).ok();
        let written = dir.update_gateway(|g| {
            if let Some(pid) = &req.product_id {
                g.vendor = pid.clone();
                g.model = pid.clone();
            }
            if let Some(v) = &req.model {
                g.model = v.clone();
            }
            if let Some(v) = &req.vendor {
                g.vendor = v.clone();
            }
            if let Some(v) = &req.cik {
                g.cik = v.clone();
            }
            if let Some(v) = &req.iface {
                if req.uuid.is_none() && *v != g.iface && old_mac.as_deref() == Some(&g.uuid) {
                    g.uuid.clear();
                }
                g.iface = v.clone();
            }
            if let Some(v) = &req.uuid {
                g.uuid = v.clone();
            }
        })?;
        outcome.gateway = Some(written);
    }
    if req.touches_engine() {
        let written = dir.update_engine(|e| {
            if let Some(v) = checked.act_retry {
                e.activation_retry_interval = v;
            }
            if let Some(v) = checked.level {
                e.log_level = v;
            }
            if let Some(v) = checked.interval {
                e.update_interval = v;
            }
            if let Some(v) = &req.user_agent {
                e.user_agent = v.trim().to_string();
            }
        })?;
        outcome.engine = Some(written);
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_id_sets_vendor_and_model_and_flags_combine() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("net/eth0")).unwrap();
        std::fs::write(t.path().join("net/eth0/address"), "02:00:00:00:00:0a\n").unwrap();
        let dir = ConfigDir::new(t.path().join("etc"));
        let net = NetSys::at(t.path().join("net"));
        let req = ConfigureRequest {
            product_id: Some("pid1".into()),
            iface: Some("eth0".into()),
            update_interval: Some("60".into()),
            ..Default::default()
        };
        let out = apply(&dir, &net, &req).unwrap();
        assert_eq!(
            out.notes,
            vec!["Found interface 'eth0' with MAC address (serial/uuid): 02:00:00:00:00:0A"]
        );
        let g = out.gateway.unwrap();
        assert_eq!(
            (g.vendor.as_str(), g.model.as_str(), g.iface.as_str()),
            ("pid1", "pid1", "eth0")
        );
        assert_eq!(out.engine.unwrap().update_interval, 60);
    }

    #[test]
    fn a_bad_value_writes_nothing() {
        let t = tempfile::tempdir().unwrap();
        let dir = ConfigDir::new(t.path());
        let req = ConfigureRequest {
            cik: Some("x".repeat(40)),
            update_interval: Some("0".into()),
            ..Default::default()
        };
        let err = apply(&dir, &NetSys::at(t.path()), &req)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--set-update-interval"), "{err}");
        assert!(!dir.gateway_cfg_path().exists());
    }

    #[test]
    fn values_an_ini_file_cannot_hold_are_refused() {
        let t = tempfile::tempdir().unwrap();
        let dir = ConfigDir::new(t.path());
        let req = ConfigureRequest {
            user_agent: Some("agent ;x".into()),
            ..Default::default()
        };
        let err = apply(&dir, &NetSys::at(t.path()), &req)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--set-user-agent") && err.contains("comment"),
            "{err}"
        );
    }

    #[test]
    fn changing_iface_drops_a_uuid_taken_from_the_old_mac() {
        let t = tempfile::tempdir().unwrap();
        for (i, mac) in [("eth0", "02:00:00:00:00:01"), ("eth1", "02:00:00:00:00:02")] {
            std::fs::create_dir_all(t.path().join("net").join(i)).unwrap();
            std::fs::write(t.path().join("net").join(i).join("address"), mac).unwrap();
        }
        let dir = ConfigDir::new(t.path().join("etc"));
        let net = NetSys::at(t.path().join("net"));
        dir.update_gateway(|g| {
            g.iface = "eth0".into();
            g.uuid = "02:00:00:00:00:01".into();
        })
        .unwrap();
        let req = ConfigureRequest {
            iface: Some("eth1".into()),
            ..Default::default()
        };
        assert_eq!(apply(&dir, &net, &req).unwrap().gateway.unwrap().uuid, "");
        dir.update_gateway(|g| g.uuid = "mine".into()).unwrap();
        let req = ConfigureRequest {
            iface: Some("eth0".into()),
            ..Default::default()
        };
        assert_eq!(
            apply(&dir, &net, &req).unwrap().gateway.unwrap().uuid,
            "mine"
        );
    }
}
