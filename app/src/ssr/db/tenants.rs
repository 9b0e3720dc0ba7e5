//! `tenants`: a merchant's workspace.

use sqlx::{Any, Executor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct TenantRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub is_demo: i64,
}

pub async fn insert<'e>(ex: impl Executor<'e, Database = Any>, id: &str, name: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(name)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn find<'e>(ex: impl Executor<'e, Database = Any>, id: &str) -> sqlx::Result<Option<TenantRow>> {
    sqlx::query_as("SELECT id, name, created_at, is_demo FROM tenants WHERE id = $1").bind(id).fetch_optional(ex).await
}

pub async fn rename<'e>(ex: impl Executor<'e, Database = Any>, id: &str, name: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE tenants SET name = $2 WHERE id = $1").bind(id).bind(name).execute(ex).await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a tenant as holding demo data (or not).
pub async fn set_demo<'e>(ex: impl Executor<'e, Database = Any>, id: &str, is_demo: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE tenants SET is_demo = $2 WHERE id = $1").bind(id).bind(i64::from(is_demo)).execute(ex).await?;
    Ok(())
}
