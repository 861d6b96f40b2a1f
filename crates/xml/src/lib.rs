//! XML 1.0 with Namespaces in XML 1.0, restricted as RFC 6120 §11 requires: a small owned DOM
//! for stanzas, parsed with quick-xml under explicit [`Limits`].
//!
//! Element names are stored resolved (local name + namespace URI); serialisation always uses
//! default-namespace declarations (`xmlns='…'`), written only where an element's namespace
//! differs from its parent's.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::QName;
use quick_xml::{Reader, XmlVersion};

/// The namespace permanently bound to the `xml` prefix (`xml:lang`).
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// An XML element: local name, resolved namespace, attributes in document order, children.
///
/// Equality ignores attribute order, which XML does not preserve (Prosody reorders them).
///
/// The name, namespace and attributes live back to back in one string, so parsing an element
/// allocates two or three times rather than once per string (the browser benchmark in
/// docs/benchmarks/xmpp-browser.md is dominated by allocation).
#[derive(Clone)]
pub struct Element {
    strings: String,
    name: Span,
    ns: Span,
    attrs: Vec<(Span, Span)>,
    children: Vec<Node>,
}

/// Where one string sits in a buffer of strings.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

impl Span {
    fn range(self) -> Range<usize> {
        self.start..self.end
    }
}

/// Appends `text` to `strings`, returning where it went.
fn append(strings: &mut String, text: &str) -> Span {
    let start = strings.len();
    strings.push_str(text);
    Span {
        start,
        end: strings.len(),
    }
}

/// Whether `span` of `strings` holds `text` (bytes compared: spans always fall on character
/// boundaries).
fn same(strings: &str, span: Span, text: &str) -> bool {
    &strings.as_bytes()[span.range()] == text.as_bytes()
}

impl PartialEq for Element {
    fn eq(&self, other: &Element) -> bool {
        self.name() == other.name()
            && self.ns() == other.ns()
            && self.children == other.children
            && self.attrs.len() == other.attrs.len()
            && self
                .attrs()
                .all(|(key, value)| other.attr(key) == Some(value))
    }
}

impl Eq for Element {}

impl fmt::Debug for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Element")
            .field("name", &self.name())
            .field("ns", &self.ns())
            .field("attrs", &self.attrs().collect::<Vec<_>>())
            .field("children", &self.children)
            .finish()
    }
}

/// A child of an [`Element`]: another element or character data (entities already decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
}

/// Bounds applied while parsing, so hostile input can never cost unbounded memory or stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted input (one WebSocket frame holds one stanza).
    pub max_bytes: usize,
    /// Deepest accepted element nesting; the root is depth 1.
    pub max_depth: usize,
    /// Most attributes (namespace declarations included) on one element.
    pub max_attributes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 256 * 1024,
            max_depth: 32,
            max_attributes: 64,
        }
    }
}

/// Why a piece of XML was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("XML input of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("XML nested deeper than {limit} elements")]
    TooDeep { limit: usize },
    #[error("element <{element}> has more than {limit} attributes")]
    TooManyAttributes { element: String, limit: usize },
    #[error("namespace prefix `{0}` is not bound")]
    UnboundPrefix(String),
    #[error("unknown entity `&{0};`")]
    UnknownEntity(String),
    #[error("restricted XML (RFC 6120 §11.1): {0} not allowed")]
    Restricted(&'static str),
    #[error("expected exactly one root element")]
    NotOneRoot,
}

impl From<quick_xml::Error> for XmlError {
    fn from(error: quick_xml::Error) -> Self {
        XmlError::Malformed(error.to_string())
    }
}

impl Element {
    /// An empty element `name` in namespace `ns` (empty string for no namespace).
    pub fn new(name: &str, ns: &str) -> Element {
        let mut strings = String::with_capacity(name.len() + ns.len());
        let name = append(&mut strings, name);
        let ns = append(&mut strings, ns);
        Element {
            strings,
            name,
            ns,
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    pub fn with_attr(mut self, name: &str, value: impl Into<String>) -> Element {
        self.set_attr(name, value);
        self
    }

    pub fn with_child(mut self, child: Element) -> Element {
        self.push_child(child);
        self
    }

    pub fn with_text(mut self, text: impl Into<String>) -> Element {
        self.push_text(text);
        self
    }

    pub fn push_child(&mut self, child: Element) {
        self.children.push(Node::Element(child));
    }

    /// Appends character data, merged with a preceding text node so the tree stays canonical.
    pub fn push_text(&mut self, text: impl Into<String>) {
        let text = text.into();
        if text.is_empty() {
            return;
        }
        match self.children.last_mut() {
            Some(Node::Text(previous)) => previous.push_str(&text),
            _ => self.children.push(Node::Text(text)),
        }
    }

    /// Sets or replaces an attribute. `xmlns` is not an attribute here: it sets the namespace.
    pub fn set_attr(&mut self, name: &str, value: impl Into<String>) {
        let value = append(&mut self.strings, &value.into());
        if name == "xmlns" {
            self.ns = value;
            return;
        }
        match self
            .attrs
            .iter()
            .position(|&(key, _)| same(&self.strings, key, name))
        {
            Some(index) => self.attrs[index].1 = value,
            None => {
                let key = append(&mut self.strings, name);
                self.attrs.push((key, value));
            }
        }
    }

    fn get(&self, span: Span) -> &str {
        &self.strings[span.range()]
    }

    pub fn name(&self) -> &str {
        self.get(self.name)
    }

    pub fn ns(&self) -> &str {
        self.get(self.ns)
    }

    pub fn is(&self, name: &str, ns: &str) -> bool {
        self.name() == name && self.ns() == ns
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|&&(key, _)| same(&self.strings, key, name))
            .map(|&(_, value)| self.get(value))
    }

    pub fn attrs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attrs
            .iter()
            .map(|&(key, value)| (self.get(key), self.get(value)))
    }

