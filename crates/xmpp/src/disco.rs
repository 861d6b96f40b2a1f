//! XEP-0030: Service Discovery, answered minimally (who we are, which features we speak).

use crate::ping::PING_NS;
use crate::stanza::{Iq, IqType};
use crate::xml::Element;

pub const DISCO_INFO_NS: &str = "http://jabber.org/protocol/disco#info";

/// Features we implement and may advertise.
const FEATURES: [&str; 2] = [DISCO_INFO_NS, PING_NS];

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
        assert_eq!(features, [DISCO_INFO_NS, PING_NS]);
        assert_eq!(
            query
                .get_child("identity", DISCO_INFO_NS)
                .unwrap()
                .attr("category"),
            Some("client")
        );
    }
}
