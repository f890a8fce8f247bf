//! RFC 8785 JSON Canonicalization Scheme (JCS), restricted to the JSON that audit envelopes may hold.
//!
//! The leaf bytes of the audit log are the JCS serialisation of an event envelope
//! (`docs/audit-log.md` §3.2). JCS is: UTF-8, no insignificant whitespace, object members
//! sorted by the UTF-16 code units of their names, strings escaped exactly as ECMAScript's
//! `JSON.stringify` does, and numbers written as ECMAScript writes them.
//!
//! The audit log forbids floating-point numbers, so this encoder accepts integers only, and only
//! those that every JSON implementation represents exactly (|n| ≤ 2^53 − 1, ECMAScript's
//! `Number.MAX_SAFE_INTEGER`). For those, ECMAScript's number serialisation is the plain decimal
//! form, so no float formatting (and none of its cross-language pitfalls) is ever needed.
//!
//! [`to_sorted_json`] writes any JSON value with the same member order and string escapes, and
//! every number as `serde_json` writes it: the canonical form of a *request* for comparing
//! retries (the idempotency hash), where a client may send any number. It is never used for the
//! audit log, whose numbers stay as strict as above.

use serde_json::Value;

/// The largest integer magnitude an envelope may hold: `Number.MAX_SAFE_INTEGER` (2^53 − 1).
/// Beyond it, JSON parsers that use IEEE-754 doubles (ECMAScript's among them) lose precision, and
/// an auditor's tool would read a different number than the one the server hashed.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Why a JSON value has no canonical form in the audit log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JcsError {
    /// A floating-point number (anything written with a fraction or an exponent, or an integer
    /// too large for a 64-bit integer): the audit log holds integers only, decimals as strings.
    #[error("floating-point number {0} is not allowed: use an integer or a decimal string")]
    Float(String),
    /// An integer outside ±(2^53 − 1).
    #[error("integer {0} is outside ±(2^53 − 1)")]
    IntegerOutOfRange(String),
}

/// Serialises `value` as RFC 8785 canonical JSON.
///
/// # Errors
/// [`JcsError`] when `value` holds a floating-point number or an integer outside ±(2^53 − 1).
pub fn to_canonical(value: &Value) -> Result<Vec<u8>, JcsError> {
    to_canonical_string(value).map(String::into_bytes)
}

/// Serialises `value` as RFC 8785 canonical JSON, as a `String`.
///
/// # Errors
/// As [`to_canonical`].
pub fn to_canonical_string(value: &Value) -> Result<String, JcsError> {
    let mut out = String::with_capacity(256);
    write_value_str(&mut out, value, &write_number)?;
    Ok(out)
}

/// `value` with RFC 8785's member order, string escapes and no whitespace, and every number
/// written as `serde_json` writes it (`1.5`, `1152921504606846976`, `1e300`): total over every
/// value `serde_json` parses, and identical to [`to_canonical_string`] wherever that succeeds.
///
/// For comparing requests, never for the audit log: numbers outside ±(2^53 − 1) or with a
/// fraction are not written as RFC 8785 (ECMAScript) would write them.
#[must_use]
pub fn to_sorted_json(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    let Ok(()) = write_value_str(&mut out, value, &write_any_number);
    out
}

/// Whether `bytes` are exactly the canonical serialisation of the JSON they hold.
///
/// False for anything that is not JSON, holds a float or an out-of-range integer, has whitespace,
/// unsorted or duplicate keys, escapes that JCS writes literally (`\/`, `\u00e9`), and so on.
#[must_use]
pub fn is_canonical(bytes: &[u8]) -> bool {
    parse_canonical(bytes).is_some()
}

/// Parses `bytes` when, and only when, they are canonical JSON; `None` otherwise.
#[must_use]
pub fn parse_canonical(bytes: &[u8]) -> Option<Value> {
    let value: Value = serde_json::from_slice(bytes).ok()?;
    // Re-encoding and comparing also catches duplicate member names: the parser keeps one of
    // them, so the re-encoding is shorter than the input.
    match to_canonical(&value) {
        Ok(encoded) if encoded == bytes => Some(value),
        _ => None,
    }
}

