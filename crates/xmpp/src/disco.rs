//! XEP-0030: Service Discovery, answered (who we are, which features we speak, no items)
//! and asked of others (their identities and features, their items).

use crate::chatstates::CHATSTATES_NS;
use crate::error::Error;
use crate::ping::PING_NS;
use crate::stanza::{Iq, IqType};
use crate::version::VERSION_NS;
use crate::xml::Element;

/// XEP-0030 info: identities and features.
pub const DISCO_INFO_NS: &str = "http://jabber.org/protocol/disco#info";
/// XEP-0030 items, e.g. the rooms of a MUC service.
pub const DISCO_ITEMS_NS: &str = "http://jabber.org/protocol/disco#items";

/// Features we implement and may advertise.
const FEATURES: [&str; 5] = [
    DISCO_INFO_NS,
    DISCO_ITEMS_NS,
    CHATSTATES_NS,
    VERSION_NS,
    PING_NS,
];

/// Whether `iq` is a disco#info query addressed to us.
pub fn is_info_request(iq: &Iq) -> bool {
    iq.kind == IqType::Get
        && iq
            .payload
            .as_ref()
            .is_some_and(|payload| payload.is("query", DISCO_INFO_NS))
}

/// Our identity (an automated client) and features. A query for a `node` we do not know
/// still gets the same answer, echoing the node as XEP-0030 asks.
pub fn answer_info(request: &Iq) -> Iq {
    let mut query = Element::new("query", DISCO_INFO_NS).with_child(
        Element::new("identity", DISCO_INFO_NS)
            .with_attr("category", "client")
            .with_attr("type", "bot")
            .with_attr("name", "Vigie"),
    );
    if let Some(node) = request
        .payload
        .as_ref()
        .and_then(|payload| payload.attr("node"))
    {
        query.set_attr("node", node);
    }
    for feature in FEATURES {
        query.push_child(Element::new("feature", DISCO_INFO_NS).with_attr("var", feature));
    }
    Iq::result_for(request, Some(query))
}

/// Whether `iq` is a disco#items query addressed to us.
pub fn is_items_request(iq: &Iq) -> bool {
    iq.kind == IqType::Get
        && iq
            .payload
            .as_ref()
            .is_some_and(|payload| payload.is("query", DISCO_ITEMS_NS))
}

/// A client has no items to list: an empty result (echoing the node).
pub fn answer_items(request: &Iq) -> Iq {
    let mut query = Element::new("query", DISCO_ITEMS_NS);
    if let Some(node) = request.payload.as_ref().and_then(|p| p.attr("node")) {
        query.set_attr("node", node);
    }
    Iq::result_for(request, Some(query))
}

/// One `<identity/>` of a disco#info answer (XEP-0030 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// e.g. `client`, `server`, `conference`.
    pub category: String,
    /// e.g. `pc`, `web`, `bot`, `im`, `text`.
    pub kind: String,
    /// A human-readable name, e.g. `Prosody`.
    pub name: Option<String>,
}

/// What an entity says it is and speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoInfo {
    /// What the entity is (usually one identity).
    pub identities: Vec<Identity>,
    /// Namespaces and feature names, e.g. `urn:xmpp:ping`.
    pub features: Vec<String>,
}

impl DiscoInfo {
    /// Whether the entity advertises `feature`.
    pub fn has_feature(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }
}

/// One `<item/>` of a disco#items answer (XEP-0030 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoItem {
    /// The item's JID (a service, a room…).
    pub jid: String,
    /// The node at that JID, when the item is one.
    pub node: Option<String>,
    /// A human-readable name.
    pub name: Option<String>,
}

/// Asks `to` (a JID; `None` for our own account) for its identities and features.
pub fn info_request(to: Option<&str>, node: Option<&str>) -> Iq {
    Iq::get(to, query(DISCO_INFO_NS, node))
}

/// Asks `to` for its items (a server's services, a MUC service's rooms…).
pub fn items_request(to: Option<&str>, node: Option<&str>) -> Iq {
    Iq::get(to, query(DISCO_ITEMS_NS, node))
}

fn query(ns: &str, node: Option<&str>) -> Element {
    let mut query = Element::new("query", ns);
    if let Some(node) = node {
        query.set_attr("node", node);
    }
    query
}

fn expect_query<'a>(payload: Option<&'a Element>, ns: &str) -> Result<&'a Element, Error> {
    payload
        .filter(|query| query.is("query", ns))
        .ok_or_else(|| Error::Peer(format!("disco answered without a <query xmlns='{ns}'/>")))
}

