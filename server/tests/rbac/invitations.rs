//! Invitation flows and list pagination.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::TestApp;
use crate::support::{accept, assert_error, ids, list_data, Caller, Team};

both_backends! {
    async fn only_the_invited_address_can_accept(app: TestApp) {
        let team = Team::found(&app, "founder").await;
        let carol_email = unique_email("carol");
        let invitation = team.invite(&app, &carol_email, "developer").await;
        let dave = app.user(&unique_email("dave")).await;

        let (status, body) = accept(&app, &dave, &invitation.token).await;
        assert_error(status, &body, StatusCode::FORBIDDEN, "invitation_email_mismatch");
        // Dave got nothing, and the invitation is still Carol's to accept.
        assert_eq!(team.role_of(&app, &dave.id).await, None);
        let (status, body) = Caller::user_in("dave", &dave, &team.tenant).get(&app, "/api/v1/tenant").await;
        assert_error(status, &body, StatusCode::FORBIDDEN, "tenant_forbidden");
        assert_eq!(team.invitation_status(&app, &invitation.id).await, "pending");

        let carol = app.user(&carol_email).await;
        let (status, body) = accept(&app, &carol, &invitation.token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(team.role_of(&app, &carol.id).await.as_deref(), Some("developer"));
    }
}

both_backends! {
    async fn a_revoked_invitation_cannot_be_accepted(app: TestApp) {
        let team = Team::found(&app, "founder").await;
        let erin = app.user(&unique_email("erin")).await;
        let invitation = team.invite(&app, &erin.email, "admin").await;

        let (status, revoked) = team.founder().delete(&app, &format!("/api/v1/invitations/{}", invitation.id)).await;
        assert_eq!(status, StatusCode::OK, "{revoked}");
        assert_eq!(revoked["status"], "revoked");

        let (status, body) = accept(&app, &erin, &invitation.token).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invitation_invalid");
        assert_eq!(team.role_of(&app, &erin.id).await, None);
        assert_eq!(team.invitation_status(&app, &invitation.id).await, "revoked");
    }
}

both_backends! {
    async fn an_accepted_invitation_grants_the_invited_role_exactly_once(app: TestApp) {
        let team = Team::found(&app, "founder").await;
        let frank = app.user(&unique_email("frank")).await;
        let invitation = team.invite(&app, &frank.email, "analyst").await;

        let (status, joined) = accept(&app, &frank, &invitation.token).await;
        assert_eq!(status, StatusCode::OK, "{joined}");
        assert_eq!((joined["id"].as_str(), joined["role"].as_str()), (Some(team.tenant.as_str()), Some("analyst")));

        // The membership has the invited role, seen by the owner and by Frank himself.
        assert_eq!(team.role_of(&app, &frank.id).await.as_deref(), Some("analyst"));
        let frank_there = Caller::user_in("frank", &frank, &team.tenant);
        let (status, body) = frank_there.get(&app, "/api/v1/tenant").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["role"], "analyst");
        let (status, body) = frank_there.get(&app, "/api/v1/tenants").await;
        let mine = list_data(status, &body);
        assert_eq!(mine.len(), 2, "his own tenant and the new one: {body}");
        assert!(mine.iter().any(|t| t["id"] == team.tenant.as_str() && t["role"] == "analyst"), "{body}");
        assert_eq!(team.invitation_status(&app, &invitation.id).await, "accepted");

        // The token is spent; a revoke after the fact does not undo the membership.
        let (status, body) = accept(&app, &frank, &invitation.token).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invitation_invalid");
        let (status, body) = team.founder().delete(&app, &format!("/api/v1/invitations/{}", invitation.id)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "accepted");
        assert_eq!(team.role_of(&app, &frank.id).await.as_deref(), Some("analyst"));

        // Inviting a member again is a conflict; a made-up token is invalid.
        let (status, body) = team.founder().post(&app, "/api/v1/invitations", json!({ "email": frank.email, "role": "viewer" })).await;
        assert_error(status, &body, StatusCode::CONFLICT, "already_member");
        let (status, body) = accept(&app, &frank, "inv_madeupmadeupmadeup").await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invitation_invalid");
    }
}

/// Walks a list `limit` at a time with `starting_after`; returns each page's ids and `has_more`.
async fn walk(app: &TestApp, caller: &Caller, list: &str, id_field: &str, limit: usize) -> Vec<(Vec<String>, bool)> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => format!("/api/v1/{list}?limit={limit}"),
            Some(after) => format!("/api/v1/{list}?limit={limit}&starting_after={after}"),
        };
        let (status, body) = caller.get(app, &path).await;
        let page = ids(&list_data(status, &body), id_field);
        let has_more = body["has_more"].as_bool().expect("has_more is a bool");
        cursor = page.last().cloned();
        pages.push((page, has_more));
        if !has_more || pages.len() > 10 {
            return pages;
        }
    }
}

