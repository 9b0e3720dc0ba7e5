//! Members (users) of a tenant: what each role may do, cell by cell, over real HTTP.

use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::matrix::{self, Op, Row, N, Y};
use crate::support::{assert_error, Caller, Team};

/// Who may do what as a member. Written out by hand: this is the specification the server is
/// checked against, deliberately not derived from `Role::can`.
#[rustfmt::skip]
const MEMBER_PERMISSIONS: &[Row] = &[
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
    async fn each_member_role_may_do_exactly_what_the_table_says(app: TestApp) {
        let team = Team::found(&app, "founder").await;
        let callers = team.member_per_role(&app).await;
        matrix::check(&app, &team, &callers, MEMBER_PERMISSIONS).await;
    }
}

both_backends! {
    async fn a_member_cannot_hand_out_a_role_above_their_own(app: TestApp) {
        let team = Team::found(&app, "founder").await;
        let admin = Caller::user_in("admin", &team.add_member(&app, "admin", "admin").await, &team.tenant);
        let developer = Caller::user_in("developer", &team.add_member(&app, "developer", "developer").await, &team.tenant);

        // Invitations: an admin may invite up to admin, never an owner.
        let (status, body) = admin.post(&app, "/api/v1/invitations", json!({ "email": unique_email("x"), "role": "owner" })).await;
        assert_error(status, &body, StatusCode::FORBIDDEN, "role_too_high");
        let (status, body) = admin.post(&app, "/api/v1/invitations", json!({ "email": unique_email("x"), "role": "admin" })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");

        // API keys: at most the creator's role.
        let (status, body) = admin.post(&app, "/api/v1/api-keys", json!({ "name": "too strong", "role": "owner" })).await;
        assert_error(status, &body, StatusCode::FORBIDDEN, "role_too_high");
        let (status, body) = admin.post(&app, "/api/v1/api-keys", json!({ "name": "as strong", "role": "admin" })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) = developer.post(&app, "/api/v1/api-keys", json!({ "name": "too strong", "role": "admin" })).await;
        assert_error(status, &body, StatusCode::FORBIDDEN, "role_too_high");
        let (status, body) = developer.post(&app, "/api/v1/api-keys", json!({ "name": "default role" })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["role"], "developer", "a key's role defaults to developer");

        // Nothing beyond the two accepted requests was created.
        let keys = team.keys(&app).await;
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert!(keys.iter().all(|k| k["role"] != "owner"), "{keys:?}");
        assert!(team.invitations(&app).await.iter().all(|i| i["role"] != "owner"));
    }
}

both_backends! {
    async fn the_last_owner_can_be_neither_demoted_nor_removed(app: TestApp) {
        let team = Team::found(&app, "founder").await;
        let founder = team.founder();
        let me = format!("/api/v1/members/{}", team.founder.id);

        let (status, body) = founder.post(&app, &me, json!({ "role": "admin" })).await;
        assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY, "last_owner");
        let (status, body) = founder.delete(&app, &me).await;
        assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY, "last_owner");
        assert_eq!(team.role_of(&app, &team.founder.id).await.as_deref(), Some("owner"));

        // With a second owner, the first may step down.
        let second = team.add_member(&app, "second-owner", "owner").await;
        let (status, body) = founder.post(&app, &me, json!({ "role": "admin" })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["role"], "admin");
        // …and now the second owner is the last one.
        let second_owner = Caller::user_in("second owner", &second, &team.tenant);
        let (status, body) = second_owner.delete(&app, &format!("/api/v1/members/{}", second.id)).await;
        assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY, "last_owner");
    }
}
