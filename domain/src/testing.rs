//! A given/when/then harness for aggregates (tests only), after cqrs-es' `TestFramework`:
//! given past events, when a command is decided on a day, then these events or this rejection.

use chrono::NaiveDate;

use crate::aggregate::{Aggregate, DecisionContext, DomainEvent, FieldError};

/// Runs a future that never suspends (the in-memory fakes answer at once).
pub(crate) fn run<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the in-memory fakes never wait"),
    }
}

/// The input field `error` names, as the API spells it (`None`: the whole command).
pub(crate) fn field_of(error: &impl FieldError) -> Option<String> {
    error.field().map(|path| path.to_string())
}

/// The day tests run on, unless a test says otherwise.
pub(crate) fn today() -> NaiveDate {
    day("2026-06-15")
}

/// A date from `YYYY-MM-DD`; panics on a typo in a test.
pub(crate) fn day(text: &str) -> NaiveDate {
    match text.parse() {
        Ok(date) => date,
        Err(error) => panic!("bad test date {text}: {error}"),
    }
}

/// Past events of one aggregate.
pub(crate) struct Given<A: Aggregate> {
    events: Vec<A::Event>,
    context: DecisionContext,
}

/// Starts a scenario with the aggregate's past events (none for a creation).
pub(crate) fn given<A: Aggregate>(events: impl IntoIterator<Item = A::Event>) -> Given<A> {
    Given {
        events: events.into_iter().collect(),
        context: DecisionContext { today: today() },
    }
}

impl<A: Aggregate> Given<A> {
    /// Decides on another day.
    pub(crate) fn on(mut self, today: NaiveDate) -> Self {
        self.context.today = today;
        self
    }

    /// Decides the command against the fold of the past events.
    pub(crate) fn when(self, command: A::Command) -> Then<A> {
        let state = A::fold(&self.events);
        let result = A::decide(state.as_ref(), command, &self.context);
        Then {
            past: self.events,
            result,
        }
    }
}

/// The outcome of a decision.
pub(crate) struct Then<A: Aggregate> {
    past: Vec<A::Event>,
    result: Result<Vec<A::Event>, A::Error>,
}

impl<A: Aggregate + serde::Serialize + PartialEq> Then<A>
where
    A::Event: PartialEq,
    A::Error: PartialEq,
{
    /// The command was accepted; returns its events (each round-trips through JSON without floats).
    /// The state they leave round-trips through JSON too: the store keeps it as JSON, and the
    /// command service decides as well on the state it keeps in memory, which must be the same.
    pub(crate) fn accepted(self) -> Vec<A::Event> {
        match self.result {
            Ok(events) => {
                for event in &events {
                    assert_json_round_trip(event);
                }
                let all: Vec<A::Event> = self.past.iter().chain(&events).cloned().collect();
                if let Some(state) = A::fold(&all) {
                    assert_state_round_trip(&state);
                }
                events
            }
            Err(error) => panic!("expected the command to be accepted, but: {error}"),
        }
    }

    /// The command was accepted with exactly these events.
    pub(crate) fn then(self, expected: &[A::Event]) {
        assert_eq!(self.accepted(), expected);
    }

    /// The command was accepted; returns the state after past and new events, with its version
    /// checked against the number of events.
    pub(crate) fn state(self) -> A {
        let past = self.past.clone();
        let new = self.accepted();
        let all: Vec<A::Event> = past.into_iter().chain(new).collect();
        match A::fold(&all) {
            Some(state) => state,
            None => panic!("the events folded to no state"),
        }
    }

    /// The command was accepted; returns the past events followed by its own.
    pub(crate) fn history(self) -> Vec<A::Event> {
        let past = self.past.clone();
        past.into_iter().chain(self.accepted()).collect()
    }

    /// The command was refused with exactly this error, naming this field (`None`: the whole
    /// command), and the message names the field.
    pub(crate) fn rejected(self, expected: &A::Error, field: Option<&str>) {
        match self.result {
            Ok(events) => panic!("expected {expected:?}, but the command produced {events:?}"),
            Err(error) => {
                assert_eq!(&error, expected);
                assert_eq!(field_of(&error).as_deref(), field, "field of {error:?}");
                if let Some(field) = field {
                    let message = error.to_string();
                    let top = field.split(['[', '.']).next().unwrap_or(field);
                    assert!(
                        message.contains(top),
                        "message `{message}` does not name the field `{field}`"
                    );
                }
            }
        }
    }

    /// The command was refused; returns the error for further checks.
    pub(crate) fn error(self) -> A::Error {
        match self.result {
            Ok(events) => panic!("expected a rejection, but the command produced {events:?}"),
            Err(error) => error,
        }
    }
}

/// The event serialises as `{"type": <event_type>, "data": {...}}` with no floating-point number
/// anywhere, and deserialises to itself.
pub(crate) fn assert_json_round_trip<E: DomainEvent + PartialEq>(event: &E) {
    let json = match serde_json::to_value(event) {
        Ok(json) => json,
        Err(error) => panic!("{event:?} does not serialise: {error}"),
    };
    assert_eq!(
        json.get("type").and_then(serde_json::Value::as_str),
        Some(event.event_type()),
        "type tag of {json}"
    );
    assert!(
        json.get("data").is_some_and(serde_json::Value::is_object),
        "data of {json}"
    );
    assert_no_floats(&json);
    let text = json.to_string();
    match serde_json::from_str::<E>(&text) {
        Ok(back) => assert_eq!(&back, event, "round trip of {text}"),
        Err(error) => panic!("{text} does not deserialise: {error}"),
    }
}

/// The state as the store keeps it (its JSON) decodes to itself.
fn assert_state_round_trip<A: Aggregate + serde::Serialize + PartialEq>(state: &A) {
    let text = match serde_json::to_string(state) {
        Ok(text) => text,
        Err(error) => panic!("{state:?} does not serialise: {error}"),
    };
    match serde_json::from_str::<A>(&text) {
        Ok(back) => assert_eq!(&back, state, "round trip of the state {text}"),
        Err(error) => panic!("the state {text} does not deserialise: {error}"),
    }
}

/// Walks a JSON value: every number is an integer.
pub(crate) fn assert_no_floats(value: &serde_json::Value) {
    match value {
        serde_json::Value::Number(number) => {
            assert!(
                number.is_i64() || number.is_u64(),
                "floating-point number {number}"
            );
        }
        serde_json::Value::Array(items) => items.iter().for_each(assert_no_floats),
        serde_json::Value::Object(map) => map.values().for_each(assert_no_floats),
        _ => {}
    }
}
