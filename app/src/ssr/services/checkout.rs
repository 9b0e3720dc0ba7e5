//! Hosted checkout: a Stripe Checkout Session on the tenant's connected account, for line items,
//! a plain amount, or a product with a purchase limit.

use std::collections::HashMap;

use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData, CreateCheckoutSessionPaymentIntentData,
    ProductData,
};
use stripe_shared::CheckoutSessionMode;

use super::{
    connect::{http_url, str_field, unreadable},
    products,
    stripe_access::{require_payments_enabled, stripe_idempotency_key, tenant_gateway},
};
use crate::{
    domain::{
        dto::List,
        events::{payloads::CheckoutSessionChanged, DomainEvent},
        stripe_out::{CheckoutSessionIn, CheckoutSessionOut},
        Action, CheckoutSessionId, Currency, EmailAddress, Money, PrefixedId,
    },
    error::{AppError, AppResult},
    ssr::{
        auth::TenantAccess,
        bus::EventContext,
        db::{page::Listing, PageParams},
        stripe::client::StripeGateway,
        time_util::{from_ms, now_ms},
        AppState,
    },
};

/// One line as Stripe will show it.
struct Line {
    name: String,
    unit_amount: i64,
    quantity: i64,
}

/// The rate limit and the payments-enabled guard every checkout route passes first.
pub async fn guard(state: &AppState, access: &TenantAccess, client_ip: Option<std::net::IpAddr>) -> AppResult<()> {
    let ip = client_ip.map(|ip| ip.to_string()).unwrap_or_else(|| "unknown".into());
    state.limits.checkout_per_ip.hit(&ip).map_err(|wait| AppError::RateLimited { retry_after_secs: wait.as_secs().max(1) })?;
    require_payments_enabled(state, &access.tenant_id).await
}

