//! The engine behind the role × action matrices: one real HTTP call per cell, on fresh targets,
//! and a check of what the call actually changed (as the founder sees it afterwards).

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{unique_email, TestApp};
use crate::support::{Caller, Team, ROLES};

/// Everything the matrix tries inside a tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    TenantRead,
    TenantRename,
    MembersList,
    Invite,
    ChangeRole,
    RemoveMember,
    InvitationsList,
    InvitationRevoke,
    ApiKeysList,
    ApiKeyCreate,
    ApiKeyRevoke,
    SettingsRead,
    SettingsUpdate,
    PaymentAuditRead,
    WebhookEndpointsList,
    WebhookEndpointCreate,
    WebhookEndpointRotate,
    RulesList,
    RuleCreate,
    PluginsList,
    PluginConfigure,
    // Risk review queue.
    RiskReviewsList,
    RiskMarkSafe,
    RiskMarkFraudulent,
    // Recurring billing (issue 7).
    SubscriptionsList,
    InvoicesList,
    InvoicesExport,
}

pub const Y: bool = true;
pub const N: bool = false;

/// One row of a matrix: an operation and whether each role (in [`ROLES`] order:
/// owner, admin, developer, analyst, viewer) may perform it.
pub type Row = (Op, [bool; 5]);

impl Op {
    /// The status an allowed call answers with.
    fn success(self) -> StatusCode {
        match self {
            Op::Invite | Op::ApiKeyCreate | Op::WebhookEndpointCreate | Op::RuleCreate => StatusCode::CREATED,
            Op::RemoveMember => StatusCode::NO_CONTENT,
            _ => StatusCode::OK,
        }
    }
}

/// What one cell did.
struct Attempt {
    status: StatusCode,
    body: Value,
    /// For a write: whether the change is visible afterwards. For a read: whether the body is the
    /// data asked for.
    took_effect: bool,
}

