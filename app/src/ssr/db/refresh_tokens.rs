//! `refresh_tokens`: rotating refresh tokens grouped in families (one family per login).

use sqlx::{Any, Executor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct RefreshTokenRow {
    pub id: String,
    pub family_id: String,
    pub user_id: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: &str,
    family_id: &str,
    user_id: &str,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(family_id)
    .bind(user_id)
    .bind(token_hash)
    .bind(now)
    .bind(expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn find_by_hash<'e>(ex: impl Executor<'e, Database = Any>, token_hash: &str) -> sqlx::Result<Option<RefreshTokenRow>> {
    sqlx::query_as("SELECT id, family_id, user_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(ex)
        .await
}

/// Spends a token; false when it was already spent (someone raced us, or it is a replay).
pub async fn mark_used<'e>(ex: impl Executor<'e, Database = Any>, id: &str, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE refresh_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn revoke_family<'e>(ex: impl Executor<'e, Database = Any>, family_id: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL")
        .bind(family_id)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}
