//! The seam for `engine_fetch` commands. The engine clears the alias, records the command,
//! then hands it to a [`CommandHandler`] and writes the answer to `fetch_status`. This version
//! ships [`NotYetSupported`]; the over-the-air update feature plugs its installer in here.

use std::future::Future;
use std::pin::Pin;

/// What handling a command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    /// The text written to `fetch_status` (install output, or why nothing was done).
    pub fetch_status: String,
    /// Whether something was done (false: refused or not supported).
    pub acted: bool,
}

/// Boxed future returned by [`CommandHandler::handle`].
pub type CommandFuture<'a> = Pin<Box<dyn Future<Output = CommandOutcome> + Send + 'a>>;

/// Handles one command read from `engine_fetch` (already cleared on the hub).
pub trait CommandHandler: Send + Sync {
    /// Handles `command` (the raw alias value) and says what to report.
    fn handle<'a>(&'a self, command: &'a str) -> CommandFuture<'a>;
}

/// The original's command shape: `{"install": [{"name": "<APP>.v<VERSION>.tar.gz"}, ...]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallCommand {
    /// Tarball names, in order.
    pub names: Vec<String>,
}

/// Parses an install command; the error says what is wrong with it.
pub fn parse_install_command(command: &str) -> Result<InstallCommand, String> {
    let value: serde_json::Value =
        serde_json::from_str(command).map_err(|e| format!("not JSON: {e}"))?;
    let list = value
        .get("install")
        .and_then(|v| v.as_array())
        .ok_or_else(|| {
            "expected {\"install\": [{\"name\": \"<APP>.v<VERSION>.tar.gz\"}, ...]}".to_string()
        })?;
    let names = list
        .iter()
        .map(|item| {
            item.get("name")
                .and_then(|n| n.as_str())
                .map(str::to_string)
                .ok_or_else(|| format!("install entry without a \"name\" string: {item}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if names.is_empty() {
        return Err("the install list is empty".into());
    }
    Ok(InstallCommand { names })
}

/// Longest `fetch_status` answer [`NotYetSupported`] writes (a hostile command must not make
/// the gateway upload megabytes).
pub const MAX_ANSWER_CHARS: usize = 4096;

/// The handler of this version: understands the command, installs nothing, says so.
#[derive(Debug, Clone, Copy, Default)]
pub struct NotYetSupported;

impl CommandHandler for NotYetSupported {
    fn handle<'a>(&'a self, command: &'a str) -> CommandFuture<'a> {
        Box::pin(async move {
            let fetch_status = match parse_install_command(command) {
                Ok(cmd) => format!(
                    "engine_fetch: install of {} not yet supported in this version of Gateway Engine ({}); nothing was installed",
                    cmd.names.join(", "),
                    crate::VERSION
                ),
                Err(problem) => format!("engine_fetch: command ignored: {problem}"),
            };
            let fetch_status = match fetch_status.char_indices().nth(MAX_ANSWER_CHARS) {
                Some((cut, _)) => format!("{}...", &fetch_status[..cut]),
                None => fetch_status,
            };
            CommandOutcome {
                fetch_status,
                acted: false,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_original_shape_and_rejects_others() {
        let ok = parse_install_command(
            r#"{"install": [{"name": "a.v1.tar.gz"}, {"name": "b.v2.tar.gz"}]}"#,
        )
        .unwrap();
        assert_eq!(ok.names, vec!["a.v1.tar.gz", "b.v2.tar.gz"]);
        for bad in [
            "",
            "reboot",
            "{}",
            r#"{"install": []}"#,
            r#"{"install": [{"nom": 1}]}"#,
            r#"{"install": "x"}"#,
            "[1,2",
        ] {
            assert!(parse_install_command(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn answers_not_yet_supported() {
        let out = NotYetSupported
            .handle(r#"{"install": [{"name": "a.v1.tar.gz"}]}"#)
            .await;
        assert!(!out.acted);
        assert!(
            out.fetch_status.contains("a.v1.tar.gz")
                && out.fetch_status.contains("not yet supported")
        );
        let out = NotYetSupported.handle("garbage").await;
        assert!(out.fetch_status.contains("ignored"));
        // Hostile sizes: a megabyte of names, deep nesting, invalid UTF-8 replaced upstream.
        let big = format!(r#"{{"install": [{{"name": "{}"}}]}}"#, "x".repeat(1 << 20));
        let out = NotYetSupported.handle(&big).await;
        assert!(out.fetch_status.chars().count() <= MAX_ANSWER_CHARS + 3);
        let deep = "[".repeat(100_000);
        let out = NotYetSupported.handle(&deep).await;
        assert!(out.fetch_status.contains("ignored"));
    }
}
