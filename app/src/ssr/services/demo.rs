//! Demo data for a first run: a verified owner of two tenants, so the dashboard has something to
//! show and the tenant switcher something to switch. Demo tenants are flagged (`tenants.is_demo`);
//! [`non_demo_data`] tells whether a database holds anything else (then seeding needs `--force`)
//! and [`remove_demo_tenants`] deletes the demo tenants with every row they own, so a re-seed
//! starts from nothing and never touches another tenant.

use crate::{
    domain::events::{payloads::TenantChanged, DomainEvent},
    ssr::bus::EventContext,
    domain::{EmailAddress, PrefixedId, Role, TenantId, UserId},
    error::AppResult,
    ssr::{
        auth::password,
        db::{memberships, tenants, users},
        ids::new_id,
        db::Db,
        time_util::now_ms,
        AppState,
    },
};

pub const DEMO_EMAIL: &str = "demo@paybus.dev";
/// Printed at startup; demo mode is for trying paybus on one's own machine.
pub const DEMO_PASSWORD: &str = "paybus-demo-password";
/// The demo tenants: the login owns the store and administers the marketplace.
pub const DEMO_STORE: &str = "Demo Store";
pub const DEMO_MARKETPLACE: &str = "Demo Marketplace";

pub struct DemoLogin {
    pub email: &'static str,
    pub password: &'static str,
}

/// Creates the demo account and tenants if missing and resets the demo password; idempotent.
pub async fn ensure(state: &AppState) -> AppResult<DemoLogin> {
    let email = EmailAddress::parse(DEMO_EMAIL).expect("the demo address is valid");
    let hash = password::hash(state.config.argon2, DEMO_PASSWORD.to_owned()).await?;
    let now = now_ms();
    let mut tx = state.db.begin().await?;
    let user_id = match users::find_by_email(&mut *tx, email.as_str()).await? {
        Some(user) => {
            users::set_password_hash(&mut *tx, &user.id, &hash).await?;
            users::mark_verified(&mut *tx, &user.id, now).await?;
            UserId::from_trusted(user.id)
        }
        None => {
            let user_id = new_id::<UserId>();
            users::insert(
                &mut *tx,
                users::NewUser {
                    id: user_id.as_str(),
                    email: email.as_str(),
                    password_hash: &hash,
                    email_verified_at: Some(now),
                    default_tenant_id: None,
                    now,
                },
            )
            .await?;
            user_id
        }
    };
    if !memberships::tenants_of_user(&mut *tx, user_id.as_str()).await?.iter().any(|t| t.is_demo != 0) {
        for (name, role) in [(DEMO_STORE, Role::Owner), (DEMO_MARKETPLACE, Role::Admin)] {
            let tenant_id = new_id::<TenantId>();
            tenants::insert(&mut *tx, tenant_id.as_str(), name, now).await?;
            tenants::set_demo(&mut *tx, tenant_id.as_str(), true).await?;
            memberships::insert(&mut *tx, tenant_id.as_str(), user_id.as_str(), role.as_str(), now).await?;
            if role == Role::Owner {
                users::set_default_tenant(&mut *tx, user_id.as_str(), tenant_id.as_str()).await?;
            }
            let ctx = EventContext::for_user(&user_id, Some(tenant_id.clone()));
            let payload = TenantChanged { tenant_id: tenant_id.to_string(), name: name.to_owned() };
            state.bus.publish(&mut tx, &ctx, DomainEvent::OrgTenantCreated(payload)).await?;
        }
    }
    // The demo login operates the demo platform: it may open the global bus statistics.
    users::set_platform_admin(&mut *tx, user_id.as_str(), true).await?;
    state.bus.commit(tx).await?;
    Ok(DemoLogin { email: DEMO_EMAIL, password: DEMO_PASSWORD })
}

