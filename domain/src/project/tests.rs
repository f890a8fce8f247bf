#![expect(
    clippy::unwrap_used,
    reason = "a broken fixture should fail the test loudly"
)]

use chrono::NaiveDate;
use uuid::Uuid;

use super::*;
use crate::aggregate::FieldError;
use crate::codelists::{
    BudgetStatus, BudgetType, OrganisationRole, OtherIdentifierType, ProjectStatus,
    RelatedActivityType, TransactionType,
};
use crate::organisation::OrganisationFacts;
use crate::testing::{day, field_of, given, today};
use crate::values::{
    CountryCode, CurrencyCode, Description, DocumentCategory, IatiIdentifier, MimeType, Money,
    OrgRef, OtherIdentifierRef, Patch, Percentage, RegionCode, SectorCode, Title, TransactionRef,
    ValueError, WebUrl,
};

const ASEAN_10: [&str; 10] = ["BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN"];

fn project_id() -> Uuid {
    Uuid::from_u128(0x100)
}
fn aa() -> Uuid {
    Uuid::from_u128(0x1)
}
fn asec() -> Uuid {
    Uuid::from_u128(0x2)
}
fn giz() -> Uuid {
    Uuid::from_u128(0x3)
}
fn bmz() -> Uuid {
    Uuid::from_u128(0x4)
}
fn tx(n: u128) -> Uuid {
    Uuid::from_u128(0x1000 + n)
}

fn facts(id: Uuid, org_ref: Option<&str>) -> OrganisationFacts {
    OrganisationFacts {
        id,
        org_ref: org_ref.map(|r| OrgRef::parse(r).unwrap()),
        deactivated: false,
        version: 1,
    }
}
fn deactivated(id: Uuid) -> OrganisationFacts {
    OrganisationFacts {
        deactivated: true,
        ..facts(id, Some("DE-1"))
    }
}
fn participation(id: Uuid, role: OrganisationRole) -> Participation {
    Participation {
        organisation: facts(id, None),
        role,
    }
}
fn pct(raw: &str) -> Percentage {
    Percentage::parse(raw).unwrap()
}
fn country(code: &str, percentage: &str) -> RecipientCountry {
    RecipientCountry {
        country: CountryCode::parse(code).unwrap(),
        percentage: pct(percentage),
    }
}
fn region(code: &str, percentage: &str) -> RecipientRegion {
    RecipientRegion {
        region: RegionCode::parse(code).unwrap(),
        percentage: pct(percentage),
    }
}
fn sector(code: &str, percentage: &str) -> SectorShare {
    SectorShare {
        sector: SectorCode::parse(code).unwrap(),
        percentage: pct(percentage),
    }
}
fn eur(units: i64) -> Money {
    Money::new(units, CurrencyCode::parse("EUR").unwrap()).unwrap()
}
fn identifier() -> IatiIdentifier {
    IatiIdentifier::parse("XM-DAC-5-7-2015-1234").unwrap()
}
fn text(raw: &str) -> Description {
    Description::parse(raw).unwrap()
}

fn register() -> RegisterProject {
    RegisterProject {
        id: project_id(),
        iati_identifier: identifier(),
        reporting_organisation: facts(aa(), Some("XM-DAC-5-7")),
        title: Title::parse("ASEC Post 2015").unwrap(),
        description: text("Institutional strengthening and capacity development."),
        objectives: Some(text("A stronger ASEAN Secretariat.")),
        planned_start: day("2016-01-01"),
        planned_end: day("2018-12-31"),
        participating_organisations: vec![
            participation(aa(), OrganisationRole::Funding),
            participation(asec(), OrganisationRole::Accountable),
            participation(giz(), OrganisationRole::Implementing),
        ],
        recipient_countries: ASEAN_10.iter().map(|c| country(c, "10")).collect(),
        recipient_regions: vec![],
        sectors: vec![sector("15110", "50"), sector("15113", "50")],
    }
}

fn registered() -> ProjectEvent {
    given::<Project>([])
        .when(ProjectCommand::Register(register()))
        .accepted()
        .remove(0)
}

fn status_changed(
    from: ProjectStatus,
    to: ProjectStatus,
    start: Option<&str>,
    end: Option<&str>,
) -> ProjectEvent {
    ProjectEvent::ProjectStatusChanged(ProjectStatusChanged {
        from,
        to,
        actual_start: start.map(day),
        actual_end: end.map(day),
    })
}

fn started() -> ProjectEvent {
    status_changed(
        ProjectStatus::Pipeline,
        ProjectStatus::Implementation,
        Some("2016-02-01"),
        None,
    )
}

fn finalised() -> ProjectEvent {
    status_changed(
        ProjectStatus::Implementation,
        ProjectStatus::Finalisation,
        Some("2016-02-01"),
        Some("2018-12-31"),
    )
}

fn revise() -> ReviseProject {
    ReviseProject {
        id: project_id(),
        ..ReviseProject::default()
    }
}

fn change(status: ProjectStatus, start: Option<&str>, end: Option<&str>) -> ProjectCommand {
    ProjectCommand::ChangeStatus(ChangeProjectStatus {
        id: project_id(),
        status,
        actual_start: start.map(day),
        actual_end: end.map(day),
    })
}

fn record(id: Uuid, units: i64, date: &str) -> RecordTransaction {
    RecordTransaction {
        project_id: project_id(),
        transaction_id: id,
        transaction_type: TransactionType::Disbursement,
        date: day(date),
        value: eur(units),
        value_date: day(date),
        description: Some(text("First instalment")),
        provider_organisation: Some(facts(aa(), Some("XM-DAC-5-7"))),
        receiver_organisation: Some(facts(giz(), Some("XM-DAC-5-52"))),
        reference: Some(TransactionRef::parse("AA-2016-001").unwrap()),
    }
}

fn recorded(id: Uuid, units: i64, date: &str) -> ProjectEvent {
    given::<Project>([registered()])
        .when(ProjectCommand::RecordTransaction(record(id, units, date)))
        .accepted()
        .remove(0)
}

/// `reverseTransaction` of `transaction_id`, looked up among the transactions `history` records.
fn reverse(history: &[ProjectEvent], transaction_id: Uuid, reversal_id: Uuid) -> ProjectCommand {
    ProjectCommand::ReverseTransaction(ReverseTransaction {
        project_id: project_id(),
        transaction: Transactions::fold(history).known(transaction_id, history.len() as u64),
        reversal_id,
        reason: text("Booked twice"),
    })
}

fn budget(start: &str, end: &str, units: i64) -> Budget {
    Budget {
        budget_type: BudgetType::Original,
        status: BudgetStatus::Committed,
        period_start: day(start),
        period_end: day(end),
        value: eur(units),
        value_date: day(start),
    }
}

fn set_budget(budgets: Vec<Budget>) -> ProjectCommand {
    ProjectCommand::SetBudget(SetBudget {
        project_id: project_id(),
        budgets,
    })
}

// ---------------------------------------------------------------- registerProject

#[test]
fn register_records_every_field_in_pipeline() {
    let command = register();
    given::<Project>([])
        .when(ProjectCommand::Register(command.clone()))
        .then(&[ProjectEvent::ProjectRegistered(ProjectRegistered {
            id: project_id(),
            iati_identifier: identifier(),
            reporting_organisation_id: aa(),
            reporting_org_ref: OrgRef::parse("XM-DAC-5-7").unwrap(),
            title: command.title,
            description: command.description,
            objectives: command.objectives,
            status: ProjectStatus::Pipeline,
            planned_start: day("2016-01-01"),
            planned_end: day("2018-12-31"),
            participating_organisations: vec![
                ParticipatingOrganisation {
                    organisation_id: aa(),
                    role: OrganisationRole::Funding,
                },
                ParticipatingOrganisation {
                    organisation_id: asec(),
                    role: OrganisationRole::Accountable,
                },
                ParticipatingOrganisation {
                    organisation_id: giz(),
                    role: OrganisationRole::Implementing,
                },
            ],
            recipient_countries: command.recipient_countries,
            recipient_regions: vec![],
            sectors: command.sectors,
        })]);
}

#[test]
fn registered_project_state() {
    let project = given::<Project>([])
        .when(ProjectCommand::Register(register()))
        .state();
    assert_eq!(project.version, 1);
    assert_eq!(project.status, ProjectStatus::Pipeline);
    assert_eq!(project.recipient_countries.len(), 10);
    assert_eq!(project.actual_start, None);
    assert!(project.has_participant(giz(), OrganisationRole::Implementing));
    assert_eq!(project.facts().iati_identifier, identifier());
}

#[test]
fn register_twice_is_refused() {
    given::<Project>([registered()])
        .when(ProjectCommand::Register(register()))
        .rejected(&ProjectError::AlreadyExists { id: project_id() }, None);
}

#[test]
fn reporting_organisation_needs_a_ref() {
    given::<Project>([])
        .when(ProjectCommand::Register(RegisterProject {
            reporting_organisation: facts(asec(), None),
            ..register()
        }))
        .rejected(
            &ProjectError::ReportingOrganisationWithoutRef {
                organisation_id: asec(),
            },
            Some("reportingOrganisationId"),
        );
}

#[test]
fn deactivated_reporting_organisation_is_refused() {
    given::<Project>([])
        .when(ProjectCommand::Register(RegisterProject {
            reporting_organisation: OrganisationFacts {
                deactivated: true,
                ..facts(aa(), Some("XM-DAC-5-7"))
            },
            ..register()
        }))
        .rejected(
            &ProjectError::ReportingOrganisationDeactivated {
                organisation_id: aa(),
            },
            Some("reportingOrganisationId"),
        );
}

#[test]
fn identifier_must_extend_the_reporting_ref() {
    for raw in [
        "DE-1-2015-1234",
        "XM-DAC-5-7",
        "XM-DAC-5-7-",
        "XM-DAC-5-77-1",
    ] {
        given::<Project>([])
            .when(ProjectCommand::Register(RegisterProject {
                iati_identifier: IatiIdentifier::parse(raw).unwrap(),
                ..register()
            }))
            .rejected(
                &ProjectError::IdentifierNotUnderReportingOrganisation {
                    iati_identifier: IatiIdentifier::parse(raw).unwrap(),
                    org_ref: OrgRef::parse("XM-DAC-5-7").unwrap(),
                },
                Some("iatiIdentifier"),
            );
    }
}

