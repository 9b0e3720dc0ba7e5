//! Tax: a tenant's rates (country, optional region, optional product tax code; inclusive or
//! exclusive), calculations with them, offline VAT / GST number checks, the tax lines a checkout
//! session gets when the `tax` plugin is on, and the tax breakdown of a mirrored invoice.
//! Reads need `TaxRead`, rate changes `TaxManage`; another tenant's ids are not found.

use crate::{
    domain::{
        dto::List,
        tax::{
            calc::{self, Percentage, RateRule},
            dto::*,
            vat::{self, VatError},
        },
        Action, Currency, InvoiceId, Money, PrefixedId, TaxRateId, TenantId,
    },
    error::{AppError, AppResult},
    ssr::{
        auth::TenantAccess,
        db::{is_unique_violation, page::Listing, Db, PageParams},
        ids::new_id,
        plugins::{builtin::tax as plugin, store as plugin_store},
        time_util::from_ms,
        AppState,
    },
};

pub const MAX_RATES: i64 = 500;
const MAX_NAME: usize = 100;
const MAX_CODE: usize = 64;

const COLUMNS: &str = "id, tenant_id, name, country, region, tax_code, percentage_e4, inclusive, active, created_at, updated_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RateRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub country: String,
    pub region: Option<String>,
    pub tax_code: Option<String>,
    pub percentage_e4: i64,
    pub inclusive: i64,
    pub active: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl RateRow {
    fn percentage(&self) -> Percentage {
        // Stored values passed `Percentage::parse`, and a CHECK constraint bounds them.
        Percentage::from_e4(self.percentage_e4).unwrap_or(Percentage::from_e4(0).expect("zero is a percentage"))
    }

    pub fn rule(&self) -> RateRule {
        RateRule {
            id: self.id.clone(),
            name: self.name.clone(),
            country: self.country.clone(),
            region: self.region.clone(),
            tax_code: self.tax_code.clone(),
            percentage: self.percentage(),
            inclusive: self.inclusive != 0,
        }
    }

    pub fn out(&self) -> TaxRateOut {
        TaxRateOut {
            object: "tax_rate".into(),
            id: self.id.clone(),
            name: self.name.clone(),
            country: self.country.clone(),
            region: self.region.clone(),
            tax_code: self.tax_code.clone(),
            percentage: self.percentage().to_string(),
            inclusive: self.inclusive != 0,
            active: self.active != 0,
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
        }
    }
}

// ---- parsing at the edge -------------------------------------------------------------------

pub fn parse_country(raw: &str, param: &str) -> AppResult<String> {
    let c = raw.trim().to_ascii_uppercase();
    if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(c)
    } else {
        Err(AppError::invalid("country_invalid", format!("{param} must be a two-letter ISO 3166 country code (`DE`, `US`)"), Some(param)))
    }
}

/// A subdivision code without its country (`CA`, `BY`, `NSW`): 1 to 3 letters or digits.
pub fn parse_region(raw: Option<&str>, param: &str) -> AppResult<Option<String>> {
    let Some(r) = raw.map(|r| r.trim().to_ascii_uppercase()).filter(|r| !r.is_empty()) else { return Ok(None) };
    // Accept `US-CA` too: the ISO 3166-2 form.
    let r = r.split_once('-').map(|(_, s)| s.to_owned()).unwrap_or(r);
    if (1..=3).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(Some(r))
    } else {
        Err(AppError::invalid("region_invalid", format!("{param} must be an ISO 3166-2 subdivision code such as `CA` or `US-CA`"), Some(param)))
    }
}

pub fn parse_tax_code(raw: Option<&str>, param: &str) -> AppResult<Option<String>> {
    let Some(c) = raw.map(str::trim).filter(|c| !c.is_empty()) else { return Ok(None) };
    if c.len() <= MAX_CODE && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.') {
        Ok(Some(c.to_owned()))
    } else {
        Err(AppError::invalid("tax_code_invalid", format!("{param} must be 1 to {MAX_CODE} letters, digits, `_`, `-` or `.`"), Some(param)))
    }
}

fn parse_name(raw: &str) -> AppResult<String> {
    let n = raw.trim();
    if n.is_empty() || n.chars().count() > MAX_NAME {
        return Err(AppError::invalid("name_invalid", format!("name must be 1 to {MAX_NAME} characters"), Some("name")));
    }
    Ok(n.to_owned())
}

