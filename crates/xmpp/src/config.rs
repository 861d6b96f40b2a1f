//! How a [`Client`](crate::Client) connects: account, timeouts, reconnection, XML limits.

use std::time::Duration;

use crate::jid::{Jid, JidError};
use crate::xml::Limits;

/// What to connect as, and how patiently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Account JID; `None` logs in with SASL ANONYMOUS on `domain`.
    pub jid: Option<String>,
    /// The domain the stream is opened to (`to` of `<open/>`).
    pub domain: String,
    pub password: Option<String>,
    /// Resource to ask for at bind; `None` lets the server choose.
    pub resource: Option<String>,
    /// Ping the server after this much silence from it; `Duration::ZERO` disables keepalive.
    pub ping_interval: Duration,
    /// How long to wait for any traffic after a keepalive ping before giving up.
    pub ping_timeout: Duration,
    /// Deadline for stream negotiation, the closing handshake and each IQ request.
    pub request_timeout: Duration,
    /// Reconnect after a transient loss of a session that was online; `None` (the default)
    /// ends the client at the first loss with [`Event::Disconnected`](crate::Event::Disconnected).
    pub reconnect: Option<Backoff>,
    pub limits: Limits,
    /// How stanzas travel: RFC 7395 WebSocket frames (the default) or BOSH bodies.
    pub transport: Transport,
    /// XEP-0198 stream management when the server offers it: acknowledgements, and with
    /// `reconnect`, resuming a lost session instead of starting over (over WebSocket only:
    /// Prosody 0.12 cannot resume BOSH sessions). Off by default.
    pub stream_management: bool,
    /// XEP-0410: ping ourselves in each joined room after this long, and rejoin a room that
    /// no longer counts us in; `Duration::ZERO` disables it. 5 minutes by default.
    pub muc_self_ping: Duration,
    /// Fill the gap in each room after a session that could not be resumed: page through
    /// the room's archive (XEP-0313) after the last archive id shown, emit what was missed
    /// as [`Event::GroupchatMessage`](crate::Event::GroupchatMessage) (with `delay` set),
    /// and show each message once, live or archived. Needs rooms with an archive
    /// (Prosody's `muc_mam`). Off by default; see [`catchup`](crate::catchup).
    pub catch_up: bool,
    /// XEP-0077: create the account (`jid`, `password`) in-band before logging in to it;
    /// set by [`ClientConfig::register`]. Reconnections just log in.
    pub register: bool,
    /// XEP-0077 §4: do not log in; only tell whether `domain` creates accounts in-band
    /// ([`Event::RegistrationOffered`](crate::Event::RegistrationOffered), read from the
    /// features offered before authentication), then close the stream. Set by
    /// [`ClientConfig::registration_probe`].
    pub probe_registration: bool,
}

/// The framing a [`Client`](crate::Client) speaks; see the crate docs for each one's
/// calling rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// RFC 7395: one WebSocket text frame per element.
    #[default]
    WebSocket,
    /// XEP-0124/XEP-0206: HTTP requests carrying `<body/>` elements.
    Bosh {
        /// The longest time the connection manager may hold a request (`wait`).
        wait: Duration,
        /// The first request id: random, below 2^52 (XEP-0124 §14.1). The core draws no
        /// random numbers, so the caller supplies it.
        first_rid: u64,
    },
}

impl Transport {
    /// BOSH holding each request up to 60 s, starting at `first_rid`.
    pub fn bosh(first_rid: u64) -> Transport {
        Transport::Bosh {
            wait: Duration::from_secs(60),
            first_rid,
        }
    }
}

/// Exponential reconnection delays with jitter: the step is `initial`, doubled after each
/// failed attempt, up to `max`; each delay is drawn in the upper half of its step, so clients
/// that lost the same server at the same moment do not all come back at the same moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The delay after `failed_attempts` failures in a row; `draw` is uniform over `u32` (the
    /// core draws no random numbers: the client derives it from the caller's nonce, drivers
    /// that reconnect on their own pass one from their random source).
    pub fn delay(&self, failed_attempts: u32, draw: u32) -> Duration {
        let factor = 1u32 << failed_attempts.min(16);
        let step = self.initial.saturating_mul(factor).min(self.max);
        let half = step / 2;
        let jitter = (half.as_nanos() * u128::from(draw)) >> 32;
        half + Duration::from_nanos(u64::try_from(jitter).unwrap_or(u64::MAX))
    }
}

impl ClientConfig {
    /// Log in to an account; the domain comes from the JID, and so does the resource if
    /// the JID is a full one.
    pub fn login(jid: &str, password: &str) -> Result<ClientConfig, JidError> {
        let parsed = Jid::parse(jid)?;
        if parsed.node().is_none() {
            return Err(JidError(jid.to_owned()));
        }
        Ok(ClientConfig {
            jid: Some(parsed.to_bare().to_string()),
            password: Some(password.to_owned()),
            resource: parsed.resource().map(str::to_owned),
            ..ClientConfig::anonymous(parsed.domain())
        })
    }

    /// Log in anonymously (SASL ANONYMOUS) on `domain`, e.g. `anon.localhost`.
    pub fn anonymous(domain: &str) -> ClientConfig {
        ClientConfig {
            jid: None,
            domain: domain.to_owned(),
            password: None,
            resource: None,
            ping_interval: Duration::from_secs(60),
            ping_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(30),
            reconnect: None,
            limits: Limits::default(),
            transport: Transport::WebSocket,
            stream_management: false,
            muc_self_ping: Duration::from_secs(300),
            catch_up: false,
            register: false,
            probe_registration: false,
        }
    }

    /// Create the account `jid` with `password` (XEP-0077 in-band registration), then log
    /// in to it in the same session: [`Event::Registered`](crate::Event::Registered), then
    /// [`Event::Online`](crate::Event::Online). A taken name ends the session with
    /// [`Refusal::Stanza`](crate::Refusal::Stanza) `conflict`; a server that does not
    /// register in-band with [`Error::Incompatible`](crate::Error::Incompatible).
    pub fn register(jid: &str, password: &str) -> Result<ClientConfig, JidError> {
        Ok(ClientConfig {
            register: true,
            ..ClientConfig::login(jid, password)?
        })
    }

    /// Ask `domain` whether it creates accounts in-band, without logging in: a form offers
    /// "create account" only where the server would accept it.
    pub fn registration_probe(domain: &str) -> ClientConfig {
        ClientConfig {
            probe_registration: true,
            ..ClientConfig::anonymous(domain)
        }
    }

    /// The same configuration over another transport.
    pub fn with_transport(self, transport: Transport) -> ClientConfig {
        ClientConfig { transport, ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_fall_in_the_upper_half_of_each_doubling_step() {
        let backoff = Backoff {
            initial: Duration::from_secs(2),
            max: Duration::from_secs(30),
        };
        let steps = [2, 4, 8, 16, 30, 30];
        for (failed, step) in (0..).zip(steps) {
            let step = Duration::from_secs(step);
            assert_eq!(backoff.delay(failed, 0), step / 2);
            assert_eq!(backoff.delay(failed, u32::MAX / 2 + 1), step * 3 / 4);
            let longest = backoff.delay(failed, u32::MAX);
            assert!(longest < step && step - longest < Duration::from_micros(1));
        }
        // Never beyond the largest step, however many failures.
        assert!(backoff.delay(u32::MAX, u32::MAX) <= Duration::from_secs(30));
        let unbounded = Backoff {
            initial: Duration::MAX,
            max: Duration::MAX,
        };
        assert!(unbounded.delay(3, u32::MAX) > Duration::MAX / 2);
    }
}
