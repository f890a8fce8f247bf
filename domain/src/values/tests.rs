#![expect(
    clippy::unwrap_used,
    reason = "a broken fixture should fail the test loudly"
)]

use proptest::prelude::*;

use super::*;

fn eur() -> CurrencyCode {
    CurrencyCode::parse("EUR").unwrap()
}

#[test]
fn percentage_boundaries() {
    assert_eq!(
        Percentage::parse("0"),
        Err(ValueError::PercentageOutOfRange("0".into()))
    );
    assert_eq!(
        Percentage::parse("0.00"),
        Err(ValueError::PercentageOutOfRange("0.00".into()))
    );
    assert_eq!(Percentage::parse("0.01").unwrap().hundredths(), 1);
    assert_eq!(Percentage::parse("100").unwrap(), Percentage::HUNDRED);
    assert_eq!(Percentage::parse("100.00").unwrap(), Percentage::HUNDRED);
    assert_eq!(
        Percentage::parse("100.01"),
        Err(ValueError::PercentageOutOfRange("100.01".into()))
    );
    assert_eq!(
        Percentage::parse("1000"),
        Err(ValueError::PercentageOutOfRange("1000".into()))
    );
    assert_eq!(
        Percentage::parse("33.333"),
        Err(ValueError::PercentageTooPrecise("33.333".into()))
    );
    assert_eq!(
        Percentage::parse("-5"),
        Err(ValueError::PercentageOutOfRange("-5".into()))
    );
}

#[test]
fn percentage_syntax() {
    for raw in [
        "", ".5", "5.", "1e2", " 10", "10 ", "+10", "ten", "10,5", "1.2.3", "0x10", "-",
    ] {
        assert_eq!(
            Percentage::parse(raw),
            Err(ValueError::PercentageSyntax(raw.into())),
            "{raw:?}"
        );
    }
    assert_eq!(Percentage::parse("007.5").unwrap().hundredths(), 750);
    assert_eq!(
        Percentage::parse("99999999999999999999"),
        Err(ValueError::PercentageOutOfRange(
            "99999999999999999999".into()
        ))
    );
}

#[test]
fn percentage_canonical_form_has_two_decimals() {
    assert_eq!(Percentage::parse("10").unwrap().to_string(), "10.00");
    assert_eq!(Percentage::parse("10.5").unwrap().to_string(), "10.50");
    assert_eq!(Percentage::parse("33.33").unwrap().to_string(), "33.33");
    assert_eq!(Percentage::parse("0.05").unwrap().to_string(), "0.05");
    assert_eq!(Percentage::HUNDRED.to_string(), "100.00");
    assert_eq!(format_hundredths(10_001), "100.01");
}

#[test]
fn percentage_serde_is_a_string_and_revalidates() {
    let p = Percentage::parse("33.33").unwrap();
    assert_eq!(serde_json::to_string(&p).unwrap(), "\"33.33\"");
    assert_eq!(serde_json::from_str::<Percentage>("\"33.33\"").unwrap(), p);
    assert!(serde_json::from_str::<Percentage>("\"0\"").is_err());
    assert!(serde_json::from_str::<Percentage>("33.33").is_err());
}

proptest! {
    #[test]
    fn percentage_display_parse_round_trip(hundredths in 1_u32..=10_000) {
        let p = Percentage::from_hundredths(hundredths).unwrap();
        let text = p.to_string();
        prop_assert_eq!(Percentage::parse(&text).unwrap(), p);
        prop_assert_eq!(text.split_once('.').map(|(_, f)| f.len()), Some(2));
    }

    #[test]
    fn percentage_parse_never_panics(raw in ".{0,12}") {
        let _ = Percentage::parse(&raw);
    }

    #[test]
    fn money_decimal_has_the_currency_exponent(units in -MAX_MINOR_UNITS..=MAX_MINOR_UNITS) {
        for (code, exponent) in [("EUR", 2), ("JPY", 0), ("KWD", 3), ("CLF", 4)] {
            let money = Money::new(units, CurrencyCode::parse(code).unwrap()).unwrap();
            let decimal = money.decimal();
            let fraction = decimal.split_once('.').map_or(0, |(_, f)| f.len());
            prop_assert_eq!(fraction, exponent);
            let digits: String = decimal.chars().filter(char::is_ascii_digit).collect();
            prop_assert_eq!(digits.parse::<u64>().unwrap(), units.unsigned_abs());
            prop_assert_eq!(decimal.starts_with('-'), units < 0);
            prop_assert_eq!(Money::parse_decimal(&decimal, money.currency()), Ok(money));
        }
    }

    #[test]
    fn money_parse_decimal_never_panics(raw in ".{0,40}") {
        let _ = Money::parse_decimal(&raw, eur());
    }
}

