//! Bounded texts: trimmed, non-empty, with a maximum length counted in characters (not bytes).

use serde::{Deserialize, Serialize};

use super::{ValueError, string_newtype};

/// Trims `raw` and checks its length in characters and its characters.
fn bounded(raw: &str, max: Option<usize>, multiline: bool) -> Result<String, ValueError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(ValueError::Empty);
    }
    let allowed_control = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if trimmed
        .chars()
        .any(|c| c.is_control() && !allowed_control(c))
    {
        return Err(ValueError::ControlCharacter);
    }
    if let Some(max) = max {
        let actual = trimmed.chars().count();
        if actual > max {
            return Err(ValueError::TooLong { max, actual });
        }
    }
    Ok(trimmed.to_owned())
}

macro_rules! bounded_text {
    ($(#[$meta:meta])* $ty:ident, max = $max:expr, multiline = $multiline:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $ty(String);

        impl $ty {
            /// The maximum length in characters, if any.
            pub const MAX_CHARS: Option<usize> = $max;

            /// Trims the raw text and checks it.
            ///
            /// # Errors
            /// [`ValueError::Empty`] when nothing is left after trimming,
            /// [`ValueError::TooLong`] beyond the maximum, [`ValueError::ControlCharacter`].
            pub fn parse(raw: &str) -> Result<Self, ValueError> {
                bounded(raw, $max, $multiline).map(Self)
            }
        }

        string_newtype!($ty);
    };
}

bounded_text!(
    /// An organisation's name: 1..=300 characters after trimming, one line. The limit keeps names
    /// displayable in lists and is far above the longest official names.
    Name,
    max = Some(300),
    multiline = false
);
bounded_text!(
    /// An organisation's acronym: 1..=30 characters after trimming, one line.
    Acronym,
    max = Some(30),
    multiline = false
);
bounded_text!(
    /// A project, activity or document title: 1..=500 characters after trimming, one line.
    Title,
    max = Some(500),
    multiline = false
);
bounded_text!(
    /// A city name: 1..=200 characters after trimming, one line (the spec sets no limit; 200 is
    /// above the longest place names and keeps the field a name, not a paragraph).
    City,
    max = Some(200),
    multiline = false
);
bounded_text!(
    /// A free text that must say something: non-empty after trimming, may span lines. Used for
    /// descriptions, objectives, outcomes and reasons. No maximum in the domain: the API's request
    /// body limit bounds it.
    Description,
    max = None,
    multiline = true
);
