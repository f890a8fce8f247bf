//! [`ResolverSpans`]: the tracing spans of a GraphQL operation — `graphql.request`, `graphql.parse`,
//! `graphql.validation`, `graphql.execute`, and one `graphql.resolve` span per resolver that
//! reads a list or an entry point: the root fields and every connection (`…Connection`).
//! (References to organisations and projects are read in batches by the loaders, whose
//! statements the request's SQL count and log line show.)
//!
//! async-graphql's own `Tracing` extension opens a span for every field that returns an object —
//! hundreds for a list page, each allocated, filtered and formatted — and stringifies the whole
//! document into the parse span; on the frontend list page that was about a sixth of the
//! server's time. The spans kept here are the ones that show where a request's time goes: the
//! fields that read, beside the SQL statements and the append batches of the store.

use std::sync::Arc;

use async_graphql::{
    Response, ServerError, ServerResult, ValidationResult, Value, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextRequest,
        NextResolve, NextValidation, ResolveInfo,
    },
    parser::types::ExecutableDocument,
    registry::MetaTypeName,
};
use tracing::Instrument as _;

use crate::request_id::RequestId;

/// Installs the spans on a schema.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResolverSpans;

impl ExtensionFactory for ResolverSpans {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ResolverSpansExtension)
    }
}

struct ResolverSpansExtension;

/// Whether a resolver reads something worth a span (see the module documentation).
fn reads(info: &ResolveInfo<'_>) -> bool {
    if info.is_for_introspection {
        return false;
    }
    info.path_node.parent.is_none()
        || MetaTypeName::concrete_typename(info.return_type).ends_with("Connection")
}

#[async_graphql::async_trait::async_trait]
impl Extension for ResolverSpansExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        // The request's data (its id) is attached after this hook starts: `parse_query` records it.
        next.run(ctx)
            .instrument(tracing::info_span!(
                "graphql.request",
                request_id = tracing::field::Empty
            ))
            .await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        // Still inside `graphql.request`, which learns its request id here.
        if let Some(request_id) = ctx.data_opt::<RequestId>() {
            tracing::Span::current().record("request_id", request_id.as_str());
        }
        next.run(ctx, query, variables)
            .instrument(tracing::info_span!("graphql.parse"))
            .await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx)
            .instrument(tracing::info_span!("graphql.validation"))
            .await
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        next.run(ctx, operation_name)
            .instrument(tracing::info_span!(
                "graphql.execute",
                graphql.operation.name = operation_name.unwrap_or_default()
            ))
            .await
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if !reads(&info) {
            return next.run(ctx, info).await;
        }
        let span = tracing::info_span!(
            "graphql.resolve",
            graphql.field.path = %info.path_node,
            graphql.field.parent_type = %info.parent_type,
            graphql.field.type = %info.return_type,
        );
        next.run(ctx, info).instrument(span).await
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use std::sync::Mutex;

    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema, SimpleObject};
    use tracing::field::{Field, Visit};
    use tracing_subscriber::layer::{Context, SubscriberExt as _};

    use super::*;

    /// The spans opened, as (name, `graphql.field.path`).
    #[derive(Clone, Default)]
    struct Opened(Arc<Mutex<Vec<(String, String)>>>);

    struct PathOf(String);

    impl Visit for PathOf {
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

    #[derive(SimpleObject)]
    struct ItemConnection {
        total_count: u64,
        items: Vec<Item>,
    }

    #[derive(SimpleObject, Clone)]
    struct Item {
        name: String,
    }

    struct Query;

    #[Object]
    impl Query {
        async fn items(&self) -> ItemConnection {
            ItemConnection {
                total_count: 1,
                items: vec![Item {
                    name: "one".to_owned(),
                }],
            }
        }

        async fn version(&self) -> &str {
            "1"
        }
    }

    #[tokio::test]
    async fn spans_cover_the_phases_roots_and_connections_not_every_field() {
        let opened = Opened::default();
        let subscriber = tracing_subscriber::registry().with(opened.clone());
        let schema = Schema::build(Query, EmptyMutation, EmptySubscription)
            .extension(ResolverSpans)
            .finish();
        let response = {
            let _guard = tracing::subscriber::set_default(subscriber);
            schema
                .execute("{ version items { totalCount items { name } } }")
                .await
        };
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        let opened = opened.0.lock().unwrap().clone();
        let names: Vec<&str> = opened.iter().map(|(name, _)| name.as_str()).collect();
        for phase in [
            "graphql.request",
            "graphql.parse",
            "graphql.validation",
            "graphql.execute",
        ] {
            assert!(names.contains(&phase), "{phase} in {names:?}");
        }
        let mut resolved: Vec<&str> = opened
            .iter()
            .filter(|(name, _)| name == "graphql.resolve")
            .map(|(_, path)| path.as_str())
            .collect();
        resolved.sort_unstable();
        // Both root fields, not the connection's list or the items' names.
        assert_eq!(resolved, ["items", "version"], "{opened:?}");
    }
}
