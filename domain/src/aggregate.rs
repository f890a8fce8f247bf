//! The shape every aggregate shares: commands are decided, events are evolved.

use serde::{Serialize, de::DeserializeOwned};
use uuid::Uuid;

use crate::values::FieldPath;

/// The aggregate types of the audit log. Their names are the `stream` of an event envelope.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum StreamKind {
    Organisation,
    Project,
    Activity,
}

impl StreamKind {
    /// The `stream` value of the audit envelope.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Organisation => "organisation",
            Self::Project => "project",
            Self::Activity => "activity",
        }
    }

    /// Parses the `stream` value of an envelope.
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "organisation" => Some(Self::Organisation),
            "project" => Some(Self::Project),
            "activity" => Some(Self::Activity),
            _ => None,
        }
    }
}

/// Facts about the moment a command is decided, supplied by the caller so that `decide` stays pure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecisionContext {
    /// Today's date in UTC: actual dates may not lie after it.
    pub today: chrono::NaiveDate,
}

/// An event of one aggregate: it names its PascalCase `type` and serialises its payload (`data`).
///
/// Events serialise with serde's adjacent tagging `{"type": "...", "data": {...}}`; the payload
/// holds integers and strings only, never floating-point numbers (the audit log is RFC 8785 JSON).
pub trait DomainEvent:
    Serialize + DeserializeOwned + Clone + std::fmt::Debug + Send + Sync
{
    /// The PascalCase event name, e.g. `ProjectRegistered`.
    fn event_type(&self) -> &'static str;
}

/// A rejection that names the input field at fault (GraphQL `extensions.field`).
pub trait FieldError: std::error::Error + Send + Sync + 'static {
    /// The offending input field as a GraphQL input path, e.g. `iatiIdentifier` or
    /// `recipientCountries[2].percentage`; `None` when the rejection is about the whole command
    /// (a status transition that is not allowed, for instance).
    fn field(&self) -> Option<FieldPath>;

    /// Whether the rejection means the aggregate the command names does not exist (GraphQL
    /// `NOT_FOUND`) rather than bad input (`BAD_USER_INPUT`).
    fn is_not_found(&self) -> bool {
        false
    }
}

/// What [`Aggregate::decide_all`] decided: the events, and the state they lead to.
pub type Decided<A> = (Vec<<A as Aggregate>::Event>, Option<A>);

/// An event-sourced aggregate: its state is the fold of its events.
pub trait Aggregate:
    Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + Sync + Sized + 'static
{
    /// The stream its events are appended to.
    const STREAM: StreamKind;
    type Command: std::fmt::Debug + Send;
    type Event: DomainEvent;
    type Error: FieldError;

    /// The aggregate's id.
    fn id(&self) -> Uuid;

    /// Decides a command against the current state (`None` when the stream is empty).
    ///
    /// # Errors
    /// A typed rejection naming the field at fault; nothing is appended then.
    fn decide(
        state: Option<&Self>,
        command: Self::Command,
        context: &DecisionContext,
    ) -> Result<Vec<Self::Event>, Self::Error>;

    /// The other aggregates' streams `command` carries facts from, at the versions they were read:
    /// the append requires them unchanged (see [`crate::ports::AppendRequest::reads`]). None by
    /// default.
    fn reads(command: &Self::Command) -> Vec<crate::ports::StreamRead> {
        let _ = command;
        Vec::new()
    }

    /// Folds one event into the state. Events were validated by `decide`; an event that cannot
    /// apply (a creation event on an existing aggregate, a change before creation) leaves the state
    /// as it was, which `amanah replay --check` then reports as a difference.
    fn evolve(state: Option<Self>, event: &Self::Event) -> Option<Self>;

    /// Folds a whole stream.
    fn fold<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Option<Self> {
        events.into_iter().fold(None, Self::evolve)
    }

    /// Decides `commands` one after the other, each against the state the events before it
    /// left: the events of all of them and the state they lead to. Nothing is decided unless
    /// every command is accepted (an import applies one activity's changes all or nothing).
    ///
    /// # Errors
    /// The first rejection.
    fn decide_all(
        state: Option<Self>,
        commands: impl IntoIterator<Item = Self::Command>,
        context: &DecisionContext,
    ) -> Result<Decided<Self>, Self::Error> {
        let mut events = Vec::new();
        let mut state = state;
        for command in commands {
            let decided = Self::decide(state.as_ref(), command, context)?;
            state = decided.iter().fold(state, Self::evolve);
            events.extend(decided);
        }
        Ok((events, state))
    }
}
