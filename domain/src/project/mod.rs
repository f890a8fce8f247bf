//! Projects: IATI activities of the ASEAN Secretariat's development-cooperation portfolio.
//!
//! A project is registered under a reporting organisation that has an IATI `ref`; its IATI
//! identifier derives from that `ref` and never changes. Its status follows the IATI
//! ActivityStatus life cycle; budgets are replaced as a whole; transactions are append-only and
//! corrected by reversals; documents, related projects and other identifiers are appended.
//!
//! * [`commands`]: what the API asks for, built from parsed value types and facts about other
//!   aggregates (looked up by the caller, so `decide` stays pure);
//! * [`events`]: what happened, with complete facts (the audit log's `data`);
//! * [`ProjectError`]: why a command was refused, naming the GraphQL input field.

pub mod commands;
mod decide;
pub mod error;
pub mod events;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::{Aggregate, DecisionContext, StreamKind};
use crate::codelists::{
    BudgetStatus, BudgetType, OrganisationRole, OtherIdentifierType, ProjectStatus,
    RelatedActivityType, TransactionType,
};
use crate::ports::StreamRead;
use crate::values::{
    AidType, AreaCode, CollaborationType, ContactType, CountryCode, CurrencyCode, Description,
    DocumentCategory, EmailAddress, FieldPath, FinanceType, FlowType, GeoPoint,
    GeographicVocabulary, IatiIdentifier, IndicatorMeasure, IndicatorValue, LanguageCode, MimeType,
    Money, Name, OrgRef, OtherIdentifierRef, Percentage, PolicyMarkerCode, PolicySignificance,
    RegionCode, ResultType, SectorCode, Telephone, TiedStatus, Title, TransactionRef, WebUrl,
};

pub use commands::*;
pub use decide::budget_period_limit;
pub use error::{ProjectError, ResultRule};
pub use events::*;

/// A project, as its events made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: Uuid,
    /// Immutable once registered.
    pub iati_identifier: IatiIdentifier,
    pub reporting_organisation_id: Uuid,
    /// The reporting organisation's `ref` when the project was registered (the identifier's prefix).
    pub reporting_org_ref: OrgRef,
    pub title: Title,
    /// The general description (IATI DescriptionType 1).
    pub description: Description,
    /// IATI DescriptionType 2.
    pub objectives: Option<Description>,
    pub status: ProjectStatus,
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
    pub actual_start: Option<NaiveDate>,
    pub actual_end: Option<NaiveDate>,
    pub participating_organisations: Vec<ParticipatingOrganisation>,
    pub recipient_countries: Vec<RecipientCountry>,
    pub recipient_regions: Vec<RecipientRegion>,
    pub sectors: Vec<SectorShare>,
    pub budgets: Vec<Budget>,
    /// How many transactions (reversals included) the project has recorded. The transactions
    /// themselves are not part of the state its commands decode: they are kept as rows beside it,
    /// written from their events ([`Transactions`]), so that a command costs the same however
    /// many the project has.
    #[serde(default)]
    pub transaction_count: u64,
    pub documents: Vec<Document>,
    pub related_projects: Vec<RelatedProject>,
    pub other_identifiers: Vec<OtherIdentifier>,
    /// Where the project works (`setLocations`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<Location>,
    /// Money planned to be disbursed, by period (`setPlannedDisbursements`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub planned_disbursements: Vec<PlannedDisbursement>,
    /// Whom to contact about the project (`setContacts`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<Contact>,
    /// The OECD DAC policy markers the project is scored on (`setPolicyMarkers`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_markers: Vec<PolicyMarker>,
    /// The IATI defaults its figures and texts fall back to (`setProjectDefaults`).
    #[serde(default, skip_serializing_if = "ProjectDefaults::is_empty")]
    pub defaults: ProjectDefaults,
    /// The results the project reports on, with their indicators (`setResults`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<ProjectResult>,
    /// Number of events in the stream.
    pub version: u64,
}

/// A result the project reports on (IATI `result`): an output, outcome or impact, measured by
/// one or more indicators.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectResult {
    /// IATI ResultType.
    #[serde(rename = "type")]
    pub result_type: ResultType,
    pub title: Title,
    pub description: Option<Description>,
    /// At least one.
    pub indicators: Vec<Indicator>,
}

