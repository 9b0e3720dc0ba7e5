//! Tenant isolation by object id: acting in my tenant, another tenant's member, invitation or API
//! key does not exist for me — 404, never 403, never its data.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::TestApp;
use crate::support::{assert_error, ids, list_data, Caller, Team};

/// The requests that address one object by id, for the given ids.
fn object_requests(member: &str, invitation: &str, key: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::POST, format!("/api/v1/members/{member}"), Some(json!({ "role": "viewer" }))),
        (Method::POST, format!("/api/v1/members/{member}"), Some(json!({ "role": "owner" }))),
        (Method::DELETE, format!("/api/v1/members/{member}"), None),
        (Method::DELETE, format!("/api/v1/invitations/{invitation}"), None),
        (Method::DELETE, format!("/api/v1/api-keys/{key}"), None),
    ]
}

/// Asserts the answer is the plain 404 and mentions none of `secrets` (the other tenant's data).
#[track_caller]
fn assert_not_found_without_leak(status: StatusCode, body: &Value, secrets: &[&str], what: &str) {
    assert_eq!(status, StatusCode::NOT_FOUND, "{what}: {body}");
    assert_error(status, body, StatusCode::NOT_FOUND, "resource_missing");
    let text = body.to_string();
    for secret in secrets {
        assert!(!text.contains(secret), "{what} leaks {secret}: {body}");
    }
}

async fn keep_bobs_key_working(app: &TestApp, secret: &str) {
    let (status, body) = Caller::key("bob's key", secret).get(app, "/api/v1/tenant").await;
    assert_eq!(status, StatusCode::OK, "bob's key must still work: {body}");
}

both_backends! {
    async fn another_tenants_member_invitation_and_key_are_not_found_from_mine(app: TestApp) {
        let alice = Team::found(&app, "alice").await;
        let bob = Team::found(&app, "bob").await;
        let colleague = bob.add_member(&app, "bobs-colleague", "developer").await;
        let invitation = bob.invite(&app, &unique_email("bobs-invitee"), "viewer").await;
        let key = bob.create_key(&app, "bob's key", "admin").await;
        let bobs_data = [bob.founder.email.as_str(), colleague.email.as_str(), invitation.email.as_str(), key.created["last4"].as_str().unwrap()];

        let alice_as_user = alice.founder();
        let alice_as_key = Caller::key("alice's owner key", &alice.create_key(&app, "alice's owner key", "owner").await.secret);

        for caller in [&alice_as_user, &alice_as_key] {
            // Bob's colleague and Bob himself are members of Bob's tenant only.
            for member in [&colleague.id, &bob.founder.id] {
                for (method, path, body) in object_requests(member, &invitation.id, &key.id) {
                    let (status, answer) = caller.call(&app, method.clone(), &path, body.clone()).await;
                    let what = format!("{} {method} {path}", caller.label);
                    assert_not_found_without_leak(status, &answer, &bobs_data, &what);

                    // Exactly what an id that exists nowhere gets: nothing tells the two apart.
                    let nowhere = path
                        .replace(member.as_str(), "usr_doesnotexist0000")
                        .replace(&invitation.id, "inv_doesnotexist0000")
                        .replace(&key.id, "key_doesnotexist0000");
                    let (status_nowhere, answer_nowhere) = caller.call(&app, method, &nowhere, body).await;
                    assert_eq!((status, &answer["error"]), (status_nowhere, &answer_nowhere["error"]), "{what}");
                }
            }

            // Bob's ids as pagination cursors are unknown too: refused, and no page of Bob's data.
            for (list, cursor) in [("members", &colleague.id), ("invitations", &invitation.id), ("api-keys", &key.id)] {
                let (status, body) = caller.get(&app, &format!("/api/v1/{list}?starting_after={cursor}")).await;
                assert_error(status, &body, StatusCode::BAD_REQUEST, "resource_missing");
                assert!(body.get("data").is_none(), "{body}");
            }
        }

        // Bob's tenant is exactly as it was.
        assert_eq!(bob.role_of(&app, &colleague.id).await.as_deref(), Some("developer"));
        assert_eq!(bob.role_of(&app, &bob.founder.id).await.as_deref(), Some("owner"));
        assert_eq!(bob.invitation_status(&app, &invitation.id).await, "pending");
        assert!(bob.keys(&app).await.iter().all(|k| k["revoked_at"].is_null()));
        keep_bobs_key_working(&app, &key.secret).await;

        // And Alice's own lists never show any of it.
        for (list, field) in [("members", "user_id"), ("invitations", "id"), ("api-keys", "id")] {
            let (status, body) = alice_as_user.get(&app, &format!("/api/v1/{list}?limit=100")).await;
            let seen = ids(&list_data(status, &body), field);
            for bobs in [&colleague.id, &bob.founder.id, &invitation.id, &key.id] {
                assert!(!seen.contains(bobs), "alice's {list} shows bob's {bobs}: {body}");
            }
        }
    }
}

both_backends! {
    async fn a_member_of_both_tenants_reaches_each_only_through_the_tenant_it_names(app: TestApp) {
        // Carol belongs to Alice's and Bob's tenants; Alice's owner addresses Carol: only Alice's
        // membership is touched, Bob's is left alone.
        let alice = Team::found(&app, "alice").await;
        let bob = Team::found(&app, "bob").await;
        let carol = bob.add_member(&app, "carol", "admin").await;
        let invitation = alice.invite(&app, &carol.email, "viewer").await;
        let (status, body) = crate::support::accept(&app, &carol, &invitation.token).await;
        assert_eq!(status, StatusCode::OK, "{body}");

        let (status, body) = alice.founder().post(&app, &format!("/api/v1/members/{}", carol.id), json!({ "role": "analyst" })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(alice.role_of(&app, &carol.id).await.as_deref(), Some("analyst"));
        assert_eq!(bob.role_of(&app, &carol.id).await.as_deref(), Some("admin"));

        let (status, _) = alice.founder().delete(&app, &format!("/api/v1/members/{}", carol.id)).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(alice.role_of(&app, &carol.id).await, None);
        assert_eq!(bob.role_of(&app, &carol.id).await.as_deref(), Some("admin"));
    }
}
