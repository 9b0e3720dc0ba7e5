//! Customer credit balances: an append-only ledger of credits and debits (amount, currency,
//! reason, actor, the balance right after) beside one running balance per customer and currency.
//!
//! Race-free on both databases: a change is one transaction that (1) makes sure the balance row
//! exists, (2) moves it with a single conditional `UPDATE … SET balance = balance - $n WHERE
//! balance >= $n RETURNING balance` — SQLite runs write transactions one at a time
//! (`BEGIN IMMEDIATE`), Postgres re-checks the `WHERE` on the newest row version after waiting
//! for the row lock — and (3) appends the ledger entry with the balance it returned. A debit the
//! balance cannot cover changes nothing and is refused with `balance_insufficient`, unless the
//! tenant allows negative balances (settings `allow_negative_balances`).

use sqlx::FromRow;

use crate::{
    domain::{
        balances::{BalanceTransactionIn, BalanceTransactionOut},
        customer_activity::AmountOut,
        dto::List,
        events::{payloads::BalanceChanged, DomainEvent},
        Action, BalanceTransactionId, Currency, Money, PrefixedId,
    },
    error::{AppError, AppResult},
    ssr::{
        auth::TenantAccess,
        bus::EventContext,
        db::{page::Listing, PageParams},
        ids::new_id,
        services::{currencies, customers},
        time_util::from_ms,
        AppState,
    },
};

pub const MAX_REASON: usize = 500;

#[derive(FromRow)]
pub(crate) struct LedgerRow {
    id: String,
    customer_id: String,
    #[sqlx(rename = "type")]
    kind: String,
    amount: i64,
    currency: String,
    reason: String,
    actor: Option<String>,
    actor_type: String,
    balance_after: i64,
    sequence: i64,
    created_at: i64,
}

pub(crate) const LEDGER_COLUMNS: &str = "id, customer_id, type, amount, currency, reason, actor, actor_type, balance_after, sequence, created_at";

pub(crate) fn ledger_out(r: LedgerRow) -> BalanceTransactionOut {
    BalanceTransactionOut {
        object: "customer_balance_transaction".into(),
        id: r.id,
        customer_id: r.customer_id,
        kind: r.kind,
        amount: r.amount,
        currency: r.currency,
        reason: r.reason,
        actor: r.actor,
        actor_type: r.actor_type,
        balance_after: r.balance_after,
        sequence: r.sequence,
        created_at: from_ms(r.created_at),
    }
}

/// Which way a transaction moves the balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Credit,
    Debit,
}

impl Direction {
    pub fn parse(raw: &str) -> AppResult<Self> {
        match raw.trim() {
            "credit" => Ok(Self::Credit),
            "debit" => Ok(Self::Debit),
            _ => Err(AppError::invalid("type_invalid", "type must be credit or debit", Some("type"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Credit => "credit",
            Self::Debit => "debit",
        }
    }
}

/// A validated request: what the ledger will record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub direction: Direction,
    pub money: Money,
    pub reason: String,
}

/// Checks a request's shape (not the currency's status, which needs the tenant).
pub fn parse_change(input: &BalanceTransactionIn, cap_usd_cents: i64) -> AppResult<Change> {
    let direction = Direction::parse(&input.kind)?;
    let currency = Currency::parse(&input.currency)?;
    let money = Money::parse(input.amount, currency, cap_usd_cents, "amount")?;
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(AppError::invalid("reason_invalid", format!("reason must be 1 to {MAX_REASON} characters"), Some("reason")));
    }
    Ok(Change { direction, money, reason: reason.to_owned() })
}

async fn allow_negative<'e>(ex: impl sqlx::Executor<'e, Database = sqlx::Any>, access: &TenantAccess) -> AppResult<bool> {
    let flag: Option<i64> = sqlx::query_scalar("SELECT allow_negative_balances FROM tenant_settings WHERE tenant_id = $1")
        .bind(access.tenant_id.as_str())
        .fetch_optional(ex)
        .await?;
    Ok(flag.unwrap_or(0) != 0)
}

