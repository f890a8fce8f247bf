#![expect(
    clippy::unwrap_used,
    reason = "a broken fixture should fail the test loudly"
)]

use uuid::Uuid;

use super::*;
use crate::aggregate::FieldError;
use crate::codelists::{
    ActivityKind, ActivityPartnerRole, ActivityStatus, AuditType, OrganisationRole, ProjectStatus,
    UncacChapter,
};
use crate::organisation::OrganisationFacts;
use crate::project::{ParticipatingOrganisation, ProjectFacts};
use crate::testing::{day, field_of, given, today};
use crate::values::{City, CountryCode, Description, IatiIdentifier, Title, ValueError};

fn activity_id() -> Uuid {
    Uuid::from_u128(0xA00)
}
fn project_id() -> Uuid {
    Uuid::from_u128(0x100)
}
fn asec() -> Uuid {
    Uuid::from_u128(0x2)
}
fn kpk() -> Uuid {
    Uuid::from_u128(0x6)
}
fn text(raw: &str) -> Description {
    Description::parse(raw).unwrap()
}
fn code(raw: &str) -> CountryCode {
    CountryCode::parse(raw).unwrap()
}

fn project(status: ProjectStatus) -> ProjectFacts {
    ProjectFacts {
        id: project_id(),
        iati_identifier: IatiIdentifier::parse("XM-DAC-5-7-2015-1234").unwrap(),
        status,
        participating_organisations: vec![ParticipatingOrganisation {
            organisation_id: asec(),
            role: OrganisationRole::Accountable,
        }],
        version: 4,
    }
}

fn partner(id: Uuid, role: ActivityPartnerRole) -> Partnership {
    Partnership {
        organisation: OrganisationFacts {
            id,
            org_ref: None,
            deactivated: false,
            version: 2,
        },
        role,
    }
}

fn jakarta() -> ActivityLocation {
    ActivityLocation::Site {
        country: code("ID"),
        city: Some(City::parse("Jakarta").unwrap()),
    }
}

fn plan() -> PlanActivity {
    PlanActivity {
        id: activity_id(),
        project: project(ProjectStatus::Implementation),
        title: Title::parse("Preventing corruption in the ASEAN region").unwrap(),
        description: text("An event on preventing corruption, with KPK."),
        kind: ActivityKind::Conference,
        uncac_chapters: vec![UncacChapter::Prevention],
        audit_type: None,
        partners: vec![
            partner(asec(), ActivityPartnerRole::Organiser),
            partner(kpk(), ActivityPartnerRole::CoOrganiser),
        ],
        location: jakarta(),
        planned_start: day("2017-03-01"),
        planned_end: day("2017-03-02"),
    }
}

fn planned() -> ActivityEvent {
    given::<Activity>([])
        .when(ActivityCommand::Plan(plan()))
        .accepted()
        .remove(0)
}

fn participants(total: u32, female: u32, male: u32, undisclosed: u32) -> Participants {
    Participants {
        total,
        female,
        male,
        undisclosed,
        by_country: vec![],
    }
}

fn complete(start: &str, end: &str, participants: Participants) -> ActivityCommand {
    ActivityCommand::Complete(CompleteActivity {
        id: activity_id(),
        actual_start: day(start),
        actual_end: day(end),
        participants,
        outcome: Some(text("A shared agenda on prevention.")),
    })
}

fn cancel() -> ActivityCommand {
    ActivityCommand::Cancel(CancelActivity {
        id: activity_id(),
        reason: text("Venue unavailable"),
    })
}

fn revise_title(title: &str) -> ActivityCommand {
    ActivityCommand::Revise(ReviseActivity {
        id: activity_id(),
        title: Some(Title::parse(title).unwrap()),
        description: None,
        partners: None,
        location: None,
    })
}

fn reschedule(start: &str, end: &str) -> ActivityCommand {
    ActivityCommand::Reschedule(RescheduleActivity {
        id: activity_id(),
        planned_start: day(start),
        planned_end: day(end),
    })
}

fn cancelled() -> ActivityEvent {
    ActivityEvent::ActivityCancelled(ActivityCancelled {
        reason: text("Venue unavailable"),
    })
}

// ---------------------------------------------------------------- planActivity

