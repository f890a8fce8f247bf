//! The events of a project: the `data` of the audit log's envelopes.
//!
//! Serialised as `{"type": "ProjectRegistered", "data": {...}}`; payload keys are camelCase, coded
//! values are their IATI code strings, percentages and value types are strings, dates are
//! `YYYY-MM-DD`, money is `{"minorUnits": <integer>, "currency": "EUR"}`. No floating point.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    Budget, Contact, Document, Location, OtherIdentifier, ParticipatingOrganisation,
    PlannedDisbursement, PolicyMarker, Project, ProjectDefaults, ProjectResult, RecipientCountry,
    RecipientRegion, RelatedProject, SectorShare, TransactionEntry,
};
use crate::aggregate::DomainEvent;
use crate::codelists::{ProjectStatus, RelatedActivityType};
use crate::values::{Description, IatiIdentifier, OrgRef, Title, WebUrl};

/// Payload of `DocumentRemoved`: the URL of the document unlinked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentRemoved {
    pub url: WebUrl,
}

/// Payload of `RelatedProjectRemoved`: the relation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelatedProjectRemoved {
    pub project_id: Uuid,
    /// IATI RelatedActivityType code.
    #[serde(rename = "type")]
    pub relation: RelatedActivityType,
}

/// Payload of `ProjectRegistered`: everything registered. A new project is always in status 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectRegistered {
    pub id: Uuid,
    pub iati_identifier: IatiIdentifier,
    pub reporting_organisation_id: Uuid,
    /// The reporting organisation's `ref` the identifier was checked against.
    pub reporting_org_ref: OrgRef,
    pub title: Title,
    pub description: Description,
    pub objectives: Option<Description>,
    pub status: ProjectStatus,
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
    pub participating_organisations: Vec<ParticipatingOrganisation>,
    pub recipient_countries: Vec<RecipientCountry>,
    pub recipient_regions: Vec<RecipientRegion>,
    pub sectors: Vec<SectorShare>,
}

impl ProjectRegistered {
    /// The project this event creates.
    #[must_use]
    pub fn to_project(&self) -> Project {
        Project {
            id: self.id,
            iati_identifier: self.iati_identifier.clone(),
            reporting_organisation_id: self.reporting_organisation_id,
            reporting_org_ref: self.reporting_org_ref.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            objectives: self.objectives.clone(),
            status: self.status,
            planned_start: self.planned_start,
            planned_end: self.planned_end,
            actual_start: None,
            actual_end: None,
            participating_organisations: self.participating_organisations.clone(),
            recipient_countries: self.recipient_countries.clone(),
            recipient_regions: self.recipient_regions.clone(),
            sectors: self.sectors.clone(),
            budgets: Vec::new(),
            transaction_count: 0,
            documents: Vec::new(),
            related_projects: Vec::new(),
            other_identifiers: Vec::new(),
            locations: Vec::new(),
            planned_disbursements: Vec::new(),
            contacts: Vec::new(),
            policy_markers: Vec::new(),
            defaults: ProjectDefaults::default(),
            results: Vec::new(),
            version: 1,
        }
    }
}

/// Payload of `ProjectRevised`: every revisable field, as it is after the revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectRevised {
    pub title: Title,
    pub description: Description,
    pub objectives: Option<Description>,
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
    pub recipient_countries: Vec<RecipientCountry>,
    pub recipient_regions: Vec<RecipientRegion>,
    pub sectors: Vec<SectorShare>,
}

/// Payload of `ProjectStatusChanged`: the transition and the actual dates after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectStatusChanged {
    pub from: ProjectStatus,
    pub to: ProjectStatus,
    pub actual_start: Option<NaiveDate>,
    pub actual_end: Option<NaiveDate>,
}

/// Payload of `BudgetSet`: the complete new list of budget rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetSet {
    pub budgets: Vec<Budget>,
}

/// Payload of `TransactionReversed`: the reversed transaction and the complete reversing row
/// (negated value, `reverses` set, the reason as its description).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionReversed {
    pub transaction_id: Uuid,
    pub reversal: TransactionEntry,
}

/// The events of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum ProjectEvent {
    ProjectRegistered(ProjectRegistered),
    ProjectRevised(ProjectRevised),
    ProjectStatusChanged(ProjectStatusChanged),
    ParticipatingOrganisationAdded(ParticipatingOrganisation),
    ParticipatingOrganisationRemoved(ParticipatingOrganisation),
    BudgetSet(BudgetSet),
    TransactionRecorded(TransactionEntry),
    TransactionReversed(TransactionReversed),
    DocumentAdded(Document),
    RelatedProjectAdded(RelatedProject),
    OtherIdentifierAdded(OtherIdentifier),
    DocumentRemoved(DocumentRemoved),
    RelatedProjectRemoved(RelatedProjectRemoved),
    OtherIdentifierRemoved(OtherIdentifier),
    /// The project's IATI defaults, all of them as they are after the change.
    ProjectDefaultsSet(ProjectDefaults),
    PolicyMarkersSet(PolicyMarkersSet),
    ContactsSet(ContactsSet),
    PlannedDisbursementsSet(PlannedDisbursementsSet),
    LocationsSet(LocationsSet),
    ResultsSet(ResultsSet),
}

/// Payload of `ResultsSet`: the project's whole list of results after the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultsSet {
    pub results: Vec<ProjectResult>,
}

/// Payload of `LocationsSet`: the project's whole list of locations after the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationsSet {
    pub locations: Vec<Location>,
}

/// Payload of `PlannedDisbursementsSet`: the project's whole list of planned disbursements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedDisbursementsSet {
    pub planned_disbursements: Vec<PlannedDisbursement>,
}

/// Payload of `ContactsSet`: the project's whole list of contacts after the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactsSet {
    pub contacts: Vec<Contact>,
}

/// Payload of `PolicyMarkersSet`: the project's whole list of policy markers after the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyMarkersSet {
    pub policy_markers: Vec<PolicyMarker>,
}

impl DomainEvent for ProjectEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::ProjectRegistered(_) => "ProjectRegistered",
            Self::ProjectRevised(_) => "ProjectRevised",
            Self::ProjectStatusChanged(_) => "ProjectStatusChanged",
            Self::ParticipatingOrganisationAdded(_) => "ParticipatingOrganisationAdded",
            Self::ParticipatingOrganisationRemoved(_) => "ParticipatingOrganisationRemoved",
            Self::BudgetSet(_) => "BudgetSet",
            Self::TransactionRecorded(_) => "TransactionRecorded",
            Self::TransactionReversed(_) => "TransactionReversed",
            Self::DocumentAdded(_) => "DocumentAdded",
            Self::RelatedProjectAdded(_) => "RelatedProjectAdded",
            Self::OtherIdentifierAdded(_) => "OtherIdentifierAdded",
            Self::DocumentRemoved(_) => "DocumentRemoved",
            Self::RelatedProjectRemoved(_) => "RelatedProjectRemoved",
            Self::OtherIdentifierRemoved(_) => "OtherIdentifierRemoved",
            Self::ProjectDefaultsSet(_) => "ProjectDefaultsSet",
            Self::PolicyMarkersSet(_) => "PolicyMarkersSet",
            Self::ContactsSet(_) => "ContactsSet",
            Self::PlannedDisbursementsSet(_) => "PlannedDisbursementsSet",
            Self::LocationsSet(_) => "LocationsSet",
            Self::ResultsSet(_) => "ResultsSet",
        }
    }
}
