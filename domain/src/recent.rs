//! The aggregate states a command service read or appended lately, kept in memory, so that the
//! next command on the same aggregate, or one that reads its facts, need not read it again.
//!
//! A kept state is a hint, never the truth: every use of one is checked where it matters, in the
//! append's transaction. A command decided on a kept state appends with the version it was kept
//! at, so if the stream moved on meanwhile (another process, or another `amanah` replica, wrote
//! it) the append is a conflict, exactly as for a state just read. Facts of another aggregate
//! taken from a kept state carry their version as the command's read, and an append finds them
//! stale in the same way. The service forgets a state whenever the store reports it moved on.
//!
//! The memory is bounded: states live in two generations of at most half of [`RECENT_STATES`]
//! each. When the young one is full it becomes the old one and the old one is dropped; a state
//! found in the old generation moves back to the young one. So the states used lately stay, at
//! the price of one hash lookup more for those not used for a while.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use uuid::Uuid;

use crate::aggregate::{Aggregate, StreamKind};

/// How many aggregates' states are kept at most. A project's state is about 2 KB in memory: the
/// whole is a few megabytes.
pub const RECENT_STATES: usize = 4096;

/// The recent states of every kind of aggregate (see the module documentation).
#[derive(Default)]
pub struct RecentStates {
    generations: Mutex<Generations>,
}

impl std::fmt::Debug for RecentStates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let generations = self.lock();
        f.debug_struct("RecentStates")
            .field("young", &generations.young.len())
            .field("old", &generations.old.len())
            .finish()
    }
}

type Key = (StreamKind, Uuid);

#[derive(Default)]
struct Generations {
    young: HashMap<Key, Recent>,
    old: HashMap<Key, Recent>,
}

/// A state of some aggregate type (the stream kind of its key says which) and its version.
#[derive(Clone)]
struct Recent {
    version: u64,
    state: Arc<dyn Any + Send + Sync>,
}

impl Generations {
    /// Keeps `recent` under `key` in the young generation, which becomes the old one first when
    /// it is full.
    fn keep(&mut self, key: Key, recent: Recent) {
        if self.young.len() >= RECENT_STATES / 2 && !self.young.contains_key(&key) {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(key, recent);
    }
}

impl RecentStates {
    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        // A panic while the lock was held cannot leave the maps half-changed in a way that
        // matters: every entry is a whole state and its version.
        self.generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The state of aggregate `id` kept lately, and its version: the kept one itself, not a copy
    /// (a caller that only looks at it copies nothing).
    #[must_use]
    pub fn get<A: Aggregate>(&self, id: Uuid) -> Option<(Arc<A>, u64)> {
        let key = (A::STREAM, id);
        let recent = {
            let mut generations = self.lock();
            match generations.young.get(&key) {
                Some(recent) => recent.clone(),
                None => {
                    let recent = generations.old.remove(&key)?;
                    generations.keep(key, recent.clone());
                    recent
                }
            }
        };
        let state = recent.state.downcast::<A>().ok()?;
        Some((state, recent.version))
    }

    /// Keeps `state`, aggregate `id` at `version`, unless a later version of it is kept already
    /// (a read that started before an append may end after it).
    pub fn put<A: Aggregate>(&self, id: Uuid, version: u64, state: A) {
        let key = (A::STREAM, id);
        let mut generations = self.lock();
        let kept = generations
            .young
            .get(&key)
            .or_else(|| generations.old.get(&key))
            .map(|recent| recent.version);
        if kept.is_some_and(|kept| kept > version) {
            return;
        }
        generations.old.remove(&key);
        generations.keep(
            key,
            Recent {
                version,
                state: Arc::new(state),
            },
        );
    }

    /// Forgets what is kept of `stream` `id`: the store said it is not at the kept version.
    pub fn forget(&self, stream: StreamKind, id: Uuid) {
        let key = (stream, id);
        let mut generations = self.lock();
        generations.young.remove(&key);
        generations.old.remove(&key);
    }

    /// How many states are kept (for the tests of the bound).
    #[cfg(test)]
    fn len(&self) -> usize {
        let generations = self.lock();
        generations.young.len() + generations.old.len()
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use super::*;
    use crate::codelists::OrganisationType;
    use crate::organisation::Organisation;
    use crate::values::Name;

    fn organisation(id: Uuid, name: &str, version: u64) -> Organisation {
        Organisation {
            id,
            org_ref: None,
            name: Name::parse(name).unwrap(),
            acronym: None,
            organisation_type: OrganisationType::Government,
            country: None,
            website: None,
            deactivated: false,
            version,
        }
    }

    #[test]
    fn a_kept_state_comes_back_at_its_version_and_a_later_one_is_not_replaced_by_an_earlier() {
        let recent = RecentStates::default();
        let id = Uuid::now_v7();
        assert!(recent.get::<Organisation>(id).is_none());
        recent.put(id, 2, organisation(id, "Ministry", 2));
        recent.put(id, 1, organisation(id, "Older", 1));
        let (state, version) = recent.get::<Organisation>(id).unwrap();
        assert_eq!((state.name.as_str(), version), ("Ministry", 2));
        recent.put(id, 3, organisation(id, "Renamed", 3));
        assert_eq!(recent.get::<Organisation>(id).unwrap().1, 3);
        recent.forget(StreamKind::Organisation, id);
        assert!(recent.get::<Organisation>(id).is_none());
    }

    #[test]
    fn the_states_kept_are_bounded_and_those_used_lately_stay() {
        let recent = RecentStates::default();
        let first = Uuid::now_v7();
        recent.put(first, 1, organisation(first, "First", 1));
        for n in 0..(RECENT_STATES * 2) {
            let id = Uuid::now_v7();
            recent.put(id, 1, organisation(id, "Other", 1));
            // The first one is used all along: it moves back to the young generation.
            if n % (RECENT_STATES / 4) == 0 {
                assert!(recent.get::<Organisation>(first).is_some(), "at {n}");
            }
            assert!(recent.len() <= RECENT_STATES, "{} kept", recent.len());
        }
        assert!(recent.get::<Organisation>(first).is_some());
        let unused = Uuid::now_v7();
        recent.put(unused, 1, organisation(unused, "Unused", 1));
        for _ in 0..RECENT_STATES {
            let id = Uuid::now_v7();
            recent.put(id, 1, organisation(id, "Other", 1));
        }
        assert!(
            recent.get::<Organisation>(unused).is_none(),
            "a state not used for a whole generation's worth of others is dropped"
        );
    }
}