pub async fn create(state: &AppState, access: &TenantAccess, input: CheckoutSessionIn, client_key: &str) -> AppResult<CheckoutSessionOut> {
    access.require(Action::CheckoutCreate)?;
    let success_url = http_url(&input.success_url, "success_url")?;
    let cancel_url = http_url(&input.cancel_url, "cancel_url")?;
    let email = match &input.customer_email {
        Some(raw) => Some(EmailAddress::parse(raw).map_err(|_| AppError::invalid("email_invalid", "customer_email is not a valid address", Some("customer_email")))?),
        None => None,
    };
    validate_metadata(&input.metadata)?;
    let cap = state.config.stripe.checkout_max_amount_usd_cents;

    // The same request again (a retry after a lost response): the session it already made.
    if let Some(done) = existing(state, access, &session_id(access, client_key)).await? {
        return Ok(done);
    }

    let (lines, currency, product) = match (&input.product_id, input.line_items.is_empty(), input.amount) {
        (Some(product_id), true, None) => {
            let product = products::get(state, access, product_id).await?;
            let currency = Currency::parse(&product.currency)?;
            if input.currency.as_deref().is_some_and(|c| c.to_ascii_lowercase() != product.currency) {
                return Err(AppError::invalid("currency_mismatch", "currency differs from the product's currency", Some("currency")));
            }
            (vec![Line { name: product.name.clone(), unit_amount: product.unit_amount, quantity: 1 }], currency, Some(product))
        }
        (None, false, None) => {
            let currency = Currency::parse(input.currency.as_deref().ok_or_else(currency_missing)?)?;
            let mut lines = Vec::new();
            for (i, item) in input.line_items.iter().enumerate() {
                let name = item.name.trim();
                if name.is_empty() || name.chars().count() > 250 {
                    return Err(AppError::invalid("name_invalid", format!("line_items[{i}].name must be 1 to 250 characters"), Some(&format!("line_items[{i}].name"))));
                }
                if !(1..=999).contains(&item.quantity) {
                    return Err(AppError::invalid("quantity_invalid", format!("line_items[{i}].quantity must be 1 to 999"), Some(&format!("line_items[{i}].quantity"))));
                }
                Money::parse(item.unit_amount, currency.clone(), cap, &format!("line_items[{i}].unit_amount"))?;
                lines.push(Line { name: name.to_owned(), unit_amount: item.unit_amount, quantity: item.quantity });
            }
            (lines, currency, None)
        }
        (None, true, Some(amount)) => {
            let currency = Currency::parse(input.currency.as_deref().ok_or_else(currency_missing)?)?;
            let name = input.description.as_deref().map(str::trim).filter(|d| !d.is_empty()).unwrap_or("Payment").to_owned();
            (vec![Line { name, unit_amount: amount, quantity: 1 }], currency, None)
        }
        (None, true, None) => {
            return Err(AppError::invalid("line_items_missing", "Send line_items, an amount, or a product_id.", Some("line_items")));
        }
        _ => {
            return Err(AppError::invalid("parameters_exclusive", "Send only one of line_items, amount and product_id.", Some("line_items")));
        }
    };
    let total: i64 = lines.iter().try_fold(0i64, |sum, l| l.unit_amount.checked_mul(l.quantity).and_then(|x| x.checked_add(sum))).ok_or_else(|| {
        AppError::unprocessable("amount_too_large", "The total is too large.", Some("line_items"))
    })?;
    let money = Money::parse(total, currency, cap, if input.amount.is_some() { "amount" } else { "line_items" })?;
    // Issue 7: amounts only in a currency the tenant has enabled (a product's too: it may have
    // been deactivated since the product was made).
    super::currencies::require_enabled(&state.db.pool, &access.tenant_id, &money.currency, "currency").await?;

    // Tax (the `tax` plugin): exclusive tax is one more line the buyer sees at Stripe.
    let tax_query = super::tax::CheckoutTaxQuery { country: input.tax_country.as_deref(), region: input.tax_region.as_deref(), tax_code: input.tax_code.as_deref() };
    let tax = super::tax::for_checkout(state, &access.tenant_id, money.amount, &money.currency, tax_query).await?;
    let (lines, money) = match &tax {
        Some(t) if t.total != money.amount => {
            let mut lines = lines;
            for l in t.lines.iter().filter(|l| l.amount > 0 && !l.inclusive) {
                lines.push(Line { name: format!("{} ({}%)", l.name, l.percentage), unit_amount: l.amount, quantity: 1 });
            }
            let money = Money::parse(t.total, money.currency.clone(), cap, if input.amount.is_some() { "amount" } else { "line_items" })?;
            (lines, money)
        }
        _ => (lines, money),
    };
    let amount_tax = tax.as_ref().map(|t| t.tax).unwrap_or(0);

    // Stop before the purchase limit: the unit is held from here, released if Stripe says no.
    if let Some(product) = &product {
        products::reserve_purchase(state, access, &product.id).await?;
    }
    let result = call_stripe(state, access, &input, &lines, &money, tax.as_ref(), email.as_ref(), &success_url, &cancel_url, client_key).await;
    let (session, id) = match result {
        Ok(ok) => ok,
        Err(e) => {
            if let Some(product) = &product {
                products::release_purchase(state, &product.id).await?;
            }
            return Err(e);
        }
    };

    let now = now_ms();
    let stripe_id = str_field(&session, "id").ok_or_else(unreadable)?;
    let url = str_field(&session, "url");
    let status = str_field(&session, "status").unwrap_or_else(|| "open".into());
    let mut tx = state.db.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO checkout_sessions (id, tenant_id, stripe_session_id, connected_account, product_id, amount_total, currency, status, url, customer_email, created_at, updated_at, amount_tax)
         VALUES ($1, $2, $3, (SELECT account_id FROM stripe_accounts WHERE tenant_id = $2 ORDER BY created_at LIMIT 1), $4, $5, $6, $7, $8, $9, $10, $10, $11)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&id)
    .bind(access.tenant_id.as_str())
    .bind(&stripe_id)
    .bind(product.as_ref().map(|p| p.id.as_str()))
    .bind(money.amount)
    .bind(money.currency.as_str())
    .bind(&status)
    .bind(&url)
    .bind(email.as_ref().map(|e| e.as_str()))
    .bind(now)
    .bind(amount_tax)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        // A concurrent twin of this request got here first.
        drop(tx);
        return existing(state, access, &id).await?.ok_or(AppError::Internal);
    }
    let payload = CheckoutSessionChanged {
        session_id: id.clone(),
        payment_id: None,
        amount_total: Some(money.amount),
        currency: Some(money.currency.to_string()),
        customer_email: email.as_ref().map(|e| e.as_str().to_owned()),
        status: status.clone(),
    };
    state.bus.publish(&mut tx, &EventContext::for_access(access), DomainEvent::CheckoutSessionCreated(payload)).await?;
    let actor = access.principal.actor().id;
    let entry = super::payment_audit::Entry {
        amount: Some(money.amount),
        currency: Some(money.currency.as_str()),
        detail: Some(format!("checkout session {id}")),
        ..super::payment_audit::Entry::by(access, &actor, "checkout.create", "succeeded")
    };
    super::payment_audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    state.bus.wake();
    Ok(CheckoutSessionOut {
        id,
        url,
        status,
        amount_total: money.amount,
        amount_tax,
        currency: money.currency.to_string(),
        product_id: product.map(|p| p.id),
        stripe_session_id: Some(stripe_id),
        created_at: from_ms(now),
    })
}

