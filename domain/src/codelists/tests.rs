#![expect(
    clippy::unwrap_used,
    reason = "a broken fixture should fail the test loudly"
)]

use super::*;

#[test]
fn iati_enums_round_trip_their_codes() {
    fn check<
        T: Copy + PartialEq + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned,
    >(
        all: &[T],
        code: impl Fn(T) -> &'static str,
        from_code: impl Fn(&str) -> Option<T>,
    ) {
        for value in all {
            assert_eq!(from_code(code(*value)), Some(*value));
            let json = serde_json::to_string(value).unwrap();
            assert_eq!(json, format!("\"{}\"", code(*value)));
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), *value);
        }
    }
    check(
        ProjectStatus::ALL,
        ProjectStatus::code,
        ProjectStatus::from_code,
    );
    check(
        OrganisationRole::ALL,
        OrganisationRole::code,
        OrganisationRole::from_code,
    );
    check(
        OrganisationType::ALL,
        OrganisationType::code,
        OrganisationType::from_code,
    );
    check(
        TransactionType::ALL,
        TransactionType::code,
        TransactionType::from_code,
    );
    check(
        RelatedActivityType::ALL,
        RelatedActivityType::code,
        RelatedActivityType::from_code,
    );
    check(BudgetType::ALL, BudgetType::code, BudgetType::from_code);
    check(
        BudgetStatus::ALL,
        BudgetStatus::code,
        BudgetStatus::from_code,
    );
    check(
        OtherIdentifierType::ALL,
        OtherIdentifierType::code,
        OtherIdentifierType::from_code,
    );
    check(
        ActivityDateType::ALL,
        ActivityDateType::code,
        ActivityDateType::from_code,
    );
    check(
        DescriptionType::ALL,
        DescriptionType::code,
        DescriptionType::from_code,
    );
}

#[test]
fn code_list_sizes_match_iati_2_03() {
    assert_eq!(ProjectStatus::ALL.len(), 6);
    assert_eq!(OrganisationRole::ALL.len(), 4);
    assert_eq!(OrganisationType::ALL.len(), 16);
    assert_eq!(TransactionType::ALL.len(), 13);
    assert_eq!(RelatedActivityType::ALL.len(), 5);
    // The reference lists are complete now, no longer Amanah's selections (16 sectors, 3
    // regions, 10 document categories).
    let size = |name| super::iati::list(name).unwrap().codes.len();
    assert_eq!(size("Sector"), 325);
    assert_eq!(size("Region"), 26);
    assert_eq!(size("DocumentCategory"), 30);
    assert_eq!(size("Country"), 251);
}

#[test]
fn names_and_codes() {
    assert_eq!(OrganisationType::PartnerCountryNgo.code(), "24");
    assert_eq!(
        OrganisationType::Academic.name(),
        "Academic, Training and Research"
    );
    assert_eq!(OrganisationRole::Implementing.code(), "4");
    assert_eq!(TransactionType::IncomingPledge.code(), "13");
    assert_eq!(ProjectStatus::Suspended.code(), "6");
    assert_eq!(ProjectStatus::Pipeline.name(), "Pipeline/identification");
    assert_eq!(OtherIdentifierType::PreviousActivityIdentifier.code(), "A3");
    assert_eq!(OrganisationType::from_code("99"), None);
    assert_eq!(
        OrganisationRole::parse("7"),
        Err(crate::values::ValueError::UnknownCode {
            list: "OrganisationRole",
            code: "7".into()
        })
    );
    assert!(serde_json::from_str::<OrganisationRole>("\"FUNDING\"").is_err());
    assert!(serde_json::from_str::<OrganisationRole>("1").is_err());
}

#[test]
fn activity_enums_serialise_as_screaming_snake_case() {
    assert_eq!(
        serde_json::to_string(&ActivityKind::PolicyDialogue).unwrap(),
        "\"POLICY_DIALOGUE\""
    );
    assert_eq!(
        serde_json::to_string(&UncacChapter::TechnicalAssistanceAndInformationExchange).unwrap(),
        "\"TECHNICAL_ASSISTANCE_AND_INFORMATION_EXCHANGE\""
    );
    for kind in ActivityKind::ALL {
        assert_eq!(ActivityKind::from_name(kind.as_str()), Some(*kind));
        let json = serde_json::to_string(kind).unwrap();
        assert_eq!(serde_json::from_str::<ActivityKind>(&json).unwrap(), *kind);
    }
    for role in ActivityPartnerRole::ALL {
        assert_eq!(ActivityPartnerRole::from_name(role.as_str()), Some(*role));
    }
    assert_eq!(ActivityKind::ALL.len(), 9);
    assert_eq!(UncacChapter::ALL.len(), 5);
    assert_eq!(AuditType::Compliance.standard(), "ISSAI 400");
    assert_eq!(UncacChapter::AssetRecovery.chapter(), "V");
    assert_eq!(ActivityStatus::ALL.len(), 3);
    assert_eq!(ActivityPartnerRole::ALL.len(), 6);
}

#[test]
fn status_transitions_are_exactly_those_of_the_spec() {
    use ProjectStatus::*;
    let allowed = [
        (Pipeline, Implementation),
        (Implementation, Finalisation),
        (Finalisation, Closed),
        (Pipeline, Cancelled),
        (Implementation, Cancelled),
        (Finalisation, Cancelled),
        (Implementation, Suspended),
        (Suspended, Implementation),
    ];
    for from in ProjectStatus::ALL {
        for to in ProjectStatus::ALL {
            assert_eq!(
                from.can_move_to(*to),
                allowed.contains(&(*from, *to)),
                "{from:?} -> {to:?}"
            );
        }
    }
    assert!(Closed.is_terminal() && Cancelled.is_terminal() && !Suspended.is_terminal());
}

#[test]
fn the_minor_units_table_is_sorted_and_its_currencies_are_active_iati_codes() {
    let currencies = currencies();
    assert!(currencies.windows(2).all(|w| w[0].code < w[1].code));
    assert!(
        currencies
            .iter()
            .all(|c| c.code.len() == 3 && c.exponent <= 4)
    );
    // New data takes a currency the IATI list has active and whose minor unit is known.
    let parse = crate::values::CurrencyCode::parse;
    for known in ["EUR", "USD", "IDR", "JPY", "KWD"] {
        assert!(parse(known).is_ok(), "{known}");
    }
    // CHE: in ISO 4217 with a minor unit, not in the IATI list; HRK: in the IATI list, replaced
    // by the euro in ISO 4217 (no minor unit kept).
    for refused in ["CHE", "HRK", "XXX", "eur"] {
        assert!(parse(refused).is_err(), "{refused}");
    }
}

#[test]
fn member_states_have_join_dates() {
    let members = member_states();
    assert_eq!(members.len(), 11);
    for member in members {
        assert!(crate::values::CountryCode::parse(member.country).is_ok());
    }
    let on = |text: &str| text.parse::<NaiveDate>().unwrap();
    assert_eq!(member_states_as_of(on("2024-12-31")).count(), 10);
    assert_eq!(member_states_as_of(on("2025-10-26")).count(), 11);
    assert_eq!(member_states_as_of(on("1967-08-08")).count(), 5);
    assert_eq!(member_states_as_of(on("1967-08-07")).count(), 0);
    let timor = members.iter().find(|m| m.country == "TL").unwrap();
    assert_eq!(timor.joined_on, on("2025-10-26"));
}
