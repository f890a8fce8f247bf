//! Bounds on a GraphQL document, checked before async-graphql sees it.
//!
//! async-graphql's own checks (its recursion guard, the depth and complexity visitors, the
//! directive limit) walk the document with every fragment spread expanded again where it occurs.
//! Thirty fragments that each spread the next one three times are 1.4 KB of text and 3³⁰ fields
//! once expanded: those walks would run for hours, and no deadline can stop work that never
//! yields. So before the document reaches them, [`check`] measures it in time linear in its
//! length:
//!
//! | bound | refused with |
//! |---|---|
//! | lexical tokens ([`DocumentLimits::tokens`]), counted before parsing | `QUERY_TOO_COMPLEX` |
//! | fragment definitions ([`DocumentLimits::fragments`]) | `QUERY_TOO_COMPLEX` |
//! | directives anywhere in the document ([`DocumentLimits::directives`]) | `QUERY_TOO_COMPLEX` |
//! | fields of each operation once every fragment is expanded ([`DocumentLimits::fields`]) | `QUERY_TOO_COMPLEX` |
//! | a fragment that spreads itself, directly or through others | `GRAPHQL_VALIDATION_FAILED` |
//! | text that does not parse (the parser's error and its positions) | `GRAPHQL_PARSE_FAILED` |
//!
//! The expanded size of each fragment is computed once and remembered, so the count costs one
//! visit per selection however often a fragment is spread (and saturates instead of overflowing).
//! The field bound is the complexity limit: every field costs at least 1 in complexity, so a
//! document within it is never refused here that the complexity check would accept.
//!
//! The document is parsed once, here, and handed on parsed.

use std::collections::HashMap;

use async_graphql::Pos;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

use crate::error::ErrorCode;

/// The bounds [`check`] applies; built from [`crate::config::Limits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentLimits {
    /// Most lexical tokens (names, punctuators, numbers, strings) in the document.
    pub tokens: usize,
    /// Most fragment definitions.
    pub fragments: usize,
    /// Most directives, counting every occurrence in the document's text.
    pub directives: usize,
    /// Most fields one operation selects once its fragments are expanded.
    pub fields: usize,
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
    /// Where in the document (for a parse error, the parser's positions).
    pub locations: Vec<Pos>,
}

impl Refusal {
    fn too_complex(message: String) -> Self {
        Self {
            code: ErrorCode::QueryTooComplex,
            message,
            locations: Vec::new(),
        }
    }

    fn unparsable(error: &async_graphql::parser::Error) -> Self {
        Self {
            code: ErrorCode::GraphqlParseFailed,
            message: error.to_string(),
            locations: error.positions().collect(),
        }
    }
}

/// Checks `query` against `limits` and returns it parsed, so that it is parsed only once:
/// [`parse`], then [`bound`].
///
/// # Errors
/// A [`Refusal`] naming the bound the document breaks, or the parser's error.
pub fn check(query: &str, limits: &DocumentLimits) -> Result<ExecutableDocument, Refusal> {
    let document = parse(query, limits)?;
    bound(&document, limits)?;
    Ok(document)
}

/// Counts the tokens of `query` (refused beyond [`DocumentLimits::tokens`], before parsing),
/// then parses it.
///
/// # Errors
/// A [`Refusal`]: too many tokens, or the parser's error.
pub fn parse(query: &str, limits: &DocumentLimits) -> Result<ExecutableDocument, Refusal> {
    if let Some(tokens) = count_tokens(query, limits.tokens) {
        return Err(Refusal::too_complex(format!(
            "The document has more than {} tokens ({tokens} counted so far); at most {} are \
             allowed.",
            limits.tokens, limits.tokens
        )));
    }
    async_graphql::parser::parse_query(query).map_err(|error| Refusal::unparsable(&error))
}

