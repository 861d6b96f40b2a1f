//! XEP-0313: Message Archive Management, for a room's archive (XEP-0045 rooms with
//! `muc_mam`): query a page after a known archive id or since a time, read forwarded
//! results, and the final `<fin/>` that says whether the archive is exhausted.
//! Paging uses XEP-0059 Result Set Management.

use crate::error::Error;
use crate::muc::{RoomMessage, DATA_FORMS_NS};
use crate::stanza::{Delay, Iq, IqType, Message};
use crate::xml::Element;

pub const MAM_NS: &str = "urn:xmpp:mam:2";
/// XEP-0297: Stanza Forwarding.
pub const FORWARD_NS: &str = "urn:xmpp:forward:0";
/// XEP-0059: Result Set Management.
pub const RSM_NS: &str = "http://jabber.org/protocol/rsm";

/// Which part of an archive to fetch, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveQuery {
    /// Only messages archived after this archive id (the `stanza_id` of the last one seen).
    pub after_id: Option<String>,
    /// Only messages since this XEP-0082 timestamp.
    pub start: Option<String>,
    /// Page size; the server may cap it (Prosody: 50 unless configured).
    pub max: Option<u32>,
}

/// The `<fin/>` ending one page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivePage {
    /// No more messages after this page.
    pub complete: bool,
    /// Archive id of the last message in the page: the `after_id` of the next query.
    pub last_id: Option<String>,
}

/// The query, with `query_id` both as IQ id and XEP-0313 `queryid`.
pub fn request(archive: &str, query_id: &str, query: &ArchiveQuery) -> Iq {
    let field = |var: &str, value: &str| {
        Element::new("field", DATA_FORMS_NS)
            .with_attr("var", var)
            .with_child(Element::new("value", DATA_FORMS_NS).with_text(value))
    };
    let mut form = Element::new("x", DATA_FORMS_NS)
        .with_attr("type", "submit")
        .with_child(field("FORM_TYPE", MAM_NS).with_attr("type", "hidden"));
    if let Some(start) = &query.start {
        form.push_child(field("start", start));
    }
    let mut mam_query = Element::new("query", MAM_NS)
        .with_attr("queryid", query_id)
        .with_child(form);
    if query.max.is_some() || query.after_id.is_some() {
        let mut set = Element::new("set", RSM_NS);
        if let Some(max) = query.max {
            set.push_child(Element::new("max", RSM_NS).with_text(max.to_string()));
        }
        if let Some(after) = &query.after_id {
            set.push_child(Element::new("after", RSM_NS).with_text(after.clone()));
        }
        mam_query.push_child(set);
    }
    Iq {
        id: query_id.to_owned(),
        ..Iq::set(Some(archive), mam_query)
    }
}

/// One archived room message, if `message` is a result for one of our queries.
/// Returns the query id with it; the archive id becomes the message's `stanza_id` and the
/// original send time its `delay`.
pub fn parse_result(message: &Message) -> Option<(String, RoomMessage)> {
    let result = message
        .payloads
        .iter()
        .find(|payload| payload.is("result", MAM_NS))?;
    let query_id = result.attr("queryid")?.to_owned();
    let archive_id = result.attr("id")?.to_owned();
    let forwarded = result.get_child("forwarded", FORWARD_NS)?;
    let inner = forwarded.get_child("message", crate::stanza::CLIENT_NS)?;
    let mut inner = Message::from_element(inner).ok()?;
    // The archived copy may lack its own delay; the forwarding wrapper always carries it.
    if let Some(delay) = forwarded.get_child("delay", crate::stanza::DELAY_NS) {
        inner.delay = delay.attr("stamp").map(|stamp| Delay {
            stamp: stamp.to_owned(),
            from: delay.attr("from").map(str::to_owned),
        });
    }
    let mut room_message = RoomMessage::from_message(inner)?;
    room_message.stanza_id = Some(archive_id);
    Some((query_id, room_message))
}

