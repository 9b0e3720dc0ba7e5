//! A tenant's enabled currencies. Every supported ISO currency is either enabled or not for a
//! tenant; a currency nobody has touched is enabled exactly when it is the tenant's default
//! currency (settings, `usd` without settings), so a new tenant starts with its default currency
//! only. Activating or deactivating stores the choice, which then wins. The default currency
//! cannot be deactivated (change the default first).
//!
//! The money-moving paths (balance transactions, checkout sessions, products) ask
//! [`require_enabled`] and refuse amounts in any other currency with `currency_disabled`.

use std::collections::HashMap;

use crate::{
    domain::{
        balances::{is_supported, CurrencyIn, CurrencyOut, SUPPORTED_CURRENCIES},
        dto::List,
        events::{payloads::CurrencyChanged, DomainEvent},
        Action, Currency, PrefixedId, TenantId,
    },
    error::{AppError, AppResult},
    ssr::{auth::TenantAccess, bus::EventContext, time_util::from_ms, AppState},
};

/// The tenant's default currency (from its settings).
pub async fn default_currency<'e>(ex: impl sqlx::Executor<'e, Database = sqlx::Any>, tenant: &TenantId) -> AppResult<String> {
    let stored: Option<String> =
        sqlx::query_scalar("SELECT default_currency FROM tenant_settings WHERE tenant_id = $1").bind(tenant.as_str()).fetch_optional(ex).await?;
    Ok(stored.unwrap_or_else(|| "usd".to_owned()))
}

/// The explicit choices: currency → (enabled, updated_at).
async fn choices(state: &AppState, tenant: &TenantId) -> AppResult<HashMap<String, (bool, i64)>> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as("SELECT currency, enabled, updated_at FROM tenant_currencies WHERE tenant_id = $1")
        .bind(tenant.as_str())
        .fetch_all(&state.db.pool)
        .await?;
    Ok(rows.into_iter().map(|(c, e, t)| (c, (e != 0, t))).collect())
}

/// Whether the tenant accepts amounts in `currency`: its explicit choice, else whether it is the
/// default currency.
pub fn decide(currency: &str, default: &str, choice: Option<bool>) -> bool {
    choice.unwrap_or(currency == default)
}

/// The refusal every money path gives for a currency the tenant has not enabled.
pub fn disabled_error(currency: &Currency, param: &str) -> AppError {
    AppError::unprocessable(
        "currency_disabled",
        format!(
            "{} is not enabled for this account. Activate it (POST /api/v1/currencies or Settings → Currencies) before using amounts in it.",
            currency.as_str().to_uppercase()
        ),
        Some(param),
    )
}

/// Refuses amounts in a currency the tenant has not enabled (or that paybus does not support).
/// Runs on the pool or inside the caller's transaction.
pub async fn require_enabled<'e>(ex: impl sqlx::Executor<'e, Database = sqlx::Any>, tenant: &TenantId, currency: &Currency, param: &str) -> AppResult<()> {
    if !is_supported(currency.as_str()) {
        return Err(unsupported(currency.as_str(), param));
    }
    let (choice, default): (Option<i64>, Option<String>) = sqlx::query_as(
        "SELECT (SELECT enabled FROM tenant_currencies WHERE tenant_id = $1 AND currency = $2),
                (SELECT default_currency FROM tenant_settings WHERE tenant_id = $1)",
    )
    .bind(tenant.as_str())
    .bind(currency.as_str())
    .fetch_one(ex)
    .await?;
    if decide(currency.as_str(), default.as_deref().unwrap_or("usd"), choice.map(|e| e != 0)) {
        Ok(())
    } else {
        Err(disabled_error(currency, param))
    }
}

fn unsupported(code: &str, param: &str) -> AppError {
    AppError::invalid("currency_unsupported", format!("`{code}` is not a currency paybus supports"), Some(param))
}

