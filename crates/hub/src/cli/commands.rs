//! The operator subcommands, each a request to the operator API plus output formatting.

use std::path::PathBuf;

use anyhow::Context;
use bytes::Bytes;
use clap::Subcommand;
use http::Method;
use http_body_util::{BodyExt, StreamBody};
use serde_json::{json, Value};
use tokio_util::io::ReaderStream;

use super::client::{check, seg, Client};
use super::Remote;

/// `gwe-hub product ...`
#[derive(Debug, Subcommand)]
pub enum ProductAction {
    /// Create a product.
    Create {
        /// Product id (letters, digits, '-', '_').
        id: String,
    },
    /// List products.
    List,
}

/// `gwe-hub device ...`
#[derive(Debug, Subcommand)]
pub enum DeviceAction {
    /// Add an identity that may activate once.
    Add {
        /// Serial number.
        sn: String,
    },
    /// List identities with activation state and last-seen time.
    List,
    /// Enable activation again (revokes the current token).
    Enable {
        /// Serial number.
        sn: String,
    },
}

/// `gwe-hub spec ...`
#[derive(Debug, Subcommand)]
pub enum SpecAction {
    /// Apply a spec file (`resources: [{alias: x, format: string}]`).
    Apply {
        /// The YAML file.
        file: PathBuf,
    },
}

/// `gwe-hub content ...`
#[derive(Debug, Subcommand)]
pub enum ContentAction {
    /// Upload a file (replaces content of the same id).
    Upload {
        /// File to upload (streamed).
        file: PathBuf,
        /// Content id; default: the file name.
        #[arg(long)]
        id: Option<String>,
        /// MIME type.
        #[arg(long = "type", default_value = "application/octet-stream")]
        content_type: String,
        /// Meta string shown in the content info.
        #[arg(long, default_value = "")]
        meta: String,
    },
    /// List content.
    List,
    /// Delete content.
    Delete {
        /// Content id.
        id: String,
    },
}

fn products_path(remote: &Remote) -> String {
    format!("/api/v1/products/{}", seg(&remote.product))
}

async fn call(
    remote: &Remote,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let client = Client::new(remote)?;
    let (status, bytes) = client.json(method, path, body).await?;
    check(status, &bytes)?;
    parse(&bytes)
}

fn parse(bytes: &[u8]) -> anyhow::Result<Value> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes).context("the hub's answer is not JSON")
}

