//! XEP-0199: XMPP Ping, both to keep the connection alive and to answer the server's pings.

use crate::stanza::{Iq, IqType};
use crate::xml::Element;

pub const PING_NS: &str = "urn:xmpp:ping";

/// A keepalive ping to our server.
pub fn request(id: &str) -> Iq {
    Iq {
        id: id.to_owned(),
        ..Iq::get(None, Element::new("ping", PING_NS))
    }
}

/// Whether `iq` is a ping we must answer.
pub fn is_request(iq: &Iq) -> bool {
    iq.kind == IqType::Get
        && iq
            .payload
            .as_ref()
            .is_some_and(|payload| payload.is("ping", PING_NS))
}

/// The pong answering a ping: an empty result.
pub fn answer(request: &Iq) -> Iq {
    Iq::result_for(request, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Limits;

    #[test]
    fn answers_prosody_ping() {
        let ping = Iq::from_element(
            &Element::parse(
                "<iq xmlns='jabber:client' type='get' id='c2s1' from='localhost' to='u@localhost/r'><ping xmlns='urn:xmpp:ping'/></iq>",
                &Limits::default(),
            )
            .unwrap(),
        )
        .unwrap();
        assert!(is_request(&ping));
        assert_eq!(
            answer(&ping).to_element().to_xml(),
            "<iq xmlns='jabber:client' to='localhost' id='c2s1' type='result'/>"
        );
        assert!(!is_request(&answer(&ping)));
        assert_eq!(
            request("p1").to_element().to_xml(),
            "<iq xmlns='jabber:client' id='p1' type='get'><ping xmlns='urn:xmpp:ping'/></iq>"
        );
    }
}
