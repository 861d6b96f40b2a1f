//! RFC 6121 §2 roster management (the contact list the server keeps, its pushes, roster
//! versioning) and §3 presence subscriptions (subscribe, subscribed, unsubscribe,
//! unsubscribed).

use crate::error::Error;
use crate::jid::Jid;
use crate::stanza::{wire_enum, Iq, IqType, Presence, PresenceType};
use crate::xml::Element;

/// RFC 6121 §2: the roster's namespace.
pub const ROSTER_NS: &str = "jabber:iq:roster";
/// RFC 6121 §2.6.1: the stream feature saying the server supports roster versioning.
pub const ROSTER_VERSIONING_NS: &str = "urn:xmpp:features:rosterver";

wire_enum!(
    /// RFC 6121 §2.1.2.5: who sees whose presence. `Remove` only appears in pushes (and in
    /// our removal requests): the contact is gone from the roster.
    Subscription {
        /// Neither sees the other's presence.
        None = "none",
        /// We see the contact's presence.
        To = "to",
        /// The contact sees ours.
        From = "from",
        /// Both ways.
        Both = "both",
        /// Deleted from the roster.
        Remove = "remove",
    }
);

wire_enum!(
    /// RFC 6121 §3: a subscription request or its answer, as a presence type.
    SubscriptionAction {
        /// Asks to see the contact's presence (§3.1).
        Subscribe = "subscribe",
        /// Lets the requester see our presence (§3.1.4 approve, or §3.4 pre-approve).
        Subscribed = "subscribed",
        /// Stops seeing the contact's presence (§3.3).
        Unsubscribe = "unsubscribe",
        /// Refuses a request, or revokes a granted subscription (§3.2).
        Unsubscribed = "unsubscribed",
    }
);

impl SubscriptionAction {
    /// The action a presence of this type carries; `None` for availability, probes, errors.
    pub fn from_presence_type(kind: PresenceType) -> Option<SubscriptionAction> {
        SubscriptionAction::from_wire(kind.as_str())
    }

    /// The presence type that carries this action.
    pub fn presence_type(self) -> PresenceType {
        match self {
            SubscriptionAction::Subscribe => PresenceType::Subscribe,
            SubscriptionAction::Subscribed => PresenceType::Subscribed,
            SubscriptionAction::Unsubscribe => PresenceType::Unsubscribe,
            SubscriptionAction::Unsubscribed => PresenceType::Unsubscribed,
        }
    }
}

/// One contact of the roster (RFC 6121 §2.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterItem {
    /// The contact's bare JID.
    pub jid: String,
    /// The name the user gave the contact.
    pub name: Option<String>,
    /// Set by the server; ignored when we add or update an item.
    pub subscription: Subscription,
    /// `ask='subscribe'`: our subscription request awaits the contact's answer.
    pub ask: bool,
    /// The groups the contact is filed under (possibly none).
    pub groups: Vec<String>,
}

impl RosterItem {
    /// A contact to add: no name, no groups, no subscription yet.
    pub fn new(jid: impl Into<String>) -> RosterItem {
        RosterItem {
            jid: jid.into(),
            name: None,
            subscription: Subscription::None,
            ask: false,
            groups: Vec::new(),
        }
    }

    /// The same item with a display name.
    pub fn with_name(mut self, name: impl Into<String>) -> RosterItem {
        self.name = Some(name.into());
        self
    }

    /// The same item filed under one more group.
    pub fn with_group(mut self, group: impl Into<String>) -> RosterItem {
        self.groups.push(group.into());
        self
    }

