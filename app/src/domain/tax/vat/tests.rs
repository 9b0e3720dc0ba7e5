//! Every supported country: a real, published number that passes, the same number with one
//! digit changed (the check digit catches it), and a number of the wrong shape (the rule names
//! the country's format). Valid numbers were cross-checked against python-stdnum.

use super::*;

/// (valid, the same with one character changed).
const EU: &[(&str, &str)] = &[
    ("ATU13585627", "ATU13585607"),
    ("BE0403170701", "BE0403170711"),
    ("BG175074752", "BG175074702"),
    ("CY10259033P", "CY10259033A"),
    ("CZ25123891", "CZ25123801"),
    ("DE136695976", "DE136695906"),
    ("DK13585628", "DK13585608"),
    ("EE100931558", "EE100931508"),
    ("EL094014201", "EL094014211"),
    ("ESA28015865", "ESA28015805"),
    ("FI20774740", "FI20774700"),
    ("FR40303265045", "FR40303265005"),
    ("HR33392005961", "HR33392005901"),
    ("HU12892312", "HU12892302"),
    ("IE6388047V", "IE6388047A"),
    ("IT00743110157", "IT00743110107"),
    ("LT119511515", "LT119511015"),
    ("LU15027442", "LU15027402"),
    ("LV40003521600", "LV40003521610"),
    ("MT15121333", "MT15121303"),
    ("NL004495445B01", "NL004495440B01"),
    ("PL5260250995", "PL5260250905"),
    ("PT501964843", "PT501964803"),
    ("RO18547290", "RO18547200"),
    ("SE556036079301", "SE556036079001"),
    ("SI50223054", "SI50223004"),
    ("SK2020317068", "SK2020317008"),
];

/// One wrong shape per country, and the prefix its rule names.
const WRONG_SHAPE: &[(&str, &str)] = &[
    ("AT13585627", "AT"),     // no U
    ("BE2403170701", "BE"),   // starts with 2
    ("BG17507475", "BG"),     // 8 digits
    ("CY12259033P", "CY"),    // starts with 12
    ("CZ9512389", "CZ"),      // 7 digits
    ("DE036695976", "DE"),    // leading zero
    ("DE13669597", "DE"),     // 8 digits
    ("DK03585628", "DK"),     // leading zero
    ("EE10093155", "EE"),     // 8 digits
    ("EL09401420", "EL"),     // 8 digits
    ("ESI28015865", "ES"),    // I is no CIF letter
    ("FI2077474", "FI"),      // 7 digits
    ("FRIO303265045", "FR"),  // I and O are not key characters
    ("HR3339200596", "HR"),   // 10 digits
    ("HU1289231", "HU"),      // 7 digits
    ("IE63880479", "IE"),     // no check letter
    ("IT00743111157", "IT"),  // office code 115 does not exist
    ("LT119511525", "LT"),    // 8th digit is not 1
    ("LU1502744", "LU"),      // 7 digits
    ("LV4000352160", "LV"),   // 10 digits
    ("MT05121333", "MT"),     // leading zero
    ("NL004495445C01", "NL"), // C instead of B
    ("PL526025099", "PL"),    // 9 digits
    ("PT001964843", "PT"),    // leading zero
    ("RO0854729", "RO"),      // leading zero
    ("SE556036079302", "SE"), // does not end in 01
    ("SI05022305", "SI"),     // leading zero
    ("SK2050317068", "SK"),   // third digit 5
    ("GB98078068", "GB"),     // 8 digits
];

#[test]
fn a_real_number_of_every_eu_member_state_passes_its_check_digit_algorithm() {
    for (valid, _) in EU {
        let ok = validate(valid, None).unwrap_or_else(|e| panic!("{valid} refused: {e}"));
        assert_eq!(ok.kind, "eu_vat", "{valid}");
        assert_eq!(ok.verified, "check_digit", "{valid}");
        assert_eq!(ok.number, *valid);
    }
    assert_eq!(EU.len(), 27, "one row per member state");
}