/// Credits or debits a customer's balance: one ledger entry and `balance.credited` /
/// `balance.debited`, committed together.
pub async fn create(state: &AppState, access: &TenantAccess, customer_id: &str, input: BalanceTransactionIn) -> AppResult<BalanceTransactionOut> {
    access.require(Action::BalancesManage)?;
    let change = parse_change(&input, state.config.stripe.checkout_max_amount_usd_cents)?;
    let currency = change.money.currency.as_str().to_owned();
    let amount = change.money.amount;

    let mut tx = state.db.begin().await?;
    let customer = customers::load(&mut *tx, access, customer_id).await?;
    if customer.deleted != 0 {
        return Err(AppError::unprocessable("customer_deleted", "This customer was deleted at Stripe; its balance can no longer change.", None));
    }
    currencies::require_enabled(&mut *tx, &access.tenant_id, &change.money.currency, "currency").await?;
    let negative_ok = allow_negative(&mut *tx, access).await?;
    let now = state.bus.now_ms();

    sqlx::query(
        "INSERT INTO customer_balances (tenant_id, customer_id, currency, balance, updated_at) VALUES ($1, $2, $3, 0, $4)
         ON CONFLICT (customer_id, currency) DO NOTHING",
    )
    .bind(access.tenant_id.as_str())
    .bind(&customer.id)
    .bind(&currency)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let update = match (change.direction, negative_ok) {
        (Direction::Credit, _) => {
            "UPDATE customer_balances SET balance = balance + $1, entries = entries + 1, updated_at = $2 WHERE customer_id = $3 AND currency = $4 RETURNING balance, entries"
        }
        (Direction::Debit, true) => {
            "UPDATE customer_balances SET balance = balance - $1, entries = entries + 1, updated_at = $2 WHERE customer_id = $3 AND currency = $4 RETURNING balance, entries"
        }
        (Direction::Debit, false) => {
            "UPDATE customer_balances SET balance = balance - $1, entries = entries + 1, updated_at = $2 WHERE customer_id = $3 AND currency = $4 AND balance >= $1 RETURNING balance, entries"
        }
    };
    let moved: Option<(i64, i64)> = sqlx::query_as(update).bind(amount).bind(now).bind(&customer.id).bind(&currency).fetch_optional(&mut *tx).await?;
    let Some((balance_after, sequence)) = moved else {
        let current: i64 = sqlx::query_scalar("SELECT balance FROM customer_balances WHERE customer_id = $1 AND currency = $2")
            .bind(&customer.id)
            .bind(&currency)
            .fetch_one(&mut *tx)
            .await?;
        return Err(AppError::unprocessable(
            "balance_insufficient",
            format!(
                "The customer's balance ({}) does not cover a debit of {}; negative balances are not allowed for this account.",
                change.money.currency.format(current),
                change.money.currency.format(amount)
            ),
            Some("amount"),
        ));
    };

    // The row is locked from here to commit: a time taken now orders the ledger like the balance.
    let now = state.bus.now_ms();
    let actor = access.principal.actor();
    let ctx = EventContext::for_access(access);
    let id = new_id::<BalanceTransactionId>();
    let row = LedgerRow {
        id: id.to_string(),
        customer_id: customer.id.clone(),
        kind: change.direction.as_str().into(),
        amount,
        currency: currency.clone(),
        reason: change.reason.clone(),
        actor: Some(actor.id),
        actor_type: ctx.actor_type.as_str().into(),
        balance_after,
        sequence,
        created_at: now,
    };
    sqlx::query(
        "INSERT INTO customer_balance_transactions (id, tenant_id, customer_id, type, amount, currency, reason, actor, actor_type, balance_after, sequence, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&row.id)
    .bind(access.tenant_id.as_str())
    .bind(&row.customer_id)
    .bind(&row.kind)
    .bind(row.amount)
    .bind(&row.currency)
    .bind(&row.reason)
    .bind(&row.actor)
    .bind(&row.actor_type)
    .bind(row.balance_after)
    .bind(row.sequence)
    .bind(row.created_at)
    .execute(&mut *tx)
    .await?;
    let payload = BalanceChanged {
        transaction_id: row.id.clone(),
        customer_id: customer.id.clone(),
        stripe_customer_id: Some(customer.stripe_customer_id.clone()),
        customer_email: customer.email.clone(),
        amount,
        currency,
        balance_after,
        reason: change.reason,
    };
    let event = match change.direction {
        Direction::Credit => DomainEvent::BalanceCredited(payload),
        Direction::Debit => DomainEvent::BalanceDebited(payload),
    };
    state.bus.publish(&mut tx, &ctx, event).await?;
    state.bus.commit(tx).await?;
    Ok(ledger_out(row))
}

/// A customer's ledger, newest first.
pub async fn ledger(state: &AppState, access: &TenantAccess, customer_id: &str, page: &PageParams) -> AppResult<List<BalanceTransactionOut>> {
    access.require(Action::BillingRead)?;
    let customer = customers::load(&state.db.pool, access, customer_id).await?;
    let listing = Listing {
        columns: LEDGER_COLUMNS,
        from_where: "FROM customer_balance_transactions WHERE tenant_id = $1 AND customer_id = $2",
        time_column: "created_at",
        key_column: "id",
        binds: vec![access.tenant_id.as_str().into(), customer.id.into()],
    };
    let (rows, has_more): (Vec<LedgerRow>, bool) = listing.fetch(&state.db, page).await?;
    Ok(List::new(rows.into_iter().map(ledger_out).collect(), has_more))
}

/// The balances of these customers, per currency (customer id → amounts), currency order.
pub(crate) async fn balances_of(state: &AppState, access: &TenantAccess, customer_ids: &[String]) -> AppResult<Vec<(String, AmountOut)>> {
    if customer_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut binds: Vec<crate::ssr::db::page::Bind> = vec![access.tenant_id.as_str().into()];
    let marks: Vec<String> = customer_ids
        .iter()
        .map(|id| {
            binds.push(id.as_str().into());
            format!("${}", binds.len())
        })
        .collect();
    let sql = format!(
        "SELECT customer_id, currency, balance FROM customer_balances WHERE tenant_id = $1 AND customer_id IN ({}) ORDER BY customer_id, currency",
        marks.join(", ")
    );
    let rows: Vec<(String, String, i64)> = crate::ssr::db::page::bind_all(sqlx::query_as(&sql), &binds).fetch_all(&state.db.pool).await?;
    Ok(rows.into_iter().map(|(id, currency, amount)| (id, AmountOut { currency, amount })).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAP: i64 = 10_000_000;

    fn input(kind: &str, amount: i64, currency: &str, reason: &str) -> BalanceTransactionIn {
        BalanceTransactionIn { kind: kind.into(), amount, currency: currency.into(), reason: reason.into() }
    }

    #[test]
    fn a_change_needs_a_direction_a_positive_amount_a_real_currency_and_a_reason() {
        let ok = parse_change(&input("credit", 500, "EUR", "  goodwill  "), CAP).unwrap();
        assert_eq!((ok.direction, ok.money.amount, ok.money.currency.as_str(), ok.reason.as_str()), (Direction::Credit, 500, "eur", "goodwill"));
        let cases = [
            (input("refund", 500, "usd", "x"), "type_invalid"),
            (input("debit", 0, "usd", "x"), "amount_invalid"),
            (input("debit", -5, "usd", "x"), "amount_invalid"),
            (input("debit", 5, "dollars", "x"), "currency_invalid"),
            (input("debit", 1005, "kwd", "x"), "amount_invalid"),
            (input("debit", 5, "usd", "   "), "reason_invalid"),
            (input("debit", 5, "usd", &"r".repeat(MAX_REASON + 1)), "reason_invalid"),
            (input("credit", CAP + 1, "usd", "x"), "amount_too_large"),
        ];
        for (request, code) in cases {
            assert_eq!(parse_change(&request, CAP).unwrap_err().code(), code, "{request:?}");
        }
    }
}
