//! Reading an IATI activity file one `iati-activity` at a time, each as a small tree.
//!
//! The reader never holds more than one activity: a file of any size is read in bounded memory.
//! It reads no DTD: a file that declares a document type is refused before anything else, so no
//! entity is ever expanded and no external reference (a local file, a URL) is ever followed.
//! Depth and the size of one activity are bounded too ([`MAX_DEPTH`], [`MAX_ACTIVITY_BYTES`]).

use std::collections::BTreeMap;
use std::io::BufRead;

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

/// How deep elements may nest (the root is level 1); IATI's own elements need fewer than 10.
pub const MAX_DEPTH: usize = 64;

/// The largest `iati-activity` read, in bytes of the file.
pub const MAX_ACTIVITY_BYTES: u64 = 16 * 1024 * 1024;

/// One element: its name as written, its namespace, attributes, children and text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// The name as written, with its prefix (e.g. `amanah:activity`).
    pub name: String,
    /// The local name, without a prefix.
    pub local: String,
    /// The namespace URI, when the element is in one.
    pub namespace: Option<String>,
    /// The attributes as written (namespace declarations left out), in document order.
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Element>,
    /// The character data directly inside the element, unescaped.
    pub text: String,
}

impl Element {
    /// The value of attribute `name` (as written, e.g. `xml:lang`).
    #[must_use]
    pub fn attribute(&self, name: &str) -> Option<&str> {
        find_attribute(&self.attributes, name)
    }

    /// The children in no namespace named `local`, in document order.
    pub fn children_named<'a>(&'a self, local: &'a str) -> impl Iterator<Item = &'a Self> + 'a {
        self.children
            .iter()
            .filter(move |child| child.namespace.is_none() && child.local == local)
    }

    /// The first child in no namespace named `local`.
    #[must_use]
    pub fn child(&self, local: &str) -> Option<&Self> {
        self.children
            .iter()
            .find(|child| child.namespace.is_none() && child.local == local)
    }

    /// The children in namespace `namespace` named `local`.
    pub fn children_in<'a>(
        &'a self,
        namespace: &'a str,
        local: &'a str,
    ) -> impl Iterator<Item = &'a Self> + 'a {
        self.children.iter().filter(move |child| {
            child.namespace.as_deref() == Some(namespace) && child.local == local
        })
    }

    /// How often each element path and attribute path occurs in this element and below:
    /// `iati-activity/title/narrative` and `iati-activity/title/narrative/@xml:lang`. What an
    /// import compares with what it would write back, to report what it does not keep.
    #[must_use]
    pub fn path_counts(&self) -> BTreeMap<String, usize> {
        fn walk(element: &Element, prefix: &str, counts: &mut BTreeMap<String, usize>) {
            let path = if prefix.is_empty() {
                element.name.clone()
            } else {
                format!("{prefix}/{}", element.name)
            };
            *counts.entry(path.clone()).or_default() += 1;
            for (name, _) in &element.attributes {
                *counts.entry(format!("{path}/@{name}")).or_default() += 1;
            }
            for child in &element.children {
                walk(child, &path, counts);
            }
        }
        let mut counts = BTreeMap::new();
        walk(self, "", &mut counts);
        counts
    }
}

/// The root element of a file: its name and attributes (namespace declarations left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    pub name: String,
    pub attributes: Vec<(String, String)>,
}

impl Root {
    /// The value of attribute `name`.
    #[must_use]
    pub fn attribute(&self, name: &str) -> Option<&str> {
        find_attribute(&self.attributes, name)
    }
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(
        "the file declares a document type (<!DOCTYPE …>): IATI files have none, and Amanah reads \
         no DTD, so no entity is expanded and no external reference is followed"
    )]
    DocumentType,
    #[error("the file is not well-formed XML (at byte {position}): {message}")]
    Syntax { position: u64, message: String },
    #[error("the file has no root element")]
    NoRoot,
    #[error("elements nest deeper than {MAX_DEPTH} levels (at byte {position})")]
    TooDeep { position: u64 },
    #[error("the iati-activity starting at byte {start} is larger than {MAX_ACTIVITY_BYTES} bytes")]
    ActivityTooLarge { start: u64 },
    #[error("the file cannot be read: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads a file's root, then its `iati-activity` children one at a time.
