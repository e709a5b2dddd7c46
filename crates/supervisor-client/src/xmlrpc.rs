//! XML-RPC values and their encoding, as supervisord 4.x speaks them.
//!
//! Encoding writes byte-for-byte what Python's `xmlrpc.client.dumps` writes
//! (supervisord builds its responses with it), into one caller-owned `String`.
//! Decoding accepts everything Python's expat-based unmarshaller accepts for
//! these documents (untyped values, `i1`..`i8`, namespaced `ex:nil`, CDATA,
//! character references, comments) and refuses hostile input: DOCTYPE (so no
//! entity expansion), nesting deeper than [`MAX_DEPTH`], invalid UTF-8.

use std::borrow::Cow;
use std::fmt::Write as _;

/// One XML-RPC value. Structs keep their member order, as supervisorctl prints them.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `<int>` / `<i4>`.
    Int(i64),
    /// `<boolean>`.
    Bool(bool),
    /// `<string>` or an untyped value (also `<dateTime.iso8601>`, kept as its text).
    String(String),
    /// `<double>`.
    Double(f64),
    /// `<array>`.
    Array(Vec<Value>),
    /// `<struct>`, members in document order.
    Struct(Vec<(String, Value)>),
    /// `<base64>`, decoded.
    Base64(Vec<u8>),
    /// `<nil/>` (an extension supervisord does not send, accepted on input).
    Nil,
}

impl Value {
    /// The integer, if this is an `Int` (or a `Bool`, which Python treats as an int).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    /// The text, if this is a `String`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is a `Bool` (or an `Int`, truthy like Python).
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Int(i) => Some(*i != 0),
            _ => None,
        }
    }

    /// The elements, if this is an `Array`.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The members, if this is a `Struct`.
    pub fn as_struct(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Struct(m) => Some(m),
            _ => None,
        }
    }

    /// The member `name` of a `Struct` (first match), else `None`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.as_struct()?
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// A short name of the variant, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Bool(_) => "boolean",
            Value::String(_) => "string",
            Value::Double(_) => "double",
            Value::Array(_) => "array",
            Value::Struct(_) => "struct",
            Value::Base64(_) => "base64",
            Value::Nil => "nil",
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i64::from(i))
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<f64> for Value {
    fn from(d: f64) -> Self {
        Value::Double(d)
    }
}
impl From<Vec<Value>> for Value {
    fn from(a: Vec<Value>) -> Self {
        Value::Array(a)
    }
}

/// A parsed `<methodCall>`.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodCall {
    /// `<methodName>`, e.g. `supervisor.getAllProcessInfo`.
    pub method: String,
    /// The `<param>` values in order.
    pub params: Vec<Value>,
}

/// An XML-RPC fault: what the server answered instead of a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("<Fault {code}: '{message}'>")]
pub struct Fault {
    /// `faultCode`; supervisord's codes are in [`crate::FaultCode`].
    pub code: i64,
    /// `faultString`, e.g. `BAD_NAME: foo`.
    pub message: String,
}

/// Nesting limit for values (arrays/structs inside each other). supervisord's
/// own documents nest 3 deep; this only stops stack exhaustion by hostile input.
pub const MAX_DEPTH: usize = 64;

/// Why a document could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlRpcError {
    /// The body is not UTF-8 (the only encoding supervisord and Python send).
    #[error("XML-RPC body is not valid UTF-8 (at byte {0})")]
    NotUtf8(usize),
    /// The document ended inside an element or before the root element.
    #[error("XML-RPC body ends unexpectedly (truncated document)")]
    UnexpectedEof,
    /// Not well-formed XML.
    #[error("malformed XML at byte {pos}: {what}")]
    Syntax {
        /// Byte offset into the body.
        pos: usize,
        /// What was wrong.
        what: String,
    },
    /// A `<!DOCTYPE>`: refused, so no entity can be declared or expanded.
    #[error("XML-RPC body contains a DOCTYPE declaration at byte {0} (refused)")]
    Doctype(usize),
    /// Values nested deeper than [`MAX_DEPTH`].
    #[error("XML-RPC values nested deeper than {MAX_DEPTH} levels at byte {0}")]
    TooDeep(usize),
    /// Well-formed XML that is not the expected XML-RPC structure.
    #[error("unexpected {found} at byte {pos}, expected {expected}")]
    Unexpected {
        /// Byte offset into the body.
        pos: usize,
        /// What was found (`<tag>`, `</tag>`, text, end of document).
        found: String,
        /// What the grammar wanted there.
        expected: &'static str,
    },
    /// A scalar whose text does not parse, e.g. `<int>x</int>` or `<boolean>2</boolean>`.
    #[error("bad <{kind}> value {text:?}")]
    BadScalar {
        /// The element name.
        kind: &'static str,
        /// Its text (first 64 characters).
        text: String,
    },
    /// A `<fault>` without an int `faultCode` and a string `faultString`.
    #[error("malformed <fault>: {0}")]
    BadFault(String),
    /// A `<methodResponse>` whose `<params>` does not hold exactly one value.
    #[error("methodResponse holds {0} params, expected exactly 1")]
    ResponseArity(usize),
}