    /// Reads an `<item/>` of a roster result or push.
    pub fn from_element(item: &Element) -> Result<RosterItem, Error> {
        let jid = item
            .attr("jid")
            .ok_or_else(|| Error::Peer("roster <item/> without jid".into()))?;
        let subscription = match item.attr("subscription") {
            None => Subscription::None,
            Some(value) => Subscription::from_wire(value).ok_or_else(|| {
                Error::Peer(format!("roster item {jid} has subscription `{value}`"))
            })?,
        };
        Ok(RosterItem {
            jid: jid.to_owned(),
            name: item.attr("name").map(str::to_owned),
            subscription,
            ask: item.attr("ask") == Some("subscribe"),
            groups: item
                .children()
                .filter(|child| child.is("group", ROSTER_NS))
                .map(Element::text)
                .collect(),
        })
    }

    /// The `<item/>` as the server sends it (subscription and ask included).
    pub fn to_element(&self) -> Element {
        let mut item = self.request_element();
        if self.subscription != Subscription::None {
            item.set_attr("subscription", self.subscription.as_str());
        }
        if self.ask {
            item.set_attr("ask", "subscribe");
        }
        item
    }

    /// The `<item/>` of an add/update request: RFC 6121 §2.1.2.5 leaves subscription and
    /// ask to the server.
    fn request_element(&self) -> Element {
        let mut item = Element::new("item", ROSTER_NS).with_attr("jid", self.jid.clone());
        if let Some(name) = &self.name {
            item.set_attr("name", name.clone());
        }
        for group in &self.groups {
            item.push_child(Element::new("group", ROSTER_NS).with_text(group.clone()));
        }
        item
    }
}

/// The answer to a roster get (RFC 6121 §2.1.3, §2.6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roster {
    /// The roster version to remember for the next request, when the server versions.
    pub version: Option<String>,
    /// Every contact; `None` when the roster is unchanged since the version we gave (the
    /// changes, if any, follow as [`Event::RosterPush`](crate::Event::RosterPush)es).
    pub items: Option<Vec<RosterItem>>,
}

/// Whether the post-authentication `features` offer roster versioning.
pub fn is_versioning_offered(features: &Element) -> bool {
    features.get_child("ver", ROSTER_VERSIONING_NS).is_some()
}

/// The roster get; `version` (only with versioning, `""` when we have none) asks for the
/// changes since.
pub fn request(version: Option<&str>) -> Iq {
    let mut query = Element::new("query", ROSTER_NS);
    if let Some(version) = version {
        query.set_attr("ver", version);
    }
    Iq::get(None, query)
}

/// Adds `item` or updates the contact it names (name and groups; RFC 6121 §2.3, §2.4).
pub fn set_item(item: &RosterItem) -> Result<Iq, Error> {
    check_contact(&item.jid)?;
    let query = Element::new("query", ROSTER_NS).with_child(item.request_element());
    Ok(Iq::set(None, query))
}

/// Deletes `jid` from the roster, cancelling subscriptions both ways (RFC 6121 §2.5).
pub fn remove_item(jid: &str) -> Result<Iq, Error> {
    check_contact(jid)?;
    let item = Element::new("item", ROSTER_NS)
        .with_attr("jid", jid)
        .with_attr("subscription", Subscription::Remove.as_str());
    Ok(Iq::set(
        None,
        Element::new("query", ROSTER_NS).with_child(item),
    ))
}

/// Reads the answer to [`request`]: an empty result means "unchanged since your version".
pub fn parse_result(payload: Option<&Element>) -> Result<Roster, Error> {
    let Some(query) = payload else {
        return Ok(Roster {
            version: None,
            items: None,
        });
    };
    if !query.is("query", ROSTER_NS) {
        return Err(Error::Peer(format!(
            "roster answered with <{}/>",
            query.name()
        )));
    }
    let items = query
        .children()
        .filter(|child| child.is("item", ROSTER_NS))
        .map(RosterItem::from_element)
        .collect::<Result<_, _>>()?;
    Ok(Roster {
        version: query.attr("ver").map(str::to_owned),
        items: Some(items),
    })
}

