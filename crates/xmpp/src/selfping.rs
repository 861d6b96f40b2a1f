//! XEP-0410: MUC Self-Ping (Schrödinger's Chat): an XEP-0199 ping to our own occupant JID
//! tells whether the room still counts us in, e.g. after the room's service restarted
//! without our server or connection noticing.

use crate::ping::PING_NS;
use crate::stanza::{Iq, StanzaError};
use crate::xml::Element;

/// The ping to ourselves in `room`, where we are `nick`.
pub fn request(room: &str, nick: &str, id: &str) -> Iq {
    Iq {
        id: id.to_owned(),
        ..Iq::get(
            Some(&format!("{room}/{nick}")),
            Element::new("ping", PING_NS),
        )
    }
}

/// What the answer to a self-ping says about our membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// Still an occupant: nothing to do.
    Joined,
    /// The room no longer knows us: join again.
    NotJoined,
    /// The room or its server could not be reached: ask again at the next interval.
    Unknown,
}

/// Reads the answer: `Ok(())` for a result, or the stanza error (XEP-0410 §3.2).
pub fn membership(answer: Result<(), &StanzaError>) -> Membership {
    let Err(error) = answer else {
        return Membership::Joined;
    };
    match error.condition.as_str() {
        // The room answered on behalf of our client (which did not answer pings), or the
        // nick changed meanwhile: either way we are in.
        "service-unavailable" | "feature-not-implemented" | "item-not-found" => Membership::Joined,
        "remote-server-not-found" | "remote-server-timeout" => Membership::Unknown,
        // Notably `not-acceptable`: "you are not an occupant".
        _ => Membership::NotJoined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stanza::ErrorType;

    #[test]
    fn pings_our_occupant_jid() {
        assert_eq!(
            request("ops@rooms.localhost", "gw", "sp1")
                .to_element()
                .to_xml(),
            "<iq xmlns='jabber:client' to='ops@rooms.localhost/gw' id='sp1' type='get'>\
             <ping xmlns='urn:xmpp:ping'/></iq>"
        );
    }

    #[test]
    fn reads_each_answer_as_xep_0410_says() {
        let error = |condition| StanzaError::new(ErrorType::Cancel, condition);
        assert_eq!(membership(Ok(())), Membership::Joined);
        for joined in [
            "service-unavailable",
            "feature-not-implemented",
            "item-not-found",
        ] {
            assert_eq!(membership(Err(&error(joined))), Membership::Joined);
        }
        for unknown in ["remote-server-not-found", "remote-server-timeout"] {
            assert_eq!(membership(Err(&error(unknown))), Membership::Unknown);
        }
        assert_eq!(
            membership(Err(&error("not-acceptable"))),
            Membership::NotJoined
        );
    }
}
