//! Web values: absolute http(s) URLs and MIME types.

use serde::{Deserialize, Serialize};

use super::{ValueError, string_newtype};
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
        if raw.is_empty() {
            return Err(ValueError::Empty);
        }
        let actual = raw.chars().count();
        if actual > Self::MAX_CHARS {
            return Err(ValueError::TooLong {
                max: Self::MAX_CHARS,
                actual,
            });
        }
        if raw.chars().any(char::is_whitespace) {
            return Err(ValueError::ContainsWhitespace);
        }
        if raw.chars().any(char::is_control) {
            return Err(ValueError::ControlCharacter);
        }
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
