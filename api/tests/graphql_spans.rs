//! The spans a GraphQL request opens: its phases and one per root field, not one per field.
//!
//! A test binary of its own, with this one test: `tracing` caches each call site's interest for
//! the whole process, and a test on another thread without a subscriber can cache `never` for
//! a call site while this test is registering its subscriber, so that the spans it looks for are
//! not created. Alone in its process, it races nobody.

#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use std::sync::{Arc, Mutex};

use amanah_api::config::Limits;
use amanah_api::graphql::execution::{Catalogued, Checks, Traced};
use amanah_api::request_id::RequestId;
use async_graphql::{EmptyMutation, EmptySubscription, Object, Request, Schema};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt as _};

struct Query;

#[Object]
impl Query {
    async fn ok(&self) -> i32 {
        1
    }

    async fn nested(&self) -> Query {
        Query
    }
}

/// The spans opened, as (name, `graphql.field.path`).
#[derive(Clone, Default)]
struct Opened(Arc<Mutex<Vec<(String, String)>>>);

struct PathOf(String);

impl Visit for PathOf {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "graphql.field.path" {
            value.clone_into(&mut self.0);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "graphql.field.path" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Opened {
    fn on_new_span(
        &self,
        attributes: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: Context<'_, S>,
    ) {
        let mut path = PathOf(String::new());
        attributes.record(&mut path);
        self.0
            .lock()
            .unwrap()
            .push((attributes.metadata().name().to_owned(), path.0));
    }
}

#[tokio::test]
async fn spans_cover_the_phases_and_the_root_fields_not_every_field() {
    let opened = Opened::default();
    let subscriber = tracing_subscriber::registry().with(opened.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    let schema = Catalogued::new(
        Schema::build(Traced(Query), EmptyMutation, EmptySubscription).finish(),
        Checks {
            max_aliases: 2,
            document: Limits::default().document(),
            persisted: Arc::default(),
        },
    );
    let response = schema
        .execute(
            Request::new("{ ok second: ok nested { ok nested { ok } } }")
                .data(RequestId::parse("req-42").unwrap()),
        )
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let opened = opened.0.lock().unwrap().clone();
    let names: Vec<&str> = opened.iter().map(|(name, _)| name.as_str()).collect();
    for phase in ["graphql.request", "graphql.parse", "graphql.execute"] {
        assert!(names.contains(&phase), "{phase} in {names:?}");
    }
    let mut resolved: Vec<&str> = opened
        .iter()
        .filter(|(name, _)| name == "graphql.resolve")
        .map(|(_, path)| path.as_str())
        .collect();
    resolved.sort_unstable();
    // The three root fields (by response key), not the nested ones.
    assert_eq!(resolved, ["nested", "ok", "second"], "{opened:?}");
}
