//! The command service: the one path every change takes — load, decide, append.
//!
//! ```text
//! load the stream ─▶ fold with evolve ─▶ check expectedVersion ─▶ decide ─▶ evolve the new events
//!                                                                      └─▶ append events + snapshot
//! ```
//!
//! The service is generic over the [`EventStore`] port, so it runs the same against SQLite,
//! PostgreSQL or an in-memory fake in tests. It also loads aggregates "as of" a log size, for time
//! travel, with the same fold.

use std::sync::Arc;

use serde_json::json;
use uuid::Uuid;

use crate::activity::Activity;
use crate::aggregate::{Aggregate, DecisionContext, DomainEvent, FieldError, StreamKind};
use crate::organisation::{Organisation, OrganisationFacts};
use crate::ports::{
    AppendOutcome, AppendRequest, EventMetadata, EventStore, IdempotencyClaim, KeptState, NewEvent,
    Snapshot, StoreError, StoredEvent, StreamRead,
};
use crate::project::{KnownTransaction, Project, ProjectEvent, ProjectFacts, Transactions};
use crate::recent::RecentStates;

impl From<Organisation> for Snapshot {
    fn from(state: Organisation) -> Self {
        Self::Organisation(Box::new(state))
    }
}

impl From<Project> for Snapshot {
    fn from(state: Project) -> Self {
        Self::Project(Box::new(state))
    }
}

impl From<Activity> for Snapshot {
    fn from(state: Activity) -> Self {
        Self::Activity(Box::new(state))
    }
}

/// A change that was appended: the aggregate's new state and where its events landed.
#[derive(Debug, Clone)]
pub struct Committed<A> {
    pub state: A,
    pub outcome: AppendOutcome,
}

/// Why a command did not change anything.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The domain refused the command; the error names the field.
    #[error("{0}")]
    Rejected(Box<dyn FieldError>),
    /// A stored event could not be decoded: the log and this build disagree.
    #[error("event {index} of the log could not be decoded: {reason}")]
    Undecodable { index: u64, reason: String },
    /// The store refused or failed: a version conflict ([`StoreError::Conflict`], also when the
    /// service itself finds the aggregate at another version), a stale read, a duplicate, a
    /// taken-over idempotency key, or a failure of its own.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CommandError {
    /// Wraps a domain rejection.
    pub fn rejected(error: impl FieldError) -> Self {
        Self::Rejected(Box::new(error))
    }
}

/// Decodes a stored event into an aggregate's event type.
///
/// # Errors
/// [`CommandError::Undecodable`] when the payload does not match the event type.
pub fn decode<E: DomainEvent>(stored: &StoredEvent) -> Result<E, CommandError> {
    serde_json::from_value(json!({ "type": stored.event_type, "data": stored.data })).map_err(
        |error| CommandError::Undecodable {
            index: stored.index,
            reason: error.to_string(),
        },
    )
}

/// What the kept state of `stream` `id` (an aggregate in its serde form) holds, as `T`: the
/// aggregate itself, or only the part of it a command needs.
fn decode_kept<T: serde::de::DeserializeOwned>(
    stream: StreamKind,
    id: Uuid,
    state: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(state).map_err(|error| {
        StoreError::internal_from(
            format!("the kept state of {} {id} does not decode", stream.as_str()),
            error,
        )
    })
}

/// Encodes a domain event as the `type` and `data` of an envelope.
///
/// # Errors
/// [`CommandError::Undecodable`] if the event does not serialise to `{"type", "data"}` (a bug).
pub fn encode<E: DomainEvent>(event: &E) -> Result<NewEvent, CommandError> {
    let invalid = |reason: String| CommandError::Undecodable {
        index: u64::MAX,
        reason,
    };
    let value = serde_json::to_value(event).map_err(|e| invalid(e.to_string()))?;
    let data = match value {
        serde_json::Value::Object(mut object) => object
            .remove("data")
            .unwrap_or(serde_json::Value::Object(serde_json::Map::new())),
        other => return Err(invalid(format!("event serialised as {other}"))),
    };
    Ok(NewEvent {
        event_type: event.event_type().to_owned(),
        data,
    })
}

