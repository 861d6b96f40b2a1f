//! XEP-0054: vcard-temp — a JID's business card, read (typed fields, best effort: what we
//! do not type is skipped) and our own set.

use crate::error::Error;
use crate::jid::Jid;
use crate::stanza::Iq;
use crate::xml::Element;

/// XEP-0054's namespace.
pub const VCARD_NS: &str = "vcard-temp";

/// The fields of a vCard this client understands (XEP-0054 §2). Empty fields are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VCard {
    /// `FN`: the formatted full name.
    pub full_name: Option<String>,
    /// `N/GIVEN`.
    pub given_name: Option<String>,
    /// `N/FAMILY`.
    pub family_name: Option<String>,
    /// `NICKNAME`.
    pub nickname: Option<String>,
    /// `EMAIL/USERID`, in order (the first is usually the preferred one).
    pub emails: Vec<String>,
    /// `TEL/NUMBER`, in order.
    pub phones: Vec<String>,
    /// `URL`.
    pub url: Option<String>,
    /// `BDAY`, as written (ISO 8601 date).
    pub birthday: Option<String>,
    /// `ORG/ORGNAME`.
    pub organisation: Option<String>,
    /// `TITLE`.
    pub title: Option<String>,
    /// `ROLE`.
    pub role: Option<String>,
    /// `JABBERID`.
    pub jabber_id: Option<String>,
    /// `DESC`: free text about the person.
    pub description: Option<String>,
}

impl VCard {
    /// Reads a `<vCard xmlns='vcard-temp'/>`.
    pub fn from_element(vcard: &Element) -> VCard {
        let text = |element: &Element, name: &str| {
            element
                .get_child(name, VCARD_NS)
                .map(Element::text)
                .filter(|text| !text.trim().is_empty())
        };
        let nested = |outer: &str, inner: &str| {
            vcard
                .get_child(outer, VCARD_NS)
                .and_then(|outer| text(outer, inner))
        };
        let all = |outer: &str, inner: &str| {
            vcard
                .children()
                .filter(|child| child.is(outer, VCARD_NS))
                .filter_map(|child| text(child, inner))
                .collect()
        };
        VCard {
            full_name: text(vcard, "FN"),
            given_name: nested("N", "GIVEN"),
            family_name: nested("N", "FAMILY"),
            nickname: text(vcard, "NICKNAME"),
            emails: all("EMAIL", "USERID"),
            phones: all("TEL", "NUMBER"),
            url: text(vcard, "URL"),
            birthday: text(vcard, "BDAY"),
            organisation: nested("ORG", "ORGNAME"),
            title: text(vcard, "TITLE"),
            role: text(vcard, "ROLE"),
            jabber_id: text(vcard, "JABBERID"),
            description: text(vcard, "DESC"),
        }
    }

    /// The `<vCard/>` element, in XEP-0054's field order.
    pub fn to_element(&self) -> Element {
        let mut vcard = Element::new("vCard", VCARD_NS);
        let field = |name: &str, value: &str| Element::new(name, VCARD_NS).with_text(value);
        let wrapped = |outer: &str, inner: &str, value: &str| {
            Element::new(outer, VCARD_NS).with_child(field(inner, value))
        };
        if let Some(value) = &self.full_name {
            vcard.push_child(field("FN", value));
        }
        if self.given_name.is_some() || self.family_name.is_some() {
            let mut name = Element::new("N", VCARD_NS);
            if let Some(family) = &self.family_name {
                name.push_child(field("FAMILY", family));
            }
            if let Some(given) = &self.given_name {
                name.push_child(field("GIVEN", given));
            }
            vcard.push_child(name);
        }
        let simple = [
            ("NICKNAME", &self.nickname),
            ("URL", &self.url),
            ("BDAY", &self.birthday),
        ];
        for (name, value) in simple {
            if let Some(value) = value {
                vcard.push_child(field(name, value));
            }
        }
        if let Some(value) = &self.organisation {
            vcard.push_child(wrapped("ORG", "ORGNAME", value));
        }
        for (name, value) in [("TITLE", &self.title), ("ROLE", &self.role)] {
            if let Some(value) = value {
                vcard.push_child(field(name, value));
            }
        }
        for phone in &self.phones {
            vcard.push_child(wrapped("TEL", "NUMBER", phone));
        }
        for email in &self.emails {
            vcard.push_child(
                Element::new("EMAIL", VCARD_NS)
                    .with_child(Element::new("INTERNET", VCARD_NS))
                    .with_child(field("USERID", email)),
            );
        }
        for (name, value) in [("JABBERID", &self.jabber_id), ("DESC", &self.description)] {
            if let Some(value) = value {
                vcard.push_child(field(name, value));
            }
        }
        vcard
    }
}

