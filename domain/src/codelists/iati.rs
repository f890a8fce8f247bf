//! The official IATI 2.03 code lists, complete: every code of the lists in `domain/codelists/`
//! (vendored from IATI-Codelists and IATI-Codelists-NonEmbedded; provenance and the CC BY 4.0
//! attribution in that folder's README), with its English name, description and status.
//!
//! The tables are generated ([`generated`]), not written by hand: the test
//! `the_generated_tables_are_the_vendored_xml` reads the XML and fails when the checked-in
//! tables differ from it (`UPDATE_CODELISTS=1 cargo test -p amanah-domain the_generated_tables`
//! rewrites them after the XML was updated). Another test checks that every hand-written enum
//! of [`super`] (`OrganisationRole`, `TransactionType`, …) carries exactly the codes and names of
//! its list.

#[path = "iati_generated.rs"]
#[rustfmt::skip]
pub mod generated;

/// Whether a code may be used for new data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeStatus {
    Active,
    /// Withdrawn codes stay readable (old data keeps its meaning) but are refused for new data.
    Withdrawn,
}

/// One code of an IATI code list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code {
    pub code: &'static str,
    /// The English name.
    pub name: &'static str,
    /// The English description; empty when the list gives none.
    pub description: &'static str,
    pub status: CodeStatus,
}

/// An IATI code list.
#[derive(Debug, PartialEq, Eq)]
pub struct CodeList {
    /// The list's IATI name, e.g. `Sector`.
    pub name: &'static str,
    /// Its English title, e.g. `DAC 5 Digit Sector`.
    pub title: &'static str,
    /// Every code, in the list's order.
    pub codes: &'static [Code],
    /// The positions in `codes`, ordered by code: what [`CodeList::get`] searches (binary), since
    /// every value read back from a stored state looks its code up.
    pub by_code: &'static [u16],
}

impl CodeList {
    /// The code `code`, active or withdrawn.
    #[must_use]
    pub fn get(&self, code: &str) -> Option<&'static Code> {
        self.by_code
            .binary_search_by(|&at| self.codes[usize::from(at)].code.cmp(code))
            .ok()
            .map(|found| &self.codes[usize::from(self.by_code[found])])
    }

    /// Whether `code` may be used for new data: in the list and not withdrawn.
    #[must_use]
    pub fn allows(&self, code: &str) -> bool {
        self.get(code)
            .is_some_and(|entry| entry.status == CodeStatus::Active)
    }
}

