//! A small XML writer: elements with static names, escaped attribute values and text, closed in
//! order. Enough for the IATI files, whose element names are all known in advance.

/// Writes XML into a string. Elements opened with [`Self::open`] are closed in reverse order by
/// [`Self::close`]; a forgotten close is a bug that [`Self::finish`] reports in debug builds.
#[derive(Debug, Default)]
pub struct XmlWriter {
    out: String,
    open: Vec<&'static str>,
    /// The indentation of the outermost element written (children of a root written elsewhere).
    depth: usize,
}

impl XmlWriter {
    /// An empty writer.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty writer for elements that go `depth` levels deep into a document written
    /// elsewhere (indented as such).
    #[must_use]
    pub fn nested(depth: usize) -> Self {
        Self {
            depth,
            ..Self::default()
        }
    }

    /// Opens `<name attr="value" …>`; attributes whose value is `None` are left out.
    pub fn open(&mut self, name: &'static str, attributes: &[(&str, Option<&str>)]) -> &mut Self {
        self.indent();
        self.start_tag(name, attributes);
        self.out.push_str(">\n");
        self.open.push(name);
        self
    }

    /// Writes `<name attr="value" …/>`.
    pub fn empty(&mut self, name: &'static str, attributes: &[(&str, Option<&str>)]) -> &mut Self {
        self.indent();
        self.start_tag(name, attributes);
        self.out.push_str("/>\n");
        self
    }

    /// Writes `<name attr="value" …>text</name>`.
    pub fn text(
        &mut self,
        name: &'static str,
        attributes: &[(&str, Option<&str>)],
        text: &str,
    ) -> &mut Self {
        self.indent();
        self.start_tag(name, attributes);
        self.out.push('>');
        escape_into(&mut self.out, text, false);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
        self
    }

    /// Closes the element opened last.
    pub fn close(&mut self) -> &mut Self {
        if let Some(name) = self.open.pop() {
            self.indent();
            self.out.push_str("</");
            self.out.push_str(name);
            self.out.push_str(">\n");
        }
        self
    }

    /// The text written so far, every element closed.
    #[must_use]
    pub fn finish(self) -> String {
        debug_assert!(self.open.is_empty(), "unclosed elements: {:?}", self.open);
        self.out
    }

    fn indent(&mut self) {
        for _ in 0..self.depth + self.open.len() {
            self.out.push_str("  ");
        }
    }

    fn start_tag(&mut self, name: &str, attributes: &[(&str, Option<&str>)]) {
        self.out.push('<');
        self.out.push_str(name);
        for (attribute, value) in attributes {
            if let Some(value) = value {
                self.out.push(' ');
                self.out.push_str(attribute);
                self.out.push_str("=\"");
                escape_into(&mut self.out, value, true);
                self.out.push('"');
            }
        }
    }
}

/// Appends `raw` escaped for XML text, or for a double-quoted attribute value (where line breaks
/// and tabs are written as character references, or a parser would turn them into spaces).
fn escape_into(out: &mut String, raw: &str, attribute: bool) {
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_attributes_and_nests() {
        let mut xml = XmlWriter::new();
        xml.open("a", &[("x", Some("1 < 2 & \"q\"\n")), ("skipped", None)])
            .text("b", &[], "Tom & Jerry <3>\r\n")
            .empty("c", &[("y", Some("'"))])
            .close();
        let mut nested = XmlWriter::nested(1);
        nested.empty("d", &[]);
        assert_eq!(nested.finish(), "  <d/>\n");
        assert_eq!(
            xml.finish(),
            "<a x=\"1 &lt; 2 &amp; &quot;q&quot;&#10;\">\n  \
             <b>Tom &amp; Jerry &lt;3&gt;&#13;\n</b>\n  <c y=\"'\"/>\n</a>\n"
        );
    }
}