/// More algorithm-valid numbers per member state (and number form), generated at random and
/// accepted by python-stdnum: an independent implementation agrees with this one.
const GENERATED: &[&str] = &[
    "ATU39099603",
    "BE0161752448",
    "BG543030673",
    "CY05073259T",
    "CZ77859863",
    "DE314647177",
    "DK13978379",
    "EE108624618",
    "EL074139786",
    "ES15444427L",
    "ESX7711787W",
    "ESB17477217",
    "FI62355675",
    "FR60182661298",
    "HR31573293400",
    "HU79344799",
    "IE7788643E",
    "IE5628125SH",
    "IT14931221007",
    "LT506475919",
    "LU72008272",
    "LV41273013370",
    "MT17606343",
    "NL151774705B01",
    "PL4538985784",
    "PT519772652",
    "RO24112478",
    "SE582402176901",
    "SI84586753",
    "SK2723347363",
];

#[test]
fn numbers_another_implementation_accepts_pass_here_too() {
    for number in GENERATED {
        let ok = validate(number, None).unwrap_or_else(|e| panic!("{number} refused: {e}"));
        assert_eq!(ok.verified, "check_digit", "{number}");
    }
    assert_eq!(validate("742954553", Some("GB")).map(|v| v.verified), Ok("check_digit".to_owned()));
    assert_eq!(validate("67799964626", Some("AU")).map(|v| v.verified), Ok("check_digit".to_owned()));
    assert_eq!(validate("111882676", Some("CA")).map(|v| v.verified), Ok("check_digit".to_owned()));
}

#[test]
fn one_changed_digit_is_a_check_digit_mismatch_for_every_eu_member_state() {
    for (valid, changed) in EU {
        let err = validate(changed, None).expect_err(changed);
        let prefix = &valid[..2];
        assert!(matches!(err, VatError::CheckDigit { country, .. } if country == prefix), "{changed}: {err:?}");
        assert_eq!(err.code(), "vat_check_digit_mismatch");
        assert!(err.to_string().starts_with(&format!("check digit mismatch for {prefix}")), "{err}");
    }
}

#[test]
fn a_number_of_the_wrong_shape_is_refused_with_its_countrys_rule() {
    for (raw, prefix) in WRONG_SHAPE {
        let err = validate(raw, None).expect_err(raw);
        match &err {
            VatError::Format { country, rule } => {
                assert_eq!(country, prefix, "{raw}");
                assert!(rule.starts_with(&format!("{prefix} ")) || rule.starts_with("EL (Greece)"), "{raw}: {rule}");
            }
            other => panic!("{raw}: expected a format error, got {other:?}"),
        }
        assert_eq!(err.code(), "vat_number_invalid");
        assert!(err.to_string().starts_with("vat_number_invalid: "), "{err}");
    }
    assert_eq!(validate("DE13669597", None).unwrap_err().to_string(), "vat_number_invalid: DE numbers are DE + 9 digits, the first not 0");
}

#[test]
fn other_number_shapes_of_eu_countries_are_checked_too() {
    for valid in [
        "ES54362315K",    // DNI: 8 digits + letter
        "ESX5253868R",    // NIE: X + 7 digits + letter
        "ESK0867756N",    // K + 7 digits + letter (DNI letter)
        "FRK7399859412",  // alphanumeric key
        "IE8Z49289F",     // the old form
        "NL469994340B47", // a 2020 sole-proprietor number (ISO 7064 MOD 97-10)
    ] {
        let ok = validate(valid, None).unwrap_or_else(|e| panic!("{valid} refused: {e}"));
        assert_eq!(ok.verified, "check_digit", "{valid}");
    }
    // The 2013 Irish form with a second letter (its check letter depends on the second one).
    assert_eq!(validate("IE5628125SH", None).unwrap().verified, "check_digit");
    assert!(matches!(validate("IE5628125SA", None), Err(VatError::CheckDigit { country: "IE", .. })));
    for (changed, prefix) in [("ES54362315T", "ES"), ("ESX5253868T", "ES"), ("FRK7399859413", "FR"), ("IE8Z49289G", "IE"), ("NL469994340B48", "NL")] {
        assert!(matches!(validate(changed, None), Err(VatError::CheckDigit { country, .. }) if country == prefix), "{changed}");
    }
}