fn parse_percentage(raw: &PercentageIn) -> AppResult<Percentage> {
    Percentage::parse(&raw.text()).map_err(|m| AppError::invalid("percentage_invalid", m, Some("percentage")))
}

fn scope_taken() -> AppError {
    AppError::conflict(
        "tax_rate_exists",
        "an active tax rate for this country, region and tax code already exists; change or deactivate it first",
        Some("country"),
    )
}

// ---- store ---------------------------------------------------------------------------------

async fn load<'e>(ex: impl sqlx::Executor<'e, Database = sqlx::Any>, access: &TenantAccess, id: &str) -> AppResult<RateRow> {
    let id = TaxRateId::parse(id).map_err(|_| AppError::not_found("tax_rate"))?;
    sqlx::query_as::<_, RateRow>(&format!("SELECT {COLUMNS} FROM tax_rates WHERE id = $1 AND tenant_id = $2"))
        .bind(id.as_str())
        .bind(access.tenant_id.as_str())
        .fetch_optional(ex)
        .await?
        .ok_or_else(|| AppError::not_found("tax_rate"))
}

/// The tenant's active rates for `country`.
pub async fn active_rates(db: &Db, tenant: &TenantId, country: &str) -> AppResult<Vec<RateRule>> {
    let rows: Vec<RateRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM tax_rates WHERE tenant_id = $1 AND country = $2 AND active = 1 ORDER BY created_at, id"))
            .bind(tenant.as_str())
            .bind(country)
            .fetch_all(&db.pool)
            .await?;
    Ok(rows.iter().map(RateRow::rule).collect())
}

async fn save(tx: &mut crate::ssr::db::Tx, row: &RateRow) -> AppResult<()> {
    let result = sqlx::query(
        "UPDATE tax_rates SET name = $1, percentage_e4 = $2, inclusive = $3, active = $4, updated_at = $5 WHERE id = $6 AND tenant_id = $7",
    )
    .bind(&row.name)
    .bind(row.percentage_e4)
    .bind(row.inclusive)
    .bind(row.active)
    .bind(row.updated_at)
    .bind(&row.id)
    .bind(&row.tenant_id)
    .execute(&mut **tx)
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(scope_taken()),
        Err(e) => Err(e.into()),
    }
}

// ---- rates ---------------------------------------------------------------------------------

pub async fn list(state: &AppState, access: &TenantAccess, page: &PageParams) -> AppResult<List<TaxRateOut>> {
    access.require(Action::TaxRead)?;
    let listing = Listing {
        columns: COLUMNS,
        from_where: "FROM tax_rates WHERE tenant_id = $1",
        time_column: "created_at",
        key_column: "id",
        binds: vec![access.tenant_id.as_str().into()],
    };
    let (rows, has_more): (Vec<RateRow>, bool) = listing.fetch(&state.db, page).await?;
    Ok(List::new(rows.iter().map(RateRow::out).collect(), has_more))
}

