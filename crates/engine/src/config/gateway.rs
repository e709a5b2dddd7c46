//! `Gateway.cfg`: the gateway's identity, section `[device]` with `cik`, `model`, `vendor`,
//! `uuid` and `iface` (the original engine's format, kept so upgrades keep working).

use std::path::Path;

use super::ini::IniDoc;
use super::{parse_ini, unquote_empty, ConfigError};

/// The INI section holding the identity.
pub const DEVICE_SECTION: &str = "device";

/// The identity of the gateway. Empty strings mean "not set".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayCfg {
    /// The device's CIK (token); empty until activated.
    pub cik: String,
    /// Model (on Murano: the product id).
    pub model: String,
    /// Vendor (on Murano: the product id).
    pub vendor: String,
    /// The serial number; filled from the MAC of `iface` at start when empty.
    pub uuid: String,
    /// Network interface whose MAC is the serial when `uuid` is empty.
    pub iface: String,
    /// The whole file as read, so sections and keys this engine does not know survive.
    doc: IniDoc,
}

impl GatewayCfg {
    /// Parses the text of `Gateway.cfg` read from `path` (named in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let doc = parse_ini(path, text)?;
        if !doc.has_section(DEVICE_SECTION) && !text.trim().is_empty() {
            return Err(ConfigError::Structure {
                path: path.to_path_buf(),
                problem: "no [device] section (expected keys cik, model, vendor, uuid, iface)"
                    .into(),
            });
        }
        let get = |key: &str| unquote_empty(doc.get(DEVICE_SECTION, key).unwrap_or("")).to_string();
        let cfg = GatewayCfg {
            cik: get("cik"),
            model: get("model"),
            vendor: get("vendor"),
            uuid: get("uuid"),
            iface: get("iface"),
            doc: doc.clone(),
        };
        for (key, value) in cfg.fields() {
            if let Err(problem) = validate_field(key, value) {
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    section: DEVICE_SECTION.into(),
                    key: key.into(),
                    value: value.into(),
                    problem,
                });
            }
        }
        Ok(cfg)
    }

    /// The five identity keys in the order the original printed them.
    pub fn fields(&self) -> [(&'static str, &str); 5] {
        [
            ("cik", &self.cik),
            ("model", &self.model),
            ("vendor", &self.vendor),
            ("uuid", &self.uuid),
            ("iface", &self.iface),
        ]
    }

    /// The file's content to write: the original document with the identity keys updated.
    pub fn render(&self) -> Result<String, ConfigError> {
        let mut doc = self.doc.clone();
        for (key, value) in self.fields() {
            doc.set(DEVICE_SECTION, key, value);
        }
        Ok(doc.render()?)
    }

    /// What `gwe --gateway-cfg` prints: the `[device]` section with the five keys, an empty
    /// value shown as `''` (the original's output, which people and scripts have read).
    pub fn display(&self) -> String {
        let mut out = String::from("[device]\n");
        for (key, value) in self.fields() {
            let shown = if value.is_empty() { "''" } else { value };
            out.push_str(&format!("{key} = {shown}\n"));
        }
        out
    }
}

/// Checks one identity value; the message says what is wrong.
pub fn validate_field(key: &str, value: &str) -> Result<(), String> {
    if value.chars().any(char::is_control) {
        return Err("contains control characters (a line break or tab?)".into());
    }
    match key {
        "cik" if value.chars().any(char::is_whitespace) => {
            Err("a CIK never contains spaces; set it again with `gwe --set-cik`".into())
        }
        "cik" if value.len() > 256 => Err("longer than 256 characters; not a CIK".into()),
        "iface" => validate_iface(value),
        "uuid" | "model" | "vendor" if value.len() > 256 => {
            Err("longer than 256 characters".into())
        }
        _ => Ok(()),
    }
}

/// A network interface name as Linux allows it: at most 15 bytes, no `/`, no whitespace, not
/// `.` or `..` (it is used to build a path under /sys).
pub fn validate_iface(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    if value.len() > 15 {
        return Err("longer than 15 characters; not a network interface name".into());
    }
    if value == "."
        || value == ".."
        || value.contains('/')
        || value.chars().any(char::is_whitespace)
    {
        return Err("not a network interface name (no '/', spaces, '.' or '..')".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("/x/Gateway.cfg")
    }

    #[test]
    fn reads_the_original_format_including_quoted_empties() {
        let cfg = GatewayCfg::parse(
            p(),
            "[device]\ncik = ''\nmodel = pid1\nvendor = pid1\nuuid = ''\niface = eth0\n",
        )
        .unwrap();
        assert_eq!(cfg.cik, "");
        assert_eq!(cfg.model, "pid1");
        assert_eq!(cfg.iface, "eth0");
        assert_eq!(
            cfg.display(),
            "[device]\ncik = ''\nmodel = pid1\nvendor = pid1\nuuid = ''\niface = eth0\n"
        );
    }

    #[test]
    fn keeps_unknown_keys_and_sections_on_render() {
        let mut cfg =
            GatewayCfg::parse(p(), "[device]\nextra = 1\ncik = a\n[mine]\nk = v\n").unwrap();
        cfg.uuid = "SN".into();
        let text = cfg.render().unwrap();
        assert!(
            text.contains("extra = 1") && text.contains("[mine]\nk = v"),
            "{text}"
        );
        let again = GatewayCfg::parse(p(), &text).unwrap();
        assert_eq!(again.uuid, "SN");
        assert_eq!(again.cik, "a");
    }

    #[test]
    fn hand_written_mistakes_name_file_key_and_problem() {
        let err = GatewayCfg::parse(p(), "[device]\ncik = abc def\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Gateway.cfg") && err.contains("cik") && err.contains("spaces"),
            "{err}"
        );
        let err = GatewayCfg::parse(p(), "[device]\niface = ../../etc\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("iface") && err.contains("interface name"),
            "{err}"
        );
        let err = GatewayCfg::parse(p(), "[devices]\ncik = a\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no [device] section"), "{err}");
        let err = GatewayCfg::parse(p(), "cik = a\n").unwrap_err().to_string();
        assert!(err.contains("Gateway.cfg:1"), "{err}");
        let long = format!("[device]\nuuid = {}\n", "u".repeat(300));
        assert!(GatewayCfg::parse(p(), &long).is_err());
    }

    #[test]
    fn empty_file_is_empty_identity() {
        assert_eq!(GatewayCfg::parse(p(), "").unwrap(), GatewayCfg::default());
    }
}
