//! Money: an ISO currency and a positive amount in that currency's minor units. Stripe counts
//! yen in yen and dinars in thousandths, so "minor unit" depends on the currency.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::AppError;

/// Currencies Stripe charges in whole units (no decimals).
const ZERO_DECIMAL: &[&str] = &[
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
];
/// Currencies with three decimals. Stripe asks that their amounts end in 0.
const THREE_DECIMAL: &[&str] = &["bhd", "jod", "kwd", "omr", "tnd"];

/// A lowercase three-letter ISO 4217 code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let code = raw.trim().to_ascii_lowercase();
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_lowercase()) {
            Ok(Self(code))
        } else {
            Err(AppError::invalid("currency_invalid", format!("`{raw}` is not a three-letter ISO currency code"), Some("currency")))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Digits after the decimal point in this currency's minor unit.
    pub fn exponent(&self) -> u32 {
        if ZERO_DECIMAL.contains(&self.0.as_str()) {
            0
        } else if THREE_DECIMAL.contains(&self.0.as_str()) {
            3
        } else {
            2
        }
    }

    /// Approximate US dollars per major unit, for the amount cap only. Deliberately rough and
    /// rounded up for strong currencies: the cap is a guard against typos (an amount entered in
    /// cents twice), not an exchange rate. Unlisted currencies are capped in their own major units.
    fn usd_per_major_unit(&self) -> f64 {
        match self.0.as_str() {
            "usd" => 1.0,
            "eur" | "chf" => 1.2,
            "gbp" => 1.4,
            "cad" | "aud" | "nzd" | "sgd" => 0.8,
            "jpy" => 0.007,
            "krw" => 0.00075,
            "inr" => 0.012,
            "sek" | "nok" | "dkk" => 0.15,
            "mxn" => 0.06,
            "brl" => 0.2,
            "kwd" | "bhd" | "omr" => 3.3,
            _ => 1.0,
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = AppError;
    fn try_from(raw: String) -> Result<Self, AppError> {
        Self::parse(&raw)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A positive amount in minor units of its currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub amount: i64,
    pub currency: Currency,
}

impl Money {
    /// Validates `amount` for `currency`: positive, representable in that currency, and at most
    /// `cap_usd_cents` (converted roughly; see [`Currency::usd_per_major_unit`]).
    pub fn parse(amount: i64, currency: Currency, cap_usd_cents: i64, param: &str) -> Result<Self, AppError> {
        if amount <= 0 {
            return Err(AppError::invalid("amount_invalid", format!("{param} must be a positive integer in minor units"), Some(param)));
        }
        if currency.exponent() == 3 && amount % 10 != 0 {
            return Err(AppError::invalid(
                "amount_invalid",
                format!("{param} in {currency} must be a multiple of 10 minor units (Stripe's rule for three-decimal currencies)"),
                Some(param),
            ));
        }
        let major = amount as f64 / 10f64.powi(currency.exponent() as i32);
        let usd_cents = major * currency.usd_per_major_unit() * 100.0;
        if usd_cents > cap_usd_cents as f64 {
            return Err(AppError::unprocessable(
                "amount_too_large",
                format!("{param} exceeds the maximum of about {} USD per payment", cap_usd_cents / 100),
                Some(param),
            ));
        }
        Ok(Self { amount, currency })
    }
}

impl Currency {
    /// Minor units from what a person types in major units (`12`, `12.5`, `12.50`; `1200` yen).
    pub fn parse_major(&self, raw: &str, param: &str) -> Result<i64, AppError> {
        let raw = raw.trim();
        let invalid = || {
            AppError::invalid(
                "amount_invalid",
                format!("{param} must be an amount like 12.50 (at most {} decimals for {})", self.exponent(), self.0.to_uppercase()),
                Some(param),
            )
        };
        let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > self.exponent() as usize || (raw.contains('.') && frac.is_empty()) {
            return Err(invalid());
        }
        let scale = 10i64.pow(self.exponent());
        let whole: i64 = whole.parse().map_err(|_| invalid())?;
        let frac: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<width$}", width = self.exponent() as usize).parse().map_err(|_| invalid())? };
        whole.checked_mul(scale).and_then(|w| w.checked_add(frac)).ok_or_else(invalid)
    }

    /// `12.34 EUR` from minor units; `1200 JPY`; `1.500 KWD`.
    pub fn format(&self, amount: i64) -> String {
        let code = self.0.to_uppercase();
        let exp = self.exponent();
        if exp == 0 {
            return format!("{amount} {code}");
        }
        let scale = 10u64.pow(exp);
        let sign = if amount < 0 { "-" } else { "" };
        let abs = amount.unsigned_abs();
        format!("{sign}{}.{:0width$} {code}", abs / scale, abs % scale, width = exp as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAP: i64 = 10_000_000; // $100,000.00

    fn money(amount: i64, currency: &str) -> Result<Money, AppError> {
        Money::parse(amount, Currency::parse(currency).unwrap(), CAP, "amount")
    }

    #[test]
    fn currency_codes_are_three_letters_and_lowercased() {
        assert_eq!(Currency::parse("USD").unwrap().as_str(), "usd");
        assert!(Currency::parse("us").is_err());
        assert!(Currency::parse("usd1").is_err());
        assert!(Currency::parse("").is_err());
    }

    #[test]
    fn minor_units_follow_stripe_per_currency() {
        assert_eq!(Currency::parse("usd").unwrap().exponent(), 2);
        assert_eq!(Currency::parse("jpy").unwrap().exponent(), 0);
        assert_eq!(Currency::parse("kwd").unwrap().exponent(), 3);
    }

    #[test]
    fn major_units_typed_by_people_become_minor_units() {
        let usd = Currency::parse("usd").unwrap();
        assert_eq!(usd.parse_major("12", "amount").unwrap(), 1200);
        assert_eq!(usd.parse_major("12.5", "amount").unwrap(), 1250);
        assert_eq!(usd.parse_major("0.01", "amount").unwrap(), 1);
        assert!(usd.parse_major("12.345", "amount").is_err());
        assert!(usd.parse_major("12.", "amount").is_err());
        assert!(usd.parse_major("-3", "amount").is_err());
        assert!(usd.parse_major("abc", "amount").is_err());
        let jpy = Currency::parse("jpy").unwrap();
        assert_eq!(jpy.parse_major("1200", "amount").unwrap(), 1200);
        assert!(jpy.parse_major("12.5", "amount").is_err());
        assert_eq!(Currency::parse("kwd").unwrap().parse_major("1.5", "amount").unwrap(), 1500);
        assert_eq!(usd.format(1234), "12.34 USD");
        assert_eq!(jpy.format(1200), "1200 JPY");
        assert_eq!(Currency::parse("kwd").unwrap().format(1500), "1.500 KWD");
    }

    #[test]
    fn amounts_must_be_positive() {
        assert!(money(0, "usd").is_err());
        assert!(money(-5, "usd").is_err());
        assert!(money(1, "usd").is_ok());
    }

    #[test]
    fn three_decimal_amounts_end_in_zero() {
        assert!(money(1005, "kwd").is_err());
        assert!(money(1010, "kwd").is_ok());
    }

    #[test]
    fn the_cap_is_about_one_hundred_thousand_dollars_in_any_currency() {
        assert!(money(10_000_000, "usd").is_ok());
        assert_eq!(money(10_000_001, "usd").unwrap_err().status(), 422);
        // ¥100,000 is far below the cap; ¥100,000,000 is far above it.
        assert!(money(100_000, "jpy").is_ok());
        assert!(money(100_000_000, "jpy").is_err());
    }
}
