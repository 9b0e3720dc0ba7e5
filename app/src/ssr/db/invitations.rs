//! `invitations`: an email invited into a tenant with a role, accepted by a link.

use sqlx::{Any, Executor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct InvitationRow {
    pub id: String,
    pub tenant_id: String,
    pub email: String,
    pub role: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub const COLUMNS: &str = "id, tenant_id, email, role, created_at, expires_at, accepted_at, revoked_at";

pub struct NewInvitation<'a> {
    pub id: &'a str,
    pub tenant_id: &'a str,
    pub email: &'a str,
    pub role: &'a str,
    pub token_hash: &'a str,
    pub invited_by: Option<&'a str>,
    pub now: i64,
    pub expires_at: i64,
}

pub async fn insert<'e>(ex: impl Executor<'e, Database = Any>, i: NewInvitation<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO invitations (id, tenant_id, email, role, token_hash, invited_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(i.id)
    .bind(i.tenant_id)
    .bind(i.email)
    .bind(i.role)
    .bind(i.token_hash)
    .bind(i.invited_by)
    .bind(i.now)
    .bind(i.expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn find_by_token<'e>(ex: impl Executor<'e, Database = Any>, token_hash: &str) -> sqlx::Result<Option<InvitationRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM invitations WHERE token_hash = $1"))
        .bind(token_hash)
        .fetch_optional(ex)
        .await
}

pub async fn find<'e>(ex: impl Executor<'e, Database = Any>, tenant_id: &str, id: &str) -> sqlx::Result<Option<InvitationRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM invitations WHERE tenant_id = $1 AND id = $2"))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(ex)
        .await
}

pub fn listing(tenant_id: &str) -> super::page::Listing<'static> {
    super::page::Listing {
        columns: COLUMNS,
        from_where: "FROM invitations WHERE tenant_id = $1",
        time_column: "created_at",
        key_column: "id",
        binds: vec![tenant_id.into()],
    }
}

/// Marks a pending invitation accepted; false when it was no longer pending (a concurrent accept).
pub async fn mark_accepted<'e>(ex: impl Executor<'e, Database = Any>, id: &str, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE invitations SET accepted_at = $2 WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn revoke<'e>(ex: impl Executor<'e, Database = Any>, tenant_id: &str, id: &str, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE invitations SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}