#[test]
fn plan_records_every_field() {
    let command = plan();
    given::<Activity>([])
        .when(ActivityCommand::Plan(command.clone()))
        .then(&[ActivityEvent::ActivityPlanned(ActivityPlanned {
            id: activity_id(),
            project_id: project_id(),
            title: command.title,
            description: command.description,
            kind: ActivityKind::Conference,
            uncac_chapters: vec![UncacChapter::Prevention],
            audit_type: None,
            partners: vec![
                ActivityPartner {
                    organisation_id: asec(),
                    role: ActivityPartnerRole::Organiser,
                },
                ActivityPartner {
                    organisation_id: kpk(),
                    role: ActivityPartnerRole::CoOrganiser,
                },
            ],
            location: jakarta(),
            planned_start: day("2017-03-01"),
            planned_end: day("2017-03-02"),
        })]);
    let activity = given::<Activity>([])
        .when(ActivityCommand::Plan(plan()))
        .state();
    assert_eq!(activity.status, ActivityStatus::Planned);
    assert_eq!(activity.version, 1);
    assert_eq!(activity.location.country(), Some(code("ID")));
}

#[test]
fn plan_twice_is_refused() {
    given::<Activity>([planned()])
        .when(ActivityCommand::Plan(plan()))
        .rejected(&ActivityError::AlreadyExists { id: activity_id() }, None);
}

#[test]
fn changes_to_a_missing_activity_are_not_found() {
    for command in [
        reschedule("2017-04-01", "2017-04-02"),
        complete("2017-03-01", "2017-03-02", participants(0, 0, 0, 0)),
        cancel(),
    ] {
        let error = given::<Activity>([]).when(command).error();
        assert_eq!(error, ActivityError::NotFound { id: activity_id() });
        assert!(error.is_not_found());
    }
}

#[test]
fn no_activity_under_a_closed_or_cancelled_project() {
    for status in [ProjectStatus::Closed, ProjectStatus::Cancelled] {
        given::<Activity>([])
            .when(ActivityCommand::Plan(PlanActivity {
                project: project(status),
                ..plan()
            }))
            .rejected(
                &ActivityError::ProjectNotOpen {
                    project_id: project_id(),
                    status,
                },
                Some("projectId"),
            );
    }
    for status in [
        ProjectStatus::Pipeline,
        ProjectStatus::Implementation,
        ProjectStatus::Finalisation,
        ProjectStatus::Suspended,
    ] {
        given::<Activity>([])
            .when(ActivityCommand::Plan(PlanActivity {
                project: project(status),
                ..plan()
            }))
            .accepted();
    }
}

#[test]
fn uncac_chapters_at_least_one_and_no_duplicates() {
    given::<Activity>([])
        .when(ActivityCommand::Plan(PlanActivity {
            uncac_chapters: vec![],
            ..plan()
        }))
        .rejected(&ActivityError::NoUncacChapter, Some("uncacChapters"));
    given::<Activity>([])
        .when(ActivityCommand::Plan(PlanActivity {
            uncac_chapters: vec![
                UncacChapter::Prevention,
                UncacChapter::AssetRecovery,
                UncacChapter::Prevention,
            ],
            ..plan()
        }))
        .rejected(
            &ActivityError::DuplicateUncacChapter {
                index: 2,
                chapter: UncacChapter::Prevention,
            },
            Some("uncacChapters[2]"),
        );
}

#[test]
fn audit_type_iff_audit() {
    given::<Activity>([])
        .when(ActivityCommand::Plan(PlanActivity {
            kind: ActivityKind::Audit,
            ..plan()
        }))
        .rejected(&ActivityError::AuditTypeRequired, Some("auditType"));
    given::<Activity>([])
        .when(ActivityCommand::Plan(PlanActivity {
            audit_type: Some(AuditType::Financial),
            ..plan()
        }))
        .rejected(
            &ActivityError::AuditTypeNotAllowed {
                kind: ActivityKind::Conference,
            },
            Some("auditType"),
        );
    let activity = given::<Activity>([])
        .when(ActivityCommand::Plan(PlanActivity {
            kind: ActivityKind::Audit,
            audit_type: Some(AuditType::Compliance),
            ..plan()
        }))
        .state();
    assert_eq!(activity.audit_type, Some(AuditType::Compliance));
}

