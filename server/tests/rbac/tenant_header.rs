//! `X-Tenant-Id`: a user may name only tenants they belong to; an API key only its own; a
//! malformed id is a bad request.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::TestApp;
use crate::support::{accept, assert_error, Caller, Team};

/// One request of every kind a tenant-scoped endpoint serves (ids are Bob's real ones).
fn tenant_scoped_requests(member: &str, invitation: &str, key: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, "/api/v1/tenant".into(), None),
        (Method::POST, "/api/v1/tenant".into(), Some(json!({ "name": "Taken over" }))),
        (Method::GET, "/api/v1/members".into(), None),
        (Method::POST, format!("/api/v1/members/{member}"), Some(json!({ "role": "viewer" }))),
        (Method::DELETE, format!("/api/v1/members/{member}"), None),
        (Method::GET, "/api/v1/invitations".into(), None),
        (Method::POST, "/api/v1/invitations".into(), Some(json!({ "email": "intruder@example.com", "role": "owner" }))),
        (Method::DELETE, format!("/api/v1/invitations/{invitation}"), None),
        (Method::GET, "/api/v1/api-keys".into(), None),
        (Method::POST, "/api/v1/api-keys".into(), Some(json!({ "name": "backdoor", "role": "owner" }))),
        (Method::DELETE, format!("/api/v1/api-keys/{key}"), None),
    ]
}

/// Bob's tenant as it was set up: untouched by anything Alice tried.
async fn assert_bobs_tenant_untouched(app: &TestApp, bob: &Team, name: &str, invitation: &str, colleague: &str) {
    assert_eq!(bob.tenant_name(app).await, name);
    assert_eq!(bob.members(app).await.len(), 2);
    assert_eq!(bob.role_of(app, colleague).await.as_deref(), Some("developer"));
    let invitations = bob.invitations(app).await;
    assert_eq!(invitations.len(), 2, "the colleague's (accepted) and the pending one: {invitations:?}");
    assert_eq!(bob.invitation_status(app, invitation).await, "pending");
    let keys = bob.keys(app).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0]["revoked_at"].is_null(), "{keys:?}");
}

both_backends! {
    async fn a_user_naming_a_tenant_they_do_not_belong_to_is_forbidden(app: TestApp) {
        let alice = Team::found(&app, "alice").await;
        let bob = Team::found(&app, "bob").await;
        let colleague = bob.add_member(&app, "bobs-colleague", "developer").await;
        let invitation = bob.invite(&app, &unique_email("bobs-invitee"), "viewer").await;
        let key = bob.create_key(&app, "bob's key", "developer").await;
        let bobs_name = bob.tenant_name(&app).await;

        let intruder = Caller::user_in("alice in bob's tenant", &alice.founder, &bob.tenant);
        for (method, path, body) in tenant_scoped_requests(&colleague.id, &invitation.id, &key.id) {
            let (status, answer) = intruder.call(&app, method.clone(), &path, body).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
            assert_error(status, &answer, StatusCode::FORBIDDEN, "tenant_forbidden");
            assert_eq!(answer["error"]["type"], "permission_error");
        }

        // A well-formed id of a tenant that does not exist gets the very same answer.
        let (s1, known) = intruder.get(&app, "/api/v1/tenant").await;
        let (s2, unknown) = intruder.naming("ten_doesnotexist0000").get(&app, "/api/v1/tenant").await;
        assert_eq!((s1, &known), (s2, &unknown), "a foreign tenant and a missing one must look alike");

        // Nor can Alice make Bob's tenant her default.
        let (status, body) = alice.founder().post(&app, "/api/v1/me/default-tenant", json!({ "tenant_id": bob.tenant })).await;
        assert_error(status, &body, StatusCode::FORBIDDEN, "tenant_forbidden");

        assert_bobs_tenant_untouched(&app, &bob, &bobs_name, &invitation.id, &colleague.id).await;
    }
}

