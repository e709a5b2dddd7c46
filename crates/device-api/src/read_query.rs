//! The query of read, hybrid write/read and long poll: bare alias names, `?a1&a2`.

use crate::form::encode_component;
use crate::WireError;

/// Formats `a1&a2` (each name form-encoded). Empty names are skipped.
pub fn format<S: AsRef<str>>(aliases: &[S]) -> String {
    let mut out = String::new();
    for alias in aliases.iter().map(AsRef::as_ref).filter(|a| !a.is_empty()) {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&encode_component(alias));
    }
    out
}

/// Parses a read query into alias names, in order, duplicates removed (reading an
/// alias twice returns it once). A segment written `a=` or `a=x` names `a` (some
/// clients send `?a=`). Malformed escapes or bad UTF-8 are errors.
pub fn parse(query: &str) -> Result<Vec<String>, WireError> {
    let form = crate::Form::decode(query)?;
    let mut out: Vec<String> = Vec::with_capacity(form.len());
    for (name, _) in form.iter() {
        if !name.is_empty() && !out.iter().any(|a| a == name) {
            out.push(name.to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_bare_names() {
        let q = format(&["engine_fetch", "update interval", "a&b", ""]);
        assert_eq!(q, "engine_fetch&update+interval&a%26b");
        assert_eq!(
            parse(&q).unwrap(),
            vec!["engine_fetch", "update interval", "a&b"]
        );
    }

    #[test]
    fn parse_tolerates_values_and_dedups() {
        assert_eq!(parse("a=&b=1&a&&").unwrap(), vec!["a", "b"]);
        assert!(parse("").unwrap().is_empty());
        assert!(parse("=x").unwrap().is_empty());
    }

    #[test]
    fn parse_rejects_malformed() {
        assert!(parse("a%2").is_err());
        assert!(parse("%fe%ff").is_err());
    }

    #[test]
    fn parse_many_names() {
        let q = (0..10_000)
            .map(|i| format!("a{i}"))
            .collect::<Vec<_>>()
            .join("&");
        assert_eq!(parse(&q).unwrap().len(), 10_000);
    }
}
