//! The IATI 2.03 activity and organisation files, written from the domain's states.
//!
//! Each project is one `iati-activity`, its elements in the order the schema's sequence demands;
//! its anti-corruption activities follow as `amanah:activity` elements in [`AMANAH_NAMESPACE`]
//! (the schema ends `iati-activity` with `xsd:any namespace="##other"`, so they stay valid IATI).
//! Amounts are decimals in the currency's units with `@currency` on every value; text is written
//! in [`TEXT_LANGUAGE`]. A file is written piece by piece (start, one piece per record, end), so
//! a caller can stream it page by page in bounded memory.

use std::collections::HashMap;

use amanah_domain::{
    activity::{Activity, ActivityLocation},
    codelists::{ActivityDateType, UncacChapter},
    organisation::Organisation,
    project::{Contact, Project, ProjectResult, Transaction},
    values::Money,
};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use uuid::Uuid;

use super::xml::XmlWriter;

/// The IATI Standard version the files declare and are valid against.
pub const IATI_VERSION: &str = "2.03";

/// The namespace of Amanah's own elements (the anti-corruption activities of a project).
pub const AMANAH_NAMESPACE: &str = "urn:x-amanah:iati-extension:1";

/// The reference system of every `location/point`: WGS 84 latitude and longitude.
pub const WGS84: &str = "http://www.opengis.net/def/crs/EPSG/0/4326";

/// The language of Amanah's texts (`xml:lang` on each organisation, and on each activity whose
/// project sets no default language).
pub const TEXT_LANGUAGE: &str = "en";

/// What one `iati-activity` is written from.
#[derive(Debug, Clone, Copy)]
pub struct ActivityRecord<'a> {
    pub project: &'a Project,
    /// The project's transactions, in recording order.
    pub transactions: &'a [Transaction],
    /// The project's anti-corruption activities.
    pub activities: &'a [Activity],
    /// Every organisation the project and its activities name, by id; one missing is written
    /// with what the project itself records of it (its `ref` for the reporting organisation).
    pub organisations: &'a HashMap<Uuid, Organisation>,
    /// When the project's stream last changed, from the log.
    pub last_updated: Option<DateTime<Utc>>,
}

/// What one `iati-organisation` is written from.
#[derive(Debug, Clone, Copy)]
pub struct OrganisationRecord<'a> {
    pub organisation: &'a Organisation,
    /// The organisation's IATI identifier: only organisations with one can report.
    pub identifier: &'a str,
    /// When the organisation's stream last changed, from the log.
    pub last_updated: Option<DateTime<Utc>>,
}

fn datetime(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn date(on: NaiveDate) -> String {
    on.format("%Y-%m-%d").to_string()
}

/// The XML declaration and the opening `iati-activities` element.
#[must_use]
pub fn activities_start(generated: DateTime<Utc>) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <iati-activities version=\"{IATI_VERSION}\" generated-datetime=\"{}\" \
         xmlns:amanah=\"{AMANAH_NAMESPACE}\">\n",
        datetime(generated)
    )
}

/// Closes `iati-activities`.
pub const ACTIVITIES_END: &str = "</iati-activities>\n";

/// The XML declaration and the opening `iati-organisations` element.
#[must_use]
pub fn organisations_start(generated: DateTime<Utc>) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <iati-organisations version=\"{IATI_VERSION}\" generated-datetime=\"{}\">\n",
        datetime(generated)
    )
}

/// Closes `iati-organisations`.
pub const ORGANISATIONS_END: &str = "</iati-organisations>\n";

