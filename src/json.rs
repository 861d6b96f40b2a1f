//! A small JSON reader for the REST answers and the city file. serde's derives and serde_json
//! cost the wasm about 20 KB gzipped; this tree and its field readers a fraction of that. Bad
//! input gives an error naming what was wrong, never a panic (nesting is bounded).

use std::str::FromStr;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

/// Deepest nesting read: more is refused rather than risking the stack.
const MAX_DEPTH: u32 = 64;

/// Parses one JSON document (RFC 8259), surrounded by whitespace at most.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut parser = Parser {
        bytes: text.as_bytes(),
        at: 0,
    };
    let value = parser.value(0)?;
    parser.skip_space();
    match parser.at == parser.bytes.len() {
        true => Ok(value),
        false => Err(parser.error("trailing characters")),
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> String {
        let mut error = String::from("invalid JSON at byte ");
        error.push_str(&self.at.to_string());
        error.push_str(": ");
        error.push_str(what);
        error
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// Consumes `byte` after optional whitespace, if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_space();
        let next = self.bytes.get(self.at) == Some(&byte);
        self.at += usize::from(next);
        next
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, String> {
        match self.bytes[self.at..].starts_with(word.as_bytes()) {
            true => {
                self.at += word.len();
                Ok(value)
            }
            false => Err(self.error("unexpected character")),
        }
    }

    fn value(&mut self, depth: u32) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deep"));
        }
        self.skip_space();
        match self.bytes.get(self.at) {
            None => Err(self.error("unexpected end")),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'"') => self.string().map(Value::String),
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if self.eat(b']') {
                            break;
                        }
                        self.expect(b',')?;
                    }
                }
                Ok(Value::Array(items))
            }
            Some(b'{') => {
                self.at += 1;
                let mut fields = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.skip_space();
                        let name = self.string()?;
                        self.expect(b':')?;
                        fields.push((name, self.value(depth + 1)?));
                        if self.eat(b'}') {
                            break;
                        }
                        self.expect(b',')?;
                    }
                }
                Ok(Value::Object(fields))
            }
            Some(_) => self.number(),
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        match self.eat(byte) {
            true => Ok(()),
            false => Err(self.error(match byte {
                b',' => "expected ','",
                _ => "expected ':'",
            })),
        }
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.at;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
        }
        // The slice is ASCII, so always a str; this decimal syntax is a superset of JSON's.
        std::str::from_utf8(&self.bytes[start..self.at])
            .ok()
            .and_then(vigie_model::number::parse_decimal)
            .map(Value::Number)
            .ok_or_else(|| {
                self.at = start;
                self.error("unexpected character")
            })
    }

    /// A string, its opening quote next.
    fn string(&mut self) -> Result<String, String> {
        if self.bytes.get(self.at) != Some(&b'"') {
            return Err(self.error("expected a string"));
        }
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let Some(&byte) = self.bytes.get(self.at) else {
                return Err(self.error("unterminated string"));
            };
            self.at += 1;
            match byte {
                b'"' => break,
                b'\\' => {
                    let escaped = match self.bytes.get(self.at) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => self.unicode_escape()?,
                        _ => return Err(self.error("invalid escape")),
                    };
                    self.at += 1;
                    let mut utf8 = [0; 4];
                    out.extend_from_slice(escaped.encode_utf8(&mut utf8).as_bytes());
                }
                0..=0x1f => return Err(self.error("control character in a string")),
                _ => out.push(byte),
            }
        }
        // The input was a str and escapes were pushed as UTF-8, so this cannot fail.
        String::from_utf8(out).map_err(|_| self.error("invalid UTF-8"))
    }

    /// `\uXXXX` (the `u` under `at`), a surrogate pair as one character; leaves `at` on the
    /// last hex digit. A lone surrogate reads as U+FFFD, as browsers show it.
    fn unicode_escape(&mut self) -> Result<char, String> {
        let high = self.hex4(self.at + 1)?;
        self.at += 4;
        if !(0xD800..0xDC00).contains(&high) {
            return Ok(char::from_u32(high).unwrap_or(char::REPLACEMENT_CHARACTER));
        }
        let follows = self.bytes.get(self.at + 1..self.at + 3) == Some(b"\\u");
        match follows.then(|| self.hex4(self.at + 3)) {
            Some(Ok(low @ 0xDC00..0xE000)) => {
                self.at += 6;
                let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                Ok(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER))
            }
            _ => Ok(char::REPLACEMENT_CHARACTER),
        }
    }

    fn hex4(&self, at: usize) -> Result<u32, String> {
        self.bytes
            .get(at..at + 4)
            .and_then(|digits| std::str::from_utf8(digits).ok())
            .and_then(|digits| u32::from_str_radix(digits, 16).ok())
            .ok_or_else(|| self.error("invalid \\u escape"))
    }
}

static NULL: Value = Value::Null;

/// The error for `name` not holding `what`.
fn expected(name: &str, what: &str) -> String {
    let mut error = String::from("“");
    error.push_str(name);
    error.push_str("” is not ");
    error.push_str(what);
    error
}

impl Value {
    /// The field `name` of an object; null when absent (or when this is no object).
    pub fn get(&self, name: &str) -> &Value {
        match self {
            Value::Object(fields) => fields
                .iter()
                .find(|(field, _)| field == name)
                .map_or(&NULL, |(_, value)| value),
            _ => &NULL,
        }
    }

