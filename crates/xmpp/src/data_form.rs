//! XEP-0004: Data Forms, as far as MUC configuration and MAM queries need them: reading a
//! form's fields and building a submission.

use crate::xml::Element;

pub const DATA_FORMS_NS: &str = "jabber:x:data";

/// One field of a form as the server describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormField {
    /// The field's name (`var`), e.g. `muc#roomconfig_roomname`; `None` for fixed text.
    pub var: Option<String>,
    /// The XEP-0004 field type, e.g. `boolean`, `text-single`, `list-single`.
    pub kind: Option<String>,
    pub label: Option<String>,
    /// Current values (several for `*-multi` fields).
    pub values: Vec<String>,
    /// Allowed values of list fields.
    pub options: Vec<String>,
}

/// A form (`<x xmlns='jabber:x:data'/>`) sent by the server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataForm {
    /// `form`, `result`, `submit` or `cancel`.
    pub kind: String,
    pub title: Option<String>,
    pub fields: Vec<FormField>,
}

impl DataForm {
    /// Reads an `<x xmlns='jabber:x:data'/>` element.
    pub fn from_element(x: &Element) -> DataForm {
        let text_of = |element: &Element, name: &str| {
            element.get_child(name, DATA_FORMS_NS).map(Element::text)
        };
        let values_of = |element: &Element| {
            element
                .children()
                .filter(|child| child.is("value", DATA_FORMS_NS))
                .map(Element::text)
                .collect()
        };
        DataForm {
            kind: x.attr("type").unwrap_or("form").to_owned(),
            title: text_of(x, "title"),
            fields: x
                .children()
                .filter(|child| child.is("field", DATA_FORMS_NS))
                .map(|field| FormField {
                    var: field.attr("var").map(str::to_owned),
                    kind: field.attr("type").map(str::to_owned),
                    label: field.attr("label").map(str::to_owned),
                    values: values_of(field),
                    options: field
                        .children()
                        .filter(|child| child.is("option", DATA_FORMS_NS))
                        .filter_map(|option| text_of(option, "value"))
                        .collect(),
                })
                .collect(),
        }
    }

    /// The field named `var`.
    pub fn field(&self, var: &str) -> Option<&FormField> {
        self.fields
            .iter()
            .find(|field| field.var.as_deref() == Some(var))
    }
}

/// A `<field var='…'><value>…</value></field>`.
pub fn field(var: &str, value: &str) -> Element {
    Element::new("field", DATA_FORMS_NS)
        .with_attr("var", var)
        .with_child(Element::new("value", DATA_FORMS_NS).with_text(value))
}

/// A submitted form of type `form_type` (the hidden `FORM_TYPE` field) with `fields` as
/// (var, value) pairs.
pub fn submit<'a>(
    form_type: &str,
    fields: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Element {
    let mut form = Element::new("x", DATA_FORMS_NS)
        .with_attr("type", "submit")
        .with_child(field("FORM_TYPE", form_type).with_attr("type", "hidden"));
    for (var, value) in fields {
        form.push_child(field(var, value));
    }
    form
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Limits;

    #[test]
    fn reads_a_prosody_room_configuration_form() {
        let x = Element::parse(
            "<x xmlns='jabber:x:data' type='form'><title>Configuration for ops</title>\
             <field type='hidden' var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
             <field type='fixed'><value>Room information</value></field>\
             <field label='Title' type='text-single' var='muc#roomconfig_roomname'><value>Ops &amp; co</value></field>\
             <field label='Who' type='list-single' var='muc#roomconfig_whois'><value>moderators</value>\
             <option label='Moderators only'><value>moderators</value></option>\
             <option label='Anyone'><value>anyone</value></option></field></x>",
            &Limits::default(),
        )
        .unwrap();
        let form = DataForm::from_element(&x);
        assert_eq!(form.kind, "form");
        assert_eq!(form.title.as_deref(), Some("Configuration for ops"));
        assert_eq!(form.fields.len(), 4);
        assert_eq!(form.fields[1].var, None);
        let name = form.field("muc#roomconfig_roomname").unwrap();
        assert_eq!(name.values, ["Ops & co"]);
        assert_eq!(name.label.as_deref(), Some("Title"));
        let whois = form.field("muc#roomconfig_whois").unwrap();
        assert_eq!(whois.options, ["moderators", "anyone"]);
        assert_eq!(whois.kind.as_deref(), Some("list-single"));
    }

    #[test]
    fn builds_a_submission() {
        assert_eq!(
            submit("urn:xmpp:mam:2", [("with", "a@b")]).to_xml(),
            "<x xmlns='jabber:x:data' type='submit'>\
             <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>\
             <field var='with'><value>a@b</value></field></x>"
        );
    }
}
