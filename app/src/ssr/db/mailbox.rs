//! `dev_mailbox`: what the development mail transport captured.

use sqlx::{Any, Executor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct MailRow {
    pub id: String,
    pub to_addr: String,
    pub subject: String,
    pub body: String,
    pub created_at: i64,
}

pub async fn insert<'e>(ex: impl Executor<'e, Database = Any>, row: &MailRow) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO dev_mailbox (id, to_addr, subject, body, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&row.id)
        .bind(&row.to_addr)
        .bind(&row.subject)
        .bind(&row.body)
        .bind(row.created_at)
        .execute(ex)
        .await?;
    Ok(())
}

pub fn listing() -> super::page::Listing<'static> {
    super::page::Listing {
        columns: "id, to_addr, subject, body, created_at",
        from_where: "FROM dev_mailbox WHERE 1 = 1",
        time_column: "created_at",
        key_column: "id",
        binds: vec![],
    }
}
