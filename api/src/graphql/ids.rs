//! Global ids: a node's `id` is its aggregate's UUID (transactions: the transaction's own UUID), the
//! same UUID that appears as `streamId` in the audit log. UUIDs are globally unique, so `node(id:)`
//! needs no type prefix.

use amanah_domain::values::FieldPath;
use async_graphql::ID;
use uuid::Uuid;

use crate::error::ApiError;

/// The GraphQL id of a UUID, in its canonical hyphenated lower-case form.
#[must_use]
pub fn to_id(id: Uuid) -> ID {
    ID(id.to_string())
}

/// Parses an `ID` argument or input field into a UUID.
///
/// # Errors
/// `BAD_USER_INPUT` naming `field` when the id is not a UUID.
pub fn parse_id(id: &ID, field: impl Into<FieldPath>) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id.as_str()).map_err(|_| {
        let field = field.into();
        ApiError::bad_user_input(
            field.to_string(),
            format!(
                "{field} `{}` is not an Amanah id (a UUID such as 0190f3c2-8a4e-7b1c-9d2e-3f4a5b6c7d8e)",
                id.as_str()
            ),
        )
    })
}

/// Parses an optional `ID`.
///
/// # Errors
/// As [`parse_id`].
pub fn parse_optional_id(
    id: Option<&ID>,
    field: impl Into<FieldPath>,
) -> Result<Option<Uuid>, ApiError> {
    id.map(|id| parse_id(id, field)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_garbage_names_the_field() {
        let id = Uuid::now_v7();
        assert_eq!(parse_id(&to_id(id), "id").ok(), Some(id));
        let error = parse_id(&ID("project-7".into()), "input.projectId").err();
        assert!(matches!(
            error,
            Some(ApiError::BadUserInput { field, .. }) if field == "input.projectId"
        ));
        let error = parse_id(
            &ID("x".into()),
            FieldPath::list("partners", 1).field("organisationId"),
        )
        .err();
        assert!(matches!(
            error,
            Some(ApiError::BadUserInput { field, message })
                if field == "partners[1].organisationId"
                    && message == "partners[1].organisationId `x` is not an Amanah id \
                                   (a UUID such as 0190f3c2-8a4e-7b1c-9d2e-3f4a5b6c7d8e)"
        ));
    }
}