/// One `iati-activity` element (indented one level, as a child of `iati-activities`).
#[must_use]
pub fn activity(record: &ActivityRecord<'_>) -> String {
    let project = record.project;
    let organisation = |id: &Uuid| record.organisations.get(id);
    let mut xml = XmlWriter::nested(1);
    let last_updated = record.last_updated.map(datetime);
    let defaults = project.defaults;
    xml.open(
        "iati-activity",
        &[
            ("last-updated-datetime", last_updated.as_deref()),
            (
                "xml:lang",
                Some(defaults.language.map_or(TEXT_LANGUAGE, |l| l.as_str())),
            ),
            ("default-currency", defaults.currency.map(|c| c.as_str())),
        ],
    );
    xml.text("iati-identifier", &[], project.iati_identifier.as_str());

    let reporting = organisation(&project.reporting_organisation_id);
    xml.open(
        "reporting-org",
        &[
            ("ref", Some(project.reporting_org_ref.as_str())),
            (
                "type",
                Some(reporting.map_or(
                    amanah_domain::codelists::OrganisationType::Other.code(),
                    |org| org.organisation_type.code(),
                )),
            ),
        ],
    );
    narrative(
        &mut xml,
        reporting.map_or(project.reporting_org_ref.as_str(), |org| org.name.as_str()),
    );
    xml.close();

    xml.open("title", &[]);
    narrative(&mut xml, project.title.as_str());
    xml.close();
    xml.open("description", &[("type", Some("1"))]);
    narrative(&mut xml, project.description.as_str());
    xml.close();
    if let Some(objectives) = &project.objectives {
        xml.open("description", &[("type", Some("2"))]);
        narrative(&mut xml, objectives.as_str());
        xml.close();
    }

    for participant in &project.participating_organisations {
        let org = organisation(&participant.organisation_id);
        let reference = org.and_then(|org| org.org_ref.as_ref()).map(|r| r.as_str());
        let attributes = [
            ("ref", reference),
            ("type", org.map(|org| org.organisation_type.code())),
            ("role", Some(participant.role.code())),
        ];
        match org {
            Some(org) => {
                xml.open("participating-org", &attributes);
                narrative(&mut xml, org.name.as_str());
                xml.close();
            }
            // Only a broken read model names an organisation it does not hold.
            None => {
                xml.empty("participating-org", &attributes);
            }
        }
    }
    for other in &project.other_identifiers {
        xml.empty(
            "other-identifier",
            &[
                ("ref", Some(other.reference.as_str())),
                ("type", Some(other.identifier_type.code())),
            ],
        );
    }
    xml.empty("activity-status", &[("code", Some(project.status.code()))]);
    let dates = [
        (ActivityDateType::PlannedStart, Some(project.planned_start)),
        (ActivityDateType::ActualStart, project.actual_start),
        (ActivityDateType::PlannedEnd, Some(project.planned_end)),
        (ActivityDateType::ActualEnd, project.actual_end),
    ];
    for (date_type, on) in dates {
        if let Some(on) = on {
            xml.empty(
                "activity-date",
                &[
                    ("iso-date", Some(&date(on))),
                    ("type", Some(date_type.code())),
                ],
            );
        }
    }
    for contact in &project.contacts {
        contact_info(&mut xml, contact);
    }
    for country in &project.recipient_countries {
        xml.empty(
            "recipient-country",
            &[
                ("code", Some(country.country.as_str())),
                ("percentage", Some(&country.percentage.to_string())),
            ],
        );
    }
    for region in &project.recipient_regions {
        xml.empty(
            "recipient-region",
            &[
                ("code", Some(region.region.as_str())),
                ("vocabulary", Some("1")),
                ("percentage", Some(&region.percentage.to_string())),
            ],
        );
    }
    for location in &project.locations {
        xml.open("location", &[]);
        xml.open("name", &[]);
        narrative(&mut xml, location.name.as_str());
        xml.close();
        if let Some(description) = &location.description {
            xml.open("description", &[]);
            narrative(&mut xml, description.as_str());
            xml.close();
        }
        if let Some(area) = &location.administrative {
            let level = area.level.map(|level| level.to_string());
            xml.empty(
                "administrative",
                &[
                    ("vocabulary", Some(area.vocabulary.as_str())),
                    ("level", level.as_deref()),
                    ("code", Some(area.code.as_str())),
                ],
            );
        }
        if let Some(point) = location.point {
            xml.open("point", &[("srsName", Some(WGS84))]);
            xml.text(
                "pos",
                &[],
                &format!("{} {}", point.latitude(), point.longitude()),
            );
            xml.close();
        }
        xml.close();
    }
    for sector in &project.sectors {
        xml.empty(
            "sector",
            &[
                ("vocabulary", Some("1")),
                ("code", Some(sector.sector.as_str())),
                ("percentage", Some(&sector.percentage.to_string())),
            ],
        );
    }
    for marker in &project.policy_markers {
        xml.empty(
            "policy-marker",
            &[
                ("vocabulary", Some("1")),
                ("code", Some(marker.code.as_str())),
                ("significance", Some(marker.significance.as_str())),
            ],
        );
    }
    let coded = [
        (
            "collaboration-type",
            defaults.collaboration_type.map(|c| c.as_str()),
            None,
        ),
        (
            "default-flow-type",
            defaults.flow_type.map(|c| c.as_str()),
            None,
        ),
        (
            "default-finance-type",
            defaults.finance_type.map(|c| c.as_str()),
            None,
        ),
        (
            "default-aid-type",
            defaults.aid_type.map(|c| c.as_str()),
            Some("1"),
        ),
        (
            "default-tied-status",
            defaults.tied_status.map(|c| c.as_str()),
            None,
        ),
    ];
    for (element, code, vocabulary) in coded {
        if let Some(code) = code {
            xml.empty(element, &[("code", Some(code)), ("vocabulary", vocabulary)]);
        }
    }
    for budget in &project.budgets {
        xml.open(
            "budget",
            &[
                ("type", Some(budget.budget_type.code())),
                ("status", Some(budget.status.code())),
            ],
        );
        xml.empty(
            "period-start",
            &[("iso-date", Some(&date(budget.period_start)))],
        );
        xml.empty(
            "period-end",
            &[("iso-date", Some(&date(budget.period_end)))],
        );
        value(&mut xml, budget.value, budget.value_date);
        xml.close();
    }
    for planned in &project.planned_disbursements {
        xml.open(
            "planned-disbursement",
            &[("type", Some(planned.disbursement_type.code()))],
        );
        xml.empty(
            "period-start",
            &[("iso-date", Some(&date(planned.period_start)))],
        );
        if let Some(end) = planned.period_end {
            xml.empty("period-end", &[("iso-date", Some(&date(end)))]);
        }
        value(&mut xml, planned.value, planned.value_date);
        for (element, id) in [
            ("provider-org", planned.provider_organisation_id),
            ("receiver-org", planned.receiver_organisation_id),
        ] {
            if let Some(id) = id {
                party(&mut xml, element, organisation(&id));
            }
        }
        xml.close();
    }
    for transaction in record.transactions {
        xml.open(
            "transaction",
            &[("ref", transaction.reference.as_ref().map(|r| r.as_str()))],
        );
        xml.empty(
            "transaction-type",
            &[("code", Some(transaction.transaction_type.code()))],
        );
        xml.empty(
            "transaction-date",
            &[("iso-date", Some(&date(transaction.date)))],
        );
        value(&mut xml, transaction.value, transaction.value_date);
        if let Some(description) = &transaction.description {
            xml.open("description", &[]);
            narrative(&mut xml, description.as_str());
            xml.close();
        }
        for (element, id) in [
            ("provider-org", transaction.provider_organisation_id),
            ("receiver-org", transaction.receiver_organisation_id),
        ] {
            if let Some(id) = id {
                party(&mut xml, element, organisation(&id));
            }
        }
        xml.close();
    }
    for document in &project.documents {
        xml.open(
            "document-link",
            &[
                ("format", Some(document.format.as_str())),
                ("url", Some(document.url.as_str())),
            ],
        );
        xml.open("title", &[]);
        narrative(&mut xml, document.title.as_str());
        xml.close();
        xml.empty("category", &[("code", Some(document.category.as_str()))]);
        if let Some(on) = document.date {
            xml.empty("document-date", &[("iso-date", Some(&date(on)))]);
        }
        xml.close();
    }
    for related in &project.related_projects {
        xml.empty(
            "related-activity",
            &[
                ("ref", Some(related.iati_identifier.as_str())),
                ("type", Some(related.relation.code())),
            ],
        );
    }
    for result in &project.results {
        project_result(&mut xml, result);
    }
    for activity in record.activities {
        amanah_activity(&mut xml, activity, &organisation);
    }
    xml.close(); // iati-activity
    xml.finish()
}

