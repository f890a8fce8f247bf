#![expect(
    clippy::unwrap_used,
    reason = "a broken fixture should fail the test loudly"
)]

use uuid::Uuid;

use super::*;
use crate::testing::{field_of, given};

fn org_id() -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001)
}

fn register() -> RegisterOrganisation {
    RegisterOrganisation {
        id: org_id(),
        org_ref: Some(OrgRef::parse("XM-DAC-5-7").unwrap()),
        name: Name::parse("Federal Foreign Office of Germany").unwrap(),
        acronym: Some(Acronym::parse("AA").unwrap()),
        organisation_type: OrganisationType::Government,
        country: Some(CountryCode::parse("DE").unwrap()),
        website: Some(WebUrl::parse("https://www.auswaertiges-amt.de/").unwrap()),
    }
}

fn registered() -> OrganisationEvent {
    OrganisationEvent::OrganisationRegistered(OrganisationRegistered {
        id: org_id(),
        org_ref: Some(OrgRef::parse("XM-DAC-5-7").unwrap()),
        name: Name::parse("Federal Foreign Office of Germany").unwrap(),
        acronym: Some(Acronym::parse("AA").unwrap()),
        organisation_type: OrganisationType::Government,
        country: Some(CountryCode::parse("DE").unwrap()),
        website: Some(WebUrl::parse("https://www.auswaertiges-amt.de/").unwrap()),
    })
}

fn registered_without_ref() -> OrganisationEvent {
    OrganisationEvent::OrganisationRegistered(OrganisationRegistered {
        id: org_id(),
        org_ref: None,
        name: Name::parse("ASEAN Secretariat").unwrap(),
        acronym: Some(Acronym::parse("ASEC").unwrap()),
        organisation_type: OrganisationType::Multilateral,
        country: Some(CountryCode::parse("ID").unwrap()),
        website: None,
    })
}

fn deactivated() -> OrganisationEvent {
    OrganisationEvent::OrganisationDeactivated(OrganisationStatusChanged {})
}

fn revise() -> ReviseOrganisation {
    ReviseOrganisation {
        id: org_id(),
        ..ReviseOrganisation::default()
    }
}

#[test]
fn register_records_every_field() {
    given::<Organisation>([])
        .when(OrganisationCommand::Register(register()))
        .then(&[registered()]);
}

#[test]
fn registered_organisation_state() {
    let organisation = given::<Organisation>([])
        .when(OrganisationCommand::Register(register()))
        .state();
    assert_eq!(organisation.version, 1);
    assert_eq!(
        organisation.org_ref.as_ref().map(OrgRef::as_str),
        Some("XM-DAC-5-7")
    );
    assert!(!organisation.deactivated);
    assert_eq!(organisation.facts().id, org_id());
}

#[test]
fn register_twice_is_refused() {
    given::<Organisation>([registered()])
        .when(OrganisationCommand::Register(register()))
        .rejected(&OrganisationError::AlreadyExists { id: org_id() }, None);
}

#[test]
fn changes_to_a_missing_organisation_are_not_found() {
    for command in [
        OrganisationCommand::Revise(revise()),
        OrganisationCommand::Deactivate { id: org_id() },
        OrganisationCommand::Reactivate { id: org_id() },
    ] {
        let error = given::<Organisation>([]).when(command).error();
        assert_eq!(error, OrganisationError::NotFound { id: org_id() });
        assert!(error.is_not_found());
    }
    let other = Uuid::from_u128(99);
    given::<Organisation>([registered()])
        .when(OrganisationCommand::Deactivate { id: other })
        .rejected(&OrganisationError::NotFound { id: other }, None);
}

#[test]
fn revise_changes_only_the_fields_given() {
    let organisation = given::<Organisation>([registered()])
        .when(OrganisationCommand::Revise(ReviseOrganisation {
            name: Some(Name::parse("Auswärtiges Amt").unwrap()),
            website: Patch::Clear,
            ..revise()
        }))
        .state();
    assert_eq!(organisation.name.as_str(), "Auswärtiges Amt");
    assert_eq!(organisation.website, None);
    assert_eq!(
        organisation.acronym.as_ref().map(Acronym::as_str),
        Some("AA")
    );
    assert_eq!(organisation.organisation_type, OrganisationType::Government);
    assert_eq!(organisation.version, 2);
}