/// Writes `value`, its numbers with `write_number` (the only part that may fail).
fn write_value_str<E>(
    out: &mut String,
    value: &Value,
    write_number: &impl Fn(&mut String, &serde_json::Number) -> Result<(), E>,
) -> Result<(), E> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => write_number(out, number)?,
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            out.push('[');
            for (position, item) in items.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_value_str(out, item, write_number)?;
            }
            out.push(']');
        }
        Value::Object(members) => {
            // Sorted here, whatever order the map iterates in (serde_json's `preserve_order`
            // feature may be switched on by another crate of the build).
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sorted.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (position, (name, member)) in sorted.into_iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_string(out, name);
                out.push(':');
                write_value_str(out, member, write_number)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_number(out: &mut String, number: &serde_json::Number) -> Result<(), JcsError> {
    use std::fmt::Write as _;
    if let Some(unsigned) = number.as_u64() {
        if unsigned > MAX_SAFE_INTEGER {
            return Err(JcsError::IntegerOutOfRange(number.to_string()));
        }
        let _ = write!(out, "{unsigned}");
        return Ok(());
    }
    if let Some(signed) = number.as_i64() {
        if signed.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(JcsError::IntegerOutOfRange(number.to_string()));
        }
        let _ = write!(out, "{signed}");
        return Ok(());
    }
    Err(JcsError::Float(number.to_string()))
}

/// Writes any number as `serde_json` writes it (for [`to_sorted_json`]).
fn write_any_number(
    out: &mut String,
    number: &serde_json::Number,
) -> Result<(), std::convert::Infallible> {
    use std::fmt::Write as _;
    let _ = write!(out, "{number}");
    Ok(())
}

