//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Gateway Device Client: talk to the HTTP Device API from scripts, with every
/// request recorded in the audit log.
///
/// Without --url, the server and identity come from the engine's configuration in
/// $GWE_CONFIG_DIR or /etc/gwe (section `device` of Gateway.cfg, `server_url` in
/// section `engine` of Engine.config), so `gdc write <CIK> <alias> <value>` works on
/// a gateway as is.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "gdc",
    disable_version_flag = true,
    max_term_width = 100,
    after_help = "Exit codes: 0 success, 1 failure, 2 usage error, 3 the CIK was refused \
                  (401: activate again), 4 network failure or timeout."
)]
pub struct Cli {
    /// Print the version of gdc and exit.
    #[arg(short = 'v', long = "version")]
    pub version: bool,

    /// Print where gdc is installed and exit.
    #[arg(short = 'p', long = "path")]
    pub path: bool,

    /// Server, `scheme://host[:port]` (default: from the engine's configuration).
    #[arg(short = 'H', long, global = true, value_name = "URL")]
    pub url: Option<String>,

    /// The device's CIK / token (default: positional CIK, then Gateway.cfg).
    #[arg(short = 'k', long, global = true, value_name = "CIK")]
    pub cik: Option<String>,

    /// Vendor (Murano: product id) for activation and content calls.
    #[arg(long, global = true)]
    pub vendor: Option<String>,

    /// Model (Murano: product id).
    #[arg(long, global = true)]
    pub model: Option<String>,

    /// Serial number / identity for activation.
    #[arg(long, global = true)]
    pub sn: Option<String>,

    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,

    /// Name recorded in the audit log (default: $GDC_AGENT, the supervisord program
    /// name $SUPERVISOR_PROCESS_NAME, else `gdc`).
    #[arg(long, global = true)]
    pub agent: Option<String>,

    /// Engine configuration directory (default: $GWE_CONFIG_DIR or /etc/gwe).
    #[arg(long, global = true, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,

    /// Audit database (default: $GWE_AUDIT_DB, Engine.config audit_db, /var/lib/gwe/ifaces.db).
    #[arg(long, global = true, value_name = "FILE")]
    pub audit_db: Option<PathBuf>,

    /// Do not record requests in the audit log.
    #[arg(long, global = true)]
    pub no_audit: bool,

    /// Trusted CAs for https: `bundled`, `system`, or a PEM file (default: the engine's
    /// `tls_roots` in Engine.config, else `bundled`).
    #[arg(long, global = true, value_name = "ROOTS")]
    pub tls_roots: Option<String>,

    /// Request timeout in seconds.
    #[arg(long, global = true, default_value_t = 30.0, value_name = "SECS")]
    pub timeout: f64,

    /// More logging on stderr (-vv for debug); or set GDC_LOG.
    #[arg(long = "verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Commands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Activate the device (vendor/model/sn from flags or Gateway.cfg) and print its CIK.
    Activate,
    /// Write values: `gdc write [CIK] <alias> <value> [<alias> <value>...]`.
    Write {
        /// [CIK] then alias/value pairs (an odd count means the first is the CIK).
        #[arg(required = true, num_args = 2.., value_name = "ARGS", allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Read latest values: `gdc read [CIK] <alias>...` (one alias prints the bare value).
    Read {
        /// [CIK] then aliases (a first argument that looks like a 40-character CIK is one).
        #[arg(required = true, value_name = "ARGS")]
        args: Vec<String>,
    },
    /// Long-poll one alias: `gdc poll [CIK] <alias>`; prints the new value (nothing on timeout).
    Poll(PollArgs),
    /// Record historical points: `gdc record <alias> <ts>=<value>...`.
    Record(RecordArgs),
    /// The content area: list, info, download.
    Content {
        /// Content command.
        #[command(subcommand)]
        command: ContentCommand,
    },
    /// Print the server's unix time.
    Timestamp,
    /// Request statistics from the audit log.
    Usage(UsageArgs),
    /// murano-client's form: `gdc -H URL -k TOKEN http write|read|poll ...`.
    Http {
        /// Data command.
        #[command(subcommand)]
        command: HttpCommand,
    },
}

/// `gdc http ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum HttpCommand {
    /// Write `alias=value` items (or alias value pairs).
    Write {
        /// `alias=value` items.
        #[arg(required = true, value_name = "ALIAS=VALUE")]
        args: Vec<String>,
    },
    /// Read aliases.
    Read {
        /// Aliases.
        #[arg(required = true, value_name = "ALIAS")]
        args: Vec<String>,
    },
    /// Long-poll one alias.
    Poll(PollArgs),
    /// Activate.
    Activate,
    /// Server time.
    Timestamp,
}

/// Long poll arguments.
#[derive(Debug, Clone, Args)]
pub struct PollArgs {
    /// [CIK] then the alias.
    #[arg(required = true, num_args = 1..=2, value_name = "ARGS")]
    pub args: Vec<String>,
    /// Request-Timeout in milliseconds (at most 300000).
    #[arg(long = "wait-ms", default_value_t = 30_000)]
    pub wait_ms: u64,
    /// Only points after this time (unix seconds or HTTP-date).
    #[arg(long)]
    pub since: Option<String>,
    /// Keep polling and print every new value (passing Last-Modified back).
    #[arg(long)]
    pub follow: bool,
}

/// Record arguments.
#[derive(Debug, Clone, Args)]
pub struct RecordArgs {
    /// The alias.
    pub alias: String,
    /// Points as `<unix seconds>=<value>`.
    #[arg(required = true, value_name = "TS=VALUE")]
    pub points: Vec<String>,
    /// Use the legacy `/onep:v1/stack/alias/<alias>` form.
    #[arg(long)]
    pub legacy: bool,
}

/// `gdc content ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum ContentCommand {
    /// List content ids.
    List,
    /// Show type, size, update time and meta of one item.
    Info {
        /// Content id.
        id: String,
    },
    /// Download one item (resumable).
    Download {
        /// Content id.
        id: String,
        /// Output file (`-` for stdout; default: the id's file name).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Continue a partial file with a Range request.
        #[arg(long)]
        resume: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
}

/// Usage arguments.
#[derive(Debug, Clone, Args)]
pub struct UsageArgs {
    /// Window: seconds or a number with s/m/h/d (e.g. 90m, 24h, 7d).
    #[arg(long, default_value = "24h")]
    pub since: String,
    /// Print the engine's usage_report JSON under this key instead.
    #[arg(long, value_name = "KEY")]
    pub engine_report: Option<String>,
}
