//! XEP-0124: Bidirectional-streams Over Synchronous HTTP (BOSH), and XEP-0206: XMPP Over
//! BOSH. The request/response framing only: which `<body/>` to send next (rid, sid, batched
//! stanzas, restart, terminate, the empty request that keeps one pending at the server, the
//! same rid again for a lost request) and what a response body carries, in request order.

use std::collections::VecDeque;
use std::time::Duration;

use crate::stanza::CLIENT_NS;
use crate::xml::{Element, Limits, XmlError};

pub const HTTPBIND_NS: &str = "http://jabber.org/protocol/httpbind";
pub const XBOSH_NS: &str = "urn:xmpp:xbosh";
/// Times one request may fail in a row (each time resent with its rid) before the session
/// is given up.
pub const MAX_RETRIES: u32 = 3;
/// XEP-0124 §7: the client must not request a `hold` greater than one for XMPP; a second
/// request in flight releases the held one, so at most two are ever in flight.
const HOLD: u64 = 1;
/// XEP-0124 §7: a rid never exceeds 2^53 - 1 (JavaScript clients keep it in a double).
const MAX_RID: u64 = (1 << 53) - 1;

/// One HTTP request for the driver: POST `body` to the connection manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub rid: u64,
    pub body: String,
}

/// What a response carried, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// The session creation response: the stream is open (`xmpp:version`).
    Created { version: Option<String> },
    /// A top-level element of the stream (features, SASL, stanza, stream error).
    Element(Element),
    /// The connection manager ended the session (`type='terminate'`), with its condition.
    Terminated { condition: Option<String> },
}

/// A request sent and not yet processed.
#[derive(Debug)]
struct InFlight {
    body: String,
    /// Arrived ahead of an older request's response; processed once that one is in.
    response: Option<String>,
}

/// One BOSH session, from the creation request to `terminate`.
#[derive(Debug)]
pub(crate) struct Session {
    wait: Duration,
    next_rid: u64,
    to: String,
    sid: Option<String>,
    /// Requests the connection manager lets us have in flight at once.
    requests: usize,
    /// By rid, ascending: rids are issued in order. A few at most (`requests`), so a list:
    /// a B-tree's code would cost the dashboard's wasm kilobytes.
    in_flight: VecDeque<(u64, InFlight)>,
    /// Lost requests to send again with the same rid, oldest first.
    resend: VecDeque<u64>,
    /// Stanzas waiting for the next request.
    queue: Vec<Element>,
    create_wanted: bool,
    restart_wanted: bool,
    terminate_wanted: bool,
    /// `terminate` is sent: nothing else may follow.
    terminated: bool,
    /// Consecutive failed attempts of requests since the last response.
    failures: u32,
}

impl Session {
    /// `first_rid`: a random start (XEP-0124 §14.1), supplied by the caller.
    pub fn new(wait: Duration, first_rid: u64) -> Session {
        Session {
            wait,
            // Leave room for a long session below the 2^53 bound.
            next_rid: first_rid.clamp(1, MAX_RID / 2),
            to: String::new(),
            sid: None,
            requests: 1,
            in_flight: VecDeque::new(),
            resend: VecDeque::new(),
            queue: Vec::new(),
            create_wanted: false,
            restart_wanted: false,
            terminate_wanted: false,
            terminated: false,
            failures: 0,
        }
    }

    /// Starts a new session to `to`, forgetting the previous one (rids keep increasing).
    pub fn start(&mut self, to: &str) {
        *self = Session {
            to: to.to_owned(),
            create_wanted: true,
            ..Session::new(self.wait, self.next_rid)
        };
    }

    /// XEP-0206 §5: after SASL success, restart the stream with `xmpp:restart='true'`.
    pub fn restart(&mut self) {
        self.restart_wanted = true;
    }

    /// Ends the session with the next request (queued stanzas go with it).
    pub fn terminate(&mut self) {
        if self.sid.is_some() || self.create_wanted {
            self.terminate_wanted = true;
        }
        // Before the creation response there is no sid to terminate: just stop.
        if self.sid.is_none() {
            self.create_wanted = false;
            self.terminated = true;
        }
    }

    pub fn push(&mut self, element: Element) {
        self.queue.push(element);
    }

