//! XEP-0156: Discovering Alternative XMPP Connection Methods — the WebSocket and BOSH
//! endpoints a domain publishes in its host-meta (RFC 6415), as XRD XML or as JSON. Sans-IO:
//! this module names the URLs to fetch and reads the documents; the driver fetches them.

use crate::error::Error;
use crate::jid::Jid;
use crate::xml::{Element, Limits};

/// XEP-0156 §3: the link relation of RFC 7395 WebSocket endpoints.
pub const WEBSOCKET_REL: &str = "urn:xmpp:alt-connections:websocket";
/// XEP-0156 §3: the link relation of XEP-0206 BOSH endpoints.
pub const BOSH_REL: &str = "urn:xmpp:alt-connections:xbosh";
/// RFC 6415 §2: where a host publishes its XRD host-meta.
pub const HOST_META_PATH: &str = "/.well-known/host-meta";
/// RFC 6415 appendix A: where a host publishes the same links as JSON.
pub const HOST_META_JSON_PATH: &str = "/.well-known/host-meta.json";
/// RFC 6415 §3: the XRD namespace of host-meta.
pub const XRD_NS: &str = "http://docs.oasis-open.org/ns/xri/xrd-1.0";

/// How deeply a JSON host-meta may nest (a real one nests three levels).
const MAX_JSON_DEPTH: usize = 16;

/// The endpoints a domain announces, in the document's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// `wss://` (or, for development, `ws://`) URLs.
    pub websocket: Vec<String>,
    /// `https://` (or `http://`) URLs.
    pub bosh: Vec<String>,
}

impl Endpoints {
    /// Each endpoint as a host-meta link: its relation and URL, WebSocket first.
    pub fn links(&self) -> impl Iterator<Item = (&'static str, &str)> {
        let websocket = self
            .websocket
            .iter()
            .map(|href| (WEBSOCKET_REL, href.as_str()));
        websocket.chain(self.bosh.iter().map(|href| (BOSH_REL, href.as_str())))
    }

    fn add(&mut self, rel: &str, href: &str) {
        let (list, schemes) = match rel {
            WEBSOCKET_REL => (&mut self.websocket, ["wss://", "ws://"]),
            BOSH_REL => (&mut self.bosh, ["https://", "http://"]),
            _ => return,
        };
        // Anything but the transport's own schemes (javascript:, relative paths…) is no
        // endpoint of it.
        if schemes.iter().any(|scheme| href.starts_with(scheme)) {
            list.push(href.to_owned());
        }
    }
}

/// The XRD host-meta of `domain` (XEP-0156 §3.1), e.g.
/// `https://example.org/.well-known/host-meta`. XEP-0156 §4 requires HTTPS.
pub fn host_meta_url(domain: &str) -> Result<String, Error> {
    Ok(format!("https://{}{HOST_META_PATH}", check_domain(domain)?))
}

/// The JSON host-meta of `domain`: `https://example.org/.well-known/host-meta.json`.
pub fn host_meta_json_url(domain: &str) -> Result<String, Error> {
    Ok(format!(
        "https://{}{HOST_META_JSON_PATH}",
        check_domain(domain)?
    ))
}

fn check_domain(domain: &str) -> Result<&str, Error> {
    let valid = Jid::parse(domain)
        .is_ok_and(|jid| jid.node().is_none() && jid.resource().is_none())
        && !domain.contains(['/', '?', '#', ' ']);
    if valid {
        Ok(domain)
    } else {
        Err(Error::Misuse(format!("`{domain}` is not a domain")))
    }
}

/// Reads an XRD host-meta document.
pub fn parse_host_meta(xml: &str, limits: &Limits) -> Result<Endpoints, Error> {
    let xrd = Element::parse(xml, limits)
        .map_err(|error| Error::Peer(format!("host-meta is not usable XML: {error}")))?;
    if !xrd.is("XRD", XRD_NS) {
        return Err(Error::Peer(format!(
            "host-meta has root <{}/>, not an XRD",
            xrd.name()
        )));
    }
    let mut endpoints = Endpoints::default();
    for link in xrd.children().filter(|child| child.is("Link", XRD_NS)) {
        if let (Some(rel), Some(href)) = (link.attr("rel"), link.attr("href")) {
            endpoints.add(rel, href);
        }
    }
    Ok(endpoints)
}

