//! `email_verifications`: one challenge per signup (or resend), answered by link or by code.

use sqlx::{Any, Executor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct VerificationRow {
    pub id: String,
    pub user_id: String,
    pub code_hash: String,
    pub attempts: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

const COLUMNS: &str = "id, user_id, code_hash, attempts, expires_at, used_at";

#[allow(clippy::too_many_arguments)]
pub async fn insert<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: &str,
    user_id: &str,
    token_hash: &str,
    code_hash: &str,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO email_verifications (id, user_id, token_hash, code_hash, attempts, created_at, expires_at)
         VALUES ($1, $2, $3, $4, 0, $5, $6)",
    )
    .bind(id)
    .bind(user_id)
    .bind(token_hash)
    .bind(code_hash)
    .bind(now)
    .bind(expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn find_by_token<'e>(ex: impl Executor<'e, Database = Any>, token_hash: &str) -> sqlx::Result<Option<VerificationRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM email_verifications WHERE token_hash = $1"))
        .bind(token_hash)
        .fetch_optional(ex)
        .await
}

/// The newest open challenge of a user (codes are checked against it).
pub async fn latest_open_for_user<'e>(ex: impl Executor<'e, Database = Any>, user_id: &str) -> sqlx::Result<Option<VerificationRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM email_verifications WHERE user_id = $1 AND used_at IS NULL
         ORDER BY created_at DESC, id DESC LIMIT 1"
    ))
    .bind(user_id)
    .fetch_optional(ex)
    .await
}

pub async fn count_attempt<'e>(ex: impl Executor<'e, Database = Any>, id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE email_verifications SET attempts = attempts + 1 WHERE id = $1").bind(id).execute(ex).await?;
    Ok(())
}

/// Closes every open challenge of the user (one success spends them all).
pub async fn mark_all_used<'e>(ex: impl Executor<'e, Database = Any>, user_id: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE email_verifications SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}
