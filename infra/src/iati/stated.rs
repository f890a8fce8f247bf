//! What one `iati-activity` says, in the domain's values: the first step of an import.
//!
//! Each element Amanah keeps is parsed with the domain's own value parsers, so a code not on its
//! list, a withdrawn code or a malformed amount is refused with the path of the element or
//! attribute at fault (`iati-activity/sector[2]/@code`). Organisations stay [`Mention`]s here:
//! the importer resolves them. What is not read here is not kept, and the importer reports it
//! by comparing the file with what it would write back.

use super::publish::AMANAH_NAMESPACE;
use super::read::Element;
use amanah_domain::activity::{ActivityLocation, Participants};
use amanah_domain::codelists::{
    ActivityKind, ActivityPartnerRole, ActivityStatus, AuditType, UncacChapter,
};
use amanah_domain::codelists::{
    BudgetStatus, BudgetType, OrganisationRole, OrganisationType, OtherIdentifierType,
    ProjectStatus, RelatedActivityType, TransactionType,
};
use amanah_domain::project::{
    AdministrativeArea, Baseline, Budget, Contact, Document, Indicator, IndicatorPeriod, Location,
    Measurement, OtherIdentifier, PlannedDisbursement, PolicyMarker, ProjectDefaults,
    ProjectResult, RecipientCountry, RecipientRegion, SectorShare,
};
use amanah_domain::values::City;
use amanah_domain::values::{
    AidType, AreaCode, CollaborationType, ContactType, CountryCode, CurrencyCode, Description,
    DocumentCategory, EmailAddress, FinanceType, FlowType, GeoPoint, GeographicVocabulary,
    IatiIdentifier, IndicatorMeasure, IndicatorValue, LanguageCode, MimeType, Money, Name, OrgRef,
    OtherIdentifierRef, Percentage, PolicyMarkerCode, PolicySignificance, RegionCode, ResultType,
    SectorCode, Telephone, TiedStatus, Title, TransactionRef, ValueError, WebUrl,
    parse_administrative_level,
};
use chrono::NaiveDate;
use uuid::Uuid;

/// Why an element could not be taken: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The element or attribute, e.g. `iati-activity/sector[2]/@code`, or the domain's input
    /// field for a rule the domain refused (`sectors`).
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// An organisation as an activity names it: by `@ref` when it has one, else by its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mention {
    pub org_ref: Option<OrgRef>,
    pub name: Option<Name>,
    pub organisation_type: Option<OrganisationType>,
}

/// A transaction as the file states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatedTransaction {
    pub transaction_type: TransactionType,
    pub date: NaiveDate,
    pub value: Money,
    pub value_date: NaiveDate,
    pub description: Option<Description>,
    pub provider: Option<Mention>,
    pub receiver: Option<Mention>,
    pub reference: Option<TransactionRef>,
}

/// An anti-corruption activity as the file states it (`amanah:activity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatedActivity {
    pub id: Uuid,
    pub kind: ActivityKind,
    pub status: ActivityStatus,
    pub audit_type: Option<AuditType>,
    pub title: Title,
    pub description: Description,
    pub uncac_chapters: Vec<UncacChapter>,
    pub partners: Vec<(Mention, ActivityPartnerRole)>,
    pub location: ActivityLocation,
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
    pub actual_start: Option<NaiveDate>,
    pub actual_end: Option<NaiveDate>,
    pub participants: Option<Participants>,
    pub outcome: Option<Description>,
    pub cancellation_reason: Option<Description>,
}

/// What an `iati-activity` says that Amanah keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stated {
    pub identifier: IatiIdentifier,
    pub reporting: Mention,
    pub title: Title,
    pub description: Description,
    pub objectives: Option<Description>,
    pub status: ProjectStatus,
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
    pub actual_start: Option<NaiveDate>,
    pub actual_end: Option<NaiveDate>,
    pub participants: Vec<(Mention, OrganisationRole)>,
    pub other_identifiers: Vec<OtherIdentifier>,
    pub contacts: Vec<Contact>,
    pub recipient_countries: Vec<RecipientCountry>,
    pub recipient_regions: Vec<RecipientRegion>,
    pub locations: Vec<Location>,
    pub sectors: Vec<SectorShare>,
    pub policy_markers: Vec<PolicyMarker>,
    /// `@xml:lang` included as written; the importer decides what it means for the project.
    pub defaults: ProjectDefaults,
    pub budgets: Vec<Budget>,
    /// Their organisations not resolved yet: see `planned_parties`.
    pub planned_disbursements: Vec<PlannedDisbursement>,
    /// The provider and receiver each planned disbursement names, in order.
    pub planned_parties: Vec<(Option<Mention>, Option<Mention>)>,
    pub transactions: Vec<StatedTransaction>,
    pub documents: Vec<Document>,
    pub related: Vec<(IatiIdentifier, RelatedActivityType)>,
    pub results: Vec<ProjectResult>,
    /// The project's anti-corruption activities, in Amanah's namespace.
    pub activities: Vec<StatedActivity>,
}