    /// Element children only, in document order.
    pub fn children(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|node| match node {
            Node::Element(element) => Some(element),
            Node::Text(_) => None,
        })
    }

    /// Consumes the element, yielding its element children.
    pub fn into_children(self) -> impl Iterator<Item = Element> {
        self.children.into_iter().filter_map(|node| match node {
            Node::Element(element) => Some(element),
            Node::Text(_) => None,
        })
    }

    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.children.iter()
    }

    pub fn get_child(&self, name: &str, ns: &str) -> Option<&Element> {
        self.children().find(|child| child.is(name, ns))
    }

    /// The concatenated direct text children (not descendants').
    pub fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|node| match node {
                Node::Text(text) => Some(text.as_str()),
                Node::Element(_) => None,
            })
            .collect()
    }

    /// [`text`](Self::text), consuming the element: a single text node is moved, not copied.
    pub fn into_text(mut self) -> String {
        match self.children.as_mut_slice() {
            [Node::Text(text)] => std::mem::take(text),
            _ => self.text(),
        }
    }

    /// Parses exactly one root element (surrounding whitespace and an XML declaration are
    /// accepted). DTDs, comments and processing instructions are refused, as in XMPP.
    pub fn parse(xml: &str, limits: &Limits) -> Result<Element, XmlError> {
        Parser::new(limits).parse(xml)
    }

    /// Moves this element and its descendants from namespace `from` to `to` (BOSH's
    /// `<body/>` children arrive in its namespace and are stanzas of `jabber:client`).
    pub fn rename_ns(&mut self, from: &str, to: &str) {
        if self.ns() == from {
            self.ns = append(&mut self.strings, to);
        }
        for node in &mut self.children {
            if let Node::Element(child) = node {
                child.rename_ns(from, to);
            }
        }
    }

    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        write_element(&mut out, self, None);
        out
    }
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_xml())
    }
}

/// Capacity reserved in a parsed element's strings for a namespace not declared on it (most
/// are shorter: `jabber:client`, `urn:xmpp:sid:0`).
const INHERITED_NS_ROOM: usize = 32;

/// Elements under construction, with the namespace bindings in scope.
struct Parser<'l> {
    limits: &'l Limits,
    /// Open elements, each with the length of `bindings` before its own declarations.
    open: Vec<(Element, usize)>,
    /// In-scope `(prefix, uri)` bindings, innermost last, as spans of `binding_strings`; the
    /// default namespace has prefix "".
    bindings: Vec<(Span, Span)>,
    binding_strings: String,
    /// The attributes of the element being opened, reused so each element allocates its
    /// attribute list once, at its exact size.
    scratch: Vec<(Span, Span)>,
    root: Option<Element>,
}

impl<'l> Parser<'l> {
    fn new(limits: &'l Limits) -> Self {
        // Sized for a typical stanza, so that parsing one does not grow them step by step.
        Parser {
            limits,
            open: Vec::with_capacity(4),
            bindings: Vec::with_capacity(4),
            binding_strings: String::with_capacity(128),
            scratch: Vec::with_capacity(16),
            root: None,
        }
    }