pub struct ActivityReader<R: BufRead> {
    reader: NsReader<R>,
    buf: Vec<u8>,
    root: Root,
    /// The root's children that are not `iati-activity`, by name, with their counts.
    others: BTreeMap<String, usize>,
    finished: bool,
}

impl<R: BufRead> std::fmt::Debug for ActivityReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivityReader")
            .field("root", &self.root)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl<R: BufRead> ActivityReader<R> {
    /// Reads up to the root element's start.
    ///
    /// # Errors
    /// [`ReadError::DocumentType`] for a file with a DOCTYPE, [`ReadError::Syntax`],
    /// [`ReadError::NoRoot`] or an I/O error.
    pub fn new(source: R) -> Result<Self, ReadError> {
        let mut reader = NsReader::from_reader(source);
        reader.config_mut().expand_empty_elements = false;
        let mut buf = Vec::new();
        let (root, finished) = loop {
            buf.clear();
            let position = reader.buffer_position();
            match reader.read_event_into(&mut buf) {
                Ok(Event::DocType(_)) => return Err(ReadError::DocumentType),
                Ok(Event::Start(start)) => break (root_of(&start, position)?, false),
                Ok(Event::Empty(start)) => break (root_of(&start, position)?, true),
                Ok(Event::Eof) => return Err(ReadError::NoRoot),
                Ok(Event::Text(text)) if text.iter().all(u8::is_ascii_whitespace) => {}
                Ok(Event::Decl(_) | Event::Comment(_) | Event::PI(_)) => {}
                Ok(_) => {
                    return Err(ReadError::Syntax {
                        position,
                        message: "content before the root element".to_owned(),
                    });
                }
                Err(error) => return Err(syntax(&reader, &error)),
            }
        };
        Ok(Self {
            reader,
            buf,
            root,
            others: BTreeMap::new(),
            finished,
        })
    }

    /// The root element.
    #[must_use]
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// The root's children that were not `iati-activity` elements, by name, with their counts
    /// (complete once [`Self::next_activity`] has returned `None`).
    #[must_use]
    pub fn others(&self) -> &BTreeMap<String, usize> {
        &self.others
    }

    /// The byte offset the reader has reached.
    #[must_use]
    pub fn position(&self) -> u64 {
        self.reader.buffer_position()
    }

    /// The next `iati-activity`, or `None` at the end of the root.
    ///
    /// # Errors
    /// [`ReadError::Syntax`], [`ReadError::TooDeep`], [`ReadError::ActivityTooLarge`] or I/O.
    pub fn next_activity(&mut self) -> Result<Option<Element>, ReadError> {
        while !self.finished {
            self.buf.clear();
            let position = self.reader.buffer_position();
            let event = self.reader.read_resolved_event_into(&mut self.buf);
            match event {
                Ok((resolved, Event::Start(start))) => {
                    let element = read_element(resolved, &start, position, 2)?;
                    let element = self.fill(element, position, 2)?;
                    if element.namespace.is_none() && element.local == "iati-activity" {
                        return Ok(Some(element));
                    }
                    *self.others.entry(element.name).or_default() += 1;
                }
                Ok((resolved, Event::Empty(start))) => {
                    let element = read_element(resolved, &start, position, 2)?;
                    if element.namespace.is_none() && element.local == "iati-activity" {
                        return Ok(Some(element));
                    }
                    *self.others.entry(element.name).or_default() += 1;
                }
                Ok((_, Event::End(_) | Event::Eof)) => self.finished = true,
                Ok(_) => {}
                Err(error) => return Err(syntax(&self.reader, &error)),
            }
        }
        Ok(None)
    }

    /// Reads the content of `element` (whose start tag was just read) up to its end tag.
    fn fill(&mut self, opened: Element, start: u64, depth: usize) -> Result<Element, ReadError> {
        let mut stack = vec![opened];
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let position = self.reader.buffer_position();
            if position.saturating_sub(start) > MAX_ACTIVITY_BYTES {
                return Err(ReadError::ActivityTooLarge { start });
            }
            let event = self.reader.read_resolved_event_into(&mut buf);
            match event {
                Ok((resolved, Event::Start(tag))) => {
                    let child = read_element(resolved, &tag, position, depth + stack.len())?;
                    stack.push(child);
                }
                Ok((resolved, Event::Empty(tag))) => {
                    let child = read_element(resolved, &tag, position, depth + stack.len())?;
                    if let Some(parent) = stack.last_mut() {
                        parent.children.push(child);
                    }
                }
                Ok((_, Event::Text(text))) => {
                    let text = text.unescape().map_err(|error| ReadError::Syntax {
                        position,
                        message: error.to_string(),
                    })?;
                    if let Some(current) = stack.last_mut() {
                        current.text.push_str(&text);
                    }
                }
                Ok((_, Event::CData(data))) => {
                    if let Some(current) = stack.last_mut() {
                        current.text.push_str(&String::from_utf8_lossy(&data));
                    }
                }
                Ok((_, Event::End(_))) => {
                    let Some(done) = stack.pop() else {
                        unreachable!("an end tag pops the element it closes");
                    };
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => return Ok(done),
                    }
                }
                Ok((_, Event::Eof)) => {
                    return Err(ReadError::Syntax {
                        position,
                        message: "the file ends inside an element".to_owned(),
                    });
                }
                Ok(_) => {}
                Err(error) => return Err(syntax(&self.reader, &error)),
            }
        }
    }
}