#[test]
fn from_hundredths_bounds() {
    assert_eq!(Percentage::from_hundredths(0), None);
    assert_eq!(Percentage::from_hundredths(10_001), None);
    assert_eq!(
        Percentage::from_hundredths(10_000),
        Some(Percentage::HUNDRED)
    );
}

#[test]
fn money_range_is_plus_minus_2_pow_53_minus_1() {
    assert_eq!(MAX_MINOR_UNITS, 9_007_199_254_740_991);
    assert!(Money::new(MAX_MINOR_UNITS, eur()).is_ok());
    assert!(Money::new(-MAX_MINOR_UNITS, eur()).is_ok());
    assert_eq!(
        Money::new(1 << 53, eur()),
        Err(ValueError::AmountOutOfRange(1 << 53))
    );
    assert_eq!(
        Money::new(-(1 << 53), eur()),
        Err(ValueError::AmountOutOfRange(-(1 << 53)))
    );
    assert_eq!(
        Money::new(i64::MIN, eur()),
        Err(ValueError::AmountOutOfRange(i128::from(i64::MIN)))
    );
}

#[test]
fn money_parse_from_graphql_strings() {
    assert_eq!(
        Money::parse("125000000", "EUR").unwrap(),
        Money::new(125_000_000, eur()).unwrap()
    );
    assert_eq!(
        Money::parse("9007199254740992", "EUR"),
        Err(ValueError::AmountOutOfRange(9_007_199_254_740_992))
    );
    assert_eq!(
        Money::parse("99999999999999999999", "EUR"),
        Err(ValueError::AmountOutOfRange(99_999_999_999_999_999_999))
    );
    assert_eq!(
        Money::parse("12.50", "EUR"),
        Err(ValueError::NotAnInteger("12.50".into()))
    );
    assert_eq!(
        Money::parse("1", "EURO"),
        Err(ValueError::UnknownCurrency("EURO".into()))
    );
}

#[test]
fn money_parse_decimal_reads_iati_values() {
    let parse = |raw: &str| Money::parse_decimal(raw, eur()).map(Money::minor_units);
    assert_eq!(parse("1250000.00"), Ok(125_000_000));
    assert_eq!(parse("1250000"), Ok(125_000_000));
    assert_eq!(parse("10.5"), Ok(1050));
    assert_eq!(
        parse("10.500"),
        Ok(1050),
        "zeros beyond the cent are no loss"
    );
    assert_eq!(parse("+0.05"), Ok(5));
    assert_eq!(parse("-0.05"), Ok(-5));
    assert_eq!(parse(".5"), Ok(50));
    assert_eq!(parse("0"), Ok(0));
    let not_an_amount = |raw: &str| ValueError::NotAnAmount {
        amount: raw.to_owned(),
        currency: "EUR",
        places: 2,
    };
    for raw in [
        "10.005", "", "-", ".", "1,000.00", "1e3", " 1", "1.2.3", "--1", "0x10",
    ] {
        assert_eq!(parse(raw), Err(not_an_amount(raw)), "{raw:?}");
    }
    assert!(matches!(
        parse("90071992547409.92"),
        Err(ValueError::AmountOutOfRange(_))
    ));
    assert!(matches!(
        parse("1000000000000000000000000000000000000"),
        Err(ValueError::AmountOutOfRange(_))
    ));
    let jpy = CurrencyCode::parse("JPY").unwrap();
    assert_eq!(
        Money::parse_decimal("1000", jpy).map(Money::minor_units),
        Ok(1000)
    );
    assert!(Money::parse_decimal("1000.5", jpy).is_err());
}

