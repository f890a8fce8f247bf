//! Reference data: countries, ASEAN member states and the code lists.

use amanah_domain::codelists::iati;
use amanah_domain::query::MemberState as MemberStateRow;
use amanah_domain::values::{CountryCode, FieldPath, ValueError};
use async_graphql::SimpleObject;

use super::command::invalid;
use super::enums::CodelistName;
use super::scalars::Date;
use crate::error::ApiError;

/// A country (ISO 3166-1 alpha-2) and its English short name.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct Country {
    /// ISO 3166-1 alpha-2 code, e.g. "ID".
    pub code: String,
    /// English short name, e.g. "Indonesia".
    pub name: String,
}

impl From<CountryCode> for Country {
    fn from(country: CountryCode) -> Self {
        Self {
            code: country.as_str().to_owned(),
            name: country.name().to_owned(),
        }
    }
}

/// An ASEAN member state and the day it joined.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct MemberState {
    pub country: Country,
    pub joined_on: Date,
}

impl From<MemberStateRow> for MemberState {
    fn from(row: MemberStateRow) -> Self {
        Self {
            country: row.country.into(),
            joined_on: row.joined_on.into(),
        }
    }
}

/// One code of an IATI code list.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct Code {
    pub code: &'static str,
    /// The English name.
    pub name: &'static str,
    /// The English description, when the list gives one.
    pub description: Option<&'static str>,
    pub status: CodeStatus,
    /// Withdrawn codes stay readable but are refused for new data (e.g. sector 15120); the same
    /// as `status: WITHDRAWN`.
    pub withdrawn: bool,
}

/// Whether a code may be used for new data.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeStatus {
    Active,
    /// Readable in old data, refused for new data.
    Withdrawn,
}

impl From<iati::CodeStatus> for CodeStatus {
    fn from(status: iati::CodeStatus) -> Self {
        match status {
            iati::CodeStatus::Active => Self::Active,
            iati::CodeStatus::Withdrawn => Self::Withdrawn,
        }
    }
}

impl From<&iati::Code> for Code {
    fn from(entry: &iati::Code) -> Self {
        let status = CodeStatus::from(entry.status);
        Self {
            code: entry.code,
            name: entry.name,
            description: (!entry.description.is_empty()).then_some(entry.description),
            status,
            withdrawn: status == CodeStatus::Withdrawn,
        }
    }
}

/// The codes of a list, in the list's order.
#[must_use]
pub fn codelist(name: CodelistName) -> Vec<Code> {
    name.list().codes.iter().map(Code::from).collect()
}

/// Parses a list of values given to a filter, naming `list[i]` when one does not parse.
///
/// # Errors
/// `BAD_USER_INPUT` naming the first value that does not parse.
pub fn parse_list<T>(
    values: Option<&[String]>,
    list: &'static str,
    parse: impl Fn(&str) -> Result<T, ValueError>,
) -> Result<Vec<T>, ApiError> {
    values
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(index, raw)| parse(raw).map_err(invalid(FieldPath::list(list, index))))
        .collect()
}

/// Longest `filter.text`: a search for words in names and titles, not for documents. (It becomes
/// a `LIKE` pattern, which SQLite refuses beyond 50,000 bytes.)
pub const MAX_SEARCH_TEXT_CHARS: usize = 200;

/// The words a `filter.text` searches for: `None` when blank.
///
/// # Errors
/// `BAD_USER_INPUT` naming `field` when the text is longer than [`MAX_SEARCH_TEXT_CHARS`].
pub fn search_text(text: Option<String>, field: &str) -> Result<Option<String>, ApiError> {
    match text {
        Some(text) if text.chars().count() > MAX_SEARCH_TEXT_CHARS => {
            Err(ApiError::bad_user_input(
                field,
                format!("{field} is a search of at most {MAX_SEARCH_TEXT_CHARS} characters"),
            ))
        }
        text => Ok(text.filter(|text| !text.trim().is_empty())),
    }
}

/// Parses the country codes of a filter.
///
/// # Errors
/// `BAD_USER_INPUT` naming `list[i]` for an unknown code.
pub fn parse_countries(
    values: Option<&[String]>,
    list: &'static str,
) -> Result<Vec<CountryCode>, ApiError> {
    parse_list(values, list, CountryCode::parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name the schema offers is the vendored list of that IATI name (`SECTOR_CATEGORY` is
    /// `SectorCategory`), served whole with its statuses; every vendored list has a name.
    #[test]
    fn every_codelist_name_serves_its_whole_list() {
        use async_graphql::resolver_utils::EnumType as _;
        let mut served_lists = Vec::new();
        for item in CodelistName::items() {
            let list = item.value.list();
            let iati_name: String = item
                .name
                .split('_')
                .map(|word| word[..1].to_owned() + &word[1..].to_lowercase())
                .collect();
            assert_eq!(list.name, iati_name, "{}", item.name);
            assert_eq!(iati::list(&iati_name), Some(list), "{}", item.name);
            let served = codelist(item.value);
            assert_eq!(served.len(), list.codes.len(), "{}", item.name);
            assert!(!served.is_empty(), "{}", item.name);
            served_lists.push(list.name);
        }
        let mut vendored: Vec<_> = iati::generated::ALL.iter().map(|list| list.name).collect();
        served_lists.sort_unstable();
        vendored.sort_unstable();
        assert_eq!(served_lists, vendored);
        let sectors = codelist(CodelistName::Sector);
        let withdrawn = sectors
            .iter()
            .find(|code| code.code == "15120")
            .unwrap_or_else(|| {
                panic!("15120 is in the Sector list");
            });
        assert_eq!(withdrawn.status, CodeStatus::Withdrawn);
        assert!(withdrawn.withdrawn);
        let anti_corruption = sectors.iter().find(|code| code.code == "15113");
        assert!(
            anti_corruption.is_some_and(|code| code.status == CodeStatus::Active
                && code.description.is_some_and(|d| !d.is_empty()))
        );
    }

    #[test]
    fn every_code_list_has_entries_and_sectors_show_the_withdrawn_one() {
        for name in [
            CodelistName::Sector,
            CodelistName::OrganisationType,
            CodelistName::Country,
            CodelistName::Region,
            CodelistName::DocumentCategory,
        ] {
            assert!(!codelist(name).is_empty(), "{name:?}");
        }
        let sectors = codelist(CodelistName::Sector);
        assert!(sectors.iter().any(|s| s.code == "15120" && s.withdrawn));
        assert!(sectors.iter().any(|s| s.code == "15113" && !s.withdrawn));
    }

    #[test]
    fn unknown_filter_values_name_their_position() {
        let values = ["ID".to_owned(), "XX".to_owned()];
        let error = parse_countries(Some(&values), "filter.country").err();
        assert!(matches!(
            error,
            Some(ApiError::BadUserInput { field, .. }) if field == "filter.country[1]"
        ));
    }
}