/// Reads the answer ending a query.
pub fn parse_fin(answer: &Iq) -> Result<ArchivePage, Error> {
    if answer.kind == IqType::Error {
        return Err(match &answer.error {
            Some(error) => error.clone().into(),
            None => Error::Peer("archive query error without <error/>".into()),
        });
    }
    let fin = answer
        .payload
        .as_ref()
        .filter(|payload| payload.is("fin", MAM_NS))
        .ok_or_else(|| Error::Peer("archive query answered without <fin/>".into()))?;
    Ok(ArchivePage {
        complete: matches!(fin.attr("complete"), Some("true" | "1")),
        last_id: fin
            .get_child("set", RSM_NS)
            .and_then(|set| set.get_child("last", RSM_NS))
            .map(Element::text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Limits;

    fn element(xml: &str) -> Element {
        Element::parse(xml, &Limits::default()).unwrap()
    }

    #[test]
    fn query_after_an_archive_id() {
        let query = ArchiveQuery {
            after_id: Some("a1".into()),
            start: Some("2026-11-22T00:00:00Z".into()),
            max: Some(100),
        };
        assert_eq!(
            request("accidents@rooms.localhost", "q1", &query).to_element().to_xml(),
            "<iq xmlns='jabber:client' to='accidents@rooms.localhost' id='q1' type='set'>\
             <query xmlns='urn:xmpp:mam:2' queryid='q1'><x xmlns='jabber:x:data' type='submit'>\
             <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>\
             <field var='start'><value>2026-11-22T00:00:00Z</value></field></x>\
             <set xmlns='http://jabber.org/protocol/rsm'><max>100</max><after>a1</after></set></query></iq>"
        );
    }

    #[test]
    fn parses_a_prosody_room_archive_result() {
        let message = Message::from_element(&element(
            "<message xmlns='jabber:client' from='accidents@rooms.localhost' to='collector@localhost/c'>\
             <result xmlns='urn:xmpp:mam:2' queryid='q1' id='5f3c'>\
             <forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-11-22T00:05:00Z'/>\
             <message xmlns='jabber:client' type='groupchat' from='accidents@rooms.localhost/gateway' id='01JD'>\
             <body>Accident</body><event xmlns='urn:vigie:event:1' id='01JD'/></message></forwarded></result></message>",
        ))
        .unwrap();
        let (query_id, archived) = parse_result(&message).unwrap();
        assert_eq!(query_id, "q1");
        assert_eq!(archived.room, "accidents@rooms.localhost");
        assert_eq!(archived.nick, "gateway");
        assert_eq!(archived.stanza_id.as_deref(), Some("5f3c"));
        assert_eq!(archived.delay.as_deref(), Some("2026-11-22T00:05:00Z"));
        assert!(archived.payload("event", "urn:vigie:event:1").is_some());
        assert_eq!(
            parse_result(&Message::new(crate::stanza::MessageType::Normal)),
            None
        );
    }

    #[test]
    fn parses_fin() {
        let fin = Iq::from_element(&element(
            "<iq xmlns='jabber:client' type='result' id='q1'><fin xmlns='urn:xmpp:mam:2' complete='true'>\
             <set xmlns='http://jabber.org/protocol/rsm'><first index='0'>a</first><last>b</last></set></fin></iq>",
        ))
        .unwrap();
        assert_eq!(
            parse_fin(&fin).unwrap(),
            ArchivePage {
                complete: true,
                last_id: Some("b".into())
            }
        );
        let empty = Iq::from_element(&element(
            "<iq xmlns='jabber:client' type='result' id='q1'><fin xmlns='urn:xmpp:mam:2'/></iq>",
        ))
        .unwrap();
        assert_eq!(
            parse_fin(&empty).unwrap(),
            ArchivePage {
                complete: false,
                last_id: None
            }
        );
    }
}
