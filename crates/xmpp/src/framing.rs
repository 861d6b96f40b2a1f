//! RFC 7395: XMPP over WebSocket framing. Every frame is one complete element: `<open/>` and
//! `<close/>` replace the stream header and footer, everything else is a top-level element.

use crate::xml::{Element, Limits, XmlError};

pub const FRAMING_NS: &str = "urn:ietf:params:xml:ns:xmpp-framing";
pub const STREAM_NS: &str = "http://etherx.jabber.org/streams";
/// RFC 6120 §4.9.2: the namespace of stream error conditions.
pub const STREAM_ERRORS_NS: &str = "urn:ietf:params:xml:ns:xmpp-streams";
/// The WebSocket subprotocol a client must request (RFC 7395 §3.2).
pub const SUBPROTOCOL: &str = "xmpp";

/// One received WebSocket text frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The server opened (or re-opened, after SASL) the stream.
    Open {
        from: Option<String>,
        id: Option<String>,
        version: Option<String>,
    },
    /// The server closes the stream; `see_other_uri` asks us to reconnect elsewhere.
    Close { see_other_uri: Option<String> },
    /// Any other top-level element: features, SASL, stanzas, stream errors.
    Element(Element),
}

/// The client's stream header for `domain`.
pub fn open(domain: &str) -> String {
    Element::new("open", FRAMING_NS)
        .with_attr("to", domain)
        .with_attr("version", "1.0")
        .to_xml()
}

/// The client's stream footer.
pub fn close() -> String {
    Element::new("close", FRAMING_NS).to_xml()
}

/// Parses one frame. An element in no namespace is refused: over WebSocket every top-level
/// element carries its namespace itself.
pub fn parse(frame: &str, limits: &Limits) -> Result<Frame, XmlError> {
    let element = Element::parse(frame, limits)?;
    let attr = |name: &str| element.attr(name).map(str::to_owned);
    Ok(if element.is("open", FRAMING_NS) {
        Frame::Open {
            from: attr("from"),
            id: attr("id"),
            version: attr("version"),
        }
    } else if element.is("close", FRAMING_NS) {
        Frame::Close {
            see_other_uri: attr("see-other-uri"),
        }
    } else if element.ns().is_empty() {
        return Err(XmlError::Malformed(format!(
            "top-level <{}> has no namespace",
            element.name()
        )));
    } else {
        Frame::Element(element)
    })
}

/// The `<stream:error/>` (RFC 6120 §4.9, sent before `<close/>` per RFC 7395 §3.6) that
/// answers a frame refused with `error`: input past our limits is a `policy-violation`, a
/// DTD, comment or processing instruction `restricted-xml`, anything else `not-well-formed`.
pub fn refusal(error: &XmlError) -> Element {
    let condition = match error {
        XmlError::TooLarge { .. }
        | XmlError::TooDeep { .. }
        | XmlError::TooManyAttributes { .. } => "policy-violation",
        XmlError::Restricted(_) => "restricted-xml",
        XmlError::Malformed(_)
        | XmlError::UnboundPrefix(_)
        | XmlError::UnknownEntity(_)
        | XmlError::NotOneRoot => "not-well-formed",
    };
    Element::new("error", STREAM_NS).with_child(Element::new(condition, STREAM_ERRORS_NS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_header_and_footer() {
        assert_eq!(
            open("localhost"),
            "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>"
        );
        assert_eq!(
            close(),
            "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"
        );
    }

    #[test]
    fn parses_prosody_frames() {
        let limits = Limits::default();
        let open = parse("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' xml:lang='en' id='9f1c' version='1.0' from='localhost'/>", &limits).unwrap();
        assert_eq!(
            open,
            Frame::Open {
                from: Some("localhost".into()),
                id: Some("9f1c".into()),
                version: Some("1.0".into())
            }
        );
        let features = parse("<stream:features xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><required/></bind></stream:features>", &limits).unwrap();
        assert!(matches!(features, Frame::Element(e) if e.is("features", STREAM_NS)));
        let close = parse(
            "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing' see-other-uri='wss://b/ws'/>",
            &limits,
        )
        .unwrap();
        assert_eq!(
            close,
            Frame::Close {
                see_other_uri: Some("wss://b/ws".into())
            }
        );
        assert!(parse("<message/>", &limits).is_err());
    }
}
