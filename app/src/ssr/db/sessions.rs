//! `sessions`: tower-sessions records, stored as JSON text.

use sqlx::{Any, Executor};

pub async fn upsert<'e>(ex: impl Executor<'e, Database = Any>, id: &str, data: &str, expiry: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id, data, expiry_date) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET data = excluded.data, expiry_date = excluded.expiry_date",
    )
    .bind(id)
    .bind(data)
    .bind(expiry)
    .execute(ex)
    .await?;
    Ok(())
}

/// Inserts only if the id is new; false on a collision.
pub async fn insert_new<'e>(ex: impl Executor<'e, Database = Any>, id: &str, data: &str, expiry: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("INSERT INTO sessions (id, data, expiry_date) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING")
        .bind(id)
        .bind(data)
        .bind(expiry)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn load<'e>(ex: impl Executor<'e, Database = Any>, id: &str, now: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT data FROM sessions WHERE id = $1 AND expiry_date > $2")
        .bind(id)
        .bind(now)
        .fetch_optional(ex)
        .await
}

pub async fn delete<'e>(ex: impl Executor<'e, Database = Any>, id: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id).execute(ex).await?;
    Ok(())
}

pub async fn delete_expired<'e>(ex: impl Executor<'e, Database = Any>, now: i64) -> sqlx::Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE expiry_date <= $1").bind(now).execute(ex).await?.rows_affected())
}