#[test]
fn identifier_parse_errors_name_the_field() {
    let error = IatiIdentifier::parse("XM-DAC-5-7-2015/1")
        .map_err(ProjectError::invalid("iatiIdentifier"))
        .unwrap_err();
    assert_eq!(
        error,
        ProjectError::Invalid {
            field: "iatiIdentifier".into(),
            error: ValueError::ForbiddenCharacter('/')
        }
    );
    assert_eq!(field_of(&error).as_deref(), Some("iatiIdentifier"));
    assert_eq!(
        error.to_string(),
        "iatiIdentifier must not contain the character `/`"
    );
    let error = Percentage::parse("33.333")
        .map_err(ProjectError::invalid(
            crate::values::FieldPath::list("recipientCountries", 1).field("percentage"),
        ))
        .unwrap_err();
    assert_eq!(
        field_of(&error).as_deref(),
        Some("recipientCountries[1].percentage")
    );
}

#[test]
fn planned_end_may_not_precede_planned_start() {
    given::<Project>([])
        .when(ProjectCommand::Register(RegisterProject {
            planned_end: day("2015-12-31"),
            ..register()
        }))
        .rejected(
            &ProjectError::EndBeforeStart {
                field: "plannedEnd".into(),
                start: day("2016-01-01"),
                end: day("2015-12-31"),
            },
            Some("plannedEnd"),
        );
    given::<Project>([])
        .when(ProjectCommand::Register(RegisterProject {
            planned_end: day("2016-01-01"),
            ..register()
        }))
        .accepted();
}

#[test]
fn at_least_one_participating_organisation() {
    given::<Project>([])
        .when(ProjectCommand::Register(RegisterProject {
            participating_organisations: vec![],
            ..register()
        }))
        .rejected(
            &ProjectError::NoParticipatingOrganisation,
            Some("participatingOrganisations"),
        );
}

#[test]
fn same_role_twice_is_refused_but_several_roles_are_fine() {
    let mut command = register();
    command
        .participating_organisations
        .push(participation(aa(), OrganisationRole::Funding));
    given::<Project>([])
        .when(ProjectCommand::Register(command))
        .rejected(
            &ProjectError::DuplicateParticipation {
                field: FieldPath::list("participatingOrganisations", 3).field("role"),
                organisation_id: aa(),
                role: OrganisationRole::Funding,
            },
            Some("participatingOrganisations[3].role"),
        );
    let mut command = register();
    command
        .participating_organisations
        .push(participation(aa(), OrganisationRole::Extending));
    let project = given::<Project>([])
        .when(ProjectCommand::Register(command))
        .state();
    assert_eq!(project.participating_organisations.len(), 4);
}

#[test]
fn deactivated_participants_are_refused() {
    let mut command = register();
    command.participating_organisations[1].organisation = deactivated(asec());
    given::<Project>([])
        .when(ProjectCommand::Register(command))
        .rejected(
            &ProjectError::OrganisationDeactivated {
                field: FieldPath::list("participatingOrganisations", 1).field("organisationId"),
                organisation_id: asec(),
            },
            Some("participatingOrganisations[1].organisationId"),
        );
}

#[test]
fn duplicate_country_region_and_sector_rows_are_refused() {
    given::<Project>([])
        .when(ProjectCommand::Register(RegisterProject {
            recipient_countries: vec![country("ID", "50"), country("ID", "50")],
            ..register()
        }))
        .rejected(
            &ProjectError::DuplicateRecipientCountry {
                index: 1,
                country: CountryCode::parse("ID").unwrap(),
            },
            Some("recipientCountries[1].country"),
        );
    given::<Project>([])
        .when(ProjectCommand::Register(RegisterProject {
            recipient_countries: vec![],
            recipient_regions: vec![region("798", "50"), region("798", "50")],
            ..register()
        }))
        .rejected(
            &ProjectError::DuplicateRecipientRegion {
                index: 1,
                region: RegionCode::parse("798").unwrap(),
            },
            Some("recipientRegions[1].code"),
        );
    given::<Project>([])
        .when(ProjectCommand::Register(RegisterProject {
            sectors: vec![sector("15113", "50"), sector("15113", "50")],
            ..register()
        }))
        .rejected(
            &ProjectError::DuplicateSector {
                index: 1,
                sector: SectorCode::parse("15113").unwrap(),
            },
            Some("sectors[1].code"),
        );
}

#[test]
fn withdrawn_sectors_are_refused() {
    let withdrawn = SectorCode::known("15120").unwrap();
    given::<Project>([])
        .when(ProjectCommand::Register(RegisterProject {
            sectors: vec![SectorShare {
                sector: withdrawn,
                percentage: Percentage::HUNDRED,
            }],
            ..register()
        }))
        .rejected(
            &ProjectError::WithdrawnSector {
                index: 0,
                sector: withdrawn,
            },
            Some("sectors[0].code"),
        );
}

#[test]
fn countries_and_regions_together_sum_to_exactly_100() {
    given::<Project>([])
        .when(ProjectCommand::Register(RegisterProject {
            recipient_countries: ASEAN_10[..9].iter().map(|c| country(c, "10")).collect(),
            ..register()
        }))
        .rejected(
            &ProjectError::GeographyPercentagesSum {
                field: "recipientCountries".into(),
                total_hundredths: 9000,
            },
            Some("recipientCountries"),
        );
    given::<Project>([])
        .when(ProjectCommand::Register(RegisterProject {
            recipient_countries: vec![country("ID", "60")],
            recipient_regions: vec![region("798", "40")],
            ..register()
        }))
        .accepted();
    given::<Project>([])
        .when(ProjectCommand::Register(RegisterProject {
            recipient_countries: vec![country("ID", "60")],
            recipient_regions: vec![region("798", "40.01")],
            ..register()
        }))
        .rejected(
            &ProjectError::GeographyPercentagesSum {
                field: "recipientCountries".into(),
                total_hundredths: 10_001,
            },
            Some("recipientCountries"),
        );
    given::<Project>([])
        .when(ProjectCommand::Register(RegisterProject {
            recipient_countries: vec![],
            recipient_regions: vec![region("798", "99.99")],
            ..register()
        }))
        .rejected(
            &ProjectError::GeographyPercentagesSum {
                field: "recipientRegions".into(),
                total_hundredths: 9999,
            },
            Some("recipientRegions"),
        );
    let project = given::<Project>([])
        .when(ProjectCommand::Register(RegisterProject {
            recipient_countries: vec![],
            recipient_regions: vec![region("789", "100")],
            ..register()
        }))
        .state();
    assert!(project.recipient_countries.is_empty());
}

/// IATI ruleset 3.7.1: each activity has a recipient country or region, and Amanah keeps them on
/// the project only, so a project has at least one, at registration and in every revision.
#[test]
fn a_project_has_a_recipient_country_or_region() {
    given::<Project>([])
        .when(ProjectCommand::Register(RegisterProject {
            recipient_countries: vec![],
            recipient_regions: vec![],
            ..register()
        }))
        .rejected(
            &ProjectError::NoRecipientCountryOrRegion,
            Some("recipientCountries"),
        );
    given::<Project>([registered()])
        .when(ProjectCommand::Revise(ReviseProject {
            recipient_countries: Some(vec![]),
            recipient_regions: Some(vec![]),
            ..revise()
        }))
        .rejected(
            &ProjectError::NoRecipientCountryOrRegion,
            Some("recipientCountries"),
        );
}

/// IATI ruleset 6.2.2: each activity has a sector, and Amanah keeps sectors on the project only,
/// so a project has at least one, at registration and in every revision.
#[test]
fn a_project_has_at_least_one_sector() {
    given::<Project>([])
        .when(ProjectCommand::Register(RegisterProject {
            sectors: vec![],
            ..register()
        }))
        .rejected(&ProjectError::NoSector, Some("sectors"));
    given::<Project>([registered()])
        .when(ProjectCommand::Revise(ReviseProject {
            sectors: Some(vec![]),
            ..revise()
        }))
        .rejected(&ProjectError::NoSector, Some("sectors"));
}

#[test]
fn sectors_sum_to_exactly_100() {
    given::<Project>([])
        .when(ProjectCommand::Register(RegisterProject {
            sectors: vec![sector("15110", "50"), sector("15113", "50.01")],
            ..register()
        }))
        .rejected(
            &ProjectError::SectorPercentagesSum {
                total_hundredths: 10_001,
            },
            Some("sectors"),
        );
    given::<Project>([])
        .when(ProjectCommand::Register(RegisterProject {
            sectors: vec![
                sector("15110", "33.33"),
                sector("15113", "33.33"),
                sector("15118", "33.34"),
            ],
            ..register()
        }))
        .accepted();
}

// ---------------------------------------------------------------- reviseProject

#[test]
fn changes_to_a_missing_project_are_not_found() {
    let commands = [
        ProjectCommand::Revise(revise()),
        change(ProjectStatus::Implementation, Some("2016-02-01"), None),
        set_budget(vec![]),
        ProjectCommand::RecordTransaction(record(tx(1), 100, "2016-03-01")),
        reverse(&[], tx(1), tx(2)),
    ];
    for command in commands {
        let error = given::<Project>([]).when(command).error();
        assert_eq!(error, ProjectError::NotFound { id: project_id() });
        assert!(error.is_not_found());
        assert_eq!(error.field(), None);
    }
}

#[test]
fn revise_with_nothing_given_is_refused() {
    given::<Project>([registered()])
        .when(ProjectCommand::Revise(revise()))
        .rejected(&ProjectError::NothingToRevise, None);
}

#[test]
fn revise_changes_only_the_fields_given() {
    let project = given::<Project>([registered()])
        .when(ProjectCommand::Revise(ReviseProject {
            title: Some(Title::parse("ASEC Post-2015").unwrap()),
            objectives: Patch::Clear,
            ..revise()
        }))
        .state();
    assert_eq!(project.title.as_str(), "ASEC Post-2015");
    assert_eq!(project.objectives, None);
    assert_eq!(project.iati_identifier, identifier());
    assert_eq!(project.recipient_countries.len(), 10);
    assert_eq!(project.sectors.len(), 2);
    assert_eq!(project.planned_end, day("2018-12-31"));
    assert_eq!(project.version, 2);
}

#[test]
fn revised_planned_dates_keep_their_order() {
    given::<Project>([registered()])
        .when(ProjectCommand::Revise(ReviseProject {
            planned_end: Some(day("2015-06-30")),
            ..revise()
        }))
        .rejected(
            &ProjectError::EndBeforeStart {
                field: "plannedEnd".into(),
                start: day("2016-01-01"),
                end: day("2015-06-30"),
            },
            Some("plannedEnd"),
        );
    given::<Project>([registered()])
        .when(ProjectCommand::Revise(ReviseProject {
            planned_start: Some(day("2019-01-01")),
            ..revise()
        }))
        .rejected(
            &ProjectError::EndBeforeStart {
                field: "plannedStart".into(),
                start: day("2019-01-01"),
                end: day("2018-12-31"),
            },
            Some("plannedStart"),
        );
    let project = given::<Project>([registered()])
        .when(ProjectCommand::Revise(ReviseProject {
            planned_start: Some(day("2019-01-01")),
            planned_end: Some(day("2021-12-31")),
            ..revise()
        }))
        .state();
    assert_eq!(project.planned_start, day("2019-01-01"));
}

