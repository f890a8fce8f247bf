//! The envelope format (`docs/audit-log.md` §3.2): the members every leaf holds, in canonical
//! order, and the rules for their names. The server writes envelopes (`amanah-infra`'s
//! `envelope` module) and the verifier checks them ([`crate::export_verify`]) from these same
//! definitions.

/// The envelope format version (`v`).
pub const ENVELOPE_VERSION: u64 = 1;

/// The members of an envelope, in canonical order. Nothing else may appear.
pub const ENVELOPE_KEYS: [&str; 11] = [
    "actor",
    "data",
    "id",
    "index",
    "occurredAt",
    "requestId",
    "stream",
    "streamId",
    "streamVersion",
    "type",
    "v",
];

/// The members of `actor`, in canonical order.
pub const ACTOR_KEYS: [&str; 3] = ["org", "roles", "sub"];

/// Whether `name` is a PascalCase event name: an ASCII capital, then ASCII letters and digits.
#[must_use]
pub fn is_event_type(name: &[u8]) -> bool {
    name.first().is_some_and(u8::is_ascii_uppercase) && name.iter().all(u8::is_ascii_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_pascal_case_ascii() {
        assert!(is_event_type(b"ProjectRegistered"));
        assert!(is_event_type(b"A1"));
        for bad in [
            &b""[..],
            b"projectRegistered",
            b"Project_Registered",
            b"Projet\xc3\xa9",
        ] {
            assert!(!is_event_type(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_keys_are_in_canonical_order() {
        // RFC 8785 orders members by their UTF-16 code units; all of these are ASCII.
        assert!(ENVELOPE_KEYS.is_sorted());
        assert!(ACTOR_KEYS.is_sorted());
    }
}
