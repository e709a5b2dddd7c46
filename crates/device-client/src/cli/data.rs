//! Data commands: activate, write, read, poll, record, timestamp.

use std::time::Duration;

use anyhow::{bail, Context};
use gwe_device_api::{token, RecordBody, RecordSeries, RequestTimeout};

use super::args::{PollArgs, RecordArgs};
use super::{resolve, Cli};
use crate::{DeviceClient, PollOutcome};

/// How long gdc waits for its audit rows before exiting.
const AUDIT_FLUSH: Duration = Duration::from_secs(5);

fn done(client: &DeviceClient) {
    if !client.flush_audit(AUDIT_FLUSH) {
        tracing::warn!("audit rows not written within {AUDIT_FLUSH:?}");
    }
}

/// Runs `f` with a client and flushes the audit log whatever happened.
async fn with_client<T, F, Fut>(cli: &Cli, cik: Option<String>, f: F) -> anyhow::Result<T>
where
    F: FnOnce(DeviceClient) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let client = resolve::client(cli, cik)?;
    let keep = client.clone();
    let r = f(client).await;
    done(&keep);
    r
}

/// `alias=value` items to alternating alias/value arguments; plain pairs pass through.
pub fn split_assignments(args: &[String]) -> Vec<String> {
    if args.iter().all(|a| a.contains('=')) {
        args.iter()
            .flat_map(|a| {
                let (k, v) = a.split_once('=').unwrap_or((a, ""));
                [k.to_string(), v.to_string()]
            })
            .collect()
    } else {
        args.to_vec()
    }
}

/// `[CIK] alias...`: a leading 40-character token is the CIK when more follows.
fn take_cik(args: &[String], min_rest: usize) -> (Option<String>, &[String]) {
    match args.split_first() {
        Some((first, rest)) if rest.len() >= min_rest && token::is_valid(first) => {
            (Some(first.clone()), rest)
        }
        _ => (None, args),
    }
}

pub async fn activate(cli: &Cli) -> anyhow::Result<()> {
    with_client(cli, None, |c| async move {
        let cik = c.activate_self().await?;
        if cli.json {
            println!("{}", serde_json::json!({ "cik": cik }));
        } else {
            println!("{cik}");
        }
        Ok(())
    })
    .await
}

pub async fn write(cli: &Cli, args: &[String]) -> anyhow::Result<()> {
    // An odd count is `<CIK> alias value...`, the original scripts' form.
    let (cik, rest) = if args.len() % 2 == 1 {
        (Some(args[0].clone()), &args[1..])
    } else {
        (None, args)
    };
    if rest.is_empty() {
        bail!("write needs <alias> <value> pairs");
    }
    let pairs: Vec<(&str, &str)> = rest
        .chunks(2)
        .map(|c| (c[0].as_str(), c[1].as_str()))
        .collect();
    with_client(cli, cik, |c| async move {
        c.write(&pairs).await?;
        if cli.json {
            println!("{}", serde_json::json!({ "ok": true }));
        }
        Ok(())
    })
    .await
}

pub async fn read(cli: &Cli, args: &[String]) -> anyhow::Result<()> {
    let (cik, aliases) = take_cik(args, 1);
    let aliases = aliases.to_vec();
    with_client(cli, cik, |c| async move {
        let form = c.read(&aliases).await?;
        if cli.json {
            let map: serde_json::Map<String, serde_json::Value> = form
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::from(v)))
                .collect();
            println!("{}", serde_json::Value::Object(map));
        } else if aliases.len() == 1 {
            if let Some(v) = form.get(&aliases[0]) {
                println!("{v}");
            }
        } else {
            for (k, v) in form.iter() {
                println!("{k}={v}");
            }
        }
        Ok(())
    })
    .await
}

pub async fn poll(cli: &Cli, a: &PollArgs) -> anyhow::Result<()> {
    let (cik, alias) = match a.args.as_slice() {
        [alias] => (None, alias.clone()),
        [cik, alias] => (Some(cik.clone()), alias.clone()),
        _ => bail!("poll takes [CIK] <alias>"),
    };
    let timeout = RequestTimeout::from_millis(a.wait_ms).context("--wait-ms")?;
    let mut since = match &a.since {
        Some(s) => Some(gwe_device_api::time::parse_http_time(s).context("--since")?),
        None => None,
    };
    with_client(cli, cik, |c| async move {
        loop {
            let outcome = c.long_poll(&alias, timeout, since).await?;
            match &outcome {
                PollOutcome::Updated { value, last_modified } => {
                    if cli.json {
                        println!("{}", serde_json::json!({ "modified": true, "value": value, "last_modified": last_modified }));
                    } else {
                        println!("{value}");
                    }
                    // Pass Last-Modified back: the server answers points written
                    // after it, so none is missed.
                    since = last_modified.or(since);
                }
                PollOutcome::NotModified => {
                    if cli.json && !a.follow {
                        println!("{}", serde_json::json!({ "modified": false }));
                    }
                }
            }
            if !a.follow {
                return Ok(());
            }
        }
    })
    .await
}

pub async fn record(cli: &Cli, a: &RecordArgs) -> anyhow::Result<()> {
    let mut points = Vec::with_capacity(a.points.len());
    for p in &a.points {
        let (ts, v) = p
            .split_once('=')
            .with_context(|| format!("point {p:?} is not <timestamp>=<value>"))?;
        let ts: i64 = ts
            .trim()
            .parse()
            .with_context(|| format!("timestamp {ts:?} is not integer unix seconds"))?;
        points.push((ts, v.to_string()));
    }
    with_client(cli, None, |c| async move {
        if a.legacy {
            c.record_legacy(&a.alias, &points).await?;
        } else {
            let body = RecordBody {
                series: vec![RecordSeries {
                    alias: a.alias.clone(),
                    points,
                }],
            };
            c.record(&body).await?;
        }
        if cli.json {
            println!("{}", serde_json::json!({ "ok": true }));
        }
        Ok(())
    })
    .await
}

pub async fn timestamp(cli: &Cli) -> anyhow::Result<()> {
    with_client(cli, None, |c| async move {
        let t = c.timestamp().await?;
        if cli.json {
            println!("{}", serde_json::json!({ "timestamp": t }));
        } else {
            println!("{t}");
        }
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_and_cik_detection() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            split_assignments(&s(&["a=1", "b=x=y"])),
            s(&["a", "1", "b", "x=y"])
        );
        assert_eq!(split_assignments(&s(&["a", "1=2"])), s(&["a", "1=2"]));
        let cik = "a".repeat(40);
        let args = s(&[&cik, "temp"]);
        assert_eq!(take_cik(&args, 1), (Some(cik.clone()), &args[1..]));
        let one = s(&[&cik]);
        assert_eq!(take_cik(&one, 1).0, None);
        let plain = s(&["temp", "hum"]);
        assert_eq!(take_cik(&plain, 1).0, None);
    }
}
