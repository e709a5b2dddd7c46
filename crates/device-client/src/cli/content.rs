//! `gdc content list|info|download`.

use std::path::PathBuf;

use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};

use super::args::ContentCommand;
use super::{resolve, Cli};
use crate::DownloadProgress;

pub async fn run(cli: &Cli, command: ContentCommand) -> anyhow::Result<()> {
    let client = resolve::client(cli, None)?;
    let result = run_with(cli, &client, command).await;
    client.flush_audit(std::time::Duration::from_secs(5));
    result
}

async fn run_with(
    cli: &Cli,
    client: &crate::DeviceClient,
    command: ContentCommand,
) -> anyhow::Result<()> {
    match command {
        ContentCommand::List => {
            let ids = client.list_content().await?;
            if cli.json {
                println!("{}", serde_json::json!(ids));
            } else {
                ids.iter().for_each(|id| println!("{id}"));
            }
        }
        ContentCommand::Info { id } => {
            let info = client.content_info(&id).await?;
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({"id": id, "content_type": info.content_type, "size": info.size,
                        "updated": info.updated, "meta": info.meta})
                );
            } else {
                println!("{}", info.format());
            }
        }
        ContentCommand::Download {
            id,
            output,
            resume,
            quiet,
        } => {
            let to_stdout = output.as_deref().is_some_and(|p| p.as_os_str() == "-");
            let bar = if quiet || cli.json {
                ProgressBar::hidden()
            } else {
                ProgressBar::new(0)
            };
            bar.set_style(
                ProgressStyle::with_template(
                    "{bytes}/{total_bytes} {wide_bar} {bytes_per_sec} {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let mut on_progress = |p: DownloadProgress| {
                if let Some(t) = p.total {
                    bar.set_length(t);
                }
                bar.set_position(p.downloaded);
            };
            let summary = if to_stdout {
                if resume {
                    bail!("--resume needs a file, not stdout");
                }
                let mut out = tokio::io::stdout();
                client
                    .download_to(&id, &mut out, 0, Some(&mut on_progress))
                    .await?
            } else {
                let path = match output {
                    Some(p) => p,
                    None => default_output(&id)?,
                };
                let s = client
                    .download_to_file(&id, &path, resume, Some(&mut on_progress))
                    .await?;
                if !cli.json && quiet {
                    // Nothing: scripts asked for silence.
                } else if !cli.json {
                    bar.finish_and_clear();
                    eprintln!("{}: {} bytes", path.display(), s.bytes);
                }
                s
            };
            bar.finish_and_clear();
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({"id": id, "bytes": summary.bytes, "total": summary.total,
                        "content_type": summary.content_type, "requests": summary.requests, "resumed": summary.resumed})
                );
            }
        }
    }
    Ok(())
}

/// The last path component of the id, refusing anything that could escape the
/// current directory.
fn default_output(id: &str) -> anyhow::Result<PathBuf> {
    let name = id.rsplit('/').next().unwrap_or("");
    if name.is_empty() || name == "." || name == ".." {
        bail!("cannot derive a file name from content id {id:?}; pass --output");
    }
    Ok(PathBuf::from(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names() {
        assert_eq!(
            default_output("app.v1.tar.gz").unwrap(),
            PathBuf::from("app.v1.tar.gz")
        );
        assert_eq!(default_output("a/b/c.tgz").unwrap(), PathBuf::from("c.tgz"));
        assert!(default_output("..").is_err());
        assert!(default_output("x/").is_err());
    }
}
