//! RFC 6120 §7 resource binding: the last negotiation step, giving us our full JID.

use crate::error::Error;
use crate::framing::STREAM_NS;
use crate::stanza::{Iq, IqType};
use crate::xml::Element;

pub const BIND_NS: &str = "urn:ietf:params:xml:ns:xmpp-bind";

/// Whether post-authentication `<stream:features/>` offer binding.
pub fn is_offered(features: &Element) -> bool {
    features.is("features", STREAM_NS) && features.get_child("bind", BIND_NS).is_some()
}

/// The bind request; `resource: None` lets the server pick one.
pub fn request(id: &str, resource: Option<&str>) -> Iq {
    let mut bind = Element::new("bind", BIND_NS);
    if let Some(resource) = resource {
        bind.push_child(Element::new("resource", BIND_NS).with_text(resource));
    }
    Iq {
        id: id.to_owned(),
        ..Iq::set(None, bind)
    }
}

/// The full JID from the server's answer to [`request`].
pub fn parse_response(response: &Iq) -> Result<String, Error> {
    match response.kind {
        IqType::Result => response
            .payload
            .as_ref()
            .filter(|payload| payload.is("bind", BIND_NS))
            .and_then(|bind| bind.get_child("jid", BIND_NS))
            .map(|jid| jid.text().trim().to_owned())
            .filter(|jid| !jid.is_empty())
            .ok_or_else(|| Error::Peer("bind result without a JID".into())),
        IqType::Error => match &response.error {
            Some(error) => Err(error.clone().into()),
            None => Err(Error::Peer("bind error without <error/>".into())),
        },
        IqType::Get | IqType::Set => Err(Error::Peer("bind answered by a request".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Refusal;
    use crate::xml::Limits;

    fn iq(xml: &str) -> Iq {
        Iq::from_element(&Element::parse(xml, &Limits::default()).unwrap()).unwrap()
    }

    #[test]
    fn request_and_prosody_result() {
        assert_eq!(
            request("bind1", Some("gw")).to_element().to_xml(),
            "<iq xmlns='jabber:client' id='bind1' type='set'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
             <resource>gw</resource></bind></iq>"
        );
        let result = iq("<iq xmlns='jabber:client' id='bind1' type='result'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
             <jid>gateway@localhost/gw</jid></bind></iq>");
        assert_eq!(parse_response(&result).unwrap(), "gateway@localhost/gw");
    }

    #[test]
    fn refusals_and_nonsense() {
        let conflict = iq(
            "<iq xmlns='jabber:client' id='b' type='error'><error type='cancel'>\
             <conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
        );
        assert!(matches!(
            parse_response(&conflict),
            Err(Error::ServerRefused(Refusal::Stanza(e))) if e.condition == "conflict"
        ));
        let empty = iq("<iq xmlns='jabber:client' id='b' type='result'/>");
        assert!(matches!(parse_response(&empty), Err(Error::Peer(_))));
    }
}
