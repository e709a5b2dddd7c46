//! `gdc usage`: statistics from the audit log.

use std::time::Duration;

use anyhow::{bail, Context};

use super::args::UsageArgs;
use super::{resolve, Cli};
use crate::audit::{AuditDb, UsageReport, UsageStats};

/// Parses `90`, `90s`, `15m`, `24h`, `7d`.
pub fn parse_window(s: &str) -> anyhow::Result<Duration> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, 's')) => (&s[..i], 1),
        Some((i, 'm')) => (&s[..i], 60),
        Some((i, 'h')) => (&s[..i], 3600),
        Some((i, 'd')) => (&s[..i], 86400),
        _ => (s, 1),
    };
    let n: u64 = num
        .trim()
        .parse()
        .with_context(|| format!("bad window {s:?} (use e.g. 90m, 24h, 7d)"))?;
    Ok(Duration::from_secs(n.saturating_mul(mult)))
}

pub fn run(cli: &Cli, a: &UsageArgs) -> anyhow::Result<()> {
    let settings = resolve::settings(cli);
    let Some(path) = resolve::audit_path(cli, &settings) else {
        bail!("auditing is disabled (--no-audit)")
    };
    let window = parse_window(&a.since)?;
    let report = if path.exists() {
        AuditDb::open(&path)?.usage(window)?
    } else {
        UsageReport::default()
    };
    if let Some(key) = &a.engine_report {
        println!("{}", report.to_engine_json(key));
    } else if cli.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

fn print_table(r: &UsageReport) {
    println!(
        "{:<20} {:<14} {:>7} {:>6} {:>12} {:>12} {:>9} {:>9}",
        "AGENT", "PROCEDURE", "REQS", "ERRS", "SENT", "RECEIVED", "P50 ms", "P95 ms"
    );
    let row = |agent: &str, proc_: &str, s: &UsageStats| {
        println!(
            "{:<20} {:<14} {:>7} {:>6} {:>12} {:>12} {:>9.1} {:>9.1}",
            agent, proc_, s.requests, s.errors, s.bytes_sent, s.bytes_received, s.p50_ms, s.p95_ms
        );
    };
    for (agent, a) in &r.agents {
        for (p, s) in &a.procedures {
            row(agent, p, s);
        }
    }
    row("TOTAL", "", &r.total);
    if let Some(top) = &r.top_consumer {
        println!("top consumer: {top}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        assert_eq!(parse_window("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_window("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_window("24h").unwrap(), Duration::from_secs(86400));
        assert_eq!(parse_window("7d").unwrap(), Duration::from_secs(604800));
        for bad in ["", "h", "-5m", "1.5h", "1w"] {
            assert!(parse_window(bad).is_err(), "{bad}");
        }
    }
}
