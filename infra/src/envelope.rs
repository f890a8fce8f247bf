//! The audit envelope (`docs/audit-log.md` §3.2): what an event's leaf bytes say, and how
//! they are written and read back.
//!
//! [`encode`] turns a [`StoredEvent`] into its leaf bytes (RFC 8785 JSON, see [`amanah_audit::jcs`]);
//! [`decode`] checks that bytes are the canonical serialisation of a well-formed envelope and
//! returns the event they describe. The event store stores exactly the bytes [`encode`] produced
//! and serves events by decoding them, so what an auditor verifies is what the server read.
//!
//! `occurredAt` carries microseconds. The store truncates the command's timestamp to microseconds
//! before it builds anything ([`truncate_to_micros`]); [`encode`] refuses a timestamp with finer
//! precision, so the stored column, the decoded event and the bytes always agree.

use amanah_domain::aggregate::StreamKind;
use amanah_domain::ports::{Actor, StoredEvent, truncate_to_micros};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use amanah_audit::envelope::is_event_type;
use amanah_audit::jcs::{self, JcsError, MAX_SAFE_INTEGER};

use amanah_audit::envelope::{ACTOR_KEYS, ENVELOPE_KEYS, ENVELOPE_VERSION};

/// Why bytes or an event are not a valid envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The JSON holds something JCS cannot encode (a float, an unsafe integer).
    #[error(transparent)]
    Jcs(#[from] JcsError),
    /// The bytes are not the RFC 8785 serialisation of the JSON they hold (or not JSON at all).
    #[error("not canonical JSON (RFC 8785)")]
    NotCanonical,
    /// The envelope is canonical JSON of the wrong shape.
    #[error("envelope member `{member}` {problem}")]
    Malformed {
        /// The member at fault, e.g. `streamVersion` or `actor.sub`.
        member: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// An envelope format this code does not know.
    #[error("envelope version {0} is not supported (expected {ENVELOPE_VERSION})")]
    UnsupportedVersion(u64),
    /// `occurredAt` would lose precision: timestamps must be truncated to microseconds first.
    #[error("occurredAt {0} has sub-microsecond precision; truncate it before encoding")]
    SubMicrosecond(String),
}

const fn malformed(member: &'static str, problem: &'static str) -> EnvelopeError {
    EnvelopeError::Malformed { member, problem }
}

/// The `occurredAt` text of `time`: RFC 3339 UTC, exactly six fractional digits and `Z`, e.g.
/// `2026-11-28T10:00:00.123456Z`. Sub-microsecond digits are truncated.
#[must_use]
pub fn format_occurred_at(time: DateTime<Utc>) -> String {
    truncate_to_micros(time).to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses `occurredAt` text, accepting only the exact form [`format_occurred_at`] writes.
///
/// # Errors
/// [`EnvelopeError::Malformed`] for any other form (offsets, missing or extra digits, …).
fn parse_occurred_at(text: &str) -> Result<DateTime<Utc>, EnvelopeError> {
    let problem = "must be RFC 3339 UTC with six fractional digits and `Z`";
    let parsed = DateTime::parse_from_rfc3339(text)
        .map_err(|_| malformed("occurredAt", problem))?
        .with_timezone(&Utc);
    if format_occurred_at(parsed) == text {
        Ok(parsed)
    } else {
        Err(malformed("occurredAt", problem))
    }
}

/// The envelope of `event` as JSON (its `canonical` field is ignored).
///
/// # Errors
/// [`EnvelopeError`] when the event cannot be represented: sub-microsecond `occurred_at`, an index
/// or version beyond 2^53 − 1, a stream version of 0, an event type that is not PascalCase.
pub fn envelope_value(event: &StoredEvent) -> Result<Value, EnvelopeError> {
    if truncate_to_micros(event.occurred_at) != event.occurred_at {
        return Err(EnvelopeError::SubMicrosecond(
            event.occurred_at.to_rfc3339(),
        ));
    }
    if event.index > MAX_SAFE_INTEGER {
        return Err(malformed("index", "exceeds 2^53 - 1"));
    }
    if event.stream_version == 0 || event.stream_version > MAX_SAFE_INTEGER {
        return Err(malformed("streamVersion", "must be in 1..=2^53-1"));
    }
    if !is_event_type(event.event_type.as_bytes()) {
        return Err(malformed("type", "must be a PascalCase name"));
    }
    Ok(json!({
        "v": ENVELOPE_VERSION,
        "index": event.index,
        "id": event.id.hyphenated().to_string(),
        "stream": event.stream.as_str(),
        "streamId": event.stream_id.hyphenated().to_string(),
        "streamVersion": event.stream_version,
        "type": event.event_type,
        "occurredAt": format_occurred_at(event.occurred_at),
        "actor": {
            "sub": event.actor.sub,
            "roles": event.actor.roles,
            "org": event.actor.org.map(|org| org.hyphenated().to_string()),
        },
        "requestId": event.request_id,
        "data": event.data,
    }))
}

/// The leaf bytes of `event`: the RFC 8785 serialisation of its envelope (its `canonical` field
/// is ignored).
///
/// # Errors
/// As [`envelope_value`], and [`EnvelopeError::Jcs`] when `data` holds a float or an unsafe integer.
pub fn encode(event: &StoredEvent) -> Result<Vec<u8>, EnvelopeError> {
    Ok(jcs::to_canonical(&envelope_value(event)?)?)
}

/// Reads leaf bytes back into the event they record (with `canonical` set to `bytes`).
///
/// # Errors
/// [`EnvelopeError::NotCanonical`] unless `bytes` are canonical JSON; [`EnvelopeError::Malformed`]
/// or [`EnvelopeError::UnsupportedVersion`] unless they hold a well-formed version-1 envelope.
pub fn decode(bytes: &[u8]) -> Result<StoredEvent, EnvelopeError> {
    let value = jcs::parse_canonical(bytes).ok_or(EnvelopeError::NotCanonical)?;
    let Value::Object(mut envelope) = value else {
        return Err(malformed("(envelope)", "must be a JSON object"));
    };
    require_exact_keys(&envelope, &ENVELOPE_KEYS, "(envelope)")?;

    let version = take_u64(&mut envelope, "v")?;
    if version != ENVELOPE_VERSION {
        return Err(EnvelopeError::UnsupportedVersion(version));
    }
    let index = take_u64(&mut envelope, "index")?;
    let id = take_uuid(&mut envelope, "id")?;
    let stream = StreamKind::parse(&take_string(&mut envelope, "stream")?)
        .ok_or(malformed("stream", "is not a known aggregate type"))?;
    let stream_id = take_uuid(&mut envelope, "streamId")?;
    let stream_version = take_u64(&mut envelope, "streamVersion")?;
    if stream_version == 0 {
        return Err(malformed("streamVersion", "must be at least 1"));
    }
    let event_type = take_string(&mut envelope, "type")?;
    if !is_event_type(event_type.as_bytes()) {
        return Err(malformed("type", "must be a PascalCase name"));
    }
    let occurred_at = parse_occurred_at(&take_string(&mut envelope, "occurredAt")?)?;
    let actor = take_actor(&mut envelope)?;
    let request_id = match envelope.remove("requestId") {
        Some(Value::String(text)) => Some(text),
        Some(Value::Null) => None,
        _ => return Err(malformed("requestId", "must be a string or null")),
    };
    let data = envelope.remove("data").unwrap_or(Value::Null);

    Ok(StoredEvent {
        index,
        id,
        stream,
        stream_id,
        stream_version,
        event_type,
        occurred_at,
        actor,
        request_id,
        data,
        canonical: bytes.to_vec(),
    })
}

fn require_exact_keys(
    object: &Map<String, Value>,
    expected: &[&str],
    member: &'static str,
) -> Result<(), EnvelopeError> {
    let matches =
        object.len() == expected.len() && expected.iter().all(|k| object.contains_key(*k));
    if matches {
        Ok(())
    } else {
        Err(malformed(member, "has missing or unknown members"))
    }
}

fn take_u64(object: &mut Map<String, Value>, member: &'static str) -> Result<u64, EnvelopeError> {
    object
        .remove(member)
        .and_then(|value| value.as_u64())
        .ok_or(malformed(member, "must be a non-negative integer"))
}

fn take_string(
    object: &mut Map<String, Value>,
    member: &'static str,
) -> Result<String, EnvelopeError> {
    match object.remove(member) {
        Some(Value::String(text)) => Ok(text),
        _ => Err(malformed(member, "must be a string")),
    }
}

/// UUIDs are written in lowercase hyphenated form only, so that a UUID has one encoding.
fn parse_uuid(text: &str, member: &'static str) -> Result<Uuid, EnvelopeError> {
    let problem = "must be a lowercase hyphenated UUID";
    let uuid = Uuid::parse_str(text).map_err(|_| malformed(member, problem))?;
    if uuid.hyphenated().to_string() == text {
        Ok(uuid)
    } else {
        Err(malformed(member, problem))
    }
}

fn take_uuid(object: &mut Map<String, Value>, member: &'static str) -> Result<Uuid, EnvelopeError> {
    parse_uuid(&take_string(object, member)?, member)
}

fn take_actor(envelope: &mut Map<String, Value>) -> Result<Actor, EnvelopeError> {
    let Some(Value::Object(mut actor)) = envelope.remove("actor") else {
        return Err(malformed("actor", "must be an object"));
    };
    require_exact_keys(&actor, &ACTOR_KEYS, "actor")?;
    let sub = match actor.remove("sub") {
        Some(Value::String(sub)) => sub,
        _ => return Err(malformed("actor.sub", "must be a string")),
    };
    let roles = match actor.remove("roles") {
        Some(Value::Array(roles)) => roles
            .into_iter()
            .map(|role| match role {
                Value::String(role) => Ok(role),
                _ => Err(malformed("actor.roles", "must be an array of strings")),
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err(malformed("actor.roles", "must be an array of strings")),
    };
    let org = match actor.remove("org") {
        Some(Value::Null) => None,
        Some(Value::String(org)) => Some(parse_uuid(&org, "actor.org")?),
        _ => return Err(malformed("actor.org", "must be a UUID string or null")),
    };
    Ok(Actor { sub, roles, org })
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn sample() -> StoredEvent {
        StoredEvent {
            index: 7,
            id: Uuid::parse_str("01890a5d-ac96-774b-bcce-b302099a8057").unwrap(),
            stream: StreamKind::Project,
            stream_id: Uuid::parse_str("01890a5d-ac96-774b-bcce-b302099a8058").unwrap(),
            stream_version: 3,
            event_type: "ProjectRegistered".to_owned(),
            occurred_at: Utc
                .with_ymd_and_hms(2026, 11, 28, 10, 0, 0)
                .unwrap()
                .checked_add_signed(chrono::Duration::microseconds(123_456))
                .unwrap(),
            actor: Actor {
                sub: "alice".to_owned(),
                roles: vec!["editor".to_owned(), "admin".to_owned()],
                org: Some(Uuid::parse_str("01890a5d-ac96-774b-bcce-b302099a8059").unwrap()),
            },
            request_id: Some("req-1".to_owned()),
            data: json!({"title": "Support to ASEANSAI", "percentage": "33.33", "amount": 1500}),
            canonical: Vec::new(),
        }
    }

    #[test]
    fn encodes_the_documented_envelope_byte_for_byte() {
        let bytes = encode(&sample()).unwrap();
        let expected = concat!(
            r#"{"actor":{"org":"01890a5d-ac96-774b-bcce-b302099a8059","roles":["editor","admin"],"sub":"alice"},"#,
            r#""data":{"amount":1500,"percentage":"33.33","title":"Support to ASEANSAI"},"#,
            r#""id":"01890a5d-ac96-774b-bcce-b302099a8057","index":7,"#,
            r#""occurredAt":"2026-11-28T10:00:00.123456Z","requestId":"req-1","stream":"project","#,
            r#""streamId":"01890a5d-ac96-774b-bcce-b302099a8058","streamVersion":3,"#,
            r#""type":"ProjectRegistered","v":1}"#
        );
        assert_eq!(String::from_utf8(bytes).unwrap(), expected);
    }

    #[test]
    fn decode_inverts_encode() {
        let event = sample();
        let bytes = encode(&event).unwrap();
        let decoded = decode(&bytes).unwrap();
        assert_eq!(
            decoded,
            StoredEvent {
                canonical: bytes,
                ..event
            }
        );

        let mut system = sample();
        system.actor = Actor::system("system:demo");
        system.request_id = None;
        let bytes = encode(&system).unwrap();
        assert!(String::from_utf8_lossy(&bytes).contains(r#""org":null"#));
        assert!(String::from_utf8_lossy(&bytes).contains(r#""requestId":null"#));
        assert_eq!(decode(&bytes).unwrap().actor, system.actor);
    }

    #[test]
    fn occurred_at_has_exactly_six_digits() {
        let whole_second = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(
            format_occurred_at(whole_second),
            "2026-01-02T03:04:05.000000Z"
        );
        let nanos = whole_second
            .checked_add_signed(chrono::Duration::nanoseconds(123_456_789))
            .unwrap();
        assert_eq!(format_occurred_at(nanos), "2026-01-02T03:04:05.123456Z");
        assert_eq!(
            truncate_to_micros(nanos),
            parse_occurred_at("2026-01-02T03:04:05.123456Z").unwrap()
        );
        for bad in [
            "2026-01-02T03:04:05Z",
            "2026-01-02T03:04:05.123Z",
            "2026-01-02T03:04:05.123456789Z",
            "2026-01-02T03:04:05.123456+00:00",
            "2026-01-02 03:04:05.123456Z",
            "2026-01-02T03:04:05.123456z",
        ] {
            assert!(parse_occurred_at(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_to_encode_what_it_could_not_store_faithfully() {
        let mut event = sample();
        event.occurred_at = event
            .occurred_at
            .checked_add_signed(chrono::Duration::nanoseconds(1))
            .unwrap();
        assert!(matches!(
            encode(&event),
            Err(EnvelopeError::SubMicrosecond(_))
        ));

        let mut event = sample();
        event.data = json!({"percentage": 33.33});
        assert!(matches!(
            encode(&event),
            Err(EnvelopeError::Jcs(JcsError::Float(_)))
        ));

        let mut event = sample();
        event.event_type = "project_registered".to_owned();
        assert!(encode(&event).is_err());

        let mut event = sample();
        event.stream_version = 0;
        assert!(encode(&event).is_err());
    }

    #[test]
    fn decode_rejects_malformed_envelopes() {
        let good = String::from_utf8(encode(&sample()).unwrap()).unwrap();
        let cases = [
            // not canonical
            good.replace(r#""index":7"#, r#""index": 7"#),
            // unknown version
            good.replace(r#""v":1"#, r#""v":2"#),
            // missing member
            good.replace(r#""requestId":"req-1","#, ""),
            // extra member
            good.replace(r#""v":1}"#, r#""v":1,"w":1}"#),
            // uppercase uuid
            good.replace(
                "01890a5d-ac96-774b-bcce-b302099a8057",
                "01890A5D-AC96-774B-BCCE-B302099A8057",
            ),
            // unknown stream
            good.replace(r#""stream":"project""#, r#""stream":"programme""#),
            // version zero
            good.replace(r#""streamVersion":3"#, r#""streamVersion":0"#),
            // negative index
            good.replace(r#""index":7"#, r#""index":-7"#),
            // timestamp precision
            good.replace("10:00:00.123456Z", "10:00:00.123Z"),
            // actor shape
            good.replace(r#""roles":["editor","admin"]"#, r#""roles":"editor""#),
            good.replace(r#""sub":"alice""#, r#""sub":null"#),
            // request id type
            good.replace(r#""requestId":"req-1""#, r#""requestId":1"#),
            // not an object
            "[]".to_owned(),
        ];
        for case in cases {
            assert_ne!(case, good);
            assert!(decode(case.as_bytes()).is_err(), "{case}");
        }
        assert_eq!(
            decode(good.replace(r#""v":1"#, r#""v":2"#).as_bytes()),
            Err(EnvelopeError::UnsupportedVersion(2))
        );
    }
}
