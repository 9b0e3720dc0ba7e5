//! Tax arithmetic: exact integers only (amounts in minor units, rates in millionths of one).
//!
//! - A rate is a [`Percentage`] with up to four decimals (`19`, `7.7`, `8.875`, `0.0001`),
//!   stored as ten-thousandths of a percent (`19%` = `190000`).
//! - **Exclusive**: the amount is the net price; tax = amount × rate, added on top.
//! - **Inclusive**: the amount already contains the tax; tax = amount − amount ÷ (1 + rate).
//! - Rounding: half away from zero, to the currency's smallest chargeable unit — one minor unit
//!   (a cent, a yen), except three-decimal currencies (KWD, BHD, JOD, OMR, TND), where Stripe
//!   only accepts amounts that end in 0, so tax rounds to 10 minor units.
//!
//! Rate selection ([`select_rate`]), among a tenant's active rates for the buyer's country — the
//! most specific wins:
//! 1. country + region + product tax code
//! 2. country + region
//! 3. country + product tax code
//! 4. country alone
//!
//! Where the buyer is (the jurisdiction that taxes) outranks what is sold; a rate that names a
//! region or a tax code never applies to a sale without that region or code.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::Currency;

/// Ten-thousandths of a percent in one whole (100%).
const PERCENT_SCALE: i128 = 10_000;
const ONE: i128 = 100 * PERCENT_SCALE;

/// A tax rate between 0 and 100%, with at most four decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Percentage(i64);

impl Percentage {
    /// Ten-thousandths of a percent: `19%` is `190000`.
    pub fn from_e4(v: i64) -> Option<Self> {
        (0..=100 * PERCENT_SCALE as i64).contains(&v).then_some(Self(v))
    }

    pub fn e4(self) -> i64 {
        self.0
    }

    /// Parses `19`, `7.7`, `8.875` (no sign, no exponent, at most four decimals, 0..=100).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim().trim_end_matches('%').trim();
        let bad = || format!("percentage must be a number from 0 to 100 with at most 4 decimals (got `{raw}`)");
        let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
        if whole.is_empty()
            || whole.len() > 3
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 4
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || (raw.contains('.') && frac.is_empty())
        {
            return Err(bad());
        }
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let frac: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<4}").parse().map_err(|_| bad())? };
        Self::from_e4(whole * PERCENT_SCALE as i64 + frac).ok_or_else(bad)
    }
}

impl fmt::Display for Percentage {
    /// `19`, `7.7`, `8.875`: no trailing zeros.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / PERCENT_SCALE as i64, self.0 % PERCENT_SCALE as i64);
        if frac == 0 {
            write!(f, "{whole}")
        } else {
            let frac = format!("{frac:04}");
            write!(f, "{whole}.{}", frac.trim_end_matches('0'))
        }
    }
}

/// `n / d` rounded half away from zero (`d > 0`).
fn div_round(n: i128, d: i128) -> i128 {
    let q = n / d;
    let r = n % d;
    if 2 * r.abs() >= d {
        q + n.signum()
    } else {
        q
    }
}

/// The smallest amount Stripe charges in `currency`, in minor units.
pub fn rounding_unit(currency: &Currency) -> i64 {
    if currency.exponent() == 3 {
        10
    } else {
        1
    }
}

/// Tax on `amount` (minor units) at `rate`: `(tax, net)`.
pub fn tax_on(amount: i64, rate: Percentage, inclusive: bool, currency: &Currency) -> (i64, i64) {
    let unit = i128::from(rounding_unit(currency));
    let amount_i = i128::from(amount);
    let p = i128::from(rate.e4());
    let tax = if inclusive {
        // tax = amount × p / (ONE + p), in units of `unit`.
        div_round(amount_i * p, (ONE + p) * unit) * unit
    } else {
        div_round(amount_i * p, ONE * unit) * unit
    };
    let tax = tax as i64;
    (tax, if inclusive { amount - tax } else { amount })
}

