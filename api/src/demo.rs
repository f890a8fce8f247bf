//! The demo dataset of `docs/domain.md`, loaded by `amanah serve --demo` when the log is
//! empty.
//!
//! It goes through the same [`CommandService`] as every mutation, so every demo record is in the
//! audit log, appended by the `system:demo` actor. The organisations and projects are drawn from
//! published project descriptions; every identifier and figure that is made up says so ("demo").

use amanah_domain::activity::{
    Activity, ActivityCommand, ActivityLocation, CompleteActivity, Participants, Partnership,
    PlanActivity,
};
use amanah_domain::aggregate::Aggregate;
use amanah_domain::codelists::{
    ActivityKind, ActivityPartnerRole, AuditType, BudgetStatus, BudgetType, OrganisationRole,
    OrganisationType, OtherIdentifierType, ProjectStatus, RelatedActivityType, TransactionType,
    UncacChapter,
};
use amanah_domain::organisation::{
    Organisation, OrganisationCommand, OrganisationFacts, RegisterOrganisation,
};
use amanah_domain::ports::{Actor, EventMetadata, EventStore, Snapshot};
use amanah_domain::project::{
    AddOtherIdentifier, AddRelatedProject, AdministrativeArea, Budget, ChangeProjectStatus,
    Contact, Location, Participation, PlannedDisbursement, PolicyMarker, Project, ProjectCommand,
    ProjectDefaults, RecipientCountry, RecipientRegion, RecordTransaction, RegisterProject,
    SectorShare, SetBudget, SetContacts, SetLocations, SetPlannedDisbursements, SetPolicyMarkers,
    SetProjectDefaults, SetResults,
};
use amanah_domain::project::{Baseline, Indicator, IndicatorPeriod, Measurement, ProjectResult};
use amanah_domain::service::{CommandError, CommandService, Expected, Given};
use amanah_domain::values::{
    Acronym, AidType, AreaCode, City, CollaborationType, ContactType, CountryCode, CurrencyCode,
    Description, EmailAddress, FinanceType, FlowType, GeoPoint, GeographicVocabulary,
    IatiIdentifier, IndicatorMeasure, IndicatorValue, LanguageCode, Money, Name, OrgRef,
    OtherIdentifierRef, Percentage, PolicyMarkerCode, PolicySignificance, RegionCode, ResultType,
    SectorCode, TiedStatus, Title, ValueError, WebUrl,
};
use chrono::{NaiveDate, Utc};
use uuid::Uuid;

/// The actor of every demo event.
pub const DEMO_ACTOR: &str = "system:demo";

/// Why the demo dataset could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("a demo value is invalid: {0}")]
    Value(#[from] ValueError),
    #[error("a demo command was refused: {}", describe(.0))]
    Command(#[from] CommandError),
    #[error("the demo date {0} does not exist")]
    Date(String),
}

/// How many records the demo loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DemoSummary {
    pub organisations: usize,
    pub projects: usize,
    pub activities: usize,
    pub events: u64,
}

/// A refused command with the field it names.
fn describe(error: &CommandError) -> String {
    match error {
        CommandError::Rejected(rejection) => match rejection.field() {
            Some(field) => format!("{rejection} (field {field})"),
            None => rejection.to_string(),
        },
        other => other.to_string(),
    }
}

/// The DAC region the ASEAN-wide projects serve: 789, Far East Asia, regional (100 %).
fn asean_region() -> Result<Vec<RecipientRegion>, DemoError> {
    Ok(vec![RecipientRegion {
        region: RegionCode::parse("789")?,
        percentage: pct("100")?,
    }])
}

fn date(iso: &str) -> Result<NaiveDate, DemoError> {
    NaiveDate::parse_from_str(iso, "%Y-%m-%d").map_err(|_| DemoError::Date(iso.to_owned()))
}

fn pct(raw: &str) -> Result<Percentage, DemoError> {
    Ok(Percentage::parse(raw)?)
}

fn eur(minor_units: i64) -> Result<Money, DemoError> {
    Ok(Money::new(minor_units, CurrencyCode::parse("EUR")?)?)
}

struct Loader<'a, S> {
    service: &'a CommandService<S>,
    summary: DemoSummary,
}

