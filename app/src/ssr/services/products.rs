//! Products sold through checkout, with an optional limit on how many may ever be bought
//! (tickets, donations with a goal, limited runs). The limit holds under concurrency: the count
//! is taken by one conditional UPDATE, so two buyers of the last unit cannot both get it.

use crate::{
    domain::{
        dto::List,
        stripe_out::{ProductIn, ProductOut},
        Action, Currency, Money, PrefixedId, ProductId,
    },
    error::{AppError, AppResult},
    ssr::{
        auth::TenantAccess,
        db::{page::Listing, PageParams},
        ids::new_id,
        time_util::now_ms,
        AppState,
    },
};

#[derive(sqlx::FromRow)]
struct ProductRow {
    id: String,
    name: String,
    unit_amount: i64,
    currency: String,
    max_purchases: Option<i64>,
    purchases: i64,
    active: i64,
}

impl From<ProductRow> for ProductOut {
    fn from(r: ProductRow) -> Self {
        ProductOut {
            id: r.id,
            name: r.name,
            unit_amount: r.unit_amount,
            currency: r.currency,
            max_purchases: r.max_purchases,
            purchases: r.purchases,
            active: r.active != 0,
        }
    }
}

const COLUMNS: &str = "id, name, unit_amount, currency, max_purchases, purchases, active";

pub async fn create(state: &AppState, access: &TenantAccess, input: ProductIn) -> AppResult<ProductOut> {
    access.require(Action::ProductsManage)?;
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 250 {
        return Err(AppError::invalid("name_invalid", "name must be 1 to 250 characters", Some("name")));
    }
    let currency = Currency::parse(&input.currency)?;
    let money = Money::parse(input.unit_amount, currency, state.config.stripe.checkout_max_amount_usd_cents, "unit_amount")?;
    if input.max_purchases.is_some_and(|m| m <= 0) {
        return Err(AppError::invalid("max_purchases_invalid", "max_purchases must be a positive integer", Some("max_purchases")));
    }
    // Issue 7: a product can only be priced in a currency the tenant has enabled.
    super::currencies::require_enabled(&state.db.pool, &access.tenant_id, &money.currency, "currency").await?;
    let id = new_id::<ProductId>().to_string();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO products (id, tenant_id, name, unit_amount, currency, max_purchases, purchases, active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 0, 1, $7, $7)",
    )
    .bind(&id)
    .bind(access.tenant_id.as_str())
    .bind(name)
    .bind(money.amount)
    .bind(money.currency.as_str())
    .bind(input.max_purchases)
    .bind(now)
    .execute(&state.db.pool)
    .await?;
    get(state, access, &id).await
}

pub async fn get(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<ProductOut> {
    access.require(Action::ProductsRead).or_else(|_| access.require(Action::CheckoutCreate))?;
    let id = ProductId::parse(id).map_err(|_| AppError::not_found("product"))?;
    let row: ProductRow = sqlx::query_as(&format!("SELECT {COLUMNS} FROM products WHERE id = $1 AND tenant_id = $2"))
        .bind(id.as_str())
        .bind(access.tenant_id.as_str())
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or_else(|| AppError::not_found("product"))?;
    Ok(row.into())
}

pub async fn list(state: &AppState, access: &TenantAccess, page: &PageParams) -> AppResult<List<ProductOut>> {
    access.require(Action::ProductsRead)?;
    let listing = Listing {
        columns: COLUMNS,
        from_where: "FROM products WHERE tenant_id = $1",
        time_column: "created_at",
        key_column: "id",
        binds: vec![access.tenant_id.as_str().into()],
    };
    let (rows, has_more): (Vec<ProductRow>, bool) = listing.fetch(&state.db, page).await?;
    Ok(List::new(rows.into_iter().map(Into::into).collect(), has_more))
}

/// Takes one unit, or says the product is sold out.
pub async fn reserve_purchase(state: &AppState, access: &TenantAccess, product_id: &str) -> AppResult<()> {
    let taken = sqlx::query(
        "UPDATE products SET purchases = purchases + 1, updated_at = $3
         WHERE id = $1 AND tenant_id = $2 AND active = 1 AND (max_purchases IS NULL OR purchases < max_purchases)",
    )
    .bind(product_id)
    .bind(access.tenant_id.as_str())
    .bind(now_ms())
    .execute(&state.db.pool)
    .await?
    .rows_affected();
    if taken == 1 {
        Ok(())
    } else {
        Err(AppError::conflict("product_sold_out", "This product has reached its purchase limit.", Some("product_id")))
    }
}

/// Gives a unit back when its checkout could not be created.
pub async fn release_purchase(state: &AppState, product_id: &str) -> AppResult<()> {
    sqlx::query("UPDATE products SET purchases = purchases - 1, updated_at = $2 WHERE id = $1 AND purchases > 0")
        .bind(product_id)
        .bind(now_ms())
        .execute(&state.db.pool)
        .await?;
    Ok(())
}