    fn parse(mut self, xml: &str) -> Result<Element, XmlError> {
        if xml.len() > self.limits.max_bytes {
            return Err(XmlError::TooLarge {
                size: xml.len(),
                limit: self.limits.max_bytes,
            });
        }
        let mut reader = Reader::from_str(xml);
        loop {
            match reader.read_event()? {
                Event::Start(start) => {
                    let mark = self.bindings.len();
                    let element = self.open_element(&start)?;
                    self.open.push((element, mark));
                }
                Event::Empty(start) => {
                    let mark = self.bindings.len();
                    let element = self.open_element(&start)?;
                    self.close_scope(mark);
                    self.attach(element)?;
                }
                Event::End(_) => {
                    // quick-xml has already checked that the end tag matches the start tag.
                    let (element, mark) = self
                        .open
                        .pop()
                        .ok_or_else(|| XmlError::Malformed("unexpected end tag".into()))?;
                    self.close_scope(mark);
                    self.attach(element)?;
                }
                Event::Text(text) => self.text(&text.xml10_content())?,
                Event::CData(cdata) => self.text(&cdata.xml10_content())?,
                Event::GeneralRef(reference) => {
                    let decoded = match reference.resolve_char_ref()? {
                        Some(ch) => ch.to_string(),
                        None => {
                            let name = reference.xml10_content();
                            resolve_predefined_entity(&name)
                                .ok_or_else(|| XmlError::UnknownEntity(name.into_owned()))?
                                .to_owned()
                        }
                    };
                    if self.open.is_empty() {
                        return Err(XmlError::NotOneRoot);
                    }
                    self.text(&decoded)?;
                }
                Event::Decl(_) if self.open.is_empty() && self.root.is_none() => {}
                Event::Decl(_) => {
                    return Err(XmlError::Malformed("misplaced XML declaration".into()))
                }
                Event::DocType(_) => return Err(XmlError::Restricted("a DTD")),
                Event::Comment(_) => return Err(XmlError::Restricted("a comment")),
                Event::PI(_) => return Err(XmlError::Restricted("a processing instruction")),
                Event::Eof => break,
            }
        }
        if !self.open.is_empty() {
            return Err(XmlError::Malformed("unclosed element".into()));
        }
        self.root.ok_or(XmlError::NotOneRoot)
    }

    fn open_element(&mut self, start: &BytesStart<'_>) -> Result<Element, XmlError> {
        let qualified_name = start.name().0;
        if self.open.len() >= self.limits.max_depth {
            return Err(XmlError::TooDeep {
                limit: self.limits.max_depth,
            });
        }
        let mark = self.bindings.len();
        self.scratch.clear();
        let mut prefixed = false;
        // The tag's attribute text is copied once; keys and plain values stay where they are
        // in it, addressed by spans. Room is left for the local name and an inherited
        // namespace.
        let raw = start.attributes_raw();
        let mut strings =
            String::with_capacity(raw.len() + qualified_name.len() + INHERITED_NS_ROOM);
        strings.push_str(raw);
        let mut scanner = AttributeScanner {
            text: raw.as_bytes(),
            at: 0,
        };
        let mut count = 0;
        while let Some(found) = scanner.next_attribute()? {
            count += 1;
            if count > self.limits.max_attributes {
                return Err(XmlError::TooManyAttributes {
                    element: qualified_name.to_owned(),
                    limit: self.limits.max_attributes,
                });
            }
            let key = &raw[found.key.range()];
            let binding = if key == "xmlns" {
                Some("")
            } else {
                key.strip_prefix("xmlns:")
            };
            let duplicate = match binding {
                Some(prefix) => {
                    let value = found.value(raw)?;
                    // `xmlns=''` undeclares the default namespace; a prefix cannot be.
                    if !prefix.is_empty() {
                        check_prefix_binding(prefix, &value)?;
                    }
                    let declared = &self.bindings[mark..];
                    let duplicate = declared
                        .iter()
                        .any(|&(name, _)| same(&self.binding_strings, name, prefix));
                    if !duplicate {
                        let prefix = append(&mut self.binding_strings, prefix);
                        let uri = append(&mut self.binding_strings, &value);
                        self.bindings.push((prefix, uri));
                    }
                    duplicate
                }
                None => {
                    let duplicate = self.scratch.iter().any(|&(name, _)| same(raw, name, key));
                    prefixed |= found.prefixed;
                    if !duplicate {
                        let value = if found.plain {
                            found.value
                        } else {
                            append(&mut strings, &found.value(raw)?)
                        };
                        self.scratch.push((found.key, value));
                    }
                    duplicate
                }
            };
            if duplicate {
                return Err(XmlError::Malformed(format!(
                    "duplicate attribute `{key}` on <{qualified_name}>"
                )));
            }
        }

        let (prefix, local_name) = split_qualified_name(qualified_name)?;
        let name = append(&mut strings, local_name);
        let ns = append(&mut strings, self.resolve(prefix)?);
        let mut element = Element {
            strings,
            name,
            ns,
            attrs: Vec::new(),
            children: Vec::new(),
        };
        if !prefixed {
            element.attrs = self.scratch.as_slice().to_vec();
            return Ok(element);
        }
        for (key, value) in std::mem::take(&mut self.scratch) {
            if let (Some(prefix), _) = split_qualified_name(element.get(key))? {
                if prefix != "xml" {
                    // Keep the declaration beside the attribute so the element stays
                    // self-contained when serialised on its own.
                    let declaration = format!("xmlns:{prefix}");
                    if element.attr(&declaration).is_none() {
                        let uri = self.resolve(Some(prefix))?.to_owned();
                        element.set_attr(&declaration, uri);
                    }
                }
            }
            element.attrs.push((key, value));
        }
        Ok(element)
    }

