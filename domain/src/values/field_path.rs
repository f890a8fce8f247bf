//! Where a value sits in a command's input: [`FieldPath`].

use std::borrow::Cow;
use std::fmt;

/// The input field a rejection is about: `title`, `location.country`, `sectors[1].percentage`.
///
/// A typed value, built from steps rather than spelled as a string, so that code which names a
/// field inside a list (`FieldPath::list("sectors", 1).field("percentage")`) cannot get the
/// syntax wrong. Its [`Display`](fmt::Display) is the one place a path is spelled; the API sends
/// that text as `extensions.field`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldPath(Vec<Step>);

/// One step of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Step {
    /// A named field of an input object.
    Field(Cow<'static, str>),
    /// An element of a list, counted from 0.
    Index(usize),
}

impl FieldPath {
    /// A top-level field; a dotted name (`"location.country"`) is a field of a field.
    #[must_use]
    pub fn new(name: &'static str) -> Self {
        Self(Vec::new()).field(name)
    }

    /// A field whose name is only known at run time (a database column's input field, say).
    #[must_use]
    pub fn named(name: String) -> Self {
        Self(vec![Step::Field(name.into())])
    }

    /// Element `index` of the list field `name`: `FieldPath::list("sectors", 1)` is `sectors[1]`.
    #[must_use]
    pub fn list(name: &'static str, index: usize) -> Self {
        Self::new(name).index(index)
    }

    /// The field `name` (dotted for nested fields) of what this path names.
    ///
    /// # Panics
    /// In debug builds, when `name` spells a list element (`"sectors[1]"`): that is
    /// [`list`](Self::list) or [`index`](Self::index).
    #[must_use]
    pub fn field(mut self, name: &'static str) -> Self {
        debug_assert!(
            !name.contains(['[', ']']),
            "{name} spells a list element: use FieldPath::list or .index"
        );
        self.0
            .extend(name.split('.').map(|part| Step::Field(part.into())));
        self
    }

    /// Element `index` of the list this path names.
    #[must_use]
    pub fn index(mut self, index: usize) -> Self {
        self.0.push(Step::Index(index));
        self
    }
}

impl From<&'static str> for FieldPath {
    fn from(name: &'static str) -> Self {
        Self::new(name)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, step) in self.0.iter().enumerate() {
            match step {
                Step::Field(name) if position == 0 => f.write_str(name)?,
                Step::Field(name) => write!(f, ".{name}")?,
                Step::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spells_fields_and_list_elements() {
        assert_eq!(FieldPath::new("title").to_string(), "title");
        assert_eq!(
            FieldPath::new("location.country").to_string(),
            "location.country"
        );
        assert_eq!(
            FieldPath::list("recipientCountries", 1)
                .field("percentage")
                .to_string(),
            "recipientCountries[1].percentage"
        );
        assert_eq!(
            FieldPath::list("uncacChapters", 0).to_string(),
            "uncacChapters[0]"
        );
        assert_eq!(
            FieldPath::list("budgets", 2)
                .field("value.minorUnits")
                .to_string(),
            "budgets[2].value.minorUnits"
        );
        assert_eq!(
            FieldPath::named("iatiIdentifier".to_owned()).to_string(),
            "iatiIdentifier"
        );
    }

    #[test]
    fn a_dotted_name_is_nested_fields() {
        assert_eq!(
            FieldPath::new("participants.byCountry")
                .index(3)
                .field("count"),
            FieldPath::new("participants")
                .field("byCountry")
                .index(3)
                .field("count")
        );
        assert_eq!(
            FieldPath::list("sectors", 1),
            FieldPath(vec![Step::Field("sectors".into()), Step::Index(1)])
        );
        assert_ne!(FieldPath::new("a.b"), FieldPath::named("a.b".to_owned()));
    }
}
