//! Web values: absolute http(s) URLs, MIME types, and the e-mail addresses and telephone numbers
//! of contacts.

use serde::{Deserialize, Serialize};

use super::{ValueError, string_newtype, token};
use crate::codelists::iati::{self, CodeStatus};

/// An absolute `http` or `https` URL, e.g. `https://asean.org/`.
///
/// A deliberately small parser: scheme `http`/`https` (any case), `://`, a non-empty host
/// (a domain name, an IPv4 address or a bracketed IPv6 address) with an optional numeric port, then
/// anything without whitespace or control characters. User info (`user:pass@`) is refused: a
/// credential must never end up in the append-only public log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebUrl(String);

impl WebUrl {
    /// The longest URL accepted, in characters: the length browsers and sitemaps reliably handle.
    pub const MAX_CHARS: usize = 2048;

    /// Parses an absolute http(s) URL; the raw value is not trimmed.
    ///
    /// # Errors
    /// [`ValueError::Empty`], [`ValueError::TooLong`], [`ValueError::ContainsWhitespace`],
    /// [`ValueError::ControlCharacter`] or [`ValueError::InvalidUrl`] naming what is wrong.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        token(raw, Self::MAX_CHARS)?;
        let (scheme, rest) = raw
            .split_once("://")
            .ok_or(ValueError::InvalidUrl("it lacks a scheme such as https://"))?;
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            return Err(ValueError::InvalidUrl("the scheme is not http or https"));
        }
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = rest.get(..authority_end).unwrap_or_default();
        if authority.contains('@') {
            return Err(ValueError::InvalidUrl("user information is not allowed"));
        }
        let (host, port) = split_host_port(authority)?;
        if let Some(port) = port
            && (port.is_empty()
                || !port.bytes().all(|b| b.is_ascii_digit())
                || port.parse::<u16>().is_err())
        {
            return Err(ValueError::InvalidUrl(
                "the port is not a number up to 65535",
            ));
        }
        if !valid_host(host) {
            return Err(ValueError::InvalidUrl("the host is missing or malformed"));
        }
        Ok(Self(raw.to_owned()))
    }
}

/// Splits `host[:port]` or `[v6][:port]`.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), ValueError> {
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (address, after) = bracketed.split_once(']').ok_or(ValueError::InvalidUrl(
            "an IPv6 host lacks its closing bracket",
        ))?;
        if address.is_empty()
            || !address
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(ValueError::InvalidUrl("the IPv6 host is malformed"));
        }
        return match after {
            "" => Ok(("v6", None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok(("v6", Some(port))),
                None => Err(ValueError::InvalidUrl("the IPv6 host is malformed")),
            },
        };
    }
    Ok(match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

/// A domain name or IPv4 address: labels of letters (any script), digits, `-` and `_`, separated by
/// single dots, optionally with a final dot.
fn valid_host(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        })
}

string_newtype!(WebUrl);

/// A MIME type `type/subtype` without parameters, stored in lower case, e.g. `application/pdf`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MimeType(String);

impl MimeType {
    /// The longest MIME type accepted: RFC 6838 §4.2 limits each name to 127 characters.
    pub const MAX_CHARS: usize = 255;

    /// Parses a format for new data: `type/subtype` (RFC 6838 restricted names) that is a code of
    /// the IATI FileFormat list; the result is lower case.
    ///
    /// # Errors
    /// [`ValueError::Empty`], [`ValueError::InvalidMimeType`], [`ValueError::UnknownCode`] for a
    /// MIME type the IATI FileFormat list does not have, [`ValueError::WithdrawnCode`] for one it
    /// has withdrawn.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let format = Self::known(raw)?;
        let list = &iati::generated::FILE_FORMAT;
        match list.get(format.as_str()).map(|code| code.status) {
            Some(CodeStatus::Active) => Ok(format),
            Some(CodeStatus::Withdrawn) => Err(ValueError::WithdrawnCode {
                list: list.name,
                code: format.0,
            }),
            None => Err(ValueError::UnknownCode {
                list: list.name,
                code: format.0,
            }),
        }
    }

    /// Parses `type/subtype` (RFC 6838 restricted names), on the IATI list or not: for reading
    /// recorded data. The result is lower case.
    ///
    /// # Errors
    /// [`ValueError::Empty`] or [`ValueError::InvalidMimeType`].
    pub fn known(raw: &str) -> Result<Self, ValueError> {
        if raw.is_empty() {
            return Err(ValueError::Empty);
        }
        let restricted_name = |name: &str| {
            (1..=127).contains(&name.len())
                && name
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphanumeric())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        };
        match raw.split_once('/') {
            Some((kind, subtype)) if restricted_name(kind) && restricted_name(subtype) => {
                Ok(Self(raw.to_ascii_lowercase()))
            }
            _ => Err(ValueError::InvalidMimeType),
        }
    }
}

// Recorded formats are read as they were accepted: the shape only, not today's list.
string_newtype!(MimeType, read = known);

/// An e-mail address, as a contact gives it: `local@domain`, at most 254 characters (RFC 5321's
/// limit), no whitespace or control characters, one `@`, a non-empty local part of at most 64
/// characters, and a domain of dot-separated labels (letters, digits, hyphens) with at least one
/// dot. Deliberately simpler than RFC 5322: it refuses what is surely not an address, and keeps
/// the value as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// The longest address accepted, in characters.
    pub const MAX_CHARS: usize = 254;

    /// Parses an e-mail address; the raw value is not trimmed.
    ///
    /// # Errors
    /// [`ValueError::Empty`], [`ValueError::TooLong`], [`ValueError::ContainsWhitespace`],
    /// [`ValueError::ControlCharacter`] or [`ValueError::InvalidEmail`] naming what is wrong.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        token(raw, Self::MAX_CHARS)?;
        let (local, domain) = raw
            .split_once('@')
            .ok_or(ValueError::InvalidEmail("it has no @"))?;
        if local.is_empty() || local.chars().count() > 64 {
            return Err(ValueError::InvalidEmail(
                "the part before @ must have 1 to 64 characters",
            ));
        }
        let label_ok = |label: &str| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if domain.contains('@') || !domain.contains('.') || !domain.split('.').all(label_ok) {
            return Err(ValueError::InvalidEmail(
                "the part after @ must be a domain such as example.org",
            ));
        }
        Ok(Self(raw.to_owned()))
    }
}

string_newtype!(EmailAddress);

/// A telephone number as a contact writes it, e.g. `+62 21 7262991`: 1..=50 characters of
/// digits, spaces and `+ ( ) - . /`, with at least five digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Telephone(String);

impl Telephone {
    /// The longest number accepted, in characters.
    pub const MAX_CHARS: usize = 50;

    /// Parses a telephone number; surrounding whitespace is trimmed.
    ///
    /// # Errors
    /// [`ValueError::Empty`], [`ValueError::TooLong`] or [`ValueError::InvalidTelephone`].
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(ValueError::Empty);
        }
        let actual = trimmed.chars().count();
        if actual > Self::MAX_CHARS {
            return Err(ValueError::TooLong {
                max: Self::MAX_CHARS,
                actual,
            });
        }
        let allowed = |c: char| c.is_ascii_digit() || " +()-./".contains(c);
        let digits = trimmed.chars().filter(char::is_ascii_digit).count();
        if !trimmed.chars().all(allowed) || digits < 5 {
            return Err(ValueError::InvalidTelephone);
        }
        Ok(Self(trimmed.to_owned()))
    }
}

string_newtype!(Telephone);