pub async fn get(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<TaxRateOut> {
    access.require(Action::TaxRead)?;
    Ok(load(&state.db.pool, access, id).await?.out())
}

pub async fn create(state: &AppState, access: &TenantAccess, input: TaxRateIn) -> AppResult<TaxRateOut> {
    access.require(Action::TaxManage)?;
    let name = parse_name(&input.name)?;
    let country = parse_country(&input.country, "country")?;
    let region = parse_region(input.region.as_deref(), "region")?;
    let tax_code = parse_tax_code(input.tax_code.as_deref(), "tax_code")?;
    let percentage = parse_percentage(&input.percentage)?;
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM tax_rates WHERE tenant_id = $1").bind(access.tenant_id.as_str()).fetch_one(&state.db.pool).await?;
    if count >= MAX_RATES {
        return Err(AppError::unprocessable("tax_rate_limit", format!("a tenant can have at most {MAX_RATES} tax rates"), None));
    }
    let now = state.bus.now_ms();
    let row = RateRow {
        id: new_id::<TaxRateId>().to_string(),
        tenant_id: access.tenant_id.to_string(),
        name,
        country,
        region,
        tax_code,
        percentage_e4: percentage.e4(),
        inclusive: i64::from(input.inclusive.unwrap_or(false)),
        active: 1,
        created_at: now,
        updated_at: now,
    };
    let inserted = sqlx::query(
        "INSERT INTO tax_rates (id, tenant_id, name, country, region, tax_code, percentage_e4, inclusive, active, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
    )
    .bind(&row.id)
    .bind(&row.tenant_id)
    .bind(&row.name)
    .bind(&row.country)
    .bind(&row.region)
    .bind(&row.tax_code)
    .bind(row.percentage_e4)
    .bind(row.inclusive)
    .bind(row.active)
    .bind(access.principal.actor().id)
    .bind(now)
    .execute(&state.db.pool)
    .await;
    match inserted {
        Ok(_) => Ok(row.out()),
        Err(e) if is_unique_violation(&e) => Err(scope_taken()),
        Err(e) => Err(e.into()),
    }
}

pub async fn update(state: &AppState, access: &TenantAccess, id: &str, patch: TaxRatePatch) -> AppResult<TaxRateOut> {
    access.require(Action::TaxManage)?;
    let mut tx = state.db.begin().await?;
    let mut row = load(&mut *tx, access, id).await?;
    if let Some(name) = &patch.name {
        row.name = parse_name(name)?;
    }
    if let Some(p) = &patch.percentage {
        row.percentage_e4 = parse_percentage(p)?.e4();
    }
    if let Some(inclusive) = patch.inclusive {
        row.inclusive = i64::from(inclusive);
    }
    if let Some(active) = patch.active {
        row.active = i64::from(active);
    }
    row.updated_at = state.bus.now_ms();
    save(&mut tx, &row).await?;
    tx.commit().await?;
    Ok(row.out())
}

/// Deletes a rate for good (deactivating keeps it listed). Answers the rate as it was.
pub async fn delete(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<TaxRateOut> {
    access.require(Action::TaxManage)?;
    let mut tx = state.db.begin().await?;
    let row = load(&mut *tx, access, id).await?;
    sqlx::query("DELETE FROM tax_rates WHERE id = $1 AND tenant_id = $2").bind(&row.id).bind(&row.tenant_id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(row.out())
}

// ---- calculation and numbers ---------------------------------------------------------------

/// Tax on one amount with the tenant's active rates (whether or not the plugin is on: this is
/// the rates' own preview).
pub async fn calculate(state: &AppState, access: &TenantAccess, input: TaxCalculateIn) -> AppResult<TaxResult> {
    access.require(Action::TaxRead)?;
    let currency = Currency::parse(&input.currency)?;
    let amount = Money::parse(input.amount, currency, i64::MAX / 1_000_000, "amount")?;
    let country = parse_country(&input.country, "country")?;
    let region = parse_region(input.region.as_deref(), "region")?;
    let tax_code = parse_tax_code(input.tax_code.as_deref(), "tax_code")?;
    let rates = active_rates(&state.db, &access.tenant_id, &country).await?;
    let rate = calc::select_rate(&rates, &country, region.as_deref(), tax_code.as_deref());
    Ok(calc::calculate(amount.amount, &amount.currency, rate))
}

pub fn vat_error(e: VatError) -> AppError {
    match e {
        VatError::CheckDigit { .. } => AppError::unprocessable(e.code(), e.to_string(), Some("number")),
        VatError::UnsupportedCountry(_) => AppError::invalid(e.code(), e.to_string(), Some("country")),
        _ => AppError::invalid(e.code(), e.to_string(), Some("number")),
    }
}

/// Checks a VAT / GST / business number offline; an invalid one is an error naming the rule.
pub fn validate_number(access: &TenantAccess, input: &TaxNumberIn) -> AppResult<TaxNumberOut> {
    access.require(Action::TaxRead)?;
    let ok = vat::validate(&input.number, input.country.as_deref()).map_err(vat_error)?;
    Ok(TaxNumberOut { object: "tax_id_validation".into(), valid: true, country: ok.country, kind: ok.kind, number: ok.number, verified: ok.verified })
}

// ---- checkout ------------------------------------------------------------------------------

/// Where a checkout's buyer is taxed and what is sold, as the checkout request gives them.
pub struct CheckoutTaxQuery<'a> {
    pub country: Option<&'a str>,
    pub region: Option<&'a str>,
    pub tax_code: Option<&'a str>,
}

/// The tax a checkout session of `amount` adds, when the tenant's `tax` plugin is on, checkout
/// tax is enabled in its configuration, a country is known and a rate applies. Parameter errors
/// name the checkout's fields (`tax_country`, `tax_region`, `tax_code`).
pub async fn for_checkout(
    state: &AppState,
    tenant: &TenantId,
    amount: i64,
    currency: &Currency,
    q: CheckoutTaxQuery<'_>,
) -> AppResult<Option<TaxResult>> {
    let country = q.country.map(|c| parse_country(c, "tax_country")).transpose()?;
    let region = parse_region(q.region, "tax_region")?;
    let tax_code = parse_tax_code(q.tax_code, "tax_code")?;
    let setup = plugin_store::load(&state.db, &state.secrets, tenant, plugin::manifest()).await?;
    if !setup.enabled || !plugin::checkout_enabled(&setup.config) {
        return Ok(None);
    }
    let Some(country) = country.or_else(|| plugin::default_country(&setup.config)) else { return Ok(None) };
    let tax_code = tax_code.or_else(|| plugin::default_tax_code(&setup.config));
    let rates = active_rates(&state.db, tenant, &country).await?;
    let Some(rate) = calc::select_rate(&rates, &country, region.as_deref(), tax_code.as_deref()) else { return Ok(None) };
    let result = calc::calculate(amount, currency, Some(rate));
    Ok(Some(result))
}

// ---- invoices ------------------------------------------------------------------------------

#[derive(sqlx::FromRow)]
struct InvoiceTaxRow {
    currency: String,
    subtotal: i64,
    tax: i64,
    customer_country: Option<String>,
}

#[derive(sqlx::FromRow)]
struct StripeTaxRow {
    name: String,
    percentage_e4: Option<i64>,
    inclusive: i64,
    taxable_amount: i64,
    amount: i64,
}

/// The tax breakdown of a mirrored invoice: Stripe's `total_tax_amounts` when stored, else the
/// tenant's rate for the customer's country when it reproduces the invoice's tax, else one line
/// with Stripe's tax total.
pub async fn invoice_breakdown(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<TaxResult> {
    access.require(Action::TaxRead)?;
    let invoice_id = InvoiceId::parse(id).map_err(|_| AppError::not_found("invoice"))?;
    let invoice: InvoiceTaxRow = sqlx::query_as(
        "SELECT i.currency, i.subtotal, i.tax, c.country AS customer_country FROM invoices i LEFT JOIN customers c ON c.id = i.customer_id
         WHERE i.id = $1 AND i.tenant_id = $2",
    )
    .bind(invoice_id.as_str())
    .bind(access.tenant_id.as_str())
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or_else(|| AppError::not_found("invoice"))?;
    let currency = Currency::parse(&invoice.currency).map_err(|_| AppError::Internal)?;
    let stored: Vec<StripeTaxRow> = sqlx::query_as(
        "SELECT name, percentage_e4, inclusive, taxable_amount, amount FROM invoice_tax_amounts WHERE invoice_id = $1 AND tenant_id = $2 ORDER BY position",
    )
    .bind(invoice_id.as_str())
    .bind(access.tenant_id.as_str())
    .fetch_all(&state.db.pool)
    .await?;
    if !stored.is_empty() {
        let lines = stored
            .into_iter()
            .map(|r| TaxLine {
                tax_rate_id: None,
                name: r.name,
                percentage: r.percentage_e4.and_then(Percentage::from_e4).map(|p| p.to_string()).unwrap_or_default(),
                inclusive: r.inclusive != 0,
                taxable_amount: r.taxable_amount,
                amount: r.amount,
            })
            .collect();
        return Ok(TaxResult {
            object: "tax_breakdown".into(),
            currency: currency.to_string(),
            amount: invoice.subtotal,
            subtotal: invoice.subtotal,
            tax: invoice.tax,
            total: invoice.subtotal + invoice.tax,
            lines,
        });
    }
    let country = invoice.customer_country.as_deref().map(str::to_ascii_uppercase);
    let rules = match &country {
        Some(c) => active_rates(&state.db, &access.tenant_id, c).await?,
        None => Vec::new(),
    };
    let rate = country.as_deref().and_then(|c| calc::select_rate(&rules, c, None, None));
    Ok(calc::breakdown(invoice.subtotal, invoice.tax, &currency, rate))
}
