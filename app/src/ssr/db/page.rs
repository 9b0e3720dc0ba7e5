//! Stripe-style cursor pagination: `limit` (1..=100, default 20), `starting_after` /
//! `ending_before` (an object id). Newest first; the cursor is the (time, id) pair of the object
//! named, so pages stay stable while rows are inserted.

use crate::error::AppError;
use serde::Deserialize;
use sqlx::{any::AnyRow, FromRow};

use super::Db;

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// How many objects to return, 1 to 100 (default 20).
    pub limit: Option<i64>,
    /// An object id: return the objects after it.
    pub starting_after: Option<String>,
    /// An object id: return the objects before it.
    pub ending_before: Option<String>,
}

impl PageParams {
    pub fn validated_limit(&self) -> Result<i64, AppError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(AppError::invalid("parameter_invalid_integer", "limit must be between 1 and 100", Some("limit"))),
        }
    }
}

/// A value bound into a listing's `from_where`.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    Int(i64),
}

impl From<String> for Bind {
    fn from(v: String) -> Self {
        Bind::Text(v)
    }
}

impl From<&str> for Bind {
    fn from(v: &str) -> Self {
        Bind::Text(v.to_owned())
    }
}

impl From<i64> for Bind {
    fn from(v: i64) -> Self {
        Bind::Int(v)
    }
}

/// Binds `binds` in order onto a query.
pub fn bind_all<'q, O>(
    mut q: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    binds: &'q [Bind],
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    for b in binds {
        q = match b {
            Bind::Text(v) => q.bind(v.as_str()),
            Bind::Int(v) => q.bind(*v),
        };
    }
    q
}

/// One listable collection: `SELECT {columns} {from_where}`, keyed by `(time_column, key_column)`.
/// `from_where` binds its own parameters as `$1..$n`, given in `binds`.
pub struct Listing<'a> {
    pub columns: &'a str,
    pub from_where: &'a str,
    pub time_column: &'a str,
    pub key_column: &'a str,
    pub binds: Vec<Bind>,
}

impl Listing<'_> {
    /// One page and whether more objects lie beyond it in the direction of travel.
    pub async fn fetch<T>(&self, db: &Db, page: &PageParams) -> Result<(Vec<T>, bool), AppError>
    where
        T: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
    {
        let limit = page.validated_limit()?;
        let (cursor, param, after) = match (&page.starting_after, &page.ending_before) {
            (Some(_), Some(_)) => {
                return Err(AppError::invalid(
                    "parameters_exclusive",
                    "starting_after and ending_before cannot be used together",
                    Some("ending_before"),
                ))
            }
            (Some(id), None) => (Some(id), "starting_after", true),
            (None, Some(id)) => (Some(id), "ending_before", false),
            (None, None) => (None, "", true),
        };
        let n = self.binds.len();
        let (time, key) = (self.time_column, self.key_column);

        let mut sql = format!("SELECT {} {}", self.columns, self.from_where);
        let mut cursor_time = None;
        if let Some(cursor_id) = cursor {
            let lookup = format!("SELECT {time} {} AND {key} = ${}", self.from_where, n + 1);
            let mut q = sqlx::query_scalar::<_, i64>(&lookup);
            for b in &self.binds {
                q = match b {
                    Bind::Text(v) => q.bind(v),
                    Bind::Int(v) => q.bind(*v),
                };
            }
            let time_of_cursor = q.bind(cursor_id).fetch_optional(&db.pool).await?.ok_or_else(|| {
                AppError::invalid("resource_missing", format!("No such object: {cursor_id}"), Some(param))
            })?;
            let cmp = if after { "<" } else { ">" };
            sql.push_str(&format!(
                " AND ({time} {cmp} ${a} OR ({time} = ${a} AND {key} {cmp} ${b}))",
                a = n + 1,
                b = n + 2
            ));
            cursor_time = Some(time_of_cursor);
        }
        let dir = if after { "DESC" } else { "ASC" };
        sql.push_str(&format!(" ORDER BY {time} {dir}, {key} {dir} LIMIT {}", limit + 1));

        let mut q = sqlx::query_as::<_, T>(&sql);
        for b in &self.binds {
            q = match b {
                Bind::Text(v) => q.bind(v),
                Bind::Int(v) => q.bind(*v),
            };
        }
        if let (Some(cursor_id), Some(t)) = (cursor, cursor_time) {
            q = q.bind(t).bind(cursor_id);
        }
        let mut rows = q.fetch_all(&db.pool).await?;
        let has_more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        if !after {
            rows.reverse();
        }
        Ok((rows, has_more))
    }
}
