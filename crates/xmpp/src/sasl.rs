//! RFC 6120 §6 SASL negotiation with the mechanisms SCRAM-SHA-256 (RFC 7677), SCRAM-SHA-1
//! (RFC 5802, server signature verified), PLAIN (RFC 4616) and ANONYMOUS (RFC 4505).
//!
//! No randomness here: the caller supplies the SCRAM client nonce.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::error::{Error, Refusal};
use crate::xml::Element;

pub const SASL_NS: &str = "urn:ietf:params:xml:ns:xmpp-sasl";

/// Refuse absurd PBKDF2 iteration counts: a hostile server could otherwise pin the CPU
/// (the browser tab in particular). Prosody uses 10 000 (RFC 7677 recommends ≥ 4096).
const MAX_SCRAM_ITERATIONS: u32 = 200_000;

/// Supported mechanisms, ordered from weakest to strongest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mechanism {
    Anonymous,
    Plain,
    ScramSha1,
    ScramSha256,
}

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Anonymous => "ANONYMOUS",
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
        }
    }

    pub fn from_name(name: &str) -> Option<Mechanism> {
        [
            Mechanism::Anonymous,
            Mechanism::Plain,
            Mechanism::ScramSha1,
            Mechanism::ScramSha256,
        ]
        .into_iter()
        .find(|mechanism| mechanism.name() == name)
    }
}

