//! The one bound on list inputs: no list a client sends — in an argument written into the
//! document or in a variable, at any depth of an input object — holds more than
//! [`MAX_LIST_ITEMS`] items.
//!
//! Every list argument of the schema is a filter (`status`, `recipientCountry`, …) or a part of a
//! mutation's input (`sectors`, `budgets`, `participatingOrganisations`, …); none needs more than
//! a hundred items, and without a bound a client could send tens of thousands and make the
//! server bind them all into one SQL statement (SQLite refuses more than 32,766 variables, which
//! surfaced as an internal error). The check runs once per request, before execution, in linear
//! time, so it also covers lists that a future field adds. A list over the bound is
//! `BAD_USER_INPUT`, with `extensions.field` naming the argument (`filter.status`) or the
//! variable (`$filter.status`) and the position of the list inside it.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Positioned, Variables};
use async_graphql_value::{ConstValue, Value};

/// Most items in one list input.
pub const MAX_LIST_ITEMS: usize = 100;

/// A list over the bound: where it is, and its length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OversizedList {
    /// `filter.status`, `input.sectors`, `$filter.status`, `$ids`.
    pub field: String,
    pub items: usize,
}

impl OversizedList {
    /// The client-facing message.
    #[must_use]
    pub fn message(&self) -> String {
        format!(
            "{} holds {} items; a list holds at most {MAX_LIST_ITEMS}.",
            self.field, self.items
        )
    }
}

/// The first list over [`MAX_LIST_ITEMS`] among the variables and the document's arguments.
///
/// # Errors
/// The [`OversizedList`].
pub fn check(document: &ExecutableDocument, variables: &Variables) -> Result<(), OversizedList> {
    for (name, value) in variables.iter() {
        in_const(value, &mut format!("${name}"))?;
    }
    for (_, operation) in document.operations.iter() {
        in_selection_set(&operation.node.selection_set.node)?;
    }
    for fragment in document.fragments.values() {
        in_selection_set(&fragment.node.selection_set.node)?;
    }
    Ok(())
}

fn in_selection_set(selection_set: &SelectionSet) -> Result<(), OversizedList> {
    for selection in &selection_set.items {
        for directive in selection.node.directives() {
            in_arguments(&directive.node.arguments)?;
        }
        match &selection.node {
            Selection::Field(field) => {
                in_arguments(&field.node.arguments)?;
                in_selection_set(&field.node.selection_set.node)?;
            }
            Selection::InlineFragment(fragment) => {
                in_selection_set(&fragment.node.selection_set.node)?;
            }
            Selection::FragmentSpread(_) => {}
        }
    }
    Ok(())
}

fn in_arguments(arguments: &[(Positioned<Name>, Positioned<Value>)]) -> Result<(), OversizedList> {
    for (name, value) in arguments {
        // Variables become `null` here: their values are checked on their own.
        let value = value
            .node
            .clone()
            .into_const_with(|_| Ok::<_, std::convert::Infallible>(ConstValue::Null))
            .unwrap_or(ConstValue::Null);
        in_const(&value, &mut name.node.to_string())?;
    }
    Ok(())
}

fn in_const(value: &ConstValue, path: &mut String) -> Result<(), OversizedList> {
    match value {
        ConstValue::List(items) => {
            oversized(items.len(), path)?;
            for (index, item) in items.iter().enumerate() {
                descend(path, &format!("[{index}]"), |path| in_const(item, path))?;
            }
        }
        ConstValue::Object(fields) => {
            for (name, field) in fields {
                descend(path, &format!(".{name}"), |path| in_const(field, path))?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn oversized(items: usize, path: &str) -> Result<(), OversizedList> {
    if items > MAX_LIST_ITEMS {
        Err(OversizedList {
            field: path.to_owned(),
            items,
        })
    } else {
        Ok(())
    }
}

fn descend(
    path: &mut String,
    step: &str,
    walk: impl FnOnce(&mut String) -> Result<(), OversizedList>,
) -> Result<(), OversizedList> {
    let length = path.len();
    path.push_str(step);
    let result = walk(path);
    path.truncate(length);
    result
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use super::*;

    fn check_text(query: &str, variables: serde_json::Value) -> Result<(), OversizedList> {
        let document = async_graphql::parser::parse_query(query).unwrap();
        check(&document, &Variables::from_json(variables))
    }

    fn list(n: usize) -> String {
        format!("[{}]", vec!["A"; n].join(", "))
    }

    #[test]
    fn a_list_at_the_bound_passes_and_one_more_item_is_refused() {
        let at = format!(
            "{{ projects(filter: {{ status: {} }}) {{ totalCount }} }}",
            list(100)
        );
        assert_eq!(check_text(&at, serde_json::json!({})), Ok(()));
        let over = format!(
            "{{ projects(filter: {{ status: {} }}) {{ totalCount }} }}",
            list(101)
        );
        assert_eq!(
            check_text(&over, serde_json::json!({})),
            Err(OversizedList {
                field: "filter.status".to_owned(),
                items: 101
            })
        );
    }

    #[test]
    fn variables_are_checked_at_any_depth() {
        let query = "mutation($input: SetBudgetInput!) { setBudget(input: $input) { auditIndex } }";
        let budgets: Vec<_> = (0..40_001).map(|n| serde_json::json!({ "n": n })).collect();
        let refused = check_text(
            query,
            serde_json::json!({ "input": { "id": "x", "budgets": budgets } }),
        )
        .unwrap_err();
        assert_eq!(refused.field, "$input.budgets");
        assert_eq!(refused.items, 40_001);
        assert!(
            refused.message().contains("at most 100"),
            "{}",
            refused.message()
        );

        let nested = serde_json::json!({ "a": [{ "b": vec![1; 101] }] });
        assert_eq!(check_text("{ x }", nested).unwrap_err().field, "$a[0].b");
    }

    #[test]
    fn lists_in_fragments_directives_and_nested_objects_count() {
        let in_fragment = format!(
            "{{ ...F }} fragment F on Query {{ a(x: {{ y: [{{ z: {} }}] }}) }}",
            list(101)
        );
        assert_eq!(
            check_text(&in_fragment, serde_json::json!({}))
                .unwrap_err()
                .field,
            "x.y[0].z"
        );
        let in_directive = format!("{{ a @d(values: {}) }}", list(101));
        assert_eq!(
            check_text(&in_directive, serde_json::json!({}))
                .unwrap_err()
                .field,
            "values"
        );
    }
}