impl<S: EventStore> Loader<'_, S> {
    fn metadata() -> EventMetadata {
        EventMetadata {
            actor: Actor::system(DEMO_ACTOR),
            request_id: None,
            occurred_at: Utc::now(),
        }
    }

    async fn run<A>(
        &mut self,
        id: Uuid,
        expected: Expected,
        command: A::Command,
    ) -> Result<A, DemoError>
    where
        A: Aggregate + Into<Snapshot>,
    {
        let committed = self
            .service
            .execute::<A>(id, expected, command, Self::metadata(), Given::NOTHING)
            .await?;
        self.summary.events = committed.outcome.last_index + 1;
        Ok(committed.state)
    }

    async fn organisation(
        &mut self,
        org_ref: Option<&str>,
        name: &str,
        acronym: &str,
        organisation_type: OrganisationType,
        country: &str,
        website: Option<&str>,
    ) -> Result<OrganisationFacts, DemoError> {
        let id = Uuid::now_v7();
        let command = OrganisationCommand::Register(RegisterOrganisation {
            id,
            org_ref: org_ref.map(OrgRef::parse).transpose()?,
            name: Name::parse(name)?,
            acronym: Some(Acronym::parse(acronym)?),
            organisation_type,
            country: Some(CountryCode::parse(country)?),
            website: website.map(WebUrl::parse).transpose()?,
        });
        let organisation: Organisation = self.run(id, Expected::Minted, command).await?;
        self.summary.organisations += 1;
        Ok(organisation.facts())
    }

    async fn project(&mut self, command: RegisterProject) -> Result<Project, DemoError> {
        let id = command.id;
        let project: Project = self
            .run(id, Expected::Minted, ProjectCommand::Register(command))
            .await?;
        self.summary.projects += 1;
        Ok(project)
    }

    async fn change_project(
        &mut self,
        project: &Project,
        command: ProjectCommand,
    ) -> Result<Project, DemoError> {
        self.run(project.id, Expected::Version(project.version), command)
            .await
    }

    async fn status(
        &mut self,
        project: Project,
        steps: &[(ProjectStatus, Option<&str>, Option<&str>)],
    ) -> Result<Project, DemoError> {
        let mut project = project;
        for (status, actual_start, actual_end) in steps {
            let command = ProjectCommand::ChangeStatus(ChangeProjectStatus {
                id: project.id,
                status: *status,
                actual_start: actual_start.map(date).transpose()?,
                actual_end: actual_end.map(date).transpose()?,
            });
            project = self.change_project(&project, command).await?;
        }
        Ok(project)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one call per demo activity reads best flat"
    )]
    async fn activity(
        &mut self,
        project: &Project,
        title: &str,
        description: &str,
        kind: ActivityKind,
        uncac_chapters: Vec<UncacChapter>,
        audit_type: Option<AuditType>,
        partners: Vec<(OrganisationFacts, ActivityPartnerRole)>,
        location: ActivityLocation,
        dates: (&str, &str),
        participants: (u32, u32, u32),
        outcome: &str,
    ) -> Result<(), DemoError> {
        let id = Uuid::now_v7();
        let plan = ActivityCommand::Plan(PlanActivity {
            id,
            project: project.facts(),
            title: Title::parse(title)?,
            description: Description::parse(description)?,
            kind,
            uncac_chapters,
            audit_type,
            partners: partners
                .into_iter()
                .map(|(organisation, role)| Partnership { organisation, role })
                .collect(),
            location,
            planned_start: date(dates.0)?,
            planned_end: date(dates.1)?,
        });
        let planned: Activity = self.run(id, Expected::Minted, plan).await?;
        let (female, male, undisclosed) = participants;
        let complete = ActivityCommand::Complete(CompleteActivity {
            id,
            actual_start: date(dates.0)?,
            actual_end: date(dates.1)?,
            participants: Participants {
                total: female + male + undisclosed,
                female,
                male,
                undisclosed,
                by_country: Vec::new(),
            },
            outcome: Some(Description::parse(outcome)?),
        });
        let _: Activity = self
            .run(id, Expected::Version(planned.version), complete)
            .await?;
        self.summary.activities += 1;
        Ok(())
    }
}

fn participation(rows: &[(&OrganisationFacts, OrganisationRole)]) -> Vec<Participation> {
    rows.iter()
        .map(|(organisation, role)| Participation {
            organisation: (*organisation).clone(),
            role: *role,
        })
        .collect()
}