#[test]
fn revise_event_carries_the_complete_profile() {
    given::<Organisation>([registered()])
        .when(OrganisationCommand::Revise(ReviseOrganisation {
            organisation_type: Some(OrganisationType::OtherPublicSector),
            acronym: Patch::Set(Acronym::parse("AA-DE").unwrap()),
            ..revise()
        }))
        .then(&[OrganisationEvent::OrganisationRevised(
            OrganisationRevised {
                org_ref: Some(OrgRef::parse("XM-DAC-5-7").unwrap()),
                name: Name::parse("Federal Foreign Office of Germany").unwrap(),
                acronym: Some(Acronym::parse("AA-DE").unwrap()),
                organisation_type: OrganisationType::OtherPublicSector,
                country: Some(CountryCode::parse("DE").unwrap()),
                website: Some(WebUrl::parse("https://www.auswaertiges-amt.de/").unwrap()),
            },
        )]);
}

#[test]
fn revise_with_nothing_given_is_refused() {
    given::<Organisation>([registered()])
        .when(OrganisationCommand::Revise(revise()))
        .rejected(&OrganisationError::NothingToRevise, None);
}

#[test]
fn a_missing_ref_may_be_set_once() {
    let organisation = given::<Organisation>([registered_without_ref()])
        .when(OrganisationCommand::Revise(ReviseOrganisation {
            org_ref: Some(OrgRef::parse("XI-IATI-ASEC").unwrap()),
            ..revise()
        }))
        .state();
    assert_eq!(
        organisation.org_ref.as_ref().map(OrgRef::as_str),
        Some("XI-IATI-ASEC")
    );
}

#[test]
fn an_existing_ref_is_immutable() {
    given::<Organisation>([registered()])
        .when(OrganisationCommand::Revise(ReviseOrganisation {
            org_ref: Some(OrgRef::parse("DE-1").unwrap()),
            ..revise()
        }))
        .rejected(
            &OrganisationError::RefImmutable {
                current: OrgRef::parse("XM-DAC-5-7").unwrap(),
            },
            Some("ref"),
        );
}

#[test]
fn giving_the_same_ref_again_is_no_change_of_ref() {
    let organisation = given::<Organisation>([registered()])
        .when(OrganisationCommand::Revise(ReviseOrganisation {
            org_ref: Some(OrgRef::parse("XM-DAC-5-7").unwrap()),
            ..revise()
        }))
        .state();
    assert_eq!(
        organisation.org_ref.as_ref().map(OrgRef::as_str),
        Some("XM-DAC-5-7")
    );
}

#[test]
fn deactivate_and_reactivate() {
    let organisation = given::<Organisation>([registered()])
        .when(OrganisationCommand::Deactivate { id: org_id() })
        .state();
    assert!(organisation.deactivated);
    assert!(organisation.facts().deactivated);
    let organisation = given::<Organisation>([registered(), deactivated()])
        .when(OrganisationCommand::Reactivate { id: org_id() })
        .state();
    assert!(!organisation.deactivated);
    assert_eq!(organisation.version, 3);
}

#[test]
fn deactivating_twice_is_refused() {
    given::<Organisation>([registered(), deactivated()])
        .when(OrganisationCommand::Deactivate { id: org_id() })
        .rejected(&OrganisationError::AlreadyDeactivated, None);
}

#[test]
fn reactivating_an_active_organisation_is_refused() {
    given::<Organisation>([registered()])
        .when(OrganisationCommand::Reactivate { id: org_id() })
        .rejected(&OrganisationError::NotDeactivated, None);
}

#[test]
fn parse_errors_name_the_field() {
    let error = Name::parse("  ")
        .map_err(OrganisationError::invalid("name"))
        .unwrap_err();
    assert_eq!(field_of(&error).as_deref(), Some("name"));
    assert_eq!(error.to_string(), "name must not be empty");
    assert!(!error.is_not_found());
    let error = OrgRef::parse("XM/DAC")
        .map_err(OrganisationError::invalid("ref"))
        .unwrap_err();
    assert_eq!(error.to_string(), "ref must not contain the character `/`");
}

#[test]
fn events_round_trip_as_json_without_floats() {
    for event in [
        registered(),
        registered_without_ref(),
        deactivated(),
        OrganisationEvent::OrganisationReactivated(OrganisationStatusChanged {}),
    ] {
        crate::testing::assert_json_round_trip(&event);
    }
    let json = serde_json::to_value(registered()).unwrap();
    assert_eq!(json["type"], "OrganisationRegistered");
    assert_eq!(json["data"]["ref"], "XM-DAC-5-7");
    assert_eq!(json["data"]["type"], "10");
    assert_eq!(json["data"]["country"], "DE");
}

#[test]
fn evolve_ignores_events_that_cannot_apply() {
    assert_eq!(Organisation::evolve(None, &deactivated()), None);
    let organisation = Organisation::fold(&[registered()]).unwrap();
    let again = Organisation::evolve(Some(organisation.clone()), &registered());
    assert_eq!(again, Some(organisation));
}