#[test]
fn revised_geography_is_checked_with_the_rows_kept() {
    given::<Project>([registered()])
        .when(ProjectCommand::Revise(ReviseProject {
            recipient_regions: Some(vec![region("798", "10")]),
            ..revise()
        }))
        .rejected(
            &ProjectError::GeographyPercentagesSum {
                field: "recipientRegions".into(),
                total_hundredths: 11_000,
            },
            Some("recipientRegions"),
        );
    given::<Project>([registered()])
        .when(ProjectCommand::Revise(ReviseProject {
            recipient_countries: Some(vec![country("ID", "50"), country("ID", "50")]),
            ..revise()
        }))
        .rejected(
            &ProjectError::DuplicateRecipientCountry {
                index: 1,
                country: CountryCode::parse("ID").unwrap(),
            },
            Some("recipientCountries[1].country"),
        );
    let project = given::<Project>([registered()])
        .when(ProjectCommand::Revise(ReviseProject {
            recipient_countries: Some(vec![country("ID", "90")]),
            recipient_regions: Some(vec![region("798", "10")]),
            ..revise()
        }))
        .state();
    assert_eq!(project.recipient_countries, vec![country("ID", "90")]);
    let project = given::<Project>([registered()])
        .when(ProjectCommand::Revise(ReviseProject {
            recipient_countries: Some(vec![]),
            recipient_regions: Some(vec![region("789", "100")]),
            ..revise()
        }))
        .state();
    assert!(project.recipient_countries.is_empty());
}

#[test]
fn revised_sectors_are_checked() {
    given::<Project>([registered()])
        .when(ProjectCommand::Revise(ReviseProject {
            sectors: Some(vec![sector("15113", "99")]),
            ..revise()
        }))
        .rejected(
            &ProjectError::SectorPercentagesSum {
                total_hundredths: 9900,
            },
            Some("sectors"),
        );
    let project = given::<Project>([registered()])
        .when(ProjectCommand::Revise(ReviseProject {
            sectors: Some(vec![sector("15113", "100")]),
            ..revise()
        }))
        .state();
    assert_eq!(project.sectors, vec![sector("15113", "100")]);
}

// ---------------------------------------------------------------- changeProjectStatus

#[test]
fn start_implementation() {
    given::<Project>([registered()])
        .when(change(
            ProjectStatus::Implementation,
            Some("2016-02-01"),
            None,
        ))
        .then(&[started()]);
    let project = given::<Project>([registered(), started()])
        .when(change(
            ProjectStatus::Finalisation,
            None,
            Some("2018-12-31"),
        ))
        .state();
    assert_eq!(project.status, ProjectStatus::Finalisation);
    assert_eq!(project.actual_start, Some(day("2016-02-01")));
    assert_eq!(project.actual_end, Some(day("2018-12-31")));
    assert_eq!(project.version, 3);
}

#[test]
fn implementation_needs_an_actual_start_not_in_the_future() {
    given::<Project>([registered()])
        .when(change(ProjectStatus::Implementation, None, None))
        .rejected(
            &ProjectError::ActualStartRequired {
                status: ProjectStatus::Implementation,
            },
            Some("actualStart"),
        );
    let tomorrow = today().succ_opt().unwrap();
    given::<Project>([registered()])
        .when(ProjectCommand::ChangeStatus(ChangeProjectStatus {
            id: project_id(),
            status: ProjectStatus::Implementation,
            actual_start: Some(tomorrow),
            actual_end: None,
        }))
        .rejected(
            &ProjectError::DateInFuture {
                field: "actualStart".into(),
                date: tomorrow,
                today: today(),
            },
            Some("actualStart"),
        );
    given::<Project>([registered()])
        .when(ProjectCommand::ChangeStatus(ChangeProjectStatus {
            id: project_id(),
            status: ProjectStatus::Implementation,
            actual_start: Some(today()),
            actual_end: None,
        }))
        .accepted();
}

#[test]
fn implementation_needs_funding_and_implementing_organisations() {
    let mut command = register();
    command.participating_organisations = vec![participation(aa(), OrganisationRole::Accountable)];
    let history = given::<Project>([])
        .when(ProjectCommand::Register(command))
        .accepted();
    given::<Project>(history)
        .when(change(
            ProjectStatus::Implementation,
            Some("2016-02-01"),
            None,
        ))
        .rejected(
            &ProjectError::MissingRolesForImplementation {
                missing: vec![OrganisationRole::Funding, OrganisationRole::Implementing],
            },
            None,
        );
    let mut command = register();
    command.participating_organisations.remove(2);
    let history = given::<Project>([])
        .when(ProjectCommand::Register(command))
        .accepted();
    given::<Project>(history)
        .when(change(
            ProjectStatus::Implementation,
            Some("2016-02-01"),
            None,
        ))
        .rejected(
            &ProjectError::MissingRolesForImplementation {
                missing: vec![OrganisationRole::Implementing],
            },
            None,
        );
}

#[test]
fn an_actual_end_is_refused_while_the_project_runs() {
    given::<Project>([registered()])
        .when(change(
            ProjectStatus::Implementation,
            Some("2016-02-01"),
            Some("2016-03-01"),
        ))
        .rejected(
            &ProjectError::ActualEndNotAllowed {
                status: ProjectStatus::Implementation,
            },
            Some("actualEnd"),
        );
}

#[test]
fn finalisation_needs_an_actual_end_after_the_start_and_not_in_the_future() {
    given::<Project>([registered(), started()])
        .when(change(ProjectStatus::Finalisation, None, None))
        .rejected(
            &ProjectError::ActualEndRequired {
                status: ProjectStatus::Finalisation,
            },
            Some("actualEnd"),
        );
    given::<Project>([registered(), started()])
        .when(change(
            ProjectStatus::Finalisation,
            None,
            Some("2016-01-31"),
        ))
        .rejected(
            &ProjectError::EndBeforeStart {
                field: "actualEnd".into(),
                start: day("2016-02-01"),
                end: day("2016-01-31"),
            },
            Some("actualEnd"),
        );
    given::<Project>([registered(), started()])
        .when(change(
            ProjectStatus::Finalisation,
            None,
            Some("2016-02-01"),
        ))
        .accepted();
    given::<Project>([registered(), started()])
        .when(change(
            ProjectStatus::Finalisation,
            None,
            Some("2030-01-01"),
        ))
        .rejected(
            &ProjectError::DateInFuture {
                field: "actualEnd".into(),
                date: day("2030-01-01"),
                today: today(),
            },
            Some("actualEnd"),
        );
}

#[test]
fn closing_keeps_the_recorded_actual_dates() {
    let project = given::<Project>([registered(), started(), finalised()])
        .when(change(ProjectStatus::Closed, None, None))
        .state();
    assert_eq!(project.status, ProjectStatus::Closed);
    assert_eq!(project.actual_end, Some(day("2018-12-31")));
}

#[test]
fn suspend_and_resume() {
    let suspended = status_changed(
        ProjectStatus::Implementation,
        ProjectStatus::Suspended,
        Some("2016-02-01"),
        None,
    );
    given::<Project>([registered(), started()])
        .when(change(ProjectStatus::Suspended, None, None))
        .then(std::slice::from_ref(&suspended));
    let project = given::<Project>([registered(), started(), suspended])
        .when(change(ProjectStatus::Implementation, None, None))
        .state();
    assert_eq!(project.status, ProjectStatus::Implementation);
}

#[test]
fn cancelling_from_pipeline_needs_no_dates() {
    let project = given::<Project>([registered()])
        .when(change(ProjectStatus::Cancelled, None, None))
        .state();
    assert_eq!(project.status, ProjectStatus::Cancelled);
    assert_eq!(project.actual_start, None);
}

/// The events that bring a freshly registered project to `status`.
fn history_to(status: ProjectStatus) -> Vec<ProjectEvent> {
    use ProjectStatus::{Cancelled, Closed, Finalisation, Implementation, Pipeline, Suspended};
    let mut events = vec![registered()];
    match status {
        Pipeline => {}
        Implementation => events.push(started()),
        Finalisation => events.extend([started(), finalised()]),
        Closed => events.extend([
            started(),
            finalised(),
            status_changed(Finalisation, Closed, Some("2016-02-01"), Some("2018-12-31")),
        ]),
        Cancelled => events.push(status_changed(Pipeline, Cancelled, None, None)),
        Suspended => events.extend([
            started(),
            status_changed(Implementation, Suspended, Some("2016-02-01"), None),
        ]),
    }
    events
}

#[test]
fn every_transition_outside_the_spec_is_refused() {
    for from in ProjectStatus::ALL {
        for to in ProjectStatus::ALL {
            let end = matches!(to, ProjectStatus::Finalisation | ProjectStatus::Closed)
                .then_some("2018-12-31");
            let start = (*from == ProjectStatus::Pipeline).then_some("2016-02-01");
            let then = given::<Project>(history_to(*from)).when(change(*to, start, end));
            if from.can_move_to(*to) {
                let project = then.state();
                assert_eq!(project.status, *to, "{from:?} -> {to:?}");
            } else {
                then.rejected(
                    &ProjectError::StatusTransitionNotAllowed {
                        from: *from,
                        to: *to,
                    },
                    None,
                );
            }
        }
    }
}

// ---------------------------------------------------------------- participating organisations

fn add_participant(organisation: OrganisationFacts, role: OrganisationRole) -> ProjectCommand {
    ProjectCommand::AddParticipatingOrganisation(AddParticipatingOrganisation {
        project_id: project_id(),
        organisation,
        role,
    })
}

fn remove_participant(organisation_id: Uuid, role: OrganisationRole) -> ProjectCommand {
    ProjectCommand::RemoveParticipatingOrganisation(RemoveParticipatingOrganisation {
        project_id: project_id(),
        organisation_id,
        role,
    })
}

#[test]
fn add_a_participating_organisation() {
    given::<Project>([registered()])
        .when(add_participant(
            facts(bmz(), Some("DE-1")),
            OrganisationRole::Funding,
        ))
        .then(&[ProjectEvent::ParticipatingOrganisationAdded(
            ParticipatingOrganisation {
                organisation_id: bmz(),
                role: OrganisationRole::Funding,
            },
        )]);
    let project = given::<Project>([registered()])
        .when(add_participant(
            facts(aa(), None),
            OrganisationRole::Extending,
        ))
        .state();
    assert!(project.has_participant(aa(), OrganisationRole::Extending));
    assert!(project.has_participant(aa(), OrganisationRole::Funding));
}