/// How a result is measured (IATI `result/indicator`): its baseline and its periods.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Indicator {
    /// IATI IndicatorMeasure: a qualitative measure (`5`) carries no values.
    pub measure: IndicatorMeasure,
    /// Whether a higher value is better, when said.
    pub ascending: Option<bool>,
    pub title: Title,
    pub description: Option<Description>,
    pub baseline: Option<Baseline>,
    /// The periods with their target and actual, in order.
    pub periods: Vec<IndicatorPeriod>,
}

/// Where an indicator starts from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Baseline {
    /// The year the baseline was taken.
    pub year: u16,
    pub date: Option<NaiveDate>,
    /// Present exactly when the measure is not qualitative.
    pub value: Option<IndicatorValue>,
    pub comment: Option<Description>,
}

/// One reporting period of an indicator: what was aimed for and what was reached.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndicatorPeriod {
    pub period_start: NaiveDate,
    /// On or after the start.
    pub period_end: NaiveDate,
    pub target: Option<Measurement>,
    pub actual: Option<Measurement>,
}

/// A target or an actual: a value (exactly when the measure is not qualitative) and a comment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Measurement {
    pub value: Option<IndicatorValue>,
    pub comment: Option<Description>,
}

/// A contact for the project (IATI `contact-info`): each part optional, but a contact says
/// something.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// IATI ContactType.
    #[serde(rename = "type")]
    pub contact_type: Option<ContactType>,
    pub organisation: Option<Name>,
    pub department: Option<Name>,
    pub person_name: Option<Name>,
    pub job_title: Option<Title>,
    pub telephone: Option<Telephone>,
    pub email: Option<EmailAddress>,
    pub website: Option<WebUrl>,
    pub mailing_address: Option<Description>,
}

impl Contact {
    /// Whether the contact gives neither a name, a title, a number, an address nor a website.
    #[must_use]
    pub fn says_nothing(&self) -> bool {
        self.organisation.is_none()
            && self.department.is_none()
            && self.person_name.is_none()
            && self.job_title.is_none()
            && self.telephone.is_none()
            && self.email.is_none()
            && self.website.is_none()
            && self.mailing_address.is_none()
    }
}

/// An OECD DAC policy marker (IATI PolicyMarker, vocabulary 1) and how significant the policy
/// objective is to the project (IATI PolicySignificance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyMarker {
    pub code: PolicyMarkerCode,
    pub significance: PolicySignificance,
}

/// A project's IATI defaults: the activity's `@default-currency` and `@xml:lang`, its
/// `collaboration-type`, and the `default-flow-type`, `default-finance-type`,
/// `default-aid-type` (vocabulary 1) and `default-tied-status` its transactions inherit. Each
/// is absent until set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectDefaults {
    pub currency: Option<CurrencyCode>,
    pub language: Option<LanguageCode>,
    pub collaboration_type: Option<CollaborationType>,
    pub flow_type: Option<FlowType>,
    pub finance_type: Option<FinanceType>,
    pub aid_type: Option<AidType>,
    pub tied_status: Option<TiedStatus>,
}

impl ProjectDefaults {
    /// Whether no default is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl Project {
    /// What other aggregates' commands need to know about this project.
    #[must_use]
    pub fn facts(&self) -> ProjectFacts {
        ProjectFacts {
            id: self.id,
            iati_identifier: self.iati_identifier.clone(),
            status: self.status,
            participating_organisations: self.participating_organisations.clone(),
            version: self.version,
        }
    }

    /// Whether `organisation_id` takes part in the project in `role`.
    #[must_use]
    pub fn has_participant(&self, organisation_id: Uuid, role: OrganisationRole) -> bool {
        self.participating_organisations
            .iter()
            .any(|p| p.organisation_id == organisation_id && p.role == role)
    }
}