/// Writes a JSON string literal exactly as ECMAScript's `JSON.stringify` does (RFC 8785 §3.2.2.2).
fn write_string(out: &mut String, text: &str) {
    use std::fmt::Write as _;
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            control if u32::from(control) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(control));
            }
            other => out.push(other),
        }
    }
    out.push('"');
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use super::*;
    use serde_json::json;

    fn canonical(value: &Value) -> String {
        to_canonical_string(value).unwrap()
    }

    #[test]
    fn rfc8785_sorting_example_orders_keys_by_utf16_code_units() {
        // RFC 8785 §3.2.3, the property-sorting example.
        let input = r#"{
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let value: Value = serde_json::from_str(input).unwrap();
        assert_eq!(
            canonical(&value),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
             \"\u{F6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20AC}\":\"Euro Sign\",\
             \"\u{1F600}\":\"Emoji: Grinning Face\",\"\u{FB33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        );
    }

    #[test]
    fn non_bmp_key_sorts_before_high_bmp_key_unlike_utf8_order() {
        // U+10000 is the surrogate pair D800 DC00 in UTF-16, which is below FB33; in UTF-8 bytes
        // (F0 90 80 80 versus EF AC B3) it would sort after.
        let value = json!({"\u{FB33}": 1, "\u{10000}": 2});
        assert_eq!(canonical(&value), "{\"\u{10000}\":2,\"\u{FB33}\":1}");
        assert!("\u{FB33}".as_bytes() < "\u{10000}".as_bytes());
    }

    #[test]
    fn rfc8785_string_and_literal_example_without_the_numbers() {
        // RFC 8785 §3.2.2, the serialisation example, minus its "numbers" member (floats).
        let input = r#"{
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        let value: Value = serde_json::from_str(input).unwrap();
        assert_eq!(
            canonical(&value),
            r#"{"literals":[null,true,false],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    #[test]
    fn rfc8785_example_with_floats_is_rejected() {
        let input =
            r#"{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001]}"#;
        let value: Value = serde_json::from_str(input).unwrap();
        assert!(matches!(to_canonical(&value), Err(JcsError::Float(_))));
        assert!(matches!(
            to_canonical(&json!({"a": [1, {"b": 1.0}]})),
            Err(JcsError::Float(_))
        ));
    }

    #[test]
    fn escapes_follow_json_stringify() {
        let text: String = (0u32..0x20).filter_map(char::from_u32).collect();
        let value = Value::String(format!("{text}\"\\/\u{7f}\u{2028}\u{2029}é😀"));
        assert_eq!(
            canonical(&value),
            "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\
             \\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\
             \\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\\\"\\\\/\u{7f}\u{2028}\u{2029}é😀\""
        );
    }

    #[test]
    fn integers_within_safe_range_are_plain_decimals() {
        let max = MAX_SAFE_INTEGER;
        let value = json!([0, -0, 1, -1, max, -(max as i64)]);
        assert_eq!(
            canonical(&value),
            "[0,0,1,-1,9007199254740991,-9007199254740991]"
        );
    }

    #[test]
    fn integers_beyond_safe_range_are_rejected() {
        for value in [
            json!(MAX_SAFE_INTEGER + 1),
            json!(-((MAX_SAFE_INTEGER + 1) as i64)),
            json!(u64::MAX),
            json!(i64::MIN),
        ] {
            assert!(
                matches!(to_canonical(&value), Err(JcsError::IntegerOutOfRange(_))),
                "{value}"
            );
        }
        // Larger than u64: serde_json parses it as a float.
        let huge: Value = serde_json::from_str("123456789012345678901234567890").unwrap();
        assert!(matches!(to_canonical(&huge), Err(JcsError::Float(_))));
    }

    #[test]
    fn sorted_json_writes_every_number_and_sorts_like_jcs() {
        let value: Value = serde_json::from_str(
            r#"{"b": [1.5, 1152921504606846976, -1152921504606846976, 1E300, 2e-3],
                "\uFB33": 1, "\uD800\uDC00": "\u000F", "a": 0}"#,
        )
        .unwrap();
        assert_eq!(
            to_sorted_json(&value),
            "{\"a\":0,\"b\":[1.5,1152921504606846976,-1152921504606846976,1e+300,0.002],\
             \"\u{10000}\":\"\\u000f\",\"\u{FB33}\":1}"
        );
    }

    #[test]
    fn no_whitespace_and_nested_structures() {
        let value = json!({"b": [], "a": {"d": {}, "c": [1, "x", null]}});
        assert_eq!(
            canonical(&value),
            r#"{"a":{"c":[1,"x",null],"d":{}},"b":[]}"#
        );
    }

    #[test]
    fn is_canonical_accepts_only_exact_encodings() {
        assert!(is_canonical(br#"{"a":1,"b":"x"}"#));
        assert!(is_canonical(b"[]"));
        assert!(is_canonical("\"\u{2028}\"".as_bytes()));
        for not_canonical in [
            &br#"{"b":1,"a":2}"#[..],
            br#"{"a": 1}"#,
            br#"{"a":1} "#,
            br#"{"a":1,"a":1}"#,
            br#"{"a":1.0}"#,
            br#"{"a":1e2}"#,
            br#"{"a":-0}"#,
            br#""\/""#,
            br#""\u00e9""#,
            br#""\u001F""#,
            br#""\u000a""#,
            b"\xef\xbb\xbf{}",
            b"{",
            b"",
        ] {
            assert!(
                !is_canonical(not_canonical),
                "{}",
                String::from_utf8_lossy(not_canonical)
            );
        }
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn json_without_floats() -> impl Strategy<Value = Value> {
            let safe = MAX_SAFE_INTEGER as i64;
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                (-safe..=safe).prop_map(Value::from),
                any::<String>().prop_map(Value::String),
            ];
            leaf.prop_recursive(4, 48, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    prop::collection::btree_map(any::<String>(), inner, 0..6)
                        .prop_map(|members| Value::Object(members.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn canonical_output_is_canonical_and_round_trips(value in json_without_floats()) {
                let bytes = to_canonical(&value).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(is_canonical(&bytes));
                let parsed: Value = serde_json::from_slice(&bytes)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(parsed, value);
            }

            #[test]
            fn sorted_json_is_jcs_wherever_jcs_succeeds(value in json_without_floats()) {
                let canonical = to_canonical_string(&value)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(to_sorted_json(&value), canonical);
            }
        }
    }
}