#[test]
fn adding_the_same_role_twice_is_refused() {
    given::<Project>([registered()])
        .when(add_participant(
            facts(aa(), None),
            OrganisationRole::Funding,
        ))
        .rejected(
            &ProjectError::DuplicateParticipation {
                field: "role".into(),
                organisation_id: aa(),
                role: OrganisationRole::Funding,
            },
            Some("role"),
        );
}

#[test]
fn adding_a_deactivated_organisation_is_refused() {
    given::<Project>([registered()])
        .when(add_participant(
            deactivated(bmz()),
            OrganisationRole::Funding,
        ))
        .rejected(
            &ProjectError::OrganisationDeactivated {
                field: "organisationId".into(),
                organisation_id: bmz(),
            },
            Some("organisationId"),
        );
}

#[test]
fn remove_a_participating_organisation() {
    given::<Project>([registered()])
        .when(remove_participant(asec(), OrganisationRole::Accountable))
        .then(&[ProjectEvent::ParticipatingOrganisationRemoved(
            ParticipatingOrganisation {
                organisation_id: asec(),
                role: OrganisationRole::Accountable,
            },
        )]);
    let project = given::<Project>([registered()])
        .when(remove_participant(asec(), OrganisationRole::Accountable))
        .state();
    assert_eq!(project.participating_organisations.len(), 2);
}

#[test]
fn removing_a_row_that_is_not_there_is_refused() {
    given::<Project>([registered()])
        .when(remove_participant(asec(), OrganisationRole::Funding))
        .rejected(
            &ProjectError::ParticipationNotFound {
                organisation_id: asec(),
                role: OrganisationRole::Funding,
            },
            Some("organisationId"),
        );
}

#[test]
fn removing_the_last_row_is_refused() {
    let mut command = register();
    command.participating_organisations =
        vec![participation(asec(), OrganisationRole::Accountable)];
    let history = given::<Project>([])
        .when(ProjectCommand::Register(command))
        .accepted();
    given::<Project>(history)
        .when(remove_participant(asec(), OrganisationRole::Accountable))
        .rejected(
            &ProjectError::LastParticipatingOrganisation {
                organisation_id: asec(),
            },
            Some("organisationId"),
        );
}

#[test]
fn a_running_project_keeps_a_funder_and_an_implementer() {
    for role in [OrganisationRole::Funding, OrganisationRole::Implementing] {
        let who = if role == OrganisationRole::Funding {
            aa()
        } else {
            giz()
        };
        for status in [
            ProjectStatus::Implementation,
            ProjectStatus::Finalisation,
            ProjectStatus::Closed,
            ProjectStatus::Suspended,
        ] {
            given::<Project>(history_to(status))
                .when(remove_participant(who, role))
                .rejected(
                    &ProjectError::RoleStillNeeded { role, status },
                    Some("role"),
                );
        }
        for status in [ProjectStatus::Pipeline, ProjectStatus::Cancelled] {
            given::<Project>(history_to(status))
                .when(remove_participant(who, role))
                .accepted();
        }
    }
    // A second funder may go; so may the accountable organisation.
    let mut history = history_to(ProjectStatus::Implementation);
    history.push(ProjectEvent::ParticipatingOrganisationAdded(
        ParticipatingOrganisation {
            organisation_id: bmz(),
            role: OrganisationRole::Funding,
        },
    ));
    given::<Project>(history.clone())
        .when(remove_participant(aa(), OrganisationRole::Funding))
        .accepted();
    given::<Project>(history)
        .when(remove_participant(asec(), OrganisationRole::Accountable))
        .accepted();
}

// ---------------------------------------------------------------- setBudget

#[test]
fn set_budget_replaces_all_rows() {
    let first = vec![
        budget("2016-01-01", "2016-12-31", 100_000_000),
        budget("2017-01-01", "2017-12-31", 120_000_000),
    ];
    given::<Project>([registered()])
        .when(set_budget(first.clone()))
        .then(&[ProjectEvent::BudgetSet(BudgetSet {
            budgets: first.clone(),
        })]);
    let history = vec![
        registered(),
        ProjectEvent::BudgetSet(BudgetSet { budgets: first }),
    ];
    let project = given::<Project>(history.clone())
        .when(set_budget(vec![budget("2018-01-01", "2018-12-31", 0)]))
        .state();
    assert_eq!(project.budgets.len(), 1);
    let project = given::<Project>(history).when(set_budget(vec![])).state();
    assert!(project.budgets.is_empty());
}

#[test]
fn a_budget_period_is_at_most_one_year() {
    given::<Project>([registered()])
        .when(set_budget(vec![budget("2024-01-01", "2025-01-01", 1)]))
        .accepted();
    given::<Project>([registered()])
        .when(set_budget(vec![
            budget("2023-01-01", "2023-12-31", 1),
            budget("2024-01-01", "2025-01-02", 1),
        ]))
        .rejected(
            &ProjectError::BudgetPeriodTooLong { index: 1 },
            Some("budgets[1].periodEnd"),
        );
    // From a leap day the year ends on 28 February.
    given::<Project>([registered()])
        .when(set_budget(vec![budget("2024-02-29", "2025-02-28", 1)]))
        .accepted();
    given::<Project>([registered()])
        .when(set_budget(vec![budget("2024-02-29", "2025-03-01", 1)]))
        .rejected(
            &ProjectError::BudgetPeriodTooLong { index: 0 },
            Some("budgets[0].periodEnd"),
        );
    assert_eq!(
        budget_period_limit(day("2024-01-01")),
        Some(day("2025-01-01"))
    );
}

#[test]
fn a_budget_period_ends_after_it_starts() {
    for end in ["2024-01-01", "2023-12-31"] {
        given::<Project>([registered()])
            .when(set_budget(vec![budget("2024-01-01", end, 1)]))
            .rejected(
                &ProjectError::BudgetPeriodNotPositive { index: 0 },
                Some("budgets[0].periodEnd"),
            );
    }
    given::<Project>([registered()])
        .when(set_budget(vec![budget("2024-01-01", "2024-01-02", 1)]))
        .accepted();
}

#[test]
fn budget_values_are_not_negative() {
    given::<Project>([registered()])
        .when(set_budget(vec![
            budget("2016-01-01", "2016-12-31", 0),
            budget("2017-01-01", "2017-12-31", -1),
        ]))
        .rejected(
            &ProjectError::NegativeBudget { index: 1 },
            Some("budgets[1].value.minorUnits"),
        );
}

// ---------------------------------------------------------------- transactions

#[test]
fn record_a_transaction() {
    given::<Project>([registered()])
        .when(ProjectCommand::RecordTransaction(record(
            tx(1),
            125_000_000,
            "2016-03-01",
        )))
        .then(&[ProjectEvent::TransactionRecorded(TransactionEntry {
            id: tx(1),
            transaction_type: TransactionType::Disbursement,
            date: day("2016-03-01"),
            value: eur(125_000_000),
            value_date: day("2016-03-01"),
            description: Some(text("First instalment")),
            provider_organisation_id: Some(aa()),
            receiver_organisation_id: Some(giz()),
            reference: Some(TransactionRef::parse("AA-2016-001").unwrap()),
            reverses: None,
        })]);
    let history = given::<Project>([registered()])
        .when(ProjectCommand::RecordTransaction(record(
            tx(1),
            5,
            "2016-03-01",
        )))
        .history();
    let transactions = Transactions::fold(&history);
    let transaction = transactions.get(tx(1)).unwrap();
    assert_eq!(transaction.value.decimal(), "0.05");
    assert_eq!(transaction.reversed_by, None);
    // The project counts it; the transaction itself is not in its state.
    let project = Project::fold(&history).unwrap();
    assert_eq!(project.transaction_count, 1);
    let kept = serde_json::to_string(&project).unwrap();
    assert!(!kept.contains("First instalment"), "{kept}");
    assert!(!kept.contains(&tx(1).to_string()), "{kept}");
}

#[test]
fn zero_transactions_are_refused() {
    given::<Project>([registered()])
        .when(ProjectCommand::RecordTransaction(record(
            tx(1),
            0,
            "2016-03-01",
        )))
        .rejected(&ProjectError::ZeroTransaction, Some("value.minorUnits"));
}

#[test]
fn transactions_are_not_dated_in_the_future() {
    given::<Project>([registered()])
        .when(ProjectCommand::RecordTransaction(record(
            tx(1),
            1,
            "2026-06-16",
        )))
        .rejected(
            &ProjectError::DateInFuture {
                field: "date".into(),
                date: day("2026-06-16"),
                today: today(),
            },
            Some("date"),
        );
    given::<Project>([registered()])
        .when(ProjectCommand::RecordTransaction(record(
            tx(1),
            1,
            "2026-06-15",
        )))
        .accepted();
    // Nor valued at a future exchange rate (the IATI rulesets' value-date rule).
    let mut future_value_date = record(tx(1), 1, "2026-06-15");
    future_value_date.value_date = day("2026-07-01");
    given::<Project>([registered()])
        .when(ProjectCommand::RecordTransaction(future_value_date))
        .rejected(
            &ProjectError::DateInFuture {
                field: "valueDate".into(),
                date: day("2026-07-01"),
                today: today(),
            },
            Some("valueDate"),
        );
}

#[test]
fn deactivated_organisations_may_be_named_in_transactions() {
    let history = given::<Project>([registered()])
        .when(ProjectCommand::RecordTransaction(RecordTransaction {
            provider_organisation: Some(deactivated(bmz())),
            receiver_organisation: None,
            description: None,
            reference: None,
            ..record(tx(1), 1, "2016-03-01")
        }))
        .history();
    assert_eq!(
        Transactions::fold(&history)
            .get(tx(1))
            .unwrap()
            .provider_organisation_id,
        Some(bmz())
    );
}