/// A roster push (RFC 6121 §2.1.6): the changed item and the new roster version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterPush {
    /// The item as it now stands (`Remove`: deleted).
    pub item: RosterItem,
    /// The roster version after this change.
    pub version: Option<String>,
}

/// Whether `iq` is a roster push at all (valid or not).
pub fn is_push(iq: &Iq) -> bool {
    iq.kind == IqType::Set
        && iq
            .payload
            .as_ref()
            .is_some_and(|payload| payload.is("query", ROSTER_NS))
}

/// Reads a roster push. `own_bare` is our bare JID: RFC 6121 §2.1.6 says a push from
/// anyone else is a forgery to ignore, and that a push carries exactly one item.
pub fn parse_push(iq: &Iq, own_bare: Option<&str>) -> Result<RosterPush, Error> {
    if iq.from.is_some() && iq.from.as_deref() != own_bare {
        return Err(Error::Peer(format!(
            "roster push from {}, not our server",
            iq.from.as_deref().unwrap_or_default()
        )));
    }
    let query = iq
        .payload
        .as_ref()
        .filter(|_| is_push(iq))
        .ok_or_else(|| Error::Peer("not a roster push".into()))?;
    let mut items = query.children().filter(|child| child.is("item", ROSTER_NS));
    match (items.next(), items.next()) {
        (Some(item), None) => Ok(RosterPush {
            item: RosterItem::from_element(item)?,
            version: query.attr("ver").map(str::to_owned),
        }),
        _ => Err(Error::Peer(
            "roster push without exactly one <item/>".into(),
        )),
    }
}

/// The presence carrying `action` to `to` (a bare JID).
pub fn subscription_presence(to: &str, action: SubscriptionAction) -> Result<Presence, Error> {
    check_contact(to)?;
    Ok(Presence::new(action.presence_type()).with_to(to))
}

