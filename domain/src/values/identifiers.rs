//! Identifiers: IATI activity identifiers, IATI organisation identifiers, free references.

use serde::{Deserialize, Serialize};

use super::{ValueError, string_newtype};

/// Characters IATI forbids in identifiers (they break URLs and the IATI Datastore).
const FORBIDDEN: [char; 4] = ['/', '&', '|', '?'];

/// Common checks of an identifier: non-empty, no surrounding whitespace, no control or forbidden
/// characters.
fn identifier(raw: &str, forbid: &[char]) -> Result<String, ValueError> {
    if raw.is_empty() {
        return Err(ValueError::Empty);
    }
    if raw.trim() != raw {
        return Err(ValueError::SurroundingWhitespace);
    }
    if raw.chars().any(char::is_control) {
        return Err(ValueError::ControlCharacter);
    }
    if let Some(c) = raw.chars().find(|c| forbid.contains(c)) {
        return Err(ValueError::ForbiddenCharacter(c));
    }
    Ok(raw.to_owned())
}

/// An IATI activity identifier, e.g. `XM-DAC-5-7-2015-1234`.
///
/// Not empty, no leading or trailing whitespace, none of `/ & | ?`. That it starts with the
/// reporting organisation's `ref` and a `-` is a rule of the project (it needs the organisation).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IatiIdentifier(String);

impl IatiIdentifier {
    /// Parses an IATI activity identifier; the raw value is not trimmed.
    ///
    /// # Errors
    /// [`ValueError::Empty`], [`ValueError::SurroundingWhitespace`],
    /// [`ValueError::ControlCharacter`] or [`ValueError::ForbiddenCharacter`].
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        identifier(raw, &FORBIDDEN).map(Self)
    }

    /// Whether this identifier is `{org_ref}-` followed by at least one character.
    #[must_use]
    pub fn is_under(&self, org_ref: &OrgRef) -> bool {
        self.0
            .strip_prefix(org_ref.as_str())
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|suffix| !suffix.is_empty())
    }
}

string_newtype!(IatiIdentifier);

/// An IATI organisation identifier `{RegistrationAgency}-{Number}`, e.g. `XM-DAC-5-7` or `DE-1`.
///
/// No whitespace anywhere, none of `/ & | ?`, at least one `-`, and no empty part between dashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgRef(String);

impl OrgRef {
    /// Parses an IATI organisation identifier; the raw value is not trimmed.
    ///
    /// # Errors
    /// [`ValueError::Empty`], [`ValueError::ContainsWhitespace`],
    /// [`ValueError::ControlCharacter`], [`ValueError::ForbiddenCharacter`] or
    /// [`ValueError::OrgRefShape`].
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        if raw.is_empty() {
            return Err(ValueError::Empty);
        }
        if raw.chars().any(char::is_whitespace) {
            return Err(ValueError::ContainsWhitespace);
        }
        let value = identifier(raw, &FORBIDDEN)?;
        if !value.contains('-') || value.split('-').any(str::is_empty) {
            return Err(ValueError::OrgRefShape);
        }
        Ok(Self(value))
    }
}

string_newtype!(OrgRef);

/// The `ref` of an other-identifier row: non-empty, no surrounding whitespace, no control
/// characters. For type A3 (previous activity) the project also requires a valid [`IatiIdentifier`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OtherIdentifierRef(String);

impl OtherIdentifierRef {
    /// Parses the reference; the raw value is not trimmed.
    ///
    /// # Errors
    /// [`ValueError::Empty`], [`ValueError::SurroundingWhitespace`] or [`ValueError::ControlCharacter`].
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        identifier(raw, &[]).map(Self)
    }
}

string_newtype!(OtherIdentifierRef);

/// A transaction's own reference (IATI `transaction/@ref`): non-empty, no surrounding whitespace,
/// no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TransactionRef(String);

impl TransactionRef {
    /// Parses the reference; the raw value is not trimmed.
    ///
    /// # Errors
    /// [`ValueError::Empty`], [`ValueError::SurroundingWhitespace`] or [`ValueError::ControlCharacter`].
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        identifier(raw, &[]).map(Self)
    }
}

string_newtype!(TransactionRef);