#[test]
fn reverse_a_transaction() {
    let history = [registered(), recorded(tx(1), 125_000_000, "2016-03-01")];
    given::<Project>(history.clone())
        .when(reverse(&history, tx(1), tx(2)))
        .then(&[ProjectEvent::TransactionReversed(TransactionReversed {
            transaction_id: tx(1),
            reversal: TransactionEntry {
                id: tx(2),
                transaction_type: TransactionType::Disbursement,
                date: today(),
                value: eur(-125_000_000),
                value_date: day("2016-03-01"),
                description: Some(text("Booked twice")),
                provider_organisation_id: Some(aa()),
                receiver_organisation_id: Some(giz()),
                reference: None,
                reverses: Some(tx(1)),
            },
        })]);
    let after = given::<Project>(history.clone())
        .when(reverse(&history, tx(1), tx(2)))
        .history();
    assert_eq!(Project::fold(&after).unwrap().transaction_count, 2);
    let transactions = Transactions::fold(&after);
    assert_eq!(transactions.len(), 2);
    assert_eq!(transactions.get(tx(1)).unwrap().reversed_by, Some(tx(2)));
    let reversal = transactions.get(tx(2)).unwrap();
    assert_eq!(reversal.reverses, Some(tx(1)));
    assert_eq!(reversal.value.decimal(), "-1250000.00");
    let net: i64 = transactions
        .as_slice()
        .iter()
        .map(|t| t.value.minor_units())
        .sum();
    assert_eq!(net, 0);
    // Gathered from rows as a store keeps them (no `reversedBy`), they are the same.
    let rows = transactions
        .as_slice()
        .iter()
        .map(|t| Transaction {
            reversed_by: None,
            ..t.clone()
        })
        .collect();
    assert_eq!(Transactions::from_rows(rows), transactions);
}

/// A reversal names the project's version its transaction was looked up at: the command reads
/// the project at that version, so that it is not decided against a project that moved on.
#[test]
fn a_reversal_reads_the_project_at_the_version_its_transaction_was_looked_up_at() {
    let history = [registered(), recorded(tx(1), 10, "2016-03-01")];
    let command = reverse(&history, tx(1), tx(2));
    assert_eq!(
        command.reads(),
        vec![StreamRead {
            stream: crate::aggregate::StreamKind::Project,
            stream_id: project_id(),
            version: 2,
        }]
    );
}

#[test]
fn reversal_rejections() {
    let recorded_once = [registered(), recorded(tx(1), 10, "2016-03-01")];
    let history = given::<Project>(recorded_once.clone())
        .when(reverse(&recorded_once, tx(1), tx(2)))
        .history();
    given::<Project>(history.clone())
        .when(reverse(&history, tx(9), tx(3)))
        .rejected(
            &ProjectError::TransactionNotFound { id: tx(9) },
            Some("transactionId"),
        );
    given::<Project>(history.clone())
        .when(reverse(&history, tx(1), tx(3)))
        .rejected(
            &ProjectError::TransactionAlreadyReversed {
                id: tx(1),
                reversed_by: tx(2),
            },
            Some("transactionId"),
        );
    given::<Project>(history.clone())
        .when(reverse(&history, tx(2), tx(3)))
        .rejected(
            &ProjectError::ReversalCannotBeReversed { id: tx(2) },
            Some("transactionId"),
        );
}

// ---------------------------------------------------------------- documents, links, identifiers

fn add_document(url: &str) -> ProjectCommand {
    ProjectCommand::AddDocument(AddDocument {
        project_id: project_id(),
        url: WebUrl::parse(url).unwrap(),
        title: Title::parse("Project budget").unwrap(),
        category: DocumentCategory::parse("A05").unwrap(),
        format: MimeType::parse("application/pdf").unwrap(),
        date: Some(day("2016-01-15")),
    })
}

#[test]
fn add_a_document_once() {
    let project = given::<Project>([registered()])
        .when(add_document("https://example.org/budget.pdf"))
        .state();
    assert_eq!(project.documents.len(), 1);
    assert_eq!(project.documents[0].category.as_str(), "A05");
    let history = given::<Project>([registered()])
        .when(add_document("https://example.org/budget.pdf"))
        .accepted();
    given::<Project>([registered()].into_iter().chain(history))
        .when(add_document("https://example.org/budget.pdf"))
        .rejected(
            &ProjectError::DocumentAlreadyAdded {
                url: WebUrl::parse("https://example.org/budget.pdf").unwrap(),
            },
            Some("url"),
        );
}

fn related(id: Uuid, relation: RelatedActivityType) -> ProjectCommand {
    ProjectCommand::AddRelatedProject(AddRelatedProject {
        project_id: project_id(),
        related: ProjectFacts {
            id,
            iati_identifier: IatiIdentifier::parse("XM-DAC-5-7-2018-1").unwrap(),
            status: ProjectStatus::Implementation,
            participating_organisations: vec![],
            version: 3,
        },
        relation,
    })
}

#[test]
fn relate_projects() {
    let other = Uuid::from_u128(0x200);
    let project = given::<Project>([registered()])
        .when(related(other, RelatedActivityType::Sibling))
        .state();
    assert_eq!(
        project.related_projects,
        vec![RelatedProject {
            project_id: other,
            iati_identifier: IatiIdentifier::parse("XM-DAC-5-7-2018-1").unwrap(),
            relation: RelatedActivityType::Sibling,
        }]
    );
    let history: Vec<ProjectEvent> = [registered()]
        .into_iter()
        .chain(
            given::<Project>([registered()])
                .when(related(other, RelatedActivityType::Sibling))
                .accepted(),
        )
        .collect();
    given::<Project>(history.clone())
        .when(related(other, RelatedActivityType::Sibling))
        .rejected(
            &ProjectError::RelatedProjectAlreadyAdded { project_id: other },
            Some("relatedProjectId"),
        );
    given::<Project>(history)
        .when(related(other, RelatedActivityType::CoFunded))
        .accepted();
    given::<Project>([registered()])
        .when(related(project_id(), RelatedActivityType::Parent))
        .rejected(&ProjectError::RelatedToItself, Some("relatedProjectId"));
}

fn other_identifier(reference: &str, identifier_type: OtherIdentifierType) -> ProjectCommand {
    ProjectCommand::AddOtherIdentifier(AddOtherIdentifier {
        project_id: project_id(),
        reference: OtherIdentifierRef::parse(reference).unwrap(),
        identifier_type,
    })
}

#[test]
fn a_follow_on_project_names_its_predecessor_with_a3() {
    let a3 = OtherIdentifierType::PreviousActivityIdentifier;
    let project = given::<Project>([registered()])
        .when(other_identifier("XM-DAC-5-7-2012-9", a3))
        .state();
    assert_eq!(project.other_identifiers[0].identifier_type.code(), "A3");
    given::<Project>([registered()])
        .when(other_identifier("XM-DAC-5-7-2012/9", a3))
        .rejected(
            &ProjectError::Invalid {
                field: "ref".into(),
                error: ValueError::ForbiddenCharacter('/'),
            },
            Some("ref"),
        );
    given::<Project>([registered()])
        .when(other_identifier("XM-DAC-5-7-2015-1234", a3))
        .rejected(
            &ProjectError::OwnIdentifier {
                reference: OtherIdentifierRef::parse("XM-DAC-5-7-2015-1234").unwrap(),
            },
            Some("ref"),
        );
    let history: Vec<ProjectEvent> = [registered()]
        .into_iter()
        .chain(
            given::<Project>([registered()])
                .when(other_identifier("XM-DAC-5-7-2012-9", a3))
                .accepted(),
        )
        .collect();
    given::<Project>(history)
        .when(other_identifier("XM-DAC-5-7-2012-9", a3))
        .rejected(
            &ProjectError::OtherIdentifierAlreadyAdded {
                reference: OtherIdentifierRef::parse("XM-DAC-5-7-2012-9").unwrap(),
            },
            Some("ref"),
        );
    // Other types are free references.
    given::<Project>([registered()])
        .when(other_identifier(
            "CRS/2015/123",
            OtherIdentifierType::CrsActivityIdentifier,
        ))
        .accepted();
}

/// The project `events` make.
fn folded(events: &[ProjectEvent]) -> Project {
    <Project as crate::aggregate::Aggregate>::fold(events).unwrap()
}

/// `history` then what `command` decided: the events of a project that went through them.
fn after(history: Vec<ProjectEvent>, command: ProjectCommand) -> Vec<ProjectEvent> {
    let decided = given::<Project>(history.clone()).when(command).accepted();
    history.into_iter().chain(decided).collect()
}

#[test]
fn a_document_can_be_removed_and_added_again_and_only_a_linked_one() {
    let url = "https://example.org/budget.pdf";
    let remove = |url: &str| {
        ProjectCommand::RemoveDocument(RemoveDocument {
            project_id: project_id(),
            url: WebUrl::parse(url).unwrap(),
        })
    };
    let linked = after(vec![registered()], add_document(url));
    let removed = after(linked, remove(url));
    assert!(
        matches!(removed.last(), Some(ProjectEvent::DocumentRemoved(r)) if r.url.as_str() == url)
    );
    let project = folded(&removed);
    assert!(project.documents.is_empty());
    // Removed twice, or never linked: refused naming `url`.
    given::<Project>(removed.clone())
        .when(remove(url))
        .rejected(
            &ProjectError::DocumentNotFound {
                url: WebUrl::parse(url).unwrap(),
            },
            Some("url"),
        );
    // A corrected document is linked again under the same URL.
    let again = given::<Project>(removed).when(add_document(url)).state();
    assert_eq!(again.documents.len(), 1);
}

#[test]
fn a_relation_is_removed_by_project_and_type() {
    let other = Uuid::from_u128(0x200);
    let remove = |relation| {
        ProjectCommand::RemoveRelatedProject(RemoveRelatedProject {
            project_id: project_id(),
            related_project_id: other,
            relation,
        })
    };
    let both = after(
        after(
            vec![registered()],
            related(other, RelatedActivityType::Sibling),
        ),
        related(other, RelatedActivityType::CoFunded),
    );
    let project = folded(&after(both.clone(), remove(RelatedActivityType::Sibling)));
    assert_eq!(project.related_projects.len(), 1);
    assert_eq!(
        project.related_projects[0].relation,
        RelatedActivityType::CoFunded
    );
    given::<Project>(both)
        .when(remove(RelatedActivityType::Parent))
        .rejected(
            &ProjectError::RelatedProjectNotFound { project_id: other },
            Some("relatedProjectId"),
        );
}

#[test]
fn an_other_identifier_is_removed_by_ref_and_type() {
    let a3 = OtherIdentifierType::PreviousActivityIdentifier;
    let remove = |reference: &str, identifier_type| {
        ProjectCommand::RemoveOtherIdentifier(RemoveOtherIdentifier {
            project_id: project_id(),
            identifier: OtherIdentifier {
                reference: OtherIdentifierRef::parse(reference).unwrap(),
                identifier_type,
            },
        })
    };
    let named = after(
        vec![registered()],
        other_identifier("XM-DAC-5-7-2012-9", a3),
    );
    // The same ref under another type is not the identifier recorded.
    given::<Project>(named.clone())
        .when(remove(
            "XM-DAC-5-7-2012-9",
            OtherIdentifierType::OtherActivityIdentifier,
        ))
        .rejected(
            &ProjectError::OtherIdentifierNotFound {
                reference: OtherIdentifierRef::parse("XM-DAC-5-7-2012-9").unwrap(),
            },
            Some("ref"),
        );
    let project = folded(&after(named, remove("XM-DAC-5-7-2012-9", a3)));
    assert!(project.other_identifiers.is_empty());
}

