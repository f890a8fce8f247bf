//! Read plans: the frontend's hot list and project queries answered without async-graphql's
//! per-field executor.
//!
//! async-graphql resolves every field of a response as a future of its own and builds the
//! response value field by field; on the frontend's list page (20 projects, their participating
//! organisations, the first five activities of each) that is ≈ 800 fields, and it was most of the
//! server's time per request (BENCHMARKS.md §5). The data itself is three statements. A plan reads
//! the same rows with the same read-model queries ([`amanah_domain::query::ReadModel`]), checks
//! arguments with the same functions (`KeysetRequest`, `paginate`, `project_query`,
//! `activity_query`), builds the small value types with the resolvers' own conversions
//! (`Budget::from`, `Money::from`, …), and writes the response's values straight from them, in
//! selection order.
//!
//! **When a plan answers.** Only a query whose document async-graphql has already executed once
//! in this process: its validation and depth limit depend on the document alone, so a document
//! that passed them once passes them always ([`ReadPlans::executed`] records it). The complexity
//! limit also depends on the `first`/`last` values a request passes; the plan computes the cost
//! as async-graphql does ([`compile`]) and leaves a request over the limit to it. A plan covers
//! the only operation of a document, whose every field is one [`compile`] knows:
//!
//! * `projects` with its pagination arguments, `filter` and `orderBy`, and `project(id:)`;
//! * a project's scalars, participating organisations (with their organisations' scalars),
//!   budgets, transactions (paginated), documents, sectors and recipient countries, and its
//!   `activities` page (with its `filter`);
//! * an activity's scalars and partners (with their organisations' scalars);
//! * connections' `edges`, `cursor`, `node`, `pageInfo` and `totalCount`, and `__typename`
//!   anywhere.
//!
//! `@skip`/`@include`, fragments on the field's own type and aliases are followed. Anything else
//! (an `asOf` argument, another field, an interface fragment, a variable of the wrong type, a
//! caller who may not read the portfolio, an argument the checks refuse, a store failure or a
//! missing reference) makes the plan step aside, and async-graphql answers as it always did,
//! with its errors. Stepping aside after reading costs the reads, never a different answer.
//!
//! **What it reads.** The same `ReadModel` queries and batch loaders as the resolvers
//! ([`super::references`]; concurrent requests share their statements), with one difference: a
//! page of projects whose selection needs nothing beyond the project's columns is read as
//! summaries (`ReadModel::project_summaries`, participations by their own loader), and so are the
//! activities' pages (`ReadModel::activity_summaries_of_projects`), not as each aggregate's kept
//! state, whose size grows with its budgets, transactions and partners.
//!
//! **The same answer.** A plan's response equals async-graphql's for the same request byte for
//! byte; the module's tests run random selections over these types through both and compare
//! them.
//!
//! **Answers kept while the log has not grown** ([`ResponseCache`]). What a plan answers depends
//! on the document, the operation, the variables and the read model, and on the caller only
//! through whether it may read the portfolio (checked on every request). The read model changes
//! only in the transactions that append to the log, so the log's size is its version. Each
//! request reads that size from the database, by a read that starts after the request arrived (so
//! a write committed by any process or replica before the request is seen; concurrent requests
//! share one such read, [`SharedSize`]), and answers from memory when the same request was
//! answered at that size. An answer computed after reading size s is kept under s: it reflects
//! the read model at s or later, never earlier, so no request gets an answer older than the log
//! it read. A larger size starts a new generation and drops the old one.

mod compile;
mod run;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{Request, Response, Value};
use tracing::Instrument as _;

use crate::state::ApiState;

pub use compile::{Plan, compile};

/// How many documents [`ReadPlans`] remembers as executed; later ones run as before.
pub const MAX_DOCUMENTS: usize = 1024;

/// The longest document [`ReadPlans`] remembers (longer ones run as before): with
/// [`MAX_DOCUMENTS`], the memory a stream of distinct documents can make it hold is bounded
/// (8 MiB).
pub const MAX_DOCUMENT_BYTES: usize = 8 * 1024;

/// The plans of one schema: the state they read, and the documents async-graphql has executed.
pub struct ReadPlans {
    state: ApiState,
    /// The batch loaders the plans read through, as the resolvers do: the references of
    /// concurrent requests are read together ([`super::references`]).
    loaders: run::Loaders,
    /// Each document of a query async-graphql executed (it validated it), with the operation
    /// names it was executed under.
    executed: RwLock<HashMap<String, Vec<Option<String>>>>,
    /// How many requests a plan answered (`/metrics`).
    answered: AtomicU64,
    /// The answers kept while the log has not grown; `None` when turned off.
    cache: Option<ResponseCache>,
}