#[test]
fn partners_need_an_organiser_and_no_repeated_role() {
    given::<Activity>([])
        .when(ActivityCommand::Plan(PlanActivity {
            partners: vec![partner(kpk(), ActivityPartnerRole::Host)],
            ..plan()
        }))
        .rejected(&ActivityError::NoOrganiser, Some("partners"));
    given::<Activity>([])
        .when(ActivityCommand::Plan(PlanActivity {
            partners: vec![],
            ..plan()
        }))
        .rejected(&ActivityError::NoOrganiser, Some("partners"));
    given::<Activity>([])
        .when(ActivityCommand::Plan(PlanActivity {
            partners: vec![
                partner(asec(), ActivityPartnerRole::Organiser),
                partner(asec(), ActivityPartnerRole::Organiser),
            ],
            ..plan()
        }))
        .rejected(
            &ActivityError::DuplicatePartner {
                index: 1,
                organisation_id: asec(),
                role: ActivityPartnerRole::Organiser,
            },
            Some("partners[1].role"),
        );
    let activity = given::<Activity>([])
        .when(ActivityCommand::Plan(PlanActivity {
            partners: vec![
                partner(asec(), ActivityPartnerRole::Organiser),
                partner(asec(), ActivityPartnerRole::Host),
            ],
            ..plan()
        }))
        .state();
    assert_eq!(activity.partners.len(), 2);
}

#[test]
fn deactivated_partners_are_refused() {
    let mut gone = partner(kpk(), ActivityPartnerRole::Funder);
    gone.organisation.deactivated = true;
    given::<Activity>([])
        .when(ActivityCommand::Plan(PlanActivity {
            partners: vec![partner(asec(), ActivityPartnerRole::Organiser), gone],
            ..plan()
        }))
        .rejected(
            &ActivityError::PartnerDeactivated {
                index: 1,
                organisation_id: kpk(),
            },
            Some("partners[1].organisationId"),
        );
}

#[test]
fn planned_end_not_before_planned_start() {
    given::<Activity>([])
        .when(ActivityCommand::Plan(PlanActivity {
            planned_end: day("2017-02-28"),
            ..plan()
        }))
        .rejected(
            &ActivityError::EndBeforeStart {
                field: "plannedEnd".into(),
                start: day("2017-03-01"),
                end: day("2017-02-28"),
            },
            Some("plannedEnd"),
        );
    given::<Activity>([])
        .when(ActivityCommand::Plan(PlanActivity {
            planned_end: day("2017-03-01"),
            ..plan()
        }))
        .accepted();
}

#[test]
fn location_is_a_country_with_optional_city_or_online() {
    assert_eq!(
        ActivityLocation::from_input(None, None, Some(true)),
        Ok(ActivityLocation::Online)
    );
    assert_eq!(
        ActivityLocation::from_input(Some(code("SG")), None, None),
        Ok(ActivityLocation::Site {
            country: code("SG"),
            city: None
        })
    );
    assert_eq!(
        ActivityLocation::from_input(Some(code("SG")), None, Some(false)).map(|l| l.is_online()),
        Ok(false)
    );
    let error = ActivityLocation::from_input(Some(code("SG")), None, Some(true)).unwrap_err();
    assert_eq!(
        error,
        ActivityError::OnlineWithPlace {
            field: "location.country".into()
        }
    );
    assert_eq!(field_of(&error).as_deref(), Some("location.country"));
    let city = City::parse("Singapore").unwrap();
    let error = ActivityLocation::from_input(None, Some(city.clone()), Some(true)).unwrap_err();
    assert_eq!(field_of(&error).as_deref(), Some("location.city"));
    for online in [None, Some(false)] {
        let error = ActivityLocation::from_input(None, Some(city.clone()), online).unwrap_err();
        assert_eq!(error, ActivityError::LocationCountryRequired);
        assert_eq!(field_of(&error).as_deref(), Some("location.country"));
    }
    let json = serde_json::to_value(jakarta()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"country": "ID", "city": "Jakarta", "online": false})
    );
    let json = serde_json::to_value(ActivityLocation::Online).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"country": null, "city": null, "online": true})
    );
    assert!(
        serde_json::from_value::<ActivityLocation>(
            serde_json::json!({"country": "ID", "city": null, "online": true})
        )
        .is_err()
    );
    let activity = given::<Activity>([])
        .when(ActivityCommand::Plan(PlanActivity {
            location: ActivityLocation::Online,
            ..plan()
        }))
        .state();
    assert!(activity.location.is_online());
    assert_eq!(activity.location.city(), None);
}

