//! A tenant's settings: payments on or off, default currency, notification addresses, and its
//! Stripe secrets — sealed at rest, masked in every answer, kept when a client sends the mask
//! back, and every change audited by field name (never by value).

use crate::{
    domain::{
        dto::List,
        events::{payloads::SettingsChanged, DomainEvent},
        settings::{mask, SettingsAuditOut, SettingsOut, SettingsPatch, UNCHANGED},
        Action, Currency, EmailAddress, PrefixedId, SettingsAuditId, TenantId,
    },
    error::{AppError, AppResult},
    ssr::{
        auth::TenantAccess,
        bus::EventContext,
        config::Secret,
        db::{page::Listing, PageParams},
        ids::new_id,
        stripe::client::api_version,
        time_util::{from_ms, now_ms},
        AppState,
    },
};

/// At most this many webhook secrets at once (a roll needs two).
const MAX_WEBHOOK_SECRETS: usize = 5;

#[derive(sqlx::FromRow, Default)]
struct Row {
    payments_enabled: i64,
    default_currency: String,
    notification_emails: String,
    stripe_secret_key: Option<String>,
    webhook_secrets: Option<String>,
    updated_at: i64,
    allow_negative_balances: i64,
}

/// The settings with secrets opened, for paybus's own use (never sent anywhere).
pub struct TenantStripe {
    pub secret_key: Option<Secret>,
    pub webhook_secrets: Vec<Secret>,
    pub payments_enabled: bool,
    pub default_currency: String,
}

struct Opened {
    row: Row,
    secret_key: Option<String>,
    webhook_secrets: Vec<String>,
}

/// Where a sealed value belongs: it opens only in this tenant's row, in this field.
fn context(tenant: &TenantId, field: &str) -> String {
    format!("{}/{field}", tenant.as_str())
}

async fn load(state: &AppState, tenant: &TenantId) -> AppResult<Option<Opened>> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT payments_enabled, default_currency, notification_emails, stripe_secret_key, webhook_secrets, updated_at, allow_negative_balances FROM tenant_settings WHERE tenant_id = $1",
    )
    .bind(tenant.as_str())
    .fetch_optional(&state.db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let secret_key = row.stripe_secret_key.as_deref().map(|s| state.secrets.open(s, &context(tenant, "stripe_secret_key"))).transpose()?;
    let webhook_secrets: Vec<String> = match row.webhook_secrets.as_deref() {
        Some(sealed) => serde_json::from_str(&state.secrets.open(sealed, &context(tenant, "webhook_secrets"))?).map_err(|_| AppError::Internal)?,
        None => vec![],
    };
    Ok(Some(Opened { row, secret_key, webhook_secrets }))
}

fn out(tenant: &TenantId, opened: Option<Opened>) -> SettingsOut {
    let (object, tenant_id) = ("settings".to_owned(), tenant.to_string());
    match opened {
        Some(o) => SettingsOut {
            object,
            tenant_id,
            payments_enabled: o.row.payments_enabled != 0,
            default_currency: o.row.default_currency,
            notification_emails: serde_json::from_str(&o.row.notification_emails).unwrap_or_default(),
            stripe_secret_key: o.secret_key.as_deref().map(mask),
            webhook_secrets: o.webhook_secrets.iter().map(|s| mask(s)).collect(),
            stripe_api_version: api_version().to_owned(),
            updated_at: Some(from_ms(o.row.updated_at)),
            allow_negative_balances: o.row.allow_negative_balances != 0,
        },
        None => SettingsOut {
            object,
            tenant_id,
            payments_enabled: true,
            default_currency: "usd".into(),
            notification_emails: vec![],
            stripe_secret_key: None,
            webhook_secrets: vec![],
            stripe_api_version: api_version().to_owned(),
            updated_at: None,
            allow_negative_balances: false,
        },
    }
}

pub async fn get(state: &AppState, access: &TenantAccess) -> AppResult<SettingsOut> {
    access.require(Action::SettingsRead)?;
    Ok(out(&access.tenant_id, load(state, &access.tenant_id).await?))
}

