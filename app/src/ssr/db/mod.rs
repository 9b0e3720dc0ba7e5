//! The repository layer: one set of queries for SQLite and PostgreSQL.
//!
//! Queries go through sqlx's `Any` driver with `$1`-style placeholders, which both SQLite and
//! Postgres accept, and portable column types (TEXT ids, BIGINT Unix-millisecond times). What
//! still differs between the two lives in [`dialect`] and nowhere else.

pub mod api_keys;
pub mod dialect;
pub mod invitations;
pub mod mailbox;
pub mod memberships;
pub mod page;
pub mod refresh_tokens;
pub mod sessions;
pub mod tenants;
pub mod users;
pub mod verifications;

pub use dialect::Dialect;
pub use page::PageParams;

use crate::error::AppError;
use sqlx::{any::AnyPoolOptions, AnyPool};
use std::time::Duration;

/// A connection pool and the dialect it speaks.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub dialect: Dialect,
}

pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported DATABASE_URL scheme (use sqlite: or postgres://)")]
    UnsupportedUrl,
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("cannot connect to the database: {0}")]
    Connect(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl Db {
    /// Connects (creating the SQLite file and its directory on first run).
    pub async fn connect(url: &str, max_connections: u32, acquire_timeout: Duration) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::from_url(url).ok_or(DbError::UnsupportedUrl)?;
        if dialect == Dialect::Sqlite {
            if let Some(dir) = dialect::sqlite_file_dir(url) {
                std::fs::create_dir_all(&dir).map_err(|source| DbError::DataDir { path: dir.display().to_string(), source })?;
            }
        }
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    for statement in dialect.connection_setup() {
                        sqlx::query(statement).execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await;
        let pool = match pool {
            Ok(pool) => pool,
            // The pool only says it timed out; one direct attempt tells the operator why
            // (refused, unknown host, bad credentials, no such database).
            Err(sqlx::Error::PoolTimedOut) => {
                use sqlx::Connection;
                let cause = match sqlx::AnyConnection::connect(url).await {
                    Ok(_) => sqlx::Error::PoolTimedOut,
                    Err(e) => e,
                };
                return Err(DbError::Connect(cause));
            }
            Err(e) => return Err(DbError::Connect(e)),
        };
        Ok(Self { pool, dialect })
    }

    pub async fn migrate(&self) -> Result<(), DbError> {
        self.dialect.migrator().run(&self.pool).await?;
        Ok(())
    }

    /// A write transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`): a
    /// deferred transaction that reads, then writes, fails with SQLITE_BUSY when another writer
    /// got in between, whereas an immediate one simply waits its turn (busy_timeout).
    pub async fn begin(&self) -> Result<Tx, AppError> {
        Ok(match self.dialect.begin_write_statement() {
            Some(statement) => self.pool.begin_with(statement).await?,
            None => self.pool.begin().await?,
        })
    }

    /// Readiness probe: one round trip.
    pub async fn ping(&self) -> Result<(), AppError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// The database said no: a unique key already holds this value. Decided by the driver's error
/// kind and the constraint name, never by searching message text.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
                tracing::error!(error = %err, "database unavailable");
                AppError::Unavailable { message: "The database is unavailable; try again shortly.".into() }
            }
            sqlx::Error::Database(ref db) if dialect::is_connection_lost(db.as_ref()) => {
                tracing::error!(error = %err, "database unavailable");
                AppError::Unavailable { message: "The database is unavailable; try again shortly.".into() }
            }
            other => {
                tracing::error!(error = %other, "database error");
                AppError::Internal
            }
        }
    }
}