#[allow(clippy::too_many_arguments)]
async fn call_stripe(
    state: &AppState,
    access: &TenantAccess,
    input: &CheckoutSessionIn,
    lines: &[Line],
    money: &Money,
    tax: Option<&crate::domain::tax::TaxResult>,
    email: Option<&EmailAddress>,
    success_url: &str,
    cancel_url: &str,
    client_key: &str,
) -> AppResult<(serde_json::Value, String)> {
    let (gateway, account) = tenant_gateway(state, &access.tenant_id).await?;
    let id = session_id(access, client_key);
    let items: Vec<CreateCheckoutSessionLineItems> = lines
        .iter()
        .map(|l| {
            let mut price = CreateCheckoutSessionLineItemsPriceData::new(money.currency.as_str().parse::<stripe_types::Currency>().expect("infallible"));
            price.unit_amount = Some(l.unit_amount);
            price.product_data = Some(ProductData::new(l.name.clone()));
            let mut item = CreateCheckoutSessionLineItems::new();
            item.price_data = Some(price);
            item.quantity = Some(l.quantity as u64);
            item
        })
        .collect();
    let mut metadata: HashMap<String, String> = input.metadata.clone().into_iter().collect();
    metadata.insert("paybus_tenant".into(), access.tenant_id.to_string());
    metadata.insert("paybus_checkout".into(), id.clone());
    if let Some(tax) = tax {
        // What the buyer pays in tax, also when it is inside the prices (inclusive rates).
        metadata.insert("paybus_tax_amount".into(), tax.tax.to_string());
        if let Some(line) = tax.lines.first() {
            metadata.insert("paybus_tax_rate".into(), line.tax_rate_id.clone().unwrap_or_default());
            metadata.insert("paybus_tax_percentage".into(), line.percentage.clone());
            metadata.insert("paybus_tax_inclusive".into(), line.inclusive.to_string());
        }
    }
    let mut intent_data = CreateCheckoutSessionPaymentIntentData::new();
    intent_data.metadata = Some(HashMap::from([("paybus_tenant".to_owned(), access.tenant_id.to_string())]));
    let mut request = CreateCheckoutSession::new()
        .mode(CheckoutSessionMode::Payment)
        .line_items(items)
        .success_url(success_url)
        .cancel_url(cancel_url)
        .client_reference_id(id.clone())
        .metadata(metadata)
        .payment_intent_data(intent_data);
    if let Some(email) = email {
        request = request.customer_email(email.as_str());
    }
    let key = stripe_idempotency_key(&access.tenant_id, "checkout", client_key);
    let session = gateway.send(StripeGateway::request(&request), &account, Some(&key)).await?;
    Ok((session, id))
}

/// Our id is derived from the client's key, so a retry names the same session everywhere (here,
/// in Stripe's metadata, and in the idempotency key Stripe sees).
fn session_id(access: &TenantAccess, client_key: &str) -> String {
    format!("{}_{}", CheckoutSessionId::PREFIX, &stripe_idempotency_key(&access.tenant_id, "checkout.id", client_key)["paybus-".len()..])
}

async fn existing(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<Option<CheckoutSessionOut>> {
    let row: Option<SessionRow> = sqlx::query_as(&format!("SELECT {SESSION_COLUMNS} FROM checkout_sessions WHERE id = $1 AND tenant_id = $2"))
        .bind(id)
        .bind(access.tenant_id.as_str())
        .fetch_optional(&state.db.pool)
        .await?;
    Ok(row.map(SessionRow::out))
}

fn currency_missing() -> AppError {
    AppError::invalid("currency_missing", "currency is required", Some("currency"))
}

/// Stripe's own metadata limits, checked here so the error names our parameter.
fn validate_metadata(metadata: &std::collections::BTreeMap<String, String>) -> AppResult<()> {
    if metadata.len() > 40 {
        return Err(AppError::invalid("metadata_invalid", "metadata takes at most 40 keys", Some("metadata")));
    }
    for (k, v) in metadata {
        if k.is_empty() || k.chars().count() > 40 || k.starts_with("paybus_") {
            return Err(AppError::invalid("metadata_invalid", format!("metadata key `{k}` must be 1 to 40 characters and not start with paybus_"), Some("metadata")));
        }
        if v.chars().count() > 500 {
            return Err(AppError::invalid("metadata_invalid", format!("metadata value for `{k}` is longer than 500 characters"), Some("metadata")));
        }
    }
    Ok(())
}

const SESSION_COLUMNS: &str = "id, stripe_session_id, product_id, amount_total, amount_tax, currency, status, url, created_at";

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: String,
    stripe_session_id: Option<String>,
    product_id: Option<String>,
    amount_total: i64,
    amount_tax: i64,
    currency: String,
    status: String,
    url: Option<String>,
    created_at: i64,
}

impl SessionRow {
    fn out(self) -> CheckoutSessionOut {
        CheckoutSessionOut {
            id: self.id,
            url: self.url,
            status: self.status,
            amount_total: self.amount_total,
            amount_tax: self.amount_tax,
            currency: self.currency,
            product_id: self.product_id,
            stripe_session_id: self.stripe_session_id,
            created_at: from_ms(self.created_at),
        }
    }
}

pub async fn list(state: &AppState, access: &TenantAccess, page: &PageParams) -> AppResult<List<CheckoutSessionOut>> {
    access.require(Action::PaymentsRead)?;
    let listing = Listing {
        columns: SESSION_COLUMNS,
        from_where: "FROM checkout_sessions WHERE tenant_id = $1",
        time_column: "created_at",
        key_column: "id",
        binds: vec![access.tenant_id.as_str().into()],
    };
    let (rows, has_more): (Vec<SessionRow>, bool) = listing.fetch(&state.db, page).await?;
    Ok(List::new(rows.into_iter().map(SessionRow::out).collect(), has_more))
}
