//! `memberships`: who belongs to which tenant, with which role.

use sqlx::{Any, Executor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct MembershipRow {
    pub tenant_id: String,
    pub user_id: String,
    pub role: String,
    pub created_at: i64,
}

/// A membership seen from the user's side, with the tenant's name.
#[derive(Debug, Clone, FromRow)]
pub struct UserTenantRow {
    pub id: String,
    pub name: String,
    pub role: String,
    pub created_at: i64,
    pub is_demo: i64,
}

/// A membership seen from the tenant's side, with the member's email.
#[derive(Debug, Clone, FromRow)]
pub struct MemberRow {
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub created_at: i64,
}

pub async fn insert<'e>(ex: impl Executor<'e, Database = Any>, tenant_id: &str, user_id: &str, role: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)")
        .bind(tenant_id)
        .bind(user_id)
        .bind(role)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn find<'e>(ex: impl Executor<'e, Database = Any>, tenant_id: &str, user_id: &str) -> sqlx::Result<Option<MembershipRow>> {
    sqlx::query_as("SELECT tenant_id, user_id, role, created_at FROM memberships WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant_id)
        .bind(user_id)
        .fetch_optional(ex)
        .await
}

pub async fn tenants_of_user<'e>(ex: impl Executor<'e, Database = Any>, user_id: &str) -> sqlx::Result<Vec<UserTenantRow>> {
    sqlx::query_as(
        "SELECT t.id, t.name, m.role, t.created_at, t.is_demo FROM memberships m JOIN tenants t ON t.id = m.tenant_id
         WHERE m.user_id = $1 ORDER BY t.created_at, t.id",
    )
    .bind(user_id)
    .fetch_all(ex)
    .await
}

/// The listing of a tenant's members, for [`super::page::Listing`].
pub fn listing(tenant_id: &str) -> super::page::Listing<'static> {
    super::page::Listing {
        columns: "m.user_id, u.email, m.role, m.created_at",
        from_where: "FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.tenant_id = $1",
        time_column: "m.created_at",
        key_column: "m.user_id",
        binds: vec![tenant_id.into()],
    }
}

pub async fn set_role<'e>(ex: impl Executor<'e, Database = Any>, tenant_id: &str, user_id: &str, role: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE memberships SET role = $3 WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant_id)
        .bind(user_id)
        .bind(role)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete<'e>(ex: impl Executor<'e, Database = Any>, tenant_id: &str, user_id: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant_id)
        .bind(user_id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn count_owners<'e>(ex: impl Executor<'e, Database = Any>, tenant_id: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE tenant_id = $1 AND role = 'owner'")
        .bind(tenant_id)
        .fetch_one(ex)
        .await
}