    /// Ends the scope of the declarations made since `bindings` had `mark` entries.
    fn close_scope(&mut self, mark: usize) {
        if let Some(&(first, _)) = self.bindings.get(mark) {
            self.binding_strings.truncate(first.start);
        }
        self.bindings.truncate(mark);
    }

    fn resolve(&self, prefix: Option<&str>) -> Result<&str, XmlError> {
        let wanted = match prefix {
            Some("xml") => return Ok(XML_NS),
            Some(prefix) => prefix,
            None => "",
        };
        let strings = &self.binding_strings;
        match self
            .bindings
            .iter()
            .rev()
            .find(|&&(name, _)| same(strings, name, wanted))
        {
            Some(&(_, uri)) => Ok(&strings[uri.range()]),
            None if prefix.is_none() => Ok(""),
            None => Err(XmlError::UnboundPrefix(wanted.to_owned())),
        }
    }

    fn text(&mut self, text: &str) -> Result<(), XmlError> {
        check_chars(text)?;
        match self.open.last_mut() {
            Some((parent, _)) => {
                parent.push_text(text);
                Ok(())
            }
            None if text.chars().all(is_xml_whitespace) => Ok(()),
            None => Err(XmlError::NotOneRoot),
        }
    }

    fn attach(&mut self, element: Element) -> Result<(), XmlError> {
        match self.open.last_mut() {
            Some((parent, _)) => parent.push_child(element),
            None if self.root.is_none() => self.root = Some(element),
            None => return Err(XmlError::NotOneRoot),
        }
        Ok(())
    }
}

/// One attribute found in a start tag's attribute text, as spans of that text.
struct RawAttribute {
    key: Span,
    value: Span,
    /// The key has a prefix (`p:name`).
    prefixed: bool,
    /// No entity reference, `<`, control character or 0xEF byte (which could start U+FFFE or
    /// U+FFFF): the value is taken as written, with no normalisation or character check.
    plain: bool,
}

impl RawAttribute {
    /// The value, normalised (XML 1.0 §3.3.3) and checked.
    fn value<'a>(&self, text: &'a str) -> Result<Cow<'a, str>, XmlError> {
        let written = &text[self.value.range()];
        if self.plain {
            return Ok(Cow::Borrowed(written));
        }
        if written.contains('<') {
            return Err(XmlError::Malformed("`<` in an attribute value".to_owned()));
        }
        let attribute = Attribute {
            key: QName(&text[self.key.range()]),
            value: Cow::Borrowed(written),
        };
        let value = attribute.normalized_value(XmlVersion::Implicit1_0)?;
        check_chars(&value)?;
        Ok(value)
    }
}

/// Byte classes for [`AttributeScanner`], one table lookup per byte.
const SPACE: u8 = 1;
/// Ends an attribute name: whitespace, `=`, or a byte no name may hold.
const NAME_END: u8 = 2;
/// Ends the plain run of a value: a quote, or a byte that makes the value not plain.
const VALUE_STOP: u8 = 4;
const COLON: u8 = 8;

static BYTE_CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = NAME_END | VALUE_STOP;
        byte += 1;
    }
    // Tab, line feed and carriage return are normalised to spaces in values.
    table[b'\t' as usize] |= SPACE;
    table[b'\n' as usize] |= SPACE;
    table[b'\r' as usize] |= SPACE;
    table[b' ' as usize] = SPACE | NAME_END;
    let mut index = 0;
    let not_in_names = *b"'\"<>&/=";
    while index < not_in_names.len() {
        table[not_in_names[index] as usize] = NAME_END;
        index += 1;
    }
    index = 0;
    let not_plain = *b"'\"&<";
    while index < not_plain.len() {
        table[not_plain[index] as usize] |= VALUE_STOP;
        index += 1;
    }
    table[0xEF] = VALUE_STOP;
    table[b':' as usize] = COLON;
    table
};

fn class(byte: u8) -> u8 {
    BYTE_CLASS[usize::from(byte)]
}

/// Reads `name='value'` pairs (XML 1.0 §3.1: `S Name Eq AttValue`) from the text after a
/// start tag's name in one pass that also classifies each value as plain or not: quick-xml's
/// attribute iterator scans the text once more and its values again for the check.
struct AttributeScanner<'a> {
    text: &'a [u8],
    at: usize,
}