/// Checks a parsed document's fragments, directives and expanded fields against `limits`.
///
/// # Errors
/// A [`Refusal`] naming the bound the document breaks.
pub fn bound(document: &ExecutableDocument, limits: &DocumentLimits) -> Result<(), Refusal> {
    let fragments = document.fragments.len();
    if fragments > limits.fragments {
        return Err(Refusal::too_complex(format!(
            "The document defines {fragments} fragments; at most {} are allowed.",
            limits.fragments
        )));
    }
    let directives = count_directives(document);
    if directives > limits.directives {
        return Err(Refusal::too_complex(format!(
            "The document uses {directives} directives; at most {} are allowed.",
            limits.directives
        )));
    }
    let mut sizes = FragmentSizes::new(document);
    for (name, operation) in document.operations.iter() {
        let fields = sizes.of_selection_set(&operation.node.selection_set.node)?;
        if fields > limits.fields {
            let operation = name.map_or_else(String::new, |name| format!("operation {name} "));
            return Err(Refusal::too_complex(format!(
                "The {operation}selects {} fields once its fragments are expanded; at most {} \
                 are allowed.",
                display_count(fields),
                limits.fields
            )));
        }
    }
    Ok(())
}

/// `usize::MAX` means "more than can be counted".
fn display_count(count: usize) -> String {
    if count == usize::MAX {
        "more".to_owned()
    } else {
        count.to_string()
    }
}

/// The expanded field count of each fragment, computed once.
struct FragmentSizes<'a> {
    document: &'a ExecutableDocument,
    /// `None` while the fragment is being counted: meeting it again then is a cycle.
    known: HashMap<&'a str, Option<usize>>,
}

impl<'a> FragmentSizes<'a> {
    fn new(document: &'a ExecutableDocument) -> Self {
        Self {
            document,
            known: HashMap::new(),
        }
    }

    fn of_selection_set(&mut self, selection_set: &'a SelectionSet) -> Result<usize, Refusal> {
        let mut total: usize = 0;
        for selection in &selection_set.items {
            let size = match &selection.node {
                Selection::Field(field) => {
                    1_usize.saturating_add(self.of_selection_set(&field.node.selection_set.node)?)
                }
                Selection::InlineFragment(fragment) => {
                    self.of_selection_set(&fragment.node.selection_set.node)?
                }
                Selection::FragmentSpread(spread) => {
                    self.of_fragment(spread.node.fragment_name.node.as_str())?
                }
            };
            total = total.saturating_add(size);
        }
        Ok(total)
    }

    fn of_fragment(&mut self, name: &'a str) -> Result<usize, Refusal> {
        match self.known.get(name) {
            Some(Some(size)) => return Ok(*size),
            Some(None) => {
                return Err(Refusal {
                    code: ErrorCode::GraphqlValidationFailed,
                    message: format!("Cannot spread fragment \"{name}\" within itself."),
                    locations: Vec::new(),
                });
            }
            None => {}
        }
        // An unknown fragment counts nothing here; validation reports it.
        let Some((name, fragment)) = self
            .document
            .fragments
            .get_key_value(name)
            .map(|(name, fragment)| (name.as_str(), fragment))
        else {
            return Ok(0);
        };
        self.known.insert(name, None);
        let size = self.of_selection_set(&fragment.node.selection_set.node)?;
        self.known.insert(name, Some(size));
        Ok(size)
    }
}

/// Every directive in the document: on operations, variables, fields, spreads and fragments.
fn count_directives(document: &ExecutableDocument) -> usize {
    fn in_selection_set(selection_set: &SelectionSet) -> usize {
        selection_set
            .items
            .iter()
            .map(|selection| {
                let nested = match &selection.node {
                    Selection::Field(field) => in_selection_set(&field.node.selection_set.node),
                    Selection::InlineFragment(fragment) => {
                        in_selection_set(&fragment.node.selection_set.node)
                    }
                    Selection::FragmentSpread(_) => 0,
                };
                selection.node.directives().len() + nested
            })
            .sum()
    }
    let operations: usize = document
        .operations
        .iter()
        .map(|(_, operation)| {
            operation.node.directives.len()
                + operation
                    .node
                    .variable_definitions
                    .iter()
                    .map(|variable| variable.node.directives.len())
                    .sum::<usize>()
                + in_selection_set(&operation.node.selection_set.node)
        })
        .sum();
    let fragments: usize = document
        .fragments
        .values()
        .map(|fragment| {
            fragment.node.directives.len() + in_selection_set(&fragment.node.selection_set.node)
        })
        .sum();
    operations + fragments
}