/// Reads the answer to [`info_request`].
pub fn parse_info(payload: Option<&Element>) -> Result<DiscoInfo, Error> {
    let query = expect_query(payload, DISCO_INFO_NS)?;
    let identities = query
        .children()
        .filter(|child| child.is("identity", DISCO_INFO_NS))
        .filter_map(|identity| {
            Some(Identity {
                category: identity.attr("category")?.to_owned(),
                kind: identity.attr("type")?.to_owned(),
                name: identity.attr("name").map(str::to_owned),
            })
        })
        .collect();
    let features = query
        .children()
        .filter(|child| child.is("feature", DISCO_INFO_NS))
        .filter_map(|feature| feature.attr("var").map(str::to_owned))
        .collect();
    Ok(DiscoInfo {
        identities,
        features,
    })
}

/// Reads the answer to [`items_request`]; items without a `jid` are skipped.
pub fn parse_items(payload: Option<&Element>) -> Result<Vec<DiscoItem>, Error> {
    let query = expect_query(payload, DISCO_ITEMS_NS)?;
    Ok(query
        .children()
        .filter(|child| child.is("item", DISCO_ITEMS_NS))
        .filter_map(|item| {
            Some(DiscoItem {
                jid: item.attr("jid")?.to_owned(),
                node: item.attr("node").map(str::to_owned),
                name: item.attr("name").map(str::to_owned),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_with_identity_and_features() {
        let request = Iq {
            from: Some("localhost".into()),
            id: "d1".into(),
            ..Iq::get(None, Element::new("query", DISCO_INFO_NS))
        };
        assert!(is_info_request(&request));
        let answer = answer_info(&request);
        assert_eq!(answer.to.as_deref(), Some("localhost"));
        let query = answer.payload.unwrap();
        let features: Vec<&str> = query
            .children()
            .filter_map(|child| child.attr("var"))
            .collect();
        assert_eq!(features, FEATURES);
        assert!(parse_info(Some(&query)).unwrap().has_feature(CHATSTATES_NS));
        assert_eq!(
            query
                .get_child("identity", DISCO_INFO_NS)
                .unwrap()
                .attr("category"),
            Some("client")
        );
    }

    fn iq(xml: &str) -> Iq {
        Iq::from_element(&Element::parse(xml, &crate::xml::Limits::default()).unwrap()).unwrap()
    }

    #[test]
    fn reads_a_servers_info_and_items() {
        // Prosody 0.12's answer, abridged.
        let info = iq(
            "<iq xmlns='jabber:client' type='result' id='d2' from='localhost'>\
            <query xmlns='http://jabber.org/protocol/disco#info'>\
            <identity type='im' name='Prosody' category='server'/>\
            <identity type='pep' category='pubsub'/>\
            <identity category='broken'/>\
            <feature var='urn:xmpp:ping'/><feature var='jabber:iq:register'/><feature/>\
            </query></iq>",
        );
        let parsed = parse_info(info.payload.as_ref()).unwrap();
        assert_eq!(
            parsed.identities[0],
            Identity {
                category: "server".into(),
                kind: "im".into(),
                name: Some("Prosody".into())
            }
        );
        assert_eq!(parsed.identities.len(), 2);
        assert_eq!(parsed.features, [PING_NS, "jabber:iq:register"]);
        assert!(!parsed.has_feature(CHATSTATES_NS));

        let items = iq("<iq xmlns='jabber:client' type='result' id='d3' from='localhost'>\
            <query xmlns='http://jabber.org/protocol/disco#items'>\
            <item jid='rooms.localhost' name='Chatrooms'/><item jid='pubsub.localhost' node='n1'/><item/>\
            </query></iq>");
        assert_eq!(
            parse_items(items.payload.as_ref()).unwrap(),
            [
                DiscoItem {
                    jid: "rooms.localhost".into(),
                    node: None,
                    name: Some("Chatrooms".into())
                },
                DiscoItem {
                    jid: "pubsub.localhost".into(),
                    node: Some("n1".into()),
                    name: None
                }
            ]
        );
        assert!(matches!(
            parse_items(info.payload.as_ref()),
            Err(Error::Peer(_))
        ));
        assert!(parse_info(None).is_err());
    }

    #[test]
    fn requests_and_the_empty_items_answer() {
        let request = Iq {
            id: "i1".into(),
            from: Some("bob@localhost/b".into()),
            ..items_request(Some("alice@localhost/a"), Some("x"))
        };
        assert_eq!(
            request.to_element().to_xml(),
            "<iq xmlns='jabber:client' from='bob@localhost/b' to='alice@localhost/a' id='i1' type='get'>\
             <query xmlns='http://jabber.org/protocol/disco#items' node='x'/></iq>"
        );
        assert!(is_items_request(&request) && !is_info_request(&request));
        let answer = answer_items(&request);
        assert_eq!(
            answer.to_element().to_xml(),
            "<iq xmlns='jabber:client' to='bob@localhost/b' id='i1' type='result'>\
             <query xmlns='http://jabber.org/protocol/disco#items' node='x'/></iq>"
        );
        assert_eq!(parse_items(answer.payload.as_ref()).unwrap(), []);
        assert!(is_info_request(&info_request(None, None)));
    }
}