/// Facts about a project that an activity command (or a related-project link) needs.
///
/// They also deserialize from a whole [`Project`] in its serde form (a kept state), reading only
/// their own members and skipping the rest without building them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectFacts {
    pub id: Uuid,
    pub iati_identifier: IatiIdentifier,
    pub status: ProjectStatus,
    pub participating_organisations: Vec<ParticipatingOrganisation>,
    /// The project's version when the facts were read.
    pub version: u64,
}

impl ProjectFacts {
    /// The stream version these facts were read at: a command deciding on them requires it.
    #[must_use]
    pub const fn read(&self) -> StreamRead {
        StreamRead {
            stream: StreamKind::Project,
            stream_id: self.id,
            version: self.version,
        }
    }
}

/// An organisation taking part in a project in one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipatingOrganisation {
    pub organisation_id: Uuid,
    /// IATI OrganisationRole code.
    pub role: OrganisationRole,
}

/// A recipient country and its share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecipientCountry {
    pub country: CountryCode,
    pub percentage: Percentage,
}

impl RecipientCountry {
    /// Parses row `index` of the `recipientCountries` input.
    ///
    /// # Errors
    /// [`ProjectError::Invalid`] naming `recipientCountries[index].country` or `.percentage`.
    pub fn parse(index: usize, country: &str, percentage: &str) -> Result<Self, ProjectError> {
        let at =
            |leaf| ProjectError::invalid(FieldPath::list("recipientCountries", index).field(leaf));
        Ok(Self {
            country: CountryCode::parse(country).map_err(at("country"))?,
            percentage: Percentage::parse(percentage).map_err(at("percentage"))?,
        })
    }
}

/// A recipient DAC region and its share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecipientRegion {
    #[serde(rename = "code")]
    pub region: RegionCode,
    pub percentage: Percentage,
}

impl RecipientRegion {
    /// Parses row `index` of the `recipientRegions` input.
    ///
    /// # Errors
    /// [`ProjectError::Invalid`] naming `recipientRegions[index].code` or `.percentage`.
    pub fn parse(index: usize, code: &str, percentage: &str) -> Result<Self, ProjectError> {
        let at =
            |leaf| ProjectError::invalid(FieldPath::list("recipientRegions", index).field(leaf));
        Ok(Self {
            region: RegionCode::parse(code).map_err(at("code"))?,
            percentage: Percentage::parse(percentage).map_err(at("percentage"))?,
        })
    }
}

/// A DAC sector and its share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SectorShare {
    #[serde(rename = "code")]
    pub sector: SectorCode,
    pub percentage: Percentage,
}

impl SectorShare {
    /// Parses row `index` of the `sectors` input; withdrawn sectors are refused.
    ///
    /// # Errors
    /// [`ProjectError::Invalid`] naming `sectors[index].code` or `.percentage`.
    pub fn parse(index: usize, code: &str, percentage: &str) -> Result<Self, ProjectError> {
        let at = |leaf| ProjectError::invalid(FieldPath::list("sectors", index).field(leaf));
        Ok(Self {
            sector: SectorCode::parse(code).map_err(at("code"))?,
            percentage: Percentage::parse(percentage).map_err(at("percentage"))?,
        })
    }
}

/// One budget row. A period is at most one year: `period_end ≤ period_start + 1 year`, and
/// `period_end > period_start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Budget {
    #[serde(rename = "type")]
    pub budget_type: BudgetType,
    pub status: BudgetStatus,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// Zero or more.
    pub value: Money,
    /// The date of the exchange rate of `value`.
    pub value_date: NaiveDate,
}

impl Budget {
    /// Builds row `index` of the `budgets` input from its money given as the GraphQL `BigInt`
    /// string and currency code; the period rules are checked by `setBudget`.
    ///
    /// # Errors
    /// [`ProjectError::Invalid`] naming `budgets[index].value.minorUnits` or `.value.currency`.
    #[expect(
        clippy::too_many_arguments,
        reason = "one argument per BudgetInput field"
    )]
    pub fn parse(
        index: usize,
        budget_type: BudgetType,
        status: BudgetStatus,
        period_start: NaiveDate,
        period_end: NaiveDate,
        minor_units: &str,
        currency: &str,
        value_date: NaiveDate,
    ) -> Result<Self, ProjectError> {
        let value = Money::parse(minor_units, currency).map_err(ProjectError::invalid_money(
            FieldPath::list("budgets", index).field("value"),
        ))?;
        Ok(Self {
            budget_type,
            status,
            period_start,
            period_end,
            value,
            value_date,
        })
    }
}