    /// Requests sent whose response has not arrived yet.
    pub fn pending(&self) -> usize {
        (self.in_flight.iter())
            .filter(|(_, request)| request.response.is_none())
            .count()
    }

    /// Nothing sent is still unanswered.
    pub fn is_drained(&self) -> bool {
        self.in_flight.is_empty() && !self.create_wanted
    }

    /// The next request to send, if the rules allow one: a lost request again first, then
    /// the creation request, then (within the server's `requests` limit) terminate, queued
    /// stanzas, restart, or an empty request when `keep_pending` and none is in flight.
    pub fn poll(&mut self, keep_pending: bool) -> Option<Request> {
        while let Some(rid) = self.resend.pop_front() {
            if let Some(request) = self.request(rid) {
                return Some(Request {
                    rid,
                    body: request.body.clone(),
                });
            }
        }
        if self.create_wanted {
            self.create_wanted = false;
            let wait = self.wait;
            return Some(self.issue(|rid, to| creation_body(rid, to, wait)));
        }
        let sid = self.sid.clone()?;
        if self.terminated || self.pending() >= self.requests {
            return None;
        }
        let mut body = Element::new("body", HTTPBIND_NS).with_attr("sid", sid);
        if self.terminate_wanted {
            self.terminated = true;
            body.set_attr("type", "terminate");
        } else if self.queue.is_empty() && self.restart_wanted {
            self.restart_wanted = false;
            body = body
                .with_attr("to", self.to.clone())
                .with_attr("xml:lang", "en")
                .with_attr("xmlns:xmpp", XBOSH_NS)
                .with_attr("xmpp:restart", "true");
        } else if self.queue.is_empty() && !(keep_pending && self.pending() == 0) {
            return None;
        }
        for stanza in self.queue.drain(..) {
            body.push_child(stanza);
        }
        Some(self.issue(|rid, _| {
            body.set_attr("rid", rid.to_string());
            body.to_xml()
        }))
    }

    fn issue(&mut self, body: impl FnOnce(u64, &str) -> String) -> Request {
        let rid = self.next_rid;
        self.next_rid += 1;
        let body = body(rid, &self.to);
        self.in_flight.push_back((
            rid,
            InFlight {
                body: body.clone(),
                response: None,
            },
        ));
        Request { rid, body }
    }

    /// The response to request `rid` (`None`: the oldest unanswered one). Returns what the
    /// responses now processable carry, in rid order; late duplicates carry nothing.
    pub fn receive(
        &mut self,
        rid: Option<u64>,
        text: &str,
        limits: &Limits,
    ) -> Result<Vec<Incoming>, XmlError> {
        let rid = rid.or_else(|| {
            self.in_flight
                .iter()
                .find(|(_, request)| request.response.is_none())
                .map(|(rid, _)| *rid)
        });
        let Some(request) = rid.and_then(|rid| self.request_mut(rid)) else {
            return Ok(Vec::new());
        };
        if request.response.is_some() {
            return Ok(Vec::new());
        }
        request.response = Some(text.to_owned());
        self.failures = 0;
        self.resend.retain(|resend| Some(*resend) != rid);
        let mut incoming = Vec::new();
        while (self.in_flight.front()).is_some_and(|(_, request)| request.response.is_some()) {
            if let Some((_, request)) = self.in_flight.pop_front() {
                let response = request.response.unwrap_or_default();
                self.parse_response(&response, limits, &mut incoming)?;
            }
        }
        Ok(incoming)
    }

    /// Whether request `rid` was sent and its response has not arrived.
    fn is_unanswered(&self, rid: u64) -> bool {
        self.request(rid)
            .is_some_and(|request| request.response.is_none())
    }

    fn request(&self, rid: u64) -> Option<&InFlight> {
        (self.in_flight.iter()).find_map(|(sent, request)| (*sent == rid).then_some(request))
    }

    fn request_mut(&mut self, rid: u64) -> Option<&mut InFlight> {
        (self.in_flight.iter_mut()).find_map(|(sent, request)| (*sent == rid).then_some(request))
    }