fn site(country: &str, city: &str) -> Result<ActivityLocation, DemoError> {
    Ok(ActivityLocation::Site {
        country: CountryCode::parse(country)?,
        city: Some(City::parse(city)?),
    })
}

/// Loads the demo dataset through `service`.
///
/// # Errors
/// When a demo command is refused (the dataset and the rules disagree) or the store fails.
#[expect(
    clippy::too_many_lines,
    reason = "the dataset reads top to bottom as the spec lists it"
)]
pub async fn load<S: EventStore>(service: &CommandService<S>) -> Result<DemoSummary, DemoError> {
    use ActivityPartnerRole::{CoOrganiser, Funder, Host, Organiser, ParticipatingInstitution};
    use OrganisationRole::{Accountable, Funding, Implementing};

    let mut demo = Loader {
        service,
        summary: DemoSummary::default(),
    };
    let aa = demo
        .organisation(
            Some("XM-DAC-5-7"),
            "Federal Foreign Office of Germany",
            "AA",
            OrganisationType::Government,
            "DE",
            Some("https://www.auswaertiges-amt.de/"),
        )
        .await?;
    let bmz = demo
        .organisation(
            Some("DE-1"),
            "Federal Ministry for Economic Cooperation and Development",
            "BMZ",
            OrganisationType::Government,
            "DE",
            Some("https://www.bmz.de/"),
        )
        .await?;
    let giz = demo
        .organisation(
            Some("XM-DAC-5-52"),
            "Deutsche Gesellschaft für Internationale Zusammenarbeit",
            "GIZ",
            OrganisationType::Government,
            "DE",
            Some("https://www.giz.de/"),
        )
        .await?;
    let asec = demo
        .organisation(
            None,
            "ASEAN Secretariat",
            "ASEC",
            OrganisationType::Multilateral,
            "ID",
            Some("https://asean.org/"),
        )
        .await?;
    let aseansai = demo
        .organisation(
            None,
            "ASEAN Supreme Audit Institutions",
            "ASEANSAI",
            OrganisationType::Multilateral,
            "ID",
            None,
        )
        .await?;
    let kpk = demo
        .organisation(
            None,
            "Corruption Eradication Commission of Indonesia",
            "KPK",
            OrganisationType::Government,
            "ID",
            Some("https://www.kpk.go.id/"),
        )
        .await?;
    let cil = demo
        .organisation(
            None,
            "Centre for International Law, National University of Singapore",
            "CIL",
            OrganisationType::Academic,
            "SG",
            Some("https://cil.nus.edu.sg/"),
        )
        .await?;
    let aipa = demo
        .organisation(
            None,
            "ASEAN Inter-Parliamentary Assembly",
            "AIPA",
            OrganisationType::Multilateral,
            "ID",
            None,
        )
        .await?;

    // ASEC Post 2015: all ten member states of the time at 10 % each.
    let members = ["BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN"];
    let recipient_countries = members
        .iter()
        .map(|code| {
            Ok(RecipientCountry {
                country: CountryCode::parse(code)?,
                percentage: pct("10")?,
            })
        })
        .collect::<Result<Vec<_>, DemoError>>()?;
    let asec_post_2015 = demo
        .project(RegisterProject {
            id: Uuid::now_v7(),
            iati_identifier: IatiIdentifier::parse("XM-DAC-5-7-DEMO-ASEC-POST-2015")?,
            reporting_organisation: aa.clone(),
            title: Title::parse(
                "ASEAN Secretariat post-2015 – institutional strengthening and capacity \
                 development (ASEC Post 2015)",
            )?,
            description: Description::parse(
                "Strengthens the ASEAN Secretariat's institutions and capacities after 2015, \
                 including its work against corruption. The project advises the Secretariat's \
                 strategic administration units and the ASEAN Economic Community division; it \
                 develops staff capacities and organisational processes, supports technical \
                 policy dialogue between the Secretariat and the member states, and supports a \
                 regional network of journalists reporting on corruption. It cooperates with the \
                 projects for the ASEAN Inter-Parliamentary Assembly (CD AIPA II), the ASEAN \
                 supreme audit institutions and BMZ's Assistance in Preventing and Fighting \
                 Corruption. Demo record: the IATI identifier and the figures are made up for \
                 the demonstration.",
            )?,
            objectives: Some(Description::parse(
                "A more effective ASEAN Secretariat that supports the member states in \
                 implementing the ASEAN Community's commitments.",
            )?),
            planned_start: date("2016-01-01")?,
            planned_end: date("2018-12-31")?,
            participating_organisations: participation(&[
                (&aa, Funding),
                (&asec, Accountable),
                (&giz, Implementing),
            ]),
            recipient_countries,
            recipient_regions: Vec::new(),
            sectors: vec![
                SectorShare {
                    sector: SectorCode::parse("15110")?,
                    percentage: pct("50")?,
                },
                SectorShare {
                    sector: SectorCode::parse("15113")?,
                    percentage: pct("50")?,
                },
            ],
        })
        .await?;
    let asec_post_2015 = demo
        .status(
            asec_post_2015,
            &[(ProjectStatus::Implementation, Some("2016-01-01"), None)],
        )
        .await?;
    let budget = ProjectCommand::SetBudget(SetBudget {
        project_id: asec_post_2015.id,
        budgets: vec![Budget {
            budget_type: BudgetType::Original,
            status: BudgetStatus::Committed,
            period_start: date("2016-01-01")?,
            period_end: date("2016-12-31")?,
            value: eur(150_000_000)?,
            value_date: date("2016-01-01")?,
        }],
    });
    let asec_post_2015 = demo.change_project(&asec_post_2015, budget).await?;
    let disbursement = ProjectCommand::RecordTransaction(RecordTransaction {
        project_id: asec_post_2015.id,
        transaction_id: Uuid::now_v7(),
        transaction_type: TransactionType::Disbursement,
        date: date("2016-03-15")?,
        value: eur(50_000_000)?,
        value_date: date("2016-03-15")?,
        description: Some(Description::parse("First disbursement (demo figure).")?),
        provider_organisation: Some(aa.clone()),
        receiver_organisation: Some(giz.clone()),
        reference: None,
    });
    let asec_post_2015 = demo.change_project(&asec_post_2015, disbursement).await?;
    // A bilateral ODA grant for project-type interventions, untied, in euro and English.
    let defaults = ProjectCommand::SetDefaults(SetProjectDefaults {
        project_id: asec_post_2015.id,
        defaults: ProjectDefaults {
            currency: Some(CurrencyCode::parse("EUR")?),
            language: Some(LanguageCode::parse("en")?),
            collaboration_type: Some(CollaborationType::parse("1")?),
            flow_type: Some(FlowType::parse("10")?),
            finance_type: Some(FinanceType::parse("110")?),
            aid_type: Some(AidType::parse("C01")?),
            tied_status: Some(TiedStatus::parse("5")?),
        },
    });
    let asec_post_2015 = demo.change_project(&asec_post_2015, defaults).await?;
    // Governance is its principal objective, gender equality a significant one.
    let markers = ProjectCommand::SetPolicyMarkers(SetPolicyMarkers {
        project_id: asec_post_2015.id,
        policy_markers: vec![
            PolicyMarker {
                code: PolicyMarkerCode::parse("3")?,
                significance: PolicySignificance::parse("2")?,
            },
            PolicyMarker {
                code: PolicyMarkerCode::parse("1")?,
                significance: PolicySignificance::parse("1")?,
            },
        ],
    });
    let asec_post_2015 = demo.change_project(&asec_post_2015, markers).await?;
    let contacts = ProjectCommand::SetContacts(SetContacts {
        project_id: asec_post_2015.id,
        contacts: vec![Contact {
            contact_type: Some(ContactType::parse("2")?),
            organisation: Some(Name::parse(
                "Deutsche Gesellschaft für Internationale Zusammenarbeit",
            )?),
            department: Some(Name::parse("ASEAN Secretariat programme office (demo)")?),
            person_name: None,
            job_title: Some(Title::parse("Head of programme")?),
            telephone: None,
            email: Some(EmailAddress::parse("asec-programme@example.org")?),
            website: Some(WebUrl::parse("https://www.giz.de/")?),
            mailing_address: Some(Description::parse(
                "Jl. Sisingamangaraja 70A, Jakarta 12110, Indonesia (demo address)",
            )?),
        }],
    });
    let asec_post_2015 = demo.change_project(&asec_post_2015, contacts).await?;
    let planned = ProjectCommand::SetPlannedDisbursements(SetPlannedDisbursements {
        project_id: asec_post_2015.id,
        planned_disbursements: vec![
            PlannedDisbursement {
                disbursement_type: BudgetType::Original,
                period_start: date("2016-01-01")?,
                period_end: Some(date("2016-06-30")?),
                value: eur(50_000_000)?,
                value_date: date("2016-01-01")?,
                provider_organisation_id: Some(aa.id),
                receiver_organisation_id: Some(giz.id),
            },
            PlannedDisbursement {
                disbursement_type: BudgetType::Original,
                period_start: date("2016-07-01")?,
                period_end: Some(date("2016-12-31")?),
                value: eur(100_000_000)?,
                value_date: date("2016-01-01")?,
                provider_organisation_id: Some(aa.id),
                receiver_organisation_id: Some(giz.id),
            },
        ],
        organisations: vec![aa.clone(), giz.clone()],
    });
    let asec_post_2015 = demo.change_project(&asec_post_2015, planned).await?;
    let locations = ProjectCommand::SetLocations(SetLocations {
        project_id: asec_post_2015.id,
        locations: vec![Location {
            name: Name::parse("ASEAN Secretariat, Jakarta")?,
            description: Some(Description::parse(
                "The seat of the ASEAN Secretariat, where the project works (demo point).",
            )?),
            point: Some(GeoPoint::parse("-6.237760", "106.800270").map_err(|(_, e)| e)?),
            administrative: Some(AdministrativeArea {
                vocabulary: GeographicVocabulary::parse("A4")?,
                level: Some(1),
                code: AreaCode::parse("ID-JK")?,
            }),
        }],
    });
    let asec_post_2015 = demo.change_project(&asec_post_2015, locations).await?;
    // The results, set with their targets first and updated with the actuals a year later.
    let results = |actuals: Option<(&str, &str)>| -> Result<ProjectCommand, DemoError> {
        let actual = |value: &str| -> Result<Option<Measurement>, DemoError> {
            Ok(Some(Measurement {
                value: Some(IndicatorValue::parse(value)?),
                comment: None,
            }))
        };
        let (staff, dialogues) = match actuals {
            Some((staff, dialogues)) => (actual(staff)?, actual(dialogues)?),
            None => (None, None),
        };
        let indicator = |title: &str, baseline: &str, target: &str, actual| {
            Ok::<_, DemoError>(Indicator {
                measure: IndicatorMeasure::parse("1")?,
                ascending: Some(true),
                title: Title::parse(title)?,
                description: None,
                baseline: Some(Baseline {
                    year: 2016,
                    date: Some(date("2016-01-01")?),
                    value: Some(IndicatorValue::parse(baseline)?),
                    comment: None,
                }),
                periods: vec![IndicatorPeriod {
                    period_start: date("2016-01-01")?,
                    period_end: date("2016-12-31")?,
                    target: Some(Measurement {
                        value: Some(IndicatorValue::parse(target)?),
                        comment: Some(Description::parse("Demo figure.")?),
                    }),
                    actual,
                }],
            })
        };
        Ok(ProjectCommand::SetResults(SetResults {
            project_id: asec_post_2015.id,
            results: vec![ProjectResult {
                result_type: ResultType::parse("1")?,
                title: Title::parse("Stronger anti-corruption capacities in the Secretariat")?,
                description: Some(Description::parse(
                    "Staff capacities and organisational processes of the strategic \
                     administration units (demo result).",
                )?),
                indicators: vec![
                    indicator(
                        "Staff trained in anti-corruption procedures",
                        "0",
                        "40",
                        staff,
                    )?,
                    indicator("Technical policy dialogues held", "0", "4", dialogues)?,
                ],
            }],
        }))
    };
    let asec_post_2015 = demo.change_project(&asec_post_2015, results(None)?).await?;
    let asec_post_2015 = demo
        .change_project(&asec_post_2015, results(Some(("38", "5")))?)
        .await?;

    demo.activity(
        &asec_post_2015,
        "Regional conference on preventing corruption",
        "An event on preventing corruption, organised with the Corruption Eradication \
         Commission of Indonesia (KPK). Demo record: dates and figures are made up.",
        ActivityKind::Conference,
        vec![UncacChapter::Prevention],
        None,
        vec![
            (asec.clone(), Organiser),
            (kpk.clone(), CoOrganiser),
            (kpk.clone(), Host),
        ],
        site("ID", "Jakarta")?,
        ("2017-03-14", "2017-03-15"),
        (46, 52, 2),
        "Participants agreed on shared priorities for corruption prevention in the region.",
    )
    .await?;
    demo.activity(
        &asec_post_2015,
        "Workshop on ASEAN contracts",
        "An event on ASEAN contracts with the Centre for International Law of the National \
         University of Singapore. Demo record: dates and figures are made up.",
        ActivityKind::Workshop,
        vec![UncacChapter::InternationalCooperation],
        None,
        vec![
            (asec.clone(), Organiser),
            (cil.clone(), CoOrganiser),
            (cil.clone(), Host),
        ],
        site("SG", "Singapore")?,
        ("2017-08-21", "2017-08-22"),
        (18, 15, 0),
        "A checklist for integrity clauses in ASEAN contracts.",
    )
    .await?;
    demo.activity(
        &asec_post_2015,
        "Regional journalists' network meeting",
        "A meeting of the regional network of journalists reporting on corruption. Demo record: \
         dates and figures are made up.",
        ActivityKind::NetworkMeeting,
        vec![UncacChapter::Prevention],
        None,
        vec![(asec.clone(), Organiser), (giz.clone(), Funder)],
        ActivityLocation::Online,
        ("2018-02-06", "2018-02-06"),
        (21, 17, 1),
        "The network agreed to share investigative methods across borders.",
    )
    .await?;
    demo.activity(
        &asec_post_2015,
        "Training on statistical data dissemination",
        "A training for ASEAN Secretariat staff on disseminating statistical data openly. Demo \
         record: dates and figures are made up.",
        ActivityKind::Training,
        vec![UncacChapter::TechnicalAssistanceAndInformationExchange],
        None,
        vec![
            (giz.clone(), Organiser),
            (asec.clone(), ParticipatingInstitution),
        ],
        site("ID", "Jakarta")?,
        ("2018-05-08", "2018-05-10"),
        (12, 9, 0),
        "Staff published the first dataset under the new dissemination guideline.",
    )
    .await?;
    let sai = demo
        .project(RegisterProject {
            id: Uuid::now_v7(),
            iati_identifier: IatiIdentifier::parse("DE-1-DEMO-ASEANSAI")?,
            reporting_organisation: bmz.clone(),
            title: Title::parse("Support to ASEAN Supreme Audit Institutions")?,
            description: Description::parse(
                "Supports the supreme audit institutions of ASEAN in cooperative audits and \
                 professional standards. Demo record: the IATI identifier is made up.",
            )?,
            objectives: None,
            planned_start: date("2013-01-01")?,
            planned_end: date("2019-12-31")?,
            participating_organisations: participation(&[
                (&bmz, Funding),
                (&aseansai, Implementing),
            ]),
            recipient_countries: Vec::new(),
            recipient_regions: asean_region()?,
            sectors: vec![SectorShare {
                sector: SectorCode::parse("15118")?,
                percentage: pct("100")?,
            }],
        })
        .await?;
    let sai = demo
        .status(
            sai,
            &[(ProjectStatus::Implementation, Some("2013-01-01"), None)],
        )
        .await?;
    demo.activity(
        &sai,
        "Cooperative compliance audit",
        "A cooperative compliance audit carried out by ASEAN supreme audit institutions together. \
         Demo record: dates and figures are made up.",
        ActivityKind::Audit,
        vec![UncacChapter::Prevention],
        Some(AuditType::Compliance),
        vec![(aseansai.clone(), Organiser), (bmz.clone(), Funder)],
        site("ID", "Jakarta")?,
        ("2018-09-03", "2018-09-28"),
        (14, 16, 0),
        "Audit report adopted by the participating supreme audit institutions.",
    )
    .await?;

    let cd_aipa = demo
        .project(RegisterProject {
            id: Uuid::now_v7(),
            iati_identifier: IatiIdentifier::parse("XM-DAC-5-7-DEMO-CD-AIPA-II")?,
            reporting_organisation: aa.clone(),
            title: Title::parse(
                "Capacity Development for the ASEAN Inter-Parliamentary Assembly (CD AIPA) II",
            )?,
            description: Description::parse(
                "Develops the capacities of the ASEAN Inter-Parliamentary Assembly, in the same \
                 years as ASEC Post 2015. Demo record: the IATI identifier and the dates are \
                 made up.",
            )?,
            objectives: None,
            planned_start: date("2016-07-01")?,
            planned_end: date("2019-06-30")?,
            participating_organisations: participation(&[
                (&aa, Funding),
                (&aipa, Accountable),
                (&giz, Implementing),
            ]),
            recipient_countries: Vec::new(),
            recipient_regions: asean_region()?,
            sectors: vec![SectorShare {
                sector: SectorCode::parse("15152")?,
                percentage: pct("100")?,
            }],
        })
        .await?;

    let cd_aipa = demo
        .status(
            cd_aipa,
            &[(ProjectStatus::Implementation, Some("2016-07-01"), None)],
        )
        .await?;

    // The BMZ project ASEC Post 2015 cooperates with.
    let fighting_corruption = demo
        .project(RegisterProject {
            id: Uuid::now_v7(),
            iati_identifier: IatiIdentifier::parse("DE-1-DEMO-ANTI-CORRUPTION")?,
            reporting_organisation: bmz.clone(),
            title: Title::parse("Assistance in Preventing and Fighting Corruption")?,
            description: Description::parse(
                "Supports ASEAN institutions in preventing and fighting corruption, in \
                 cooperation with ASEC Post 2015. Demo record: the IATI identifier and the dates \
                 are made up.",
            )?,
            objectives: None,
            planned_start: date("2015-01-01")?,
            planned_end: date("2019-12-31")?,
            participating_organisations: participation(&[
                (&bmz, Funding),
                (&asec, Accountable),
                (&giz, Implementing),
            ]),
            recipient_countries: Vec::new(),
            recipient_regions: asean_region()?,
            sectors: vec![SectorShare {
                sector: SectorCode::parse("15113")?,
                percentage: pct("100")?,
            }],
        })
        .await?;
    let fighting_corruption = demo
        .status(
            fighting_corruption,
            &[(ProjectStatus::Implementation, Some("2015-01-01"), None)],
        )
        .await?;

    // ASEC Post 2015 names the projects it cooperates with (siblings under German cooperation
    // with ASEAN), then closes.
    let mut asec_post_2015 = asec_post_2015;
    for related in [&cd_aipa, &sai, &fighting_corruption] {
        let link = ProjectCommand::AddRelatedProject(AddRelatedProject {
            project_id: asec_post_2015.id,
            related: related.facts(),
            relation: RelatedActivityType::Sibling,
        });
        asec_post_2015 = demo.change_project(&asec_post_2015, link).await?;
    }
    let asec_post_2015 = demo
        .status(
            asec_post_2015,
            &[
                (
                    ProjectStatus::Finalisation,
                    Some("2016-01-01"),
                    Some("2018-12-31"),
                ),
                (
                    ProjectStatus::Closed,
                    Some("2016-01-01"),
                    Some("2018-12-31"),
                ),
            ],
        )
        .await?;

    let vision_2025 = demo
        .project(RegisterProject {
            id: Uuid::now_v7(),
            iati_identifier: IatiIdentifier::parse("XM-DAC-5-7-DEMO-ASEC-VISION-2025")?,
            reporting_organisation: aa.clone(),
            title: Title::parse(
                "Strengthening the capacities of the ASEAN Secretariat and the integration \
                 process within the framework of the ASEAN Community Vision 2025",
            )?,
            description: Description::parse(
                "The follow-on of ASEC Post 2015. Demo record: the IATI identifier is made up.",
            )?,
            objectives: None,
            planned_start: date("2018-01-01")?,
            planned_end: date("2021-12-31")?,
            participating_organisations: participation(&[(&aa, Funding), (&asec, Accountable)]),
            recipient_countries: Vec::new(),
            recipient_regions: asean_region()?,
            sectors: vec![SectorShare {
                sector: SectorCode::parse("15110")?,
                percentage: pct("100")?,
            }],
        })
        .await?;
    let follow_on = ProjectCommand::AddOtherIdentifier(AddOtherIdentifier {
        project_id: vision_2025.id,
        reference: OtherIdentifierRef::parse(asec_post_2015.iati_identifier.as_str())?,
        identifier_type: OtherIdentifierType::PreviousActivityIdentifier,
    });
    demo.change_project(&vision_2025, follow_on).await?;

    Ok(demo.summary)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use amanah_domain::codelists::{ActivityStatus, ProjectStatus};
    use amanah_domain::query::{ActivityQuery, OrganisationQuery, ProjectQuery, Range, ReadModel};
    use amanah_infra::read_model::{SqlProjector, SqlReadModel, check};
    use amanah_infra::testing::TestDatabase;
    use amanah_infra::{SqlEventStore, StoreConfig};

    use super::*;

    const ALL: Range = Range::first(100);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_demo_goes_through_the_log_and_matches_the_spec() {
        let database = TestDatabase::sqlite().await;
        let db = database.connection().clone();
        let service = CommandService::new(SqlEventStore::start(
            db.clone(),
            StoreConfig::default(),
            SqlProjector,
        ));
        let summary = load(&service).await.unwrap();
        assert_eq!(summary.organisations, 8);
        assert_eq!(summary.projects, 5);
        assert_eq!(summary.activities, 5);

        let store = service.store();
        assert_eq!(store.size().await.unwrap(), summary.events);
        let events = store.read_range(0, 10_000).await.unwrap();
        assert!(events.iter().all(|e| e.actor.sub == DEMO_ACTOR));
        assert!(check(store).await.unwrap().is_empty());

        let read_model = SqlReadModel::new(db);
        let organisations = read_model
            .organisations(&OrganisationQuery::default(), &ALL)
            .await
            .unwrap();
        assert_eq!(organisations.len(), 8);
        let projects = read_model
            .projects(&ProjectQuery::default(), &ALL)
            .await
            .unwrap();
        assert_eq!(projects.len(), 5);
        let post_2015 = read_model
            .project_by_iati_identifier("XM-DAC-5-7-DEMO-ASEC-POST-2015")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(post_2015.status, ProjectStatus::Closed);
        assert_eq!(post_2015.recipient_countries.len(), 10);
        assert_eq!(post_2015.participating_organisations.len(), 3);
        assert_eq!(
            post_2015.defaults.aid_type.map(|aid| aid.as_str()),
            Some("C01")
        );
        let related: Vec<&str> = post_2015
            .related_projects
            .iter()
            .map(|related| related.iati_identifier.as_str())
            .collect();
        assert_eq!(
            related,
            [
                "XM-DAC-5-7-DEMO-CD-AIPA-II",
                "DE-1-DEMO-ASEANSAI",
                "DE-1-DEMO-ANTI-CORRUPTION"
            ],
            "ASEC Post 2015 names the projects it cooperates with"
        );
        for phrase in [
            "strategic administration units",
            "ASEAN Economic Community division",
            "staff capacities",
            "organisational processes",
            "technical policy dialogue",
            "journalists",
        ] {
            assert!(post_2015.description.as_str().contains(phrase), "{phrase}");
        }
        let cd_aipa = read_model
            .project_by_iati_identifier("XM-DAC-5-7-DEMO-CD-AIPA-II")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(cd_aipa.status, ProjectStatus::Implementation);
        assert!(
            cd_aipa.planned_start <= date("2018-12-31").unwrap()
                && cd_aipa.planned_end >= date("2016-01-01").unwrap(),
            "CD AIPA II runs in the years of ASEC Post 2015"
        );
        let activities = read_model
            .activities(
                &ActivityQuery {
                    project: Some(post_2015.id),
                    ..ActivityQuery::default()
                },
                &ALL,
            )
            .await
            .unwrap();
        assert_eq!(activities.len(), 4);
        assert!(
            activities
                .iter()
                .all(|a| a.item.status == ActivityStatus::Completed)
        );
        let vision = read_model
            .project_by_iati_identifier("XM-DAC-5-7-DEMO-ASEC-VISION-2025")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            vision.other_identifiers[0].reference.as_str(),
            "XM-DAC-5-7-DEMO-ASEC-POST-2015",
            "the follow-on names its predecessor (A3)"
        );
        database.cleanup().await;
    }
}