/// A place where the project works (IATI `location`): a name, and optionally a description, a
/// point and the administrative area it lies in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub name: Name,
    pub description: Option<Description>,
    pub point: Option<GeoPoint>,
    pub administrative: Option<AdministrativeArea>,
}

/// An administrative area in a geographic vocabulary (IATI `location/administrative`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdministrativeArea {
    /// IATI GeographicVocabulary, e.g. `A1` (GAUL).
    pub vocabulary: GeographicVocabulary,
    /// The administrative level (0 for a country, 1 for a province, …), when given.
    pub level: Option<u8>,
    pub code: AreaCode,
}

/// Money planned to be disbursed in a period (IATI `planned-disbursement`): the period's end is
/// optional, and on or after its start; the value is never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedDisbursement {
    /// IATI BudgetType: original or revised.
    #[serde(rename = "type")]
    pub disbursement_type: BudgetType,
    pub period_start: NaiveDate,
    pub period_end: Option<NaiveDate>,
    pub value: Money,
    /// The date of the exchange rate of `value`.
    pub value_date: NaiveDate,
    /// The organisation the money comes from (IATI `provider-org`), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_organisation_id: Option<Uuid>,
    /// The organisation it goes to (IATI `receiver-org`), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver_organisation_id: Option<Uuid>,
}

impl PlannedDisbursement {
    /// Builds row `index` of the `plannedDisbursements` input from its money given as the
    /// GraphQL `BigInt` string and currency code; the period and sign rules are checked by
    /// `setPlannedDisbursements`.
    ///
    /// # Errors
    /// [`ProjectError::Invalid`] naming `plannedDisbursements[index].value.minorUnits` or
    /// `.value.currency`.
    pub fn parse(
        index: usize,
        disbursement_type: BudgetType,
        (period_start, period_end): (NaiveDate, Option<NaiveDate>),
        minor_units: &str,
        currency: &str,
        value_date: NaiveDate,
    ) -> Result<Self, ProjectError> {
        let value = Money::parse(minor_units, currency).map_err(ProjectError::invalid_money(
            FieldPath::list("plannedDisbursements", index).field("value"),
        ))?;
        Ok(Self {
            disbursement_type,
            period_start,
            period_end,
            value,
            value_date,
            provider_organisation_id: None,
            receiver_organisation_id: None,
        })
    }
}

/// One transaction row as recorded (also the reversing row of a reversal).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionEntry {
    /// Generated by the caller (UUID v7).
    pub id: Uuid,
    #[serde(rename = "type")]
    pub transaction_type: TransactionType,
    /// Not in the future.
    pub date: NaiveDate,
    /// Never zero.
    pub value: Money,
    pub value_date: NaiveDate,
    pub description: Option<Description>,
    pub provider_organisation_id: Option<Uuid>,
    pub receiver_organisation_id: Option<Uuid>,
    #[serde(rename = "ref")]
    pub reference: Option<TransactionRef>,
    /// The transaction this one reverses, when it is a reversal.
    pub reverses: Option<Uuid>,
}

/// A transaction of a project: the recorded row plus the reversal that cancelled it.
///
/// Members without a value are left out of its JSON, and read back as `None`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    pub id: Uuid,
    pub transaction_type: TransactionType,
    pub date: NaiveDate,
    pub value: Money,
    pub value_date: NaiveDate,
    /// For a reversal: the reason given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Description>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_organisation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver_organisation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<TransactionRef>,
    /// The transaction this one reverses, when it is a reversal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverses: Option<Uuid>,
    /// The reversal that cancelled this transaction, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reversed_by: Option<Uuid>,
}