fn read_element(
    resolved: ResolveResult<'_>,
    start: &BytesStart<'_>,
    position: u64,
    depth: usize,
) -> Result<Element, ReadError> {
    if depth > MAX_DEPTH {
        return Err(ReadError::TooDeep { position });
    }
    let namespace = match resolved {
        ResolveResult::Bound(namespace) => {
            Some(String::from_utf8_lossy(namespace.as_ref()).into_owned())
        }
        ResolveResult::Unbound => None,
        ResolveResult::Unknown(prefix) => {
            return Err(ReadError::Syntax {
                position,
                message: format!(
                    "the prefix `{}` is not declared",
                    String::from_utf8_lossy(&prefix)
                ),
            });
        }
    };
    Ok(Element {
        name: name_of(start),
        local: String::from_utf8_lossy(start.local_name().as_ref()).into_owned(),
        namespace,
        attributes: attributes(start, position)?,
        children: Vec::new(),
        text: String::new(),
    })
}

fn root_of(start: &BytesStart<'_>, position: u64) -> Result<Root, ReadError> {
    Ok(Root {
        name: name_of(start),
        attributes: attributes(start, position)?,
    })
}

/// The value of attribute `name` among `attributes`.
fn find_attribute<'a>(attributes: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn name_of(start: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(start.name().as_ref()).into_owned()
}

fn attributes(start: &BytesStart<'_>, position: u64) -> Result<Vec<(String, String)>, ReadError> {
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|error| ReadError::Syntax {
            position,
            message: error.to_string(),
        })?;
        let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        let value = attribute
            .unescape_value()
            .map_err(|error| ReadError::Syntax {
                position,
                message: error.to_string(),
            })?
            .into_owned();
        attributes.push((key, value));
    }
    Ok(attributes)
}