    /// Request `rid` got no response (network error, HTTP 5xx, timeout): it will be sent
    /// again with the same rid. `Err` once too many attempts failed in a row.
    pub fn lost(&mut self, rid: u64) -> Result<(), u32> {
        if !self.is_unanswered(rid) {
            return Ok(());
        }
        self.failures += 1;
        if self.failures > MAX_RETRIES {
            return Err(self.failures);
        }
        if !self.resend.contains(&rid) {
            self.resend.push_back(rid);
        }
        Ok(())
    }

    fn parse_response(
        &mut self,
        text: &str,
        limits: &Limits,
        incoming: &mut Vec<Incoming>,
    ) -> Result<(), XmlError> {
        let body = Element::parse(text, limits)?;
        if !body.is("body", HTTPBIND_NS) {
            return Err(XmlError::Malformed(format!(
                "BOSH response <{}/> is not a <body/>",
                body.name()
            )));
        }
        let terminate = body.attr("type") == Some("terminate");
        if self.sid.is_none() && !terminate {
            let sid = body
                .attr("sid")
                .ok_or_else(|| XmlError::Malformed("BOSH session created without sid".into()))?;
            self.sid = Some(sid.to_owned());
            let requests = body
                .attr("requests")
                .and_then(|requests| requests.parse::<u64>().ok())
                .unwrap_or(HOLD + 1);
            self.requests = requests.clamp(1, HOLD + 1) as usize;
            incoming.push(Incoming::Created {
                version: xbosh_attr(&body, "version").map(str::to_owned),
            });
        }
        let condition = body.attr("condition").map(str::to_owned);
        for mut child in body.into_children() {
            // XEP-0206 §8: stanzas may inherit the body's namespace; they are jabber:client.
            child.rename_ns(HTTPBIND_NS, CLIENT_NS);
            incoming.push(Incoming::Element(child));
        }
        if terminate {
            self.terminated = true;
            self.in_flight.clear();
            incoming.push(Incoming::Terminated { condition });
        }
        Ok(())
    }
}

/// XEP-0206 §4: the session creation request.
fn creation_body(rid: u64, to: &str, wait: Duration) -> String {
    Element::new("body", HTTPBIND_NS)
        .with_attr("content", "text/xml; charset=utf-8")
        .with_attr("hold", HOLD.to_string())
        .with_attr("rid", rid.to_string())
        .with_attr("to", to)
        .with_attr("ver", "1.6")
        .with_attr("wait", wait.as_secs().max(1).to_string())
        .with_attr("xml:lang", "en")
        .with_attr("xmlns:xmpp", XBOSH_NS)
        .with_attr("xmpp:version", "1.0")
        .to_xml()
}

