//! API keys carry a role of their own: what a key of each role may do, and what only a user may.

use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::TestApp;
use crate::matrix::{self, Op, Row, N, Y};
use crate::support::{assert_error, list_data, Caller, Team};

/// Who may do what with an API key. Written out by hand; today a key of a role may do what a
/// member of that role may — including managing members and invitations.
#[rustfmt::skip]
const KEY_PERMISSIONS: &[Row] = &[
    //                       owner admin developer analyst viewer
    (Op::TenantRead,       [Y,    Y,    Y,        Y,      Y]),
    (Op::TenantRename,     [Y,    Y,    N,        N,      N]),
    (Op::MembersList,      [Y,    Y,    Y,        Y,      Y]),
    (Op::Invite,           [Y,    Y,    N,        N,      N]),
    (Op::ChangeRole,       [Y,    N,    N,        N,      N]),
    (Op::RemoveMember,     [Y,    N,    N,        N,      N]),
    (Op::InvitationsList,  [Y,    Y,    N,        N,      N]),
    (Op::InvitationRevoke, [Y,    Y,    N,        N,      N]),
    (Op::ApiKeysList,      [Y,    Y,    Y,        Y,      N]),
    (Op::ApiKeyCreate,     [Y,    Y,    Y,        N,      N]),
    (Op::ApiKeyRevoke,     [Y,    Y,    Y,        N,      N]),
    (Op::SettingsRead,     [Y,    Y,    Y,        N,      N]),
    (Op::SettingsUpdate,   [Y,    Y,    N,        N,      N]),
    (Op::PaymentAuditRead, [Y,    Y,    Y,        Y,      N]),
    (Op::WebhookEndpointsList,  [Y, Y,   Y,        Y,      N]),
    (Op::WebhookEndpointCreate, [Y, Y,   Y,        N,      N]),
    (Op::WebhookEndpointRotate, [Y, Y,   Y,        N,      N]),
    (Op::RulesList,        [Y,    Y,    Y,        Y,      N]),
    (Op::RuleCreate,       [Y,    Y,    Y,        N,      N]),
    (Op::PluginsList,      [Y,    Y,    Y,        Y,      N]),
    (Op::PluginConfigure,  [Y,    Y,    N,        N,      N]),
    (Op::RiskReviewsList,  [Y,    Y,    Y,        Y,      N]),
    (Op::RiskMarkSafe,     [Y,    Y,    N,        N,      N]),
    (Op::RiskMarkFraudulent, [Y,  Y,    N,        N,      N]),
    (Op::SubscriptionsList, [Y,   Y,    Y,        Y,      Y]),
    (Op::InvoicesList,     [Y,    Y,    Y,        Y,      Y]),
    (Op::InvoicesExport,   [Y,    Y,    Y,        Y,      N]),
];

both_backends! {
    async fn each_api_key_role_may_do_exactly_what_the_table_says(app: TestApp) {
        let team = Team::found(&app, "founder").await;
        let callers = team.key_per_role(&app).await;
        matrix::check(&app, &team, &callers, KEY_PERMISSIONS).await;
    }
}

both_backends! {
    async fn a_key_naming_its_own_tenant_gets_the_same_answers(app: TestApp) {
        // The matrix sends no X-Tenant-Id for keys; naming the key's own tenant changes nothing.
        let team = Team::found(&app, "founder").await;
        let callers = team.key_per_role(&app).await.map(|c| c.naming(&team.tenant));
        matrix::check(&app, &team, &callers, KEY_PERMISSIONS).await;
    }
}

both_backends! {
    async fn an_api_key_cannot_do_what_needs_a_user(app: TestApp) {
        let team = Team::found(&app, "founder").await;
        let owner_key = Caller::key("owner key", &team.create_key(&app, "owner key", "owner").await.secret);
        let invitation = team.invite(&app, &unique_email("someone"), "viewer").await;

        let (status, body) = owner_key.post(&app, "/api/v1/tenants", json!({ "name": "Key-made tenant" })).await;
        assert_error(status, &body, StatusCode::FORBIDDEN, "user_required");
        let (status, body) = owner_key.post(&app, "/api/v1/invitations/accept", json!({ "token": invitation.token })).await;
        assert_error(status, &body, StatusCode::FORBIDDEN, "user_required");
        let (status, body) = owner_key.post(&app, "/api/v1/me/default-tenant", json!({ "tenant_id": team.tenant })).await;
        assert_error(status, &body, StatusCode::FORBIDDEN, "user_required");
        let (status, body) = owner_key.get(&app, "/api/v1/me").await;
        assert_error(status, &body, StatusCode::FORBIDDEN, "user_required");

        // Nothing happened: the invitation is still pending, the founder still has one tenant.
        assert_eq!(team.invitation_status(&app, &invitation.id).await, "pending");
        let (status, body) = team.founder().get(&app, "/api/v1/tenants").await;
        assert_eq!(list_data(status, &body).len(), 1, "{body}");
    }
}

both_backends! {
    async fn a_key_lists_only_its_own_tenant_with_its_own_role(app: TestApp) {
        let team = Team::found(&app, "founder").await;
        // The founder belongs to a second tenant too; a key of the first must not see it.
        let (status, other) = team.founder().post(&app, "/api/v1/tenants", json!({ "name": "Second" })).await;
        assert_eq!(status, StatusCode::CREATED, "{other}");
        let analyst_key = Caller::key("analyst key", &team.create_key(&app, "analyst key", "analyst").await.secret);

        let (status, body) = analyst_key.get(&app, "/api/v1/tenants").await;
        let tenants = list_data(status, &body);
        assert_eq!(tenants.len(), 1, "{body}");
        assert_eq!(tenants[0]["id"], team.tenant.as_str());
        assert_eq!(tenants[0]["role"], "analyst", "the key's role, not its creator's");
        assert_eq!(body["has_more"], false);
    }
}

both_backends! {
    async fn a_key_cannot_hand_out_a_role_above_its_own(app: TestApp) {
        let team = Team::found(&app, "founder").await;
        let developer_key = Caller::key("developer key", &team.create_key(&app, "developer key", "developer").await.secret);
        let admin_key = Caller::key("admin key", &team.create_key(&app, "admin key", "admin").await.secret);

        let (status, body) = developer_key.post(&app, "/api/v1/api-keys", json!({ "name": "escalated", "role": "admin" })).await;
        assert_error(status, &body, StatusCode::FORBIDDEN, "role_too_high");
        let (status, body) = developer_key.post(&app, "/api/v1/api-keys", json!({ "name": "same", "role": "developer" })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");

        let (status, body) = admin_key.post(&app, "/api/v1/api-keys", json!({ "name": "escalated", "role": "owner" })).await;
        assert_error(status, &body, StatusCode::FORBIDDEN, "role_too_high");
        let (status, body) = admin_key.post(&app, "/api/v1/invitations", json!({ "email": unique_email("x"), "role": "owner" })).await;
        assert_error(status, &body, StatusCode::FORBIDDEN, "role_too_high");
        let (status, body) = admin_key.post(&app, "/api/v1/invitations", json!({ "email": unique_email("x"), "role": "admin" })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");

        let (status, body) = admin_key.post(&app, "/api/v1/api-keys", json!({ "name": "bad role", "role": "root" })).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "role_invalid");

        let roles: Vec<String> = team.keys(&app).await.iter().map(|k| k["role"].as_str().unwrap().to_owned()).collect();
        let mut roles_sorted = roles.clone();
        roles_sorted.sort();
        assert_eq!(roles_sorted, ["admin", "developer", "developer"], "{roles:?}");
    }
}
