//! Demo data for a first run: a verified owner of two tenants, so the dashboard has something to
//! show and the tenant switcher something to switch.

use crate::{
    domain::events::{payloads::TenantChanged, DomainEvent},
    ssr::bus::EventContext,
    domain::{EmailAddress, PrefixedId, Role, TenantId, UserId},
    error::AppResult,
    ssr::{
        auth::password,
        db::{memberships, tenants, users},
        ids::new_id,
        time_util::now_ms,
        AppState,
    },
};

pub const DEMO_EMAIL: &str = "demo@paybus.dev";
/// Printed at startup; demo mode is for trying paybus on one's own machine.
pub const DEMO_PASSWORD: &str = "paybus-demo-password";

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
    if memberships::tenants_of_user(&mut *tx, user_id.as_str()).await?.is_empty() {
        for (name, role) in [("Demo Store", Role::Owner), ("Demo Marketplace", Role::Admin)] {
            let tenant_id = new_id::<TenantId>();
            tenants::insert(&mut *tx, tenant_id.as_str(), name, now).await?;
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