/// Decodes a stream's `stored` events ([`decode`]).
fn decode_all<E: DomainEvent>(stored: &[StoredEvent]) -> Result<Vec<E>, CommandError> {
    stored.iter().map(decode::<E>).collect()
}

/// Load → decide → append, over any [`EventStore`].
///
/// The service keeps the states it read or appended lately ([`RecentStates`]; its clones share
/// them): a command on an aggregate at the version kept, or one that needs an aggregate's facts,
/// then reads nothing before it decides. The append checks those versions as it checks any read.
#[derive(Debug, Clone)]
pub struct CommandService<S> {
    store: S,
    recent: Arc<RecentStates>,
}

/// What a command was decided on besides its own stream and the facts its command names
/// ([`Aggregate::reads`]): the append checks both in its transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given {
    /// Streams the caller read before the command, such as the project whose participants an
    /// access rule looked at: the append requires them still at the versions read.
    pub reads: Vec<StreamRead>,
    /// For a request under an idempotency key, the key's claim: the append requires the key to
    /// still hold it, and records its indexes there.
    pub idempotency_claim: Option<IdempotencyClaim>,
}

impl Given {
    /// Nothing beyond the command itself.
    pub const NOTHING: Self = Self {
        reads: Vec::new(),
        idempotency_claim: None,
    };
}

/// The version a command expects of its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// A creation under an id the caller has just minted (a UUIDv7 no other request can hold):
    /// there is no stream to read first, so nothing is read before the append.
    Minted,
    /// The stream at this version: the client's `expectedVersion`. A stream that does not exist
    /// is left to the aggregate's `decide` (not found).
    Version(u64),
}

impl<S: EventStore> CommandService<S> {
    pub fn new(store: S) -> Self {
        Self {
            store,
            recent: Arc::default(),
        }
    }

    /// The store behind the service.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// An aggregate's state: its current one, or with `as_of` the fold of its events among the
    /// first `as_of` of the log.
    ///
    /// # Errors
    /// When the store fails or an event cannot be decoded.
    pub async fn load<A: Aggregate>(
        &self,
        id: Uuid,
        as_of: Option<u64>,
    ) -> Result<Option<A>, CommandError> {
        if as_of.is_none() {
            return Ok(self.current::<A>(id).await?.0);
        }
        let stored = self.store.load_stream(A::STREAM, id, as_of).await?;
        Ok(A::fold(&decode_all::<A::Event>(&stored)?))
    }

    /// An aggregate's current state and its stream's version: the state the store keeps beside
    /// the log when it keeps one ([`EventStore::latest_state`]), so that a command costs the same
    /// however long its stream has grown (and a creation costs one read); else the fold of the
    /// whole stream.
    async fn current<A: Aggregate>(&self, id: Uuid) -> Result<(Option<A>, u64), CommandError> {
        let (state, version) = match self.store.latest_state(A::STREAM, id).await? {
            KeptState::Kept(latest) => (
                Some(decode_kept::<A>(A::STREAM, id, &latest.state)?),
                latest.version,
            ),
            KeptState::Absent => (None, 0),
            KeptState::NotKept => {
                let stored = self.store.load_stream(A::STREAM, id, None).await?;
                let version = u64::try_from(stored.len()).unwrap_or(u64::MAX);
                (A::fold(&decode_all::<A::Event>(&stored)?), version)
            }
        };
        if let Some(state) = &state {
            self.recent.put(id, version, state.clone());
        }
        Ok((state, version))
    }

    /// `facts` of aggregate `id`'s current state as far as this service knows: the state kept
    /// lately ([`RecentStates`]), looked at where it is kept, else as [`Self::current`] reads it.
    /// `None` when the aggregate does not exist.
    async fn latest_facts<A: Aggregate, F>(
        &self,
        id: Uuid,
        facts: impl FnOnce(&A) -> F,
    ) -> Result<Option<F>, CommandError> {
        if let Some((state, _)) = self.recent.get::<A>(id) {
            return Ok(Some(facts(&state)));
        }
        Ok(self.current::<A>(id).await?.0.as_ref().map(facts))
    }