impl AttributeScanner<'_> {
    fn next_attribute(&mut self) -> Result<Option<RawAttribute>, XmlError> {
        let separated = self.skip_whitespace();
        if self.at == self.text.len() {
            return Ok(None);
        }
        if !separated {
            return Err(self.malformed("no whitespace before an attribute"));
        }
        let key_start = self.at;
        let mut seen = 0;
        let key_end = self.find(key_start, |byte| {
            let class = class(byte);
            seen |= class;
            class & NAME_END != 0
        });
        let ends_name = |byte: u8| byte == b'=' || class(byte) & SPACE != 0;
        if key_end == key_start || self.text.get(key_end).is_some_and(|&b| !ends_name(b)) {
            return Err(self.malformed("invalid attribute name"));
        }
        self.at = key_end;
        self.skip_whitespace();
        if self.text.get(self.at) != Some(&b'=') {
            return Err(self.malformed("attribute without `=`"));
        }
        self.at += 1;
        self.skip_whitespace();
        let quote = match self.text.get(self.at) {
            Some(&quote @ (b'\'' | b'"')) => quote,
            _ => return Err(self.malformed("attribute value not quoted")),
        };
        let value_start = self.at + 1;
        // The plain run ends at the closing quote for nearly every value.
        let stop = self.find(value_start, |byte| class(byte) & VALUE_STOP != 0);
        let plain = self.text.get(stop) == Some(&quote);
        let value_end = if plain {
            stop
        } else {
            self.find(stop, |byte| byte == quote)
        };
        if value_end == self.text.len() {
            return Err(self.malformed("attribute value not closed"));
        }
        self.at = value_end + 1;
        Ok(Some(RawAttribute {
            key: Span {
                start: key_start,
                end: key_end,
            },
            value: Span {
                start: value_start,
                end: value_end,
            },
            prefixed: seen & COLON != 0,
            plain,
        }))
    }

    /// The index of the first byte from `from` on that `stop` accepts, or the text's length.
    fn find(&self, from: usize, mut stop: impl FnMut(u8) -> bool) -> usize {
        self.text[from..]
            .iter()
            .position(|&byte| stop(byte))
            .map_or(self.text.len(), |offset| from + offset)
    }

    /// Skips XML whitespace; whether there was any.
    fn skip_whitespace(&mut self) -> bool {
        let start = self.at;
        self.at = self.find(start, |byte| class(byte) & SPACE == 0);
        self.at > start
    }

    fn malformed(&self, why: &str) -> XmlError {
        XmlError::Malformed(format!(
            "{why} at byte {} of a start tag's attributes",
            self.at
        ))
    }
}

fn split_qualified_name(name: &str) -> Result<(Option<&str>, &str), XmlError> {
    let malformed = || XmlError::Malformed(format!("invalid qualified name `{name}`"));
    // A byte search: `split_once` goes through the general character searcher.
    match name.bytes().position(|byte| byte == b':') {
        None if !name.is_empty() => Ok((None, name)),
        Some(colon) => {
            let (prefix, local) = (&name[..colon], &name[colon + 1..]);
            if prefix.is_empty() || local.is_empty() || local.as_bytes().contains(&b':') {
                return Err(malformed());
            }
            Ok((Some(prefix), local))
        }
        None => Err(malformed()),
    }
}

fn check_prefix_binding(prefix: &str, uri: &str) -> Result<(), XmlError> {
    let legal = match prefix {
        "xml" => uri == XML_NS,
        "xmlns" => false,
        // XML 1.0 namespaces cannot undeclare a prefix.
        _ => !uri.is_empty() && uri != XML_NS,
    };
    if legal {
        Ok(())
    } else {
        Err(XmlError::Malformed(format!(
            "illegal binding of prefix `{prefix}` to `{uri}`"
        )))
    }
}

fn is_xml_whitespace(ch: char) -> bool {
    matches!(ch, ' ' | '\t' | '\n' | '\r')
}

/// XML 1.0 `Char` production (surrogates cannot occur in a `str`).
fn is_xml_char(ch: char) -> bool {
    matches!(ch, '\t' | '\n' | '\r') || (ch >= ' ' && ch != '\u{FFFE}' && ch != '\u{FFFF}')
}

fn check_chars(text: &str) -> Result<(), XmlError> {
    // Most text is plain: no control characters, and no 0xEF lead byte that could start
    // U+FFFE or U+FFFF. A byte scan settles it without decoding characters.
    if text
        .bytes()
        .all(|byte| (byte >= 0x20 && byte != 0xEF) || matches!(byte, b'\t' | b'\n' | b'\r'))
    {
        return Ok(());
    }
    match text.chars().find(|&ch| !is_xml_char(ch)) {
        Some(ch) => Err(XmlError::Malformed(format!(
            "character U+{:04X} is not allowed in XML",
            u32::from(ch)
        ))),
        None => Ok(()),
    }
}