/// Account name (the JID's localpart) and password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// Mechanism names listed in `<stream:features/>`, if SASL is offered.
pub fn offered_mechanisms(features: &Element) -> Vec<String> {
    features
        .get_child("mechanisms", SASL_NS)
        .map(|mechanisms| {
            mechanisms
                .children()
                .filter(|child| child.is("mechanism", SASL_NS))
                .map(|child| child.text().trim().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The strongest offered mechanism usable with what we have: a password-based one with
/// credentials, ANONYMOUS without.
pub fn choose<S: AsRef<str>>(offered: &[S], with_credentials: bool) -> Option<Mechanism> {
    offered
        .iter()
        .filter_map(|name| Mechanism::from_name(name.as_ref()))
        .filter(|&mechanism| (mechanism != Mechanism::Anonymous) == with_credentials)
        .max()
}

/// A SASL exchange in progress; each server element consumes it and yields the next step.
#[derive(Debug)]
pub enum Exchange {
    /// SCRAM: `<auth/>` sent with client-first, waiting for the server-first challenge.
    AwaitingChallenge(Scram),
    /// Waiting for `<success/>`; SCRAM exchanges still have the server signature to check.
    AwaitingSuccess {
        mechanism: Mechanism,
        server_signature: Option<Vec<u8>>,
    },
}

/// What to do after a server element.
#[derive(Debug)]
pub enum Step {
    /// Send `response` and keep waiting.
    Respond {
        exchange: Exchange,
        response: Element,
    },
    /// Authenticated: restart the stream.
    Success,
}

impl Exchange {
    /// Starts `mechanism`; returns the exchange and the `<auth/>` element to send.
    /// `credentials` is required for every mechanism but ANONYMOUS.
    pub fn start(
        mechanism: Mechanism,
        credentials: Option<&Credentials>,
        client_nonce: &str,
    ) -> Result<(Exchange, Element), Error> {
        let auth = |payload: Option<String>| {
            let element = Element::new("auth", SASL_NS).with_attr("mechanism", mechanism.name());
            match payload {
                Some(payload) => element.with_text(payload),
                None => element,
            }
        };
        let need_credentials = || {
            credentials
                .ok_or_else(|| Error::Misuse(format!("{} needs a password", mechanism.name())))
        };
        Ok(match mechanism {
            Mechanism::Anonymous => (
                Exchange::AwaitingSuccess {
                    mechanism,
                    server_signature: None,
                },
                auth(None),
            ),
            Mechanism::Plain => {
                let credentials = need_credentials()?;
                let message = format!("\0{}\0{}", credentials.username, credentials.password);
                (
                    Exchange::AwaitingSuccess {
                        mechanism,
                        server_signature: None,
                    },
                    auth(Some(BASE64.encode(message))),
                )
            }
            Mechanism::ScramSha1 | Mechanism::ScramSha256 => {
                let hash = if mechanism == Mechanism::ScramSha1 {
                    ScramHash::Sha1
                } else {
                    ScramHash::Sha256
                };
                let credentials = need_credentials()?;
                let scram = Scram::new(
                    hash,
                    &credentials.username,
                    &credentials.password,
                    client_nonce,
                );
                let first = BASE64.encode(scram.client_first());
                (Exchange::AwaitingChallenge(scram), auth(Some(first)))
            }
        })
    }

    pub fn mechanism(&self) -> Mechanism {
        match self {
            Exchange::AwaitingChallenge(scram) => scram.hash.mechanism(),
            Exchange::AwaitingSuccess { mechanism, .. } => *mechanism,
        }
    }

    /// Consumes one element from the server.
    pub fn handle(self, element: &Element) -> Result<Step, Error> {
        if element.ns() != SASL_NS {
            return Err(Error::Peer(format!(
                "unexpected <{}> during SASL",
                element.name()
            )));
        }
        match (element.name(), self) {
            ("failure", _) => Err(Error::ServerRefused(failure_refusal(element))),
            ("challenge", Exchange::AwaitingChallenge(scram)) => {
                let server_first = decode_payload(element)?;
                let (client_final, server_signature) = scram
                    .handle_server_first(&server_first)
                    .map_err(|e| Error::Peer(e.to_string()))?;
                Ok(Step::Respond {
                    exchange: Exchange::AwaitingSuccess {
                        mechanism: scram.hash.mechanism(),
                        server_signature: Some(server_signature),
                    },
                    response: Element::new("response", SASL_NS)
                        .with_text(BASE64.encode(client_final)),
                })
            }
            // Some servers send server-final as a challenge and `<success/>` with no data.
            (
                "challenge",
                Exchange::AwaitingSuccess {
                    mechanism,
                    server_signature: Some(expected),
                },
            ) => {
                verify_server_final(&decode_payload(element)?, &expected)?;
                Ok(Step::Respond {
                    exchange: Exchange::AwaitingSuccess {
                        mechanism,
                        server_signature: None,
                    },
                    response: Element::new("response", SASL_NS),
                })
            }
            (
                "success",
                Exchange::AwaitingSuccess {
                    server_signature, ..
                },
            ) => {
                if let Some(expected) = server_signature {
                    verify_server_final(&decode_payload(element)?, &expected)?;
                }
                Ok(Step::Success)
            }
            (name, _) => Err(Error::Peer(format!("unexpected SASL <{name}/>"))),
        }
    }
}

fn failure_refusal(failure: &Element) -> Refusal {
    let condition = failure
        .children()
        .find(|child| child.name() != "text")
        .map_or("undefined-condition", Element::name)
        .to_owned();
    let text = failure.get_child("text", SASL_NS).map(Element::text);
    Refusal::Auth { condition, text }
}

fn decode_payload(element: &Element) -> Result<String, Error> {
    let text = element.text();
    let text = text.trim();
    // RFC 6120 §6.4.2: "=" stands for empty data.
    let bytes = if text == "=" {
        Vec::new()
    } else {
        BASE64
            .decode(text)
            .map_err(|e| Error::Peer(format!("bad base64 in SASL <{}>: {e}", element.name())))?
    };
    String::from_utf8(bytes).map_err(|_| Error::Peer("SASL data is not UTF-8".into()))
}

fn verify_server_final(server_final: &str, expected_signature: &[u8]) -> Result<(), Error> {
    let attributes = parse_attributes(server_final);
    if let Some(error) = attribute(&attributes, 'e') {
        return Err(Error::ServerRefused(Refusal::Auth {
            condition: error.to_owned(),
            text: None,
        }));
    }
    let verifier = attribute(&attributes, 'v')
        .and_then(|v| BASE64.decode(v).ok())
        .ok_or_else(|| Error::Peer("SCRAM server-final lacks a verifier".into()))?;
    if verifier != expected_signature {
        return Err(Error::Peer(
            "SCRAM server signature does not match: the server does not know our password".into(),
        ));
    }
    Ok(())
}

/// The hash function of a SCRAM variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramHash {
    Sha1,
    Sha256,
}

impl ScramHash {
    fn mechanism(self) -> Mechanism {
        match self {
            ScramHash::Sha1 => Mechanism::ScramSha1,
            ScramHash::Sha256 => Mechanism::ScramSha256,
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        const ANY_KEY_LENGTH: &str = "HMAC accepts keys of any length";
        match self {
            ScramHash::Sha1 => {
                let mut mac = Hmac::<Sha1>::new_from_slice(key).expect(ANY_KEY_LENGTH);
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            ScramHash::Sha256 => {
                let mut mac = Hmac::<Sha256>::new_from_slice(key).expect(ANY_KEY_LENGTH);
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    /// RFC 5802 `Hi()`: PBKDF2 with this HMAC.
    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => {
                let mut out = [0u8; 20];
                pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, iterations, &mut out);
                out.to_vec()
            }
            ScramHash::Sha256 => {
                let mut out = [0u8; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
                out.to_vec()
            }
        }
    }
}

/// Why a SCRAM server message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    #[error("SCRAM server-first is missing `{0}=`")]
    Missing(char),
    #[error("SCRAM server nonce does not extend ours")]
    NonceMismatch,
    #[error("SCRAM salt is not base64")]
    BadSalt,
    #[error("SCRAM iteration count `{0}` is invalid or too large")]
    BadIterations(String),
    #[error("SCRAM server-first has a mandatory extension we do not know")]
    UnknownExtension,
}

/// Client side of one SCRAM exchange (no channel binding: `n,,`).
#[derive(Debug, Clone)]
pub struct Scram {
    hash: ScramHash,
    password: String,
    client_nonce: String,
    client_first_bare: String,
}

impl Scram {
    /// `client_nonce` should be ≥ 16 random printable characters; commas and non-printable
    /// characters are dropped since SCRAM cannot carry them.
    pub fn new(hash: ScramHash, username: &str, password: &str, client_nonce: &str) -> Scram {
        let client_nonce: String = client_nonce
            .chars()
            .filter(|ch| ch.is_ascii_graphic() && *ch != ',')
            .collect();
        let username = username.replace('=', "=3D").replace(',', "=2C");
        Scram {
            hash,
            password: password.to_owned(),
            client_first_bare: format!("n={username},r={client_nonce}"),
            client_nonce,
        }
    }

    pub fn client_first(&self) -> String {
        format!("n,,{}", self.client_first_bare)
    }

    /// Computes client-final from server-first; also returns the server signature that
    /// server-final must carry.
    pub fn handle_server_first(&self, server_first: &str) -> Result<(String, Vec<u8>), ScramError> {
        let attributes = parse_attributes(server_first);
        if attribute(&attributes, 'm').is_some() {
            return Err(ScramError::UnknownExtension);
        }
        let nonce = attribute(&attributes, 'r').ok_or(ScramError::Missing('r'))?;
        if !nonce.starts_with(&self.client_nonce) || nonce.len() == self.client_nonce.len() {
            return Err(ScramError::NonceMismatch);
        }
        let salt = attribute(&attributes, 's').ok_or(ScramError::Missing('s'))?;
        let salt = BASE64.decode(salt).map_err(|_| ScramError::BadSalt)?;
        let iterations = attribute(&attributes, 'i').ok_or(ScramError::Missing('i'))?;
        let iterations = iterations
            .parse::<u32>()
            .ok()
            .filter(|i| (1..=MAX_SCRAM_ITERATIONS).contains(i))
            .ok_or_else(|| ScramError::BadIterations(iterations.to_owned()))?;

        let hash = self.hash;
        let salted = hash.salted_password(self.password.as_bytes(), &salt, iterations);
        let client_key = hash.hmac(&salted, b"Client Key");
        let stored_key = hash.hash(&client_key);
        // "biws" is base64("n,,"): no channel binding, no authzid.
        let client_final_without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!(
            "{},{server_first},{client_final_without_proof}",
            self.client_first_bare
        );
        let client_signature = hash.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&client_signature)
            .map(|(key, signature)| key ^ signature)
            .collect();
        let server_key = hash.hmac(&salted, b"Server Key");
        let server_signature = hash.hmac(&server_key, auth_message.as_bytes());
        let client_final = format!("{client_final_without_proof},p={}", BASE64.encode(proof));
        Ok((client_final, server_signature))
    }
}

fn parse_attributes(message: &str) -> Vec<(char, &str)> {
    message
        .split(',')
        .filter_map(|part| {
            let mut chars = part.chars();
            let key = chars.next()?;
            let value = chars.as_str().strip_prefix('=')?;
            Some((key, value))
        })
        .collect()
}

fn attribute<'a>(attributes: &[(char, &'a str)], key: char) -> Option<&'a str> {
    attributes.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Limits;

    fn element(xml: &str) -> Element {
        Element::parse(xml, &Limits::default()).unwrap()
    }

    fn sasl(name: &str, payload: &str) -> Element {
        Element::new(name, SASL_NS).with_text(BASE64.encode(payload))
    }

    fn credentials() -> Credentials {
        Credentials {
            username: "user".into(),
            password: "pencil".into(),
        }
    }

    #[test]
    fn chooses_the_strongest_usable_mechanism() {
        let features = element(
            "<stream:features xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'>\
             <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism>\
             <mechanism>SCRAM-SHA-1</mechanism><mechanism>X-OAUTH2</mechanism></mechanisms></stream:features>",
        );
        let offered = offered_mechanisms(&features);
        assert_eq!(offered, ["PLAIN", "SCRAM-SHA-1", "X-OAUTH2"]);
        assert_eq!(choose(&offered, true), Some(Mechanism::ScramSha1));
        assert_eq!(choose(&offered, false), None);
        assert_eq!(
            choose(&["SCRAM-SHA-1", "SCRAM-SHA-256", "ANONYMOUS"], true),
            Some(Mechanism::ScramSha256)
        );
        assert_eq!(
            choose(&["ANONYMOUS", "PLAIN"], false),
            Some(Mechanism::Anonymous)
        );
    }

    /// RFC 5802 §5 test vector.
    #[test]
    fn scram_sha1_rfc5802_vector() {
        let (exchange, auth) = Exchange::start(
            Mechanism::ScramSha1,
            Some(&credentials()),
            "fyko+d2lbbFgONRv9qkxdawL",
        )
        .unwrap();
        assert_eq!(auth.attr("mechanism"), Some("SCRAM-SHA-1"));
        assert_eq!(
            BASE64.decode(auth.text()).unwrap(),
            b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"
        );
        let challenge = sasl(
            "challenge",
            "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
        );
        let Step::Respond { exchange, response } = exchange.handle(&challenge).unwrap() else {
            panic!("expected a response");
        };
        assert_eq!(
            BASE64.decode(response.text()).unwrap(),
            b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
        );
        let success = sasl("success", "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
        assert!(matches!(exchange.handle(&success), Ok(Step::Success)));
    }

    /// RFC 7677 §3 test vector.
    #[test]
    fn scram_sha256_rfc7677_vector() {
        let (exchange, _) = Exchange::start(
            Mechanism::ScramSha256,
            Some(&credentials()),
            "rOprNGfwEbeRWgbNEkqO",
        )
        .unwrap();
        let challenge = sasl(
            "challenge",
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        );
        let Step::Respond { exchange, response } = exchange.handle(&challenge).unwrap() else {
            panic!("expected a response");
        };
        assert_eq!(
            BASE64.decode(response.text()).unwrap(),
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        // Server-final as a challenge, then an empty success: also accepted.
        let server_final = sasl(
            "challenge",
            "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        );
        let Step::Respond { exchange, response } = exchange.handle(&server_final).unwrap() else {
            panic!("expected an empty response");
        };
        assert_eq!(response.text(), "");
        let success = element("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
        assert!(matches!(exchange.handle(&success), Ok(Step::Success)));
    }

    #[test]
    fn scram_rejects_a_forged_server_signature_and_bad_challenges() {
        let start = || {
            Exchange::start(
                Mechanism::ScramSha1,
                Some(&credentials()),
                "fyko+d2lbbFgONRv9qkxdawL",
            )
            .unwrap()
            .0
        };
        let challenge = sasl(
            "challenge",
            "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
        );
        let Ok(Step::Respond { exchange, .. }) = start().handle(&challenge) else {
            panic!("expected a response");
        };
        let forged = sasl("success", "v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        assert!(matches!(exchange.handle(&forged), Err(Error::Peer(_))));
        // Missing data on success means the server never proved itself.
        for bad in [
            "r=someoneelse,s=QSXCR+Q6sek8bf92,i=4096",
            "r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096",
            "r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=999999999",
            "r=fyko+d2lbbFgONRv9qkxdawLx,s=!!,i=4096",
            "m=ext,r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=4096",
            "garbage",
        ] {
            assert!(
                matches!(start().handle(&sasl("challenge", bad)), Err(Error::Peer(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn plain_and_anonymous() {
        let (exchange, auth) = Exchange::start(Mechanism::Plain, Some(&credentials()), "").unwrap();
        assert_eq!(BASE64.decode(auth.text()).unwrap(), b"\0user\0pencil");
        let success = element("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
        assert!(matches!(exchange.handle(&success), Ok(Step::Success)));

        let (exchange, auth) = Exchange::start(Mechanism::Anonymous, None, "").unwrap();
        assert_eq!(
            auth.to_xml(),
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>"
        );
        assert!(matches!(exchange.handle(&success), Ok(Step::Success)));
        assert!(matches!(
            Exchange::start(Mechanism::Plain, None, ""),
            Err(Error::Misuse(_))
        ));
    }

    #[test]
    fn failure_is_a_refusal_with_condition_and_text() {
        let (exchange, _) = Exchange::start(Mechanism::Plain, Some(&credentials()), "").unwrap();
        let failure = element(
            "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/>\
             <text xml:lang='en'>Unable to authorize you with the authentication credentials you've sent.</text></failure>",
        );
        let Err(Error::ServerRefused(Refusal::Auth { condition, text })) =
            exchange.handle(&failure)
        else {
            panic!("expected an auth refusal");
        };
        assert_eq!(condition, "not-authorized");
        assert!(text.unwrap().starts_with("Unable to authorize"));
    }

    #[test]
    fn usernames_are_escaped() {
        let scram = Scram::new(ScramHash::Sha1, "a=b,c", "p", "n,once");
        assert_eq!(scram.client_first(), "n,,n=a=3Db=2Cc,r=nonce");
    }
}