/// An attribute in the `urn:xmpp:xbosh` namespace, whatever prefix the server chose.
fn xbosh_attr<'a>(body: &'a Element, name: &str) -> Option<&'a str> {
    let prefix = body
        .attrs()
        .find(|(key, value)| key.starts_with("xmlns:") && *value == XBOSH_NS)
        .map(|(key, _)| &key["xmlns:".len()..])?;
    body.attr(&format!("{prefix}:{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(xml: &str) -> Element {
        Element::parse(xml, &Limits::default()).unwrap()
    }

    fn created(session: &mut Session) -> Vec<Incoming> {
        session.start("localhost");
        let create = session.poll(true).unwrap();
        session
            .receive(
                Some(create.rid),
                "<body xmlns='http://jabber.org/protocol/httpbind' sid='s1' wait='60' \
                 requests='2' hold='1' ver='1.6' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'/>",
                &Limits::default(),
            )
            .unwrap()
    }

    #[test]
    fn creation_request_carries_the_xep_0206_attributes() {
        let mut session = Session::new(Duration::from_secs(30), 1000);
        session.start("localhost");
        let request = session.poll(true).unwrap();
        assert_eq!(request.rid, 1000);
        let body = parse(&request.body);
        assert!(body.is("body", HTTPBIND_NS));
        for (name, value) in [
            ("to", "localhost"),
            ("wait", "30"),
            ("hold", "1"),
            ("ver", "1.6"),
            ("rid", "1000"),
            ("xmpp:version", "1.0"),
            ("xmlns:xmpp", XBOSH_NS),
        ] {
            assert_eq!(body.attr(name), Some(value), "{name}");
        }
        // Nothing else until the session exists.
        assert_eq!(session.poll(true), None);
        assert_eq!(
            created(&mut Session::new(Duration::from_secs(30), 1)),
            [Incoming::Created {
                version: Some("1.0".into())
            }]
        );
    }

    #[test]
    fn stanzas_are_batched_within_the_request_limit_with_increasing_rids() {
        let mut session = Session::new(Duration::from_secs(60), 7);
        created(&mut session);
        // One empty request stays pending at the server.
        let poll = session.poll(true).unwrap();
        assert_eq!(poll.rid, 8);
        assert_eq!(
            poll.body,
            "<body xmlns='http://jabber.org/protocol/httpbind' sid='s1' rid='8'/>"
        );
        assert_eq!(session.poll(true), None);
        session.push(Element::new("presence", CLIENT_NS));
        session.push(Element::new("message", CLIENT_NS));
        let data = session.poll(true).unwrap();
        assert_eq!(data.rid, 9);
        assert_eq!(parse(&data.body).children().count(), 2);
        // Two in flight: the next stanza waits for a response.
        session.push(Element::new("iq", CLIENT_NS));
        assert_eq!(session.poll(true), None);
        let empty = "<body xmlns='http://jabber.org/protocol/httpbind'/>";
        session.receive(Some(8), empty, &Limits::default()).unwrap();
        assert_eq!(session.poll(true).unwrap().rid, 10);
    }

    #[test]
    fn responses_are_processed_in_rid_order_and_duplicates_ignored() {
        let mut session = Session::new(Duration::from_secs(60), 1);
        created(&mut session);
        session.push(Element::new("presence", CLIENT_NS));
        let first = session.poll(true).unwrap();
        session.push(Element::new("message", CLIENT_NS));
        let second = session.poll(true).unwrap();
        let limits = Limits::default();
        let later =
            "<body xmlns='http://jabber.org/protocol/httpbind'><message xmlns='jabber:client' id='b'/></body>";
        assert_eq!(
            session.receive(Some(second.rid), later, &limits),
            Ok(vec![])
        );
        // Stanzas inheriting the body's namespace are jabber:client.
        let earlier = "<body xmlns='http://jabber.org/protocol/httpbind'><message id='a'/></body>";
        let incoming = session.receive(Some(first.rid), earlier, &limits).unwrap();
        let ids: Vec<_> = incoming
            .iter()
            .map(|item| match item {
                Incoming::Element(e) if e.ns() == CLIENT_NS => e.attr("id").unwrap(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(
            session.receive(Some(first.rid), earlier, &limits),
            Ok(vec![])
        );
        assert!(session.is_drained());
    }

    #[test]
    fn a_lost_request_is_resent_with_the_same_rid_until_retries_run_out() {
        let mut session = Session::new(Duration::from_secs(60), 1);
        created(&mut session);
        session.push(Element::new("message", CLIENT_NS));
        let sent = session.poll(true).unwrap();
        for _ in 0..MAX_RETRIES {
            session.lost(sent.rid).unwrap();
            assert_eq!(session.poll(true), Some(sent.clone()));
        }
        assert!(session.lost(sent.rid).is_err());
    }

    #[test]
    fn restart_and_terminate_bodies() {
        let mut session = Session::new(Duration::from_secs(60), 1);
        created(&mut session);
        session.restart();
        let restart = parse(&session.poll(false).unwrap().body);
        assert_eq!(restart.attr("xmpp:restart"), Some("true"));
        assert_eq!(restart.attr("to"), Some("localhost"));
        assert_eq!(restart.children().count(), 0);
        session.push(Element::new("presence", CLIENT_NS).with_attr("type", "unavailable"));
        session.terminate();
        let terminate = parse(&session.poll(true).unwrap().body);
        assert_eq!(terminate.attr("type"), Some("terminate"));
        assert_eq!(terminate.children().count(), 1);
        assert_eq!(session.poll(true), None);
        let incoming = session
            .receive(
                None,
                "<body xmlns='http://jabber.org/protocol/httpbind' type='terminate' condition='item-not-found'/>",
                &Limits::default(),
            )
            .unwrap();
        assert_eq!(
            incoming,
            [Incoming::Terminated {
                condition: Some("item-not-found".into())
            }]
        );
    }
}
