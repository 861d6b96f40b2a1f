//! XEP-0198: Stream Management. Counters of handled stanzas both ways, the stanzas the
//! server has not acknowledged yet, and what resuming a session needs.

use std::collections::VecDeque;
use std::time::Duration;

use crate::error::Error;
use crate::stanza::CLIENT_NS;
use crate::xml::Element;

pub const SM_NS: &str = "urn:xmpp:sm:3";
/// How long after sending a stanza the client asks the server to acknowledge it (`<r/>`).
pub const ACK_REQUEST_DELAY: Duration = Duration::from_millis(500);

/// Whether post-authentication `<stream:features/>` offer stream management.
pub fn is_offered(features: &Element) -> bool {
    features.get_child("sm", SM_NS).is_some()
}

/// `<enable/>`, asking for resumption with `resume='true'`.
pub fn enable(resume: bool) -> Element {
    let enable = Element::new("enable", SM_NS);
    if resume {
        enable.with_attr("resume", "true")
    } else {
        enable
    }
}

/// `<r/>`: please acknowledge.
pub fn request() -> Element {
    Element::new("r", SM_NS)
}

/// `<a h='…'/>`: we handled `h` stanzas.
pub fn answer(h: u32) -> Element {
    Element::new("a", SM_NS).with_attr("h", h.to_string())
}

/// `<resume previd='…' h='…'/>`, sent instead of binding a resource.
pub fn resume(previd: &str, h: u32) -> Element {
    Element::new("resume", SM_NS)
        .with_attr("previd", previd)
        .with_attr("h", h.to_string())
}

/// Stanzas are what the counters count (RFC 6120 §8): message, presence, iq.
pub fn is_stanza(element: &Element) -> bool {
    element.ns() == CLIENT_NS && matches!(element.name(), "message" | "presence" | "iq")
}

/// The `h` attribute of `<a/>`, `<resumed/>` or `<failed/>`.
pub fn parse_h(element: &Element) -> Result<Option<u32>, Error> {
    element
        .attr("h")
        .map(|h| {
            h.parse()
                .map_err(|_| Error::Peer(format!("<{}/> with h='{h}'", element.name())))
        })
        .transpose()
}

/// The stream management state of one session, kept across connections while it may be
/// resumed.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// `<enable/>` went out on this connection: outgoing stanzas are kept until acked.
    pub enabled: bool,
    /// The server confirmed with `<enabled/>`: incoming stanzas are counted.
    pub counting_inbound: bool,
    /// The session id to resume with, if the server allows resumption.
    pub resume_id: Option<String>,
    /// Stanzas from the server we handled, modulo 2^32.
    pub inbound: u32,
    /// The server's latest `h`: our stanzas it handled.
    acked: u32,
    /// Stanzas sent since the last acknowledged one, oldest first.
    unacked: VecDeque<Element>,
}

impl State {
    /// Records an outgoing stanza.
    pub fn sent(&mut self, stanza: &Element) {
        if self.enabled && is_stanza(stanza) {
            self.unacked.push_back(stanza.clone());
        }
    }

    /// Counts an incoming stanza.
    pub fn handled(&mut self) {
        if self.counting_inbound {
            self.inbound = self.inbound.wrapping_add(1);
        }
    }

    /// The server handled `h` of our stanzas: forget those.
    pub fn acknowledge(&mut self, h: u32) -> Result<(), Error> {
        let newly = h.wrapping_sub(self.acked) as usize;
        if newly > self.unacked.len() {
            return Err(Error::Peer(format!(
                "server acknowledged {newly} stanzas, {} were unacknowledged",
                self.unacked.len()
            )));
        }
        self.unacked.drain(..newly);
        self.acked = h;
        Ok(())
    }

    pub fn has_unacked(&self) -> bool {
        !self.unacked.is_empty()
    }

    /// The unacknowledged stanzas, to send again (they are recorded again as they go).
    pub fn take_unacked(&mut self) -> Vec<Element> {
        self.unacked.drain(..).collect()
    }

    /// Whether a lost connection can be resumed (still true while attempts to reconnect
    /// fail before reaching `<resume/>`).
    pub fn resumable(&self) -> bool {
        self.resume_id.is_some()
    }

    /// A new connection: nothing is enabled on it yet; the counters wait for a resume.
    pub fn new_connection(&mut self) {
        self.enabled = false;
        self.counting_inbound = false;
    }

    /// A fresh session: forget everything.
    pub fn reset(&mut self) {
        *self = State::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str) -> Element {
        Element::new("message", CLIENT_NS).with_attr("id", id)
    }

    #[test]
    fn elements_round_trip() {
        assert_eq!(
            enable(true).to_xml(),
            "<enable xmlns='urn:xmpp:sm:3' resume='true'/>"
        );
        assert_eq!(answer(7).to_xml(), "<a xmlns='urn:xmpp:sm:3' h='7'/>");
        assert_eq!(
            resume("abc", 3).to_xml(),
            "<resume xmlns='urn:xmpp:sm:3' previd='abc' h='3'/>"
        );
        assert_eq!(parse_h(&answer(4294967295)), Ok(Some(u32::MAX)));
        assert!(parse_h(&Element::new("a", SM_NS).with_attr("h", "-1")).is_err());
        assert_eq!(parse_h(&Element::new("failed", SM_NS)), Ok(None));
    }

    #[test]
    fn acks_drop_stanzas_in_order_and_wrap_around() {
        let mut state = State {
            enabled: true,
            acked: u32::MAX - 1,
            ..State::default()
        };
        for id in ["a", "b", "c"] {
            state.sent(&message(id));
        }
        // Not a stanza: not counted.
        state.sent(&request());
        state.acknowledge(0).unwrap(); // u32::MAX - 1 + 2 wraps to 0
        let left: Vec<_> = state
            .take_unacked()
            .iter()
            .map(|m| m.attr("id").unwrap().to_owned())
            .collect();
        assert_eq!(left, ["c"]);
        assert!(state.acknowledge(5).is_err(), "more than was sent");
    }
}