/// For paybus's own calls: the tenant's Stripe credentials and switches.
pub async fn stripe_credentials(state: &AppState, tenant: &TenantId) -> AppResult<TenantStripe> {
    let opened = load(state, tenant).await?;
    Ok(match opened {
        Some(o) => TenantStripe {
            secret_key: o.secret_key.map(Secret::new),
            webhook_secrets: o.webhook_secrets.into_iter().map(Secret::new).collect(),
            payments_enabled: o.row.payments_enabled != 0,
            default_currency: o.row.default_currency,
        },
        None => TenantStripe { secret_key: None, webhook_secrets: vec![], payments_enabled: true, default_currency: "usd".into() },
    })
}

pub async fn update(state: &AppState, access: &TenantAccess, patch: SettingsPatch) -> AppResult<SettingsOut> {
    access.require(Action::SettingsUpdate)?;
    let current = load(state, &access.tenant_id).await?;
    let mut changed: Vec<&'static str> = Vec::new();
    let (mut row, mut secret_key, mut webhook_secrets) = match current {
        Some(o) => (o.row, o.secret_key, o.webhook_secrets),
        None => (Row { payments_enabled: 1, default_currency: "usd".into(), notification_emails: "[]".into(), ..Default::default() }, None, vec![]),
    };

    if let Some(enabled) = patch.payments_enabled {
        if (row.payments_enabled != 0) != enabled {
            row.payments_enabled = i64::from(enabled);
            changed.push("payments_enabled");
        }
    }
    if let Some(currency) = &patch.default_currency {
        let currency = Currency::parse(currency).map_err(|_| AppError::invalid("currency_invalid", "default_currency must be a three-letter ISO code", Some("default_currency")))?;
        if currency.as_str() != row.default_currency {
            row.default_currency = currency.to_string();
            changed.push("default_currency");
        }
    }
    if let Some(allow) = patch.allow_negative_balances {
        if (row.allow_negative_balances != 0) != allow {
            row.allow_negative_balances = i64::from(allow);
            changed.push("allow_negative_balances");
        }
    }
    if let Some(emails) = &patch.notification_emails {
        if emails.len() > 10 {
            return Err(AppError::invalid("notification_emails_invalid", "at most 10 notification addresses", Some("notification_emails")));
        }
        let mut parsed = Vec::new();
        for raw in emails {
            let email = EmailAddress::parse(raw)
                .map_err(|_| AppError::invalid("email_invalid", format!("`{raw}` is not a valid email address"), Some("notification_emails")))?;
            if !parsed.contains(&email.as_str().to_owned()) {
                parsed.push(email.as_str().to_owned());
            }
        }
        let json = serde_json::to_string(&parsed).map_err(|_| AppError::Internal)?;
        if json != row.notification_emails {
            row.notification_emails = json;
            changed.push("notification_emails");
        }
    }
    if let Some(raw) = &patch.stripe_secret_key {
        let raw = raw.trim();
        let keeps = raw == UNCHANGED || secret_key.as_deref().is_some_and(|s| raw == mask(s));
        if !keeps {
            if raw.is_empty() {
                if secret_key.take().is_some() {
                    changed.push("stripe_secret_key");
                }
            } else {
                let valid = (raw.starts_with("sk_") || raw.starts_with("rk_")) && raw.len() >= 12 && raw.bytes().all(|b| b.is_ascii_graphic());
                if !valid {
                    return Err(AppError::invalid(
                        "stripe_secret_key_invalid",
                        "stripe_secret_key must be a Stripe secret (sk_…) or restricted (rk_…) key",
                        Some("stripe_secret_key"),
                    ));
                }
                secret_key = Some(raw.to_owned());
                changed.push("stripe_secret_key");
            }
        }
    }
    if let Some(list) = &patch.webhook_secrets {
        let mut next: Vec<String> = Vec::new();
        for raw in list {
            let raw = raw.trim();
            // A mask names a stored secret: keep it. Anything else is a new secret.
            if let Some(kept) = webhook_secrets.iter().find(|s| mask(s) == raw) {
                if !next.contains(kept) {
                    next.push(kept.clone());
                }
                continue;
            }
            if !raw.starts_with("whsec_") || raw.len() < 12 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(AppError::invalid(
                    "webhook_secret_invalid",
                    "each webhook secret must be a Stripe signing secret (whsec_…) or the mask of a stored one",
                    Some("webhook_secrets"),
                ));
            }
            if !next.iter().any(|s| s == raw) {
                next.push(raw.to_owned());
            }
        }
        if next.len() > MAX_WEBHOOK_SECRETS {
            return Err(AppError::invalid("webhook_secrets_invalid", format!("at most {MAX_WEBHOOK_SECRETS} webhook secrets at once"), Some("webhook_secrets")));
        }
        if next != webhook_secrets {
            webhook_secrets = next;
            changed.push("webhook_secrets");
        }
    }

    if changed.is_empty() {
        return Ok(out(&access.tenant_id, load(state, &access.tenant_id).await?));
    }
    let now = now_ms();
    let actor = access.principal.actor();
    let sealed_key = secret_key.as_deref().map(|k| state.secrets.seal(k, &context(&access.tenant_id, "stripe_secret_key")));
    let sealed_hooks = (!webhook_secrets.is_empty())
        .then(|| serde_json::to_string(&webhook_secrets).map(|j| state.secrets.seal(&j, &context(&access.tenant_id, "webhook_secrets"))))
        .transpose()
        .map_err(|_| AppError::Internal)?;
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "INSERT INTO tenant_settings (tenant_id, payments_enabled, default_currency, notification_emails, stripe_secret_key, webhook_secrets, updated_at, updated_by, allow_negative_balances)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (tenant_id) DO UPDATE SET payments_enabled = $2, default_currency = $3, notification_emails = $4, stripe_secret_key = $5,
             webhook_secrets = $6, updated_at = $7, updated_by = $8, allow_negative_balances = $9",
    )
    .bind(access.tenant_id.as_str())
    .bind(row.payments_enabled)
    .bind(&row.default_currency)
    .bind(&row.notification_emails)
    .bind(&sealed_key)
    .bind(&sealed_hooks)
    .bind(now)
    .bind(&actor.id)
    .bind(row.allow_negative_balances)
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO settings_audit (id, tenant_id, actor, actor_type, fields, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(new_id::<SettingsAuditId>().as_str())
        .bind(access.tenant_id.as_str())
        .bind(&actor.id)
        .bind(format!("{:?}", actor.kind).to_lowercase())
        .bind(serde_json::to_string(&changed).map_err(|_| AppError::Internal)?)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let payload = SettingsChanged { keys: changed.iter().map(|k| (*k).to_owned()).collect() };
    state.bus.publish(&mut tx, &EventContext::for_access(access), DomainEvent::SettingsUpdated(payload)).await?;
    tx.commit().await?;
    state.bus.wake();
    Ok(out(&access.tenant_id, load(state, &access.tenant_id).await?))
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: String,
    actor: Option<String>,
    actor_type: String,
    fields: String,
    created_at: i64,
}

pub async fn audit(state: &AppState, access: &TenantAccess, page: &PageParams) -> AppResult<List<SettingsAuditOut>> {
    access.require(Action::SettingsRead)?;
    let listing = Listing {
        columns: "id, actor, actor_type, fields, created_at",
        from_where: "FROM settings_audit WHERE tenant_id = $1",
        time_column: "created_at",
        key_column: "id",
        binds: vec![access.tenant_id.as_str().into()],
    };
    let (rows, has_more): (Vec<AuditRow>, bool) = listing.fetch(&state.db, page).await?;
    Ok(List::new(
        rows.into_iter()
            .map(|r| SettingsAuditOut {
                id: r.id,
                actor: r.actor,
                actor_type: r.actor_type,
                fields: serde_json::from_str(&r.fields).unwrap_or_default(),
                created_at: from_ms(r.created_at),
            })
            .collect(),
        has_more,
    ))
}
