//! RFC 7622 addresses, reduced to splitting and formatting: `node@domain/resource`.
//!
//! No stringprep or PRECIS tables (they would weigh on the wasm build); the server is the
//! authority on normalisation and the JIDs we compare come from the server itself.

use std::fmt;

/// A parsed JID. Parts are kept exactly as written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Jid {
    node: Option<String>,
    domain: String,
    resource: Option<String>,
}

/// Why a string is not a JID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JID `{0}`")]
pub struct JidError(pub String);

/// RFC 7622 §3.1: each part is at most 1023 octets.
const MAX_PART_BYTES: usize = 1023;

impl Jid {
    pub fn parse(text: &str) -> Result<Jid, JidError> {
        let invalid = || JidError(text.to_owned());
        let (bare, resource) = match text.split_once('/') {
            Some((bare, resource)) => (bare, Some(resource)),
            None => (text, None),
        };
        let (node, domain) = match bare.split_once('@') {
            Some((node, domain)) => (Some(node), domain),
            None => (None, bare),
        };
        let part_ok = |part: &str| !part.is_empty() && part.len() <= MAX_PART_BYTES;
        let domain_ok = part_ok(domain) && !domain.contains('@');
        if !domain_ok || !node.is_none_or(part_ok) || !resource.is_none_or(part_ok) {
            return Err(invalid());
        }
        Ok(Jid {
            node: node.map(str::to_owned),
            domain: domain.to_owned(),
            resource: resource.map(str::to_owned),
        })
    }

    pub fn node(&self) -> Option<&str> {
        self.node.as_deref()
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// The same JID without its resource.
    pub fn to_bare(&self) -> Jid {
        Jid {
            resource: None,
            ..self.clone()
        }
    }

    /// The bare JID with `resource` appended (e.g. a MUC occupant `room@service/nick`).
    pub fn with_resource(&self, resource: &str) -> Jid {
        Jid {
            resource: Some(resource.to_owned()),
            ..self.clone()
        }
    }
}

impl fmt::Display for Jid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(node) = &self.node {
            write!(f, "{node}@")?;
        }
        f.write_str(&self.domain)?;
        if let Some(resource) = &self.resource {
            write!(f, "/{resource}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Jid {
    type Err = JidError;

    fn from_str(text: &str) -> Result<Jid, JidError> {
        Jid::parse(text)
    }
}

/// The bare part of a JID string (everything before the first `/`).
pub fn bare(jid: &str) -> &str {
    split_resource(jid).map_or(jid, |(bare, _)| bare)
}

/// The resource of a JID string, if any (everything after the first `/`).
pub fn resource(jid: &str) -> Option<&str> {
    split_resource(jid).map(|(_, resource)| resource)
}

/// `jid` cut at its first `/`. A byte search: `str::split_once` goes through the general
/// character searcher, a measurable cost for every room message received.
fn split_resource(jid: &str) -> Option<(&str, &str)> {
    let slash = jid.bytes().position(|byte| byte == b'/')?;
    Some((&jid[..slash], &jid[slash + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_formats_full_jids() {
        let jid = Jid::parse("gateway@localhost/vigie/1").unwrap();
        assert_eq!(jid.node(), Some("gateway"));
        assert_eq!(jid.domain(), "localhost");
        assert_eq!(
            jid.resource(),
            Some("vigie/1"),
            "resources may contain slashes"
        );
        assert_eq!(jid.to_string(), "gateway@localhost/vigie/1");
        assert_eq!(jid.to_bare().to_string(), "gateway@localhost");
        let occupant = Jid::parse("accidents@rooms.localhost")
            .unwrap()
            .with_resource("gw");
        assert_eq!(occupant.to_string(), "accidents@rooms.localhost/gw");
        assert_eq!("anon.localhost".parse::<Jid>().unwrap().node(), None);
    }

    #[test]
    fn refuses_empty_parts() {
        for text in ["", "@d", "n@", "n@d/", "/r", "a@b@c"] {
            assert!(Jid::parse(text).is_err(), "{text}");
        }
        assert!(Jid::parse(&"n".repeat(1024)).is_err());
    }

    #[test]
    fn string_helpers() {
        assert_eq!(bare("room@s/nick/x"), "room@s");
        assert_eq!(bare("room@s"), "room@s");
        assert_eq!(resource("room@s/nick/x"), Some("nick/x"));
        assert_eq!(resource("room@s"), None);
    }
}