/// Counts the lexical tokens of a GraphQL document (October 2021 specification, §2.1) and stops
/// as soon as there are more than `limit`: `Some(count)` then, `None` within the limit. Ignored
/// tokens (white space, line terminators, commas, comments, the byte order mark) are skipped. A
/// character that starts no token counts as one, so malformed text cannot slip past the count;
/// the parser then reports it.
#[must_use]
pub fn count_tokens(text: &str, limit: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = 0;
    let mut count = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                at += 1;
                continue;
            }
            b'#' => {
                while at < bytes.len() && bytes[at] != b'\n' && bytes[at] != b'\r' {
                    at += 1;
                }
                continue;
            }
            b'"' => at = skip_string(bytes, at),
            b'.' if bytes.get(at..at + 3) == Some(b"...") => at += 3,
            b'-' | b'0'..=b'9' => {
                at += 1;
                while at < bytes.len()
                    && matches!(bytes[at], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                {
                    at += 1;
                }
            }
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                at += 1;
                while at < bytes.len()
                    && matches!(bytes[at], b'_' | b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9')
                {
                    at += 1;
                }
            }
            _ => {
                // The byte order mark is ignored; any other character is one token (a
                // punctuator, or something the parser will refuse).
                let width = text[at..].chars().next().map_or(1, char::len_utf8);
                let is_bom = text[at..].starts_with('\u{feff}');
                at += width;
                if is_bom {
                    continue;
                }
            }
        }
        count += 1;
        if count > limit {
            return Some(count);
        }
    }
    None
}

