//! Connect Express onboarding: the tenant's Stripe account, its onboarding and dashboard links,
//! and its capabilities as Stripe last told us (by API or by `account.updated`).

use std::collections::HashMap;

use stripe_connect::{
    account::{CreateAccount, CreateAccountType, RetrieveAccount},
    account_link::{CreateAccountLink, CreateAccountLinkType},
    login_link::CreateAccountLoginLink,
};

use super::stripe_access::{connected_account, platform_gateway, stripe_idempotency_key};
use crate::{
    domain::{
        events::{payloads::ConnectAccountChanged, DomainEvent},
        stripe_out::{AccountLinkIn, ConnectAccountOut, CreateConnectAccountIn, LinkOut},
        Action, EmailAddress, PrefixedId,
    },
    error::{AppError, AppResult},
    ssr::{
        auth::TenantAccess,
        bus::EventContext,
        stripe::client::{OnBehalfOf, StripeGateway},
        time_util::now_ms,
        AppState,
    },
};

#[derive(sqlx::FromRow)]
struct AccountRow {
    account_id: String,
    charges_enabled: i64,
    payouts_enabled: i64,
    details_submitted: i64,
    requirements: Option<String>,
}

impl AccountRow {
    fn out(self, refreshed: bool) -> ConnectAccountOut {
        ConnectAccountOut {
            account_id: self.account_id,
            charges_enabled: self.charges_enabled != 0,
            payouts_enabled: self.payouts_enabled != 0,
            details_submitted: self.details_submitted != 0,
            requirements: self.requirements.and_then(|r| serde_json::from_str(&r).ok()).unwrap_or(serde_json::Value::Null),
            refreshed,
        }
    }
}

async fn load(state: &AppState, access: &TenantAccess) -> AppResult<Option<AccountRow>> {
    Ok(sqlx::query_as(
        "SELECT account_id, charges_enabled, payouts_enabled, details_submitted, requirements FROM stripe_accounts WHERE tenant_id = $1 ORDER BY created_at LIMIT 1",
    )
    .bind(access.tenant_id.as_str())
    .fetch_optional(&state.db.pool)
    .await?)
}

fn no_account() -> AppError {
    AppError::NotFound { message: "This tenant has no Stripe Connect account yet: create one with POST /api/v1/connect/accounts.".into() }
}

/// Creates the tenant's Express account, or returns the one it has. The second value says
/// whether it was created now.
pub async fn create_account(state: &AppState, access: &TenantAccess, input: CreateConnectAccountIn) -> AppResult<(ConnectAccountOut, bool)> {
    access.require(Action::ConnectManage)?;
    if let Some(existing) = load(state, access).await? {
        return Ok((existing.out(false), false));
    }
    let mut request = CreateAccount::new().type_(CreateAccountType::Express);
    if let Some(email) = &input.email {
        let email = EmailAddress::parse(email).map_err(|_| AppError::invalid("email_invalid", "email is not a valid address", Some("email")))?;
        request = request.email(email.as_str());
    }
    if let Some(country) = &input.country {
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(AppError::invalid("country_invalid", "country must be a two-letter ISO code", Some("country")));
        }
        request = request.country(country.to_ascii_uppercase());
    }
    request = request.metadata(HashMap::from([("paybus_tenant".to_owned(), access.tenant_id.to_string())]));
    let gateway = platform_gateway(state)?;
    // One account per tenant, even when two admins click at once: Stripe dedupes the key.
    let key = stripe_idempotency_key(&access.tenant_id, "connect.account", "create");
    let account = gateway.send(StripeGateway::request(&request), &OnBehalfOf::Platform, Some(&key)).await?;
    let account_id = str_field(&account, "id").ok_or_else(unreadable)?;

    let now = now_ms();
    let mut tx = state.db.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO stripe_accounts (account_id, tenant_id, charges_enabled, payouts_enabled, details_submitted, requirements, stripe_updated_at, created_at, updated_at)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $8 WHERE NOT EXISTS (SELECT 1 FROM stripe_accounts WHERE tenant_id = $2)",
    )
    .bind(&account_id)
    .bind(access.tenant_id.as_str())
    .bind(i64::from(bool_field(&account, "charges_enabled")))
    .bind(i64::from(bool_field(&account, "payouts_enabled")))
    .bind(i64::from(bool_field(&account, "details_submitted")))
    .bind(account.get("requirements").map(|r| r.to_string()))
    .bind(account.get("created").and_then(|v| v.as_i64()).unwrap_or(0))
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        state.bus.publish(&mut tx, &EventContext::for_access(access), DomainEvent::ConnectAccountCreated(changed(&account_id, &account))).await?;
    }
    tx.commit().await?;
    state.bus.wake();
    let row = load(state, access).await?.ok_or_else(no_account)?;
    Ok((row.out(true), inserted == 1))
}