    /// A [`StoreError::Conflict`] when the stream of aggregate `id`, decided on at `version` from a
    /// kept state, is at another version in the store: the answer a command decided on a state
    /// just read would have had, before anything else.
    async fn conflict_if_moved_on<A: Aggregate>(
        &self,
        id: Uuid,
        version: u64,
    ) -> Result<(), CommandError> {
        let (_, now) = self.current::<A>(id).await?;
        if now == version {
            return Ok(());
        }
        // `current` kept the state it read in place of the old one.
        Err(StoreError::Conflict {
            expected: version,
            current: now,
        }
        .into())
    }

    /// Facts about an organisation for another aggregate's command, `None` when it does not exist.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn organisation_facts(
        &self,
        id: Uuid,
    ) -> Result<Option<OrganisationFacts>, CommandError> {
        self.latest_facts(id, Organisation::facts).await
    }

    /// Facts about a project for another aggregate's command, `None` when it does not exist.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn project_facts(&self, id: Uuid) -> Result<Option<ProjectFacts>, CommandError> {
        self.latest_facts(id, Project::facts).await
    }

    /// Transaction `id` of project `project_id`, as a command that names it carries it: from
    /// the rows the store keeps, or folded from the project's stream.
    ///
    /// # Errors
    /// When the store fails or an event cannot be decoded.
    pub async fn known_transaction(
        &self,
        project_id: Uuid,
        id: Uuid,
    ) -> Result<KnownTransaction, CommandError> {
        if let Some(known) = self.store.kept_transaction(project_id, id).await? {
            return Ok(known);
        }
        let stored = self
            .store
            .load_stream(Project::STREAM, project_id, None)
            .await?;
        let version = u64::try_from(stored.len()).unwrap_or(u64::MAX);
        Ok(Transactions::fold(&decode_all::<ProjectEvent>(&stored)?).known(id, version))
    }

    /// The transactions of project `project_id` among the first `as_of` events of the log,
    /// folded from its stream.
    ///
    /// # Errors
    /// When the store fails or an event cannot be decoded.
    pub async fn transactions_as_of(
        &self,
        project_id: Uuid,
        as_of: u64,
    ) -> Result<Transactions, CommandError> {
        let stored = self
            .store
            .load_stream(Project::STREAM, project_id, Some(as_of))
            .await?;
        Ok(Transactions::fold(&decode_all::<ProjectEvent>(&stored)?))
    }

    /// Project `id` among the first `as_of` events of the log, with its transactions, both
    /// folded from one read of its stream; `None` when it did not exist yet.
    ///
    /// # Errors
    /// When the store fails or an event cannot be decoded.
    pub async fn project_as_of(
        &self,
        id: Uuid,
        as_of: u64,
    ) -> Result<Option<(Project, Transactions)>, CommandError> {
        let stored = self
            .store
            .load_stream(Project::STREAM, id, Some(as_of))
            .await?;
        let events = decode_all::<ProjectEvent>(&stored)?;
        Ok(Project::fold(&events).map(|project| (project, Transactions::fold(&events))))
    }

    /// Decides `command` against aggregate `id` and appends what it decided, with the new state
    /// for the read model, in one transaction.
    ///
    /// `expected` is [`Expected::Version`] with the client's `expectedVersion`, or
    /// [`Expected::Minted`] for a creation under an id the caller has just minted. The append also
    /// requires the streams the command's facts were read from ([`Aggregate::reads`]) and those of
    /// `given` to be unchanged, and `given`'s idempotency claim, if any, to still be held.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the aggregate is not at the expected version (now, or by
    /// the time the append commits; for `Minted`, when the stream exists), [`StoreError::StaleRead`]
    /// when a stream the command's facts or `given` came from moved on (or, for something the
    /// command read of aggregate `id` itself, such as a project's transaction, when that read
    /// is of another version than the one the command is decided on),
    /// [`StoreError::IdempotencyKeyTakenOver`] when the key no longer holds the claim,
    /// [`CommandError::Rejected`] when the domain refuses, and store failures. Nothing is appended
    /// then.
    pub async fn execute<A>(
        &self,
        id: Uuid,
        expected: Expected,
        command: A::Command,
        metadata: EventMetadata,
        given: Given,
    ) -> Result<Committed<A>, CommandError>
    where
        A: Aggregate + Into<Snapshot>,
    {
        self.execute_all(id, expected, vec![command], metadata, given)
            .await
    }

    /// Decides `commands` one after the other against aggregate `id` ([`Aggregate::decide_all`])
    /// and appends the events of all of them in one append: all or nothing. Otherwise as
    /// [`Self::execute`]; an empty list is refused as a bug of the caller.
    ///
    /// # Errors
    /// As [`Self::execute`]; the first rejection refuses the whole list.
    pub async fn execute_all<A>(
        &self,
        id: Uuid,
        expected: Expected,
        commands: Vec<A::Command>,
        metadata: EventMetadata,
        given: Given,
    ) -> Result<Committed<A>, CommandError>
    where
        A: Aggregate + Into<Snapshot>,
    {
        let (state, current, recent) = match expected {
            // No stream to read: the append's version check against the log still refuses an
            // id that was not fresh after all.
            Expected::Minted => (None, 0, false),
            Expected::Version(expected) => match self.recent.get::<A>(id) {
                // The state kept at the version the client read: the append checks that the
                // stream is still there.
                Some((state, version)) if version == expected => {
                    (Some(Arc::unwrap_or_clone(state)), version, true)
                }
                _ => {
                    let (state, current) = self.current::<A>(id).await?;
                    if expected != current && current > 0 {
                        return Err(StoreError::Conflict { expected, current }.into());
                    }
                    (state, current, false)
                }
            },
        };
        let mut reads: Vec<StreamRead> = commands.iter().flat_map(A::reads).collect();
        reads.extend(given.reads);
        reads.sort_by_key(|read| (read.stream.as_str(), read.stream_id, read.version));
        reads.dedup();
        // A command may carry something read from its own stream (a project's transaction, kept
        // outside the state): decided against another version of the stream than what it read,
        // it would mix two versions of the aggregate.
        if let Some(read) = reads.iter().find(|read| {
            read.stream == A::STREAM && read.stream_id == id && read.version != current
        }) {
            if recent {
                self.conflict_if_moved_on::<A>(id, current).await?;
            }
            return Err(StoreError::StaleRead {
                read: *read,
                current,
            }
            .into());
        }
        let previous = state.clone().map(Into::into);

        let context = DecisionContext {
            today: metadata.occurred_at.date_naive(),
        };
        let no_state = |reason: String| CommandError::Undecodable {
            index: u64::MAX,
            reason,
        };
        if commands.is_empty() {
            return Err(no_state(format!(
                "no command was given for {} {id}",
                A::STREAM.as_str()
            )));
        }
        let (decided, new_state) = match A::decide_all(state, commands, &context) {
            Ok(decided) => decided,
            Err(rejection) => {
                // Decided on a kept state, the rejection may be one of an old version: a stream
                // that moved on is a conflict, as it is when the state was read.
                if recent {
                    self.conflict_if_moved_on::<A>(id, current).await?;
                }
                return Err(CommandError::rejected(rejection));
            }
        };
        let new_state = new_state.ok_or_else(|| {
            no_state(format!(
                "the events decided for {} {id} left no state",
                A::STREAM.as_str()
            ))
        })?;
        let events = decided.iter().map(encode).collect::<Result<Vec<_>, _>>()?;
        let read_streams: Vec<(StreamKind, Uuid)> = reads
            .iter()
            .map(|read| (read.stream, read.stream_id))
            .collect();
        let appended = self
            .store
            .append(AppendRequest {
                stream: A::STREAM,
                stream_id: id,
                expected_version: current,
                reads,
                events,
                metadata,
                snapshot: new_state.clone().into(),
                previous,
                idempotency_claim: given.idempotency_claim,
            })
            .await;
        let outcome = match appended {
            Ok(outcome) => outcome,
            Err(error) => {
                // What is kept of a stream the store found elsewhere is of no more use. For a
                // stale read, of every stream read: the command is sent again, perhaps, and its
                // other reads may be as old as the one the store stopped at.
                match &error {
                    StoreError::Conflict { .. } => self.recent.forget(A::STREAM, id),
                    StoreError::StaleRead { .. } => {
                        for (stream, stream_id) in read_streams {
                            self.recent.forget(stream, stream_id);
                        }
                    }
                    _ => {}
                }
                return Err(error.into());
            }
        };
        self.recent
            .put(id, outcome.stream_version, new_state.clone());
        Ok(Committed {
            state: new_state,
            outcome,
        })
    }
}

