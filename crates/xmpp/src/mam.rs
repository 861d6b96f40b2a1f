//! XEP-0313: Message Archive Management, for a room's archive (XEP-0045 rooms with
//! `muc_mam`) and for the user's own archive: query a page by correspondent, time range or
//! position, read forwarded results, and the final `<fin/>` that says whether the archive
//! is exhausted. Paging uses XEP-0059 Result Set Management.

use crate::data_form;
use crate::error::Error;
use crate::muc::RoomMessage;
use crate::stanza::{Delay, Iq, IqType, Message, CLIENT_NS, DELAY_NS};
use crate::xml::Element;

pub const MAM_NS: &str = "urn:xmpp:mam:2";
/// XEP-0297: Stanza Forwarding.
pub const FORWARD_NS: &str = "urn:xmpp:forward:0";
/// XEP-0059: Result Set Management.
pub const RSM_NS: &str = "http://jabber.org/protocol/rsm";

/// Which part of an archive to fetch; results come oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveQuery {
    /// Only messages archived after this archive id (the `stanza_id` of the last one seen).
    pub after_id: Option<String>,
    /// Only messages archived before this archive id; `Some("")` asks for the newest page.
    pub before_id: Option<String>,
    /// Only messages exchanged with this JID (personal archive: a contact; bare or full).
    pub with: Option<String>,
    /// Only messages since this XEP-0082 timestamp.
    pub start: Option<String>,
    /// Only messages until this XEP-0082 timestamp.
    pub end: Option<String>,
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

/// The query to `archive` (a room JID, or `None` for our own archive), with `query_id`
/// both as IQ id and XEP-0313 `queryid`.
pub fn request(archive: Option<&str>, query_id: &str, query: &ArchiveQuery) -> Iq {
    let filters = [
        ("with", &query.with),
        ("start", &query.start),
        ("end", &query.end),
    ];
    let form = data_form::submit(
        MAM_NS,
        filters
            .into_iter()
            .filter_map(|(var, value)| Some((var, value.as_deref()?))),
    );
    let mut mam_query = Element::new("query", MAM_NS)
        .with_attr("queryid", query_id)
        .with_child(form);
    let rsm = [
        ("max", query.max.map(|max| max.to_string())),
        ("after", query.after_id.clone()),
        ("before", query.before_id.clone()),
    ];
    if rsm.iter().any(|(_, value)| value.is_some()) {
        let mut set = Element::new("set", RSM_NS);
        for (name, value) in rsm {
            if let Some(value) = value {
                set.push_child(Element::new(name, RSM_NS).with_text(value));
            }
        }
        mam_query.push_child(set);
    }
    Iq {
        id: query_id.to_owned(),
        ..Iq::set(archive, mam_query)
    }
}

/// One archived message, forwarded in answer to a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveResult {
    /// The `queryid` of our query.
    pub query_id: String,
    /// The archive's id for the message (the `after_id` to page on).
    pub archive_id: String,
    /// The message as archived, with the original send time as its `delay`.
    pub message: Message,
}

impl ArchiveResult {
    /// The result as a room message: its archive id becomes the `stanza_id`. `None` if the
    /// archived message is not a groupchat message.
    pub fn into_room_message(self) -> Option<RoomMessage> {
        let mut room_message = RoomMessage::from_message(self.message)?;
        room_message.stanza_id = Some(self.archive_id);
        Some(room_message)
    }
}

/// The archived message `message` carries, if it is a result for a query (ours or not:
/// the caller checks the query id and the sender).
pub fn parse_result(message: &Message) -> Option<ArchiveResult> {
    let result = message
        .payloads
        .iter()
        .find(|payload| payload.is("result", MAM_NS))?;
    let query_id = result.attr("queryid")?.to_owned();
    let archive_id = result.attr("id")?.to_owned();
    let forwarded = result.get_child("forwarded", FORWARD_NS)?;
    let inner = forwarded.get_child("message", CLIENT_NS)?;
    let mut inner = Message::from_element(inner).ok()?;
    // The archived copy may lack its own delay; the forwarding wrapper always carries it.
    if let Some(delay) = forwarded.get_child("delay", DELAY_NS) {
        inner.delay = delay.attr("stamp").map(|stamp| Delay {
            stamp: stamp.to_owned(),
            from: delay.attr("from").map(str::to_owned),
        });
    }
    Some(ArchiveResult {
        query_id,
        archive_id,
        message: inner,
    })
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
            ..ArchiveQuery::default()
        };
        assert_eq!(
            request(Some("accidents@rooms.localhost"), "q1", &query).to_element().to_xml(),
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
        let result = parse_result(&message).unwrap();
        assert_eq!(result.query_id, "q1");
        let archived = result.into_room_message().unwrap();
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
    fn personal_archive_query_with_filters_and_a_chat_result() {
        let query = ArchiveQuery {
            with: Some("juliet@localhost".into()),
            end: Some("2026-11-22T01:00:00Z".into()),
            before_id: Some(String::new()),
            max: Some(1),
            ..ArchiveQuery::default()
        };
        assert_eq!(
            request(None, "q2", &query).to_element().to_xml(),
            "<iq xmlns='jabber:client' id='q2' type='set'>\
             <query xmlns='urn:xmpp:mam:2' queryid='q2'><x xmlns='jabber:x:data' type='submit'>\
             <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>\
             <field var='with'><value>juliet@localhost</value></field>\
             <field var='end'><value>2026-11-22T01:00:00Z</value></field></x>\
             <set xmlns='http://jabber.org/protocol/rsm'><max>1</max><before/></set></query></iq>"
        );
        let message = Message::from_element(&element(
            "<message xmlns='jabber:client' to='romeo@localhost/r'>\
             <result xmlns='urn:xmpp:mam:2' queryid='q2' id='28482'>\
             <forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-11-22T00:59:00Z'/>\
             <message xmlns='jabber:client' type='chat' from='juliet@localhost/balcony' to='romeo@localhost'>\
             <body>Hi</body></message></forwarded></result></message>",
        ))
        .unwrap();
        let result = parse_result(&message).unwrap();
        assert_eq!(result.archive_id, "28482");
        assert_eq!(result.message.body.as_deref(), Some("Hi"));
        assert_eq!(
            result.message.delay.as_ref().unwrap().stamp,
            "2026-11-22T00:59:00Z"
        );
        assert_eq!(result.into_room_message(), None, "not a groupchat");
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