/// The XRD host-meta announcing `endpoints` (XEP-0156 §3.1), for a server to publish:
/// what [`parse_host_meta`] reads.
pub fn host_meta(endpoints: &Endpoints) -> Element {
    endpoints
        .links()
        .fold(Element::new("XRD", XRD_NS), |xrd, (rel, href)| {
            xrd.with_child(
                Element::new("Link", XRD_NS)
                    .with_attr("rel", rel)
                    .with_attr("href", href),
            )
        })
}

/// Reads a JSON host-meta document (RFC 6415 appendix A): `{"links": [{"rel", "href"}…]}`.
pub fn parse_host_meta_json(json: &str) -> Result<Endpoints, Error> {
    let document = json::parse(json, MAX_JSON_DEPTH)
        .map_err(|error| Error::Peer(format!("host-meta.json is not usable JSON: {error}")))?;
    let links = match document.get("links") {
        Some(json::Value::Array(links)) => links.as_slice(),
        None => &[],
        Some(_) => return Err(Error::Peer("host-meta.json `links` is not an array".into())),
    };
    let mut endpoints = Endpoints::default();
    for link in links {
        if let (Some(json::Value::String(rel)), Some(json::Value::String(href))) =
            (link.get("rel"), link.get("href"))
        {
            endpoints.add(rel, href);
        }
    }
    Ok(endpoints)
}

/// Just enough JSON (RFC 8259) for host-meta: values are kept, numbers only checked.
mod json {
    use std::iter::Peekable;
    use std::str::CharIndices;

    #[derive(Debug)]
    pub enum Value {
        Null,
        Bool,
        Number,
        String(String),
        Array(Vec<Value>),
        Object(Vec<(String, Value)>),
    }

    impl Value {
        /// The member `key` of an object (the first, should it repeat).
        pub fn get(&self, key: &str) -> Option<&Value> {
            match self {
                Value::Object(members) => members
                    .iter()
                    .find(|(name, _)| name == key)
                    .map(|(_, value)| value),
                _ => None,
            }
        }
    }

    pub fn parse(text: &str, max_depth: usize) -> Result<Value, String> {
        let mut parser = Parser {
            chars: text.char_indices().peekable(),
            max_depth,
        };
        let value = parser.value(0)?;
        parser.skip_whitespace();
        match parser.chars.next() {
            None => Ok(value),
            Some((at, _)) => Err(format!("trailing data at byte {at}")),
        }
    }

