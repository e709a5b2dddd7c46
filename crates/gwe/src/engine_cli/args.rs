//! The engine's flags, with the original's short and long names (argparse: any unambiguous
//! prefix of a long flag works, e.g. `--build-app` for `--build-app-tarball`).

use std::path::PathBuf;

use clap::Parser;

const LEVELS: [&str; 5] = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];

/// Gateway Engine: hosts and updates the gateway's apps and checks in with the cloud.
///
/// Without a configuring or printing flag, gwe runs the engine: it activates the gateway if it
/// has no CIK, then every update interval reports device_info, engine_report and usage_report
/// and reads engine_fetch and update_interval.
#[derive(Debug, Parser)]
#[command(
    name = "gwe",
    disable_version_flag = true,
    infer_long_args = true,
    allow_negative_numbers = true,
    after_help = "Configuration: Gateway.cfg and Engine.config in /etc/gwe, or in $GWE_CONFIG_DIR, \
                  or in --config-dir.\nConfiguring flags combine and print the resulting \
                  configuration, e.g. `gwe --set-product-id PID --set-iface eth0`.\nOther parts: \
                  `gwe supervisord ...` (the supervisor), `gwe ctl ...` (its control client), \
                  `gwe demo [--once]` (hub, supervisor, engine and an OTA install on this machine)."
)]
pub struct Args {
    /// Print the engine's version.
    #[arg(short = 'v', long = "version")]
    pub version: bool,
    /// Print where the engine is installed.
    #[arg(short = 'p', long = "path")]
    pub path: bool,
    /// Print the contents of Engine.config (defaults included).
    #[arg(short = 'e', long = "engine-conf")]
    pub engine_conf: bool,
    /// Print the [device] section of Gateway.cfg.
    #[arg(short = 'g', long = "gateway-cfg")]
    pub gateway_cfg: bool,
    /// Print the gateway's CIK, bare ('' when none), for scripts: "$(gwe --gateway-cik)".
    #[arg(short = 'C', long = "gateway-cik")]
    pub gateway_cik: bool,
    /// Run one check-in cycle and exit instead of looping.
    #[arg(short = 'o', long = "once")]
    pub once: bool,
    /// Create an app buildfile (uses --app-name and --app-version).
    #[arg(short = 'x', long = "create-buildfile")]
    pub create_buildfile: bool,
    /// Build an app tarball from the buildfile.
    #[arg(short = 'y', long = "build-app-tarball", value_name = "BUILDFILE", num_args = 0..=1)]
    pub build_app_tarball: Option<Option<PathBuf>>,
    /// Check a buildfile for common problems.
    #[arg(short = 'w', long = "check-buildfile", value_name = "BUILDFILE")]
    pub check_buildfile: Option<PathBuf>,
    /// Check an app tarball: structure, naming, optional elements.
    #[arg(
        short = 'z',
        long = "check-tarball",
        visible_alias = "check-tarfile",
        value_name = "TARBALL"
    )]
    pub check_tarball: Option<PathBuf>,
    /// Install one or more app tarballs now: files, or names of items in the product's content
    /// area (downloaded with a progress bar when no such file exists). With --json: one JSON
    /// array of the install reports.
    #[arg(short = 'I', long = "install-apps", value_name = "APP_TARBALL", num_args = 1..)]
    pub install_apps: Option<Vec<PathBuf>>,
    /// Set the CIK.
    #[arg(short = 'c', long = "set-cik", value_name = "CIK")]
    pub set_cik: Option<String>,
    /// Set the model.
    #[arg(short = 'm', long = "set-model", value_name = "MODEL")]
    pub set_model: Option<String>,
    /// Set the vendor.
    #[arg(short = 'r', long = "set-vendor", value_name = "VENDOR")]
    pub set_vendor: Option<String>,
    /// Set vendor and model to the Murano product id.
    #[arg(
        short = 'P',
        long = "set-product-id",
        visible_alias = "product-id",
        value_name = "PRODUCT_ID"
    )]
    pub set_product_id: Option<String>,
    /// Set the serial number ('' clears it, so the MAC of --set-iface is used).
    #[arg(short = 'u', long = "set-uuid", value_name = "UUID")]
    pub set_uuid: Option<String>,
    /// Use this network interface's MAC address (upper case) as the serial number.
    #[arg(short = 'i', long = "set-iface", value_name = "IFACE")]
    pub set_iface: Option<String>,
    /// Seconds to wait between activation attempts.
    #[arg(
        short = 'l',
        long = "set-act-retry-interval",
        value_name = "INTERVAL_SECONDS"
    )]
    pub set_act_retry_interval: Option<String>,
    /// Set the log level.
    #[arg(short = 'd', long = "set-debug-level", value_name = "LEVEL",
          value_parser = clap::builder::TypedValueParser::map(clap::builder::PossibleValuesParser::new(LEVELS), |s| s.to_ascii_uppercase()),
          ignore_case = true)]
    pub set_debug_level: Option<String>,
    /// Seconds between check-ins (default 14400, i.e. 4 hours).
    #[arg(
        short = 't',
        long = "set-update-interval",
        value_name = "UPDATE_INTERVAL"
    )]
    pub set_update_interval: Option<String>,
    /// Set the User-Agent of the engine's requests ('' restores GatewayEngine-v<VERSION>).
    #[arg(short = 'a', long = "set-user-agent", value_name = "USER_AGENT")]
    pub set_user_agent: Option<String>,
    /// App name for the build tools (the NAME in NAME.vVERSION.tar.gz).
    #[arg(short = 'n', long = "app-name", value_name = "APP_NAME")]
    pub app_name: Option<String>,
    /// App version for the build tools (the VERSION in NAME.vVERSION.tar.gz).
    #[arg(short = 's', long = "app-version", value_name = "APP_VERSION")]
    pub app_version: Option<String>,
    /// Download the latest engine release package of a release area (e.g. stable, dev) from
    /// the hub's content area (`<AREA>/latest.lnk` names the package) into the current directory.
    #[arg(long = "download-latest", value_name = "RELEASE_AREA")]
    pub download_latest: Option<String>,
    /// Base URL of the release areas for --download-latest (default: the engine's server URL).
    #[arg(long = "release-url", value_name = "URL")]
    pub release_url: Option<String>,
    /// Generate an ed25519 signing key pair NAME.key / NAME.pub in the current directory.
    #[arg(long = "gen-signing-key", value_name = "NAME")]
    pub gen_signing_key: Option<String>,
    /// Sign an app tarball with --key PRIVATE_KEY (writes TARBALL.sig).
    #[arg(long = "sign-tarball", value_name = "TARBALL")]
    pub sign_tarball: Option<PathBuf>,
    /// Verify TARBALL.sig with --key (a public key file or a directory of *.pub).
    #[arg(long = "check-signature", value_name = "TARBALL")]
    pub check_signature: Option<PathBuf>,
    /// The key file (or trusted keys directory) for --sign-tarball / --check-signature.
    #[arg(long = "key", value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Print the build tools' and -I's results as JSON (for scripts).
    #[arg(long = "json")]
    pub json: bool,
    /// Print the MAC address of a network interface.
    #[arg(long = "mac-address", value_name = "IFACE")]
    pub mac_address: Option<String>,
    /// Directory of Gateway.cfg and Engine.config (default $GWE_CONFIG_DIR, else /etc/gwe).
    #[arg(long = "config-dir", value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
}

