//! Moving money on an existing payment: capture, cancel, refund — on the connected account the
//! payment belongs to. Stripe stays the authority: what we write here is the request and the
//! timeline entry; the ledger's amounts follow from Stripe's webhooks.

use std::collections::HashMap;

use stripe_core::{
    payment_intent::{CancelPaymentIntent, CapturePaymentIntent},
    refund::{CreateRefund, CreateRefundReason},
};

use super::{
    connect::{str_field, unreadable},
    payment_audit::{self, Entry},
    stripe_access::{payment_gateway, stripe_idempotency_key},
};
use crate::{
    domain::{
        stripe_out::{CaptureIn, PaymentActionOut, RefundIn, RefundRequestOut},
        Action, PaymentId, PrefixedId, RefundRequestId, TimelineEntryId,
    },
    error::{AppError, AppResult},
    ssr::{
        auth::TenantAccess,
        db::Tx,
        ids::new_id,
        ledger::{ingest::lock_payment, refund_requests},
        stripe::client::{OnBehalfOf, StripeGateway},
        time_util::{from_ms, now_ms},
        AppState,
    },
};

#[derive(sqlx::FromRow)]
struct PaymentRow {
    id: String,
    stripe_payment_intent: Option<String>,
    stripe_charge: Option<String>,
    connected_account: Option<String>,
    amount: i64,
    currency: String,
    status: String,
}

const PAYMENT_COLUMNS: &str = "id, stripe_payment_intent, stripe_charge, connected_account, amount, currency, status";