#[test]
fn raw_values_name_their_field() {
    let error = Title::parse(" ")
        .map_err(ActivityError::invalid("title"))
        .unwrap_err();
    assert_eq!(
        error,
        ActivityError::Invalid {
            field: "title".into(),
            error: ValueError::Empty
        }
    );
    assert_eq!(error.to_string(), "title must not be empty");
    let error = crate::values::parse_count(-3)
        .map_err(ActivityError::invalid("participants.female"))
        .unwrap_err();
    assert_eq!(field_of(&error).as_deref(), Some("participants.female"));
    let error = Description::parse("")
        .map_err(ActivityError::invalid("reason"))
        .unwrap_err();
    assert_eq!(field_of(&error).as_deref(), Some("reason"));
}

// ---------------------------------------------------------------- rescheduleActivity

#[test]
fn reschedule_keeps_the_activity_planned() {
    given::<Activity>([planned()])
        .when(reschedule("2017-04-10", "2017-04-11"))
        .then(&[ActivityEvent::ActivityRescheduled(ActivityRescheduled {
            planned_start: day("2017-04-10"),
            planned_end: day("2017-04-11"),
        })]);
    let activity = given::<Activity>([planned()])
        .when(reschedule("2017-04-10", "2017-04-11"))
        .state();
    assert_eq!(activity.status, ActivityStatus::Planned);
    assert_eq!(activity.planned_start, day("2017-04-10"));
    assert_eq!(activity.version, 2);
}

#[test]
fn reschedule_keeps_dates_in_order() {
    given::<Activity>([planned()])
        .when(reschedule("2017-04-10", "2017-04-09"))
        .rejected(
            &ActivityError::EndBeforeStart {
                field: "plannedEnd".into(),
                start: day("2017-04-10"),
                end: day("2017-04-09"),
            },
            Some("plannedEnd"),
        );
}

#[test]
fn only_planned_activities_change() {
    let completed = given::<Activity>([planned()])
        .when(complete(
            "2017-03-01",
            "2017-03-02",
            participants(3, 1, 1, 1),
        ))
        .accepted();
    let completed: Vec<ActivityEvent> = [planned()].into_iter().chain(completed).collect();
    for (history, status) in [
        (completed, ActivityStatus::Completed),
        (vec![planned(), cancelled()], ActivityStatus::Cancelled),
    ] {
        for command in [
            revise_title("Corrected"),
            reschedule("2017-04-10", "2017-04-11"),
            complete("2017-03-01", "2017-03-02", participants(0, 0, 0, 0)),
            cancel(),
        ] {
            given::<Activity>(history.clone())
                .when(command)
                .rejected(&ActivityError::NotPlanned { status }, None);
        }
    }
}

// ---------------------------------------------------------------- completeActivity

#[test]
fn complete_records_dates_participants_and_outcome() {
    let mut counted = participants(40, 22, 17, 1);
    counted.by_country = vec![
        CountryCount {
            country: code("ID"),
            count: 30,
        },
        CountryCount {
            country: code("TL"),
            count: 10,
        },
    ];
    given::<Activity>([planned()])
        .when(complete("2017-03-01", "2017-03-02", counted.clone()))
        .then(&[ActivityEvent::ActivityCompleted(ActivityCompleted {
            actual_start: day("2017-03-01"),
            actual_end: day("2017-03-02"),
            participants: counted.clone(),
            outcome: Some(text("A shared agenda on prevention.")),
        })]);
    let activity = given::<Activity>([planned()])
        .when(complete("2017-03-01", "2017-03-02", counted.clone()))
        .state();
    assert_eq!(activity.status, ActivityStatus::Completed);
    assert_eq!(activity.participants, Some(counted));
    assert_eq!(activity.actual_end, Some(day("2017-03-02")));
    assert_eq!(activity.version, 2);
}