    struct Parser<'a> {
        chars: Peekable<CharIndices<'a>>,
        max_depth: usize,
    }

    impl Parser<'_> {
        fn skip_whitespace(&mut self) {
            while self
                .chars
                .next_if(|(_, c)| matches!(c, ' ' | '\t' | '\n' | '\r'))
                .is_some()
            {}
        }

        fn next(&mut self) -> Result<char, String> {
            self.chars
                .next()
                .map(|(_, c)| c)
                .ok_or_else(|| "unexpected end".to_owned())
        }

        fn expect(&mut self, wanted: char) -> Result<(), String> {
            self.skip_whitespace();
            match self.next()? {
                c if c == wanted => Ok(()),
                c => Err(format!("expected `{wanted}`, found `{c}`")),
            }
        }

        fn value(&mut self, depth: usize) -> Result<Value, String> {
            if depth > self.max_depth {
                return Err("nested too deeply".into());
            }
            self.skip_whitespace();
            match self.chars.peek().map(|&(_, c)| c) {
                Some('{') => self.object(depth),
                Some('[') => self.array(depth),
                Some('"') => Ok(Value::String(self.string()?)),
                Some('t') => self.literal("true", Value::Bool),
                Some('f') => self.literal("false", Value::Bool),
                Some('n') => self.literal("null", Value::Null),
                Some('-' | '0'..='9') => self.number(),
                Some(c) => Err(format!("unexpected `{c}`")),
                None => Err("unexpected end".into()),
            }
        }

        fn literal(&mut self, word: &str, value: Value) -> Result<Value, String> {
            for wanted in word.chars() {
                if self.next()? != wanted {
                    return Err(format!("expected `{word}`"));
                }
            }
            Ok(value)
        }

        fn number(&mut self) -> Result<Value, String> {
            let mut digits = 0;
            while let Some((_, c)) = self
                .chars
                .next_if(|(_, c)| matches!(c, '-' | '+' | '.' | 'e' | 'E' | '0'..='9'))
            {
                digits += usize::from(c.is_ascii_digit());
            }
            if digits == 0 {
                return Err("a number without digits".into());
            }
            Ok(Value::Number)
        }

        fn string(&mut self) -> Result<String, String> {
            self.expect('"')?;
            let mut out = String::new();
            loop {
                match self.next()? {
                    '"' => return Ok(out),
                    '\\' => match self.next()? {
                        '"' => out.push('"'),
                        '\\' => out.push('\\'),
                        '/' => out.push('/'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'u' => out.push(self.unicode_escape()?),
                        c => return Err(format!("invalid escape `\\{c}`")),
                    },
                    c if c < ' ' => return Err("a control character in a string".into()),
                    c => out.push(c),
                }
            }
        }

        /// After `\u`: one code unit, or a surrogate pair written as two escapes.
        fn unicode_escape(&mut self) -> Result<char, String> {
            let high = self.hex4()?;
            let code = if (0xD800..0xDC00).contains(&high) {
                self.literal("\\u", Value::Null)?;
                let low = self.hex4()?;
                if !(0xDC00..0xE000).contains(&low) {
                    return Err("an unpaired surrogate".into());
                }
                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            } else {
                high
            };
            char::from_u32(code).ok_or_else(|| "an unpaired surrogate".to_owned())
        }

        fn hex4(&mut self) -> Result<u32, String> {
            let mut code = 0;
            for _ in 0..4 {
                let digit = self.next()?.to_digit(16).ok_or("invalid \\u escape")?;
                code = code * 16 + digit;
            }
            Ok(code)
        }

        fn array(&mut self, depth: usize) -> Result<Value, String> {
            self.expect('[')?;
            let mut items = Vec::new();
            self.skip_whitespace();
            if self.chars.next_if(|&(_, c)| c == ']').is_some() {
                return Ok(Value::Array(items));
            }
            loop {
                items.push(self.value(depth + 1)?);
                self.skip_whitespace();
                match self.next()? {
                    ',' => {}
                    ']' => return Ok(Value::Array(items)),
                    c => return Err(format!("expected `,` or `]`, found `{c}`")),
                }
            }
        }

        fn object(&mut self, depth: usize) -> Result<Value, String> {
            self.expect('{')?;
            let mut members = Vec::new();
            self.skip_whitespace();
            if self.chars.next_if(|&(_, c)| c == '}').is_some() {
                return Ok(Value::Object(members));
            }
            loop {
                self.skip_whitespace();
                let key = self.string()?;
                self.expect(':')?;
                members.push((key, self.value(depth + 1)?));
                self.skip_whitespace();
                match self.next()? {
                    ',' => {}
                    '}' => return Ok(Value::Object(members)),
                    c => return Err(format!("expected `,` or `}}`, found `{c}`")),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_host_meta_reads_back_as_the_same_endpoints() {
        let endpoints = Endpoints {
            websocket: vec!["wss://vigie.example/xmpp-websocket?a=1&b=2".into()],
            bosh: vec![
                "https://vigie.example/http-bind".into(),
                "http://127.0.0.1:8080/http-bind".into(),
            ],
        };
        let xml = host_meta(&endpoints).to_xml();
        assert!(xml.contains("a=1&amp;b=2"), "{xml}");
        assert_eq!(
            parse_host_meta(&xml, &Limits::default()).unwrap(),
            endpoints
        );
    }

    /// XEP-0156 §3.3 example 3.
    const XRD: &str = "<?xml version='1.0' encoding='utf-8'?>
<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>
  <Link rel=\"urn:xmpp:alt-connections:xbosh\"
        href=\"https://web.example.com:5280/bosh\" />
  <Link rel=\"urn:xmpp:alt-connections:websocket\"
        href=\"wss://web.example.com:443/ws\" />
</XRD>";

    /// XEP-0156 §3.3 example 4.
    const JSON: &str = r#"{
  "links": [
    {
      "rel": "urn:xmpp:alt-connections:xbosh",
      "href": "https://web.example.com:5280/bosh"
    },
    {
      "rel": "urn:xmpp:alt-connections:websocket",
      "href": "wss://web.example.com:443/ws"
    }
  ]
}"#;

    fn example() -> Endpoints {
        Endpoints {
            websocket: vec!["wss://web.example.com:443/ws".into()],
            bosh: vec!["https://web.example.com:5280/bosh".into()],
        }
    }

    #[test]
    fn reads_the_xep_examples() {
        assert_eq!(parse_host_meta(XRD, &Limits::default()).unwrap(), example());
        assert_eq!(parse_host_meta_json(JSON).unwrap(), example());
        assert_eq!(
            host_meta_url("example.com").unwrap(),
            "https://example.com/.well-known/host-meta"
        );
        assert_eq!(
            host_meta_json_url("example.com").unwrap(),
            "https://example.com/.well-known/host-meta.json"
        );
        assert!(matches!(
            host_meta_url("user@example.com"),
            Err(Error::Misuse(_))
        ));
        assert!(host_meta_url("evil.com/x?").is_err());
    }

    /// A host-meta as served by Prosody's community mod_host_meta and ejabberd, with other
    /// links, properties and escapes around the two that matter.
    #[test]
    fn skips_other_links_and_unsafe_schemes() {
        let xrd = "<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\
            <Link rel='lrdd' template='https://example.org/.well-known/webfinger?resource={uri}'/>\
            <Link rel='urn:xmpp:alt-connections:websocket' href='javascript:alert(1)'/>\
            <Link rel='urn:xmpp:alt-connections:websocket' href='ws://localhost:5280/xmpp-websocket'/>\
            <Link rel='urn:xmpp:alt-connections:xbosh'/>\
            </XRD>";
        assert_eq!(
            parse_host_meta(xrd, &Limits::default()).unwrap(),
            Endpoints {
                websocket: vec!["ws://localhost:5280/xmpp-websocket".into()],
                bosh: vec![]
            }
        );
        let json = r#"{"properties":{"x":[1,-2.5e3,true,false,null]},"links":[
            {"rel":"urn:xmpp:alt-connections:s2s-websocket","href":"wss://example.org/s2s"},
            {"rel":"urn:xmpp:alt-connections:websocket","href":"wss:\/\/example.org\/xmpp-websocket","ips":["::1"]},
            {"rel":"urn:xmpp:alt-connections:xbosh","href":"https://example.org/http-bind?n=\u00e9\ud83d\ude00"}]}"#;
        assert_eq!(
            parse_host_meta_json(json).unwrap(),
            Endpoints {
                websocket: vec!["wss://example.org/xmpp-websocket".into()],
                bosh: vec!["https://example.org/http-bind?n=é😀".into()]
            }
        );
        assert_eq!(parse_host_meta_json("{}").unwrap(), Endpoints::default());
    }

    #[test]
    fn broken_documents_are_the_peers_fault() {
        let bad_json = [
            "",
            "{",
            r#"{"links": [}"#,
            r#"{"links": "x"}"#,
            r#"{"links": []} x"#,
            r#"{"a": "\ud800"}"#,
            r#"{"a": "\q"}"#,
            r#"{"a": -}"#,
            &("[".repeat(100) + &"]".repeat(100)),
        ];
        for json in bad_json {
            assert!(
                matches!(parse_host_meta_json(json), Err(Error::Peer(_))),
                "{json}"
            );
        }
        for xml in [
            "<html/>",
            "<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>",
            "not xml",
        ] {
            assert!(
                matches!(
                    parse_host_meta(xml, &Limits::default()),
                    Err(Error::Peer(_))
                ),
                "{xml}"
            );
        }
    }
}