impl Args {
    /// Whether a build-tool or signing flag was given (they run instead of the engine).
    pub fn build_tool_given(&self) -> bool {
        self.create_buildfile
            || self.build_app_tarball.is_some()
            || self.check_buildfile.is_some()
            || self.check_tarball.is_some()
            || self.gen_signing_key.is_some()
            || self.sign_tarball.is_some()
            || self.check_signature.is_some()
    }

    /// The configuring flags as a library request.
    pub fn configure_request(&self) -> gwe_engine::configure::ConfigureRequest {
        gwe_engine::configure::ConfigureRequest {
            cik: self.set_cik.clone(),
            model: self.set_model.clone(),
            vendor: self.set_vendor.clone(),
            product_id: self.set_product_id.clone(),
            uuid: self.set_uuid.clone(),
            iface: self.set_iface.clone(),
            act_retry_interval: self.set_act_retry_interval.clone(),
            debug_level: self.set_debug_level.clone(),
            update_interval: self.set_update_interval.clone(),
            user_agent: self.set_user_agent.clone(),
        }
    }

    /// Whether a printing flag was given.
    pub fn prints(&self) -> bool {
        self.version
            || self.path
            || self.engine_conf
            || self.gateway_cfg
            || self.gateway_cik
            || self.mac_address.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("gwe").chain(args.iter().copied()))
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Args::command().debug_assert();
    }

    #[test]
    fn prefixes_and_doc_names_work() {
        let a = parse(&["--build-app", "gwe-buildfile.json"]).unwrap();
        assert_eq!(
            a.build_app_tarball,
            Some(Some(PathBuf::from("gwe-buildfile.json")))
        );
        assert_eq!(
            parse(&["--product-id", "p"])
                .unwrap()
                .set_product_id
                .as_deref(),
            Some("p")
        );
        assert!(parse(&["--check-tarfile", "x.tar.gz"])
            .unwrap()
            .check_tarball
            .is_some());
        assert_eq!(
            parse(&["--mac", "eth0"]).unwrap().mac_address.as_deref(),
            Some("eth0")
        );
        assert_eq!(
            parse(&["--set-up", "5"])
                .unwrap()
                .set_update_interval
                .as_deref(),
            Some("5")
        );
        assert!(
            parse(&["--set-u", "5"]).is_err(),
            "--set-u is ambiguous (uuid, update, user)"
        );
        assert!(parse(&["--gateway-ci"]).unwrap().gateway_cik);
        // The signing flags keep the old prefixes unambiguous.
        assert!(parse(&["--vers"]).unwrap().version);
        assert!(parse(&["--pa"]).unwrap().path);
        assert!(parse(&["--check-t", "a.v1.tar.gz"])
            .unwrap()
            .check_tarball
            .is_some());
        assert!(parse(&["--check-b", "b.json"])
            .unwrap()
            .check_buildfile
            .is_some());
        assert!(parse(&["--do", "dev"]).unwrap().download_latest.is_some());
        assert!(parse(&["--si", "a.v1.tar.gz"])
            .unwrap()
            .sign_tarball
            .is_some());
        assert!(parse(&["--ge", "k"]).unwrap().gen_signing_key.is_some());
    }

    #[test]
    fn empty_values_and_levels() {
        assert_eq!(
            parse(&["--set-uuid", ""]).unwrap().set_uuid.as_deref(),
            Some("")
        );
        assert_eq!(
            parse(&["-a", ""]).unwrap().set_user_agent.as_deref(),
            Some("")
        );
        assert_eq!(
            parse(&["-d", "debug"]).unwrap().set_debug_level.as_deref(),
            Some("DEBUG")
        );
        assert!(parse(&["-d", "LOUD"]).is_err());
        let a = parse(&["-I", "a.v1.tar.gz", "b.v2.tar.gz"]).unwrap();
        assert_eq!(a.install_apps.unwrap().len(), 2);
    }
}