#[test]
fn money_decimal_rendering() {
    let render = |units| Money::new(units, eur()).unwrap().decimal();
    assert_eq!(render(125_000_000), "1250000.00");
    assert_eq!(render(5), "0.05");
    assert_eq!(render(-5), "-0.05");
    assert_eq!(render(0), "0.00");
    assert_eq!(render(-123_456), "-1234.56");
    let jpy = Money::new(1000, CurrencyCode::parse("JPY").unwrap()).unwrap();
    assert_eq!(jpy.decimal(), "1000");
    let kwd = Money::new(1, CurrencyCode::parse("KWD").unwrap()).unwrap();
    assert_eq!(kwd.decimal(), "0.001");
    assert_eq!(kwd.to_string(), "0.001 KWD");
    assert_eq!(Money::new(7, eur()).unwrap().negated().minor_units(), -7);
}

#[test]
fn money_serde_uses_an_integer_and_revalidates() {
    let money = Money::new(125_000_000, eur()).unwrap();
    let json = serde_json::to_string(&money).unwrap();
    assert_eq!(json, r#"{"minorUnits":125000000,"currency":"EUR"}"#);
    assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), money);
    assert!(
        serde_json::from_str::<Money>(r#"{"minorUnits":9007199254740992,"currency":"EUR"}"#)
            .is_err()
    );
    assert!(serde_json::from_str::<Money>(r#"{"minorUnits":1.5,"currency":"EUR"}"#).is_err());
    assert!(serde_json::from_str::<Money>(r#"{"minorUnits":1,"currency":"XAU"}"#).is_err());
}

#[test]
fn currencies_know_their_exponents() {
    for (code, exponent) in [
        ("EUR", 2),
        ("USD", 2),
        ("IDR", 2),
        ("JPY", 0),
        ("KWD", 3),
        ("VND", 0),
        ("BHD", 3),
        ("CLF", 4),
        ("SGD", 2),
        ("THB", 2),
    ] {
        assert_eq!(
            CurrencyCode::parse(code).unwrap().exponent(),
            exponent,
            "{code}"
        );
    }
    for refused in ["eur", "XAU", "XXX", "HRK", "", "EU"] {
        assert_eq!(
            CurrencyCode::parse(refused),
            Err(ValueError::UnknownCurrency(refused.into()))
        );
    }
    assert_eq!(CurrencyCode::parse("IDR").unwrap().name(), "Rupiah");
}

#[test]
fn iati_identifier_rules() {
    assert_eq!(
        IatiIdentifier::parse("XM-DAC-5-7-2015-1234")
            .unwrap()
            .as_str(),
        "XM-DAC-5-7-2015-1234"
    );
    assert_eq!(IatiIdentifier::parse(""), Err(ValueError::Empty));
    assert_eq!(
        IatiIdentifier::parse(" XM-DAC-5-7-1"),
        Err(ValueError::SurroundingWhitespace)
    );
    assert_eq!(
        IatiIdentifier::parse("XM-DAC-5-7-1\n"),
        Err(ValueError::SurroundingWhitespace)
    );
    for c in ['/', '&', '|', '?'] {
        assert_eq!(
            IatiIdentifier::parse(&format!("XM-DAC-5-7-a{c}b")),
            Err(ValueError::ForbiddenCharacter(c))
        );
    }
    assert_eq!(
        IatiIdentifier::parse("XM-DAC\u{7}-1"),
        Err(ValueError::ControlCharacter)
    );
}

#[test]
fn iati_identifier_is_under_its_reporting_organisation() {
    let org_ref = OrgRef::parse("XM-DAC-5-7").unwrap();
    let id = |raw| IatiIdentifier::parse(raw).unwrap();
    assert!(id("XM-DAC-5-7-2015-1234").is_under(&org_ref));
    assert!(id("XM-DAC-5-7-X").is_under(&org_ref));
    assert!(!id("XM-DAC-5-7").is_under(&org_ref));
    assert!(!id("XM-DAC-5-7-").is_under(&org_ref));
    assert!(!id("XM-DAC-5-77").is_under(&org_ref));
    assert!(!id("DE-1-XM-DAC-5-7-1").is_under(&org_ref));
}

#[test]
fn org_ref_rules() {
    for ok in ["XM-DAC-5-7", "DE-1", "XM-DAC-5-52", "GB-COH-01234567"] {
        assert_eq!(OrgRef::parse(ok).unwrap().as_str(), ok);
    }
    assert_eq!(OrgRef::parse(""), Err(ValueError::Empty));
    assert_eq!(OrgRef::parse("DE 1"), Err(ValueError::ContainsWhitespace));
    assert_eq!(OrgRef::parse(" DE-1"), Err(ValueError::ContainsWhitespace));
    assert_eq!(
        OrgRef::parse("DE-1/2"),
        Err(ValueError::ForbiddenCharacter('/'))
    );
    assert_eq!(
        OrgRef::parse("DE-1&2"),
        Err(ValueError::ForbiddenCharacter('&'))
    );
    for shape in ["DE", "-1", "DE-", "DE--1"] {
        assert_eq!(
            OrgRef::parse(shape),
            Err(ValueError::OrgRefShape),
            "{shape}"
        );
    }
}

#[test]
fn country_codes_are_the_iati_country_list() {
    for (code, name) in [
        ("ID", "Indonesia"),
        ("VN", "Viet Nam"),
        ("LA", "Lao People's Democratic Republic (the)"),
        ("TL", "Timor-Leste"),
        ("DE", "Germany"),
        ("BN", "Brunei Darussalam"),
        ("XK", "Kosovo"),
    ] {
        assert_eq!(CountryCode::parse(code).unwrap().name(), name);
    }
    for refused in ["id", "XX", "UK", "IDN", "", "EU"] {
        assert_eq!(
            CountryCode::parse(refused),
            Err(ValueError::UnknownCountry(refused.into()))
        );
    }
    // Withdrawn (the Netherlands Antilles): refused for new data, still read.
    assert_eq!(
        CountryCode::parse("AN"),
        Err(ValueError::WithdrawnCode {
            list: "Country",
            code: "AN".into()
        })
    );
    let recorded: CountryCode = serde_json::from_str("\"AN\"").unwrap();
    assert_eq!(recorded.as_str(), "AN");
    let json = serde_json::to_string(&CountryCode::parse("ID").unwrap()).unwrap();
    assert_eq!(json, "\"ID\"");
    assert!(serde_json::from_str::<CountryCode>("\"XX\"").is_err());
}

#[test]
fn sectors_refuse_withdrawn_codes_for_new_data_but_replay_them() {
    assert_eq!(
        SectorCode::parse("15113").unwrap().name(),
        "Anti-corruption organisations and institutions"
    );
    assert_eq!(
        SectorCode::parse("15120"),
        Err(ValueError::WithdrawnCode {
            list: "Sector",
            code: "15120".into(),
        })
    );
    assert!(SectorCode::known("15120").unwrap().is_withdrawn());
    assert_eq!(
        SectorCode::parse("99999"),
        Err(ValueError::UnknownSector("99999".into()))
    );
    let recorded: SectorCode = serde_json::from_str("\"15120\"").unwrap();
    assert!(recorded.is_withdrawn());
}

#[test]
fn regions_and_document_categories() {
    assert_eq!(RegionCode::parse("798").unwrap().name(), "Asia, regional");
    assert_eq!(
        RegionCode::parse("123"),
        Err(ValueError::UnknownRegion("123".into()))
    );
    // The whole list, not a selection: A04 (Conditions) was not among Amanah's first ten.
    assert_eq!(DocumentCategory::parse("A05").unwrap().name(), "Budget");
    assert_eq!(DocumentCategory::parse("A04").unwrap().name(), "Conditions");
    assert_eq!(RegionCode::parse("298").unwrap().name(), "Africa, regional");
    assert_eq!(
        DocumentCategory::parse("Z99"),
        Err(ValueError::UnknownDocumentCategory("Z99".into()))
    );
}

#[test]
fn bounded_texts_trim_and_count_characters() {
    assert_eq!(Name::parse("  GIZ  ").unwrap().as_str(), "GIZ");
    assert_eq!(Name::parse("   "), Err(ValueError::Empty));
    assert!(Name::parse(&"é".repeat(300)).is_ok());
    assert_eq!(
        Name::parse(&"é".repeat(301)),
        Err(ValueError::TooLong {
            max: 300,
            actual: 301
        })
    );
    assert!(Acronym::parse(&"A".repeat(30)).is_ok());
    assert_eq!(
        Acronym::parse(&"A".repeat(31)),
        Err(ValueError::TooLong {
            max: 30,
            actual: 31
        })
    );
    assert!(Title::parse(&"t".repeat(500)).is_ok());
    assert!(Title::parse(&"t".repeat(501)).is_err());
    assert_eq!(Name::parse("a\nb"), Err(ValueError::ControlCharacter));
    assert_eq!(
        Description::parse(" line one\nline two ").unwrap().as_str(),
        "line one\nline two"
    );
    assert_eq!(Description::parse("\n\t "), Err(ValueError::Empty));
    assert!(serde_json::from_str::<Name>("\"\"").is_err());
}

#[test]
fn web_urls() {
    for ok in [
        "https://asean.org/",
        "http://example.com",
        "HTTPS://Example.com:8443/a/b?c=d#e",
        "https://[2001:db8::1]:8080/x",
        "https://192.0.2.1/report.pdf",
        "https://bücher.example/",
    ] {
        assert_eq!(WebUrl::parse(ok).unwrap().as_str(), ok);
    }
    assert_eq!(WebUrl::parse(""), Err(ValueError::Empty));
    assert_eq!(
        WebUrl::parse("https://a b.org"),
        Err(ValueError::ContainsWhitespace)
    );
    for bad in [
        "asean.org",
        "ftp://asean.org",
        "https://",
        "https:///path",
        "https://user:pass@asean.org/",
        "https://asean.org:port/",
        "https://asean.org:99999/",
        "https://-asean.org/",
        "https://asean..org/",
        "https://[zz::1]/",
    ] {
        assert!(
            matches!(WebUrl::parse(bad), Err(ValueError::InvalidUrl(_))),
            "{bad}"
        );
    }
    let long = format!("https://a.org/{}", "x".repeat(WebUrl::MAX_CHARS));
    assert!(matches!(
        WebUrl::parse(&long),
        Err(ValueError::TooLong { max: 2048, .. })
    ));
}

#[test]
fn mime_types() {
    assert_eq!(
        MimeType::parse("Application/PDF").unwrap().as_str(),
        "application/pdf"
    );
    assert!(
        MimeType::parse("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
            .is_ok()
    );
    assert_eq!(MimeType::parse(""), Err(ValueError::Empty));
    for bad in [
        "pdf",
        "application/",
        "/pdf",
        "text/html; charset=utf-8",
        "a/b/c",
    ] {
        assert_eq!(
            MimeType::parse(bad),
            Err(ValueError::InvalidMimeType),
            "{bad}"
        );
    }
    // Well formed, but not a code of the IATI FileFormat list: refused for new data, still read.
    assert_eq!(
        MimeType::parse("application/x-amanah-draft"),
        Err(ValueError::UnknownCode {
            list: "FileFormat",
            code: "application/x-amanah-draft".into()
        })
    );
    let recorded: MimeType = serde_json::from_str("\"application/x-amanah-draft\"").unwrap();
    assert_eq!(recorded.as_str(), "application/x-amanah-draft");
    // Withdrawn from the list: refused for new data as withdrawn, still read.
    assert_eq!(
        MimeType::parse("text/javascript"),
        Err(ValueError::WithdrawnCode {
            list: "FileFormat",
            code: "text/javascript".into()
        })
    );
    let recorded: MimeType = serde_json::from_str("\"text/javascript\"").unwrap();
    assert_eq!(recorded.as_str(), "text/javascript");
}

#[test]
fn a_withdrawn_currency_is_refused_for_new_data_as_withdrawn() {
    assert_eq!(
        CurrencyCode::parse("BYR"),
        Err(ValueError::WithdrawnCode {
            list: "Currency",
            code: "BYR".into()
        })
    );
    assert_eq!(
        CurrencyCode::parse("BYN").map(CurrencyCode::as_str),
        Ok("BYN")
    );
}

#[test]
fn other_references() {
    assert_eq!(TransactionRef::parse(""), Err(ValueError::Empty));
    assert_eq!(
        TransactionRef::parse(" x"),
        Err(ValueError::SurroundingWhitespace)
    );
    assert!(OtherIdentifierRef::parse("CRS-2015/123").is_ok());
}

#[test]
fn counts_and_patches_and_paths() {
    assert_eq!(parse_count(0), Ok(0));
    assert_eq!(parse_count(-1), Err(ValueError::Negative(-1)));
    assert_eq!(
        parse_count(i64::from(u32::MAX) + 1),
        Err(ValueError::TooLarge {
            max: u64::from(u32::MAX)
        })
    );
    assert_eq!(Patch::Keep.apply(Some(1)), Some(1));
    assert_eq!(Patch::Set(2).apply(Some(1)), Some(2));
    assert_eq!(Patch::<i32>::Clear.apply(Some(1)), None);
    assert_eq!(Patch::Set(2).map(|v| v * 2), Patch::Set(4));
}
