//! XML-RPC values and their encoding, as supervisord 4.x speaks them.

/// One XML-RPC value. Structs keep their member order, as supervisorctl prints them.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `<int>` / `<i4>`.
    Int(i64),
    /// `<boolean>`.
    Bool(bool),
    /// `<string>` or an untyped value.
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
