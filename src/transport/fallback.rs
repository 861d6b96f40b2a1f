//! Which transport each connection attempt uses. WebSocket first; when a WebSocket cannot
//! carry the stream to online (refused, closed early, never answered) BOSH is tried at once.
//! If BOSH then works, the network blocks WebSockets: BOSH it stays for the rest of the
//! page's life (a reload tries WebSocket again), so reconnects don't pay a doomed attempt
//! each time. If BOSH fails too, the server is unreachable rather than the WebSocket, so
//! after the backoff delay WebSocket is tried first again.

use super::Kind;

/// The next attempt after a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Straight away, over the other transport.
    Now(Kind),
    /// After the reconnection delay.
    AfterBackoff(Kind),
}

#[derive(Debug, Default)]
pub struct Fallback {
    /// The latest WebSocket attempt never got online.
    websocket_failed: bool,
    /// BOSH got online where WebSocket did not: stay on BOSH.
    websocket_blocked: bool,
}

impl Fallback {
    /// The transport to try when no failure argues for the other one (the first attempt).
    pub fn preferred(&self) -> Kind {
        match self.websocket_blocked {
            true => Kind::Bosh,
            false => Kind::WebSocket,
        }
    }

    /// A connection over `kind` is online.
    pub fn online(&mut self, kind: Kind) {
        match kind {
            Kind::WebSocket => self.websocket_failed = false,
            Kind::Bosh => self.websocket_blocked |= self.websocket_failed,
        }
    }

    /// A connection over `kind` ended, online at some point or not: how to try again.
    pub fn ended(&mut self, kind: Kind, was_online: bool) -> Retry {
        match (kind, was_online) {
            (Kind::WebSocket, false) => {
                self.websocket_failed = true;
                Retry::Now(Kind::Bosh)
            }
            (Kind::Bosh, false) => {
                self.websocket_failed = false;
                Retry::AfterBackoff(self.preferred())
            }
            (_, true) => Retry::AfterBackoff(self.preferred()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_while_it_works() {
        let mut fallback = Fallback::default();
        assert_eq!(fallback.preferred(), Kind::WebSocket);
        fallback.online(Kind::WebSocket);
        assert_eq!(
            fallback.ended(Kind::WebSocket, true),
            Retry::AfterBackoff(Kind::WebSocket)
        );
    }

    #[test]
    fn a_blocked_websocket_switches_to_bosh_for_good() {
        let mut fallback = Fallback::default();
        assert_eq!(
            fallback.ended(Kind::WebSocket, false),
            Retry::Now(Kind::Bosh)
        );
        fallback.online(Kind::Bosh);
        assert_eq!(fallback.preferred(), Kind::Bosh);
        // Later losses reconnect over BOSH, even when BOSH fails for a while.
        assert_eq!(
            fallback.ended(Kind::Bosh, true),
            Retry::AfterBackoff(Kind::Bosh)
        );
        assert_eq!(
            fallback.ended(Kind::Bosh, false),
            Retry::AfterBackoff(Kind::Bosh)
        );
    }

    #[test]
    fn an_unreachable_server_keeps_trying_websocket_first() {
        let mut fallback = Fallback::default();
        assert_eq!(
            fallback.ended(Kind::WebSocket, false),
            Retry::Now(Kind::Bosh)
        );
        assert_eq!(
            fallback.ended(Kind::Bosh, false),
            Retry::AfterBackoff(Kind::WebSocket)
        );
        // The server is back, WebSocket works: BOSH was never needed.
        fallback.online(Kind::WebSocket);
        assert_eq!(
            fallback.ended(Kind::WebSocket, true),
            Retry::AfterBackoff(Kind::WebSocket)
        );
    }

    #[test]
    fn a_websocket_that_worked_once_may_still_fail_later() {
        let mut fallback = Fallback::default();
        fallback.online(Kind::WebSocket);
        fallback.ended(Kind::WebSocket, true);
        // A proxy now refuses the upgrade: BOSH at once.
        assert_eq!(
            fallback.ended(Kind::WebSocket, false),
            Retry::Now(Kind::Bosh)
        );
        fallback.online(Kind::Bosh);
        assert_eq!(fallback.preferred(), Kind::Bosh);
    }
}