// ---------------------------------------------------------------- encoding

const XML_HEADER: &str = "<?xml version='1.0'?>\n";

/// Appends `s` XML-escaped the way Python's xmlrpc does (`&`, `<`, `>`), plus
/// `\r` as `&#13;` so that a carriage return survives the reader's newline
/// normalisation.
pub fn escape_into(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'\r' => "&#13;",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        out.push_str(rep);
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// Appends one `<value>...</value>` (with Python's line breaks) to `out`.
pub fn encode_value(out: &mut String, v: &Value) {
    match v {
        Value::Int(i) => {
            out.push_str("<value><int>");
            push_int(out, *i);
            out.push_str("</int></value>\n");
        }
        Value::Bool(b) => {
            out.push_str(if *b {
                "<value><boolean>1</boolean></value>\n"
            } else {
                "<value><boolean>0</boolean></value>\n"
            });
        }
        Value::String(s) => {
            out.push_str("<value><string>");
            escape_into(out, s);
            out.push_str("</string></value>\n");
        }
        Value::Double(d) => {
            out.push_str("<value><double>");
            write_double(out, *d);
            out.push_str("</double></value>\n");
        }
        Value::Array(items) => {
            out.push_str("<value><array><data>\n");
            for item in items {
                encode_value(out, item);
            }
            out.push_str("</data></array></value>\n");
        }
        Value::Struct(members) => {
            out.push_str("<value><struct>\n");
            for (name, value) in members {
                out.push_str("<member>\n<name>");
                escape_into(out, name);
                out.push_str("</name>\n");
                encode_value(out, value);
                out.push_str("</member>\n");
            }
            out.push_str("</struct></value>\n");
        }
        Value::Base64(bytes) => {
            out.push_str("<value><base64>\n");
            base64_encode_lines(out, bytes);
            out.push_str("</base64></value>\n");
        }
        Value::Nil => out.push_str("<value><nil/></value>"),
    }
}

/// Appends the decimal form of `i` without going through `fmt`.
fn push_int(out: &mut String, i: i64) {
    let mut buf = [0u8; 20];
    let mut pos = buf.len();
    let mut n = i.unsigned_abs();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        out.push('-');
    }
    // The buffer holds ASCII digits only.
    out.push_str(std::str::from_utf8(&buf[pos..]).unwrap_or("0"));
}

/// Python's `repr(float)` spelling where it matters to a reader: `inf`, `-inf`,
/// `nan`, and always a `.` or exponent so the text reads back as a float.
fn write_double(out: &mut String, d: f64) {
    if d.is_nan() {
        out.push_str("nan");
    } else if d.is_infinite() {
        out.push_str(if d > 0.0 { "inf" } else { "-inf" });
    } else {
        // `{:?}` gives "1.0", "1e300", "1.5e-7": all parse in Python's float().
        let _ = write!(out, "{d:?}");
    }
}

/// Appends a complete `<methodResponse>` carrying `v` (as supervisord sends it).
pub fn encode_response(out: &mut String, v: &Value) {
    out.push_str(XML_HEADER);
    out.push_str("<methodResponse>\n<params>\n<param>\n");
    encode_value(out, v);
    out.push_str("</param>\n</params>\n</methodResponse>\n");
}

