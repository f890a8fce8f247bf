//! Percentages: decimals with at most two places, held as an integer count of hundredths.

use serde::{Deserialize, Serialize};

use super::ValueError;

/// A share greater than 0 and at most 100, with at most two decimal places.
///
/// Held as hundredths (`33.33` is 3333). Parsed from `"10"`, `"10.5"`, `"33.33"`, `"100.00"`.
/// The canonical form — `Display`, serde, events, GraphQL output — always has exactly two decimals:
/// `"10.00"`, `"10.50"`, `"33.33"`, `"100.00"`. It is a JSON string, never a JSON number, because
/// the audit log carries no floating-point numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Percentage(u16);

impl Percentage {
    /// 100.00 %, in hundredths.
    pub const HUNDRED_IN_HUNDREDTHS: u32 = 10_000;

    /// The largest percentage, 100.00.
    pub const HUNDRED: Self = Self(10_000);

    /// Parses a decimal string with at most two decimal places, `0 < p ≤ 100`.
    ///
    /// Accepted shapes: one or more digits, optionally followed by `.` and one or two digits. No
    /// sign, exponent, whitespace or thousands separator.
    ///
    /// # Errors
    /// [`ValueError::PercentageSyntax`], [`ValueError::PercentageTooPrecise`] (`"33.333"`) or
    /// [`ValueError::PercentageOutOfRange`] (`"0"`, `"100.01"`, `"-5"`).
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let syntax = || ValueError::PercentageSyntax(raw.to_owned());
        let (negative, unsigned) = match raw.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let (whole, fraction) = match unsigned.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (unsigned, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !all_digits(whole)
            || !all_digits(fraction)
            || (unsigned.contains('.') && fraction.is_empty())
        {
            return Err(syntax());
        }
        if fraction.len() > 2 {
            return Err(ValueError::PercentageTooPrecise(raw.to_owned()));
        }
        let out_of_range = || ValueError::PercentageOutOfRange(raw.to_owned());
        let whole = whole.trim_start_matches('0');
        if negative || whole.len() > 3 {
            return Err(out_of_range());
        }
        let whole: u32 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| syntax())?
        };
        let fraction: u32 = match fraction.len() {
            0 => 0,
            1 => fraction.parse::<u32>().map_err(|_| syntax())? * 10,
            _ => fraction.parse().map_err(|_| syntax())?,
        };
        let hundredths = whole * 100 + fraction;
        Self::from_hundredths(hundredths).ok_or_else(out_of_range)
    }

    /// A percentage from hundredths, `1..=10000`.
    #[must_use]
    pub fn from_hundredths(hundredths: u32) -> Option<Self> {
        if (1..=Self::HUNDRED_IN_HUNDREDTHS).contains(&hundredths) {
            u16::try_from(hundredths).ok().map(Self)
        } else {
            None
        }
    }

    /// The value in hundredths (33.33 % is 3333).
    #[must_use]
    pub const fn hundredths(self) -> u32 {
        self.0 as u32
    }
}

/// Renders hundredths in the canonical two-decimal form: 3333 → `"33.33"`, 10001 → `"100.01"`.
#[must_use]
pub fn format_hundredths(hundredths: u32) -> String {
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

impl std::fmt::Display for Percentage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_hundredths(self.hundredths()))
    }
}

impl From<Percentage> for String {
    fn from(value: Percentage) -> Self {
        value.to_string()
    }
}

impl TryFrom<String> for Percentage {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl std::str::FromStr for Percentage {
    type Err = ValueError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}