/// The list called `name` (its IATI name, e.g. `Sector`).
#[must_use]
pub fn list(name: &str) -> Option<&'static CodeList> {
    generated::ALL
        .iter()
        .copied()
        .find(|list| list.name == name)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use std::fmt::Write as _;
    use std::path::{Path, PathBuf};

    use quick_xml::events::Event;

    use super::*;

    fn vendored() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("codelists")
    }

    fn generated_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/codelists/iati_generated.rs")
    }

    /// What the XML says of one code.
    #[derive(Default)]
    struct Item {
        code: String,
        name: String,
        description: String,
        withdrawn: bool,
    }

    /// A list's title and codes, read from its XML (English narratives: no `xml:lang`, or `en`).
    fn read(path: &Path) -> (String, Vec<Item>) {
        let text = std::fs::read_to_string(path).unwrap();
        let mut reader = quick_xml::Reader::from_str(&text);
        let mut stack: Vec<String> = Vec::new();
        let mut english = true;
        let mut title = String::new();
        let mut items = Vec::new();
        let mut item = Item::default();
        loop {
            match reader.read_event().unwrap() {
                Event::Start(start) => {
                    let name = String::from_utf8(start.name().as_ref().to_vec()).unwrap();
                    if name == "codelist-item" {
                        item = Item::default();
                        item.withdrawn = start.attributes().any(|attribute| {
                            let attribute = attribute.unwrap();
                            attribute.key.as_ref() == b"status"
                                && attribute.value.as_ref() == b"withdrawn"
                        });
                    }
                    if name == "narrative" {
                        english = start.attributes().all(|attribute| {
                            let attribute = attribute.unwrap();
                            attribute.key.as_ref() != b"xml:lang"
                                || attribute.value.as_ref() == b"en"
                        });
                    }
                    stack.push(name);
                }
                Event::End(_) if stack.pop().as_deref() == Some("codelist-item") => {
                    items.push(std::mem::take(&mut item));
                }
                Event::Text(text) => {
                    let text = text.unescape().unwrap().trim().to_owned();
                    let path: Vec<&str> = stack.iter().map(String::as_str).collect();
                    match path.as_slice() {
                        [.., "metadata", "name", "narrative"] if english && title.is_empty() => {
                            title = text;
                        }
                        [.., "codelist-item", "code"] => item.code = text,
                        [.., "codelist-item", "name", "narrative"]
                            if english && item.name.is_empty() =>
                        {
                            item.name = text;
                        }
                        [.., "codelist-item", "description", "narrative"]
                            if english && item.description.is_empty() =>
                        {
                            item.description = text;
                        }
                        _ => {}
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        (title, items)
    }

    fn constant(name: &str) -> String {
        let mut out = String::new();
        for (index, c) in name.chars().enumerate() {
            if c.is_ascii_uppercase() && index > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_uppercase());
        }
        out
    }

    /// The generated module, from the vendored XML.
    fn render() -> String {
        let mut files: Vec<PathBuf> = std::fs::read_dir(vendored())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "xml"))
            .collect();
        files.sort();
        let mut out = String::from(
            "//! Generated from the IATI code lists in `domain/codelists/` by the test\n\
             //! `codelists::iati::tests::the_generated_tables_are_the_vendored_xml`: do not edit.\n\
             //! IATI Standard (http://iatistandard.org/), CC BY 4.0.\n\n\
             use super::{Code, CodeList, CodeStatus::{Active, Withdrawn}};\n",
        );
        let mut names = Vec::new();
        for path in &files {
            let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
            let (title, items) = read(path);
            let _ = write!(
                out,
                "\npub static {}: CodeList = CodeList {{\n    name: {name:?},\n    title: {title:?},\n    codes: &[\n",
                constant(&name)
            );
            for item in &items {
                let _ = writeln!(
                    out,
                    "        Code {{ code: {:?}, name: {:?}, description: {:?}, status: {} }},",
                    item.code,
                    item.name,
                    item.description,
                    if item.withdrawn {
                        "Withdrawn"
                    } else {
                        "Active"
                    }
                );
            }
            let mut by_code: Vec<usize> = (0..items.len()).collect();
            by_code.sort_by(|&a, &b| items[a].code.cmp(&items[b].code));
            let by_code: Vec<String> = by_code.iter().map(ToString::to_string).collect();
            let _ = writeln!(out, "    ],\n    by_code: &[{}],\n}};", by_code.join(", "));
            names.push(name);
        }
        let _ = write!(
            out,
            "\n/// Every list, by name.\npub static ALL: [&CodeList; {}] = [\n",
            names.len()
        );
        for name in &names {
            let _ = writeln!(out, "    &{},", constant(name));
        }
        out.push_str("];\n");
        out
    }

    #[test]
    fn the_generated_tables_are_the_vendored_xml() {
        let rendered = render();
        let checked_in = std::fs::read_to_string(generated_path()).unwrap_or_default();
        if checked_in == rendered {
            return;
        }
        // The file is rewritten on request, and the run still fails: a run that changed it
        // checked nothing (CI passing with UPDATE_CODELISTS set would hide the drift).
        if std::env::var_os("UPDATE_CODELISTS").is_some_and(|value| value == "1") {
            std::fs::write(generated_path(), &rendered).unwrap();
            panic!(
                "updated src/codelists/iati_generated.rs from domain/codelists/*.xml; re-run \
                 without UPDATE_CODELISTS and commit it"
            );
        }
        panic!(
            "src/codelists/iati_generated.rs differs from domain/codelists/*.xml: run \
             `UPDATE_CODELISTS=1 cargo test -p amanah-domain the_generated_tables` (it fails \
             once, having updated the file), then commit it"
        );
    }

    /// `get` finds every code of every list, as itself: codes are unique within a list and
    /// `by_code` orders them.
    #[test]
    fn every_code_is_found_by_its_code() {
        for list in generated::ALL {
            assert_eq!(list.by_code.len(), list.codes.len(), "{}", list.name);
            for code in list.codes {
                assert_eq!(
                    list.get(code.code),
                    Some(code),
                    "{} {}",
                    list.name,
                    code.code
                );
            }
        }
    }

    #[test]
    fn the_lists_are_complete_and_keep_withdrawn_codes() {
        let sector = list("Sector").unwrap();
        assert_eq!(sector.title, "DAC 5 Digit Sector");
        let anti_corruption = sector.get("15113").unwrap();
        assert_eq!(
            anti_corruption.name,
            "Anti-corruption organisations and institutions"
        );
        assert!(sector.allows("15113"));
        // Withdrawn: readable, refused for new data.
        let withdrawn = sector.get("15120").unwrap();
        assert_eq!(withdrawn.status, CodeStatus::Withdrawn);
        assert!(!sector.allows("15120"));
        assert!(!sector.allows("99999"));
        assert!(list("Country").unwrap().allows("ID"));
        assert!(list("Currency").unwrap().allows("EUR"));
        assert_eq!(list("Nope"), None);
    }

    /// The hand-written enums of the code lists Amanah decides on carry the codes and names of
    /// their list: every code of the list (an enum is never a selection), named as the list names
    /// it. (`ProjectStatus` is ActivityStatus under Amanah's name.)
    #[test]
    fn the_enums_are_their_lists() {
        use crate::codelists as c;

        fn check(list_name: &str, enum_codes: &[(&str, &str)]) {
            let list = list(list_name).unwrap();
            let listed: Vec<(&str, &str)> = list
                .codes
                .iter()
                .map(|code| (code.code, code.name))
                .collect();
            assert_eq!(enum_codes, listed.as_slice(), "{list_name}");
        }
        macro_rules! check_enums {
            ($($ty:ident),+) => {
                $(check(
                    c::$ty::CODELIST,
                    &c::$ty::ALL.iter().map(|v| (v.code(), v.name())).collect::<Vec<_>>(),
                );)+
            };
        }
        check_enums!(
            ProjectStatus,
            ActivityDateType,
            OrganisationRole,
            OrganisationType,
            TransactionType,
            RelatedActivityType,
            BudgetType,
            BudgetStatus,
            DescriptionType,
            OtherIdentifierType
        );
    }
}
