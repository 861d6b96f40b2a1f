//! XEP-0092: Software Version — answered for us (name and version, no operating system:
//! XEP-0092 §4 leaves it out for privacy), and asked of others.

use crate::error::Error;
use crate::stanza::{Iq, IqType};
use crate::xml::Element;

/// XEP-0092's namespace (also advertised in our disco#info).
pub const VERSION_NS: &str = "jabber:iq:version";

/// What an entity says it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftwareVersion {
    /// e.g. `Prosody`, `Vigie`.
    pub name: String,
    /// As the software writes it, e.g. `0.12.3`.
    pub version: String,
    /// The operating system, if the entity tells.
    pub os: Option<String>,
}

/// Whether `iq` asks for our software version.
pub fn is_request(iq: &Iq) -> bool {
    iq.kind == IqType::Get
        && iq
            .payload
            .as_ref()
            .is_some_and(|payload| payload.is("query", VERSION_NS))
}

/// Our answer: this crate's name for the software and its version.
pub fn answer(request: &Iq) -> Iq {
    let query = Element::new("query", VERSION_NS)
        .with_child(Element::new("name", VERSION_NS).with_text("Vigie"))
        .with_child(Element::new("version", VERSION_NS).with_text(env!("CARGO_PKG_VERSION")));
    Iq::result_for(request, Some(query))
}

/// Asks `to` (a full JID for a client, a domain for a server) what it runs.
pub fn request(to: &str) -> Iq {
    Iq::get(Some(to), Element::new("query", VERSION_NS))
}

/// Reads the answer to [`request`].
pub fn parse_answer(payload: Option<&Element>) -> Result<SoftwareVersion, Error> {
    let query = payload
        .filter(|query| query.is("query", VERSION_NS))
        .ok_or_else(|| Error::Peer("software version answered without its query".into()))?;
    let field = |name| query.get_child(name, VERSION_NS).map(Element::text);
    match (field("name"), field("version")) {
        (Some(name), Some(version)) => Ok(SoftwareVersion {
            name,
            version,
            os: field("os"),
        }),
        _ => Err(Error::Peer(
            "software version without name or version".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Limits;

    fn iq(xml: &str) -> Iq {
        Iq::from_element(&Element::parse(xml, &Limits::default()).unwrap()).unwrap()
    }

    #[test]
    fn answers_and_reads_its_own_answer() {
        // XEP-0092 §3 example 1.
        let request = iq("<iq xmlns='jabber:client' type='get' from='romeo@montague.net/orchard' \
                          to='juliet@capulet.com/balcony' id='version_1'><query xmlns='jabber:iq:version'/></iq>");
        assert!(is_request(&request));
        let answer = answer(&request);
        assert_eq!(answer.to.as_deref(), Some("romeo@montague.net/orchard"));
        assert_eq!(
            parse_answer(answer.payload.as_ref()).unwrap(),
            SoftwareVersion {
                name: "Vigie".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                os: None
            }
        );
        assert!(!is_request(&answer));
        assert_eq!(
            Iq {
                id: "v".into(),
                ..super::request("localhost")
            }
            .to_element()
            .to_xml(),
            "<iq xmlns='jabber:client' to='localhost' id='v' type='get'><query xmlns='jabber:iq:version'/></iq>"
        );
    }

    #[test]
    fn reads_a_prosody_answer() {
        let answer = iq("<iq xmlns='jabber:client' type='result' from='localhost' id='v1'>\
            <query xmlns='jabber:iq:version'><name>Prosody</name><version>0.12.3</version><os>Linux</os></query></iq>");
        let version = parse_answer(answer.payload.as_ref()).unwrap();
        assert_eq!(
            (
                version.name.as_str(),
                version.version.as_str(),
                version.os.as_deref()
            ),
            ("Prosody", "0.12.3", Some("Linux"))
        );
        let incomplete = iq("<iq xmlns='jabber:client' type='result' id='v2'>\
            <query xmlns='jabber:iq:version'><name>X</name></query></iq>");
        assert!(matches!(
            parse_answer(incomplete.payload.as_ref()),
            Err(Error::Peer(_))
        ));
        assert!(parse_answer(None).is_err());
    }
}