fn syntax<R>(reader: &quick_xml::Reader<R>, error: &quick_xml::Error) -> ReadError {
    ReadError::Syntax {
        position: reader.error_position(),
        message: error.to_string(),
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use super::*;

    fn reader(xml: &str) -> Result<ActivityReader<&[u8]>, ReadError> {
        ActivityReader::new(xml.as_bytes())
    }

    #[test]
    fn activities_come_one_at_a_time_with_their_text_attributes_and_namespaces() {
        let mut file = reader(
            "<?xml version=\"1.0\"?>\n<!-- a comment -->\n\
             <iati-activities version=\"2.03\" xmlns:x=\"urn:x\">\
             <iati-activity xml:lang=\"en\"><iati-identifier> A&amp;B </iati-identifier>\
             <title><narrative><![CDATA[<raw>]]></narrative></title><x:note n=\"1\"/>\
             </iati-activity><x:other/><x:other/><iati-activity/></iati-activities>",
        )
        .unwrap();
        assert_eq!(file.root().name, "iati-activities");
        assert_eq!(file.root().attribute("version"), Some("2.03"));
        assert_eq!(
            file.root().attributes.len(),
            1,
            "xmlns declarations are not data"
        );
        let first = file.next_activity().unwrap().unwrap();
        assert_eq!(first.attribute("xml:lang"), Some("en"));
        assert_eq!(first.child("iati-identifier").unwrap().text, " A&B ");
        let narrative = first.child("title").unwrap().child("narrative").unwrap();
        assert_eq!(narrative.text, "<raw>");
        let note = first.children_in("urn:x", "note").next().unwrap();
        assert_eq!(
            (note.name.as_str(), note.local.as_str()),
            ("x:note", "note")
        );
        assert!(
            first.child("note").is_none(),
            "a child in a namespace is not a plain one"
        );
        let counts = first.path_counts();
        assert_eq!(counts.get("iati-activity/title/narrative"), Some(&1));
        assert_eq!(counts.get("iati-activity/@xml:lang"), Some(&1));
        assert_eq!(counts.get("iati-activity/x:note/@n"), Some(&1));
        let second = file.next_activity().unwrap().unwrap();
        assert!(second.children.is_empty());
        assert!(file.next_activity().unwrap().is_none());
        assert_eq!(file.others().get("x:other"), Some(&2));
    }

    #[test]
    fn a_document_type_is_refused_before_anything_else() {
        let bomb = "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY b \"c\">]><a>&b;</a>";
        assert!(matches!(reader(bomb), Err(ReadError::DocumentType)));
        let external = "<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a/>";
        assert!(matches!(reader(external), Err(ReadError::DocumentType)));
    }

    #[test]
    fn depth_and_undeclared_entities_and_prefixes_are_refused() {
        let deep = format!(
            "<r><iati-activity>{}{}</iati-activity></r>",
            "<e>".repeat(MAX_DEPTH),
            "</e>".repeat(MAX_DEPTH)
        );
        let mut file = reader(&deep).unwrap();
        assert!(matches!(
            file.next_activity(),
            Err(ReadError::TooDeep { .. })
        ));
        let shallow = format!(
            "<r><iati-activity>{}{}</iati-activity></r>",
            "<e>".repeat(MAX_DEPTH - 2),
            "</e>".repeat(MAX_DEPTH - 2)
        );
        assert!(reader(&shallow).unwrap().next_activity().unwrap().is_some());

        let entity = "<r><iati-activity>&unknown;</iati-activity></r>";
        assert!(matches!(
            reader(entity).unwrap().next_activity(),
            Err(ReadError::Syntax { .. })
        ));
        let prefix = "<r><iati-activity><p:e/></iati-activity></r>";
        assert!(matches!(
            reader(prefix).unwrap().next_activity(),
            Err(ReadError::Syntax { .. })
        ));
        assert!(matches!(reader("   "), Err(ReadError::NoRoot)));
        let cut = "<r><iati-activity><title>";
        assert!(matches!(
            reader(cut).unwrap().next_activity(),
            Err(ReadError::Syntax { .. })
        ));
    }
}