/// The service's own logic — versions, stale reads, rejections, idempotency claims — against the
/// in-memory store ([`crate::fakes::MemoryEventStore`]), without a database.
#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::aggregate::StreamKind;
    use crate::codelists::OrganisationType;
    use crate::fakes::MemoryEventStore;
    use crate::organisation::{OrganisationCommand, RegisterOrganisation, ReviseOrganisation};
    use crate::ports::Actor;
    use crate::testing::run;
    use crate::values::Name;

    fn metadata() -> EventMetadata {
        EventMetadata {
            actor: Actor::system("test"),
            request_id: None,
            occurred_at: Utc::now(),
        }
    }

    fn register(id: Uuid, name: &str) -> OrganisationCommand {
        OrganisationCommand::Register(RegisterOrganisation {
            id,
            org_ref: None,
            name: Name::parse(name).unwrap(),
            acronym: None,
            organisation_type: OrganisationType::Government,
            country: None,
            website: None,
        })
    }

    fn rename(id: Uuid, name: &str) -> OrganisationCommand {
        OrganisationCommand::Revise(ReviseOrganisation {
            id,
            name: Some(Name::parse(name).unwrap()),
            ..ReviseOrganisation::default()
        })
    }

    fn service() -> CommandService<MemoryEventStore> {
        CommandService::new(MemoryEventStore::default())
    }

    fn execute<S: EventStore>(
        service: &CommandService<S>,
        id: Uuid,
        expected: Expected,
        command: OrganisationCommand,
    ) -> Result<Committed<Organisation>, CommandError> {
        execute_given(service, id, expected, command, Given::NOTHING)
    }

    fn execute_given<S: EventStore>(
        service: &CommandService<S>,
        id: Uuid,
        expected: Expected,
        command: OrganisationCommand,
        given: Given,
    ) -> Result<Committed<Organisation>, CommandError> {
        run(service.execute::<Organisation>(id, expected, command, metadata(), given))
    }

    /// Asserts that `error` is the store's conflict of a command at `expected` on a stream at
    /// `current`.
    fn assert_conflict(error: &CommandError, expected: u64, current: u64) {
        assert!(
            matches!(
                error,
                CommandError::Store(StoreError::Conflict { expected: e, current: c })
                    if *e == expected && *c == current
            ),
            "{error:?}"
        );
    }

    #[test]
    fn a_minted_creation_reads_nothing_and_an_existing_id_is_refused_by_the_append() {
        let service = service();
        let id = Uuid::now_v7();
        let created = execute(&service, id, Expected::Minted, register(id, "Ministry")).unwrap();
        assert_eq!(created.outcome.stream_version, 1);
        assert_eq!(
            service.store().loads(),
            0,
            "a minted id has no stream to read"
        );
        let again = execute(&service, id, Expected::Minted, register(id, "Other")).unwrap_err();
        assert_conflict(&again, 0, 1);
        assert_eq!(service.store().events().len(), 1);
    }

    #[test]
    fn an_expected_version_behind_the_stream_is_a_conflict_before_anything_is_appended() {
        let service = service();
        let id = Uuid::now_v7();
        execute(&service, id, Expected::Minted, register(id, "Ministry")).unwrap();
        execute(
            &service,
            id,
            Expected::Version(1),
            rename(id, "Ministry of Finance"),
        )
        .unwrap();
        let appends = service.store().appends();
        let stale = execute(&service, id, Expected::Version(1), rename(id, "Again")).unwrap_err();
        assert_conflict(&stale, 1, 2);
        assert_eq!(
            service.store().appends(),
            appends,
            "refused before the append"
        );
        let renamed = execute(&service, id, Expected::Version(2), rename(id, "Again")).unwrap();
        assert_eq!(renamed.outcome.stream_version, 3);
        assert_eq!(renamed.outcome.last_index, 2);
        assert_eq!(renamed.state.name.as_str(), "Again");
    }

    #[test]
    fn a_decision_on_a_stream_that_moved_on_is_a_stale_read_and_appends_nothing() {
        let service = service();
        let (one, other) = (Uuid::now_v7(), Uuid::now_v7());
        execute(&service, one, Expected::Minted, register(one, "One")).unwrap();
        execute(&service, other, Expected::Minted, register(other, "Other")).unwrap();
        // The decision looked at `other` at version 1; it moves on before the append.
        let read = StreamRead {
            stream: StreamKind::Organisation,
            stream_id: other,
            version: 1,
        };
        execute(
            &service,
            other,
            Expected::Version(1),
            rename(other, "Other, renamed"),
        )
        .unwrap();
        let error = run(service.execute::<Organisation>(
            one,
            Expected::Version(1),
            rename(one, "One, renamed"),
            metadata(),
            Given {
                reads: vec![read],
                ..Given::NOTHING
            },
        ))
        .unwrap_err();
        assert!(
            matches!(
                error,
                CommandError::Store(StoreError::StaleRead { read: stale, current: 2 }) if stale == read
            ),
            "{error:?}"
        );
        assert_eq!(service.store().events().len(), 3);
    }

    #[test]
    fn a_rejection_appends_nothing() {
        let service = service();
        let missing = Uuid::now_v7();
        let error = execute(
            &service,
            missing,
            Expected::Version(1),
            rename(missing, "Nobody"),
        )
        .unwrap_err();
        match error {
            CommandError::Rejected(rejection) => assert!(rejection.is_not_found(), "{rejection}"),
            other => panic!("expected a rejection, got {other:?}"),
        }
        assert_eq!(service.store().appends(), 0);
    }

    #[test]
    fn commands_executed_together_are_one_append_or_none() {
        let service = service();
        let id = Uuid::now_v7();
        let together = |commands| {
            run(service.execute_all::<Organisation>(
                id,
                Expected::Version(0),
                commands,
                metadata(),
                Given::NOTHING,
            ))
        };
        let committed = together(vec![
            register(id, "Ministry"),
            rename(id, "Ministry of Finance"),
        ])
        .unwrap();
        assert_eq!(committed.state.name.as_str(), "Ministry of Finance");
        assert_eq!(committed.outcome.stream_version, 2);
        assert_eq!(service.store().appends(), 1, "one append for both");

        // The second is refused (the organisation exists): the first change, which alone would
        // be accepted, is not appended either.
        let error = run(service.execute_all::<Organisation>(
            id,
            Expected::Version(2),
            vec![rename(id, "Ministry"), register(id, "Again")],
            metadata(),
            Given::NOTHING,
        ))
        .unwrap_err();
        assert!(matches!(error, CommandError::Rejected(_)), "{error:?}");
        assert_eq!(service.store().appends(), 1);
        assert_eq!(service.store().events().len(), 2);

        let nothing = run(service.execute_all::<Organisation>(
            id,
            Expected::Version(2),
            Vec::new(),
            metadata(),
            Given::NOTHING,
        ))
        .unwrap_err();
        assert!(
            matches!(nothing, CommandError::Undecodable { .. }),
            "{nothing:?}"
        );
    }

    #[test]
    fn an_append_under_a_key_a_retry_took_over_fails() {
        let service = service();
        let id = Uuid::now_v7();
        let claim = IdempotencyClaim {
            subject: "alice".to_owned(),
            key: "key-1".to_owned(),
            token: Uuid::now_v7(),
        };
        service.store().take_over(&claim);
        let error = run(service.execute::<Organisation>(
            id,
            Expected::Minted,
            register(id, "Ministry"),
            metadata(),
            Given {
                idempotency_claim: Some(claim),
                ..Given::NOTHING
            },
        ))
        .unwrap_err();
        assert!(
            matches!(
                error,
                CommandError::Store(StoreError::IdempotencyKeyTakenOver)
            ),
            "{error:?}"
        );
        assert!(service.store().events().is_empty());
    }

    /// Two services over one log, as two processes over one database: each keeps its own states.
    fn two_services() -> (
        CommandService<Arc<MemoryEventStore>>,
        CommandService<Arc<MemoryEventStore>>,
    ) {
        let store = Arc::new(MemoryEventStore::default());
        (
            CommandService::new(Arc::clone(&store)),
            CommandService::new(store),
        )
    }

    #[test]
    fn a_command_at_the_version_kept_reads_nothing_before_it_decides() {
        let service = service();
        let id = Uuid::now_v7();
        execute(&service, id, Expected::Minted, register(id, "Ministry")).unwrap();
        execute(
            &service,
            id,
            Expected::Version(1),
            rename(id, "Ministry of Finance"),
        )
        .unwrap();
        let renamed = execute(&service, id, Expected::Version(2), rename(id, "Treasury")).unwrap();
        assert_eq!(renamed.outcome.stream_version, 3);
        assert_eq!(renamed.state.name.as_str(), "Treasury");
        assert_eq!(
            service.store().loads(),
            0,
            "each command decided on the state kept"
        );
        let facts = run(service.organisation_facts(id)).unwrap().unwrap();
        assert_eq!(facts.version, 3);
        assert_eq!(service.store().loads(), 0, "facts from the state kept");
    }

    #[test]
    fn a_kept_state_another_process_moved_on_is_a_conflict_and_then_read_afresh() {
        let (here, elsewhere) = two_services();
        let id = Uuid::now_v7();
        execute(&here, id, Expected::Minted, register(id, "Ministry")).unwrap();
        execute(&elsewhere, id, Expected::Version(1), rename(id, "Treasury")).unwrap();
        // Here the state kept is version 1, which the client also read: the append refuses it.
        let stale = execute(&here, id, Expected::Version(1), rename(id, "Mint")).unwrap_err();
        assert_conflict(&stale, 1, 2);
        let loads = here.store().loads();
        let renamed = execute(&here, id, Expected::Version(2), rename(id, "Mint")).unwrap();
        assert_eq!(renamed.outcome.stream_version, 3);
        assert_eq!(
            here.store().loads(),
            loads + 1,
            "the forgotten state was read"
        );
        assert_eq!(here.store().events().len(), 3);
    }

    #[test]
    fn a_rejection_decided_on_a_kept_state_that_moved_on_is_the_conflict_a_fresh_read_gives() {
        let (here, elsewhere) = two_services();
        let id = Uuid::now_v7();
        let reactivate = || OrganisationCommand::Reactivate { id };
        execute(&here, id, Expected::Minted, register(id, "Ministry")).unwrap();
        let deactivate = OrganisationCommand::Deactivate { id };
        execute(&elsewhere, id, Expected::Version(1), deactivate).unwrap();
        // The state kept here (version 1) is active, so reactivating it would be refused; but the
        // stream is at 2, and a command on version 1 is a conflict first.
        let answer = execute(&here, id, Expected::Version(1), reactivate()).unwrap_err();
        assert_conflict(&answer, 1, 2);
        execute(&here, id, Expected::Version(2), reactivate()).unwrap();
        // On a kept state that is current, the rejection stands.
        let refused = execute(&here, id, Expected::Version(3), reactivate()).unwrap_err();
        assert!(matches!(refused, CommandError::Rejected(_)), "{refused:?}");
    }

    #[test]
    fn facts_kept_that_another_process_moved_on_are_a_stale_read_and_then_read_afresh() {
        let (here, elsewhere) = two_services();
        let (x, y) = (Uuid::now_v7(), Uuid::now_v7());
        execute(&here, x, Expected::Minted, register(x, "Ministry")).unwrap();
        execute(&here, y, Expected::Minted, register(y, "Auditor")).unwrap();
        execute(
            &elsewhere,
            y,
            Expected::Version(1),
            rename(y, "Audit Board"),
        )
        .unwrap();
        let kept = run(here.organisation_facts(y)).unwrap().unwrap();
        assert_eq!(kept.version, 1, "the facts kept here");
        let given = Given {
            reads: vec![kept.read()],
            idempotency_claim: None,
        };
        let stale = execute_given(&here, x, Expected::Version(1), rename(x, "Treasury"), given)
            .unwrap_err();
        assert!(
            matches!(
                stale,
                CommandError::Store(StoreError::StaleRead { current: 2, .. })
            ),
            "{stale:?}"
        );
        let fresh = run(here.organisation_facts(y)).unwrap().unwrap();
        assert_eq!(
            fresh.version, 2,
            "the stale read's stream was forgotten and read again"
        );
        let given = Given {
            reads: vec![fresh.read()],
            idempotency_claim: None,
        };
        execute_given(&here, x, Expected::Version(1), rename(x, "Treasury"), given).unwrap();
    }
}