fn print_json(v: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn s(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn rows(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// `product create|list`.
pub async fn product(remote: &Remote, action: ProductAction) -> anyhow::Result<()> {
    let v = match &action {
        ProductAction::Create { id } => {
            call(
                remote,
                Method::POST,
                "/api/v1/products",
                Some(json!({ "product_id": id })),
            )
            .await?
        }
        ProductAction::List => call(remote, Method::GET, "/api/v1/products", None).await?,
    };
    if remote.json {
        return print_json(&v);
    }
    match action {
        ProductAction::Create { id } => println!("created product {id}"),
        ProductAction::List => {
            for p in rows(&v) {
                println!("{}", s(p, "product_id"));
            }
        }
    }
    Ok(())
}

/// `device add|list|enable`.
pub async fn device(remote: &Remote, action: DeviceAction) -> anyhow::Result<()> {
    let base = format!("{}/devices", products_path(remote));
    let v = match &action {
        DeviceAction::Add { sn } => {
            call(remote, Method::POST, &base, Some(json!({ "sn": sn }))).await?
        }
        DeviceAction::List => call(remote, Method::GET, &base, None).await?,
        DeviceAction::Enable { sn } => {
            call(
                remote,
                Method::POST,
                &format!("{base}/{}/enable", seg(sn)),
                None,
            )
            .await?
        }
    };
    if remote.json {
        return print_json(&v);
    }
    match action {
        DeviceAction::Add { sn } => println!("added device {sn} to {}", remote.product),
        DeviceAction::Enable { sn } => println!("device {sn} may activate again"),
        DeviceAction::List => {
            println!(
                "{:<24} {:<8} {:<10} LAST_SEEN",
                "SN", "ENABLED", "ACTIVATED"
            );
            for d in rows(&v) {
                println!(
                    "{:<24} {:<8} {:<10} {}",
                    s(d, "sn"),
                    s(d, "enabled"),
                    s(d, "activated"),
                    s(d, "last_seen")
                );
            }
        }
    }
    Ok(())
}

/// `spec apply FILE`.
pub async fn spec(remote: &Remote, action: SpecAction) -> anyhow::Result<()> {
    let SpecAction::Apply { file } = action;
    let text = tokio::fs::read(&file)
        .await
        .with_context(|| format!("cannot read {}", file.display()))?;
    // Check locally first: a bad file gets a message naming it.
    crate::handlers::operator::resources::parse_spec(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let client = Client::new(remote)?;
    let len = text.len() as u64;
    let body = http_body_util::Full::new(Bytes::from(text))
        .map_err(|never| match never {})
        .boxed_unsync();
    let path = format!("{}/resources", products_path(remote));
    let (status, bytes) = client
        .send(Method::PUT, &path, "application/yaml", Some(len), body)
        .await?;
    check(status, &bytes)?;
    let v = parse(&bytes)?;
    if remote.json {
        return print_json(&v);
    }
    println!(
        "applied {} resources to {}",
        s(&v, "applied"),
        remote.product
    );
    Ok(())
}

fn alias_path(remote: &Remote, sn: &str, alias: &str) -> String {
    format!(
        "{}/devices/{}/aliases/{}",
        products_path(remote),
        seg(sn),
        seg(alias)
    )
}

/// `write SN ALIAS VALUE`.
pub async fn write(remote: &Remote, sn: &str, alias: &str, value: &str) -> anyhow::Result<()> {
    let v = call(
        remote,
        Method::POST,
        &alias_path(remote, sn, alias),
        Some(json!({ "value": value })),
    )
    .await?;
    if remote.json {
        return print_json(&v);
    }
    println!("wrote {sn}/{alias} at {}", s(&v, "ts"));
    Ok(())
}

/// `read SN ALIAS [--history]`.
pub async fn read(
    remote: &Remote,
    sn: &str,
    alias: &str,
    history: Option<u32>,
) -> anyhow::Result<()> {
    let path = format!(
        "{}?limit={}",
        alias_path(remote, sn, alias),
        history.unwrap_or(1)
    );
    let v = call(remote, Method::GET, &path, None).await?;
    if remote.json {
        return print_json(&v);
    }
    let points = rows(&v["points"]);
    if history.is_none() {
        match points.first() {
            Some(p) => println!("{}", s(p, "value")),
            None => anyhow::bail!("{sn}/{alias} has no value"),
        }
        return Ok(());
    }
    for p in points {
        println!("{}\t{}", s(p, "ts"), s(p, "value"));
    }
    Ok(())
}

/// `content upload|list|delete`.
pub async fn content(remote: &Remote, action: ContentAction) -> anyhow::Result<()> {
    let base = format!("{}/content", products_path(remote));
    match action {
        ContentAction::Upload {
            file,
            id,
            content_type,
            meta,
        } => {
            let id = match id {
                Some(id) => id,
                None => file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .map(str::to_string)
                    .context("give --id: the file name is not usable as a content id")?,
            };
            let f = tokio::fs::File::open(&file)
                .await
                .with_context(|| format!("cannot open {}", file.display()))?;
            let len = f.metadata().await?.len();
            let stream = ReaderStream::new(f);
            let body = StreamBody::new(futures_util::StreamExt::map(stream, |r| {
                r.map(hyper::body::Frame::data)
            }))
            .boxed_unsync();
            let meta_q: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("meta", &meta)
                .finish();
            let path = format!("{base}/{}?{meta_q}", seg(&id));
            let client = Client::new(remote)?;
            let (status, bytes) = client
                .send(Method::PUT, &path, &content_type, Some(len), body)
                .await?;
            check(status, &bytes)?;
            let v = parse(&bytes)?;
            if remote.json {
                return print_json(&v);
            }
            println!("uploaded {id} ({} bytes)", s(&v, "size"));
        }
        ContentAction::List => {
            let v = call(remote, Method::GET, &base, None).await?;
            if remote.json {
                return print_json(&v);
            }
            for c in rows(&v) {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    s(c, "id"),
                    s(c, "content_type"),
                    s(c, "size"),
                    s(c, "updated"),
                    s(c, "meta")
                );
            }
        }
        ContentAction::Delete { id } => {
            let v = call(
                remote,
                Method::DELETE,
                &format!("{base}/{}", seg(&id)),
                None,
            )
            .await?;
            if remote.json {
                return print_json(&json!({ "deleted": id, "answer": v }));
            }
            println!("deleted {id}");
        }
    }
    Ok(())
}