impl From<&TransactionEntry> for Transaction {
    fn from(entry: &TransactionEntry) -> Self {
        Self {
            id: entry.id,
            transaction_type: entry.transaction_type,
            date: entry.date,
            value: entry.value,
            value_date: entry.value_date,
            description: entry.description.clone(),
            provider_organisation_id: entry.provider_organisation_id,
            receiver_organisation_id: entry.receiver_organisation_id,
            reference: entry.reference.clone(),
            reverses: entry.reverses,
            reversed_by: None,
        }
    }
}

/// A project's transactions in recording order (reversals are transactions of their own), each
/// with the reversal that cancelled it.
///
/// They are not in the [`Project`] state: a project records transactions for as long as it runs,
/// and a state holding them would make every command on the project decode, evolve and write
/// them all again. Stores keep them as rows written from the events, and a command that needs
/// one carries it, looked up by the caller ([`KnownTransaction`]). This type folds them from
/// the events (for a project "as of" a log size, or a store that keeps no rows) or gathers them
/// from rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transactions {
    rows: Vec<Transaction>,
}

impl Transactions {
    /// The transactions `events` (a project's stream, in order) record.
    #[must_use]
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a ProjectEvent>) -> Self {
        let mut transactions = Self::default();
        for event in events {
            transactions.apply(event);
        }
        transactions
    }

    /// The transactions of `rows` (recorded rows in recording order, as a store keeps them,
    /// without `reversed_by`), each marked with the reversal among them that cancelled it.
    #[must_use]
    pub fn from_rows(mut rows: Vec<Transaction>) -> Self {
        let reversals: std::collections::HashMap<Uuid, Uuid> = rows
            .iter()
            .filter_map(|row| row.reverses.map(|original| (original, row.id)))
            .collect();
        for row in &mut rows {
            row.reversed_by = reversals.get(&row.id).copied();
        }
        Self { rows }
    }

    /// Adds what `event` records; other events change nothing.
    pub fn apply(&mut self, event: &ProjectEvent) {
        match event {
            ProjectEvent::TransactionRecorded(recorded) => {
                self.rows.push(Transaction::from(recorded));
            }
            ProjectEvent::TransactionReversed(reversed) => {
                if let Some(original) = self
                    .rows
                    .iter_mut()
                    .find(|t| t.id == reversed.transaction_id)
                {
                    original.reversed_by = Some(reversed.reversal.id);
                }
                self.rows.push(Transaction::from(&reversed.reversal));
            }
            _ => {}
        }
    }

    /// The transaction with this id.
    #[must_use]
    pub fn get(&self, id: Uuid) -> Option<&Transaction> {
        self.rows.iter().find(|t| t.id == id)
    }

    /// All of them, in recording order.
    #[must_use]
    pub fn as_slice(&self) -> &[Transaction] {
        &self.rows
    }

    /// How many there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// What a command naming transaction `id` carries, these being the project's transactions
    /// at its `version`.
    #[must_use]
    pub fn known(&self, id: Uuid, version: u64) -> KnownTransaction {
        KnownTransaction {
            id,
            row: self.get(id).cloned(),
            version,
        }
    }
}

/// A transaction a command names, as the caller looked it up among the project's rows, with the
/// project's version those rows were read at. The command reads the project at that version
/// ([`ProjectCommand::reads`]): it is decided only if the project is still there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownTransaction {
    pub id: Uuid,
    /// `None` when the project has no transaction with that id.
    pub row: Option<Transaction>,
    /// The project's version the rows were read at.
    pub version: u64,
}

/// A document linked to the project.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    pub url: WebUrl,
    pub title: Title,
    /// IATI DocumentCategory code, e.g. `A05`.
    #[serde(rename = "categoryCode")]
    pub category: DocumentCategory,
    /// MIME type, e.g. `application/pdf`.
    pub format: MimeType,
    pub date: Option<NaiveDate>,
}

/// A link to another project in Amanah.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelatedProject {
    pub project_id: Uuid,
    /// The related project's IATI identifier (what an IATI export writes as `@ref`).
    pub iati_identifier: IatiIdentifier,
    /// IATI RelatedActivityType code.
    #[serde(rename = "type")]
    pub relation: RelatedActivityType,
}