/// Asserts the pages are `sizes` long, `has_more` on all but the last, and together are `all`.
#[track_caller]
fn assert_pages(pages: &[(Vec<String>, bool)], sizes: &[usize], all: &[String]) {
    let got_sizes: Vec<usize> = pages.iter().map(|(p, _)| p.len()).collect();
    assert_eq!(got_sizes, sizes, "{pages:?}");
    let more: Vec<bool> = pages.iter().map(|(_, m)| *m).collect();
    let mut expected_more = vec![true; sizes.len()];
    *expected_more.last_mut().unwrap() = false;
    assert_eq!(more, expected_more, "{pages:?}");
    let joined: Vec<String> = pages.iter().flat_map(|(p, _)| p.clone()).collect();
    assert_eq!(joined, all, "the pages, in order, are the whole list");
}

async fn everything(app: &TestApp, caller: &Caller, list: &str, id_field: &str) -> Vec<String> {
    let (status, body) = caller.get(app, &format!("/api/v1/{list}?limit=100")).await;
    assert_eq!(body["has_more"], false);
    ids(&list_data(status, &body), id_field)
}

both_backends! {
    async fn lists_page_with_limit_starting_after_and_has_more(app: TestApp) {
        let team = Team::found(&app, "founder").await;
        let owner = team.founder();

        // Five keys: pages of 2, 2 and 1.
        for i in 0..5 {
            team.create_key(&app, &format!("key {i}"), "viewer").await;
        }
        let keys = everything(&app, &owner, "api-keys", "id").await;
        assert_eq!(keys.len(), 5);
        let mut distinct = keys.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 5, "{keys:?}");
        assert_pages(&walk(&app, &owner, "api-keys", "id", 2).await, &[2, 2, 1], &keys);
        assert_pages(&walk(&app, &owner, "api-keys", "id", 5).await, &[5], &keys);
        // Backwards from the last one: the two before it, in the same order.
        let (status, body) = owner.get(&app, &format!("/api/v1/api-keys?limit=2&ending_before={}", keys[4])).await;
        assert_eq!(ids(&list_data(status, &body), "id"), keys[2..4].to_vec());
        assert_eq!(body["has_more"], true);

        // Newest first.
        let (status, body) = owner.get(&app, "/api/v1/api-keys?limit=100").await;
        // Compared as times: RFC 3339 text drops trailing zeros (".64Z" vs ".642Z"), so strings sort wrong.
        let created: Vec<time::OffsetDateTime> = list_data(status, &body)
            .iter()
            .map(|k| time::OffsetDateTime::parse(k["created_at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap())
            .collect();
        assert!(created.windows(2).all(|w| w[0] >= w[1]), "not newest first: {created:?}");

        // Three invitations: pages of 2 and 1.
        for i in 0..3 {
            team.invite(&app, &unique_email(&format!("page{i}")), "viewer").await;
        }
        let invitations = everything(&app, &owner, "invitations", "id").await;
        assert_eq!(invitations.len(), 3);
        assert_pages(&walk(&app, &owner, "invitations", "id", 2).await, &[2, 1], &invitations);

        // Members: the founder and three who joined; pages of 3 and 1, as seen by a viewer too.
        let mut viewer = None;
        for i in 0..3 {
            viewer = Some(team.add_member(&app, &format!("member{i}"), "viewer").await);
        }
        let viewer = Caller::user_in("viewer", &viewer.unwrap(), &team.tenant);
        let members = everything(&app, &owner, "members", "user_id").await;
        assert_eq!(members.len(), 4);
        assert_eq!(members.last().unwrap(), &team.founder.id, "the founder joined first");
        assert_pages(&walk(&app, &owner, "members", "user_id", 3).await, &[3, 1], &members);
        assert_pages(&walk(&app, &viewer, "members", "user_id", 1).await, &[1, 1, 1, 1], &members);

        // Bad paging parameters are refused with the error object.
        for bad in ["limit=0", "limit=101", "limit=two"] {
            let (status, body): (StatusCode, Value) = owner.get(&app, &format!("/api/v1/members?{bad}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        }
        let (status, body) = owner.get(&app, "/api/v1/members?limit=0").await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "parameter_invalid_integer");
        let (status, body) = owner.get(&app, "/api/v1/api-keys?starting_after=key_doesnotexist0000").await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "resource_missing");
    }
}
