//! A tenant's currencies, its customers (mirrored from Stripe) with their credit balances, and the
//! balance ledger — as the JSON API and the dashboard exchange them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[cfg(feature = "ssr")]
use utoipa::ToSchema;

use super::customer_activity::{AmountOut, CustomerActivityOut};

/// ISO 4217 currencies Stripe charges in (lower-case). A tenant may enable any of these.
pub const SUPPORTED_CURRENCIES: &[&str] = &[
    "aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn", "bam", "bbd", "bdt", "bgn", "bhd", "bif", "bmd", "bnd", "bob", "brl", "bsd", "bwp",
    "byn", "bzd", "cad", "cdf", "chf", "clp", "cny", "cop", "crc", "cve", "czk", "djf", "dkk", "dop", "dzd", "egp", "etb", "eur", "fjd", "fkp", "gbp", "gel",
    "gip", "gmd", "gnf", "gtq", "gyd", "hkd", "hnl", "htg", "huf", "idr", "ils", "inr", "isk", "jmd", "jod", "jpy", "kes", "kgs", "khr", "kmf", "krw", "kwd",
    "kyd", "kzt", "lak", "lbp", "lkr", "lrd", "lsl", "mad", "mdl", "mga", "mkd", "mmk", "mnt", "mop", "mur", "mvr", "mwk", "mxn", "myr", "mzn", "nad", "ngn",
    "nio", "nok", "npr", "nzd", "omr", "pab", "pen", "pgk", "php", "pkr", "pln", "pyg", "qar", "ron", "rsd", "rub", "rwf", "sar", "sbd", "scr", "sek", "sgd",
    "shp", "sle", "sos", "srd", "std", "szl", "thb", "tjs", "tnd", "top", "try", "ttd", "twd", "tzs", "uah", "ugx", "usd", "uyu", "uzs", "vnd", "vuv", "wst",
    "xaf", "xcd", "xof", "xpf", "yer", "zar", "zmw",
];

/// Whether `code` (lower-case) is a currency paybus can enable.
pub fn is_supported(code: &str) -> bool {
    SUPPORTED_CURRENCIES.binary_search(&code).is_ok()
}

/// One supported currency and whether this tenant accepts amounts in it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CurrencyOut {
    /// Always `currency`.
    pub object: String,
    /// Lower-case ISO 4217 code.
    pub currency: String,
    pub enabled: bool,
    /// The tenant's default currency (settings): enabled unless explicitly deactivated, and it
    /// cannot be deactivated while it is the default.
    pub is_default: bool,
    /// Digits in the minor unit (2 for usd, 0 for jpy, 3 for kwd).
    pub minor_unit_exponent: u32,
    /// When someone last activated or deactivated it; null for a currency never touched.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub updated_at: Option<OffsetDateTime>,
}

/// Activates (`enabled: true`) or deactivates (`enabled: false`) one currency.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CurrencyIn {
    pub currency: String,
    pub enabled: bool,
}

/// A customer mirrored from Stripe.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CustomerOut {
    /// Always `customer`.
    pub object: String,
    #[cfg_attr(feature = "ssr", schema(example = "cst_4kQ…"))]
    pub id: String,
    /// The `cus_…` id at Stripe (left out of CSV exports).
    pub stripe_customer_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub country: Option<String>,
    pub currency: Option<String>,
    /// Deleted at Stripe; kept here with its history.
    pub deleted: bool,
    /// The credit balance per currency (only currencies with a ledger).
    pub balances: Vec<AmountOut>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CustomerSubscriptionOut {
    /// Always `subscription`.
    pub object: String,
    pub id: String,
    pub status: String,
    pub plan_nickname: Option<String>,
    pub unit_amount: Option<i64>,
    pub currency: Option<String>,
    pub billing_interval: Option<String>,
    pub quantity: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub current_period_end: Option<OffsetDateTime>,
    pub cancel_at_period_end: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub trial_end: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CustomerInvoiceOut {
    /// Always `invoice`.
    pub object: String,
    pub id: String,
    pub number: Option<String>,
    pub status: String,
    /// Past its due date and still open (set by the overdue job).
    pub overdue: bool,
    pub currency: String,
    pub amount_due: i64,
    pub amount_paid: i64,
    pub amount_remaining: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub due_date: Option<OffsetDateTime>,
    pub hosted_invoice_url: Option<String>,
    /// The paybus payment (`pay_…`) that paid it, when Stripe linked one.
    pub payment_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CustomerPaymentOut {
    /// Always `payment`.
    pub object: String,
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub amount_refunded: i64,
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
}

/// One customer with everything about them: the newest 20 of each kind (the full lists are
/// paginated elsewhere: the ledger under `/balance-transactions`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CustomerDetailOut {
    #[serde(flatten)]
    pub customer: CustomerOut,
    pub subscriptions: Vec<CustomerSubscriptionOut>,
    pub invoices: Vec<CustomerInvoiceOut>,
    /// Payments under the customer's email, and those their invoices were paid with.
    pub payments: Vec<CustomerPaymentOut>,
    /// The newest entries of the balance ledger.
    pub balance_transactions: Vec<BalanceTransactionOut>,
    /// The crm-activity timeline under the customer's email; null for roles that may not read
    /// customer activity.
    pub activity: Option<Vec<CustomerActivityOut>>,
}

/// A credit or a debit of a customer's balance.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BalanceTransactionIn {
    /// `credit` or `debit`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Positive, in the currency's minor units.
    pub amount: i64,
    pub currency: String,
    /// Why (shown in the ledger), 1 to 500 characters.
    pub reason: String,
}

/// One entry of the append-only balance ledger.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct BalanceTransactionOut {
    /// Always `customer_balance_transaction`.
    pub object: String,
    #[cfg_attr(feature = "ssr", schema(example = "cbt_9fQ…"))]
    pub id: String,
    pub customer_id: String,
    /// `credit` or `debit`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Positive; the type says which way it went.
    pub amount: i64,
    pub currency: String,
    pub reason: String,
    /// Who did it (`usr_…`, `key_…`).
    pub actor: Option<String>,
    pub actor_type: String,
    /// The customer's balance in this currency right after this entry.
    pub balance_after: i64,
    /// Position in this customer's ledger for this currency (1, 2, 3 …): applying the entries in
    /// this order reproduces every `balance_after`.
    pub sequence: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_supported_list_is_sorted_lower_case_and_without_duplicates() {
        for pair in SUPPORTED_CURRENCIES.windows(2) {
            assert!(pair[0] < pair[1], "{} before {}", pair[0], pair[1]);
        }
        assert!(SUPPORTED_CURRENCIES.iter().all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_lowercase())));
    }

    #[test]
    fn common_currencies_are_supported_and_made_up_ones_are_not() {
        for code in ["usd", "eur", "gbp", "jpy", "kwd", "chf", "aud", "cad"] {
            assert!(is_supported(code), "{code}");
        }
        for code in ["xyz", "usdt", "", "USD"] {
            assert!(!is_supported(code), "{code}");
        }
    }
}