/// The index just past the string or block string starting at `start` (at its first `"`), or
/// the end of the text when it is not closed.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    if bytes.get(start..start + 3) == Some(b"\"\"\"") {
        let mut at = start + 3;
        while at < bytes.len() {
            if bytes.get(at..at + 4) == Some(b"\\\"\"\"") {
                at += 4;
            } else if bytes.get(at..at + 3) == Some(b"\"\"\"") {
                return at + 3;
            } else {
                at += 1;
            }
        }
        return bytes.len();
    }
    let mut at = start + 1;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'"' => return at + 1,
            b'\n' | b'\r' => return at,
            _ => at += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use super::*;

    const LIMITS: DocumentLimits = DocumentLimits {
        tokens: 10_000,
        fragments: 200,
        directives: 50,
        fields: 1000,
    };

    /// `query{...F0}`, `fragment Fi on Query{...Fi+1 ×spreads}`, `fragment Flast on Query{apiVersion}`.
    fn fragment_bomb(levels: usize, spreads: usize) -> String {
        let mut document = String::from("query{...F0}");
        for level in 0..levels {
            document.push_str(&format!("fragment F{level} on Query{{"));
            for _ in 0..spreads {
                document.push_str(&format!("...F{} ", level + 1));
            }
            document.push('}');
        }
        document.push_str(&format!("fragment F{levels} on Query{{apiVersion}}"));
        document
    }

    #[test]
    fn the_fragment_bomb_is_refused_by_its_expanded_size() {
        let bomb = fragment_bomb(30, 3);
        assert!(bomb.len() < 1500, "{} bytes", bomb.len());
        let refusal = check(&bomb, &LIMITS).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::QueryTooComplex);
        // 3^30 fields: counted exactly, not overflowed, not expanded.
        assert!(
            refusal.message.contains(&3_usize.pow(30).to_string()),
            "{}",
            refusal.message
        );
        // Saturates where the count leaves usize.
        let refusal = check(&fragment_bomb(60, 3), &LIMITS).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::QueryTooComplex);
        assert!(
            refusal.message.contains("selects more fields"),
            "{}",
            refusal.message
        );
    }

    #[test]
    fn a_document_within_the_bounds_is_returned_parsed() {
        let document = check(&fragment_bomb(5, 3), &LIMITS).unwrap();
        assert_eq!(document.fragments.len(), 6);
        let query =
            "query Q($x: Boolean!) { a @include(if: $x) b { ...F } } fragment F on B { c d }";
        assert!(check(query, &LIMITS).is_ok());
    }

    #[test]
    fn a_document_that_does_not_parse_is_refused_with_the_parsers_error() {
        let refusal = check("{ a(x: ) }", &LIMITS).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::GraphqlParseFailed);
        let parser = async_graphql::parser::parse_query("{ a(x: ) }").unwrap_err();
        assert_eq!(refusal.message, parser.to_string());
        assert_eq!(refusal.locations, parser.positions().collect::<Vec<_>>());
        assert!(!refusal.locations.is_empty());
    }

    #[test]
    fn the_field_bound_is_inclusive() {
        let fields = |n: usize| format!("{{ {} }}", "a ".repeat(n));
        let limits = DocumentLimits {
            fields: 10,
            ..LIMITS
        };
        assert!(check(&fields(10), &limits).is_ok());
        let refusal = check(&fields(11), &limits).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::QueryTooComplex);
        assert!(
            refusal.message.contains("selects 11 fields"),
            "{}",
            refusal.message
        );
    }

    #[test]
    fn nested_fields_and_spreads_in_several_places_all_count() {
        let limits = DocumentLimits {
            fields: 7,
            ..LIMITS
        };
        // a, b, c (inside b), then F twice (d, e each) = 7.
        let query = "{ a b { c } ...F ... on Query { ...F } } fragment F on Query { d e }";
        assert!(check(query, &limits).is_ok());
        let query = "{ a b { c } ...F ... on Query { ...F x } } fragment F on Query { d e }";
        assert!(check(query, &limits).is_err());
    }

    #[test]
    fn fragment_cycles_are_refused_as_validation_failures() {
        for query in [
            "{ ...A } fragment A on Query { ...A }",
            "{ ...A } fragment A on Query { x ...B } fragment B on Query { y { ...A } }",
        ] {
            let refusal = check(query, &LIMITS).unwrap_err();
            assert_eq!(refusal.code, ErrorCode::GraphqlValidationFailed, "{query}");
            assert!(
                refusal.message.contains("within itself"),
                "{}",
                refusal.message
            );
        }
    }

    #[test]
    fn too_many_fragments_are_refused() {
        let limits = DocumentLimits {
            fragments: 3,
            ..LIMITS
        };
        let query = "{ ...A ...B ...C } fragment A on Query { a } fragment B on Query { b } \
                     fragment C on Query { c }";
        assert!(check(query, &limits).is_ok());
        let query = format!("{query} fragment D on Query {{ d }}");
        let refusal = check(&query, &limits).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::QueryTooComplex);
        assert!(
            refusal.message.contains("4 fragments"),
            "{}",
            refusal.message
        );
    }

    #[test]
    fn directives_count_wherever_they_are() {
        let limits = DocumentLimits {
            directives: 5,
            ..LIMITS
        };
        let query = "query Q($v: Boolean! @d) @d { a @include(if: $v) ...F @d } fragment F on Query @d { b }";
        assert!(check(query, &limits).is_ok());
        let query = "{ a @include(if: true) @include(if: true) @include(if: true) @skip(if: false) @skip(if: false) @skip(if: false) }";
        let refusal = check(query, &limits).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::QueryTooComplex);
        assert!(
            refusal.message.contains("6 directives"),
            "{}",
            refusal.message
        );
    }

    #[test]
    fn tokens_are_counted_before_parsing() {
        let limits = DocumentLimits {
            tokens: 9,
            ..LIMITS
        };
        // { a ( x : "s" ) b } = 9 tokens; commas, comments and white space are not tokens.
        assert!(check("{ a(x: \"s\",) , b } # comment", &limits).is_ok());
        let refusal = check("{ a(x: \"s\") b c }", &limits).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::QueryTooComplex);
        // Text that does not parse is still counted, so it cannot bypass the bound.
        assert!(check(&"{{{{{{{{{{{{".repeat(10), &limits).is_err());
    }

    #[test]
    fn the_token_counter_reads_the_lexical_grammar() {
        // The number of tokens is the smallest limit the text stays within.
        let count = |text: &str| {
            (0..)
                .find(|limit| count_tokens(text, *limit).is_none())
                .unwrap()
        };
        assert_eq!(count(""), 0);
        assert_eq!(count("\u{feff}{ a }"), 3);
        assert_eq!(
            count("query Q($id: ID! = \"x\\\"y\") { a(n: -1.5e3) ...F }"),
            21
        );
        assert_eq!(count("{ a(s: \"\"\"block \\\"\"\" \"\" \"\"\") }"), 8);
        assert_eq!(count("{ a } # { b c d }\n"), 3);
        assert_eq!(count("é"), 1, "an unexpected character is one token");
        assert_eq!(count("\"unterminated"), 1);
    }
}