/// What a database holds besides the demo: users other than the demo login, tenants not flagged
/// demo (with their payment counts). `None` when there is nothing but demo data.
pub async fn non_demo_data(db: &Db) -> AppResult<Option<String>> {
    let mut found = Vec::new();
    let users: Vec<String> = sqlx::query_scalar("SELECT email FROM users WHERE email <> $1 ORDER BY created_at, id")
        .bind(DEMO_EMAIL)
        .fetch_all(&db.pool)
        .await?;
    if !users.is_empty() {
        found.push(format!("{} user{} other than {DEMO_EMAIL} ({})", users.len(), plural(users.len()), sample(&users)));
    }
    let tenants: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT t.id, t.name, (SELECT COUNT(*) FROM payments p WHERE p.tenant_id = t.id) FROM tenants t WHERE t.is_demo = 0 ORDER BY t.created_at, t.id",
    )
    .fetch_all(&db.pool)
    .await?;
    if !tenants.is_empty() {
        let payments: i64 = tenants.iter().map(|t| t.2).sum();
        let names: Vec<String> = tenants.iter().map(|t| format!("\"{}\" {}", t.1, t.0)).collect();
        found.push(format!(
            "{} tenant{} not marked as demo ({}) holding {payments} payment{}",
            tenants.len(),
            plural(tenants.len()),
            sample(&names),
            plural(payments as usize)
        ));
    }
    // Rows that belong to no demo tenant (e.g. Stripe events for a tenant since deleted).
    let orphans: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payments p WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = p.tenant_id AND t.is_demo = 1)")
        .fetch_one(&db.pool)
        .await?;
    if orphans > 0 && tenants.is_empty() {
        found.push(format!("{orphans} payment{} outside the demo tenants", plural(orphans as usize)));
    }
    Ok((!found.is_empty()).then(|| found.join("; ")))
}

/// Whether the demo tenants exist and hold payments (a seeded demo).
pub async fn is_seeded(db: &Db) -> AppResult<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payments p JOIN tenants t ON t.id = p.tenant_id WHERE t.is_demo = 1")
        .fetch_one(&db.pool)
        .await?;
    Ok(n > 0)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn sample(items: &[String]) -> String {
    let mut shown = items.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > 3 {
        shown.push_str(&format!(", … {} more", items.len() - 3));
    }
    shown
}

/// Tables holding a tenant's rows, children before parents (foreign keys). Tables added later
/// with a `tenant_id` column are found in the schema and emptied first.
const TENANT_TABLES: &[&str] = &[
    "invoice_tax_amounts", "customer_balance_transactions", "customer_balances", "invoices", "subscriptions", "payment_methods",
    "customers", "tax_rates", "risk_reviews", "risk_charges", "refunds", "disputes", "payment_transactions", "event_logs",
    "refund_requests", "checkout_sessions", "products", "payments", "webhook_attempts", "webhook_messages", "webhook_endpoints",
    "rule_deliveries", "rule_stats_daily", "rule_archive", "rules", "delivery_attempts", "event_deliveries", "events",
    "events_archive", "replay_jobs", "webhook_events", "stripe_accounts", "idempotency_keys", "reconciliation_runs",
    "settings_audit", "tenant_settings", "payment_audit_log", "tenant_plugins", "audit_log", "customer_activity", "analytics_daily",
    "analytics_marks", "plugin_mail_sends", "tenant_currencies", "api_keys", "invitations", "memberships",
];

/// Deletes the demo tenants and every row they own, in one transaction; other tenants' rows are
/// never touched. Returns how many demo tenants were removed.
pub async fn remove_demo_tenants(db: &Db) -> AppResult<usize> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM tenants WHERE is_demo = 1").fetch_all(&db.pool).await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let schema_sql = match db.dialect {
        crate::ssr::db::Dialect::Sqlite => {
            "SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c WHERE m.type = 'table' AND c.name = 'tenant_id' ORDER BY m.name"
        }
        crate::ssr::db::Dialect::Postgres => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.columns WHERE column_name = 'tenant_id' AND table_schema = current_schema() ORDER BY table_name"
        }
    };
    let with_tenant: Vec<String> = sqlx::query_scalar(schema_sql).fetch_all(&db.pool).await?;
    let mut order: Vec<&str> = with_tenant.iter().map(String::as_str).filter(|t| !TENANT_TABLES.contains(t)).collect();
    order.extend(TENANT_TABLES.iter().copied().filter(|t| with_tenant.iter().any(|w| w == t)));
    let mut tx = db.begin().await?;
    for id in &ids {
        // Listener receipts carry no tenant: they go with the tenant's deliveries.
        sqlx::query("DELETE FROM listener_receipts WHERE delivery_id IN (SELECT id FROM event_deliveries WHERE tenant_id = $1)")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE users SET default_tenant_id = NULL WHERE default_tenant_id = $1").bind(id).execute(&mut *tx).await?;
        for table in &order {
            sqlx::query(&format!("DELETE FROM {table} WHERE tenant_id = $1")).bind(id).execute(&mut *tx).await?;
        }
        sqlx::query("DELETE FROM tenants WHERE id = $1 AND is_demo = 1").bind(id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(ids.len())
}
