//! `application/x-www-form-urlencoded` bodies and query strings.
//!
//! Encoding follows HTML forms (`form_urlencoded`): space becomes `+`, everything but
//! `A-Za-z0-9*-._` is percent-encoded, so values may hold `&`, `=`, `%`, newlines,
//! JSON and any UTF-8. Decoding is strict where `form_urlencoded::parse` is lossy: a
//! `%` without two hex digits or bytes that are not UTF-8 are errors (a hub answers
//! 400), order and duplicates are kept, empty segments (`a=1&&b=2`) are skipped and a
//! segment without `=` is a name with an empty value.

use crate::WireError;

/// An ordered list of name/value pairs, duplicates allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// An empty form.
    pub fn new() -> Self {
        Form::default()
    }

    /// Strictly decodes a body or query string; see the module docs.
    pub fn decode(input: &str) -> Result<Form, WireError> {
        Form::decode_bytes(input.as_bytes())
    }

    /// Like [`Form::decode`] for raw body bytes (the UTF-8 check happens after
    /// percent-decoding, per name and value).
    pub fn decode_bytes(input: &[u8]) -> Result<Form, WireError> {
        let mut pairs = Vec::new();
        let mut offset = 0usize;
        for segment in input.split(|&b| b == b'&') {
            let start = offset;
            offset += segment.len() + 1;
            if segment.is_empty() {
                continue;
            }
            let (name, value, value_at) = match segment.iter().position(|&b| b == b'=') {
                Some(i) => (&segment[..i], &segment[i + 1..], start + i + 1),
                None => (segment, &b""[..], start + segment.len()),
            };
            let name = decode_component(name, start, "name")?;
            let value = decode_component(value, value_at, "value")?;
            pairs.push((name, value));
        }
        Ok(Form { pairs })
    }

    /// Encodes the pairs in order (`a=1&b=x+y`).
    pub fn encode(&self) -> String {
        encode_pairs(self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// Appends a pair.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.pairs.push((name.into(), value.into()));
        self
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// All pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The pairs, consuming the form.
    pub fn into_pairs(self) -> Vec<(String, String)> {
        self.pairs
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Form {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Form {
            pairs: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

/// Encodes pairs without building a [`Form`] first.
pub fn encode_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    ser.finish()
}

/// Encodes one name or value (`+` for space).
pub fn encode_component(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Lenient decoding for places where a wrong byte must not fail anything (e.g. the
/// audit log or classification): invalid escapes are kept, bad UTF-8 is replaced.
pub fn decode_lossy(input: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(input.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Strictly decodes one component; `base` is its byte offset for error messages.
fn decode_component(raw: &[u8], base: usize, what: &'static str) -> Result<String, WireError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = raw.get(i + 1).and_then(|&b| hex(b));
                let lo = raw.get(i + 2).and_then(|&b| hex(b));
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                    _ => return Err(WireError::BadPercentEscape { offset: base + i }),
                }
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| WireError::BadUtf8 { what })
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(pairs: &[(&str, &str)]) {
        let form: Form = pairs.iter().copied().collect();
        let encoded = form.encode();
        assert_eq!(Form::decode(&encoded).unwrap(), form, "encoded: {encoded}");
    }

    #[test]
    fn encodes_space_as_plus_and_escapes_reserved() {
        let form: Form = [("a b", "x y&z=1%"), ("n", "line1\nline2")]
            .into_iter()
            .collect();
        assert_eq!(form.encode(), "a+b=x+y%26z%3D1%25&n=line1%0Aline2");
    }

    #[test]
    fn round_trips_hostile_values() {
        round_trip(&[("a", "")]);
        round_trip(&[(
            "json",
            r#"{"install": [{"name": "app.v1.tar.gz"}], "q": "a&b=c"}"#,
        )]);
        round_trip(&[("k", "+ plus % percent \r\n crlf \t tab")]);
        round_trip(&[("ünï", "値 ✓ 🚀"), ("a", "1"), ("a", "2")]);
        round_trip(&[("", "empty name")]);
        round_trip(&[]);
    }

    #[test]
    fn keeps_order_and_duplicates() {
        let f = Form::decode("b=2&a=1&b=3").unwrap();
        assert_eq!(
            f.iter().collect::<Vec<_>>(),
            vec![("b", "2"), ("a", "1"), ("b", "3")]
        );
        assert_eq!(f.get("b"), Some("2"));
        assert_eq!(f.get_all("b").collect::<Vec<_>>(), vec!["2", "3"]);
        assert_eq!(f.get("zz"), None);
    }

    #[test]
    fn bare_names_empty_segments_and_extra_equals() {
        let f = Form::decode("&a&&b=&c=x=y&").unwrap();
        assert_eq!(
            f.iter().collect::<Vec<_>>(),
            vec![("a", ""), ("b", ""), ("c", "x=y")]
        );
        assert!(Form::decode("").unwrap().is_empty());
    }

    #[test]
    fn decodes_plus_and_mixed_case_hex() {
        let f = Form::decode("v=a+b%2bc%2Fd%e2%9C%93").unwrap();
        assert_eq!(f.get("v"), Some("a b+c/d✓"));
    }

    #[test]
    fn rejects_malformed_percent() {
        for bad in ["a=%", "a=%4", "a=%zz", "a=%4g", "%=1", "a=1&b=%%41"] {
            let err = Form::decode(bad).unwrap_err();
            assert!(
                matches!(err, WireError::BadPercentEscape { .. }),
                "{bad}: {err:?}"
            );
        }
        assert_eq!(
            Form::decode("ab=1&c=x%").unwrap_err(),
            WireError::BadPercentEscape { offset: 8 }
        );
    }

    #[test]
    fn rejects_bad_utf8() {
        assert_eq!(
            Form::decode("a=%ff").unwrap_err(),
            WireError::BadUtf8 { what: "value" }
        );
        assert_eq!(
            Form::decode("%c3=1").unwrap_err(),
            WireError::BadUtf8 { what: "name" }
        );
        assert!(Form::decode_bytes(b"a=\xff\xfe").is_err());
        // Overlong encoding of '/'.
        assert!(Form::decode("a=%c0%af").is_err());
    }

    #[test]
    fn oversized_input_is_linear_and_exact() {
        let value = "x&=% \n".repeat(200_000);
        let encoded = encode_pairs([("big", value.as_str())]);
        let f = Form::decode(&encoded).unwrap();
        assert_eq!(f.get("big"), Some(value.as_str()));
        let many = "a=1&".repeat(100_000);
        assert_eq!(Form::decode(&many).unwrap().len(), 100_000);
        let ampersands = "&".repeat(1_000_000);
        assert!(Form::decode(&ampersands).unwrap().is_empty());
    }

    #[test]
    fn random_hostile_round_trips() {
        // Deterministic xorshift so failures reproduce without a proptest dependency.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet: Vec<char> = "&=%+ \n\r\t\0;#?/\\\"'{}[]:,aZ9~é値🚀\u{feff}\u{202e}"
            .chars()
            .collect();
        for _ in 0..2000 {
            let mut pairs = Vec::new();
            for _ in 0..(next() % 4) {
                let mut word = || -> String {
                    (0..(next() % 12))
                        .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                        .collect()
                };
                let (k, v) = (word(), word());
                pairs.push((k, v));
            }
            let form: Form = pairs.into_iter().collect();
            let encoded = form.encode();
            assert!(encoded.is_ascii(), "encoding is ASCII: {encoded}");
            assert_eq!(Form::decode(&encoded).unwrap(), form, "{encoded}");
        }
    }

    #[test]
    fn random_garbage_never_panics() {
        let mut state: u64 = 42;
        for _ in 0..5000 {
            let len = (state % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    const ALPHA: &[u8] = b"%&=+aF0\xff\xc3\x80";
                    ALPHA[(state >> 33) as usize % ALPHA.len()]
                })
                .collect();
            let _ = Form::decode_bytes(&bytes);
            let _ = crate::read_query::parse(&String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn lossy_decoding_never_fails() {
        let pairs = decode_lossy("a=%ff&b=%zz&c");
        assert_eq!(pairs.len(), 3);
        assert_eq!(pairs[1], ("b".to_string(), "%zz".to_string()));
    }

    #[test]
    fn encode_component_matches_pairs() {
        assert_eq!(encode_component("a b&c"), "a+b%26c");
    }
}
