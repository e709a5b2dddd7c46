//! The activation request body: `vendor=<v>&model=<m>&sn=<sn>`, or Murano's `id=<sn>`.

use crate::{Form, WireError};

/// What a device sends to `POST /provision/activate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivateRequest {
    /// Vendor (the Product ID on Murano); `None` when the product comes from the host.
    pub vendor: Option<String>,
    /// Model (the Product ID on Murano); `None` when the product comes from the host.
    pub model: Option<String>,
    /// Serial number, Murano's identity `id`.
    pub sn: String,
}

impl ActivateRequest {
    /// The original form with vendor and model.
    pub fn new(vendor: impl Into<String>, model: impl Into<String>, sn: impl Into<String>) -> Self {
        ActivateRequest {
            vendor: Some(vendor.into()),
            model: Some(model.into()),
            sn: sn.into(),
        }
    }

    /// Murano's form: only the identity, the product comes from the host name.
    pub fn murano(id: impl Into<String>) -> Self {
        ActivateRequest {
            vendor: None,
            model: None,
            sn: id.into(),
        }
    }

    /// Body: `vendor=..&model=..&sn=..` when vendor and model are both non-empty,
    /// else `id=..`.
    pub fn to_form(&self) -> Form {
        let mut form = Form::new();
        match (self.vendor.as_deref(), self.model.as_deref()) {
            (Some(v), Some(m)) if !v.is_empty() && !m.is_empty() => {
                form.push("vendor", v)
                    .push("model", m)
                    .push("sn", self.sn.as_str());
            }
            _ => {
                form.push("id", self.sn.as_str());
            }
        }
        form
    }

    /// Encoded body.
    pub fn encode(&self) -> String {
        self.to_form().encode()
    }

    /// Parses a body. The serial comes from `sn`, else `id`; it must be non-empty.
    /// Empty `vendor` / `model` count as absent.
    pub fn parse(body: &[u8]) -> Result<ActivateRequest, WireError> {
        let form = Form::decode_bytes(body)?;
        let non_empty = |k: &str| form.get(k).filter(|v| !v.is_empty()).map(str::to_string);
        let sn = non_empty("sn")
            .or_else(|| non_empty("id"))
            .ok_or(WireError::MissingField("sn"))?;
        Ok(ActivateRequest {
            vendor: non_empty("vendor"),
            model: non_empty("model"),
            sn,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_both_forms() {
        assert_eq!(
            ActivateRequest::new("v", "m", "00:2F:AC").encode(),
            "vendor=v&model=m&sn=00%3A2F%3AAC"
        );
        assert_eq!(ActivateRequest::murano("abc").encode(), "id=abc");
        let half = ActivateRequest {
            vendor: Some("v".into()),
            model: Some(String::new()),
            sn: "s".into(),
        };
        assert_eq!(half.encode(), "id=s");
    }

    #[test]
    fn parses_both_forms_and_round_trips() {
        for req in [
            ActivateRequest::new("p 1", "p&2", "sn=1"),
            ActivateRequest::murano("ünï"),
        ] {
            assert_eq!(
                ActivateRequest::parse(req.encode().as_bytes()).unwrap(),
                req
            );
        }
        let r = ActivateRequest::parse(b"vendor=&model=&id=x").unwrap();
        assert_eq!(r, ActivateRequest::murano("x"));
        // sn wins over id.
        assert_eq!(ActivateRequest::parse(b"id=a&sn=b").unwrap().sn, "b");
    }

    #[test]
    fn rejects_missing_or_malformed() {
        assert_eq!(
            ActivateRequest::parse(b"vendor=v&model=m").unwrap_err(),
            WireError::MissingField("sn")
        );
        assert_eq!(
            ActivateRequest::parse(b"sn=").unwrap_err(),
            WireError::MissingField("sn")
        );
        assert!(ActivateRequest::parse(b"sn=%").is_err());
        assert!(ActivateRequest::parse(b"sn=\xff").is_err());
        assert!(ActivateRequest::parse(b"").is_err());
    }
}