/// Asks for the vCard of `jid` (a bare JID), or ours with `None`.
pub fn request(jid: Option<&str>) -> Result<Iq, Error> {
    if let Some(jid) = jid {
        match Jid::parse(jid) {
            Ok(parsed) if parsed.resource().is_none() => {}
            _ => return Err(Error::Misuse(format!("`{jid}` is not a bare JID"))),
        }
    }
    Ok(Iq::get(jid, Element::new("vCard", VCARD_NS)))
}

/// Replaces our own vCard with `vcard` (fields we do not type are dropped).
pub fn set(vcard: &VCard) -> Iq {
    Iq::set(None, vcard.to_element())
}

/// Reads the answer to [`request`]; an empty result is an empty vCard.
pub fn parse_answer(payload: Option<&Element>) -> Result<VCard, Error> {
    match payload {
        None => Ok(VCard::default()),
        Some(vcard) if vcard.is("vCard", VCARD_NS) => Ok(VCard::from_element(vcard)),
        Some(other) => Err(Error::Peer(format!(
            "vCard answered with <{}/>",
            other.name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Limits;

    /// XEP-0054 §3.1 example 2, abridged (the PHOTO and ADR are skipped).
    const STPETER: &str = "<vCard xmlns='vcard-temp'>\
        <FN>Peter Saint-Andre</FN>\
        <N><FAMILY>Saint-Andre</FAMILY><GIVEN>Peter</GIVEN><MIDDLE/></N>\
        <NICKNAME>stpeter</NICKNAME>\
        <URL>http://www.xmpp.org/xsf/people/stpeter.shtml</URL>\
        <BDAY>1966-08-06</BDAY>\
        <ORG><ORGNAME>XMPP Standards Foundation</ORGNAME><ORGUNIT/></ORG>\
        <TITLE>Executive Director</TITLE>\
        <ROLE>Patron Saint</ROLE>\
        <TEL><WORK/><VOICE/><NUMBER>303-308-3282</NUMBER></TEL>\
        <TEL><WORK/><FAX/><NUMBER/></TEL>\
        <ADR><WORK/><EXTADD>Suite 600</EXTADD></ADR>\
        <EMAIL><INTERNET/><PREF/><USERID>stpeter@jabber.org</USERID></EMAIL>\
        <JABBERID>stpeter@jabber.org</JABBERID>\
        <DESC>More information about me is located on my personal website.</DESC>\
        </vCard>";

    #[test]
    fn reads_the_xep_example_and_round_trips() {
        let element = Element::parse(STPETER, &Limits::default()).unwrap();
        let vcard = parse_answer(Some(&element)).unwrap();
        assert_eq!(vcard.full_name.as_deref(), Some("Peter Saint-Andre"));
        assert_eq!(vcard.given_name.as_deref(), Some("Peter"));
        assert_eq!(vcard.family_name.as_deref(), Some("Saint-Andre"));
        assert_eq!(vcard.nickname.as_deref(), Some("stpeter"));
        assert_eq!(vcard.emails, ["stpeter@jabber.org"]);
        // The empty fax number is no number.
        assert_eq!(vcard.phones, ["303-308-3282"]);
        assert_eq!(
            vcard.organisation.as_deref(),
            Some("XMPP Standards Foundation")
        );
        assert_eq!(vcard.birthday.as_deref(), Some("1966-08-06"));
        assert_eq!(vcard.role.as_deref(), Some("Patron Saint"));
        assert_eq!(VCard::from_element(&vcard.to_element()), vcard);
    }

    #[test]
    fn requests_and_odd_answers() {
        assert_eq!(
            Iq {
                id: "v".into(),
                ..request(Some("bob@localhost")).unwrap()
            }
            .to_element()
            .to_xml(),
            "<iq xmlns='jabber:client' to='bob@localhost' id='v' type='get'><vCard xmlns='vcard-temp'/></iq>"
        );
        assert!(matches!(
            request(Some("bob@localhost/phone")),
            Err(Error::Misuse(_))
        ));
        let own = VCard {
            nickname: Some("<ops>".into()),
            ..VCard::default()
        };
        assert_eq!(
            Iq {
                id: "s".into(),
                ..set(&own)
            }
            .to_element()
            .to_xml(),
            "<iq xmlns='jabber:client' id='s' type='set'><vCard xmlns='vcard-temp'><NICKNAME>&lt;ops&gt;</NICKNAME></vCard></iq>"
        );
        assert_eq!(parse_answer(None).unwrap(), VCard::default());
        let wrong = Element::new("query", "urn:x");
        assert!(matches!(parse_answer(Some(&wrong)), Err(Error::Peer(_))));
    }
}