both_backends! {
    async fn an_api_key_naming_another_tenant_is_refused_with_tenant_mismatch(app: TestApp) {
        let alice = Team::found(&app, "alice").await;
        let bob = Team::found(&app, "bob").await;
        let colleague = bob.add_member(&app, "bobs-colleague", "developer").await;
        let invitation = bob.invite(&app, &unique_email("bobs-invitee"), "viewer").await;
        let key = bob.create_key(&app, "bob's key", "developer").await;
        let bobs_name = bob.tenant_name(&app).await;

        // Alice herself is an admin in Bob's tenant: her key still belongs to her tenant only.
        let alice_in_bobs = bob.invite(&app, &alice.founder.email, "admin").await;
        let (status, body) = accept(&app, &alice.founder, &alice_in_bobs.token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let alice_key = Caller::key("alice's owner key", &alice.create_key(&app, "alice's owner key", "owner").await.secret);

        let wrong = alice_key.naming(&bob.tenant);
        for (method, path, body) in tenant_scoped_requests(&colleague.id, &invitation.id, &key.id) {
            let (status, answer) = wrong.call(&app, method.clone(), &path, body).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
            assert_error(status, &answer, StatusCode::FORBIDDEN, "tenant_mismatch");
        }
        // Also for a tenant id that exists nowhere.
        let (status, body) = alice_key.naming("ten_doesnotexist0000").get(&app, "/api/v1/tenant").await;
        assert_error(status, &body, StatusCode::FORBIDDEN, "tenant_mismatch");

        // Naming its own tenant (or none) is fine.
        for caller in [alice_key.naming(&alice.tenant), alice_key.clone()] {
            let (status, body) = caller.get(&app, "/api/v1/tenant").await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["id"], alice.tenant.as_str());
            assert_eq!(body["role"], "owner");
        }

        // Bob's tenant: one more member (Alice), otherwise untouched.
        assert_eq!(bob.tenant_name(&app).await, bobs_name);
        assert_eq!(bob.role_of(&app, &colleague.id).await.as_deref(), Some("developer"));
        assert_eq!(bob.invitation_status(&app, &invitation.id).await, "pending");
        assert!(bob.keys(&app).await.iter().all(|k| k["revoked_at"].is_null()));
        assert_eq!(bob.keys(&app).await.len(), 1);
    }
}

both_backends! {
    async fn a_malformed_tenant_id_is_a_bad_request(app: TestApp) {
        let alice = Team::found(&app, "alice").await;
        let user = Caller::user("alice", &alice.founder);
        let key = Caller::key("alice's key", &alice.create_key(&app, "key", "admin").await.secret);
        for raw in ["not-a-tenant", "usr_abc123", "ten_", "ten_abc-def", "ten_abc.def", "TEN_abc", "ten_abc def"] {
            for caller in [&user, &key] {
                let (status, body) = caller.naming(raw).get(&app, "/api/v1/tenant").await;
                assert_error(status, &body, StatusCode::BAD_REQUEST, "tenant_id_invalid");
                assert_eq!(body["error"]["param"], "X-Tenant-Id", "{body}");
                let (status, body) = caller.naming(raw).post(&app, "/api/v1/tenant", json!({ "name": "Renamed" })).await;
                assert_error(status, &body, StatusCode::BAD_REQUEST, "tenant_id_invalid");
            }
            let (status, body) = user.post(&app, "/api/v1/me/default-tenant", json!({ "tenant_id": raw })).await;
            assert_error(status, &body, StatusCode::BAD_REQUEST, "tenant_id_invalid");
        }
        assert_ne!(alice.tenant_name(&app).await, "Renamed");
    }
}

both_backends! {
    async fn without_the_header_a_user_acts_in_their_default_tenant_with_its_role(app: TestApp) {
        let alice = Team::found(&app, "alice").await;
        let bob = Team::found(&app, "bob").await;
        let invitation = bob.invite(&app, &alice.founder.email, "viewer").await;
        let (status, body) = accept(&app, &alice.founder, &invitation.token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let alice_plain = Caller::user("alice without header", &alice.founder);

        // Still her own tenant by default, as its owner.
        let (status, body) = alice_plain.get(&app, "/api/v1/tenant").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!((body["id"].as_str(), body["role"].as_str()), (Some(alice.tenant.as_str()), Some("owner")));

        // Bob's tenant as the default: she is a viewer there, and only that.
        let (status, body) = alice_plain.post(&app, "/api/v1/me/default-tenant", json!({ "tenant_id": bob.tenant })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["role"], "viewer");
        let (status, body) = alice_plain.get(&app, "/api/v1/tenant").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!((body["id"].as_str(), body["role"].as_str()), (Some(bob.tenant.as_str()), Some("viewer")));
        let (status, body) = alice_plain.post(&app, "/api/v1/tenant", json!({ "name": "Renamed by a viewer" })).await;
        assert_error(status, &body, StatusCode::FORBIDDEN, "insufficient_role");
        let (status, body) = alice_plain.get(&app, "/api/v1/api-keys").await;
        assert_error(status, &body, StatusCode::FORBIDDEN, "insufficient_role");

        // Naming her own tenant still makes her its owner.
        let (status, body) = alice_plain.naming(&alice.tenant).post(&app, "/api/v1/tenant", json!({ "name": "Alice's" })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["role"], "owner");
    }
}