// ---------------------------------------------------------------- events and fold

#[test]
fn every_event_round_trips_without_floats_and_the_fold_counts_versions() {
    let mut history = vec![registered()];
    let decide = |history: &mut Vec<ProjectEvent>, command: ProjectCommand| {
        let events = given::<Project>(history.clone()).when(command).accepted();
        history.extend(events);
    };
    decide(
        &mut history,
        ProjectCommand::Revise(ReviseProject {
            objectives: Patch::Set(text("Revised objectives")),
            recipient_regions: Some(vec![]),
            ..revise()
        }),
    );
    decide(
        &mut history,
        change(ProjectStatus::Implementation, Some("2016-02-01"), None),
    );
    decide(
        &mut history,
        add_participant(facts(bmz(), Some("DE-1")), OrganisationRole::Funding),
    );
    decide(
        &mut history,
        remove_participant(asec(), OrganisationRole::Accountable),
    );
    decide(
        &mut history,
        set_budget(vec![budget(
            "2016-01-01",
            "2016-12-31",
            9_007_199_254_740_991,
        )]),
    );
    decide(
        &mut history,
        ProjectCommand::RecordTransaction(record(tx(1), 100, "2016-03-01")),
    );
    let reversal = reverse(&history, tx(1), tx(2));
    decide(&mut history, reversal);
    decide(&mut history, add_document("https://example.org/a.pdf"));
    decide(
        &mut history,
        related(Uuid::from_u128(0x300), RelatedActivityType::Parent),
    );
    decide(
        &mut history,
        other_identifier(
            "XM-DAC-5-7-2012-9",
            OtherIdentifierType::PreviousActivityIdentifier,
        ),
    );
    decide(&mut history, set_defaults(all_defaults()));
    decide(&mut history, set_markers(vec![marker("3", "2")]));
    decide(&mut history, set_contacts(vec![contact()]));
    decide(
        &mut history,
        set_disbursements(vec![disbursement(
            "2016-01-01",
            Some("2016-06-30"),
            9_007_199_254_740_991,
        )]),
    );
    decide(&mut history, set_locations(vec![location("Jakarta")]));
    decide(
        &mut history,
        set_results(vec![result("1", vec![indicator("1", Some("10"))])]),
    );
    let kinds: std::collections::BTreeSet<&str> = history
        .iter()
        .map(crate::aggregate::DomainEvent::event_type)
        .collect();
    assert_eq!(kinds.len(), 17, "{kinds:?}");
    for event in &history {
        crate::testing::assert_json_round_trip(event);
    }
    let project = Project::fold(&history).unwrap();
    assert_eq!(project.version, 17);
    assert_eq!(project.locations, vec![location("Jakarta")]);
    assert_eq!(project.results.len(), 1);
    assert_eq!(project.planned_disbursements.len(), 1);
    assert_eq!(project.contacts, vec![contact()]);
    assert_eq!(project.policy_markers, vec![marker("3", "2")]);
    assert_eq!(project.defaults, all_defaults());

    let json = serde_json::to_value(&history[0]).unwrap();
    assert_eq!(json["type"], "ProjectRegistered");
    assert_eq!(json["data"]["iatiIdentifier"], "XM-DAC-5-7-2015-1234");
    assert_eq!(json["data"]["status"], "1");
    assert_eq!(json["data"]["plannedStart"], "2016-01-01");
    assert_eq!(json["data"]["recipientCountries"][0]["percentage"], "10.00");
    assert_eq!(json["data"]["participatingOrganisations"][0]["role"], "1");
    let budget_json = serde_json::to_value(&history[5]).unwrap();
    assert_eq!(
        budget_json["data"]["budgets"][0]["value"]["minorUnits"],
        9_007_199_254_740_991_i64
    );
}

#[test]
fn evolve_ignores_events_that_cannot_apply() {
    assert_eq!(Project::evolve(None, &started()), None);
    let project = Project::fold(&[registered()]).unwrap();
    assert_eq!(
        Project::evolve(Some(project.clone()), &registered()),
        Some(project)
    );
}

#[test]
fn command_ids() {
    assert_eq!(
        ProjectCommand::Register(register()).project_id(),
        project_id()
    );
    assert_eq!(reverse(&[], tx(1), tx(2)).project_id(), project_id());
    let _: NaiveDate = today();
}

// ---------------------------------------------------------------- parsing input rows

#[test]
fn input_rows_parse_with_field_paths() {
    assert_eq!(
        RecipientCountry::parse(0, "ID", "10").unwrap(),
        country("ID", "10")
    );
    let error = RecipientCountry::parse(1, "XX", "10").unwrap_err();
    assert_eq!(
        field_of(&error).as_deref(),
        Some("recipientCountries[1].country")
    );
    let error = RecipientCountry::parse(2, "ID", "33.333").unwrap_err();
    assert_eq!(
        error,
        ProjectError::Invalid {
            field: FieldPath::list("recipientCountries", 2).field("percentage"),
            error: ValueError::PercentageTooPrecise("33.333".into()),
        }
    );
    assert_eq!(
        field_of(&RecipientRegion::parse(0, "999", "10").unwrap_err()).as_deref(),
        Some("recipientRegions[0].code")
    );
    assert_eq!(
        SectorShare::parse(3, "15120", "10").unwrap_err(),
        ProjectError::Invalid {
            field: FieldPath::list("sectors", 3).field("code"),
            error: ValueError::WithdrawnCode {
                list: "Sector",
                code: "15120".into(),
            },
        }
    );
    assert_eq!(
        field_of(&SectorShare::parse(0, "15113", "0").unwrap_err()).as_deref(),
        Some("sectors[0].percentage")
    );
}

#[test]
fn budget_rows_name_their_money_fields() {
    let parse = |units: &str, currency: &str| {
        Budget::parse(
            2,
            BudgetType::Original,
            BudgetStatus::Indicative,
            day("2024-01-01"),
            day("2024-12-31"),
            units,
            currency,
            day("2024-01-01"),
        )
    };
    assert_eq!(
        parse("100", "EUR").unwrap(),
        Budget {
            status: BudgetStatus::Indicative,
            ..budget("2024-01-01", "2024-12-31", 100)
        }
    );
    assert_eq!(
        field_of(&parse("9007199254740992", "EUR").unwrap_err()).as_deref(),
        Some("budgets[2].value.minorUnits")
    );
    assert_eq!(
        field_of(&parse("100", "EURO").unwrap_err()).as_deref(),
        Some("budgets[2].value.currency")
    );
    let error = Money::parse("1.5", "USD")
        .map_err(ProjectError::invalid_money("value"))
        .unwrap_err();
    assert_eq!(field_of(&error).as_deref(), Some("value.minorUnits"));
}

#[test]
fn commands_hold_only_while_the_organisations_and_projects_they_name_are_as_read() {
    use crate::aggregate::StreamKind;
    use crate::ports::StreamRead;
    let organisation = |id| StreamRead {
        stream: StreamKind::Organisation,
        stream_id: id,
        version: 1,
    };
    assert_eq!(
        Project::reads(&ProjectCommand::Register(register())),
        vec![
            organisation(aa()),
            organisation(aa()),
            organisation(asec()),
            organisation(giz()),
        ]
    );
    let other = Uuid::from_u128(0x77);
    assert_eq!(
        Project::reads(&related(other, RelatedActivityType::Sibling)),
        vec![StreamRead {
            stream: StreamKind::Project,
            stream_id: other,
            version: 3,
        }]
    );
    assert!(
        Project::reads(&ProjectCommand::ChangeStatus(ChangeProjectStatus {
            id: project_id(),
            status: ProjectStatus::Implementation,
            actual_start: None,
            actual_end: None,
        }))
        .is_empty()
    );
}

fn all_defaults() -> ProjectDefaults {
    ProjectDefaults {
        currency: Some(CurrencyCode::parse("EUR").unwrap()),
        language: Some(crate::values::LanguageCode::parse("en").unwrap()),
        collaboration_type: Some(crate::values::CollaborationType::parse("1").unwrap()),
        flow_type: Some(crate::values::FlowType::parse("10").unwrap()),
        finance_type: Some(crate::values::FinanceType::parse("110").unwrap()),
        aid_type: Some(crate::values::AidType::parse("C01").unwrap()),
        tied_status: Some(crate::values::TiedStatus::parse("5").unwrap()),
    }
}

fn set_defaults(defaults: ProjectDefaults) -> ProjectCommand {
    ProjectCommand::SetDefaults(SetProjectDefaults {
        project_id: project_id(),
        defaults,
    })
}

#[test]
fn defaults_are_set_whole_and_cleared_field_by_field() {
    let project = given::<Project>([registered()])
        .when(set_defaults(all_defaults()))
        .state();
    assert_eq!(project.defaults, all_defaults());
    let set = ProjectEvent::ProjectDefaultsSet(all_defaults());
    let cleared = ProjectDefaults {
        currency: None,
        aid_type: None,
        ..all_defaults()
    };
    let project = given::<Project>([registered(), set.clone()])
        .when(set_defaults(cleared))
        .state();
    assert_eq!(project.defaults, cleared);
    // The same defaults again change nothing, so they are refused, like an empty revision.
    given::<Project>([registered(), set])
        .when(set_defaults(all_defaults()))
        .rejected(&ProjectError::NothingToRevise, None);
    // A project registered before defaults existed has none, and its state says nothing of them.
    let fresh = given::<Project>([])
        .when(ProjectCommand::Register(register()))
        .state();
    assert!(fresh.defaults.is_empty());
    assert!(!serde_json::to_string(&fresh).unwrap().contains("defaults"));
}

#[test]
fn a_withdrawn_code_is_refused_as_a_new_default_and_kept_as_an_old_one() {
    let withdrawn = crate::values::FlowType::known("20").unwrap();
    assert!(withdrawn.is_withdrawn());
    let with_withdrawn = ProjectDefaults {
        flow_type: Some(withdrawn),
        ..ProjectDefaults::default()
    };
    let rejection = given::<Project>([registered()])
        .when(set_defaults(with_withdrawn))
        .error();
    assert_eq!(field_of(&rejection).as_deref(), Some("flowTypeCode"));
    // Recorded before the withdrawal, it stays while another default changes.
    let recorded = ProjectEvent::ProjectDefaultsSet(with_withdrawn);
    let project = given::<Project>([registered(), recorded])
        .when(set_defaults(ProjectDefaults {
            tied_status: Some(crate::values::TiedStatus::parse("5").unwrap()),
            ..with_withdrawn
        }))
        .state();
    assert_eq!(project.defaults.flow_type, Some(withdrawn));
}