#[test]
fn actual_dates_are_not_in_the_future() {
    given::<Activity>([planned()])
        .on(day("2017-03-01"))
        .when(complete(
            "2017-03-01",
            "2017-03-02",
            participants(0, 0, 0, 0),
        ))
        .rejected(
            &ActivityError::DateInFuture {
                field: "actualEnd".into(),
                date: day("2017-03-02"),
                today: day("2017-03-01"),
            },
            Some("actualEnd"),
        );
    given::<Activity>([planned()])
        .on(day("2017-02-28"))
        .when(complete(
            "2017-03-01",
            "2017-03-02",
            participants(0, 0, 0, 0),
        ))
        .rejected(
            &ActivityError::DateInFuture {
                field: "actualStart".into(),
                date: day("2017-03-01"),
                today: day("2017-02-28"),
            },
            Some("actualStart"),
        );
    given::<Activity>([planned()])
        .on(day("2017-03-02"))
        .when(complete(
            "2017-03-01",
            "2017-03-02",
            participants(0, 0, 0, 0),
        ))
        .accepted();
}

#[test]
fn actual_end_not_before_actual_start() {
    given::<Activity>([planned()])
        .when(complete(
            "2017-03-02",
            "2017-03-01",
            participants(0, 0, 0, 0),
        ))
        .rejected(
            &ActivityError::EndBeforeStart {
                field: "actualEnd".into(),
                start: day("2017-03-02"),
                end: day("2017-03-01"),
            },
            Some("actualEnd"),
        );
}

#[test]
fn participants_add_up_to_the_total() {
    given::<Activity>([planned()])
        .when(complete(
            "2017-03-01",
            "2017-03-02",
            participants(10, 5, 4, 0),
        ))
        .rejected(
            &ActivityError::ParticipantsDoNotAddUp { total: 10, sum: 9 },
            Some("participants.total"),
        );
    given::<Activity>([planned()])
        .when(complete(
            "2017-03-01",
            "2017-03-02",
            participants(u32::MAX, u32::MAX, 1, 0),
        ))
        .rejected(
            &ActivityError::ParticipantsDoNotAddUp {
                total: u32::MAX,
                sum: u64::from(u32::MAX) + 1,
            },
            Some("participants.total"),
        );
}

#[test]
fn per_country_counts_add_up_to_the_total_without_repeats() {
    let mut counted = participants(10, 5, 5, 0);
    counted.by_country = vec![CountryCount {
        country: code("ID"),
        count: 9,
    }];
    given::<Activity>([planned()])
        .when(complete("2017-03-01", "2017-03-02", counted.clone()))
        .rejected(
            &ActivityError::CountryCountsDoNotAddUp { total: 10, sum: 9 },
            Some("participants.byCountry"),
        );
    counted.by_country = vec![
        CountryCount {
            country: code("ID"),
            count: 5,
        },
        CountryCount {
            country: code("ID"),
            count: 5,
        },
    ];
    given::<Activity>([planned()])
        .when(complete("2017-03-01", "2017-03-02", counted))
        .rejected(
            &ActivityError::DuplicateCountryCount {
                index: 1,
                country: code("ID"),
            },
            Some("participants.byCountry[1].country"),
        );
}

// ---------------------------------------------------------------- cancelActivity

#[test]
fn cancel_records_the_reason() {
    given::<Activity>([planned()])
        .when(cancel())
        .then(&[cancelled()]);
    let activity = given::<Activity>([planned()]).when(cancel()).state();
    assert_eq!(activity.status, ActivityStatus::Cancelled);
    assert_eq!(
        activity
            .cancellation_reason
            .as_ref()
            .map(Description::as_str),
        Some("Venue unavailable")
    );
}

// ---------------------------------------------------------------- events and fold

#[test]
fn every_event_round_trips_without_floats() {
    let history = vec![
        planned(),
        ActivityEvent::ActivityRescheduled(ActivityRescheduled {
            planned_start: day("2017-04-10"),
            planned_end: day("2017-04-11"),
        }),
        ActivityEvent::ActivityCompleted(ActivityCompleted {
            actual_start: day("2017-04-10"),
            actual_end: day("2017-04-11"),
            participants: Participants {
                by_country: vec![CountryCount {
                    country: code("VN"),
                    count: 3,
                }],
                ..participants(3, 1, 2, 0)
            },
            outcome: None,
        }),
        cancelled(),
    ];
    for event in &history {
        crate::testing::assert_json_round_trip(event);
    }
    let json = serde_json::to_value(&history[0]).unwrap();
    assert_eq!(json["data"]["kind"], "CONFERENCE");
    assert_eq!(json["data"]["uncacChapters"][0], "PREVENTION");
    assert_eq!(json["data"]["partners"][0]["role"], "ORGANISER");
    assert_eq!(json["data"]["auditType"], serde_json::Value::Null);
    assert_eq!(json["data"]["projectId"], project_id().to_string());
    let activity = Activity::fold(&history[..3]).unwrap();
    assert_eq!(activity.version, 3);
    assert_eq!(Activity::evolve(None, &cancelled()), None);
    assert_eq!(ActivityCommand::Plan(plan()).activity_id(), activity_id());
    let _ = today();
}