fn out(currency: &str, default: &str, choice: Option<(bool, i64)>) -> CurrencyOut {
    let parsed = Currency::parse(currency).ok();
    CurrencyOut {
        object: "currency".into(),
        currency: currency.to_owned(),
        enabled: decide(currency, default, choice.map(|(e, _)| e)),
        is_default: currency == default,
        minor_unit_exponent: parsed.map(|c| c.exponent()).unwrap_or(2),
        updated_at: choice.map(|(_, t)| from_ms(t)),
    }
}

/// Every supported currency with the tenant's flag, alphabetically; `enabled` filters on it. The
/// list is bounded (about 135 currencies): one page, `has_more` is always false.
pub async fn list(state: &AppState, access: &TenantAccess, enabled: Option<bool>) -> AppResult<List<CurrencyOut>> {
    access.require(Action::BillingRead)?;
    let default = default_currency(&state.db.pool, &access.tenant_id).await?;
    let choices = choices(state, &access.tenant_id).await?;
    let data =
        SUPPORTED_CURRENCIES.iter().map(|c| out(c, &default, choices.get(*c).copied())).filter(|c| enabled.is_none_or(|want| c.enabled == want)).collect();
    Ok(List::new(data, false))
}

/// Activates or deactivates one currency; publishes `currency.activated` / `currency.deactivated`
/// when that changes whether the tenant accepts it (setting what already holds is a no-op).
pub async fn set(state: &AppState, access: &TenantAccess, input: CurrencyIn) -> AppResult<CurrencyOut> {
    access.require(Action::CurrenciesManage)?;
    let currency = Currency::parse(&input.currency)?;
    if !is_supported(currency.as_str()) {
        return Err(unsupported(currency.as_str(), "currency"));
    }
    let mut tx = state.db.begin().await?;
    let default = default_currency(&mut *tx, &access.tenant_id).await?;
    if !input.enabled && currency.as_str() == default {
        return Err(AppError::conflict(
            "currency_is_default",
            format!("{} is the default currency; choose another default in settings before deactivating it", currency.as_str().to_uppercase()),
            Some("currency"),
        ));
    }
    let before: Option<(i64, i64)> = sqlx::query_as("SELECT enabled, updated_at FROM tenant_currencies WHERE tenant_id = $1 AND currency = $2")
        .bind(access.tenant_id.as_str())
        .bind(currency.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    let was = decide(currency.as_str(), &default, before.map(|(e, _)| e != 0));
    if was == input.enabled {
        return Ok(out(currency.as_str(), &default, before.map(|(e, t)| (e != 0, t))));
    }
    let now = state.bus.now_ms();
    sqlx::query(
        "INSERT INTO tenant_currencies (tenant_id, currency, enabled, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, currency) DO UPDATE SET enabled = $3, updated_at = $4, updated_by = $5",
    )
    .bind(access.tenant_id.as_str())
    .bind(currency.as_str())
    .bind(i64::from(input.enabled))
    .bind(now)
    .bind(access.principal.actor().id)
    .execute(&mut *tx)
    .await?;
    let payload = CurrencyChanged { currency: currency.to_string() };
    let event = if input.enabled { DomainEvent::CurrencyActivated(payload) } else { DomainEvent::CurrencyDeactivated(payload) };
    state.bus.publish(&mut tx, &EventContext::for_access(access), event).await?;
    state.bus.commit(tx).await?;
    Ok(out(currency.as_str(), &default, Some((input.enabled, now))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_untouched_currency_is_enabled_only_when_it_is_the_default() {
        assert!(decide("usd", "usd", None));
        assert!(!decide("eur", "usd", None));
    }

    #[test]
    fn an_explicit_choice_wins_over_the_default_rule() {
        assert!(decide("eur", "usd", Some(true)));
        assert!(!decide("eur", "usd", Some(false)));
        assert!(!decide("usd", "usd", Some(false)));
    }

    #[test]
    fn the_refusal_names_the_currency_and_how_to_enable_it() {
        let e = disabled_error(&Currency::parse("eur").unwrap(), "currency");
        assert_eq!((e.status(), e.code(), e.param()), (422, "currency_disabled", Some("currency")));
        assert!(e.to_string().contains("EUR"), "{e}");
    }
}
