//! `api_keys`: tenant-bound `sk_…` keys, stored as SHA-256 hashes only.

use sqlx::{Any, Executor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct ApiKeyRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub role: String,
    pub mode: String,
    pub prefix: String,
    pub last4: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub const COLUMNS: &str = "id, tenant_id, name, role, mode, prefix, last4, created_at, last_used_at, revoked_at";

pub struct NewApiKey<'a> {
    pub id: &'a str,
    pub tenant_id: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub mode: &'a str,
    pub prefix: &'a str,
    pub last4: &'a str,
    pub key_hash: &'a str,
    pub created_by: Option<&'a str>,
    pub now: i64,
}

pub async fn insert<'e>(ex: impl Executor<'e, Database = Any>, k: NewApiKey<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO api_keys (id, tenant_id, name, role, mode, prefix, last4, key_hash, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(k.id)
    .bind(k.tenant_id)
    .bind(k.name)
    .bind(k.role)
    .bind(k.mode)
    .bind(k.prefix)
    .bind(k.last4)
    .bind(k.key_hash)
    .bind(k.created_by)
    .bind(k.now)
    .execute(ex)
    .await?;
    Ok(())
}

/// An active (not revoked) key by the hash of its secret.
pub async fn find_active_by_hash<'e>(ex: impl Executor<'e, Database = Any>, key_hash: &str) -> sqlx::Result<Option<ApiKeyRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"))
        .bind(key_hash)
        .fetch_optional(ex)
        .await
}

pub async fn find<'e>(ex: impl Executor<'e, Database = Any>, tenant_id: &str, id: &str) -> sqlx::Result<Option<ApiKeyRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_keys WHERE tenant_id = $1 AND id = $2"))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(ex)
        .await
}

pub fn listing(tenant_id: &str) -> super::page::Listing<'static> {
    super::page::Listing {
        columns: COLUMNS,
        from_where: "FROM api_keys WHERE tenant_id = $1",
        time_column: "created_at",
        key_column: "id",
        binds: vec![tenant_id.into()],
    }
}

/// Records use, at most once a minute per key so a busy key does not write on every request.
pub async fn touch<'e>(ex: impl Executor<'e, Database = Any>, id: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)")
        .bind(id)
        .bind(now)
        .bind(now - 60_000)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn revoke<'e>(ex: impl Executor<'e, Database = Any>, tenant_id: &str, id: &str, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE api_keys SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL")
        .bind(tenant_id)
        .bind(id)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}