fn marker(code: &str, significance: &str) -> PolicyMarker {
    PolicyMarker {
        code: crate::values::PolicyMarkerCode::parse(code).unwrap(),
        significance: crate::values::PolicySignificance::parse(significance).unwrap(),
    }
}

fn set_markers(policy_markers: Vec<PolicyMarker>) -> ProjectCommand {
    ProjectCommand::SetPolicyMarkers(SetPolicyMarkers {
        project_id: project_id(),
        policy_markers,
    })
}

#[test]
fn policy_markers_are_set_replaced_and_cleared() {
    let markers = vec![marker("3", "2"), marker("1", "1")];
    let project = given::<Project>([registered()])
        .when(set_markers(markers.clone()))
        .state();
    assert_eq!(project.policy_markers, markers);
    let set = ProjectEvent::PolicyMarkersSet(PolicyMarkersSet {
        policy_markers: markers.clone(),
    });
    given::<Project>([registered(), set.clone()])
        .when(set_markers(markers))
        .rejected(&ProjectError::NothingToRevise, None);
    let project = given::<Project>([registered(), set])
        .when(set_markers(Vec::new()))
        .state();
    assert!(project.policy_markers.is_empty());
}

#[test]
fn a_policy_marker_is_given_once_with_a_significance_that_applies_to_it() {
    given::<Project>([registered()])
        .when(set_markers(vec![marker("3", "2"), marker("3", "1")]))
        .rejected(
            &ProjectError::DuplicatePolicyMarker {
                index: 1,
                code: crate::values::PolicyMarkerCode::parse("3").unwrap(),
            },
            Some("policyMarkers[1].code"),
        );
    // 3 (in support of an action programme) is for desertification (8) only.
    let rejection = given::<Project>([registered()])
        .when(set_markers(vec![marker("1", "1"), marker("3", "3")]))
        .error();
    assert_eq!(
        field_of(&rejection).as_deref(),
        Some("policyMarkers[1].significance")
    );
    given::<Project>([registered()])
        .when(set_markers(vec![marker("8", "3"), marker("9", "4")]))
        .accepted();
    let rejection = given::<Project>([registered()])
        .when(set_markers(vec![marker("2", "4")]))
        .error();
    assert_eq!(
        field_of(&rejection).as_deref(),
        Some("policyMarkers[0].significance")
    );
}

fn contact() -> Contact {
    Contact {
        contact_type: Some(crate::values::ContactType::parse("2").unwrap()),
        organisation: Some(
            Name::parse("Deutsche Gesellschaft für Internationale Zusammenarbeit").unwrap(),
        ),
        department: None,
        person_name: Some(Name::parse("Project office Jakarta").unwrap()),
        job_title: None,
        telephone: Some(crate::values::Telephone::parse("+62 21 7262991").unwrap()),
        email: Some(crate::values::EmailAddress::parse("asec@example.org").unwrap()),
        website: Some(WebUrl::parse("https://www.giz.de/").unwrap()),
        mailing_address: Some(
            Description::parse("Jl. Sisingamangaraja 70A\nJakarta 12110").unwrap(),
        ),
    }
}

fn set_contacts(contacts: Vec<Contact>) -> ProjectCommand {
    ProjectCommand::SetContacts(SetContacts {
        project_id: project_id(),
        contacts,
    })
}

#[test]
fn contacts_are_set_replaced_and_cleared_and_each_says_something() {
    let project = given::<Project>([registered()])
        .when(set_contacts(vec![contact()]))
        .state();
    assert_eq!(project.contacts, vec![contact()]);
    let set = ProjectEvent::ContactsSet(ContactsSet {
        contacts: vec![contact()],
    });
    given::<Project>([registered(), set.clone()])
        .when(set_contacts(vec![contact()]))
        .rejected(&ProjectError::NothingToRevise, None);
    let project = given::<Project>([registered(), set])
        .when(set_contacts(Vec::new()))
        .state();
    assert!(project.contacts.is_empty());
    let only_a_type = Contact {
        contact_type: contact().contact_type,
        ..Contact::default()
    };
    given::<Project>([registered()])
        .when(set_contacts(vec![contact(), only_a_type]))
        .rejected(
            &ProjectError::EmptyContact { index: 1 },
            Some("contacts[1]"),
        );
}