/// Roster items and subscriptions are about bare JIDs (RFC 6121 §2.1.2.1, §3.1.1).
fn check_contact(jid: &str) -> Result<(), Error> {
    match Jid::parse(jid) {
        Ok(parsed) if parsed.resource().is_none() => Ok(()),
        _ => Err(Error::Misuse(format!("`{jid}` is not a bare JID"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Limits;

    fn iq(xml: &str) -> Iq {
        Iq::from_element(&Element::parse(xml, &Limits::default()).unwrap()).unwrap()
    }

    /// RFC 6121 §2.1.4 example, as Prosody 0.12 sends it (with a version).
    const ROSTER_RESULT: &str = "<iq xmlns='jabber:client' type='result' id='r1' to='alice@localhost/a'>\
        <query xmlns='jabber:iq:roster' ver='3'>\
        <item jid='bob@localhost' subscription='both' name='Bob'><group>Friends</group><group>Ops</group></item>\
        <item jid='carol@localhost' subscription='none' ask='subscribe'/>\
        <item jid='dave@localhost'/>\
        </query></iq>";

    #[test]
    fn reads_a_roster_and_round_trips_its_items() {
        let roster = parse_result(iq(ROSTER_RESULT).payload.as_ref()).unwrap();
        assert_eq!(roster.version.as_deref(), Some("3"));
        let items = roster.items.unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(
            items[0],
            RosterItem {
                jid: "bob@localhost".into(),
                name: Some("Bob".into()),
                subscription: Subscription::Both,
                ask: false,
                groups: vec!["Friends".into(), "Ops".into()],
            }
        );
        assert!(items[1].ask);
        assert_eq!(items[2].subscription, Subscription::None);
        for item in items {
            assert_eq!(RosterItem::from_element(&item.to_element()).unwrap(), item);
        }
    }

    #[test]
    fn an_empty_result_means_unchanged() {
        let unchanged = iq("<iq xmlns='jabber:client' type='result' id='r2'/>");
        assert_eq!(
            parse_result(unchanged.payload.as_ref()).unwrap(),
            Roster {
                version: None,
                items: None
            }
        );
        let wrong = iq("<iq xmlns='jabber:client' type='result' id='r3'><x xmlns='urn:x'/></iq>");
        assert!(matches!(
            parse_result(wrong.payload.as_ref()),
            Err(Error::Peer(_))
        ));
    }

    #[test]
    fn requests_match_rfc_6121() {
        let get = Iq {
            id: "g".into(),
            ..request(Some(""))
        };
        assert_eq!(
            get.to_element().to_xml(),
            "<iq xmlns='jabber:client' id='g' type='get'><query xmlns='jabber:iq:roster' ver=''/></iq>"
        );
        let mut item = RosterItem::new("bob@localhost")
            .with_name("Bob & co")
            .with_group("Ops");
        // What the server decides is not ours to send.
        item.subscription = Subscription::Both;
        item.ask = true;
        let set = Iq {
            id: "s".into(),
            ..set_item(&item).unwrap()
        };
        assert_eq!(
            set.to_element().to_xml(),
            "<iq xmlns='jabber:client' id='s' type='set'><query xmlns='jabber:iq:roster'>\
             <item jid='bob@localhost' name='Bob &amp; co'><group>Ops</group></item></query></iq>"
        );
        let remove = Iq {
            id: "d".into(),
            ..remove_item("bob@localhost").unwrap()
        };
        assert_eq!(
            remove.to_element().to_xml(),
            "<iq xmlns='jabber:client' id='d' type='set'><query xmlns='jabber:iq:roster'>\
             <item jid='bob@localhost' subscription='remove'/></query></iq>"
        );
        assert!(matches!(
            set_item(&RosterItem::new("bob@localhost/phone")),
            Err(Error::Misuse(_))
        ));
        assert!(matches!(remove_item(""), Err(Error::Misuse(_))));
    }

    #[test]
    fn pushes_are_accepted_only_from_our_account() {
        let push = iq("<iq xmlns='jabber:client' type='set' id='p1' from='alice@localhost' to='alice@localhost/a'>\
            <query xmlns='jabber:iq:roster' ver='4'><item jid='bob@localhost' subscription='remove'/></query></iq>");
        assert!(is_push(&push));
        let parsed = parse_push(&push, Some("alice@localhost")).unwrap();
        assert_eq!(parsed.item.subscription, Subscription::Remove);
        assert_eq!(parsed.version.as_deref(), Some("4"));
        assert!(matches!(
            parse_push(&push, Some("mallory@localhost")),
            Err(Error::Peer(_))
        ));
        let two = iq(
            "<iq xmlns='jabber:client' type='set' id='p2'><query xmlns='jabber:iq:roster'>\
            <item jid='a@localhost'/><item jid='b@localhost'/></query></iq>",
        );
        assert!(matches!(parse_push(&two, None), Err(Error::Peer(_))));
        let bad = iq(
            "<iq xmlns='jabber:client' type='set' id='p3'><query xmlns='jabber:iq:roster'>\
            <item jid='a@localhost' subscription='maybe'/></query></iq>",
        );
        assert!(matches!(parse_push(&bad, None), Err(Error::Peer(_))));
    }

    /// A client logged in (SASL ANONYMOUS) over WebSocket as `u@localhost/r`, with the
    /// frames it sent so far drained.
    fn online_client(now: crate::Instant) -> crate::Client {
        let mut client = crate::Client::new(
            crate::ClientConfig::anonymous("localhost"),
            "roster-test-nonce-0123".into(),
        );
        client.handle_connected(now);
        let open = "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' version='1.0' from='localhost' id='s1'/>";
        let features = |inner: &str| {
            format!("<stream:features xmlns:stream='http://etherx.jabber.org/streams'>{inner}</stream:features>")
        };
        for frame in [
            open.to_owned(),
            features("<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>ANONYMOUS</mechanism></mechanisms>"),
            "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>".to_owned(),
            open.to_owned(),
            features("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><ver xmlns='urn:xmpp:features:rosterver'/>"),
        ] {
            client.handle_frame(&frame, now);
        }
        let bind_id = sent(&mut client).pop().unwrap().id;
        client.handle_frame(
            &format!(
                "<iq xmlns='jabber:client' type='result' id='{bind_id}'>\
                 <bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>u@localhost/r</jid></bind></iq>"
            ),
            now,
        );
        assert!(client.is_online());
        while client.poll_event().is_some() {}
        client
    }

    /// The IQs the client sent since the last call.
    fn sent(client: &mut crate::Client) -> Vec<Iq> {
        std::iter::from_fn(|| client.poll_transmit())
            .filter_map(|frame| Element::parse(&frame, &Limits::default()).ok())
            .filter_map(|element| Iq::from_element(&element).ok())
            .collect()
    }

    #[test]
    fn the_client_acknowledges_pushes_and_refuses_forgeries() {
        let now = crate::Instant::now();
        let mut client = online_client(now);
        // The server versions rosters, so the version goes out.
        client.request_roster(Some("3")).unwrap();
        let [get] = sent(&mut client).try_into().unwrap();
        assert_eq!(get.payload.unwrap().attr("ver"), Some("3"));

        client.handle_frame(
            "<iq xmlns='jabber:client' type='set' id='push1' to='u@localhost/r'>\
             <query xmlns='jabber:iq:roster' ver='4'><item jid='bob@localhost' subscription='from'/></query></iq>",
            now,
        );
        let [ack] = sent(&mut client).try_into().unwrap();
        assert_eq!(
            (ack.id.as_str(), ack.kind, ack.to),
            ("push1", IqType::Result, None)
        );
        let mut expected = RosterItem::new("bob@localhost");
        expected.subscription = Subscription::From;
        assert_eq!(
            client.poll_event(),
            Some(crate::Event::RosterPush {
                item: expected,
                version: Some("4".into())
            })
        );

        client.handle_frame(
            "<iq xmlns='jabber:client' type='set' id='push2' from='mallory@localhost/x'>\
             <query xmlns='jabber:iq:roster'><item jid='mallory@localhost'/></query></iq>",
            now,
        );
        let [refusal] = sent(&mut client).try_into().unwrap();
        assert_eq!(refusal.kind, IqType::Error);
        assert_eq!(refusal.error.unwrap().condition, "bad-request");
        assert!(matches!(
            client.poll_event(),
            Some(crate::Event::Error(Error::Peer(_)))
        ));
        assert_eq!(client.poll_event(), None);

        // A subscription request is an event of its own, from the bare JID.
        client.handle_frame(
            "<presence xmlns='jabber:client' type='subscribe' from='bob@localhost/phone'><status>hi</status></presence>",
            now,
        );
        assert_eq!(
            client.poll_event(),
            Some(crate::Event::Subscription {
                from: "bob@localhost".into(),
                action: SubscriptionAction::Subscribe,
                status: Some("hi".into())
            })
        );
    }

    #[test]
    fn subscription_presences() {
        for action in [
            SubscriptionAction::Subscribe,
            SubscriptionAction::Subscribed,
            SubscriptionAction::Unsubscribe,
            SubscriptionAction::Unsubscribed,
        ] {
            let presence = subscription_presence("bob@localhost", action).unwrap();
            let xml = presence.to_element().to_xml();
            assert_eq!(
                xml,
                format!("<presence xmlns='jabber:client' to='bob@localhost' type='{action}'/>")
            );
            let parsed = Presence::from_element(&presence.to_element()).unwrap();
            assert_eq!(
                SubscriptionAction::from_presence_type(parsed.kind),
                Some(action)
            );
        }
        assert_eq!(
            SubscriptionAction::from_presence_type(PresenceType::Available),
            None
        );
        assert!(subscription_presence("bob@localhost/x", SubscriptionAction::Subscribe).is_err());
    }
}