/// The account as Stripe sees it now; the last known state when Stripe cannot be asked.
pub async fn get_account(state: &AppState, access: &TenantAccess) -> AppResult<ConnectAccountOut> {
    access.require(Action::ConnectRead)?;
    let row = load(state, access).await?.ok_or_else(no_account)?;
    let gateway = platform_gateway(state)?;
    let fresh = gateway.send(StripeGateway::request(&RetrieveAccount::new(row.account_id.as_str())), &OnBehalfOf::Platform, None).await;
    let account = match fresh {
        Ok(account) => account,
        Err(e) => {
            tracing::warn!(error = %e, account = %row.account_id, "showing the last known Connect account state");
            return Ok(row.out(false));
        }
    };
    let before = (row.charges_enabled != 0, row.payouts_enabled != 0, row.details_submitted != 0);
    let after = (bool_field(&account, "charges_enabled"), bool_field(&account, "payouts_enabled"), bool_field(&account, "details_submitted"));
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "UPDATE stripe_accounts SET charges_enabled = $3, payouts_enabled = $4, details_submitted = $5, requirements = $6, updated_at = $7
         WHERE account_id = $1 AND tenant_id = $2",
    )
    .bind(&row.account_id)
    .bind(access.tenant_id.as_str())
    .bind(i64::from(after.0))
    .bind(i64::from(after.1))
    .bind(i64::from(after.2))
    .bind(account.get("requirements").map(|r| r.to_string()))
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    if before != after {
        state.bus.publish(&mut tx, &EventContext::for_access(access), DomainEvent::ConnectAccountUpdated(changed(&row.account_id, &account))).await?;
    }
    tx.commit().await?;
    state.bus.wake();
    let row = load(state, access).await?.ok_or_else(no_account)?;
    Ok(row.out(true))
}

/// A one-time onboarding link (Stripe-hosted), to continue where the merchant left off.
pub async fn account_link(state: &AppState, access: &TenantAccess, input: AccountLinkIn) -> AppResult<LinkOut> {
    access.require(Action::ConnectManage)?;
    let account = connected_account(state, &access.tenant_id).await?.ok_or_else(no_account)?;
    let default_url = format!("{}/connect", state.config.public_url.trim_end_matches('/'));
    let return_url = http_url(input.return_url.as_deref().unwrap_or(&default_url), "return_url")?;
    let refresh_url = http_url(input.refresh_url.as_deref().unwrap_or(&default_url), "refresh_url")?;
    let request = CreateAccountLink::new(account.as_str(), CreateAccountLinkType::AccountOnboarding).return_url(return_url).refresh_url(refresh_url);
    let link = platform_gateway(state)?.send(StripeGateway::request(&request), &OnBehalfOf::Platform, None).await?;
    let out = LinkOut {
        url: str_field(&link, "url").ok_or_else(unreadable)?,
        expires_at: link.get("expires_at").and_then(|v| v.as_i64()).and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok()),
    };
    let mut tx = state.db.begin().await?;
    let payload = ConnectAccountChanged { account_id: account, charges_enabled: false, payouts_enabled: false, details_submitted: false };
    state.bus.publish(&mut tx, &EventContext::for_access(access), DomainEvent::ConnectOnboardingLinkCreated(payload)).await?;
    tx.commit().await?;
    state.bus.wake();
    Ok(out)
}

/// A single-use login link to the merchant's Express dashboard.
pub async fn express_login_link(state: &AppState, access: &TenantAccess) -> AppResult<LinkOut> {
    access.require(Action::ConnectManage)?;
    let account = connected_account(state, &access.tenant_id).await?.ok_or_else(no_account)?;
    let link = platform_gateway(state)?
        .send(StripeGateway::request(&CreateAccountLoginLink::new(account.as_str())), &OnBehalfOf::Platform, None)
        .await?;
    Ok(LinkOut { url: str_field(&link, "url").ok_or_else(unreadable)?, expires_at: None })
}

fn changed(account_id: &str, account: &serde_json::Value) -> ConnectAccountChanged {
    ConnectAccountChanged {
        account_id: account_id.to_owned(),
        charges_enabled: bool_field(account, "charges_enabled"),
        payouts_enabled: bool_field(account, "payouts_enabled"),
        details_submitted: bool_field(account, "details_submitted"),
    }
}

/// An absolute http(s) URL, as Stripe requires for redirects.
pub fn http_url(raw: &str, param: &str) -> AppResult<String> {
    let ok = (raw.starts_with("https://") || raw.starts_with("http://")) && raw.len() > "https://".len() && raw.len() <= 2048 && !raw.chars().any(char::is_whitespace);
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(AppError::invalid("url_invalid", format!("{param} must be an absolute http(s) URL"), Some(param)))
    }
}

pub fn str_field(v: &serde_json::Value, name: &str) -> Option<String> {
    v.get(name).and_then(|x| x.as_str()).map(str::to_owned)
}

fn bool_field(v: &serde_json::Value, name: &str) -> bool {
    v.get(name).and_then(|x| x.as_bool()).unwrap_or(false)
}

pub fn unreadable() -> AppError {
    AppError::Upstream { code: "stripe_response_invalid".into(), message: "Stripe's response lacked a field paybus needs.".into() }
}