/// Collects the problems of one activity while it is read, so that the report lists them all.
#[derive(Debug, Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, field: String, message: impl Into<String>) {
        self.0.push(Problem {
            field: Some(field),
            message: message.into(),
        });
    }

    fn take<T>(
        &mut self,
        field: impl FnOnce() -> String,
        result: Result<T, ValueError>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.add(field(), error.to_string());
                None
            }
        }
    }

    /// The date `raw` written at `field`; a problem when it is not a date, or when it is
    /// `required` and missing.
    fn date(&mut self, field: String, raw: Option<&str>, required: bool) -> Option<NaiveDate> {
        match raw.map(date) {
            Some(Ok(on)) => Some(on),
            Some(Err(message)) => {
                self.add(field, message);
                None
            }
            None => {
                if required {
                    self.add(field, "is missing");
                }
                None
            }
        }
    }
}

/// The text of child `name`'s first narrative, parsed, when the child has one.
fn optional_text<T>(
    element: &Element,
    name: &str,
    path: &str,
    problems: &mut Problems,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Option<T> {
    let text = element.child(name).and_then(narrative)?;
    problems.take(|| format!("{path}/{name}/narrative"), parse(text))
}

/// An element's path for the report: `iati-activity/sector[2]` (1-based, as XPath counts).
fn indexed(parent: &str, name: &str, index: usize) -> String {
    format!("{parent}/{name}[{}]", index + 1)
}

/// The text of the first `narrative` of `element`, trimmed (IATI files are often indented).
fn narrative(element: &Element) -> Option<&str> {
    element
        .child("narrative")
        .map(|narrative| narrative.text.trim())
        .filter(|text| !text.is_empty())
}

fn date(raw: &str) -> Result<NaiveDate, String> {
    // xsd:date may carry a time zone (2016-07-01Z, 2016-07-01+07:00): the day is what counts.
    raw.get(..10)
        .and_then(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
        .ok_or_else(|| format!("`{raw}` is not a date (YYYY-MM-DD)"))
}

/// Reads an `iati-activity`.
///
/// # Errors
/// Every problem found, each with its path.
pub fn stated(activity: &Element) -> Result<Stated, Vec<Problem>> {
    let mut problems = Problems::default();
    let root = "iati-activity";
    let at = |path: &str| format!("{root}/{path}");

    let identifier = match activity.child("iati-identifier") {
        Some(element) => problems.take(
            || at("iati-identifier"),
            IatiIdentifier::parse(element.text.trim()),
        ),
        None => {
            problems.add(at("iati-identifier"), "is missing");
            None
        }
    };
    let currency = activity
        .attribute("default-currency")
        .and_then(|code| problems.take(|| at("@default-currency"), CurrencyCode::parse(code)));
    let language = activity
        .attribute("xml:lang")
        .and_then(|code| problems.take(|| at("@xml:lang"), LanguageCode::parse(code)));

    let reporting = match activity.child("reporting-org") {
        Some(element) => mention(element, &at("reporting-org"), &mut problems),
        None => {
            problems.add(at("reporting-org"), "is missing");
            None
        }
    };
    let title = text_of(
        activity.child("title"),
        &at("title"),
        &mut problems,
        Title::parse,
    );
    let mut description = None;
    let mut objectives = None;
    for (index, element) in activity.children_named("description").enumerate() {
        let path = indexed(root, "description", index);
        match element.attribute("type").unwrap_or("1") {
            "1" if description.is_none() => {
                description = text_of(Some(element), &path, &mut problems, Description::parse);
            }
            "2" if objectives.is_none() => {
                objectives = text_of(Some(element), &path, &mut problems, Description::parse);
            }
            // Other types (target groups, other) and repeats are not kept: the report says so.
            _ => {}
        }
    }
    if description.is_none()
        && !problems.0.iter().any(|p| {
            p.field
                .as_deref()
                .is_some_and(|f| f.starts_with(&at("description")))
        })
    {
        problems.add(
            at("description"),
            "Amanah needs a general description (type 1) with a narrative",
        );
    }

    let mut participants = Vec::new();
    for (index, element) in activity.children_named("participating-org").enumerate() {
        let path = indexed(root, "participating-org", index);
        let role = element
            .attribute("role")
            .map(|code| problems.take(|| format!("{path}/@role"), OrganisationRole::parse(code)));
        let org = mention(element, &path, &mut problems);
        if let (Some(Some(role)), Some(org)) = (role, org) {
            participants.push((org, role));
        }
    }

    let mut other_identifiers = Vec::new();
    for (index, element) in activity.children_named("other-identifier").enumerate() {
        let path = indexed(root, "other-identifier", index);
        let reference = element
            .attribute("ref")
            .map(|raw| problems.take(|| format!("{path}/@ref"), OtherIdentifierRef::parse(raw)));
        let identifier_type = element
            .attribute("type")
            .map(|raw| problems.take(|| format!("{path}/@type"), OtherIdentifierType::parse(raw)));
        match (reference, identifier_type) {
            (Some(Some(reference)), Some(Some(identifier_type))) => {
                other_identifiers.push(OtherIdentifier {
                    reference,
                    identifier_type,
                });
            }
            (None, _) | (_, None) => problems.add(
                path,
                "Amanah keeps an other identifier with its @ref and @type",
            ),
            _ => {}
        }
    }

    let status = match activity
        .child("activity-status")
        .and_then(|s| s.attribute("code"))
    {
        Some(code) => problems.take(|| at("activity-status/@code"), ProjectStatus::parse(code)),
        None => {
            problems.add(at("activity-status"), "is missing");
            None
        }
    };

    let mut dates: [Option<NaiveDate>; 4] = [None; 4];
    for (index, element) in activity.children_named("activity-date").enumerate() {
        let path = indexed(root, "activity-date", index);
        let slot = match element.attribute("type") {
            Some("1") => 0,
            Some("2") => 1,
            Some("3") => 2,
            Some("4") => 3,
            _ => continue,
        };
        dates[slot] = problems.date(
            format!("{path}/@iso-date"),
            element.attribute("iso-date"),
            true,
        );
    }
    let [planned_start, actual_start, planned_end, actual_end] = dates;
    if planned_start.is_none() {
        problems.add(
            at("activity-date"),
            "Amanah needs the planned start (type 1)",
        );
    }
    if planned_end.is_none() {
        problems.add(at("activity-date"), "Amanah needs the planned end (type 3)");
    }

    let contacts = activity
        .children_named("contact-info")
        .enumerate()
        .map(|(index, element)| {
            contact(
                element,
                &indexed(root, "contact-info", index),
                &mut problems,
            )
        })
        .collect();

    let mut recipient_countries = Vec::new();
    for (index, element) in activity.children_named("recipient-country").enumerate() {
        let path = indexed(root, "recipient-country", index);
        let country = required(element, "code", &path, &mut problems, CountryCode::parse);
        let percentage = percentage(element, &path, &mut problems);
        if let (Some(country), Some(percentage)) = (country, percentage) {
            recipient_countries.push(RecipientCountry {
                country,
                percentage,
            });
        }
    }
    let mut recipient_regions = Vec::new();
    for (index, element) in activity.children_named("recipient-region").enumerate() {
        // Vocabulary 1 (OECD DAC) is the one Amanah keeps; others are reported as not kept.
        if element.attribute("vocabulary").is_some_and(|v| v != "1") {
            continue;
        }
        let path = indexed(root, "recipient-region", index);
        let region = required(element, "code", &path, &mut problems, RegionCode::parse);
        let percentage = percentage(element, &path, &mut problems);
        if let (Some(region), Some(percentage)) = (region, percentage) {
            recipient_regions.push(RecipientRegion { region, percentage });
        }
    }

    let locations = activity
        .children_named("location")
        .enumerate()
        .filter_map(|(index, element)| {
            location(element, &indexed(root, "location", index), &mut problems)
        })
        .collect();

    let mut sectors = Vec::new();
    for (index, element) in activity.children_named("sector").enumerate() {
        if element.attribute("vocabulary").is_some_and(|v| v != "1") {
            continue;
        }
        let path = indexed(root, "sector", index);
        let sector = required(element, "code", &path, &mut problems, SectorCode::parse);
        let percentage = percentage(element, &path, &mut problems);
        if let (Some(sector), Some(percentage)) = (sector, percentage) {
            sectors.push(SectorShare { sector, percentage });
        }
    }

    let mut policy_markers = Vec::new();
    for (index, element) in activity.children_named("policy-marker").enumerate() {
        if element.attribute("vocabulary").is_some_and(|v| v != "1") {
            continue;
        }
        let path = indexed(root, "policy-marker", index);
        let code = required(
            element,
            "code",
            &path,
            &mut problems,
            PolicyMarkerCode::parse,
        );
        let significance = required(
            element,
            "significance",
            &path,
            &mut problems,
            PolicySignificance::parse,
        );
        if let (Some(code), Some(significance)) = (code, significance) {
            policy_markers.push(PolicyMarker { code, significance });
        }
    }

    let code_of = |name: &str| {
        activity
            .child(name)
            .and_then(|element| element.attribute("code"))
            .map(|code| (format!("{root}/{name}/@code"), code.to_owned()))
    };
    let collaboration = code_of("collaboration-type");
    let flow = code_of("default-flow-type");
    let finance = code_of("default-finance-type");
    let aid = activity
        .child("default-aid-type")
        .filter(|element| element.attribute("vocabulary").is_none_or(|v| v == "1"))
        .and_then(|element| element.attribute("code"))
        .map(|code| (at("default-aid-type/@code"), code.to_owned()));
    let tied = code_of("default-tied-status");
    let defaults = ProjectDefaults {
        currency,
        language,
        collaboration_type: collaboration
            .and_then(|(path, code)| problems.take(|| path, CollaborationType::parse(&code))),
        flow_type: flow.and_then(|(path, code)| problems.take(|| path, FlowType::parse(&code))),
        finance_type: finance
            .and_then(|(path, code)| problems.take(|| path, FinanceType::parse(&code))),
        aid_type: aid.and_then(|(path, code)| problems.take(|| path, AidType::parse(&code))),
        tied_status: tied.and_then(|(path, code)| problems.take(|| path, TiedStatus::parse(&code))),
    };

    let mut budgets = Vec::new();
    for (index, element) in activity.children_named("budget").enumerate() {
        let path = indexed(root, "budget", index);
        let budget_type = optional_code(element, "type", &path, &mut problems, BudgetType::parse)
            .unwrap_or(BudgetType::Original);
        let status = optional_code(element, "status", &path, &mut problems, BudgetStatus::parse)
            .unwrap_or(BudgetStatus::Indicative);
        let start = period(element, "period-start", &path, &mut problems);
        let end = period(element, "period-end", &path, &mut problems);
        let value = value(element, &path, currency, &mut problems);
        if let (Some(period_start), Some(period_end), Some((value, value_date))) =
            (start, end, value)
        {
            budgets.push(Budget {
                budget_type,
                status,
                period_start,
                period_end,
                value,
                value_date,
            });
        }
    }

    let mut planned_disbursements = Vec::new();
    let mut planned_parties = Vec::new();
    for (index, element) in activity.children_named("planned-disbursement").enumerate() {
        let path = indexed(root, "planned-disbursement", index);
        let disbursement_type =
            optional_code(element, "type", &path, &mut problems, BudgetType::parse)
                .unwrap_or(BudgetType::Original);
        let start = period(element, "period-start", &path, &mut problems);
        let end = element
            .child("period-end")
            .and_then(|_| period(element, "period-end", &path, &mut problems));
        let value = value(element, &path, currency, &mut problems);
        let provider = element
            .child("provider-org")
            .and_then(|org| mention(org, &format!("{path}/provider-org"), &mut problems));
        let receiver = element
            .child("receiver-org")
            .and_then(|org| mention(org, &format!("{path}/receiver-org"), &mut problems));
        if let (Some(period_start), Some((value, value_date))) = (start, value) {
            planned_disbursements.push(PlannedDisbursement {
                disbursement_type,
                period_start,
                period_end: end,
                value,
                value_date,
                // Set by the importer once it has resolved the organisations.
                provider_organisation_id: None,
                receiver_organisation_id: None,
            });
            planned_parties.push((provider, receiver));
        }
    }

    let transactions = activity
        .children_named("transaction")
        .enumerate()
        .filter_map(|(index, element)| {
            transaction(
                element,
                &indexed(root, "transaction", index),
                currency,
                &mut problems,
            )
        })
        .collect();

    let mut documents = Vec::new();
    for (index, element) in activity.children_named("document-link").enumerate() {
        let path = indexed(root, "document-link", index);
        let url = required(element, "url", &path, &mut problems, WebUrl::parse);
        let format = required(element, "format", &path, &mut problems, MimeType::parse);
        let title = text_of(
            element.child("title"),
            &format!("{path}/title"),
            &mut problems,
            Title::parse,
        );
        let category = match element.child("category").and_then(|c| c.attribute("code")) {
            Some(code) => problems.take(
                || format!("{path}/category/@code"),
                DocumentCategory::parse(code),
            ),
            None => {
                problems.add(
                    format!("{path}/category"),
                    "Amanah keeps a document with its category",
                );
                None
            }
        };
        let on = problems.date(
            format!("{path}/document-date/@iso-date"),
            element
                .child("document-date")
                .and_then(|d| d.attribute("iso-date")),
            false,
        );
        if let (Some(url), Some(format), Some(title), Some(category)) =
            (url, format, title, category)
        {
            documents.push(Document {
                url,
                title,
                category,
                format,
                date: on,
            });
        }
    }

    let mut related = Vec::new();
    for (index, element) in activity.children_named("related-activity").enumerate() {
        let path = indexed(root, "related-activity", index);
        let reference = required(element, "ref", &path, &mut problems, IatiIdentifier::parse);
        let relation = required(
            element,
            "type",
            &path,
            &mut problems,
            RelatedActivityType::parse,
        );
        if let (Some(reference), Some(relation)) = (reference, relation) {
            related.push((reference, relation));
        }
    }

    let results = activity
        .children_named("result")
        .enumerate()
        .filter_map(|(index, element)| {
            project_result(element, &indexed(root, "result", index), &mut problems)
        })
        .collect();

    let activities = activity
        .children_in(AMANAH_NAMESPACE, "activity")
        .enumerate()
        .filter_map(|(index, element)| {
            anti_corruption_activity(element, &indexed(root, &element.name, index), &mut problems)
        })
        .collect();

    match (
        identifier,
        reporting,
        title,
        description,
        status,
        planned_start,
        planned_end,
    ) {
        (
            Some(identifier),
            Some(reporting),
            Some(title),
            Some(description),
            Some(status),
            Some(planned_start),
            Some(planned_end),
        ) if problems.0.is_empty() => Ok(Stated {
            identifier,
            reporting,
            title,
            description,
            objectives,
            status,
            planned_start,
            planned_end,
            actual_start,
            actual_end,
            participants,
            other_identifiers,
            contacts,
            recipient_countries,
            recipient_regions,
            locations,
            sectors,
            policy_markers,
            defaults,
            budgets,
            planned_disbursements,
            planned_parties,
            transactions,
            documents,
            related,
            results,
            activities,
        }),
        _ => Err(problems.0),
    }
}

/// An organisation named by `element` (`@ref`, `@type`, the first narrative).
fn mention(element: &Element, path: &str, problems: &mut Problems) -> Option<Mention> {
    let org_ref = element
        .attribute("ref")
        .filter(|raw| !raw.trim().is_empty())
        .map(|raw| problems.take(|| format!("{path}/@ref"), OrgRef::parse(raw.trim())));
    let organisation_type = element
        .attribute("type")
        .map(|raw| problems.take(|| format!("{path}/@type"), OrganisationType::parse(raw)));
    let name = narrative(element)
        .map(|text| problems.take(|| format!("{path}/narrative"), Name::parse(text)));
    if matches!(org_ref, Some(None))
        || matches!(organisation_type, Some(None))
        || matches!(name, Some(None))
    {
        return None;
    }
    let mention = Mention {
        org_ref: org_ref.flatten(),
        name: name.flatten(),
        organisation_type: organisation_type.flatten(),
    };
    if mention.org_ref.is_none() && mention.name.is_none() {
        problems.add(
            path.to_owned(),
            "Amanah identifies an organisation by its @ref or, without one, by its name",
        );
        return None;
    }
    Some(mention)
}

/// The first narrative of `element`, parsed; a missing element or narrative is a problem.
fn text_of<T>(
    element: Option<&Element>,
    path: &str,
    problems: &mut Problems,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Option<T> {
    match element.and_then(narrative) {
        Some(text) => problems.take(|| format!("{path}/narrative"), parse(text)),
        None => {
            problems.add(path.to_owned(), "Amanah needs this text (a narrative)");
            None
        }
    }
}

fn required<T>(
    element: &Element,
    attribute: &str,
    path: &str,
    problems: &mut Problems,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Option<T> {
    match element.attribute(attribute) {
        Some(raw) => problems.take(|| format!("{path}/@{attribute}"), parse(raw)),
        None => {
            problems.add(format!("{path}/@{attribute}"), "is missing");
            None
        }
    }
}

fn optional_code<T>(
    element: &Element,
    attribute: &str,
    path: &str,
    problems: &mut Problems,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Option<T> {
    element
        .attribute(attribute)
        .and_then(|raw| problems.take(|| format!("{path}/@{attribute}"), parse(raw)))
}

fn percentage(element: &Element, path: &str, problems: &mut Problems) -> Option<Percentage> {
    // Amanah keeps a share with every row; IATI's single country or sector may omit it (100 %).
    match element.attribute("percentage") {
        Some(raw) => problems.take(|| format!("{path}/@percentage"), Percentage::parse(raw)),
        None => problems.take(|| format!("{path}/@percentage"), Percentage::parse("100")),
    }
}

fn period(element: &Element, name: &str, path: &str, problems: &mut Problems) -> Option<NaiveDate> {
    let field = format!("{path}/{name}/@iso-date");
    problems.date(
        field,
        element.child(name).and_then(|p| p.attribute("iso-date")),
        true,
    )
}

/// The `value` child: the amount in its `@currency` (or the activity's default) and its
/// `@value-date`.
fn value(
    element: &Element,
    path: &str,
    default_currency: Option<CurrencyCode>,
    problems: &mut Problems,
) -> Option<(Money, NaiveDate)> {
    let field = format!("{path}/value");
    let Some(value) = element.child("value") else {
        problems.add(field, "is missing");
        return None;
    };
    let currency = match value.attribute("currency") {
        Some(code) => problems.take(|| format!("{field}/@currency"), CurrencyCode::parse(code))?,
        None => {
            let Some(currency) = default_currency else {
                problems.add(
                    format!("{field}/@currency"),
                    "is missing, and the activity has no @default-currency",
                );
                return None;
            };
            currency
        }
    };
    let money = problems.take(
        || field.clone(),
        Money::parse_decimal(value.text.trim(), currency),
    );
    let value_date = problems.date(
        format!("{field}/@value-date"),
        value.attribute("value-date"),
        true,
    );
    Some((money?, value_date?))
}

fn transaction(
    element: &Element,
    path: &str,
    currency: Option<CurrencyCode>,
    problems: &mut Problems,
) -> Option<StatedTransaction> {
    let transaction_type = match element
        .child("transaction-type")
        .and_then(|t| t.attribute("code"))
    {
        Some(code) => problems.take(
            || format!("{path}/transaction-type/@code"),
            TransactionType::parse(code),
        ),
        None => {
            problems.add(format!("{path}/transaction-type"), "is missing");
            None
        }
    };
    let on = problems.date(
        format!("{path}/transaction-date/@iso-date"),
        element
            .child("transaction-date")
            .and_then(|d| d.attribute("iso-date")),
        true,
    );
    let value = value(element, path, currency, problems);
    let description = optional_text(element, "description", path, problems, Description::parse);
    let provider = element
        .child("provider-org")
        .and_then(|org| mention(org, &format!("{path}/provider-org"), problems));
    let receiver = element
        .child("receiver-org")
        .and_then(|org| mention(org, &format!("{path}/receiver-org"), problems));
    let reference = element
        .attribute("ref")
        .and_then(|raw| problems.take(|| format!("{path}/@ref"), TransactionRef::parse(raw)));
    let (value, value_date) = value?;
    Some(StatedTransaction {
        transaction_type: transaction_type?,
        date: on?,
        value,
        value_date,
        description,
        provider,
        receiver,
        reference,
    })
}

fn contact(element: &Element, path: &str, problems: &mut Problems) -> Contact {
    Contact {
        contact_type: element
            .attribute("type")
            .and_then(|code| problems.take(|| format!("{path}/@type"), ContactType::parse(code))),
        organisation: optional_text(element, "organisation", path, problems, Name::parse),
        department: optional_text(element, "department", path, problems, Name::parse),
        person_name: optional_text(element, "person-name", path, problems, Name::parse),
        job_title: optional_text(element, "job-title", path, problems, Title::parse),
        telephone: plain_text(element, "telephone", path, problems, Telephone::parse),
        email: plain_text(element, "email", path, problems, EmailAddress::parse),
        website: plain_text(element, "website", path, problems, WebUrl::parse),
        mailing_address: optional_text(
            element,
            "mailing-address",
            path,
            problems,
            Description::parse,
        ),
    }
}

/// The text of child `name` itself (not a narrative), trimmed and parsed, when it has one.
fn plain_text<T>(
    element: &Element,
    name: &str,
    path: &str,
    problems: &mut Problems,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Option<T> {
    let text = element
        .child(name)
        .map(|child| child.text.trim())
        .filter(|text| !text.is_empty())?;
    problems.take(|| format!("{path}/{name}"), parse(text))
}

fn location(element: &Element, path: &str, problems: &mut Problems) -> Option<Location> {
    let name = text_of(
        element.child("name"),
        &format!("{path}/name"),
        problems,
        Name::parse,
    );
    let description = optional_text(element, "description", path, problems, Description::parse);
    let administrative = element.child("administrative").and_then(|area| {
        let field = format!("{path}/administrative");
        let vocabulary = required(
            area,
            "vocabulary",
            &field,
            problems,
            GeographicVocabulary::parse,
        );
        let code = required(area, "code", &field, problems, AreaCode::parse);
        let level = match area.attribute("level") {
            Some(raw) => match raw.parse::<i64>() {
                Ok(level) => Some(problems.take(
                    || format!("{field}/@level"),
                    parse_administrative_level(level),
                )?),
                Err(_) => {
                    problems.add(
                        format!("{field}/@level"),
                        format!("`{raw}` is not an integer"),
                    );
                    return None;
                }
            },
            None => None,
        };
        Some(AdministrativeArea {
            vocabulary: vocabulary?,
            level,
            code: code?,
        })
    });
    let point = element.child("point").and_then(|point| {
        let field = format!("{path}/point/pos");
        let Some(pos) = point.child("pos") else {
            problems.add(field, "is missing");
            return None;
        };
        let mut parts = pos.text.split_whitespace();
        match (parts.next(), parts.next(), parts.next()) {
            (Some(latitude), Some(longitude), None) => match GeoPoint::parse(latitude, longitude) {
                Ok(point) => Some(point),
                Err((part, error)) => {
                    problems.add(format!("{field} ({part})"), error.to_string());
                    None
                }
            },
            _ => {
                problems.add(
                    field,
                    "must be a latitude and a longitude separated by a space",
                );
                None
            }
        }
    });
    Some(Location {
        name: name?,
        description,
        point,
        administrative,
    })
}

/// An `amanah:activity` (the prefix is the file's own; the namespace is what counts).
fn anti_corruption_activity(
    element: &Element,
    path: &str,
    problems: &mut Problems,
) -> Option<StatedActivity> {
    let children = |local: &'static str| element.children_in(AMANAH_NAMESPACE, local);
    let text = |local: &'static str| {
        children(local).next().map(|child| {
            (
                format!("{path}/{}", child.name),
                child.text.trim().to_owned(),
            )
        })
    };
    let id = match element.attribute("id").map(Uuid::parse_str) {
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            problems.add(format!("{path}/@id"), "is not a UUID");
            None
        }
        None => {
            problems.add(format!("{path}/@id"), "is missing");
            None
        }
    };
    let kind = required(element, "kind", path, problems, |raw| {
        ActivityKind::from_name(raw).ok_or_else(|| ValueError::UnknownCode {
            list: "ActivityKind",
            code: raw.to_owned(),
        })
    });
    let status = required(element, "status", path, problems, |raw| {
        ActivityStatus::from_name(raw).ok_or_else(|| ValueError::UnknownCode {
            list: "ActivityStatus",
            code: raw.to_owned(),
        })
    });
    let audit_type = optional_code(element, "audit-type", path, problems, |raw| {
        AuditType::from_name(raw).ok_or_else(|| ValueError::UnknownCode {
            list: "AuditType",
            code: raw.to_owned(),
        })
    });
    let texts = |local: &'static str, problems: &mut Problems| {
        text(local).and_then(|(field, raw)| problems.take(|| field, Description::parse(&raw)))
    };
    let outcome = texts("outcome", problems);
    let cancellation_reason = texts("cancellation-reason", problems);
    let description = match text("description") {
        Some((field, raw)) => problems.take(|| field, Description::parse(&raw)),
        None => {
            problems.add(format!("{path}/amanah:description"), "is missing");
            None
        }
    };
    let title = match text("title") {
        Some((field, raw)) => problems.take(|| field, Title::parse(&raw)),
        None => {
            problems.add(format!("{path}/amanah:title"), "is missing");
            None
        }
    };
    let uncac_chapters = children("uncac-chapter")
        .enumerate()
        .filter_map(|(index, chapter)| {
            required(
                chapter,
                "code",
                &indexed(path, &chapter.name, index),
                problems,
                |raw| {
                    UncacChapter::from_name(raw).ok_or_else(|| ValueError::UnknownCode {
                        list: "UncacChapter",
                        code: raw.to_owned(),
                    })
                },
            )
        })
        .collect();
    let mut partners = Vec::new();
    for (index, partner) in children("partner").enumerate() {
        let field = indexed(path, &partner.name, index);
        let role = required(partner, "role", &field, problems, |raw| {
            ActivityPartnerRole::from_name(raw).ok_or_else(|| ValueError::UnknownCode {
                list: "ActivityPartnerRole",
                code: raw.to_owned(),
            })
        });
        let org_ref = partner
            .attribute("ref")
            .map(|raw| problems.take(|| format!("{field}/@ref"), OrgRef::parse(raw)));
        let name = partner
            .attribute("name")
            .map(|raw| problems.take(|| format!("{field}/@name"), Name::parse(raw)));
        if matches!(org_ref, Some(None)) || matches!(name, Some(None)) {
            continue;
        }
        let (org_ref, name) = (org_ref.flatten(), name.flatten());
        if org_ref.is_none() && name.is_none() {
            problems.add(field, "Amanah identifies a partner by its @ref or @name");
            continue;
        }
        if let Some(role) = role {
            partners.push((
                Mention {
                    org_ref,
                    name,
                    organisation_type: None,
                },
                role,
            ));
        }
    }
    let location = children("location").next().and_then(|place| {
        let field = format!("{path}/{}", place.name);
        if place.attribute("online") == Some("true") {
            return Some(ActivityLocation::Online);
        }
        let country = required(place, "country", &field, problems, CountryCode::parse)?;
        let city = match place.attribute("city") {
            Some(raw) => Some(problems.take(|| format!("{field}/@city"), City::parse(raw))?),
            None => None,
        };
        Some(ActivityLocation::Site { country, city })
    });
    let mut dates: [Option<NaiveDate>; 4] = [None; 4];
    for (index, on) in children("date").enumerate() {
        let field = indexed(path, &on.name, index);
        let slot = match on.attribute("type") {
            Some("planned-start") => 0,
            Some("planned-end") => 1,
            Some("actual-start") => 2,
            Some("actual-end") => 3,
            _ => continue,
        };
        dates[slot] = problems.date(format!("{field}/@iso-date"), on.attribute("iso-date"), true);
    }
    let [planned_start, planned_end, actual_start, actual_end] = dates;
    let participants = children("participants").next().and_then(|counts| {
        let field = format!("{path}/{}", counts.name);
        let number = |name: &str, problems: &mut Problems| -> Option<i64> {
            match counts.attribute(name).unwrap_or("0").parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    problems.add(format!("{field}/@{name}"), "is not an integer");
                    None
                }
            }
        };
        let total = number("total", problems)?;
        let female = number("female", problems)?;
        let male = number("male", problems)?;
        let undisclosed = number("undisclosed", problems)?;
        let mut by_country = Vec::new();
        for country in counts.children_in(AMANAH_NAMESPACE, "country") {
            let code = country.attribute("code").unwrap_or_default().to_owned();
            let count = country
                .attribute("count")
                .and_then(|raw| raw.parse::<i64>().ok())
                .unwrap_or(-1);
            by_country.push((code, count));
        }
        match Participants::parse(total, female, male, undisclosed, &by_country) {
            Ok(participants) => Some(participants),
            Err(error) => {
                problems.add(field, error.to_string());
                None
            }
        }
    });
    if planned_start.is_none() || planned_end.is_none() {
        problems.add(
            format!("{path}/amanah:date"),
            "Amanah needs the planned start and end of an activity",
        );
    }
    if location.is_none() && children("location").next().is_none() {
        problems.add(format!("{path}/amanah:location"), "is missing");
    }
    Some(StatedActivity {
        id: id?,
        kind: kind?,
        status: status?,
        audit_type,
        title: title?,
        description: description?,
        uncac_chapters,
        partners,
        location: location?,
        planned_start: planned_start?,
        planned_end: planned_end?,
        actual_start,
        actual_end,
        participants,
        outcome,
        cancellation_reason,
    })
}

/// A `result`: its type, title, description and indicators (the first baseline, target and
/// actual of each; a qualitative indicator's values are not kept, as the Standard asks).
fn project_result(element: &Element, path: &str, problems: &mut Problems) -> Option<ProjectResult> {
    let result_type = required(element, "type", path, problems, ResultType::parse);
    let title = text_of(
        element.child("title"),
        &format!("{path}/title"),
        problems,
        Title::parse,
    );
    let description = optional_text(element, "description", path, problems, Description::parse);
    let indicators: Vec<Indicator> = element
        .children_named("indicator")
        .enumerate()
        .filter_map(|(index, indicator)| {
            result_indicator(indicator, &indexed(path, "indicator", index), problems)
        })
        .collect();
    Some(ProjectResult {
        result_type: result_type?,
        title: title?,
        description,
        indicators,
    })
}

fn result_indicator(element: &Element, path: &str, problems: &mut Problems) -> Option<Indicator> {
    let measure = required(element, "measure", path, problems, IndicatorMeasure::parse)?;
    let value = |element: &Element, field: &str, problems: &mut Problems| {
        if measure.is_qualitative() {
            return None;
        }
        element.attribute("value").and_then(|raw| {
            problems.take(
                || format!("{field}/@value"),
                IndicatorValue::parse(raw.trim()),
            )
        })
    };
    let comment = |element: &Element, field: &str, problems: &mut Problems| {
        optional_text(element, "comment", field, problems, Description::parse)
    };
    let ascending = match element.attribute("ascending") {
        Some("1" | "true") => Some(true),
        Some("0" | "false") => Some(false),
        _ => None,
    };
    let title = text_of(
        element.child("title"),
        &format!("{path}/title"),
        problems,
        Title::parse,
    );
    let description = optional_text(element, "description", path, problems, Description::parse);
    let baseline = element.child("baseline").and_then(|baseline| {
        let field = format!("{path}/baseline[1]");
        let year = match baseline
            .attribute("year")
            .map(|raw| raw.trim().parse::<u16>())
        {
            Some(Ok(year)) if year > 0 => year,
            _ => {
                problems.add(format!("{field}/@year"), "must be a year such as 2016");
                return None;
            }
        };
        let on = problems.date(
            format!("{field}/@iso-date"),
            baseline.attribute("iso-date"),
            false,
        );
        Some(Baseline {
            year,
            date: on,
            value: value(baseline, &field, problems),
            comment: comment(baseline, &field, problems),
        })
    });
    let mut periods = Vec::new();
    for (index, period) in element.children_named("period").enumerate() {
        let field = indexed(path, "period", index);
        let start = self::period(period, "period-start", &field, problems);
        let end = self::period(period, "period-end", &field, problems);
        let measured = |name: &str, problems: &mut Problems| {
            period.child(name).map(|measured| {
                let field = format!("{field}/{name}[1]");
                Measurement {
                    value: value(measured, &field, problems),
                    comment: comment(measured, &field, problems),
                }
            })
        };
        let target = measured("target", problems);
        let actual = measured("actual", problems);
        if let (Some(period_start), Some(period_end)) = (start, end) {
            periods.push(IndicatorPeriod {
                period_start,
                period_end,
                target,
                actual,
            });
        }
    }
    Some(Indicator {
        measure,
        ascending,
        title: title?,
        description,
        baseline,
        periods,
    })
}