#[test]
fn shapes_without_an_implemented_algorithm_say_they_were_checked_for_format_only() {
    for (number, country) in [("BG7523169263", "BG"), ("CZ640903926", "CZ"), ("CZ7103192745", "CZ"), ("LV16117519997", "LV")] {
        let ok = validate(number, None).unwrap_or_else(|e| panic!("{number}: {e}"));
        assert_eq!((ok.country.as_str(), ok.verified.as_str()), (country, "format"), "{number}");
    }
}

#[test]
fn separators_case_and_the_greek_prefixes_are_normalised() {
    let ok = validate(" de 136.695.976 ", None).unwrap();
    assert_eq!(ok.number, "DE136695976");
    assert_eq!(ok.country, "DE");
    let greek = validate("GR094014201", None).unwrap();
    assert_eq!((greek.country.as_str(), greek.number.as_str()), ("GR", "EL094014201"));
    assert_eq!(validate("094014201", Some("gr")).unwrap().number, "EL094014201");
}

#[test]
fn uk_numbers_use_the_mod_97_check_including_the_2010_scheme() {
    for valid in ["GB980780684", "GB 980 7806 84", "GB980780684001", "GB723325405", "GBGD001", "GBHA599"] {
        let ok = validate(valid, None).unwrap_or_else(|e| panic!("{valid}: {e}"));
        assert_eq!((ok.country.as_str(), ok.kind.as_str()), ("GB", "gb_vat"));
    }
    assert_eq!(validate("GBGD001", None).unwrap().verified, "format");
    assert!(matches!(validate("GB980780685", None), Err(VatError::CheckDigit { country: "GB", .. })));
    assert!(matches!(validate("GBGD599", None), Err(VatError::Format { country: "GB", .. })));
    assert!(matches!(validate("GB98078068A", None), Err(VatError::Format { country: "GB", .. })));
}

#[test]
fn australian_abns_use_the_mod_89_check() {
    for (raw, country) in [("51 824 753 556", Some("AU")), ("53004085616", Some("au")), ("AU51824753556", None)] {
        let ok = validate(raw, country).unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert_eq!((ok.country.as_str(), ok.kind.as_str(), ok.verified.as_str()), ("AU", "au_abn", "check_digit"));
    }
    assert!(matches!(validate("51824753557", Some("AU")), Err(VatError::CheckDigit { country: "AU", algorithm: "ABN mod 89" })));
    assert!(matches!(validate("5182475355", Some("AU")), Err(VatError::Format { country: "AU", .. })));
}

#[test]
fn canadian_business_numbers_use_luhn_with_an_optional_program_account() {
    for raw in ["123456782", "123456782RT0001", "CA123456782"] {
        let ok = validate(raw, Some("CA")).unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert_eq!((ok.country.as_str(), ok.kind.as_str()), ("CA", "ca_bn"));
    }
    assert!(matches!(validate("123456783", Some("CA")), Err(VatError::CheckDigit { country: "CA", .. })));
    assert!(matches!(validate("123456782XX0001", Some("CA")), Err(VatError::Format { country: "CA", .. })));
    assert!(matches!(validate("12345678", Some("CA")), Err(VatError::Format { country: "CA", .. })));
}

#[test]
fn unknown_countries_empty_input_and_contradicting_countries_are_refused() {
    assert_eq!(validate("US123456789", None).unwrap_err().code(), "vat_country_unsupported");
    assert_eq!(validate("123456789", None).unwrap_err().code(), "vat_country_unsupported");
    assert_eq!(validate("123456789", Some("US")).unwrap_err().code(), "vat_country_unsupported");
    assert_eq!(validate("  ", None).unwrap_err(), VatError::Empty);
    assert!(matches!(validate("DE136695976", Some("FR")), Err(VatError::Format { country: "DE", .. })));
}