/// Performs `op` as `caller` in `team`'s tenant, on targets created for this cell alone.
async fn attempt(app: &TestApp, team: &Team, caller: &Caller, role: &str, op: Op) -> Attempt {
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let ((status, body), took_effect) = match op {
        Op::TenantRead => {
            let (s, b) = caller.get(app, "/api/v1/tenant").await;
            // The tenant, with the caller's role in it.
            let ok = b["id"] == team.tenant.as_str() && b["role"] == role;
            ((s, b), ok)
        }
        Op::TenantRename => {
            let name = format!("Renamed by {} {tag}", caller.label);
            let r = caller.post(app, "/api/v1/tenant", json!({ "name": name })).await;
            let ok = team.tenant_name(app).await == name;
            (r, ok)
        }
        Op::MembersList => {
            let (s, b) = caller.get(app, "/api/v1/members").await;
            let ok = b["data"].as_array().is_some_and(|d| d.iter().any(|m| m["user_id"] == team.founder.id.as_str()));
            ((s, b), ok)
        }
        Op::Invite => {
            let email = unique_email("invited");
            let r = caller.post(app, "/api/v1/invitations", json!({ "email": email, "role": "viewer" })).await;
            let ok = team.invitations(app).await.iter().any(|i| i["email"] == email.as_str());
            (r, ok)
        }
        Op::ChangeRole => {
            let target = team.add_member(app, "promote-me", "viewer").await;
            let r = caller.post(app, &format!("/api/v1/members/{}", target.id), json!({ "role": "analyst" })).await;
            let ok = team.role_of(app, &target.id).await.as_deref() == Some("analyst");
            (r, ok)
        }
        Op::RemoveMember => {
            let target = team.add_member(app, "remove-me", "viewer").await;
            let r = caller.delete(app, &format!("/api/v1/members/{}", target.id)).await;
            let ok = team.role_of(app, &target.id).await.is_none();
            (r, ok)
        }
        Op::InvitationsList => {
            let (s, b) = caller.get(app, "/api/v1/invitations").await;
            let ok = b["object"] == "list";
            ((s, b), ok)
        }
        Op::InvitationRevoke => {
            let invitation = team.invite(app, &unique_email("revoke-me"), "viewer").await;
            let r = caller.delete(app, &format!("/api/v1/invitations/{}", invitation.id)).await;
            let ok = team.invitation_status(app, &invitation.id).await == "revoked";
            (r, ok)
        }
        Op::ApiKeysList => {
            let (s, b) = caller.get(app, "/api/v1/api-keys").await;
            let ok = b["object"] == "list";
            ((s, b), ok)
        }
        Op::ApiKeyCreate => {
            let name = format!("made by {} {tag}", caller.label);
            let r = caller.post(app, "/api/v1/api-keys", json!({ "name": name, "role": "viewer" })).await;
            let ok = team.keys(app).await.iter().any(|k| k["name"] == name.as_str());
            (r, ok)
        }
        Op::ApiKeyRevoke => {
            let key = team.create_key(app, &format!("revoke-me {tag}"), "viewer").await;
            let r = caller.delete(app, &format!("/api/v1/api-keys/{}", key.id)).await;
            let ok = team.keys(app).await.iter().any(|k| k["id"] == key.id.as_str() && !k["revoked_at"].is_null());
            (r, ok)
        }
        Op::SettingsRead => {
            let (s, b) = caller.get(app, "/api/v1/settings").await;
            let ok = b["object"] == "settings" && b["tenant_id"] == team.tenant.as_str() && b["stripe_api_version"].is_string();
            ((s, b), ok)
        }
        Op::SettingsUpdate => {
            let email = unique_email("notify");
            let r = caller.call(app, reqwest::Method::PATCH, "/api/v1/settings", Some(json!({ "notification_emails": [email] }))).await;
            let (_, now) = team.founder().get(app, "/api/v1/settings").await;
            let ok = now["notification_emails"].as_array().is_some_and(|l| l.iter().any(|e| e == email.as_str()));
            (r, ok)
        }
        Op::PaymentAuditRead => {
            let (s, b) = caller.get(app, "/api/v1/payment-audit-log").await;
            let ok = b["object"] == "list";
            ((s, b), ok)
        }
        Op::WebhookEndpointsList => {
            let (s, b) = caller.get(app, "/api/v1/webhook-endpoints").await;
            let ok = b["object"] == "list";
            ((s, b), ok)
        }
        Op::WebhookEndpointCreate => {
            let url = format!("https://hooks.example.com/{tag}");
            let r = caller.post(app, "/api/v1/webhook-endpoints", json!({ "url": url, "events": ["payment.*"] })).await;
            let ok = team.webhook_endpoints(app).await.iter().any(|e| e["url"] == url.as_str());
            (r, ok)
        }
        Op::WebhookEndpointRotate => {
            let (status, created) = team.founder().post(app, "/api/v1/webhook-endpoints", json!({ "url": format!("https://hooks.example.com/r/{tag}"), "events": ["payment.*"] })).await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            let id = created["endpoint"]["id"].as_str().unwrap().to_owned();
            let r = caller.post(app, &format!("/api/v1/webhook-endpoints/{id}/rotate-secret"), json!({ "overlap_seconds": 60 })).await;
            let ok = team.webhook_endpoints(app).await.iter().any(|e| e["id"] == id.as_str() && !e["previous_secret_expires_at"].is_null());
            (r, ok)
        }
        Op::RulesList => {
            let (s, b) = caller.get(app, "/api/v1/rules").await;
            let ok = b["object"] == "list";
            ((s, b), ok)
        }
        Op::RuleCreate => {
            let name = format!("rule by {} {tag}", caller.label);
            let body = json!({ "name": name, "pattern": { "types": ["payment.*"] }, "target": { "type": "archive" } });
            let r = caller.post(app, "/api/v1/rules", body).await;
            let (_, rules) = team.founder().get(app, "/api/v1/rules?limit=100").await;
            let ok = rules["data"].as_array().is_some_and(|l| l.iter().any(|x| x["name"] == name.as_str()));
            (r, ok)
        }
        Op::PluginsList => {
            let (s, b) = caller.get(app, "/api/v1/plugins").await;
            let ok = b["object"] == "list" && b["data"].as_array().is_some_and(|d| !d.is_empty());
            ((s, b), ok)
        }
        Op::PluginConfigure => {
            let signature = format!("Sent by {} {tag}", caller.label);
            let r = caller.call(app, reqwest::Method::PUT, "/api/v1/plugins/email-notifications", Some(json!({ "config": { "signature": signature } }))).await;
            let (_, now) = team.founder().get(app, "/api/v1/plugins/email-notifications").await;
            let ok = now["config"]["signature"] == signature.as_str();
            (r, ok)
        }
        Op::RiskReviewsList => {
            let payment = flagged_payment(app, team, &tag).await;
            let (s, b) = caller.get(app, "/api/v1/risk/reviews?status=open&limit=100").await;
            let ok = b["data"].as_array().is_some_and(|d| d.iter().any(|r| r["payment_id"] == payment.as_str() && r["reasons"][0]["code"] == "country_mismatch"));
            ((s, b), ok)
        }
        Op::RiskMarkSafe | Op::RiskMarkFraudulent => {
            let payment = flagged_payment(app, team, &tag).await;
            let (verdict, path) = if op == Op::RiskMarkSafe { ("safe", "mark-safe") } else { ("fraudulent", "mark-fraudulent") };
            let r = caller.post(app, &format!("/api/v1/risk/reviews/{payment}/{path}"), json!({ "note": format!("by {}", caller.label) })).await;
            let (_, now) = team.founder().get(app, &format!("/api/v1/risk/reviews/{payment}")).await;
            let ok = now["status"] == verdict;
            (r, ok)
        }
        Op::SubscriptionsList => {
            let (s, b) = caller.get(app, "/api/v1/subscriptions").await;
            let ok = b["object"] == "list";
            ((s, b), ok)
        }
        Op::InvoicesList => {
            let (s, b) = caller.get(app, "/api/v1/invoices?status=overdue").await;
            let ok = b["object"] == "list";
            ((s, b), ok)
        }
        Op::InvoicesExport => {
            let (s, b) = caller.get(app, "/api/v1/invoices/export.csv").await;
            let ok = b.as_str().is_some_and(|csv| csv.starts_with("id,created,number,status"));
            ((s, b), ok)
        }
    };
    Attempt { status, body, took_effect }
}