/// One `iati-organisation` element (indented one level, as a child of `iati-organisations`).
#[must_use]
pub fn organisation(record: &OrganisationRecord<'_>) -> String {
    let org = record.organisation;
    let mut xml = XmlWriter::nested(1);
    let last_updated = record.last_updated.map(datetime);
    xml.open(
        "iati-organisation",
        &[
            ("last-updated-datetime", last_updated.as_deref()),
            ("xml:lang", Some(TEXT_LANGUAGE)),
        ],
    );
    xml.text("organisation-identifier", &[], record.identifier);
    xml.open("name", &[]);
    narrative(&mut xml, org.name.as_str());
    xml.close();
    xml.open(
        "reporting-org",
        &[
            ("ref", Some(record.identifier)),
            ("type", Some(org.organisation_type.code())),
        ],
    );
    narrative(&mut xml, org.name.as_str());
    xml.close();
    xml.close(); // iati-organisation
    xml.finish()
}

/// A `provider-org` or `receiver-org`: the organisation's ref, type and name (only what is
/// known when the read model does not hold it).
fn party(xml: &mut XmlWriter, element: &'static str, org: Option<&Organisation>) {
    let reference = org.and_then(|org| org.org_ref.as_ref()).map(|r| r.as_str());
    let org_type = org.map(|org| org.organisation_type.code());
    let attributes = [("ref", reference), ("type", org_type)];
    match org {
        Some(org) => {
            xml.open(element, &attributes);
            narrative(xml, org.name.as_str());
            xml.close();
        }
        None => {
            xml.empty(element, &attributes);
        }
    }
}

