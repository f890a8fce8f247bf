//! Response keys in the order of the selection.
//!
//! The GraphQL specification asks serialisations that can keep order (JSON can) to give a
//! response's entries in the order of the selection set, and clients and snapshot tests rely on
//! it. async-graphql resolves the fields of a query concurrently and collects them in the order
//! they finish, so `{ projects { … } memberStates { … } }` may come back with `memberStates`
//! first. [`reorder`] puts every object of a response back in selection order: each key where
//! its response name first occurs in the selection (fields merged from fragments included), and
//! each nested object by the merged selections of its field. It costs one pass over the response.

use std::collections::HashMap;

use async_graphql::Value;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned};

/// Reorders `data`, the result of `operation_name` (or the document's only operation), in place.
pub fn reorder(data: &mut Value, document: &ExecutableDocument, operation_name: Option<&str>) {
    let operation = match &document.operations {
        DocumentOperations::Single(operation) => Some(operation),
        DocumentOperations::Multiple(operations) => match operation_name {
            Some(name) => operations.get(name),
            None if operations.len() == 1 => operations.values().next(),
            None => None,
        },
    };
    let Some(operation) = operation else {
        return;
    };
    reorder_value(
        data,
        &[&operation.node.selection_set.node],
        &document.fragments,
    );
}

/// Orders `value` by the selections that produced it (one field may be selected several times,
/// each with a selection set of its own; together they make the object).
fn reorder_value(
    value: &mut Value,
    selections: &[&SelectionSet],
    fragments: &HashMap<Name, Positioned<FragmentDefinition>>,
) {
    match value {
        Value::List(items) => {
            for item in items {
                reorder_value(item, selections, fragments);
            }
        }
        Value::Object(object) => {
            // Response names in the order they first occur, each with all its sub-selections.
            let mut order: Vec<(&str, Vec<&SelectionSet>)> = Vec::new();
            for selection_set in selections {
                collect(selection_set, fragments, &mut order, &mut Vec::new());
            }
            let in_order = object.len() == order.len()
                && object
                    .keys()
                    .zip(&order)
                    .all(|(name, (key, _))| name.as_str() == *key);
            if in_order {
                for ((_, entry), (_, nested)) in object.iter_mut().zip(&order) {
                    reorder_value(entry, nested, fragments);
                }
                return;
            }
            let mut unordered = std::mem::take(object);
            for (key, nested) in order {
                // Taken out in O(1); the rest's order does not matter, it is rebuilt here.
                if let Some((name, mut entry)) = unordered.swap_remove_entry(key) {
                    reorder_value(&mut entry, &nested, fragments);
                    object.insert(name, entry);
                }
            }
            // Anything the selection does not name (never, for a valid response) stays, last.
            object.extend(unordered);
        }
        _ => {}
    }
}

/// Appends the response names of `selection_set` to `order`, fragments expanded; `visiting`
/// guards against a fragment spread within itself (validation refuses it, but a walk must
/// still end).
fn collect<'a>(
    selection_set: &'a SelectionSet,
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    order: &mut Vec<(&'a str, Vec<&'a SelectionSet>)>,
    visiting: &mut Vec<&'a str>,
) {
    for selection in &selection_set.items {
        match &selection.node {
            Selection::Field(field) => {
                let key = field
                    .node
                    .alias
                    .as_ref()
                    .map_or(field.node.name.node.as_str(), |alias| alias.node.as_str());
                let nested = &field.node.selection_set.node;
                match order.iter_mut().find(|(known, _)| *known == key) {
                    Some((_, selections)) => selections.push(nested),
                    None => order.push((key, vec![nested])),
                }
            }
            Selection::InlineFragment(fragment) => {
                collect(
                    &fragment.node.selection_set.node,
                    fragments,
                    order,
                    visiting,
                );
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                if visiting.contains(&name) {
                    continue;
                }
                if let Some(fragment) = fragments.get(name) {
                    visiting.push(name);
                    collect(
                        &fragment.node.selection_set.node,
                        fragments,
                        order,
                        visiting,
                    );
                    visiting.pop();
                }
            }
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use super::*;

    fn reordered(query: &str, operation: Option<&str>, data: serde_json::Value) -> String {
        let document = async_graphql::parser::parse_query(query).unwrap();
        let mut value = Value::from_json(data).unwrap();
        reorder(&mut value, &document, operation);
        // Serialised as it is: `serde_json::Value` would sort the keys.
        serde_json::to_string(&value).unwrap()
    }

    #[test]
    fn keys_follow_the_selection_at_every_level() {
        let query = "{ projects { totalCount edges { node { title id } } } memberStates { joinedOn country { code } } }";
        let data = serde_json::json!({
            "memberStates": [{ "country": { "code": "ID" }, "joinedOn": "1967-08-08" }],
            "projects": { "edges": [{ "node": { "id": "1", "title": "T" } }], "totalCount": 1 },
        });
        assert_eq!(
            reordered(query, None, data),
            r#"{"projects":{"totalCount":1,"edges":[{"node":{"title":"T","id":"1"}}]},"memberStates":[{"joinedOn":"1967-08-08","country":{"code":"ID"}}]}"#
        );
    }

    #[test]
    fn aliases_fragments_and_repeated_fields_are_placed_where_they_first_occur() {
        let query = "query A { a: x { q } ...F ... on Query { z } x { p } } fragment F on Query { y w: x { r } } query B { y }";
        let data = serde_json::json!({
            "z": 3, "x": { "r": 5, "p": 4 }, "y": 2, "w": { "r": 6 }, "a": { "q": 1 },
        });
        assert_eq!(
            reordered(query, Some("A"), data),
            r#"{"a":{"q":1},"y":2,"w":{"r":6},"z":3,"x":{"p":4,"r":5}}"#
        );
    }

    #[test]
    fn a_missing_operation_leaves_the_data_as_it_is() {
        let data = serde_json::json!({ "b": 1, "a": 2 });
        let expected = Value::from_json(data.clone())
            .unwrap()
            .into_json()
            .unwrap()
            .to_string();
        assert_eq!(reordered("query A { a b }", Some("C"), data), expected);
    }
}
