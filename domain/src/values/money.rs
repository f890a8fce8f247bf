//! Money: an integer count of minor units and an ISO 4217 currency. Never floating point.

use serde::{Deserialize, Serialize};

use super::{CurrencyCode, ValueError};

/// The largest magnitude of a money amount: 2^53 - 1 minor units. JSON integers beyond it are not
/// interoperable (RFC 8785 §3.2.2.3, RFC 7493), and events are RFC 8785 JSON.
pub const MAX_MINOR_UNITS: i64 = (1 << 53) - 1;

/// An amount of money: `minor_units` of the currency's minor unit (cents for EUR, yen for JPY).
///
/// Serialises as `{"minorUnits": 125000000, "currency": "EUR"}` (a JSON integer, within ±(2^53-1)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "MoneyRepr", into = "MoneyRepr")]
pub struct Money {
    minor_units: i64,
    currency: CurrencyCode,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MoneyRepr {
    minor_units: i64,
    currency: CurrencyCode,
}

impl TryFrom<MoneyRepr> for Money {
    type Error = ValueError;
    fn try_from(repr: MoneyRepr) -> Result<Self, Self::Error> {
        Self::new(repr.minor_units, repr.currency)
    }
}

impl From<Money> for MoneyRepr {
    fn from(money: Money) -> Self {
        Self {
            minor_units: money.minor_units,
            currency: money.currency,
        }
    }
}

impl Money {
    /// An amount in minor units of `currency`.
    ///
    /// # Errors
    /// [`ValueError::AmountOutOfRange`] when `|minor_units| > 2^53 - 1`.
    pub fn new(minor_units: i64, currency: CurrencyCode) -> Result<Self, ValueError> {
        if minor_units.unsigned_abs() > MAX_MINOR_UNITS.unsigned_abs() {
            return Err(ValueError::AmountOutOfRange(i128::from(minor_units)));
        }
        Ok(Self {
            minor_units,
            currency,
        })
    }

    /// Parses the GraphQL input: a decimal integer string (`BigInt`) and a currency code.
    ///
    /// # Errors
    /// [`ValueError::NotAnInteger`], [`ValueError::AmountOutOfRange`] beyond ±(2^53 - 1),
    /// [`ValueError::UnknownCurrency`].
    pub fn parse(minor_units: &str, currency: &str) -> Result<Self, ValueError> {
        let currency = CurrencyCode::parse(currency)?;
        let units: i128 = minor_units
            .parse()
            .map_err(|_| ValueError::NotAnInteger(minor_units.to_owned()))?;
        let units = i64::try_from(units).map_err(|_| ValueError::AmountOutOfRange(units))?;
        Self::new(units, currency)
    }

    /// Parses an amount written as a decimal in the currency's units (an IATI `value`): the
    /// inverse of [`Self::decimal`]. `"1250000.00"` EUR → 125000000 minor units; trailing zeros
    /// beyond the currency's minor unit are accepted (`"10.500"` EUR), other digits there are
    /// not (a cent cannot be split).
    ///
    /// # Errors
    /// [`ValueError::NotAnAmount`] when the text is not a decimal with at most the currency's
    /// decimal places, [`ValueError::AmountOutOfRange`] beyond ±(2^53 - 1) minor units.
    pub fn parse_decimal(amount: &str, currency: CurrencyCode) -> Result<Self, ValueError> {
        let places = currency.exponent();
        let refuse = || ValueError::NotAnAmount {
            amount: amount.to_owned(),
            currency: currency.as_str(),
            places,
        };
        let (negative, unsigned) = match amount.as_bytes().first() {
            Some(b'-') => (true, &amount[1..]),
            Some(b'+') => (false, &amount[1..]),
            _ => (false, amount),
        };
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
            return Err(refuse());
        }
        let exponent = usize::from(places);
        let (kept, beyond) = fraction.split_at(fraction.len().min(exponent));
        if beyond.bytes().any(|b| b != b'0') {
            return Err(refuse());
        }
        let units = format!("{whole}{kept:0<exponent$}");
        let units = units.trim_start_matches('0');
        // Only digits are left, so the one way parsing fails is a number too long for i128 (39
        // digits), which is far out of range anyway: report it as such.
        let magnitude: i128 = if units.is_empty() {
            0
        } else {
            units
                .parse()
                .map_err(|_| ValueError::AmountOutOfRange(i128::MAX))?
        };
        let signed = if negative { -magnitude } else { magnitude };
        let signed = i64::try_from(signed).map_err(|_| ValueError::AmountOutOfRange(signed))?;
        Self::new(signed, currency)
    }

    /// The amount in minor units.
    #[must_use]
    pub const fn minor_units(self) -> i64 {
        self.minor_units
    }

    /// The currency.
    #[must_use]
    pub const fn currency(self) -> CurrencyCode {
        self.currency
    }

    /// The same amount with the opposite sign (always in range: the range is symmetric).
    #[must_use]
    pub const fn negated(self) -> Self {
        Self {
            minor_units: -self.minor_units,
            currency: self.currency,
        }
    }

    /// The amount as a decimal string with the currency's exponent: 125000000 EUR → `"1250000.00"`,
    /// -5 EUR → `"-0.05"`, 1000 JPY → `"1000"`.
    #[must_use]
    pub fn decimal(self) -> String {
        let exponent = usize::from(self.currency.exponent());
        let sign = if self.minor_units < 0 { "-" } else { "" };
        let digits = self.minor_units.unsigned_abs().to_string();
        if exponent == 0 {
            return format!("{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = exponent + 1);
        let (whole, fraction) = padded.split_at(padded.len() - exponent);
        format!("{sign}{whole}.{fraction}")
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.decimal(), self.currency)
    }
}
