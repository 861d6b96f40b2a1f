//! Errors of the client core, classified by whose fault they are (peer, server policy, caller).

use crate::stanza::StanzaError;

/// What went wrong, and whose fault it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The server sent something malformed or broke the protocol.
    #[error("server violated the protocol: {0}")]
    Peer(String),
    /// The server speaks the protocol but offers nothing this client supports.
    #[error("server is incompatible: {0}")]
    Incompatible(String),
    /// The server understood and said no.
    #[error("server refused: {0}")]
    ServerRefused(Refusal),
    /// The caller used the API out of order or with bad arguments.
    #[error("misuse: {0}")]
    Misuse(String),
    /// The server did not answer in time.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// The transport closed or failed underneath the stream (reported by drivers).
    #[error("transport failed: {0}")]
    Transport(String),
}

impl Error {
    /// Whether trying again later may succeed: lost or broken connections and server
    /// restarts, but not refusals of who we are or what we asked.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Peer(_) | Error::Timeout(_) | Error::Transport(_) => true,
            Error::ServerRefused(Refusal::Stream { condition, .. }) => matches!(
                condition.as_str(),
                "system-shutdown"
                    | "reset"
                    | "connection-timeout"
                    | "internal-server-error"
                    | "remote-connection-failed"
                    | "see-other-host"
                    | "undefined-condition"
            ),
            Error::ServerRefused(_) | Error::Incompatible(_) | Error::Misuse(_) => false,
        }
    }
}

/// A refusal by the server, at the layer it happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// SASL `<failure/>` (RFC 6120 §6.5), e.g. `not-authorized`.
    #[error("authentication failed ({condition}){}", text_suffix(.text))]
    Auth {
        condition: String,
        text: Option<String>,
    },
    /// `<stream:error/>` (RFC 6120 §4.9): the stream is over.
    #[error("stream error ({condition}){}", text_suffix(.text))]
    Stream {
        condition: String,
        text: Option<String>,
    },
    /// A stanza error (RFC 6120 §8.3) answering one of our stanzas.
    #[error("{0}")]
    Stanza(StanzaError),
}

fn text_suffix(text: &Option<String>) -> String {
    text.as_deref()
        .map(|t| format!(": {t}"))
        .unwrap_or_default()
}

impl From<StanzaError> for Error {
    fn from(error: StanzaError) -> Self {
        Error::ServerRefused(Refusal::Stanza(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_errors_are_worth_a_reconnect() {
        let stream = |condition: &str| {
            Error::ServerRefused(Refusal::Stream {
                condition: condition.into(),
                text: None,
            })
        };
        assert!(Error::Transport("reset by peer".into()).is_transient());
        assert!(Error::Timeout("ping").is_transient());
        assert!(stream("system-shutdown").is_transient());
        // Another session took over our resource: reconnecting would fight it.
        assert!(!stream("conflict").is_transient());
        assert!(!Error::ServerRefused(Refusal::Auth {
            condition: "not-authorized".into(),
            text: None
        })
        .is_transient());
        assert!(!Error::Incompatible("no ANONYMOUS".into()).is_transient());
    }
}