/// Appends a complete `<methodResponse>` carrying a `<fault>`.
pub fn encode_fault(out: &mut String, code: i64, msg: &str) {
    out.push_str(XML_HEADER);
    out.push_str("<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n");
    let _ = writeln!(out, "<value><int>{code}</int></value>");
    out.push_str("</member>\n<member>\n<name>faultString</name>\n<value><string>");
    escape_into(out, msg);
    out.push_str("</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n");
}

/// A complete `<methodCall>` document, as Python's `xmlrpc.client` sends it.
pub fn encode_call(method: &str, params: &[Value]) -> String {
    let mut out = String::with_capacity(128 + 64 * params.len());
    encode_call_into(&mut out, method, params);
    out
}

/// [`encode_call`] into a caller-owned buffer (appends).
pub fn encode_call_into(out: &mut String, method: &str, params: &[Value]) {
    out.push_str(XML_HEADER);
    out.push_str("<methodCall>\n<methodName>");
    escape_into(out, method);
    out.push_str("</methodName>\n<params>\n");
    for p in params {
        out.push_str("<param>\n");
        encode_value(out, p);
        out.push_str("</param>\n");
    }
    out.push_str("</params>\n</methodCall>\n");
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 in lines of 76 characters, each ending in `\n` (`base64.encodebytes`).
fn base64_encode_lines(out: &mut String, bytes: &[u8]) {
    for line in bytes.chunks(57) {
        for chunk in line.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            let sextets = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
            for (i, s) in sextets.iter().enumerate() {
                if i <= chunk.len() {
                    out.push(char::from(B64[*s as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out.push('\n');
    }
}

/// Lenient base64 like `binascii.a2b_base64`: characters outside the alphabet
/// (line breaks, spaces) are skipped; decoding stops at padding.
fn base64_decode(text: &str) -> Result<Vec<u8>, XmlRpcError> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut seen = 0usize;
    for &c in text.as_bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => continue,
        };
        seen += 1;
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if seen % 4 == 1 {
        return Err(XmlRpcError::BadScalar {
            kind: "base64",
            text: snippet(text),
        });
    }
    Ok(out)
}

fn snippet(s: &str) -> String {
    s.chars().take(64).collect()
}

// ---------------------------------------------------------------- decoding

/// Parses a `<methodCall>` request body (server side).
pub fn parse_call(body: &[u8]) -> Result<MethodCall, XmlRpcError> {
    let mut p = Parser::new(body)?;
    p.expect_start("methodCall", "<methodCall>")?;
    p.expect_start("methodName", "<methodName>")?;
    let method = p.text_until_end("methodName")?.into_owned();
    let mut params = Vec::new();
    match p.next_struct_token("<params> or </methodCall>")? {
        Tok::Start("params") => {
            p.read_params(&mut params)?;
            p.expect_end("methodCall")?;
        }
        Tok::Empty("params") => p.expect_end("methodCall")?,
        Tok::End("methodCall") => {}
        other => return Err(p.unexpected(other, "<params> or </methodCall>")),
    }
    p.finish()?;
    Ok(MethodCall {
        method: method.trim().to_owned(),
        params,
    })
}

/// Parses a `<methodResponse>` body (client side): `Ok(Ok(value))` for a
/// result, `Ok(Err(fault))` for a `<fault>`, `Err` if the document is bad.
pub fn parse_response(body: &[u8]) -> Result<Result<Value, Fault>, XmlRpcError> {
    let mut p = Parser::new(body)?;
    p.expect_start("methodResponse", "<methodResponse>")?;
    let result = match p.next_struct_token("<params> or <fault>")? {
        Tok::Start("params") => {
            let mut params = Vec::with_capacity(1);
            p.read_params(&mut params)?;
            if params.len() != 1 {
                return Err(XmlRpcError::ResponseArity(params.len()));
            }
            Ok(params.pop().unwrap_or(Value::Nil))
        }
        Tok::Start("fault") => {
            let v = p.read_value_after_start("<value> in <fault>")?;
            p.expect_end("fault")?;
            Err(fault_from_value(&v)?)
        }
        other => return Err(p.unexpected(other, "<params> or <fault>")),
    };
    p.expect_end("methodResponse")?;
    p.finish()?;
    Ok(result)
}

fn fault_from_value(v: &Value) -> Result<Fault, XmlRpcError> {
    let code = v
        .get("faultCode")
        .and_then(Value::as_int)
        .ok_or_else(|| XmlRpcError::BadFault("no int faultCode".into()))?;
    let message = match v.get("faultString") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(XmlRpcError::BadFault("no string faultString".into())),
    };
    Ok(Fault { code, message })
}

/// One XML token. Names are local names (a `prefix:` is dropped, as Python does).
#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    Start(&'a str),
    End(&'a str),
    Empty(&'a str),
    Text(Cow<'a, str>),
    Eof,
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    /// Start position of the last token, for error messages.
    tok_pos: usize,
    /// Open elements, to check that end tags match.
    open: Vec<&'a str>,
    depth: usize,
    seen_root: bool,
}

impl<'a> Parser<'a> {
    fn new(body: &'a [u8]) -> Result<Self, XmlRpcError> {
        let src = std::str::from_utf8(body).map_err(|e| XmlRpcError::NotUtf8(e.valid_up_to()))?;
        let src = src.strip_prefix('\u{feff}').unwrap_or(src);
        Ok(Parser {
            src,
            pos: 0,
            tok_pos: 0,
            open: Vec::with_capacity(16),
            depth: 0,
            seen_root: false,
        })
    }

    fn syntax(&self, pos: usize, what: impl Into<String>) -> XmlRpcError {
        XmlRpcError::Syntax {
            pos,
            what: what.into(),
        }
    }

    fn unexpected(&self, tok: Tok<'_>, expected: &'static str) -> XmlRpcError {
        let found = match tok {
            Tok::Start(n) => format!("<{n}>"),
            Tok::End(n) => format!("</{n}>"),
            Tok::Empty(n) => format!("<{n}/>"),
            Tok::Text(t) => format!("text {:?}", snippet(&t)),
            Tok::Eof => return XmlRpcError::UnexpectedEof,
        };
        XmlRpcError::Unexpected {
            pos: self.tok_pos,
            found,
            expected,
        }
    }

    /// The next token; comments, processing instructions and the XML
    /// declaration are skipped; a DOCTYPE is an error.
    fn next(&mut self) -> Result<Tok<'a>, XmlRpcError> {
        loop {
            self.tok_pos = self.pos;
            let rest = &self.src[self.pos..];
            if rest.is_empty() {
                if !self.open.is_empty() || !self.seen_root {
                    return Err(XmlRpcError::UnexpectedEof);
                }
                return Ok(Tok::Eof);
            }
            if !rest.starts_with('<') {
                let end = memchr::memchr(b'<', rest.as_bytes()).unwrap_or(rest.len());
                let raw = &rest[..end];
                self.pos += end;
                if self.open.is_empty() {
                    if raw.bytes().all(is_xml_space) {
                        continue;
                    }
                    return Err(self.syntax(self.tok_pos, "text outside the root element"));
                }
                return Ok(Tok::Text(self.decode_text(raw, self.tok_pos)?));
            }
            match rest.as_bytes().get(1) {
                Some(b'!') => {
                    if let Some(r) = rest.strip_prefix("<!--") {
                        let end = r.find("-->").ok_or(XmlRpcError::UnexpectedEof)?;
                        self.pos += 4 + end + 3;
                        continue;
                    }
                    if let Some(r) = rest.strip_prefix("<![CDATA[") {
                        if self.open.is_empty() {
                            return Err(self.syntax(self.tok_pos, "CDATA outside the root element"));
                        }
                        let end = r.find("]]>").ok_or(XmlRpcError::UnexpectedEof)?;
                        self.pos += 9 + end + 3;
                        return Ok(Tok::Text(normalize_newlines(&r[..end])));
                    }
                    if rest.starts_with("<!DOCTYPE") || rest.starts_with("<!doctype") {
                        return Err(XmlRpcError::Doctype(self.tok_pos));
                    }
                    return Err(self.syntax(self.tok_pos, "unsupported markup declaration"));
                }
                Some(b'?') => {
                    let end = rest[2..].find("?>").ok_or(XmlRpcError::UnexpectedEof)?;
                    self.pos += 2 + end + 2;
                    continue;
                }
                _ => {}
            }
            if let Some(r) = rest.strip_prefix("</") {
                let name_len = name_len(r);
                if name_len == 0 {
                    return Err(self.syntax(self.tok_pos, "end tag without a name"));
                }
                let name = &r[..name_len];
                let after = r[name_len..].trim_start_matches(|c: char| is_xml_space(c as u8));
                if after.is_empty() {
                    return Err(XmlRpcError::UnexpectedEof);
                }
                if !after.starts_with('>') {
                    return Err(self.syntax(self.tok_pos, "junk in end tag"));
                }
                self.pos = self.src.len() - after.len() + 1;
                match self.open.pop() {
                    Some(open) if open == name => {}
                    _ => {
                        return Err(
                            self.syntax(self.tok_pos, format!("mismatched end tag </{name}>"))
                        )
                    }
                }
                return Ok(Tok::End(local(name)));
            }
            // Start or empty tag.
            let r = &rest[1..];
            let name_len = name_len(r);
            if name_len == 0 {
                return Err(self.syntax(self.tok_pos, "'<' not followed by a name"));
            }
            let name = &r[..name_len];
            let (consumed, empty) = self.skip_attributes(&r[name_len..])?;
            self.pos += 1 + name_len + consumed;
            if self.open.is_empty() {
                if self.seen_root {
                    return Err(self.syntax(self.tok_pos, "second root element"));
                }
                self.seen_root = true;
            }
            if empty {
                return Ok(Tok::Empty(local(name)));
            }
            self.open.push(name);
            return Ok(Tok::Start(local(name)));
        }
    }

    /// Skips the attributes of a start tag; returns the bytes consumed
    /// (including `>` or `/>`) and whether the tag was empty.
    fn skip_attributes(&self, s: &str) -> Result<(usize, bool), XmlRpcError> {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'>' => return Ok((i + 1, false)),
                b'/' => {
                    return match b.get(i + 1) {
                        Some(b'>') => Ok((i + 2, true)),
                        None => Err(XmlRpcError::UnexpectedEof),
                        _ => Err(self.syntax(self.tok_pos, "'/' inside a tag")),
                    }
                }
                q @ (b'"' | b'\'') => {
                    let close = memchr::memchr(q, &b[i + 1..]).ok_or(XmlRpcError::UnexpectedEof)?;
                    if s[i + 1..i + 1 + close].contains('<') {
                        return Err(self.syntax(self.tok_pos, "'<' in an attribute value"));
                    }
                    i += close + 2;
                }
                b'<' => return Err(self.syntax(self.tok_pos, "'<' inside a tag")),
                _ => i += 1,
            }
        }
        Err(XmlRpcError::UnexpectedEof)
    }

    /// Decodes entity and character references and normalises line ends.
    fn decode_text(&self, raw: &'a str, at: usize) -> Result<Cow<'a, str>, XmlRpcError> {
        if memchr::memchr2(b'&', b'\r', raw.as_bytes()).is_none() {
            return Ok(Cow::Borrowed(raw));
        }
        let raw = normalize_newlines(raw);
        if !raw.contains('&') {
            return Ok(raw);
        }
        let mut out = String::with_capacity(raw.len());
        let mut rest: &str = &raw;
        while let Some(amp) = rest.find('&') {
            out.push_str(&rest[..amp]);
            let after = &rest[amp + 1..];
            let semi = after
                .find(';')
                .filter(|&n| n <= 12)
                .ok_or_else(|| self.syntax(at, "'&' not starting a reference"))?;
            let name = &after[..semi];
            let ch = match name {
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let code = if let Some(hex) =
                        name.strip_prefix("#x").or_else(|| name.strip_prefix("#X"))
                    {
                        u32::from_str_radix(hex, 16).ok()
                    } else if let Some(dec) = name.strip_prefix('#') {
                        dec.parse::<u32>().ok()
                    } else {
                        return Err(self.syntax(at, format!("unknown entity &{name};")));
                    };
                    code.filter(|&c| c != 0)
                        .and_then(char::from_u32)
                        .ok_or_else(|| {
                            self.syntax(at, format!("bad character reference &{name};"))
                        })?
                }
            };
            out.push(ch);
            rest = &after[semi + 1..];
        }
        out.push_str(rest);
        Ok(Cow::Owned(out))
    }

    /// Next token that is not whitespace-only text (structure positions).
    fn next_struct_token(&mut self, expected: &'static str) -> Result<Tok<'a>, XmlRpcError> {
        loop {
            match self.next()? {
                Tok::Text(t) if t.bytes().all(is_xml_space) => continue,
                Tok::Text(t) => return Err(self.unexpected(Tok::Text(t), expected)),
                tok => return Ok(tok),
            }
        }
    }

    fn expect_start(&mut self, name: &str, expected: &'static str) -> Result<(), XmlRpcError> {
        match self.next_struct_token(expected)? {
            Tok::Start(n) if n == name => Ok(()),
            other => Err(self.unexpected(other, expected)),
        }
    }

    fn expect_end(&mut self, name: &'static str) -> Result<(), XmlRpcError> {
        match self.next_struct_token("an end tag")? {
            Tok::End(n) if n == name => Ok(()),
            other => Err(self.unexpected(other, "an end tag")),
        }
    }

    /// After the document element closed: only whitespace, comments, PIs.
    fn finish(&mut self) -> Result<(), XmlRpcError> {
        match self.next()? {
            Tok::Eof => Ok(()),
            other => Err(self.unexpected(other, "end of document")),
        }
    }

    /// Text content up to `</name>` (text and CDATA concatenated).
    fn text_until_end(&mut self, name: &str) -> Result<Cow<'a, str>, XmlRpcError> {
        let mut acc: Option<Cow<'a, str>> = None;
        loop {
            match self.next()? {
                Tok::Text(t) => match &mut acc {
                    None => acc = Some(t),
                    Some(a) => a.to_mut().push_str(&t),
                },
                Tok::End(n) if n == name => return Ok(acc.unwrap_or(Cow::Borrowed(""))),
                other => return Err(self.unexpected(other, "text")),
            }
        }
    }

    /// Reads `<param><value>..</value></param>`* up to `</params>`.
    fn read_params(&mut self, params: &mut Vec<Value>) -> Result<(), XmlRpcError> {
        loop {
            match self.next_struct_token("<param> or </params>")? {
                Tok::Start("param") => {
                    let v = self.read_value_after_start("<value> in <param>")?;
                    params.push(v);
                    self.expect_end("param")?;
                }
                Tok::End("params") => return Ok(()),
                other => return Err(self.unexpected(other, "<param> or </params>")),
            }
        }
    }

    /// Expects `<value>` (or `<value/>`) next and reads it.
    fn read_value_after_start(&mut self, expected: &'static str) -> Result<Value, XmlRpcError> {
        match self.next_struct_token(expected)? {
            Tok::Start("value") => self.read_value_body(),
            Tok::Empty("value") => Ok(Value::String(String::new())),
            other => Err(self.unexpected(other, expected)),
        }
    }

    /// Reads what follows `<value>` up to and including `</value>`.
    fn read_value_body(&mut self) -> Result<Value, XmlRpcError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(XmlRpcError::TooDeep(self.tok_pos));
        }
        let mut text: Option<Cow<'a, str>> = None;
        let mut typed: Option<Value> = None;
        loop {
            match self.next()? {
                Tok::Text(t) => match &mut text {
                    None => text = Some(t),
                    Some(a) => a.to_mut().push_str(&t),
                },
                Tok::End("value") => break,
                Tok::Start(kind) if typed.is_none() => typed = Some(self.read_typed(kind)?),
                Tok::Empty(kind) if typed.is_none() => typed = Some(empty_typed(kind, self)?),
                other => return Err(self.unexpected(other, "one typed element in <value>")),
            }
        }
        self.depth -= 1;
        match typed {
            Some(v) => {
                if let Some(t) = text.filter(|t| !t.bytes().all(is_xml_space)) {
                    return Err(self.unexpected(Tok::Text(t), "only a typed element in <value>"));
                }
                Ok(v)
            }
            None => Ok(Value::String(text.map(Cow::into_owned).unwrap_or_default())),
        }
    }

    /// Reads a typed element whose start tag `<kind>` was just consumed.
    fn read_typed(&mut self, kind: &'a str) -> Result<Value, XmlRpcError> {
        match kind {
            "array" => self.read_array(),
            "struct" => self.read_struct(),
            _ => {
                let text = self.text_until_end(kind)?;
                scalar(kind, &text, self)
            }
        }
    }

    fn read_array(&mut self) -> Result<Value, XmlRpcError> {
        let mut items = Vec::new();
        match self.next_struct_token("<data>")? {
            Tok::Start("data") => loop {
                match self.next_struct_token("<value> or </data>")? {
                    Tok::Start("value") => items.push(self.read_value_body()?),
                    Tok::Empty("value") => items.push(Value::String(String::new())),
                    Tok::End("data") => break,
                    other => return Err(self.unexpected(other, "<value> or </data>")),
                }
            },
            Tok::Empty("data") => {}
            other => return Err(self.unexpected(other, "<data>")),
        }
        self.expect_end("array")?;
        Ok(Value::Array(items))
    }

    fn read_struct(&mut self) -> Result<Value, XmlRpcError> {
        let mut members = Vec::new();
        loop {
            match self.next_struct_token("<member> or </struct>")? {
                Tok::Start("member") => {
                    self.expect_start("name", "<name>")?;
                    let name = self.text_until_end("name")?.into_owned();
                    let v = self.read_value_after_start("<value> in <member>")?;
                    self.expect_end("member")?;
                    members.push((name, v));
                }
                Tok::End("struct") => return Ok(Value::Struct(members)),
                other => return Err(self.unexpected(other, "<member> or </struct>")),
            }
        }
    }
}

