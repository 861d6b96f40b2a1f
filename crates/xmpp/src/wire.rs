//! The client's outgoing side, whatever the transport: RFC 7395 frames or BOSH requests.

use std::collections::VecDeque;

use crate::bosh::{self, Request};
use crate::config::Transport;
use crate::framing;
use crate::xml::Element;

#[derive(Debug)]
pub(crate) enum Wire {
    /// Frames waiting for the driver, oldest first.
    WebSocket(VecDeque<String>),
    Bosh(bosh::Session),
}

impl Wire {
    pub fn new(transport: Transport) -> Wire {
        match transport {
            Transport::WebSocket => Wire::WebSocket(VecDeque::new()),
            Transport::Bosh { wait, first_rid } => Wire::Bosh(bosh::Session::new(wait, first_rid)),
        }
    }

    /// A new connection: what the old one did not send is dropped, the stream opens.
    pub fn connect(&mut self, domain: &str) {
        match self {
            Wire::WebSocket(frames) => {
                frames.clear();
                frames.push_back(framing::open(domain));
            }
            Wire::Bosh(session) => session.start(domain),
        }
    }

    /// Restarts the stream after SASL; returns whether the server answers with `<open/>`
    /// (over BOSH the restart response brings the features directly).
    pub fn restart(&mut self, domain: &str) -> bool {
        match self {
            Wire::WebSocket(frames) => {
                frames.push_back(framing::open(domain));
                true
            }
            Wire::Bosh(session) => {
                session.restart();
                false
            }
        }
    }

    pub fn send(&mut self, element: &Element) {
        match self {
            Wire::WebSocket(frames) => frames.push_back(element.to_xml()),
            Wire::Bosh(session) => session.push(element.clone()),
        }
    }

    /// Closes the stream (`<close/>`, or a BOSH `terminate`).
    pub fn close(&mut self) {
        match self {
            Wire::WebSocket(frames) => frames.push_back(framing::close()),
            Wire::Bosh(session) => session.terminate(),
        }
    }

    /// The next WebSocket frame or BOSH request body. `keep_pending`: over BOSH, send an
    /// empty request when none is in flight, so the server can always answer.
    pub fn poll_frame(&mut self, keep_pending: bool) -> Option<String> {
        match self {
            Wire::WebSocket(frames) => frames.pop_front(),
            Wire::Bosh(session) => session.poll(keep_pending).map(|request| request.body),
        }
    }

    /// The next BOSH request with its rid; always `None` over WebSocket.
    pub fn poll_request(&mut self, keep_pending: bool) -> Option<Request> {
        match self {
            Wire::WebSocket(_) => None,
            Wire::Bosh(session) => session.poll(keep_pending),
        }
    }
}
