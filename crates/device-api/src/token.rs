//! CIKs (Murano: tokens): 40 alphanumeric characters issued by the server.
//!
//! Real clients (`murano-client`) reject an activation answer that is not exactly 40
//! characters long, so a server must issue exactly that; a client otherwise treats
//! the token as opaque.

use rand::distr::{Alphanumeric, SampleString};

/// Length of a CIK.
pub const TOKEN_LEN: usize = 40;

/// A new random token: 40 characters from `[A-Za-z0-9]`, drawn from the thread's
/// cryptographically secure generator (about 238 bits of entropy).
pub fn generate() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), TOKEN_LEN)
}

/// Strict check a server applies to tokens it issued: 40 ASCII alphanumerics.
pub fn is_valid(token: &str) -> bool {
    token.len() == TOKEN_LEN && token.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The client's check of an activation answer: after trimming whitespace, exactly 40
/// visible ASCII characters (the token stays opaque otherwise). Returns the token.
pub fn from_activation_body(body: &str) -> Option<&str> {
    let t = body.trim();
    (t.len() == TOKEN_LEN && t.bytes().all(|b| b.is_ascii_graphic())).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_valid_and_distinct() {
        let a = generate();
        let b = generate();
        assert!(is_valid(&a), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn validation_rejects_wrong_length_and_characters() {
        assert!(is_valid(&"a".repeat(40)));
        assert!(!is_valid(&"a".repeat(39)));
        assert!(!is_valid(&"a".repeat(41)));
        assert!(!is_valid(&format!("{}-", "a".repeat(39))));
        assert!(!is_valid(&format!("{}é", "a".repeat(38))));
        assert!(!is_valid(""));
    }

    #[test]
    fn activation_body_check() {
        let t = "7f091cf4b16de3fb3172c253eb35109a6992d76b";
        assert_eq!(from_activation_body(&format!("{t}\r\n")), Some(t));
        assert_eq!(from_activation_body("short"), None);
        assert_eq!(from_activation_body(&format!("{t}x")), None);
        assert_eq!(from_activation_body(&"a b".repeat(14)[..40]), None);
        assert_eq!(from_activation_body(""), None);
    }
}