async fn load(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<PaymentRow> {
    let id = PaymentId::parse(id).map_err(|_| AppError::not_found("payment"))?;
    sqlx::query_as(&format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = $1 AND tenant_id = $2"))
        .bind(id.as_str())
        .bind(access.tenant_id.as_str())
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or_else(|| AppError::not_found("payment"))
}

async fn gateway(state: &AppState, access: &TenantAccess, payment: &PaymentRow) -> AppResult<(StripeGateway, OnBehalfOf)> {
    payment_gateway(state, &access.tenant_id, payment.connected_account.as_deref()).await
}

/// Audits an action Stripe refused (or did not answer), outside the failed request's transaction.
async fn audit_failure(state: &AppState, access: &TenantAccess, action: &str, payment: &PaymentRow, amount: Option<i64>, error: &AppError) -> AppResult<()> {
    let actor = access.principal.actor().id;
    let result = if matches!(error.code(), "stripe_timeout" | "stripe_unreachable") { "pending_reconciliation" } else { "failed" };
    let entry = Entry { payment_id: Some(&payment.id), amount, currency: Some(&payment.currency), detail: Some(format!("{}: {}", error.code(), error)), ..Entry::by(access, &actor, action, result) };
    payment_audit::record_now(state, entry).await
}

fn intent(payment: &PaymentRow) -> AppResult<&str> {
    payment.stripe_payment_intent.as_deref().ok_or_else(|| {
        AppError::unprocessable("payment_intent_missing", "This payment has no PaymentIntent (a bare charge); it cannot be captured or canceled.", None)
    })
}

/// Captures an authorised payment, in full or in part.
pub async fn capture(state: &AppState, access: &TenantAccess, id: &str, input: CaptureIn, client_key: &str) -> AppResult<PaymentActionOut> {
    access.require(Action::PaymentsCapture)?;
    let payment = load(state, access, id).await?;
    let pi = intent(&payment)?;
    if payment.status != "requires_capture" {
        return Err(AppError::unprocessable(
            "payment_not_capturable",
            format!("Only an authorised payment awaiting capture can be captured; this one is {}.", payment.status),
            None,
        ));
    }
    let mut request = CapturePaymentIntent::new(pi);
    if let Some(amount) = input.amount {
        if amount <= 0 {
            return Err(AppError::invalid("amount_invalid", "amount must be a positive integer in minor units", Some("amount")));
        }
        if amount > payment.amount {
            return Err(AppError::unprocessable(
                "amount_exceeds_capturable",
                format!("amount ({amount}) exceeds the capturable amount ({})", payment.amount),
                Some("amount"),
            ));
        }
        request = request.amount_to_capture(amount);
    }
    let key = stripe_idempotency_key(&access.tenant_id, &format!("capture:{}", payment.id), client_key);
    let (gateway, account) = gateway(state, access, &payment).await?;
    let intent = match gateway.send(StripeGateway::request(&request), &account, Some(&key)).await {
        Ok(intent) => intent,
        Err(e) => {
            audit_failure(state, access, "payment.capture", &payment, input.amount, &e).await?;
            return Err(e);
        }
    };
    let out = action_out(&payment, "capture", &intent)?;
    let mut tx = state.db.begin().await?;
    timeline(&mut tx, access, &payment.id, "Capture requested", &out.stripe_status, serde_json::json!({ "amount": input.amount })).await?;
    let actor = access.principal.actor().id;
    let entry = Entry { payment_id: Some(&payment.id), amount: Some(out.amount), currency: Some(&payment.currency), ..Entry::by(access, &actor, "payment.capture", "succeeded") };
    payment_audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(out)
}

/// Cancels a payment that has not been captured.
pub async fn cancel(state: &AppState, access: &TenantAccess, id: &str, client_key: &str) -> AppResult<PaymentActionOut> {
    access.require(Action::PaymentsCancel)?;
    let payment = load(state, access, id).await?;
    let pi = intent(&payment)?;
    const CANCELABLE: [&str; 4] = ["requires_payment_method", "requires_confirmation", "requires_action", "requires_capture"];
    if !CANCELABLE.contains(&payment.status.as_str()) {
        return Err(AppError::unprocessable(
            "payment_not_cancelable",
            format!("A payment that is {} can no longer be canceled; refund it instead.", payment.status),
            None,
        ));
    }
    let key = stripe_idempotency_key(&access.tenant_id, &format!("cancel:{}", payment.id), client_key);
    let (gateway, account) = gateway(state, access, &payment).await?;
    let intent = match gateway.send(StripeGateway::request(&CancelPaymentIntent::new(pi)), &account, Some(&key)).await {
        Ok(intent) => intent,
        Err(e) => {
            audit_failure(state, access, "payment.cancel", &payment, None, &e).await?;
            return Err(e);
        }
    };
    let out = action_out(&payment, "cancel", &intent)?;
    let mut tx = state.db.begin().await?;
    timeline(&mut tx, access, &payment.id, "Cancel requested", &out.stripe_status, serde_json::json!({})).await?;
    let actor = access.principal.actor().id;
    let entry = Entry { payment_id: Some(&payment.id), amount: Some(payment.amount), currency: Some(&payment.currency), ..Entry::by(access, &actor, "payment.cancel", "succeeded") };
    payment_audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(out)
}

fn action_out(payment: &PaymentRow, action: &str, intent: &serde_json::Value) -> AppResult<PaymentActionOut> {
    Ok(PaymentActionOut {
        payment_id: payment.id.clone(),
        action: action.into(),
        stripe_status: str_field(intent, "status").ok_or_else(unreadable)?,
        amount: intent.get("amount_received").and_then(|v| v.as_i64()).filter(|a| *a > 0).unwrap_or(payment.amount),
        currency: payment.currency.clone(),
    })
}

async fn timeline(tx: &mut Tx, access: &TenantAccess, payment_id: &str, title: &str, status_after: &str, detail: serde_json::Value) -> AppResult<()> {
    let now = now_ms();
    let detail = serde_json::json!({ "actor": access.principal.actor().id, "request": detail });
    sqlx::query(
        "INSERT INTO event_logs (id, tenant_id, payment_id, source, title, stripe_event_id, stripe_type, status_after, detail, occurred_at, created_at)
         VALUES ($1, $2, $3, 'api', $4, NULL, NULL, $5, $6, $7, $7)",
    )
    .bind(new_id::<TimelineEntryId>().as_str())
    .bind(access.tenant_id.as_str())
    .bind(payment_id)
    .bind(title)
    .bind(status_after)
    .bind(detail.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct RequestRow {
    id: String,
    payment_id: String,
    amount: i64,
    currency: String,
    reason: Option<String>,
    status: String,
    stripe_refund_id: Option<String>,
    created_at: i64,
}

impl RequestRow {
    fn out(self, stripe_status: Option<String>) -> RefundRequestOut {
        RefundRequestOut {
            id: self.id,
            payment_id: self.payment_id,
            amount: self.amount,
            currency: self.currency,
            reason: self.reason,
            status: self.status,
            stripe_status,
            stripe_refund_id: self.stripe_refund_id,
            created_at: from_ms(self.created_at),
        }
    }
}

const REQUEST_COLUMNS: &str = "id, payment_id, amount, currency, reason, status, stripe_refund_id, created_at";

fn parse_reason(raw: Option<&str>) -> AppResult<Option<CreateRefundReason>> {
    match raw {
        None => Ok(None),
        Some("duplicate") => Ok(Some(CreateRefundReason::Duplicate)),
        Some("fraudulent") => Ok(Some(CreateRefundReason::Fraudulent)),
        Some("requested_by_customer") => Ok(Some(CreateRefundReason::RequestedByCustomer)),
        Some(other) => Err(AppError::invalid(
            "reason_invalid",
            format!("`{other}` is not a refund reason (duplicate, fraudulent, requested_by_customer)"),
            Some("reason"),
        )),
    }
}

/// Refunds a payment in full or in part. Never refunds more than was captured minus what is
/// refunded or already being refunded, even under concurrent requests.
pub async fn refund(state: &AppState, access: &TenantAccess, input: RefundIn, client_key: &str) -> AppResult<RefundRequestOut> {
    access.require(Action::RefundsCreate)?;
    let reason = parse_reason(input.reason.as_deref())?;
    if let Some(amount) = input.amount {
        if amount <= 0 {
            return Err(AppError::invalid("amount_invalid", "amount must be a positive integer in minor units", Some("amount")));
        }
    }
    let payment = load(state, access, &input.payment_id).await.map_err(|e| match e {
        AppError::NotFound { .. } => AppError::NotFound { message: format!("No such payment: {}", input.payment_id) },
        other => other,
    })?;
    if payment.stripe_payment_intent.is_none() && payment.stripe_charge.is_none() {
        return Err(AppError::unprocessable("payment_not_refundable", "This payment has nothing at Stripe to refund.", Some("payment_id")));
    }

    let request = reserve(state, access, &payment, input.amount, input.reason.as_deref(), client_key).await?;
    if request.status != "requested" {
        // The same client request again after it completed: answer what it became.
        return Ok(request.out(None));
    }

    let mut stripe_request = CreateRefund::new()
        .amount(request.amount)
        .metadata(HashMap::from([
            ("paybus_refund_request".to_owned(), request.id.clone()),
            ("paybus_tenant".to_owned(), access.tenant_id.to_string()),
        ]));
    stripe_request = match (&payment.stripe_payment_intent, &payment.stripe_charge) {
        (Some(pi), _) => stripe_request.payment_intent(pi.as_str()),
        (None, Some(ch)) => stripe_request.charge(ch.as_str()),
        (None, None) => unreachable!("checked above"),
    };
    if let Some(reason) = reason {
        stripe_request = stripe_request.reason(reason);
    }
    let key = stripe_idempotency_key(&access.tenant_id, "refund", client_key);
    let (gateway, account) = gateway(state, access, &payment).await?;
    let result = gateway.send(StripeGateway::request(&stripe_request), &account, Some(&key)).await;
    let refund = match result {
        Ok(refund) => refund,
        Err(AppError::Upstream { code, message }) if code == "stripe_timeout" || code == "stripe_unreachable" => {
            // Stripe may have made the refund. The request keeps its reservation (pending
            // reconciliation): a retry with the same key, or Stripe's webhook, settles it.
            let e = AppError::Upstream { code, message };
            audit_failure(state, access, "refund.create", &payment, Some(request.amount), &e).await?;
            return Err(e);
        }
        Err(e) => {
            audit_failure(state, access, "refund.create", &payment, Some(request.amount), &e).await?;
            sqlx::query("UPDATE refund_requests SET status = 'failed', error = $2, updated_at = $3 WHERE id = $1")
                .bind(&request.id)
                .bind(e.to_string())
                .bind(now_ms())
                .execute(&state.db.pool)
                .await?;
            return Err(e);
        }
    };
    let stripe_refund_id = str_field(&refund, "id").ok_or_else(unreadable)?;
    let stripe_status = str_field(&refund, "status");

    // If this write fails, Stripe has the refund and our request still reserves its amount:
    // the `refund.*` webhook (carrying paybus_refund_request) settles it, and a retry with the
    // same Idempotency-Key gets the same refund back from Stripe — never a second one.
    let mut tx = state.db.begin().await?;
    // Stripe's refund.* webhook may be applying this very refund right now: take the payment's
    // lock first, as the ledger does, so the two wait for each other instead of deadlocking.
    lock_payment(&mut tx, state.db.dialect, payment.stripe_payment_intent.as_deref(), payment.stripe_charge.as_deref()).await?;
    sqlx::query("UPDATE refund_requests SET status = 'submitted', stripe_refund_id = $2, updated_at = $3 WHERE id = $1 AND status = 'requested'")
        .bind(&request.id)
        .bind(&stripe_refund_id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    // The webhook may have beaten us here; then it already settled the request.
    let already_in_ledger: Option<String> = sqlx::query_scalar("SELECT id FROM refunds WHERE stripe_refund_id = $1 AND tenant_id = $2")
        .bind(&stripe_refund_id)
        .bind(access.tenant_id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    if already_in_ledger.is_some() {
        refund_requests::settle(&mut tx, access.tenant_id.as_str(), &stripe_refund_id, Some(&request.id), now_ms()).await?;
    }
    let detail = serde_json::json!({ "amount": request.amount, "currency": request.currency, "refund_request": request.id });
    timeline(&mut tx, access, &payment.id, "Refund requested", &payment.status, detail).await?;
    let actor = access.principal.actor().id;
    let entry = Entry {
        payment_id: Some(&payment.id),
        amount: Some(request.amount),
        currency: Some(&request.currency),
        detail: Some(format!("refund request {}; Stripe status {}", request.id, stripe_status.as_deref().unwrap_or("unknown"))),
        ..Entry::by(access, &actor, "refund.create", "succeeded")
    };
    payment_audit::record(&mut tx, entry).await?;
    tx.commit().await?;

    let row: RequestRow = sqlx::query_as(&format!("SELECT {REQUEST_COLUMNS} FROM refund_requests WHERE id = $1"))
        .bind(&request.id)
        .fetch_one(&state.db.pool)
        .await?;
    Ok(row.out(stripe_status))
}

/// Finds this client request's refund request, or reserves a new one if the payment still has
/// that much to refund. One write transaction, so concurrent refunds see each other.
async fn reserve(state: &AppState, access: &TenantAccess, payment: &PaymentRow, amount: Option<i64>, reason: Option<&str>, client_key: &str) -> AppResult<RequestRow> {
    let mut tx = state.db.begin().await?;
    lock_payment(&mut tx, state.db.dialect, payment.stripe_payment_intent.as_deref(), payment.stripe_charge.as_deref()).await?;
    // A key names one request while idempotency records last; after that it may be reused.
    let since = now_ms() - state.config.idempotency_ttl.as_millis() as i64;
    let existing: Option<RequestRow> = sqlx::query_as(&format!(
        "SELECT {REQUEST_COLUMNS} FROM refund_requests WHERE tenant_id = $1 AND idempotency_key = $2 AND created_at >= $3 ORDER BY created_at DESC LIMIT 1"
    ))
        .bind(access.tenant_id.as_str())
        .bind(client_key)
        .bind(since)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(existing) = existing {
        if existing.payment_id != payment.id || amount.is_some_and(|a| a != existing.amount) {
            return Err(AppError::unprocessable(
                "idempotency_key_reused",
                "This Idempotency-Key was already used for a different refund.",
                None,
            ));
        }
        if existing.status == "failed" {
            // Stripe refused it before; this is a fresh attempt under the same key.
            sqlx::query("UPDATE refund_requests SET status = 'requested', error = NULL, updated_at = $2 WHERE id = $1")
                .bind(&existing.id)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(RequestRow { status: "requested".into(), ..existing });
        }
        tx.commit().await?;
        return Ok(existing);
    }
    let locked: (i64, i64) = sqlx::query_as(&format!(
        "SELECT amount_captured, amount_refunded FROM payments WHERE id = $1{}",
        state.db.dialect.for_update()
    ))
    .bind(&payment.id)
    .fetch_one(&mut *tx)
    .await?;
    let refundable = locked.0 - locked.1 - refund_requests::reserved(&mut tx, &payment.id).await?;
    if refundable <= 0 {
        return Err(AppError::unprocessable(
            "payment_not_refundable",
            "Nothing is left to refund on this payment (or a refund of the rest is in progress).",
            Some("payment_id"),
        ));
    }
    let amount = amount.unwrap_or(refundable);
    if amount > refundable {
        return Err(AppError::unprocessable(
            "amount_exceeds_refundable",
            format!("amount ({amount}) exceeds the refundable amount ({refundable})"),
            Some("amount"),
        ));
    }
    let now = now_ms();
    let id = new_id::<RefundRequestId>().to_string();
    sqlx::query(
        "INSERT INTO refund_requests (id, tenant_id, payment_id, idempotency_key, amount, currency, reason, status, actor, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'requested', $8, $9, $9)",
    )
    .bind(&id)
    .bind(access.tenant_id.as_str())
    .bind(&payment.id)
    .bind(client_key)
    .bind(amount)
    .bind(&payment.currency)
    .bind(reason)
    .bind(access.principal.actor().id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(RequestRow {
        id,
        payment_id: payment.id.clone(),
        amount,
        currency: payment.currency.clone(),
        reason: reason.map(str::to_owned),
        status: "requested".into(),
        stripe_refund_id: None,
        created_at: now,
    })
}
