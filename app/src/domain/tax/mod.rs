//! Tax: rates per country / region / product tax code, the arithmetic of inclusive and exclusive
//! rates in each currency's minor units, and offline VAT / GST number validation. Pure code, no
//! I/O: the services in `ssr::services::tax` store rates and call this.

pub mod calc;
pub mod dto;
pub mod vat;

pub use calc::{breakdown, calculate, select_rate, Percentage, RateRule, TaxLine, TaxResult};
