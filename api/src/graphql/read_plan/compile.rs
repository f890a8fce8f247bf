//! From a document to a [`Plan`]: the fields a plan covers, collected per object in selection
//! order, with their arguments' values; `None` for anything else (see [`super`]).

use std::collections::HashMap;

use async_graphql::parser::types::{
    Directive, ExecutableDocument, Field, FragmentDefinition, OperationDefinition, Selection,
    SelectionSet,
};
use async_graphql::{Name, Positioned, Variables};
use async_graphql_value::{ConstValue, Value};

use amanah_domain::query::{ActivityQuery, ProjectQuery};
use async_graphql::InputType;

use crate::graphql::activity::{ActivityFilter, activity_query};
use crate::graphql::connection::{PageArgs, connection_cost};
use crate::graphql::project::{ProjectFilter, ProjectOrder, project_query};

/// A planned query: its root fields, each under its response key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub fields: Vec<(Name, RootField)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootField {
    Typename,
    /// `projects(first, after, last, before, filter, orderBy)`: the read model's query the
    /// filter and order make, and the page.
    Projects(Box<ProjectQuery>, PageArgs, Connection<ProjectField>),
    /// `project(id)` (without `asOf`).
    Project(String, Vec<(Name, ProjectField)>),
}

/// The selection of a connection whose nodes are selected as `N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection<N> {
    pub type_name: &'static str,
    pub edge_type_name: &'static str,
    pub fields: Vec<(Name, ConnectionField<N>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionField<N> {
    Typename,
    TotalCount,
    PageInfo(Vec<(Name, PageInfoField)>),
    Edges(Vec<(Name, EdgeField<N>)>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageInfoField {
    Typename,
    HasNextPage,
    HasPreviousPage,
    StartCursor,
    EndCursor,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdgeField<N> {
    Typename,
    Cursor,
    Node(Vec<(Name, N)>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectField {
    Typename,
    Id,
    IatiIdentifier,
    Title,
    Description,
    Objectives,
    Status,
    StatusCode,
    PlannedStart,
    PlannedEnd,
    ActualStart,
    ActualEnd,
    Version,
    ParticipatingOrganisations(Vec<(Name, ParticipationField)>),
    /// `activities(first, after, last, before, filter)`: the read model's query the filter makes
    /// (its `project` is the filter's `projectId`), and the page.
    Activities(ActivityQuery, PageArgs, Connection<ActivityField>),
    Budgets(Vec<(Name, BudgetField)>),
    /// `transactions(first, after, last, before)`.
    Transactions(PageArgs, Connection<TransactionField>),
    Documents(Vec<(Name, DocumentField)>),
    Sectors(Vec<(Name, SectorField)>),
    RecipientCountries(Vec<(Name, CountryShareField)>),
}

impl ProjectField {
    /// Whether the field is read from the project's kept state, not its columns (transactions
    /// are rows of their own).
    #[must_use]
    pub fn needs_state(&self) -> bool {
        matches!(
            self,
            Self::Description
                | Self::Objectives
                | Self::Budgets(_)
                | Self::Documents(_)
                | Self::Sectors(_)
                | Self::RecipientCountries(_)
        )
    }
}

impl ActivityField {
    /// Whether the field is read from the activity's kept state, not its columns.
    #[must_use]
    pub fn needs_state(&self) -> bool {
        matches!(
            self,
            Self::Description
                | Self::ActualStart
                | Self::ActualEnd
                | Self::Outcome
                | Self::CancellationReason
                | Self::Partners(_)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BudgetField {
    Typename,
    Type,
    Status,
    PeriodStart,
    PeriodEnd,
    Value(Vec<(Name, MoneyField)>),
    ValueDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyField {
    Typename,
    MinorUnits,
    Currency,
    Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactionField {
    Typename,
    Id,
    Type,
    TypeCode,
    Date,
    Value(Vec<(Name, MoneyField)>),
    ValueDate,
    Description,
    Ref,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentField {
    Typename,
    Url,
    Title,
    CategoryCode,
    Format,
    Date,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectorField {
    Typename,
    Code,
    Name,
    Percentage,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CountryShareField {
    Typename,
    Country(Vec<(Name, CountryField)>),
    Percentage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountryField {
    Typename,
    Code,
    Name,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartnerField {
    Typename,
    Role,
    Organisation(Vec<(Name, OrganisationField)>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParticipationField {
    Typename,
    Role,
    RoleCode,
    Organisation(Vec<(Name, OrganisationField)>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrganisationField {
    Typename,
    Id,
    Ref,
    Name,
    Acronym,
    Type,
    TypeCode,
    Website,
    Deactivated,
    Version,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActivityField {
    Typename,
    Id,
    Title,
    Description,
    Kind,
    Status,
    PlannedStart,
    PlannedEnd,
    ActualStart,
    ActualEnd,
    Outcome,
    CancellationReason,
    Version,
    Partners(Vec<(Name, PartnerField)>),
}

/// The plan of `operation` (the only operation of `document`) with `variables`, when one covers
/// it and its cost is within `max_complexity`.
#[must_use]
pub fn compile(
    document: &ExecutableDocument,
    operation: &OperationDefinition,
    variables: &Variables,
    max_complexity: usize,
) -> Option<Plan> {
    let compiler = Compiler {
        fragments: &document.fragments,
        values: variable_values(operation, variables)?,
    };
    let plan = compiler.root(&operation.selection_set.node)?;
    (compiler.cost(&operation.selection_set.node)? <= max_complexity).then_some(plan)
}

/// The value of each variable the operation declares: as given, else its default; a variable
/// neither given nor defaulted is absent (its arguments are null).
fn variable_values(
    operation: &OperationDefinition,
    variables: &Variables,
) -> Option<HashMap<Name, ConstValue>> {
    let mut values = HashMap::new();
    for definition in &operation.variable_definitions {
        let name = &definition.node.name.node;
        let value = match variables.get(name) {
            Some(value) => value.clone(),
            None => match &definition.node.default_value {
                Some(default) => default.node.clone(),
                None => continue,
            },
        };
        values.insert(name.clone(), value);
    }
    Some(values)
}

struct Compiler<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    values: HashMap<Name, ConstValue>,
}

/// A field's selections grouped under its response key, in the order the keys first occur.
type Collected<'a> = Vec<(&'a Name, &'a Field)>;

impl<'a> Compiler<'a> {
    /// The value of an argument or directive argument, variables replaced.
    fn value(&self, value: &Value) -> Option<ConstValue> {
        match value {
            Value::Variable(name) => {
                Some(self.values.get(name).cloned().unwrap_or(ConstValue::Null))
            }
            Value::Null => Some(ConstValue::Null),
            Value::Number(number) => Some(ConstValue::Number(number.clone())),
            Value::String(text) => Some(ConstValue::String(text.clone())),
            Value::Boolean(boolean) => Some(ConstValue::Boolean(*boolean)),
            // Enums, lists and objects: no argument a plan covers takes them.
            _ => None,
        }
    }

    /// Whether a selection's `@skip`/`@include` let it in; `None` for another directive.
    fn included(&self, directives: &[Positioned<Directive>]) -> Option<bool> {
        let mut included = true;
        for directive in directives {
            let directive = &directive.node;
            let condition = match directive
                .get_argument("if")
                .map(|value| self.value(&value.node))
            {
                Some(Some(ConstValue::Boolean(condition))) => condition,
                _ => return None,
            };
            match directive.name.node.as_str() {
                "skip" => included &= !condition,
                "include" => included &= condition,
                _ => return None,
            }
        }
        Some(included)
    }

    /// The fields of `set` on an object of `type_name`, fragments followed, skipped ones left out.
    fn collect(
        &self,
        set: &'a SelectionSet,
        type_name: &str,
        into: &mut Collected<'a>,
    ) -> Option<()> {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    if self.included(&field.node.directives)? {
                        into.push((&field.node.response_key().node, &field.node));
                    }
                }
                Selection::FragmentSpread(spread) => {
                    if !self.included(&spread.node.directives)? {
                        continue;
                    }
                    let fragment = &self.fragments.get(&spread.node.fragment_name.node)?.node;
                    if fragment.type_condition.node.on.node.as_str() != type_name
                        || !fragment.directives.is_empty()
                    {
                        return None;
                    }
                    self.collect(&fragment.selection_set.node, type_name, into)?;
                }
                Selection::InlineFragment(inline) => {
                    if !self.included(&inline.node.directives)? {
                        continue;
                    }
                    if let Some(condition) = &inline.node.type_condition
                        && condition.node.on.node.as_str() != type_name
                    {
                        return None;
                    }
                    self.collect(&inline.node.selection_set.node, type_name, into)?;
                }
            }
        }
        Some(())
    }

    /// The fields of `set` on `type_name`, each response key once, each planned by `field`. A
    /// key selected twice is planned once when both are the same leaf without arguments (as
    /// GraphQL merges them); anything else selected twice is left to async-graphql.
    fn object<F>(
        &self,
        set: &'a SelectionSet,
        type_name: &str,
        mut field: impl FnMut(&Self, &'a Field) -> Option<F>,
    ) -> Option<Vec<(Name, F)>> {
        let mut collected = Collected::new();
        self.collect(set, type_name, &mut collected)?;
        let mut planned: Vec<(Name, F)> = Vec::with_capacity(collected.len());
        let mut seen: Vec<(&Name, &Field)> = Vec::with_capacity(collected.len());
        for (key, selected) in collected {
            if let Some((_, earlier)) = seen.iter().find(|(seen_key, _)| *seen_key == key) {
                let same_leaf = earlier.name.node == selected.name.node
                    && earlier.arguments.is_empty()
                    && selected.arguments.is_empty()
                    && earlier.selection_set.node.items.is_empty()
                    && selected.selection_set.node.items.is_empty();
                if same_leaf {
                    continue;
                }
                return None;
            }
            seen.push((key, selected));
            if selected.name.node == "__typename" {
                if !selected.arguments.is_empty() {
                    return None;
                }
            } else if selected.selection_set.node.items.is_empty()
                == is_object_field(selected.name.node.as_str())
            {
                return None;
            }
            planned.push((key.clone(), field(self, selected)?));
        }
        Some(planned)
    }

    fn root(&self, set: &'a SelectionSet) -> Option<Plan> {
        let fields = self.object(set, "Query", |compiler, field| {
            match field.name.node.as_str() {
                "__typename" => Some(RootField::Typename),
                "projects" => {
                    let (mut filter, mut order) = (None, None);
                    let args = compiler.page_args_and(field, |name, value| {
                        match name {
                            "filter" => filter = compiler.input::<Option<ProjectFilter>>(value)?,
                            "orderBy" => order = compiler.input::<Option<ProjectOrder>>(value)?,
                            _ => return None,
                        }
                        Some(())
                    })?;
                    Some(RootField::Projects(
                        Box::new(project_query(filter, order).ok()?),
                        args,
                        compiler.connection(
                            &field.selection_set.node,
                            ("ProjectConnection", "ProjectEdge", "Project"),
                            Self::project,
                        )?,
                    ))
                }
                "project" => {
                    let mut id = None;
                    for (name, value) in &field.arguments {
                        match (name.node.as_str(), compiler.value(&value.node)?) {
                            ("id", ConstValue::String(text)) => id = Some(text),
                            ("asOf", ConstValue::Null) => {}
                            _ => return None,
                        }
                    }
                    Some(RootField::Project(
                        id?,
                        compiler.object(&field.selection_set.node, "Project", Self::project)?,
                    ))
                }
                _ => None,
            }
        })?;
        Some(Plan { fields })
    }

    /// `first`, `after`, `last`, `before`, and no other argument.
    fn page_args(&self, field: &Field) -> Option<PageArgs> {
        self.page_args_and(field, |_, _| None)
    }

    /// `first`, `after`, `last`, `before`, and other arguments as `other` takes them (`None`:
    /// not covered).
    fn page_args_and(
        &self,
        field: &Field,
        mut other: impl FnMut(&str, &Value) -> Option<()>,
    ) -> Option<PageArgs> {
        let mut args = PageArgs::default();
        for (name, value) in &field.arguments {
            match name.node.as_str() {
                "first" => args.first = int(self.value(&value.node)?)?,
                "last" => args.last = int(self.value(&value.node)?)?,
                "after" => args.after = string(self.value(&value.node)?)?,
                "before" => args.before = string(self.value(&value.node)?)?,
                name => other(name, &value.node)?,
            }
        }
        Some(args)
    }

    /// An input argument (an input object, a list, an enum…), variables replaced, coerced as
    /// async-graphql coerces it; `None` when it does not coerce (async-graphql reports why).
    fn input<T: InputType>(&self, value: &Value) -> Option<T> {
        let value = value
            .clone()
            .into_const_with(|name| {
                Ok::<_, ()>(self.values.get(&name).cloned().unwrap_or(ConstValue::Null))
            })
            .ok()?;
        T::parse(Some(value)).ok()
    }

    /// `first` and `last` (what the complexity of a connection depends on), other arguments
    /// ignored.
    fn first_last(&self, field: &Field) -> Option<(Option<i32>, Option<i32>)> {
        let (mut first, mut last) = (None, None);
        for (name, value) in &field.arguments {
            match name.node.as_str() {
                "first" => first = int(self.value(&value.node)?)?,
                "last" => last = int(self.value(&value.node)?)?,
                _ => {}
            }
        }
        Some((first, last))
    }

    fn connection<N>(
        &self,
        set: &'a SelectionSet,
        (type_name, edge_type_name, node_type_name): (&'static str, &'static str, &'static str),
        node: impl Fn(&Self, &'a Field) -> Option<N> + Copy,
    ) -> Option<Connection<N>> {
        let fields = self.object(set, type_name, |compiler, field| {
            match field.name.node.as_str() {
                "__typename" => Some(ConnectionField::Typename),
                "totalCount" => Some(ConnectionField::TotalCount),
                "pageInfo" => Some(ConnectionField::PageInfo(compiler.object(
                    &field.selection_set.node,
                    "PageInfo",
                    |_, field| {
                        Some(match field.name.node.as_str() {
                            "__typename" => PageInfoField::Typename,
                            "hasNextPage" => PageInfoField::HasNextPage,
                            "hasPreviousPage" => PageInfoField::HasPreviousPage,
                            "startCursor" => PageInfoField::StartCursor,
                            "endCursor" => PageInfoField::EndCursor,
                            _ => return None,
                        })
                    },
                )?)),
                "edges" => Some(ConnectionField::Edges(compiler.object(
                    &field.selection_set.node,
                    edge_type_name,
                    |compiler, field| match field.name.node.as_str() {
                        "__typename" => Some(EdgeField::Typename),
                        "cursor" => Some(EdgeField::Cursor),
                        "node" => Some(EdgeField::Node(compiler.object(
                            &field.selection_set.node,
                            node_type_name,
                            node,
                        )?)),
                        _ => None,
                    },
                )?)),
                _ => None,
            }
        })?;
        Some(Connection {
            type_name,
            edge_type_name,
            fields,
        })
    }

    fn project(&self, field: &'a Field) -> Option<ProjectField> {
        Some(match field.name.node.as_str() {
            "__typename" => ProjectField::Typename,
            "id" => ProjectField::Id,
            "iatiIdentifier" => ProjectField::IatiIdentifier,
            "title" => ProjectField::Title,
            "description" => ProjectField::Description,
            "objectives" => ProjectField::Objectives,
            "status" => ProjectField::Status,
            "statusCode" => ProjectField::StatusCode,
            "plannedStart" => ProjectField::PlannedStart,
            "plannedEnd" => ProjectField::PlannedEnd,
            "actualStart" => ProjectField::ActualStart,
            "actualEnd" => ProjectField::ActualEnd,
            "version" => ProjectField::Version,
            "participatingOrganisations" => ProjectField::ParticipatingOrganisations(self.object(
                &field.selection_set.node,
                "ParticipatingOrganisation",
                |compiler, field| {
                    Some(match field.name.node.as_str() {
                        "__typename" => ParticipationField::Typename,
                        "role" => ParticipationField::Role,
                        "roleCode" => ParticipationField::RoleCode,
                        "organisation" => ParticipationField::Organisation(compiler.object(
                            &field.selection_set.node,
                            "Organisation",
                            |_, field| Self::organisation(field),
                        )?),
                        _ => return None,
                    })
                },
            )?),
            "activities" => {
                let mut filter = None;
                let args = self.page_args_and(field, |name, value| {
                    (name == "filter").then_some(())?;
                    filter = self.input::<Option<ActivityFilter>>(value)?;
                    Some(())
                })?;
                ProjectField::Activities(
                    activity_query(filter, None).ok()?,
                    args,
                    self.connection(
                        &field.selection_set.node,
                        ("ActivityConnection", "ActivityEdge", "Activity"),
                        Self::activity,
                    )?,
                )
            }
            "budgets" => ProjectField::Budgets(self.object(
                &field.selection_set.node,
                "Budget",
                |compiler, field| {
                    Some(match field.name.node.as_str() {
                        "__typename" => BudgetField::Typename,
                        "type" => BudgetField::Type,
                        "status" => BudgetField::Status,
                        "periodStart" => BudgetField::PeriodStart,
                        "periodEnd" => BudgetField::PeriodEnd,
                        "value" => BudgetField::Value(compiler.money(field)?),
                        "valueDate" => BudgetField::ValueDate,
                        _ => return None,
                    })
                },
            )?),
            "transactions" => ProjectField::Transactions(
                self.page_args(field)?,
                self.connection(
                    &field.selection_set.node,
                    ("TransactionConnection", "TransactionEdge", "Transaction"),
                    |compiler, field| {
                        Some(match field.name.node.as_str() {
                            "__typename" => TransactionField::Typename,
                            "id" => TransactionField::Id,
                            "type" => TransactionField::Type,
                            "typeCode" => TransactionField::TypeCode,
                            "date" => TransactionField::Date,
                            "value" => TransactionField::Value(compiler.money(field)?),
                            "valueDate" => TransactionField::ValueDate,
                            "description" => TransactionField::Description,
                            "ref" => TransactionField::Ref,
                            _ => return None,
                        })
                    },
                )?,
            ),
            "documents" => ProjectField::Documents(self.object(
                &field.selection_set.node,
                "Document",
                |_, field| {
                    Some(match field.name.node.as_str() {
                        "__typename" => DocumentField::Typename,
                        "url" => DocumentField::Url,
                        "title" => DocumentField::Title,
                        "categoryCode" => DocumentField::CategoryCode,
                        "format" => DocumentField::Format,
                        "date" => DocumentField::Date,
                        _ => return None,
                    })
                },
            )?),
            "sectors" => ProjectField::Sectors(self.object(
                &field.selection_set.node,
                "SectorShare",
                |_, field| {
                    Some(match field.name.node.as_str() {
                        "__typename" => SectorField::Typename,
                        "code" => SectorField::Code,
                        "name" => SectorField::Name,
                        "percentage" => SectorField::Percentage,
                        _ => return None,
                    })
                },
            )?),
            "recipientCountries" => ProjectField::RecipientCountries(self.object(
                &field.selection_set.node,
                "RecipientCountry",
                |compiler, field| {
                    Some(match field.name.node.as_str() {
                        "__typename" => CountryShareField::Typename,
                        "percentage" => CountryShareField::Percentage,
                        "country" => CountryShareField::Country(compiler.object(
                            &field.selection_set.node,
                            "Country",
                            |_, field| {
                                Some(match field.name.node.as_str() {
                                    "__typename" => CountryField::Typename,
                                    "code" => CountryField::Code,
                                    "name" => CountryField::Name,
                                    _ => return None,
                                })
                            },
                        )?),
                        _ => return None,
                    })
                },
            )?),
            _ => return None,
        })
    }

    fn organisation(field: &Field) -> Option<OrganisationField> {
        Some(match field.name.node.as_str() {
            "__typename" => OrganisationField::Typename,
            "id" => OrganisationField::Id,
            "ref" => OrganisationField::Ref,
            "name" => OrganisationField::Name,
            "acronym" => OrganisationField::Acronym,
            "type" => OrganisationField::Type,
            "typeCode" => OrganisationField::TypeCode,
            "website" => OrganisationField::Website,
            "deactivated" => OrganisationField::Deactivated,
            "version" => OrganisationField::Version,
            _ => return None,
        })
    }

    /// A `Money` selection.
    fn money(&self, field: &'a Field) -> Option<Vec<(Name, MoneyField)>> {
        self.object(&field.selection_set.node, "Money", |_, field| {
            Some(match field.name.node.as_str() {
                "__typename" => MoneyField::Typename,
                "minorUnits" => MoneyField::MinorUnits,
                "currency" => MoneyField::Currency,
                "decimal" => MoneyField::Decimal,
                _ => return None,
            })
        })
    }

    fn activity(&self, field: &'a Field) -> Option<ActivityField> {
        Some(match field.name.node.as_str() {
            "partners" => ActivityField::Partners(self.object(
                &field.selection_set.node,
                "ActivityPartner",
                |_, field| {
                    Some(match field.name.node.as_str() {
                        "__typename" => PartnerField::Typename,
                        "role" => PartnerField::Role,
                        "organisation" => PartnerField::Organisation(self.object(
                            &field.selection_set.node,
                            "Organisation",
                            |_, field| Self::organisation(field),
                        )?),
                        _ => return None,
                    })
                },
            )?),
            "__typename" => ActivityField::Typename,
            "id" => ActivityField::Id,
            "title" => ActivityField::Title,
            "description" => ActivityField::Description,
            "kind" => ActivityField::Kind,
            "status" => ActivityField::Status,
            "plannedStart" => ActivityField::PlannedStart,
            "plannedEnd" => ActivityField::PlannedEnd,
            "actualStart" => ActivityField::ActualStart,
            "actualEnd" => ActivityField::ActualEnd,
            "outcome" => ActivityField::Outcome,
            "cancellationReason" => ActivityField::CancellationReason,
            "version" => ActivityField::Version,
            _ => return None,
        })
    }

    /// The document's cost as async-graphql's complexity limit counts it: every field but
    /// `__typename` (free), in every fragment and whatever its directives, costs 1 and its
    /// selection, and a connection ([`connection_cost`]) its selection once per item it may
    /// return.
    fn cost(&self, set: &SelectionSet) -> Option<usize> {
        let mut total = 0usize;
        for selection in &set.items {
            let cost = match &selection.node {
                Selection::Field(field) if field.node.name.node == "__typename" => 0,
                Selection::Field(field) => {
                    let field = &field.node;
                    let children = self.cost(&field.selection_set.node)?;
                    if matches!(
                        field.name.node.as_str(),
                        "projects" | "activities" | "transactions"
                    ) {
                        let (first, last) = self.first_last(field)?;
                        connection_cost(first, last, children)
                    } else {
                        children.saturating_add(1)
                    }
                }
                Selection::FragmentSpread(spread) => self.cost(
                    &self
                        .fragments
                        .get(&spread.node.fragment_name.node)?
                        .node
                        .selection_set
                        .node,
                )?,
                Selection::InlineFragment(inline) => self.cost(&inline.node.selection_set.node)?,
            };
            total = total.saturating_add(cost);
        }
        Some(total)
    }
}

/// Whether a covered field (other than `__typename`) returns an object, and so needs a
/// selection.
fn is_object_field(name: &str) -> bool {
    matches!(
        name,
        "projects"
            | "activities"
            | "pageInfo"
            | "edges"
            | "node"
            | "participatingOrganisations"
            | "organisation"
            | "project"
            | "budgets"
            | "transactions"
            | "documents"
            | "sectors"
            | "recipientCountries"
            | "value"
            | "country"
            | "partners"
    )
}

/// An `Int` argument: a number within `i32`, or null.
fn int(value: ConstValue) -> Option<Option<i32>> {
    match value {
        ConstValue::Null => Some(None),
        ConstValue::Number(number) => number
            .as_i64()
            .and_then(|number| i32::try_from(number).ok())
            .map(Some),
        _ => None,
    }
}

/// A `String` argument, or null.
fn string(value: ConstValue) -> Option<Option<String>> {
    match value {
        ConstValue::Null => Some(None),
        ConstValue::String(text) => Some(Some(text)),
        _ => None,
    }
}