impl RelatedProject {
    /// Whether this is the relation `relation` to project `project_id`: what identifies a
    /// relation among a project's (the same project may be related in several ways).
    #[must_use]
    pub fn is(&self, project_id: Uuid, relation: RelatedActivityType) -> bool {
        self.project_id == project_id && self.relation == relation
    }
}

/// Another identifier of the project; type A3 names the project this one follows on from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OtherIdentifier {
    #[serde(rename = "ref")]
    pub reference: OtherIdentifierRef,
    /// IATI OtherIdentifierType code, e.g. `A3`.
    #[serde(rename = "typeCode")]
    pub identifier_type: OtherIdentifierType,
}

impl Aggregate for Project {
    const STREAM: StreamKind = StreamKind::Project;
    type Command = ProjectCommand;
    type Event = ProjectEvent;
    type Error = ProjectError;

    fn id(&self) -> Uuid {
        self.id
    }

    fn reads(command: &Self::Command) -> Vec<crate::ports::StreamRead> {
        command.reads()
    }

    fn decide(
        state: Option<&Self>,
        command: ProjectCommand,
        context: &DecisionContext,
    ) -> Result<Vec<ProjectEvent>, ProjectError> {
        decide::decide(state, command, context)
    }

    fn evolve(state: Option<Self>, event: &ProjectEvent) -> Option<Self> {
        let Some(mut project) = state else {
            return match event {
                ProjectEvent::ProjectRegistered(registered) => Some(registered.to_project()),
                _ => None,
            };
        };
        match event {
            ProjectEvent::ProjectRegistered(_) => return Some(project),
            ProjectEvent::ProjectRevised(revised) => {
                project.title = revised.title.clone();
                project.description = revised.description.clone();
                project.objectives = revised.objectives.clone();
                project.planned_start = revised.planned_start;
                project.planned_end = revised.planned_end;
                project.recipient_countries = revised.recipient_countries.clone();
                project.recipient_regions = revised.recipient_regions.clone();
                project.sectors = revised.sectors.clone();
            }
            ProjectEvent::ProjectStatusChanged(changed) => {
                project.status = changed.to;
                project.actual_start = changed.actual_start;
                project.actual_end = changed.actual_end;
            }
            ProjectEvent::ParticipatingOrganisationAdded(added) => {
                project.participating_organisations.push(*added);
            }
            ProjectEvent::ParticipatingOrganisationRemoved(removed) => {
                project.participating_organisations.retain(|p| p != removed);
            }
            ProjectEvent::BudgetSet(set) => project.budgets = set.budgets.clone(),
            ProjectEvent::TransactionRecorded(_) | ProjectEvent::TransactionReversed(_) => {
                project.transaction_count += 1;
            }
            ProjectEvent::DocumentAdded(added) => project.documents.push(added.clone()),
            ProjectEvent::RelatedProjectAdded(added) => {
                project.related_projects.push(added.clone());
            }
            ProjectEvent::OtherIdentifierAdded(added) => {
                project.other_identifiers.push(added.clone());
            }
            ProjectEvent::DocumentRemoved(removed) => {
                project.documents.retain(|d| d.url != removed.url);
            }
            ProjectEvent::RelatedProjectRemoved(removed) => {
                project
                    .related_projects
                    .retain(|r| !r.is(removed.project_id, removed.relation));
            }
            ProjectEvent::OtherIdentifierRemoved(removed) => {
                project.other_identifiers.retain(|o| o != removed);
            }
            ProjectEvent::ProjectDefaultsSet(set) => project.defaults = *set,
            ProjectEvent::ContactsSet(set) => project.contacts.clone_from(&set.contacts),
            ProjectEvent::LocationsSet(set) => project.locations.clone_from(&set.locations),
            ProjectEvent::PlannedDisbursementsSet(set) => {
                project
                    .planned_disbursements
                    .clone_from(&set.planned_disbursements);
            }
            ProjectEvent::PolicyMarkersSet(set) => {
                project.policy_markers.clone_from(&set.policy_markers);
            }
            ProjectEvent::ResultsSet(set) => project.results.clone_from(&set.results),
        }
        project.version += 1;
        Some(project)
    }
}

#[cfg(test)]
mod tests;