/// A stored rate as the arithmetic sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateRule {
    pub id: String,
    pub name: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
    /// ISO 3166-2 subdivision code without the country (`CA`, `BY`), upper case.
    pub region: Option<String>,
    /// A product tax code (`txcd_…`, or the tenant's own).
    pub tax_code: Option<String>,
    pub percentage: Percentage,
    pub inclusive: bool,
}

impl RateRule {
    /// 3, 2, 1 or 0 (see the module doc); `None` when it does not apply.
    fn specificity(&self, country: &str, region: Option<&str>, tax_code: Option<&str>) -> Option<u8> {
        if !self.country.eq_ignore_ascii_case(country) {
            return None;
        }
        let region_hit = match &self.region {
            None => false,
            Some(r) if region.is_some_and(|x| x.eq_ignore_ascii_case(r)) => true,
            Some(_) => return None,
        };
        let code_hit = match &self.tax_code {
            None => false,
            Some(c) if tax_code.is_some_and(|x| x == c) => true,
            Some(_) => return None,
        };
        Some(u8::from(region_hit) * 2 + u8::from(code_hit))
    }
}

/// The rate that applies to a sale in `country` / `region` of something with `tax_code`, if any:
/// the most specific (ties — which the store prevents — go to the first given).
pub fn select_rate<'a>(rates: &'a [RateRule], country: &str, region: Option<&str>, tax_code: Option<&str>) -> Option<&'a RateRule> {
    let mut best: Option<(&RateRule, u8)> = None;
    for rate in rates {
        if let Some(s) = rate.specificity(country, region, tax_code) {
            if best.is_none_or(|(_, b)| s > b) {
                best = Some((rate, s));
            }
        }
    }
    best.map(|(r, _)| r)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TaxLine {
    pub tax_rate_id: Option<String>,
    pub name: String,
    /// `19`, `8.875`.
    pub percentage: String,
    pub inclusive: bool,
    /// The amount the rate applied to, without tax.
    pub taxable_amount: i64,
    pub amount: i64,
}

/// An amount with its tax: `subtotal` (net) + `tax` = `total`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TaxResult {
    pub object: String,
    pub currency: String,
    /// What was asked about (gross for an inclusive rate, net otherwise).
    pub amount: i64,
    pub subtotal: i64,
    pub tax: i64,
    pub total: i64,
    pub lines: Vec<TaxLine>,
}

/// Tax on `amount` under `rate` (none: no tax, an empty breakdown).
pub fn calculate(amount: i64, currency: &Currency, rate: Option<&RateRule>) -> TaxResult {
    let mut lines = Vec::new();
    let (subtotal, tax) = match rate {
        Some(r) => {
            let (tax, net) = tax_on(amount, r.percentage, r.inclusive, currency);
            lines.push(TaxLine {
                tax_rate_id: Some(r.id.clone()),
                name: r.name.clone(),
                percentage: r.percentage.to_string(),
                inclusive: r.inclusive,
                taxable_amount: net,
                amount: tax,
            });
            (net, tax)
        }
        None => (amount, 0),
    };
    TaxResult { object: "tax_calculation".into(), currency: currency.to_string(), amount, subtotal, tax, total: subtotal + tax, lines }
}

