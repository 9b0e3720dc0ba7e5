//! The risk review queue: payments the `risk` plugin flagged, newest first, and the reviewer's
//! verdict on each — safe, or fraudulent (which publishes `payment.reported_fraudulent` so
//! alerts and integrations can act). A verdict is final: the status check and the change are one
//! conditional update, so two reviewers clicking at once close a review once.

use serde::Deserialize;
use sqlx::FromRow;

use crate::{
    domain::{
        dto::List,
        events::DomainEvent,
        risk::{RiskReason, RiskReviewIn, RiskReviewOut, REVIEW_STATUSES},
        Action, PrefixedId,
    },
    error::{AppError, AppResult},
    ssr::{
        auth::TenantAccess,
        bus::EventContext,
        db::{
            page::{Bind, Listing},
            PageParams,
        },
        plugins::builtin::risk::{payment_brief, risk_payload, timeline_entry},
        time_util::from_ms,
        AppState,
    },
};

/// Filters of `GET /api/v1/risk/reviews`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct ReviewQuery {
    /// open, closed (safe or fraudulent), safe or fraudulent; all when absent.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
}

impl ReviewQuery {
    pub fn page(&self) -> PageParams {
        PageParams { limit: self.limit, starting_after: self.starting_after.clone(), ending_before: self.ending_before.clone() }
    }
}

#[derive(Debug, Clone, FromRow)]
struct ReviewRow {
    payment_id: String,
    status: String,
    score: i64,
    threshold: i64,
    reasons: String,
    flagged_at: i64,
    reviewed_by: Option<String>,
    reviewed_at: Option<i64>,
    note: Option<String>,
    amount: i64,
    currency: String,
    customer_email: Option<String>,
    payment_status: String,
}

const COLUMNS: &str = "r.payment_id AS payment_id, r.status AS status, r.score AS score, r.threshold AS threshold, r.reasons AS reasons,
    r.flagged_at AS flagged_at, r.reviewed_by AS reviewed_by, r.reviewed_at AS reviewed_at, r.note AS note, p.amount AS amount,
    p.currency AS currency, p.customer_email AS customer_email, p.status AS payment_status";
const FROM: &str = "FROM risk_reviews r JOIN payments p ON p.id = r.payment_id WHERE r.tenant_id = $1";

fn out(r: ReviewRow) -> RiskReviewOut {
    let reasons: Vec<RiskReason> = serde_json::from_str(&r.reasons).unwrap_or_else(|e| {
        tracing::error!(payment = %r.payment_id, error = %e, "stored risk reasons unreadable");
        Vec::new()
    });
    RiskReviewOut {
        id: r.payment_id.clone(),
        object: "risk_review".into(),
        payment_id: r.payment_id,
        status: r.status,
        score: r.score,
        threshold: r.threshold,
        reasons,
        amount: r.amount,
        currency: r.currency,
        customer_email: r.customer_email,
        payment_status: r.payment_status,
        flagged_at: from_ms(r.flagged_at),
        reviewed_by: r.reviewed_by,
        reviewed_at: r.reviewed_at.map(from_ms),
        note: r.note,
    }
}

pub async fn list(state: &AppState, access: &TenantAccess, query: &ReviewQuery) -> AppResult<List<RiskReviewOut>> {
    access.require(Action::RiskRead)?;
    let mut from_where = FROM.to_owned();
    let mut binds = vec![Bind::from(access.tenant_id.as_str())];
    match query.status.as_deref() {
        None => {}
        Some("closed") => from_where.push_str(" AND r.status <> 'open'"),
        Some(s) if REVIEW_STATUSES.contains(&s) => {
            from_where.push_str(" AND r.status = $2");
            binds.push(Bind::from(s));
        }
        Some(s) => {
            return Err(AppError::invalid("parameter_invalid", format!("`{s}` is not a review status: open, closed, safe or fraudulent"), Some("status")))
        }
    }
    let listing = Listing {
        columns: COLUMNS,
        from_where: &from_where,
        time_column: "r.flagged_at",
        key_column: "r.payment_id",
        binds,
    };
    let (rows, has_more): (Vec<ReviewRow>, bool) = listing.fetch(&state.db, &query.page()).await?;
    Ok(List::new(rows.into_iter().map(out).collect(), has_more))
}

pub async fn get(state: &AppState, access: &TenantAccess, payment_id: &str) -> AppResult<RiskReviewOut> {
    access.require(Action::RiskRead)?;
    let row: Option<ReviewRow> = sqlx::query_as(&format!("SELECT {COLUMNS} {FROM} AND r.payment_id = $2"))
        .bind(access.tenant_id.as_str())
        .bind(payment_id)
        .fetch_optional(&state.db.pool)
        .await?;
    row.map(out).ok_or_else(|| AppError::not_found("risk review"))
}

/// The reviewer's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Safe,
    Fraudulent,
}

impl Verdict {
    fn status(self) -> &'static str {
        match self {
            Verdict::Safe => "safe",
            Verdict::Fraudulent => "fraudulent",
        }
    }
}

fn note(input: &RiskReviewIn) -> AppResult<Option<String>> {
    let note = input.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 500) {
        return Err(AppError::invalid("parameter_invalid", "note is longer than 500 characters", Some("note")));
    }
    Ok(note.map(str::to_owned))
}

/// Closes an open review with `verdict`: the review, a timeline entry and the event, at once.
pub async fn decide(state: &AppState, access: &TenantAccess, payment_id: &str, verdict: Verdict, input: RiskReviewIn) -> AppResult<RiskReviewOut> {
    access.require(Action::RiskReview)?;
    let note = note(&input)?;
    let current = get(state, access, payment_id).await?;
    let actor = access.principal.actor().id;
    let now = state.bus.now_ms();
    let mut tx = state.db.begin().await?;
    let closed = sqlx::query(
        "UPDATE risk_reviews SET status = $3, reviewed_by = $4, reviewed_at = $5, note = $6, updated_at = $5
         WHERE tenant_id = $1 AND payment_id = $2 AND status = 'open'",
    )
    .bind(access.tenant_id.as_str())
    .bind(payment_id)
    .bind(verdict.status())
    .bind(&actor)
    .bind(now)
    .bind(&note)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if closed == 0 {
        return Err(AppError::conflict(
            "review_closed",
            format!(
                "This review is already closed (marked {}); a verdict is final.",
                if current.status == "open" { "by someone else just now".to_owned() } else { current.status.clone() }
            ),
            None,
        ));
    }
    let payment = payment_brief(&mut *tx, access.tenant_id.as_str(), payment_id).await?.ok_or_else(|| AppError::not_found("risk review"))?;
    let (title, event): (String, fn(_) -> DomainEvent) = match verdict {
        Verdict::Safe => (format!("Marked safe by {actor}"), DomainEvent::PaymentMarkedSafe),
        Verdict::Fraudulent => (format!("Reported as fraudulent by {actor}"), DomainEvent::PaymentReportedFraudulent),
    };
    let title = match &note {
        Some(n) => format!("{title}: {n}"),
        None => title,
    };
    timeline_entry(&mut tx, access.tenant_id.as_str(), &payment, &title, serde_json::json!({ "verdict": verdict.status(), "note": note }), now).await?;
    let payload = risk_payload(&payment, current.score, current.threshold, current.reasons.clone(), verdict.status(), note);
    state.bus.publish(&mut tx, &EventContext::for_access(access), event(payload)).await?;
    state.bus.commit(tx).await?;
    get(state, access, payment_id).await
}
