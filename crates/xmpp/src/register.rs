//! XEP-0077: In-Band Registration — creating an account before logging in (see
//! [`ClientConfig::register`](crate::ClientConfig::register)), changing its password and
//! removing it once logged in.

use crate::error::Error;
use crate::stanza::{Iq, IqType};
use crate::xml::Element;

/// XEP-0077's namespace.
pub const REGISTER_NS: &str = "jabber:iq:register";
/// XEP-0077 §4: the stream feature saying the server registers accounts in-band.
pub const REGISTER_FEATURE_NS: &str = "http://jabber.org/features/iq-register";

/// Whether the pre-authentication `features` offer in-band registration.
pub fn is_offered(features: &Element) -> bool {
    features
        .get_child("register", REGISTER_FEATURE_NS)
        .is_some()
}

/// Creates the account `username` (XEP-0077 §3.1), or (once logged in) sets its password
/// (§3.3): the same request.
pub fn set_credentials(username: &str, password: &str) -> Iq {
    let query = Element::new("query", REGISTER_NS)
        .with_child(Element::new("username", REGISTER_NS).with_text(username))
        .with_child(Element::new("password", REGISTER_NS).with_text(password));
    Iq::set(None, query)
}

/// Removes the account we are logged in to (XEP-0077 §3.2).
pub fn remove_account() -> Iq {
    Iq::set(
        None,
        Element::new("query", REGISTER_NS).with_child(Element::new("remove", REGISTER_NS)),
    )
}

/// The outcome of a registration request: `conflict` (the name is taken), `not-allowed`,
/// `not-acceptable` (a field is missing or invalid)… are the server's refusal.
pub fn parse_answer(answer: &Iq) -> Result<(), Error> {
    match (answer.kind, &answer.error) {
        (IqType::Result, _) => Ok(()),
        (IqType::Error, Some(error)) => Err(error.clone().into()),
        _ => Err(Error::Peer(format!(
            "registration answered with an iq of type {}",
            answer.kind
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Refusal;
    use crate::xml::Limits;

    fn parse(xml: &str) -> Element {
        Element::parse(xml, &Limits::default()).unwrap()
    }

    #[test]
    fn requests_match_xep_0077() {
        let features = parse(
            "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
             <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms>\
             <register xmlns='http://jabber.org/features/iq-register'/></stream:features>",
        );
        assert!(is_offered(&features));
        assert!(!is_offered(&parse(
            "<stream:features xmlns:stream='http://etherx.jabber.org/streams'/>"
        )));
        assert_eq!(
            Iq {
                id: "reg2".into(),
                ..set_credentials("bill", "Calliope & co")
            }
            .to_element()
            .to_xml(),
            "<iq xmlns='jabber:client' id='reg2' type='set'><query xmlns='jabber:iq:register'>\
             <username>bill</username><password>Calliope &amp; co</password></query></iq>"
        );
        assert_eq!(
            Iq {
                id: "unreg1".into(),
                ..remove_account()
            }
            .to_element()
            .to_xml(),
            "<iq xmlns='jabber:client' id='unreg1' type='set'><query xmlns='jabber:iq:register'><remove/></query></iq>"
        );
    }

    #[test]
    fn a_taken_name_is_the_servers_refusal() {
        // As Prosody 0.12's mod_register_ibr answers.
        let conflict = Iq::from_element(&parse(
            "<iq xmlns='jabber:client' type='error' id='reg2'><error type='cancel'>\
             <conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
             <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>The requested username already exists.</text>\
             </error></iq>",
        ))
        .unwrap();
        match parse_answer(&conflict) {
            Err(Error::ServerRefused(Refusal::Stanza(error))) => {
                assert_eq!(error.condition, "conflict");
                assert_eq!(
                    error.text.as_deref(),
                    Some("The requested username already exists.")
                );
            }
            other => panic!("{other:?}"),
        }
        let ok = Iq::from_element(&parse(
            "<iq xmlns='jabber:client' type='result' id='reg2'/>",
        ));
        assert_eq!(parse_answer(&ok.unwrap()), Ok(()));
    }
}