    pub fn str(&self, name: &str) -> Result<String, String> {
        match self.get(name) {
            Value::String(text) => Ok(text.clone()),
            _ => Err(expected(name, "a string")),
        }
    }

    /// A string that may be null or absent.
    pub fn opt_str(&self, name: &str) -> Result<Option<String>, String> {
        match self.get(name) {
            Value::Null => Ok(None),
            _ => self.str(name).map(Some),
        }
    }

    pub fn number(&self, name: &str) -> Result<f64, String> {
        match self.get(name) {
            Value::Number(number) => Ok(*number),
            _ => Err(expected(name, "a number")),
        }
    }

    /// A whole number that fits `u64`.
    pub fn count(&self, name: &str) -> Result<u64, String> {
        let number = self.number(name)?;
        match number >= 0.0 && number.fract() == 0.0 && number < u64::MAX as f64 {
            true => Ok(number as u64),
            false => Err(expected(name, "a count")),
        }
    }

    pub fn list(&self, name: &str) -> Result<&[Value], String> {
        match self.get(name) {
            Value::Array(items) => Ok(items),
            _ => Err(expected(name, "a list")),
        }
    }

    /// Each item of the list `name`, read by `read`.
    pub fn each<T>(
        &self,
        name: &str,
        read: impl Fn(&Value) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        self.list(name)?.iter().map(read).collect()
    }

    pub fn strs(&self, name: &str) -> Result<Vec<String>, String> {
        self.each(name, |item| match item {
            Value::String(text) => Ok(text.clone()),
            _ => Err(expected(name, "a list of strings")),
        })
    }

    /// A string naming a value of `T` (an event kind, a status…).
    pub fn named<T: FromStr>(&self, name: &str) -> Result<T, String> {
        let text = self.str(name)?;
        text.parse().map_err(|_| expected(name, "a known name"))
    }

    /// An RFC 3339 time.
    pub fn time(&self, name: &str) -> Result<OffsetDateTime, String> {
        let text = self.str(name)?;
        OffsetDateTime::parse(&text, &Rfc3339).map_err(|_| expected(name, "an RFC 3339 time"))
    }

    pub fn opt_time(&self, name: &str) -> Result<Option<OffsetDateTime>, String> {
        match self.get(name) {
            Value::Null => Ok(None),
            _ => self.time(name).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_kind_of_value() {
        let value = parse(
            r#" {"a": [1, -2.5e3, true, false, null], "b": {"c": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude80"}} "#,
        )
        .unwrap();
        assert_eq!(
            value.get("a"),
            &Value::Array(vec![
                Value::Number(1.0),
                Value::Number(-2500.0),
                Value::Bool(true),
                Value::Bool(false),
                Value::Null
            ])
        );
        assert_eq!(
            value.get("b").str("c").unwrap(),
            "x\"\\/\u{8}\u{c}\n\r\té🚀"
        );
        assert_eq!(value.get("missing"), &Value::Null);
        assert_eq!(parse("[]").unwrap(), Value::Array(vec![]));
        assert_eq!(parse("{}").unwrap(), Value::Object(vec![]));
        assert_eq!(
            parse("\"\\ud800\"").unwrap(),
            Value::String("\u{fffd}".into())
        );
    }

    #[test]
    fn refuses_bad_documents_with_a_reason() {
        for (text, reason) in [
            ("", "unexpected end"),
            ("[1,]", "unexpected character"),
            ("[1 2]", "expected ','"),
            ("{\"a\" 1}", "expected ':'"),
            ("{1: 2}", "expected a string"),
            ("\"abc", "unterminated string"),
            ("\"a\\qb\"", "invalid escape"),
            ("\"\\u12\"", "invalid \\u escape"),
            ("\"a\nb\"", "control character"),
            ("nul", "unexpected character"),
            ("1 2", "trailing characters"),
            ("-", "unexpected character"),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(reason), "{text:?}: {error}");
        }
        let deep = "[".repeat(10_000);
        assert!(parse(&deep).unwrap_err().contains("nested too deep"));
    }

    #[test]
    fn field_readers_name_the_field() {
        let value = parse(r#"{"n": 3, "s": "x", "t": "2026-11-22T01:02:03Z", "z": null}"#).unwrap();
        assert_eq!(value.count("n"), Ok(3));
        assert_eq!(value.opt_str("z"), Ok(None));
        assert_eq!(value.opt_str("absent"), Ok(None));
        assert_eq!(value.opt_time("z"), Ok(None));
        assert_eq!(
            value.time("t").unwrap().unix_timestamp(),
            time::macros::datetime!(2026-11-22 01:02:03 UTC).unix_timestamp()
        );
        assert_eq!(value.str("n").unwrap_err(), "“n” is not a string");
        assert_eq!(value.number("s").unwrap_err(), "“s” is not a number");
        assert_eq!(value.time("s").unwrap_err(), "“s” is not an RFC 3339 time");
        assert_eq!(value.list("s").unwrap_err(), "“s” is not a list");
        assert!(value.named::<vigie_model::EventKind>("s").is_err());
        assert!(parse(r#"{"n": -1}"#).unwrap().count("n").is_err());
    }
}