/// A payment of `team`'s with an open risk review, as the risk plugin leaves them (the plugin's
/// own path, from Stripe webhooks to the queue, is tested in tests/api/risk.rs).
async fn flagged_payment(app: &TestApp, team: &Team, tag: &str) -> String {
    let payment = format!("pay_rbac{tag}");
    app.execute(&format!(
        "INSERT INTO payments (id, tenant_id, amount, currency, customer_email, status, created_at, updated_at)
         VALUES ('{payment}', '{tenant}', 2500, 'usd', 'buyer@shop.example', 'succeeded', 1, 1)",
        tenant = team.tenant
    ))
    .await;
    app.execute(&format!(
        "INSERT INTO risk_reviews (payment_id, tenant_id, status, score, threshold, reasons, flagged_at, updated_at)
         VALUES ('{payment}', '{tenant}', 'open', 65, 50, '[{{\"code\":\"country_mismatch\",\"message\":\"card country NG differs from billing country US\",\"points\":60}}]', 1, 1)",
        tenant = team.tenant
    ))
    .await;
    payment
}

/// What is wrong with one cell, if anything.
fn verdict(op: Op, allowed: bool, a: &Attempt) -> Option<String> {
    if allowed {
        if a.status != op.success() {
            return Some(format!("expected {} but got {}: {}", op.success(), a.status, a.body));
        }
        if !a.took_effect {
            return Some(format!("answered {} but the change/data is not there: {}", a.status, a.body));
        }
    } else {
        let error = &a.body["error"];
        if a.status != StatusCode::FORBIDDEN || error["code"] != "insufficient_role" || error["type"] != "permission_error" {
            return Some(format!("expected 403 insufficient_role but got {}: {}", a.status, a.body));
        }
        let is_write = !matches!(op, Op::TenantRead | Op::MembersList | Op::InvitationsList | Op::ApiKeysList | Op::SettingsRead | Op::PaymentAuditRead | Op::PluginsList | Op::WebhookEndpointsList | Op::RulesList
            | Op::RiskReviewsList | Op::SubscriptionsList | Op::InvoicesList | Op::InvoicesExport);
        if is_write && a.took_effect {
            return Some("refused with 403, yet the change happened".into());
        }
    }
    None
}

/// Runs every cell of `table` for the callers given per role (in [`ROLES`] order) and fails with
/// the list of all cells that disagree with it.
pub async fn check(app: &TestApp, team: &Team, callers: &[Caller; 5], table: &[Row]) {
    let mut wrong = Vec::new();
    let mut cells = 0;
    for (op, allowed_per_role) in table {
        for (i, caller) in callers.iter().enumerate() {
            let allowed = allowed_per_role[i];
            let result = attempt(app, team, caller, ROLES[i], *op).await;
            cells += 1;
            if let Some(problem) = verdict(*op, allowed, &result) {
                let should = if allowed { "allowed" } else { "denied" };
                wrong.push(format!("{:<16} {:?} (should be {should}): {problem}", caller.label, op));
            }
        }
    }
    assert_eq!(cells, table.len() * ROLES.len());
    assert!(wrong.is_empty(), "{} of {cells} cells disagree with the table:\n{}", wrong.len(), wrong.join("\n"));
}