/// The tax breakdown of a document whose totals someone else computed (an invoice mirrored from
/// Stripe): the stored totals stay the truth; the lines say which rate explains them. A rate is
/// named only when its own arithmetic reproduces the stored tax; otherwise (Stripe applied other
/// rates) one unnamed line carries Stripe's amount, and no percentage is invented.
pub fn breakdown(subtotal: i64, tax: i64, currency: &Currency, rate: Option<&RateRule>) -> TaxResult {
    let mut lines = Vec::new();
    if let Some(r) = rate {
        // Invoices are exclusive in Stripe's model: `subtotal` is net, `tax` on top of it.
        let (computed, _) = tax_on(subtotal, r.percentage, false, currency);
        if computed == tax || (tax == 0 && r.percentage.e4() == 0) {
            lines.push(TaxLine {
                tax_rate_id: Some(r.id.clone()),
                name: r.name.clone(),
                percentage: r.percentage.to_string(),
                inclusive: r.inclusive,
                taxable_amount: subtotal,
                amount: tax,
            });
        }
    }
    if lines.is_empty() && tax != 0 {
        lines.push(TaxLine {
            tax_rate_id: None,
            name: "Tax".into(),
            percentage: String::new(),
            inclusive: false,
            taxable_amount: subtotal,
            amount: tax,
        });
    }
    TaxResult { object: "tax_breakdown".into(), currency: currency.to_string(), amount: subtotal, subtotal, tax, total: subtotal + tax, lines }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(c: &str) -> Currency {
        Currency::parse(c).unwrap()
    }

    fn pct(p: &str) -> Percentage {
        Percentage::parse(p).unwrap()
    }

    #[test]
    fn tax_is_computed_exactly_and_rounded_per_currency_minor_units() {
        #[rustfmt::skip]
        let table: &[(i64, &str, &str, bool, i64, i64)] = &[
            // amount, currency, rate, inclusive → tax, net
            (10_000, "eur", "19",    false, 1_900, 10_000),  // 100.00 EUR + 19%
            (11_900, "eur", "19",    true,  1_900, 10_000),  // 119.00 EUR incl. 19%
            (999,    "usd", "8.875", false, 89,    999),     // 88.66… → 89 (half up from .66)
            (1_000,  "usd", "8.875", false, 89,    1_000),   // 88.75 → 89
            (1_000,  "usd", "8.875", true,  82,    918),     // 1000 − 1000/1.08875 = 81.51… → 82
            (250,    "gbp", "20",    true,  42,    208),     // 41.66… → 42
            (5,      "eur", "10",    false, 1,     5),       // 0.5 → 1: half away from zero
            (4,      "eur", "10",    false, 0,     4),       // 0.4 → 0
            (1_000,  "chf", "7.7",   false, 77,    1_000),
            (1,      "eur", "0",     false, 0,     1),
            // Zero-decimal: yen are whole.
            (1_000,  "jpy", "10",    false, 100,   1_000),
            (999,    "jpy", "8",     false, 80,    999),     // 79.92 → 80
            (1_080,  "jpy", "8",     true,  80,    1_000),
            (105,    "jpy", "10",    true,  10,    95),      // 9.54… → 10
            (15,     "jpy", "10",    false, 2,     15),      // 1.5 → 2
            // Three decimals: Stripe wants multiples of 10 (thousandths of a dinar).
            (1_230,  "kwd", "5",     false, 60,    1_230),   // 61.5 → 60
            (1_300,  "kwd", "5",     false, 70,    1_300),   // 65 → 70: half away from zero
            (10_000, "bhd", "10",    false, 1_000, 10_000),
            (11_000, "bhd", "10",    true,  1_000, 10_000),
            (1_050,  "bhd", "10",    true,  100,   950),     // 95.45… → 100
            (100,    "eur", "100",   false, 100,   100),
        ];
        for &(amount, currency, rate, inclusive, tax, net) in table {
            let got = tax_on(amount, pct(rate), inclusive, &cur(currency));
            assert_eq!(got, (tax, net), "{amount} {currency} at {rate}% inclusive={inclusive}");
            assert_eq!(tax % rounding_unit(&cur(currency)), 0, "chargeable in {currency}");
        }
    }

    #[test]
    fn inclusive_tax_plus_net_is_always_the_amount_and_exclusive_total_is_amount_plus_tax() {
        let rate = RateRule {
            id: "txr_1".into(),
            name: "VAT".into(),
            country: "DE".into(),
            region: None,
            tax_code: None,
            percentage: pct("19"),
            inclusive: true,
        };
        for amount in [1, 7, 99, 100, 119, 12_345, 1_000_000] {
            let r = calculate(amount, &cur("eur"), Some(&rate));
            assert_eq!(r.subtotal + r.tax, amount);
            assert_eq!(r.total, amount);
        }
        let exclusive = RateRule { inclusive: false, ..rate };
        let r = calculate(12_345, &cur("eur"), Some(&exclusive));
        assert_eq!((r.subtotal, r.tax, r.total), (12_345, 2_346, 14_691));
        assert_eq!(r.lines[0].percentage, "19");
        assert_eq!(calculate(500, &cur("eur"), None).lines, vec![]);
    }

    #[test]
    fn percentages_take_up_to_four_decimals_between_zero_and_one_hundred() {
        assert_eq!(pct("19").e4(), 190_000);
        assert_eq!(pct("8.875").e4(), 88_750);
        assert_eq!(pct("0.0001").e4(), 1);
        assert_eq!(pct("100").e4(), 1_000_000);
        assert_eq!(pct("7.70").to_string(), "7.7");
        assert_eq!(pct("19%").to_string(), "19");
        for bad in ["", "-1", "100.01", "101", "1.00001", "1e2", "abc", "1.", ".5", "1,5"] {
            assert!(Percentage::parse(bad).is_err(), "{bad}");
        }
    }

    fn rule(id: &str, region: Option<&str>, code: Option<&str>, p: &str) -> RateRule {
        RateRule {
            id: id.into(),
            name: id.into(),
            country: "US".into(),
            region: region.map(Into::into),
            tax_code: code.map(Into::into),
            percentage: pct(p),
            inclusive: false,
        }
    }

    #[test]
    fn the_most_specific_rate_wins() {
        let rates = vec![
            rule("country", None, None, "5"),
            rule("country+code", None, Some("txcd_books"), "1"),
            rule("region", Some("CA"), None, "7.25"),
            rule("region+code", Some("CA"), Some("txcd_books"), "2"),
            rule("other-region", Some("NY"), None, "4"),
        ];
        let pick = |region: Option<&str>, code: Option<&str>| select_rate(&rates, "us", region, code).map(|r| r.id.as_str());
        assert_eq!(pick(Some("CA"), Some("txcd_books")), Some("region+code"));
        assert_eq!(pick(Some("ca"), None), Some("region"));
        assert_eq!(pick(Some("CA"), Some("txcd_food")), Some("region"));
        assert_eq!(pick(Some("TX"), Some("txcd_books")), Some("country+code"));
        assert_eq!(pick(None, Some("txcd_books")), Some("country+code"));
        assert_eq!(pick(Some("TX"), None), Some("country"));
        assert_eq!(pick(Some("NY"), Some("txcd_books")), Some("other-region"));
        assert_eq!(select_rate(&rates, "DE", None, None), None);
        // Without a country-wide rate, a sale outside the named region is untaxed.
        let regional = vec![rule("region", Some("CA"), None, "7.25")];
        assert_eq!(select_rate(&regional, "US", Some("TX"), None), None);
        assert_eq!(select_rate(&regional, "US", None, None), None);
    }

    #[test]
    fn an_invoice_breakdown_names_the_rate_only_when_it_reproduces_the_stored_tax() {
        let vat = RateRule {
            id: "txr_de".into(),
            name: "VAT DE".into(),
            country: "DE".into(),
            region: None,
            tax_code: None,
            percentage: pct("19"),
            inclusive: false,
        };
        let b = breakdown(10_000, 1_900, &cur("eur"), Some(&vat));
        assert_eq!((b.subtotal, b.tax, b.total), (10_000, 1_900, 11_900));
        assert_eq!(b.lines[0].tax_rate_id.as_deref(), Some("txr_de"));
        let other = breakdown(10_000, 700, &cur("eur"), Some(&vat));
        assert_eq!(other.lines.len(), 1);
        assert_eq!(other.lines[0].tax_rate_id, None, "Stripe's own tax, not our 19%");
        assert_eq!(other.lines[0].amount, 700);
        assert!(breakdown(10_000, 0, &cur("eur"), None).lines.is_empty());
    }
}