/// One `result`, its parts in the schema's order.
fn project_result(xml: &mut XmlWriter, result: &ProjectResult) {
    xml.open("result", &[("type", Some(result.result_type.as_str()))]);
    titled(xml, "title", Some(result.title.as_str()));
    titled(
        xml,
        "description",
        result.description.as_ref().map(AsRef::as_ref),
    );
    for indicator in &result.indicators {
        let ascending = indicator.ascending.map(|a| if a { "1" } else { "0" });
        xml.open(
            "indicator",
            &[
                ("measure", Some(indicator.measure.as_str())),
                ("ascending", ascending),
            ],
        );
        titled(xml, "title", Some(indicator.title.as_str()));
        titled(
            xml,
            "description",
            indicator.description.as_ref().map(AsRef::as_ref),
        );
        if let Some(baseline) = &indicator.baseline {
            let year = baseline.year.to_string();
            let on = baseline.date.map(date);
            let attributes = [
                ("iso-date", on.as_deref()),
                ("year", Some(year.as_str())),
                ("value", baseline.value.as_ref().map(|v| v.as_str())),
            ];
            match &baseline.comment {
                Some(comment) => {
                    xml.open("baseline", &attributes);
                    titled(xml, "comment", Some(comment.as_str()));
                    xml.close();
                }
                None => {
                    xml.empty("baseline", &attributes);
                }
            }
        }
        for period in &indicator.periods {
            xml.open("period", &[]);
            xml.empty(
                "period-start",
                &[("iso-date", Some(&date(period.period_start)))],
            );
            xml.empty(
                "period-end",
                &[("iso-date", Some(&date(period.period_end)))],
            );
            for (element, measured) in [("target", &period.target), ("actual", &period.actual)] {
                let Some(measured) = measured else { continue };
                let attributes = [("value", measured.value.as_ref().map(|v| v.as_str()))];
                match &measured.comment {
                    Some(comment) => {
                        xml.open(element, &attributes);
                        titled(xml, "comment", Some(comment.as_str()));
                        xml.close();
                    }
                    None => {
                        xml.empty(element, &attributes);
                    }
                }
            }
            xml.close();
        }
        xml.close();
    }
    xml.close();
}

/// `<element><narrative>text</narrative></element>`, when there is a text.
fn titled(xml: &mut XmlWriter, element: &'static str, text: Option<&str>) {
    if let Some(text) = text {
        xml.open(element, &[]);
        narrative(xml, text);
        xml.close();
    }
}

/// One `contact-info`, its parts in the schema's order.
fn contact_info(xml: &mut XmlWriter, contact: &Contact) {
    xml.open(
        "contact-info",
        &[("type", contact.contact_type.map(|t| t.as_str()))],
    );
    let narratives = [
        (
            "organisation",
            contact.organisation.as_ref().map(AsRef::as_ref),
        ),
        ("department", contact.department.as_ref().map(AsRef::as_ref)),
        (
            "person-name",
            contact.person_name.as_ref().map(AsRef::as_ref),
        ),
        ("job-title", contact.job_title.as_ref().map(AsRef::as_ref)),
    ];
    for (element, text) in narratives {
        if let Some(text) = text {
            xml.open(element, &[]);
            narrative(xml, text);
            xml.close();
        }
    }
    let plain = [
        ("telephone", contact.telephone.as_ref().map(AsRef::as_ref)),
        ("email", contact.email.as_ref().map(AsRef::as_ref)),
        ("website", contact.website.as_ref().map(AsRef::as_ref)),
    ];
    for (element, text) in plain {
        if let Some(text) = text {
            xml.text(element, &[], text);
        }
    }
    if let Some(address) = &contact.mailing_address {
        xml.open("mailing-address", &[]);
        narrative(xml, address.as_str());
        xml.close();
    }
    xml.close();
}