/// The log's size for the requests of the cache, read by one statement for every request that
/// waits for it. A request never joins a read already under way: it waits for the next one, which
/// starts after it arrived, so it sees every write committed before it (read-your-writes, across
/// replicas and processes). Under load one read answers the requests that came during the
/// previous one. The read runs in a waiting request's own task (its statement counts for that
/// request): the first to arrive reads for everyone waiting, then hands the next read to the
/// first who arrived meanwhile.
struct SharedSize {
    state: Mutex<SizeWaiters>,
}

#[derive(Default)]
struct SizeWaiters {
    /// Whether a request is reading, or has been told to.
    reading: bool,
    /// The requests waiting for the next read.
    next: std::collections::VecDeque<tokio::sync::oneshot::Sender<Turn>>,
}

/// What a waiting request hears.
enum Turn {
    /// The size a read that started after it arrived found (`None`: it could not be read).
    Size(Option<u64>),
    /// Read it, for everyone waiting.
    Lead,
}

impl SharedSize {
    fn new() -> Self {
        Self {
            state: Mutex::default(),
        }
    }

    /// The log's size as a read that started after this call reads it; `None` when it cannot be
    /// read.
    async fn read(&self, store: &amanah_infra::SqlEventStore) -> Option<u64> {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let lead = {
            let mut waiters = self.lock();
            waiters.next.push_back(sender);
            !std::mem::replace(&mut waiters.reading, true)
        };
        if !lead {
            let mut waiting = Waiting {
                shared: self,
                receiver: Some(receiver),
            };
            let turn = match waiting.receiver.as_mut() {
                Some(receiver) => receiver.await,
                None => return None,
            };
            waiting.receiver = None;
            match turn {
                Ok(Turn::Size(size)) => return size,
                Ok(Turn::Lead) => {}
                // The reader went away without answering: read alone.
                Err(_) => return store.size().await.ok(),
            }
        }
        // Hands the next read on when done, or when this request is dropped half way.
        let _leading = Leading(self);
        let batch = std::mem::take(&mut self.lock().next);
        let size = store.size().await.ok();
        for waiter in batch {
            let _ = waiter.send(Turn::Size(size));
        }
        size
    }

    /// Tells the first request still waiting to read next, or notes that nobody reads.
    fn hand_off(&self) {
        let mut waiters = self.lock();
        while let Some(first) = waiters.next.pop_front() {
            if first.send(Turn::Lead).is_ok() {
                return;
            }
        }
        waiters.reading = false;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SizeWaiters> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A request waiting for a read; dropped after it was told to lead, it hands the lead on.
struct Waiting<'a> {
    shared: &'a SharedSize,
    receiver: Option<tokio::sync::oneshot::Receiver<Turn>>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Some(mut receiver) = self.receiver.take()
            && let Ok(Turn::Lead) = receiver.try_recv()
        {
            self.shared.hand_off();
        }
    }
}

/// The reading request: whatever happens to it, the next read is handed on.
struct Leading<'a>(&'a SharedSize);

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        self.0.hand_off();
    }
}

/// The memory a kept answer takes: each value's own size, and what its strings, lists and
/// objects hold on the heap (what the budget counts).
fn memory_of(value: &Value) -> usize {
    let own = std::mem::size_of::<Value>();
    own + match value {
        Value::String(text) => text.capacity(),
        Value::Enum(name) => name.len(),
        Value::Binary(bytes) => bytes.len(),
        Value::List(items) => items.iter().map(memory_of).sum::<usize>(),
        Value::Object(fields) => fields
            .iter()
            // The key, and the map's own entry (hash and index).
            .map(|(name, value)| name.len() + 2 * std::mem::size_of::<usize>() + memory_of(value))
            .sum::<usize>(),
        Value::Null | Value::Number(_) | Value::Boolean(_) => 0,
    }
}

/// A request as the cache knows it: document, operation name, variables (as JSON).
type CacheKey = (String, Option<String>, String);

/// The plans' answers at one log size, bounded in bytes (see the module documentation).
pub struct ResponseCache {
    budget: usize,
    size: SharedSize,
    generation: Mutex<Generation>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Default)]
struct Generation {
    /// The log size the answers were computed at (or after).
    size: u64,
    /// The memory they take, as counted against the budget ([`memory_of`]).
    bytes: usize,
    answers: HashMap<CacheKey, Value>,
}

