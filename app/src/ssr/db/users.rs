//! `users`: people who log in. Emails are stored normalised, unique.

use sqlx::{Any, Executor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub email_verified_at: Option<i64>,
    pub default_tenant_id: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str = "id, email, password_hash, email_verified_at, default_tenant_id, created_at";

pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub email_verified_at: Option<i64>,
    pub default_tenant_id: Option<&'a str>,
    pub now: i64,
}

pub async fn insert<'e>(ex: impl Executor<'e, Database = Any>, u: NewUser<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, email_verified_at, default_tenant_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(u.id)
    .bind(u.email)
    .bind(u.password_hash)
    .bind(u.email_verified_at)
    .bind(u.default_tenant_id)
    .bind(u.now)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn find_by_email<'e>(ex: impl Executor<'e, Database = Any>, email: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE email = $1")).bind(email).fetch_optional(ex).await
}

pub async fn find<'e>(ex: impl Executor<'e, Database = Any>, id: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1")).bind(id).fetch_optional(ex).await
}

pub async fn mark_verified<'e>(ex: impl Executor<'e, Database = Any>, id: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET email_verified_at = COALESCE(email_verified_at, $2) WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn set_default_tenant<'e>(ex: impl Executor<'e, Database = Any>, id: &str, tenant_id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET default_tenant_id = $2 WHERE id = $1").bind(id).bind(tenant_id).execute(ex).await?;
    Ok(())
}

pub async fn set_password_hash<'e>(ex: impl Executor<'e, Database = Any>, id: &str, hash: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1").bind(id).bind(hash).execute(ex).await?;
    Ok(())
}

/// Whether the user operates the platform (sees every tenant's bus statistics).
pub async fn is_platform_admin<'e>(ex: impl Executor<'e, Database = Any>, id: &str) -> sqlx::Result<bool> {
    let flag: Option<i64> = sqlx::query_scalar("SELECT platform_admin FROM users WHERE id = $1").bind(id).fetch_optional(ex).await?;
    Ok(flag.unwrap_or(0) != 0)
}

pub async fn set_platform_admin<'e>(ex: impl Executor<'e, Database = Any>, id: &str, admin: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET platform_admin = $2 WHERE id = $1").bind(id).bind(i64::from(admin)).execute(ex).await?;
    Ok(())
}