#[test]
fn participants_parse_from_graphql_ints() {
    let parsed = Participants::parse(3, 1, 1, 1, &[("ID", 2), ("TL", 1)]).unwrap();
    assert_eq!(parsed.total, 3);
    assert_eq!(parsed.by_country[1].country, code("TL"));
    let error = Participants::parse(3, -1, 3, 1, &[] as &[(&str, i64)]).unwrap_err();
    assert_eq!(
        error,
        ActivityError::Invalid {
            field: "participants.female".into(),
            error: ValueError::Negative(-1),
        }
    );
    let error = Participants::parse(3, 1, 1, 1, &[("ID", 2), ("XX", 1)]).unwrap_err();
    assert_eq!(
        field_of(&error).as_deref(),
        Some("participants.byCountry[1].country")
    );
    let error = Participants::parse(3, 1, 1, 1, &[("ID", -2)]).unwrap_err();
    assert_eq!(
        field_of(&error).as_deref(),
        Some("participants.byCountry[0].count")
    );
}

#[test]
fn a_plan_holds_only_while_its_project_and_partners_are_as_read() {
    use crate::aggregate::StreamKind;
    use crate::ports::StreamRead;
    let reads = Activity::reads(&ActivityCommand::Plan(plan()));
    let read = |stream, stream_id, version| StreamRead {
        stream,
        stream_id,
        version,
    };
    assert_eq!(
        reads,
        vec![
            read(StreamKind::Project, project_id(), 4),
            read(StreamKind::Organisation, asec(), 2),
            read(StreamKind::Organisation, kpk(), 2),
        ]
    );
    let reschedule = ActivityCommand::Reschedule(RescheduleActivity {
        id: activity_id(),
        planned_start: day("2017-04-01"),
        planned_end: day("2017-04-02"),
    });
    assert!(Activity::reads(&reschedule).is_empty());
}

#[test]
fn a_planned_activity_is_revised_field_by_field() {
    let activity = given::<Activity>([planned()])
        .when(revise_title("Corrected title"))
        .state();
    assert_eq!(activity.title.as_str(), "Corrected title");
    assert_eq!(activity.location, jakarta(), "what is not given stays");
    let revised = given::<Activity>([planned()])
        .when(ActivityCommand::Revise(ReviseActivity {
            id: activity_id(),
            title: None,
            description: Some(text("A corrected description.")),
            partners: Some(vec![
                partner(kpk(), ActivityPartnerRole::Organiser),
                partner(asec(), ActivityPartnerRole::Host),
            ]),
            location: Some(ActivityLocation::Online),
        }))
        .state();
    assert_eq!(revised.description.as_str(), "A corrected description.");
    assert_eq!(revised.location, ActivityLocation::Online);
    assert_eq!(revised.partners.len(), 2);
    assert_eq!(revised.partners[0].organisation_id, kpk());
    assert_eq!(revised.version, 2);
}

#[test]
fn a_revision_changes_something_and_keeps_the_partner_rules() {
    let nothing = ActivityCommand::Revise(ReviseActivity {
        id: activity_id(),
        title: None,
        description: None,
        partners: None,
        location: None,
    });
    given::<Activity>([planned()])
        .when(nothing)
        .rejected(&ActivityError::NothingToRevise, None);
    given::<Activity>([planned()])
        .when(ActivityCommand::Revise(ReviseActivity {
            id: activity_id(),
            title: None,
            description: None,
            partners: Some(vec![partner(kpk(), ActivityPartnerRole::Host)]),
            location: None,
        }))
        .rejected(&ActivityError::NoOrganiser, Some("partners"));
}
