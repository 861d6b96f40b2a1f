//! XEP-0085: Chat State Notifications — whether a contact is typing, paused, or gone — on
//! one-to-one chat messages, with or without a body (rooms: [`crate::muc`]).

use crate::stanza::{wire_enum, Message, MessageType};
use crate::xml::Element;

/// XEP-0085's namespace (also advertised in our disco#info).
pub const CHATSTATES_NS: &str = "http://jabber.org/protocol/chatstates";
/// XEP-0334: Message Processing Hints.
pub const HINTS_NS: &str = "urn:xmpp:hints";

wire_enum!(
    /// XEP-0085 §2: where the sender stands in the conversation.
    ChatState {
        /// Paying attention to the conversation (also sent with each message).
        Active = "active",
        /// Typing.
        Composing = "composing",
        /// Was typing, stopped for a while.
        Paused = "paused",
        /// Not paying attention for a while.
        Inactive = "inactive",
        /// Closed the conversation.
        Gone = "gone",
    }
);

impl ChatState {
    /// The `<active/>`… element carrying this state.
    pub fn to_element(self) -> Element {
        Element::new(self.as_str(), CHATSTATES_NS)
    }

    /// The state an element carries, if it is a chat state at all.
    pub fn from_element(element: &Element) -> Option<ChatState> {
        (element.ns() == CHATSTATES_NS)
            .then(|| ChatState::from_wire(element.name()))
            .flatten()
    }
}

/// A standalone chat state notification (no body). It carries a XEP-0334 `<no-store/>`
/// hint: "typing" is stale by the time an offline contact would read it from storage.
pub fn notification(state: ChatState) -> Message {
    Message::new(MessageType::Chat)
        .with_chat_state(state)
        .with_payload(Element::new("no-store", HINTS_NS))
}

impl Message {
    /// The XEP-0085 chat state this message carries (the first, should a sender send two).
    pub fn chat_state(&self) -> Option<ChatState> {
        self.payloads.iter().find_map(ChatState::from_element)
    }

    /// The same message carrying `state` (replacing any other chat state).
    pub fn with_chat_state(mut self, state: ChatState) -> Message {
        self.payloads
            .retain(|payload| ChatState::from_element(payload).is_none());
        self.with_payload(state.to_element())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Limits;

    fn message(xml: &str) -> Message {
        Message::from_element(&Element::parse(xml, &Limits::default()).unwrap()).unwrap()
    }

    #[test]
    fn reads_states_with_and_without_body() {
        // XEP-0085 §5 examples.
        let typing = message(
            "<message xmlns='jabber:client' from='bernardo@shakespeare.lit/pda' to='francisco@shakespeare.lit' type='chat'>\
             <composing xmlns='http://jabber.org/protocol/chatstates'/></message>",
        );
        assert_eq!(typing.chat_state(), Some(ChatState::Composing));
        assert_eq!(typing.body, None);
        let with_body = message(
            "<message xmlns='jabber:client' from='bernardo@shakespeare.lit/pda' to='francisco@shakespeare.lit' type='chat'>\
             <body>Who's there?</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>",
        );
        assert_eq!(with_body.chat_state(), Some(ChatState::Active));
        assert_eq!(with_body.body.as_deref(), Some("Who's there?"));
        let unknown = message(
            "<message xmlns='jabber:client' type='chat'><sleepy xmlns='http://jabber.org/protocol/chatstates'/>\
             <gone xmlns='urn:other'/></message>",
        );
        assert_eq!(unknown.chat_state(), None);
    }

    #[test]
    fn every_state_round_trips() {
        for state in [
            ChatState::Active,
            ChatState::Composing,
            ChatState::Paused,
            ChatState::Inactive,
            ChatState::Gone,
        ] {
            let sent = Message::new(MessageType::Chat)
                .with_to("bob@localhost")
                .with_chat_state(ChatState::Active)
                .with_chat_state(state);
            assert_eq!(sent.payloads.len(), 1);
            assert_eq!(
                sent.to_element().to_xml(),
                format!(
                    "<message xmlns='jabber:client' to='bob@localhost' type='chat'>\
                     <{state} xmlns='http://jabber.org/protocol/chatstates'/></message>"
                )
            );
            let received = Message::from_element(&sent.to_element()).unwrap();
            assert_eq!(received.chat_state(), Some(state));
        }
        // XEP-0334 example 1's shape: the state, then the hint.
        assert_eq!(
            notification(ChatState::Composing).to_element().to_xml(),
            "<message xmlns='jabber:client' type='chat'>\
             <composing xmlns='http://jabber.org/protocol/chatstates'/>\
             <no-store xmlns='urn:xmpp:hints'/></message>"
        );
    }
}