impl ResponseCache {
    /// A cache of at most `budget` bytes of answers (the memory they take, [`memory_of`]).
    #[must_use]
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            size: SharedSize::new(),
            generation: Mutex::default(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Requests answered from memory, and requests a plan answered with the cache on but
    /// without a kept answer.
    #[must_use]
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    fn get(&self, size: u64, key: &CacheKey) -> Option<Value> {
        let generation = self
            .generation
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let found = (generation.size == size)
            .then(|| generation.answers.get(key).cloned())
            .flatten();
        drop(generation);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    fn put(&self, size: u64, key: CacheKey, data: &Value) {
        let bytes = memory_of(data) + key.0.len() + key.2.len();
        let mut generation = self
            .generation
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if size > generation.size {
            *generation = Generation {
                size,
                ..Generation::default()
            };
        }
        if size < generation.size
            || generation.bytes + bytes > self.budget
            || generation.answers.contains_key(&key)
        {
            return;
        }
        generation.bytes += bytes;
        generation.answers.insert(key, data.clone());
    }
}

impl ReadPlans {
    #[must_use]
    pub fn new(state: ApiState) -> Self {
        let budget = state
            .config
            .graphql
            .response_cache_mb
            .saturating_mul(1024 * 1024);
        Self {
            loaders: run::Loaders::new(&state),
            cache: (budget > 0)
                .then(|| ResponseCache::new(usize::try_from(budget).unwrap_or(usize::MAX))),
            state,
            executed: RwLock::default(),
            answered: AtomicU64::new(0),
        }
    }

    /// The answers kept while the log has not grown, when the cache is on.
    #[must_use]
    pub fn cache(&self) -> Option<&ResponseCache> {
        self.cache.as_ref()
    }

    /// How many requests a plan has answered.
    #[must_use]
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    fn was_executed(&self, request: &Request) -> bool {
        let Ok(executed) = self.executed.read() else {
            return false;
        };
        executed.get(request.query.as_str()).is_some_and(|names| {
            names
                .iter()
                .any(|name| name.as_deref() == request.operation_name.as_deref())
        })
    }

    /// Records that async-graphql executed `query` (`operation_name` of it): it passed validation
    /// and the depth limit.
    pub fn executed(&self, operation_name: Option<String>, query: String) {
        if query.len() > MAX_DOCUMENT_BYTES {
            return;
        }
        let Ok(mut executed) = self.executed.write() else {
            return;
        };
        if executed.len() >= MAX_DOCUMENTS && !executed.contains_key(query.as_str()) {
            return;
        }
        let names = executed.entry(query).or_default();
        if !names.contains(&operation_name) {
            names.push(operation_name);
        }
    }

    /// Whether `request`'s document should be recorded after it executes: a query, not yet
    /// recorded.
    #[must_use]
    pub fn wants_record(&self, request: &Request, operation_type: Option<OperationType>) -> bool {
        operation_type == Some(OperationType::Query)
            && request.query.len() <= MAX_DOCUMENT_BYTES
            && !self.was_executed(request)
    }

    /// The response to `request` (whose parsed `document` passed the checks), when a plan covers
    /// it; `None` when async-graphql should answer (see the module documentation).
    pub async fn answer(
        &self,
        request: &Request,
        document: &ExecutableDocument,
    ) -> Option<Response> {
        let operation = match &document.operations {
            DocumentOperations::Single(operation) => operation,
            // A named operation: the document's only one.
            DocumentOperations::Multiple(operations) if operations.len() == 1 => {
                let (name, operation) = operations.iter().next()?;
                if request
                    .operation_name
                    .as_deref()
                    .is_some_and(|wanted| wanted != name.as_str())
                {
                    return None;
                }
                operation
            }
            DocumentOperations::Multiple(_) => return None,
        };
        if operation.node.ty != OperationType::Query || !self.was_executed(request) {
            return None;
        }
        // A kept answer came from this same document, operation and variables, which compile to
        // the same plan: on a hit the plan is not compiled again.
        let kept = match &self.cache {
            Some(cache) if run::may_read(&self.state, &request.data) => {
                // Variables that cannot be written as a key, or a size that cannot be read, leave
                // the cache out of this request.
                let variables = serde_json::to_string(&request.variables).ok();
                let size = match variables {
                    Some(_) => cache.size.read(self.state.commands.store()).await,
                    None => None,
                };
                size.zip(variables).map(|(size, variables)| {
                    let key = (
                        request.query.clone(),
                        request.operation_name.clone(),
                        variables,
                    );
                    (cache, size, key)
                })
            }
            _ => None,
        };
        if let Some((cache, size, key)) = &kept
            && let Some(data) = cache.get(*size, key)
        {
            self.answered.fetch_add(1, Ordering::Relaxed);
            return Some(Response::new(data));
        }
        let plan = compile(
            document,
            &operation.node,
            &request.variables,
            self.state.config.limits.complexity,
        )?;
        let span = tracing::info_span!("graphql.plan");
        let data = run::run(&plan, &self.state, &self.loaders, &request.data)
            .instrument(span)
            .await?;
        self.answered.fetch_add(1, Ordering::Relaxed);
        if let Some((cache, size, key)) = kept {
            cache.put(size, key, &data);
        }
        Some(Response::new(data))
    }
}