fn narrative(xml: &mut XmlWriter, text: &str) {
    xml.text("narrative", &[], text);
}

fn value(xml: &mut XmlWriter, money: Money, value_date: NaiveDate) {
    xml.text(
        "value",
        &[
            ("currency", Some(money.currency().as_str())),
            ("value-date", Some(&date(value_date))),
        ],
        &money.decimal(),
    );
}

/// One anti-corruption activity, in Amanah's namespace.
fn amanah_activity<'a>(
    xml: &mut XmlWriter,
    activity: &Activity,
    organisation: &impl Fn(&Uuid) -> Option<&'a Organisation>,
) {
    let id = activity.id.to_string();
    xml.open(
        "amanah:activity",
        &[
            ("id", Some(&id)),
            ("kind", Some(activity.kind.as_str())),
            ("status", Some(activity.status.as_str())),
            ("audit-type", activity.audit_type.map(|t| t.as_str())),
        ],
    );
    xml.text("amanah:title", &[], activity.title.as_str());
    xml.text("amanah:description", &[], activity.description.as_str());
    for chapter in &activity.uncac_chapters {
        xml.empty(
            "amanah:uncac-chapter",
            &[
                ("code", Some(chapter.as_str())),
                ("chapter", Some(UncacChapter::chapter(*chapter))),
            ],
        );
    }
    for partner in &activity.partners {
        let org = organisation(&partner.organisation_id);
        xml.empty(
            "amanah:partner",
            &[
                (
                    "ref",
                    org.and_then(|org| org.org_ref.as_ref()).map(|r| r.as_str()),
                ),
                ("name", org.map(|org| org.name.as_str())),
                ("role", Some(partner.role.as_str())),
            ],
        );
    }
    match &activity.location {
        ActivityLocation::Site { country, city } => xml.empty(
            "amanah:location",
            &[
                ("country", Some(country.as_str())),
                ("city", city.as_ref().map(|c| c.as_str())),
            ],
        ),
        ActivityLocation::Online => xml.empty("amanah:location", &[("online", Some("true"))]),
    };
    let dates = [
        ("planned-start", Some(activity.planned_start)),
        ("planned-end", Some(activity.planned_end)),
        ("actual-start", activity.actual_start),
        ("actual-end", activity.actual_end),
    ];
    for (date_type, on) in dates {
        if let Some(on) = on {
            xml.empty(
                "amanah:date",
                &[("type", Some(date_type)), ("iso-date", Some(&date(on)))],
            );
        }
    }
    if let Some(participants) = &activity.participants {
        let numbers = [
            participants.total,
            participants.female,
            participants.male,
            participants.undisclosed,
        ]
        .map(|n| n.to_string());
        let attributes = [
            ("total", Some(numbers[0].as_str())),
            ("female", Some(numbers[1].as_str())),
            ("male", Some(numbers[2].as_str())),
            ("undisclosed", Some(numbers[3].as_str())),
        ];
        if participants.by_country.is_empty() {
            xml.empty("amanah:participants", &attributes);
        } else {
            xml.open("amanah:participants", &attributes);
        }
        for by_country in &participants.by_country {
            let count = by_country.count.to_string();
            xml.empty(
                "amanah:country",
                &[
                    ("code", Some(by_country.country.as_str())),
                    ("count", Some(&count)),
                ],
            );
        }
        if !participants.by_country.is_empty() {
            xml.close();
        }
    }
    if let Some(outcome) = &activity.outcome {
        xml.text("amanah:outcome", &[], outcome.as_str());
    }
    if let Some(reason) = &activity.cancellation_reason {
        xml.text("amanah:cancellation-reason", &[], reason.as_str());
    }
    xml.close();
}
