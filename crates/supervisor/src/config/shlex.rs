//! The two uses of Python's `shlex` in supervisord, transcribed from CPython 3.11:
//! [`split`] is `shlex.split(command)` (POSIX mode, no comments) for `command`, and
//! [`env_tokens`] is the non-POSIX `shlex.shlex(value)` tokenizer (with `/.+-():` added to the
//! word characters) behind `dict_of_key_value_pairs` for `environment`.

const WHITESPACE: &[char] = &[' ', '\t', '\r', '\n'];

/// `shlex.split(s)`: POSIX quoting, backslash escapes, no comment handling.
pub fn split(s: &str) -> Result<Vec<String>, String> {
    #[derive(Clone, Copy, PartialEq)]
    enum St {
        Space,
        Word,
        Quote(char),
        Escape(Ctx),
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Ctx {
        Word,
        Double,
    }
    let mut out = Vec::new();
    let mut token = String::new();
    let mut quoted = false;
    let mut st = St::Space;
    for c in s.chars() {
        match st {
            St::Space | St::Word => {
                if WHITESPACE.contains(&c) {
                    if st == St::Word || quoted {
                        out.push(std::mem::take(&mut token));
                        quoted = false;
                    }
                    st = St::Space;
                } else if c == '\\' {
                    st = St::Escape(Ctx::Word);
                } else if c == '\'' || c == '"' {
                    st = St::Quote(c);
                } else {
                    token.push(c);
                    st = St::Word;
                }
            }
            St::Quote(q) => {
                quoted = true;
                if c == q {
                    st = St::Word;
                } else if q == '"' && c == '\\' {
                    st = St::Escape(Ctx::Double);
                } else {
                    token.push(c);
                }
            }
            St::Escape(ctx) => {
                // Inside double quotes only `"` and `\` are escaped; others keep the backslash.
                if ctx == Ctx::Double && c != '"' && c != '\\' {
                    token.push('\\');
                }
                token.push(c);
                st = match ctx {
                    Ctx::Word => St::Word,
                    Ctx::Double => St::Quote('"'),
                };
            }
        }
    }
    match st {
        St::Quote(_) => Err("No closing quotation".to_owned()),
        St::Escape(_) => Err("No escaped character".to_owned()),
        St::Word => {
            out.push(token);
            Ok(out)
        }
        St::Space => {
            if quoted {
                out.push(token);
            }
            Ok(out)
        }
    }
}

fn env_wordchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_/.+-():".contains(c)
}

/// The token stream of non-POSIX `shlex.shlex(s)` with supervisord's extra word characters.
/// Quotes stay part of the tokens; `#` starts a comment up to the end of the line.
pub fn env_tokens(s: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let skip_line = |i: &mut usize| {
        while *i < chars.len() && chars[*i] != '\n' {
            *i += 1;
        }
        if *i < chars.len() {
            *i += 1;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if WHITESPACE.contains(&c) {
            continue;
        }
        if c == '#' {
            skip_line(&mut i);
            continue;
        }
        if c == '\'' || c == '"' {
            let mut token = String::from(c);
            loop {
                let Some(&n) = chars.get(i) else {
                    return Err("No closing quotation".to_owned());
                };
                i += 1;
                token.push(n);
                if n == c {
                    break;
                }
            }
            out.push(token);
            continue;
        }
        if !env_wordchar(c) {
            out.push(c.to_string());
            continue;
        }
        // A word: word characters and quotes (kept as they are); `#` skips to the next line
        // without ending the word (CPython's non-POSIX quirk).
        let mut token = String::from(c);
        while let Some(&n) = chars.get(i) {
            if WHITESPACE.contains(&n) {
                i += 1;
                break;
            }
            if n == '#' {
                i += 1;
                skip_line(&mut i);
                continue;
            }
            if env_wordchar(n) || n == '\'' || n == '"' {
                token.push(n);
                i += 1;
                continue;
            }
            // punctuation: ends the word and becomes the next token by itself
            break;
        }
        out.push(token);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_like_python() {
        let cases: &[(&str, &[&str])] = &[
            ("a b  c", &["a", "b", "c"]),
            ("sh -c 'echo a; echo b'", &["sh", "-c", "echo a; echo b"]),
            (r#"x "a \"q\" \n" y"#, &["x", r#"a "q" \n"#, "y"]),
            (r"a\ b c\\d", &["a b", r"c\d"]),
            ("'' x", &["", "x"]),
            ("a''b", &["ab"]),
            ("x # not a comment", &["x", "#", "not", "a", "comment"]),
            ("", &[]),
            ("   ", &[]),
        ];
        for (input, want) in cases {
            assert_eq!(split(input).unwrap(), *want, "{input}");
        }
        assert!(split("'open").is_err());
        assert!(split("trailing\\").is_err());
    }

    #[test]
    fn env_tokens_like_python() {
        // Token lists produced by list(shlex.shlex(s)) with wordchars += '/.+-():'.
        let cases: &[(&str, &[&str])] = &[
            ("A=1,B=2", &["A", "=", "1", ",", "B", "=", "2"]),
            (
                r#"A="x, y",B='z'"#,
                &["A", "=", "\"x, y\"", ",", "B", "=", "'z'"],
            ),
            ("P=/usr/bin:/bin", &["P", "=", "/usr/bin:/bin"]),
            ("A=café", &["A", "=", "caf", "é"]),
            ("A=x\"y z\"", &["A", "=", "x\"y", "z\""]),
            ("A=b#c\nd", &["A", "=", "bd"]),
        ];
        for (input, want) in cases {
            assert_eq!(env_tokens(input).unwrap(), *want, "{input}");
        }
        assert!(env_tokens("A=\"open").is_err());
    }
}
