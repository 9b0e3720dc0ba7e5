//! Tax rates, calculations and number checks as the API and the dashboard see them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[cfg(feature = "ssr")]
use utoipa::ToSchema;

pub use super::calc::{TaxLine, TaxResult};
pub use super::vat::ValidTaxId;

/// A percentage as sent: a string (`"8.875"`, preferred: exact) or a JSON number (`19`, `7.7`),
/// read back through its shortest decimal text, never through float arithmetic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(untagged)]
pub enum PercentageIn {
    Text(String),
    #[cfg_attr(feature = "ssr", schema(value_type = f64))]
    Number(serde_json::Number),
}

impl PercentageIn {
    pub fn text(&self) -> String {
        match self {
            PercentageIn::Text(s) => s.clone(),
            PercentageIn::Number(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TaxRateIn {
    /// Shown on tax lines (`VAT DE`, `CA sales tax`).
    pub name: String,
    /// ISO 3166-1 alpha-2 (`DE`, `US`).
    pub country: String,
    /// A subdivision of the country (`CA` for California, `BY`), without the country prefix.
    pub region: Option<String>,
    /// Applies only to products with this tax code (`txcd_99999999` or the tenant's own codes).
    pub tax_code: Option<String>,
    /// 0 to 100, at most 4 decimals.
    pub percentage: PercentageIn,
    /// Prices already contain this tax (default false: tax is added on top).
    pub inclusive: Option<bool>,
}

/// Only the fields sent change. Country, region and tax code are the rate's identity: to move a
/// rate, create another and deactivate this one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TaxRatePatch {
    pub name: Option<String>,
    pub percentage: Option<PercentageIn>,
    pub inclusive: Option<bool>,
    /// `false` deactivates (kept for history, no longer applied), `true` activates again.
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct TaxRateOut {
    /// Always `tax_rate`.
    pub object: String,
    pub id: String,
    pub name: String,
    pub country: String,
    pub region: Option<String>,
    pub tax_code: Option<String>,
    /// Exact decimal text (`19`, `8.875`).
    pub percentage: String,
    pub inclusive: bool,
    pub active: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TaxCalculateIn {
    /// Minor units: the net price for exclusive rates, the gross price for inclusive ones.
    pub amount: i64,
    pub currency: String,
    pub country: String,
    pub region: Option<String>,
    pub tax_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TaxNumberIn {
    /// With its country prefix for EU and UK numbers (`DE136695976`); ABNs and BNs need `country`.
    pub number: String,
    pub country: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct TaxNumberOut {
    /// Always `tax_id_validation`.
    pub object: String,
    pub valid: bool,
    pub country: String,
    /// `eu_vat`, `gb_vat`, `au_abn` or `ca_bn`.
    pub kind: String,
    pub number: String,
    /// `check_digit` (the country's algorithm passed) or `format` (no algorithm for this shape).
    pub verified: String,
}
