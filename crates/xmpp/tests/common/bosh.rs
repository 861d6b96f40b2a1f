//! A fake XEP-0124 connection manager (hold = 1, requests = 2) in front of the fake server,
//! carrying the client's BOSH requests in memory; tests decide which requests get lost.

use std::collections::VecDeque;
use std::time::Duration;

use vigie_xmpp::bosh::{Request, HTTPBIND_NS};
use vigie_xmpp::framing::FRAMING_NS;
use vigie_xmpp::{Client, ClientConfig, Element, Event, Instant, Limits, Transport};

use super::{assert_only_online, FakeServer, SCRAM_NONCE};

pub const FIRST_RID: u64 = 1_000;

/// `user@localhost` over BOSH.
pub fn bosh_config() -> ClientConfig {
    super::user_config().with_transport(transport())
}

/// As [`bosh_config`], reconnecting as [`reconnecting_config`](super::reconnecting_config).
pub fn reconnecting_bosh_config() -> ClientConfig {
    super::reconnecting_config().with_transport(transport())
}

fn transport() -> Transport {
    Transport::Bosh {
        wait: Duration::from_secs(30),
        first_rid: FIRST_RID,
    }
}

pub struct BoshPair {
    pub client: Client,
    pub server: FakeServer,
    pub now: Instant,
    /// Every request the client sent, in order (resends included).
    pub sent: Vec<Request>,
    /// Requests the connection manager holds, oldest first.
    pub held: VecDeque<u64>,
    /// The next request the client sends never reaches the connection manager.
    pub lose_next: bool,
    /// The connection manager's expected next rid: it processes each rid once.
    next_rid: Option<u64>,
    events: Vec<Event>,
}

impl BoshPair {
    pub fn new(config: ClientConfig) -> BoshPair {
        BoshPair {
            client: Client::new(config, SCRAM_NONCE.into()),
            server: FakeServer::new(),
            now: Instant::now(),
            sent: Vec::new(),
            held: VecDeque::new(),
            lose_next: false,
            next_rid: None,
            events: Vec::new(),
        }
    }

    pub fn online() -> BoshPair {
        let mut pair = BoshPair::new(bosh_config());
        pair.connect();
        assert_only_online(&pair.take_events());
        pair
    }

    pub fn connect(&mut self) {
        self.server.new_connection();
        self.held.clear();
        self.next_rid = None;
        self.client.handle_connected(self.now);
        self.drive();
    }

    /// Carries requests and responses until nothing moves.
    pub fn drive(&mut self) {
        while let Some(request) = self.client.poll_bosh_request() {
            self.sent.push(request.clone());
            if std::mem::take(&mut self.lose_next) {
                continue;
            }
            self.receive(request);
        }
        while let Some(event) = self.client.poll_event() {
            self.events.push(event);
        }
    }

    /// The connection manager gets `request`.
    fn receive(&mut self, request: Request) {
        let body = Element::parse(&request.body, &Limits::default()).unwrap();
        assert!(body.is("body", HTTPBIND_NS));
        assert_eq!(body.attr("rid"), Some(request.rid.to_string().as_str()));
        let first = self.next_rid.is_none();
        if Some(request.rid) < self.next_rid {
            // A resent rid the manager already processed: hold it, ignore its payload.
            self.hold(request.rid);
            return;
        }
        self.next_rid = Some(request.rid + 1);
        if first {
            self.server.handle(&open_frame());
            let features = self.take_output();
            let created = format!(
                "<body xmlns='{HTTPBIND_NS}' sid='sid-1' wait='30' requests='2' hold='1' \
                 ver='1.6' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'>{features}</body>"
            );
            self.respond(request.rid, &created);
            return;
        }
        assert_eq!(body.attr("sid"), Some("sid-1"));
        if body.attr("xmpp:restart") == Some("true") {
            self.server.handle(&open_frame());
        }
        for child in body.children() {
            self.server.handle(&child.to_xml());
        }
        if body.attr("type") == Some("terminate") {
            self.respond(
                request.rid,
                &format!("<body xmlns='{HTTPBIND_NS}' type='terminate'/>"),
            );
            return;
        }
        self.hold(request.rid);
    }

    /// Holds `rid`, answering older held requests so only one stays held, and answering at
    /// once when the server has something to say.
    fn hold(&mut self, rid: u64) {
        self.held.push_back(rid);
        while self.held.len() > 1 || (!self.server.outbox.is_empty() && !self.held.is_empty()) {
            let oldest = self.held.pop_front().unwrap();
            let output = self.take_output();
            self.respond(
                oldest,
                &format!("<body xmlns='{HTTPBIND_NS}'>{output}</body>"),
            );
        }
    }

    /// The server's frames, without RFC 7395's `<open/>` (BOSH has none).
    fn take_output(&mut self) -> String {
        let mut output = String::new();
        while let Some(frame) = self.server.outbox.pop_front() {
            if !frame.contains(FRAMING_NS) {
                output.push_str(&frame);
            }
        }
        output
    }

    fn respond(&mut self, rid: u64, body: &str) {
        self.client.handle_bosh_response(rid, body, self.now);
    }

    /// The server pushes what it has into the held request.
    pub fn flush_server(&mut self) {
        if let Some(rid) = self.held.pop_front() {
            let output = self.take_output();
            self.respond(rid, &format!("<body xmlns='{HTTPBIND_NS}'>{output}</body>"));
        }
        self.drive();
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }
}

fn open_frame() -> String {
    format!("<open xmlns='{FRAMING_NS}' to='localhost' version='1.0'/>")
}