fn write_element(out: &mut String, element: &Element, parent_ns: Option<&str>) {
    out.push('<');
    out.push_str(element.name());
    let ns = element.ns();
    if parent_ns.unwrap_or("") != ns || (parent_ns.is_none() && !ns.is_empty()) {
        out.push_str(" xmlns='");
        escape_into(out, ns, true);
        out.push('\'');
    }
    for (key, value) in element.attrs() {
        out.push(' ');
        out.push_str(key);
        out.push_str("='");
        escape_into(out, value, true);
        out.push('\'');
    }
    if element.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for node in &element.children {
        match node {
            Node::Element(child) => write_element(out, child, Some(ns)),
            Node::Text(text) => escape_into(out, text, false),
        }
    }
    out.push_str("</");
    out.push_str(element.name());
    out.push('>');
}

/// Escapes markup characters, and the whitespace a parser would otherwise normalise, so that
/// parsing gives back exactly the same string. Characters XML cannot carry become U+FFFD
/// rather than producing a document the server would reject with a stream error.
fn escape_into(out: &mut String, text: &str, in_attribute: bool) {
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' if in_attribute => out.push_str("&#10;"),
            '\t' if in_attribute => out.push_str("&#9;"),
            ch if is_xml_char(ch) => out.push(ch),
            _ => out.push('\u{FFFD}'),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    const STREAM_NS: &str = "http://etherx.jabber.org/streams";

    fn parse(xml: &str) -> Result<Element, XmlError> {
        Element::parse(xml, &Limits::default())
    }

    #[test]
    fn parses_prosody_stream_features_with_prefixed_root() {
        let xml = "<stream:features xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'>\
            <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism>\
            <mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>";
        let features = parse(xml).unwrap();
        assert!(features.is("features", STREAM_NS));
        let mechanisms: Vec<String> = features
            .get_child("mechanisms", "urn:ietf:params:xml:ns:xmpp-sasl")
            .unwrap()
            .children()
            .map(Element::text)
            .collect();
        assert_eq!(mechanisms, ["PLAIN", "SCRAM-SHA-1"]);
        assert_eq!(
            features.attrs().count(),
            0,
            "declarations are not attributes"
        );
    }

    #[test]
    fn default_namespace_is_inherited_and_xml_lang_kept() {
        let message = parse(
            "<message xmlns='jabber:client' xml:lang='en' to='a@b'><body>hi</body>\
             <event xmlns='urn:vigie:event:1' id='1'><x/></event></message>",
        )
        .unwrap();
        assert_eq!(message.attr("xml:lang"), Some("en"));
        assert!(message.get_child("body", "jabber:client").is_some());
        let event = message.get_child("event", "urn:vigie:event:1").unwrap();
        assert!(event.get_child("x", "urn:vigie:event:1").is_some());
    }

    #[test]
    fn writes_xmlns_only_where_namespace_changes() {
        let message = Element::new("message", "jabber:client")
            .with_attr("to", "room@rooms.localhost")
            .with_child(Element::new("body", "jabber:client").with_text("a<b"))
            .with_child(
                Element::new("event", "urn:vigie:event:1")
                    .with_child(Element::new("v", "urn:vigie:event:1")),
            )
            .with_child(Element::new("bare", ""));
        assert_eq!(
            message.to_xml(),
            "<message xmlns='jabber:client' to='room@rooms.localhost'><body>a&lt;b</body>\
             <event xmlns='urn:vigie:event:1'><v/></event><bare xmlns=''/></message>"
        );
        assert_eq!(parse(&message.to_xml()).unwrap(), message);
    }

    #[test]
    fn escapes_and_decodes_exactly() {
        let tricky = "& < > \" ' \t\n\r ]]> é 😀";
        let element = Element::new("a", "urn:x")
            .with_attr("v", tricky)
            .with_text(tricky);
        let parsed = parse(&element.to_xml()).unwrap();
        assert_eq!(parsed.attr("v"), Some(tricky));
        assert_eq!(parsed.text(), tricky);
        let refs = parse("<a v='&#x41;&amp;&#66;'>&lt;&#x1F600;&gt;<![CDATA[<raw>]]></a>").unwrap();
        assert_eq!(refs.attr("v"), Some("A&B"));
        assert_eq!(refs.text(), "<😀><raw>");
    }

    #[test]
    fn control_characters_are_replaced_on_output_and_refused_on_input() {
        let element = Element::new("a", "").with_text("bell\u{7}");
        assert_eq!(element.to_xml(), "<a>bell\u{FFFD}</a>");
        assert!(matches!(parse("<a>&#7;</a>"), Err(XmlError::Malformed(_))));
        assert!(matches!(parse("<a>\u{1}</a>"), Err(XmlError::Malformed(_))));
    }

    #[test]
    fn prefixed_attributes_keep_their_declaration() {
        let element = parse("<a xmlns:p='urn:p'><b p:x='1'/></a>").unwrap();
        let b = element.children().next().unwrap();
        assert_eq!(b.attr("p:x"), Some("1"));
        assert_eq!(parse(&b.to_xml()).unwrap(), *b);
    }

    #[test]
    fn refuses_hostile_and_malformed_input() {
        let limits = Limits {
            max_bytes: 1000,
            max_depth: 4,
            max_attributes: 3,
        };
        type IsExpected = fn(&XmlError) -> bool;
        let cases: &[(&str, IsExpected)] = &[
            ("<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>", |e| {
                matches!(e, XmlError::Restricted(_))
            }),
            ("<a>&x;</a>", |e| matches!(e, XmlError::UnknownEntity(_))),
            ("<a><!-- c --></a>", |e| {
                matches!(e, XmlError::Restricted(_))
            }),
            ("<a><?pi x?></a>", |e| matches!(e, XmlError::Restricted(_))),
            ("<a><b><c><d><e/></d></c></b></a>", |e| {
                matches!(e, XmlError::TooDeep { .. })
            }),
            ("<a w='1' x='2' y='3' z='4'/>", |e| {
                matches!(e, XmlError::TooManyAttributes { .. })
            }),
            ("<p:a/>", |e| matches!(e, XmlError::UnboundPrefix(_))),
            ("<a q:b='1'/>", |e| matches!(e, XmlError::UnboundPrefix(_))),
            ("<a/><b/>", |e| matches!(e, XmlError::NotOneRoot)),
            ("text<a/>", |e| matches!(e, XmlError::NotOneRoot)),
            ("", |e| matches!(e, XmlError::NotOneRoot)),
            ("<a><b></a>", |e| matches!(e, XmlError::Malformed(_))),
            ("<a>", |e| matches!(e, XmlError::Malformed(_))),
            ("<a x='1' x='2'/>", |e| matches!(e, XmlError::Malformed(_))),
            ("<a xmlns:p=''/>", |e| matches!(e, XmlError::Malformed(_))),
            ("<a:b:c/>", |e| matches!(e, XmlError::Malformed(_))),
        ];
        for (xml, expected) in cases {
            let error = Element::parse(xml, &limits).expect_err(xml);
            assert!(expected(&error), "{xml}: unexpected {error:?}");
        }
        let big = format!("<a>{}</a>", "x".repeat(1000));
        assert!(matches!(
            Element::parse(&big, &limits),
            Err(XmlError::TooLarge { .. })
        ));
    }

    #[test]
    fn attribute_values_are_normalised_and_checked() {
        let element = parse("<a x='1\t2\n3\r\n4' y='plain é' z='&lt;&#9;'/>").unwrap();
        assert_eq!(element.attr("x"), Some("1 2 3 4"));
        assert_eq!(element.attr("y"), Some("plain é"));
        assert_eq!(element.attr("z"), Some("<\t"));
        assert!(parse("<a x='\u{1}'/>").is_err());
        assert!(parse("<a x='&#1;'/>").is_err());
        assert!(parse("<a x='\u{FFFE}'/>").is_err());
        assert!(parse("<a x='a&b'/>").is_err());
    }

    #[test]
    fn refuses_malformed_attribute_syntax() {
        for xml in [
            "<a x/>",
            "<a x=1/>",
            "<a x='1'y='2'/>",
            "<a ='1'/>",
            "<a x='1/>",
            "<a x=\"1'/>",
            "<a x='a<b'/>",
            "<a x&='1'/>",
            "<a x\u{1}='1'/>",
            "<a x = = '1'/>",
        ] {
            assert!(
                matches!(parse(xml), Err(XmlError::Malformed(_))),
                "{xml}: {:?}",
                parse(xml)
            );
        }
    }

    #[test]
    fn edits_after_parsing() {
        let mut element = parse("<a xmlns='urn:a' id='1' k='v'>x<b/></a>").unwrap();
        element.set_attr("id", "2");
        element.set_attr("new", "n");
        element.set_attr("xmlns", "urn:b");
        assert_eq!(
            element.to_xml(),
            "<a xmlns='urn:b' id='2' k='v' new='n'>x<b xmlns='urn:a'/></a>"
        );
        element.rename_ns("urn:a", "urn:b");
        assert_eq!(
            element.to_xml(),
            "<a xmlns='urn:b' id='2' k='v' new='n'>x<b/></a>"
        );
        assert_eq!(
            format!("{element:?}"),
            "Element { name: \"a\", ns: \"urn:b\", attrs: [(\"id\", \"2\"), (\"k\", \"v\"), \
             (\"new\", \"n\")], children: [Text(\"x\"), Element(Element { name: \"b\", \
             ns: \"urn:b\", attrs: [], children: [] })] }"
        );
        assert_eq!(element.clone().into_text(), "x");
        assert_eq!(parse("<a>x&amp;y<b/>z</a>").unwrap().into_text(), "x&yz");
    }

    #[test]
    fn equality_ignores_attribute_order_only() {
        let a = parse("<e xmlns='urn:x' id='1' kind='jam'/>").unwrap();
        assert_eq!(a, parse("<e xmlns='urn:x' kind='jam' id='1'/>").unwrap());
        assert_ne!(a, parse("<e xmlns='urn:x' kind='jam' id='2'/>").unwrap());
        assert_ne!(
            a,
            parse("<e xmlns='urn:x' kind='jam' id='1' x=''/>").unwrap()
        );
    }

    #[test]
    fn accepts_declaration_and_surrounding_whitespace() {
        let element = parse("<?xml version='1.0'?>\n <a/>\n").unwrap();
        assert!(element.is("a", ""));
    }

    fn arbitrary_element() -> impl Strategy<Value = Element> {
        let name = prop::sample::select(vec!["message", "body", "x", "event", "a-b.c_d"]);
        let ns = prop::sample::select(vec!["", "jabber:client", "urn:vigie:event:1", "urn:a&'b"]);
        let text = "[^\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\u{fffe}\u{ffff}]{0,12}";
        let attrs = prop::collection::btree_map(
            prop::sample::select(vec!["id", "to", "type", "xml:lang"]),
            text,
            0..3,
        );
        let leaf = (
            name.clone(),
            ns.clone(),
            attrs.clone(),
            prop::option::of(text),
        )
            .prop_map(|(name, ns, attrs, text)| {
                let mut element = Element::new(name, ns);
                for (key, value) in attrs {
                    element.set_attr(key, value);
                }
                if let Some(text) = text {
                    element.push_text(text);
                }
                element
            });
        leaf.prop_recursive(4, 32, 4, move |inner| {
            (
                name.clone(),
                ns.clone(),
                prop::collection::vec(
                    prop_oneof![inner.prop_map(Node::Element), text.prop_map(Node::Text)],
                    0..4,
                ),
            )
                .prop_map(|(name, ns, nodes)| {
                    let mut element = Element::new(name, ns);
                    for node in nodes {
                        match node {
                            Node::Element(child) => element.push_child(child),
                            Node::Text(text) => element.push_text(text),
                        }
                    }
                    element
                })
        })
    }

    proptest! {
        #[test]
        fn round_trips(element in arbitrary_element()) {
            prop_assert_eq!(parse(&element.to_xml()).unwrap(), element);
        }

        #[test]
        fn reads_attributes_however_they_are_spaced_and_quoted(
            attributes in prop::collection::btree_map("[a-z][a-z0-9.:_-]{0,6}", "[^<&'\"\u{0}-\u{1f}\u{fffe}\u{ffff}]{0,8}", 0..6),
            spacing in prop::collection::vec(("[ \t\r\n]{1,2}", "[ \t\r\n]{0,2}", "[ \t\r\n]{0,2}", any::<bool>()), 6),
        ) {
            let mut xml = String::from("<a xmlns:p='urn:p' xmlns:x0='urn:x'");
            for ((key, value), (before, around, after, double)) in attributes.iter().zip(&spacing) {
                let quote = if *double { '"' } else { '\'' };
                xml.push_str(&format!("{before}{key}{around}={after}{quote}{value}{quote}"));
            }
            xml.push_str(" />");
            match parse(&xml) {
                Ok(element) => {
                    let read: BTreeMap<&str, &str> = element.attrs().filter(|(key, _)| !key.starts_with("xmlns:")).collect();
                    let written: BTreeMap<&str, &str> = attributes.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    prop_assert_eq!(read, written);
                }
                // Prefixes other than the two declared ones are unbound; other names are fine.
                Err(error) => prop_assert!(matches!(error, XmlError::UnboundPrefix(_) | XmlError::Malformed(_)) && attributes.keys().any(|key| key.contains(':')), "{xml}: {error}"),
            }
        }

        #[test]
        fn never_panics_on_arbitrary_input(input in "\\PC{0,64}") {
            let _ = parse(&input);
        }

        #[test]
        fn never_panics_on_mangled_stanzas(cut in 0usize..120, insert in "[<>&;'\"/=a-z: ]{0,4}") {
            let stanza = "<message xmlns='jabber:client' to='r@x' type='groupchat'><body>a &amp; b</body><x xmlns:p='u' p:a='1'/></message>";
            let cut = stanza.char_indices().map(|(i, _)| i).find(|&i| i >= cut).unwrap_or(stanza.len());
            let mangled = format!("{}{}{}", &stanza[..cut], insert, &stanza[cut..]);
            let _ = parse(&mangled);
        }
    }
}