#[test]
fn e_mail_addresses_and_telephone_numbers_are_checked() {
    use crate::values::{EmailAddress, Telephone};
    for good in ["asec@example.org", "a.b+c@sub.example.co.id", "ä@bücher.de"] {
        assert!(EmailAddress::parse(good).is_ok(), "{good}");
    }
    for bad in [
        "",
        "asec",
        "@example.org",
        "asec@example",
        "asec@@example.org",
        "a sec@example.org",
        "asec@-example.org",
        "asec@example..org",
    ] {
        assert!(EmailAddress::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(
        Telephone::parse(" +62 (21) 726-2991 ").unwrap().as_str(),
        "+62 (21) 726-2991"
    );
    for bad in ["", "1234", "+62 21 CALL ME", "0".repeat(51).as_str()] {
        assert!(Telephone::parse(bad).is_err(), "{bad}");
    }
}

fn disbursement(start: &str, end: Option<&str>, units: i64) -> PlannedDisbursement {
    PlannedDisbursement {
        disbursement_type: BudgetType::Original,
        period_start: day(start),
        period_end: end.map(day),
        value: Money::new(units, CurrencyCode::parse("EUR").unwrap()).unwrap(),
        value_date: day(start),
        provider_organisation_id: None,
        receiver_organisation_id: None,
    }
}

fn set_disbursements(planned_disbursements: Vec<PlannedDisbursement>) -> ProjectCommand {
    set_disbursements_with(planned_disbursements, Vec::new())
}

fn set_disbursements_with(
    planned_disbursements: Vec<PlannedDisbursement>,
    organisations: Vec<OrganisationFacts>,
) -> ProjectCommand {
    ProjectCommand::SetPlannedDisbursements(SetPlannedDisbursements {
        project_id: project_id(),
        planned_disbursements,
        organisations,
    })
}

#[test]
fn planned_disbursements_name_their_provider_and_receiver() {
    let mut row = disbursement("2016-01-01", None, 10);
    row.provider_organisation_id = Some(bmz());
    row.receiver_organisation_id = Some(giz());
    let known = vec![facts(bmz(), Some("DE-1")), facts(giz(), None)];
    let command = set_disbursements_with(vec![row], known.clone());
    let reads: Vec<Uuid> = command.reads().iter().map(|r| r.stream_id).collect();
    assert_eq!(reads, [bmz(), giz()], "the append requires both unchanged");
    let project = given::<Project>([registered()]).when(command).state();
    assert_eq!(project.planned_disbursements, vec![row]);

    given::<Project>([registered()])
        .when(set_disbursements_with(vec![row], vec![known[0].clone()]))
        .rejected(
            &ProjectError::UnknownOrganisation {
                field: FieldPath::list("plannedDisbursements", 0).field("receiverOrganisationId"),
                id: giz(),
            },
            Some("plannedDisbursements[0].receiverOrganisationId"),
        );
    let mut gone = known;
    gone[0].deactivated = true;
    given::<Project>([registered()])
        .when(set_disbursements_with(vec![row], gone))
        .rejected(
            &ProjectError::OrganisationDeactivated {
                field: FieldPath::list("plannedDisbursements", 0).field("providerOrganisationId"),
                organisation_id: bmz(),
            },
            Some("plannedDisbursements[0].providerOrganisationId"),
        );
}

fn set_results(results: Vec<ProjectResult>) -> ProjectCommand {
    ProjectCommand::SetResults(SetResults {
        project_id: project_id(),
        results,
    })
}

fn value(raw: Option<&str>) -> Option<crate::values::IndicatorValue> {
    raw.map(|raw| crate::values::IndicatorValue::parse(raw).unwrap())
}

/// An indicator of `measure` whose baseline, one period's target and actual all carry `value`.
fn indicator(measure: &str, raw: Option<&str>) -> Indicator {
    let measured = Measurement {
        value: value(raw),
        comment: Some(text("Counted at the end of the training")),
    };
    Indicator {
        measure: crate::values::IndicatorMeasure::parse(measure).unwrap(),
        ascending: Some(true),
        title: Title::parse("Auditors trained in ISSAI 400").unwrap(),
        description: None,
        baseline: Some(Baseline {
            year: 2016,
            date: Some(day("2016-01-01")),
            value: value(raw),
            comment: None,
        }),
        periods: vec![IndicatorPeriod {
            period_start: day("2016-01-01"),
            period_end: day("2016-12-31"),
            target: Some(measured.clone()),
            actual: Some(measured),
        }],
    }
}

fn result(result_type: &str, indicators: Vec<Indicator>) -> ProjectResult {
    ProjectResult {
        result_type: crate::values::ResultType::parse(result_type).unwrap(),
        title: Title::parse("Stronger supreme audit institutions").unwrap(),
        description: Some(text("Audit capacity in the member states")),
        indicators,
    }
}

#[test]
fn results_are_set_and_follow_the_rules_of_results() {
    let results = vec![
        result(
            "1",
            vec![indicator("1", Some("12.5")), indicator("5", None)],
        ),
        result("2", vec![indicator("2", Some("-3"))]),
    ];
    let project = given::<Project>([registered()])
        .when(set_results(results.clone()))
        .state();
    assert_eq!(project.results, results);
    let set = ProjectEvent::ResultsSet(ResultsSet {
        results: results.clone(),
    });
    given::<Project>([registered(), set.clone()])
        .when(set_results(results.clone()))
        .rejected(&ProjectError::NothingToRevise, None);
    // Updated over time: a new actual is a new list.
    let mut later = results;
    later[1].indicators[0].periods[0].actual = Some(Measurement {
        value: value(Some("4")),
        comment: None,
    });
    let updated = given::<Project>([registered(), set])
        .when(set_results(later.clone()))
        .state();
    assert_eq!(updated.results, later);
    given::<Project>([registered()])
        .when(set_results(vec![]))
        .rejected(&ProjectError::NothingToRevise, None);

    let rule = |field: FieldPath, rule| {
        let name = field.to_string();
        (ProjectError::ResultRule { field, rule }, name)
    };
    let at = |i: usize| FieldPath::list("results", 0).field("indicators").index(i);
    let mut reversed = indicator("1", Some("1"));
    reversed.periods[0].period_end = day("2015-12-31");
    let mut baseline_missing = indicator("3", Some("1"));
    if let Some(baseline) = baseline_missing.baseline.as_mut() {
        baseline.value = None;
    }
    let mut qualitative_actual = indicator("5", None);
    qualitative_actual.periods[0].actual = Some(Measurement {
        value: value(Some("1")),
        comment: None,
    });
    let cases = [
        (
            vec![result("1", vec![])],
            rule(
                FieldPath::list("results", 0).field("indicators"),
                ResultRule::NoIndicator,
            ),
        ),
        (
            vec![result("1", vec![indicator("1", Some("1")), reversed])],
            rule(
                at(1).field("periods").index(0).field("periodEnd"),
                ResultRule::PeriodReversed,
            ),
        ),
        (
            vec![result("1", vec![baseline_missing])],
            rule(
                at(0).field("baseline").field("value"),
                ResultRule::ValueMissing,
            ),
        ),
        (
            vec![result("1", vec![indicator("4", None)])],
            rule(
                at(0).field("baseline").field("value"),
                ResultRule::ValueMissing,
            ),
        ),
        (
            vec![result("2", vec![qualitative_actual])],
            rule(
                at(0)
                    .field("periods")
                    .index(0)
                    .field("actual")
                    .field("value"),
                ResultRule::ValueForQualitative,
            ),
        ),
    ];
    for (results, (error, field)) in cases {
        given::<Project>([registered()])
            .when(set_results(results))
            .rejected(&error, Some(&field));
    }
}

#[test]
fn planned_disbursements_are_set_in_order_and_checked() {
    let rows = vec![
        disbursement("2016-01-01", Some("2016-03-31"), 25_000_000),
        disbursement("2016-04-01", None, 0),
    ];
    let project = given::<Project>([registered()])
        .when(set_disbursements(rows.clone()))
        .state();
    assert_eq!(project.planned_disbursements, rows);
    let set = ProjectEvent::PlannedDisbursementsSet(PlannedDisbursementsSet {
        planned_disbursements: rows.clone(),
    });
    given::<Project>([registered(), set])
        .when(set_disbursements(rows))
        .rejected(&ProjectError::NothingToRevise, None);
    given::<Project>([registered()])
        .when(set_disbursements(vec![
            disbursement("2016-01-01", Some("2016-01-01"), 1),
            disbursement("2016-04-01", Some("2016-03-31"), 1),
        ]))
        .rejected(
            &ProjectError::DisbursementPeriodReversed { index: 1 },
            Some("plannedDisbursements[1].periodEnd"),
        );
    given::<Project>([registered()])
        .when(set_disbursements(vec![disbursement(
            "2016-01-01",
            None,
            -1,
        )]))
        .rejected(
            &ProjectError::NegativeDisbursement { index: 0 },
            Some("plannedDisbursements[0].value.minorUnits"),
        );
}

fn location(name: &str) -> Location {
    Location {
        name: Name::parse(name).unwrap(),
        description: Some(Description::parse("The ASEAN Secretariat's seat.").unwrap()),
        point: Some(crate::values::GeoPoint::parse("-6.237760", "106.800270").unwrap()),
        administrative: Some(AdministrativeArea {
            vocabulary: crate::values::GeographicVocabulary::parse("A4").unwrap(),
            level: Some(1),
            code: crate::values::AreaCode::parse("ID-JK").unwrap(),
        }),
    }
}

fn set_locations(locations: Vec<Location>) -> ProjectCommand {
    ProjectCommand::SetLocations(SetLocations {
        project_id: project_id(),
        locations,
    })
}

#[test]
fn locations_are_set_once_by_name_and_cleared() {
    let rows = vec![location("Jakarta"), location("Singapore")];
    let project = given::<Project>([registered()])
        .when(set_locations(rows.clone()))
        .state();
    assert_eq!(project.locations, rows);
    let set = ProjectEvent::LocationsSet(LocationsSet {
        locations: rows.clone(),
    });
    given::<Project>([registered(), set.clone()])
        .when(set_locations(rows))
        .rejected(&ProjectError::NothingToRevise, None);
    assert!(
        given::<Project>([registered(), set])
            .when(set_locations(Vec::new()))
            .state()
            .locations
            .is_empty()
    );
    given::<Project>([registered()])
        .when(set_locations(vec![
            location("Jakarta"),
            location("Jakarta"),
        ]))
        .rejected(
            &ProjectError::DuplicateLocation {
                index: 1,
                name: "Jakarta".to_owned(),
            },
            Some("locations[1].name"),
        );
}

/// A command that needs only a project's facts reads them from its kept state (the project's
/// serde form) without decoding the rest: the same facts as the whole project gives.
#[test]
fn facts_read_from_a_kept_state_are_the_projects() {
    let project = given::<Project>([
        registered(),
        started(),
        recorded(tx(1), 1_000, "2026-01-10"),
        recorded(tx(2), 2_500, "2026-01-11"),
    ])
    .when(ProjectCommand::AddParticipatingOrganisation(
        AddParticipatingOrganisation {
            project_id: project_id(),
            organisation: facts(bmz(), Some("XM-DAC-5-7")),
            role: OrganisationRole::Funding,
        },
    ))
    .state();
    assert_eq!(project.transaction_count, 2);
    let kept = serde_json::to_string(&project).unwrap_or_default();
    let facts: ProjectFacts = serde_json::from_str(&kept).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(facts, project.facts());
    assert_eq!(facts.version, 5);
    assert_eq!(facts.status, ProjectStatus::Implementation);
    assert!(
        facts
            .participating_organisations
            .iter()
            .any(|p| p.organisation_id == bmz() && p.role == OrganisationRole::Funding)
    );
}

#[test]
fn a_transaction_leaves_out_members_without_a_value_and_reads_them_back() {
    let history = [
        registered(),
        started(),
        recorded(tx(1), 1_000, "2026-01-10"),
    ];
    let after = given::<Project>(history.clone())
        .when(reverse(&history, tx(1), tx(2)))
        .history();
    let transactions = Transactions::fold(&after);
    let written = serde_json::to_value(transactions.as_slice()).unwrap_or_default();
    let rows = written.as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 2);
    // The original: no `reverses`; the reversal: no `reference`, no `reversedBy`.
    assert!(rows[0].get("reverses").is_none(), "{written}");
    assert_eq!(rows[0]["reversedBy"], serde_json::json!(tx(2)));
    assert!(rows[1].get("reference").is_none(), "{written}");
    assert!(rows[1].get("reversedBy").is_none(), "{written}");
    assert!(!written.to_string().contains("null"), "{written}");
    let read: Vec<Transaction> = serde_json::from_value(written).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read, transactions.as_slice());
}

/// A state kept before transactions left it, with a `transactions` member and no count, still
/// reads: the member is skipped (the migration that rewrote kept states counted it).
#[test]
fn a_state_kept_with_its_transactions_still_reads() {
    let project = given::<Project>([registered(), started()])
        .when(ProjectCommand::RecordTransaction(record(
            tx(1),
            1_000,
            "2026-01-10",
        )))
        .state();
    let mut kept = serde_json::to_value(&project).unwrap_or_default();
    if let Some(object) = kept.as_object_mut() {
        object.remove("transactionCount");
        object.insert(
            "transactions".to_owned(),
            serde_json::json!([{"id": tx(1), "transactionType": "3", "date": "2026-01-10",
                "value": {"minorUnits": 1000, "currency": "EUR"}, "valueDate": "2026-01-10",
                "reversedBy": null}]),
        );
    }
    let read: Project = serde_json::from_value(kept).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read.transaction_count, 0);
    assert_eq!(
        Project {
            transaction_count: 1,
            ..read
        },
        project
    );
}

/// Against a store that keeps no transaction rows, a reversal's transaction is folded from the
/// project's stream; decided on the project at another version than it was looked up at, the
/// reversal is a stale read and appends nothing, and looked up again it is decided.
#[test]
fn a_reversal_looked_up_on_an_older_project_is_a_stale_read() {
    use crate::fakes::MemoryEventStore;
    use crate::ports::{Actor, AppendRequest, EventMetadata, EventStore as _, StoreError};
    use crate::service::{CommandError, CommandService, Expected, Given, encode};
    use crate::testing::run;

    let service = CommandService::new(MemoryEventStore::default());
    let metadata = || EventMetadata {
        actor: Actor::system("test"),
        request_id: None,
        occurred_at: chrono::Utc::now(),
    };
    let history = [registered(), recorded(tx(1), 10, "2016-03-01")];
    run(service.store().append(AppendRequest {
        stream: crate::aggregate::StreamKind::Project,
        stream_id: project_id(),
        expected_version: 0,
        reads: Vec::new(),
        events: history.iter().map(|event| encode(event).unwrap()).collect(),
        metadata: metadata(),
        snapshot: Project::fold(&history).unwrap().into(),
        previous: None,
        idempotency_claim: None,
    }))
    .unwrap();
    let known = run(service.known_transaction(project_id(), tx(1))).unwrap();
    assert_eq!(known, Transactions::fold(&history).known(tx(1), 2));
    let another = ProjectCommand::RecordTransaction(RecordTransaction {
        provider_organisation: None,
        receiver_organisation: None,
        ..record(tx(2), 5, "2016-03-02")
    });
    run(service.execute::<Project>(
        project_id(),
        Expected::Version(2),
        another,
        metadata(),
        Given::NOTHING,
    ))
    .unwrap();
    let reverse = |transaction| {
        ProjectCommand::ReverseTransaction(ReverseTransaction {
            project_id: project_id(),
            transaction,
            reversal_id: tx(3),
            reason: text("Booked twice"),
        })
    };
    let appends = service.store().appends();
    let stale = run(service.execute::<Project>(
        project_id(),
        Expected::Version(3),
        reverse(known),
        metadata(),
        Given::NOTHING,
    ));
    assert!(
        matches!(
            &stale,
            Err(CommandError::Store(StoreError::StaleRead { read, current: 3 }))
                if read.stream_id == project_id() && read.version == 2
        ),
        "{stale:?}"
    );
    assert_eq!(service.store().appends(), appends, "nothing was appended");
    let again = run(service.known_transaction(project_id(), tx(1))).unwrap();
    assert_eq!(again.version, 3);
    let reversed = run(service.execute::<Project>(
        project_id(),
        Expected::Version(3),
        reverse(again),
        metadata(),
        Given::NOTHING,
    ))
    .unwrap();
    assert_eq!(reversed.state.transaction_count, 3);
}