/// `<kind/>`: an empty scalar, an empty array/struct, or nil.
fn empty_typed(kind: &str, p: &Parser<'_>) -> Result<Value, XmlRpcError> {
    match kind {
        "nil" => Ok(Value::Nil),
        "struct" => Ok(Value::Struct(Vec::new())),
        "array" => Err(p.syntax(p.tok_pos, "<array/> without <data>")),
        _ => scalar(kind, "", p),
    }
}

/// Decodes a scalar element's text.
fn scalar(kind: &str, text: &str, p: &Parser<'_>) -> Result<Value, XmlRpcError> {
    let bad = |k: &'static str| XmlRpcError::BadScalar {
        kind: k,
        text: snippet(text),
    };
    match kind {
        "string" => Ok(Value::String(text.to_owned())),
        "dateTime.iso8601" => Ok(Value::String(text.trim().to_owned())),
        "int" | "i1" | "i2" | "i4" | "i8" | "biginteger" => {
            parse_int(text).map(Value::Int).ok_or_else(|| bad("int"))
        }
        "boolean" => match text.trim() {
            "0" => Ok(Value::Bool(false)),
            "1" => Ok(Value::Bool(true)),
            _ => Err(bad("boolean")),
        },
        "double" | "float" | "bigdecimal" => text
            .trim()
            .parse::<f64>()
            .map(Value::Double)
            .map_err(|_| bad("double")),
        "base64" => base64_decode(text).map(Value::Base64),
        "nil" => {
            if text.bytes().all(is_xml_space) {
                Ok(Value::Nil)
            } else {
                Err(bad("nil"))
            }
        }
        other => Err(XmlRpcError::Unexpected {
            pos: p.tok_pos,
            found: format!("<{other}>"),
            expected: "an XML-RPC type element",
        }),
    }
}

/// Python's `int(text)` for the forms a peer sends: whitespace, sign, digits.
fn parse_int(text: &str) -> Option<i64> {
    let t = text.trim_matches(|c: char| is_xml_space(c as u8) && c.is_ascii());
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.strip_prefix('+').unwrap_or(t).parse().ok()
}

fn is_xml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn name_len(s: &str) -> usize {
    s.bytes()
        .position(|b| is_xml_space(b) || matches!(b, b'>' | b'/' | b'<' | b'=' | b'"' | b'\''))
        .unwrap_or(s.len())
}

fn local(name: &str) -> &str {
    match name.bytes().rposition(|b| b == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

/// XML end-of-line handling: `\r\n` and lone `\r` become `\n`.
fn normalize_newlines(s: &str) -> Cow<'_, str> {
    if !s.contains('\r') {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.replace("\r\n", "\n").replace('\r', "\n"))
}

#[cfg(test)]
mod tests;
