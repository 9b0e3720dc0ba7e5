//! The vocabulary of the RBAC specifications: callers, a team (a tenant with its founder), and
//! the steps to fill it with members, invitations and API keys through the public API only.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{error_code, unique_email, TestApp, TestUser};

pub const ROLES: [&str; 5] = ["owner", "admin", "developer", "analyst", "viewer"];

/// Someone calling the API: a bearer credential (a user's access token or an `sk_…` key) and the
/// tenant it names in `X-Tenant-Id`, if any.
#[derive(Clone, Debug)]
pub struct Caller {
    pub label: String,
    pub bearer: String,
    pub tenant: Option<String>,
}

impl Caller {
    /// A user acting in `tenant` (sent as `X-Tenant-Id`).
    pub fn user_in(label: impl Into<String>, user: &TestUser, tenant: &str) -> Caller {
        Caller { label: label.into(), bearer: user.token.clone(), tenant: Some(tenant.to_owned()) }
    }

    /// A user naming no tenant: the server picks their default one.
    pub fn user(label: impl Into<String>, user: &TestUser) -> Caller {
        Caller { label: label.into(), bearer: user.token.clone(), tenant: None }
    }

    /// An API key, sent as `Authorization: Bearer sk_…`, naming no tenant (a key has only its own).
    pub fn key(label: impl Into<String>, secret: &str) -> Caller {
        Caller { label: label.into(), bearer: secret.to_owned(), tenant: None }
    }

    /// The same credential naming another tenant.
    pub fn naming(&self, tenant: &str) -> Caller {
        Caller { tenant: Some(tenant.to_owned()), ..self.clone() }
    }

    pub async fn call(&self, app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let headers: Vec<(&str, &str)> = self.tenant.as_deref().map(|t| ("X-Tenant-Id", t)).into_iter().collect();
        app.call_with(method, path, Some(&self.bearer), body, &headers).await
    }

    pub async fn get(&self, app: &TestApp, path: &str) -> (StatusCode, Value) {
        self.call(app, Method::GET, path, None).await
    }

    pub async fn post(&self, app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(app, Method::POST, path, Some(body)).await
    }

    pub async fn delete(&self, app: &TestApp, path: &str) -> (StatusCode, Value) {
        self.call(app, Method::DELETE, path, None).await
    }
}

/// Asserts a Stripe-style error with exactly this status and code.
#[track_caller]
pub fn assert_error(status: StatusCode, body: &Value, expected_status: StatusCode, expected_code: &str) {
    assert_eq!(error_code(status, body, expected_status), expected_code, "unexpected error code; body: {body}");
}

/// The objects of a list response (asserting it is one).
#[track_caller]
pub fn list_data(status: StatusCode, body: &Value) -> Vec<Value> {
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["object"], "list", "not a list: {body}");
    body["data"].as_array().expect("data is an array").clone()
}

pub fn ids(items: &[Value], field: &str) -> Vec<String> {
    items.iter().map(|i| i[field].as_str().expect("an id").to_owned()).collect()
}

#[derive(Clone, Debug)]
pub struct Invitation {
    pub id: String,
    pub email: String,
    pub token: String,
}

#[derive(Clone, Debug)]
pub struct ApiKey {
    pub id: String,
    pub secret: String,
    pub created: Value,
}

/// The accept token of the newest invitation mailed to `email`, read from the dev mailbox.
pub async fn invitation_token(app: &TestApp, email: &str) -> String {
    let (status, mail) = app.get("/api/v1/dev/mailbox?limit=100", None).await;
    let messages = list_data(status, &mail);
    let message = messages
        .iter()
        .find(|m| m["to"] == email && m["subject"].as_str().unwrap_or_default().starts_with("You are invited"))
        .unwrap_or_else(|| panic!("no invitation mail for {email}: {mail}"));
    let body = message["body"].as_str().unwrap();
    body.split("token=").nth(1).and_then(|rest| rest.split_whitespace().next()).expect("an accept link with a token").to_owned()
}

/// A tenant and the user who signed up with it (its first owner).
pub struct Team {
    pub founder: TestUser,
    pub tenant: String,
}

impl Team {
    /// One member per role, in [`ROLES`] order, each acting in the team's tenant.
    pub async fn member_per_role(&self, app: &TestApp) -> [Caller; 5] {
        let mut callers = Vec::new();
        for role in ROLES {
            let member = self.add_member(app, role, role).await;
            callers.push(Caller::user_in(format!("{role} member"), &member, &self.tenant));
        }
        callers.try_into().unwrap()
    }

    /// One API key per role, in [`ROLES`] order.
    pub async fn key_per_role(&self, app: &TestApp) -> [Caller; 5] {
        let mut callers = Vec::new();
        for role in ROLES {
            let key = self.create_key(app, &format!("{role} key"), role).await;
            callers.push(Caller::key(format!("{role} key"), &key.secret));
        }
        callers.try_into().unwrap()
    }

    pub async fn found(app: &TestApp, tag: &str) -> Team {
        let founder = app.user(&unique_email(tag)).await;
        let tenant = founder.tenant.clone();
        Team { founder, tenant }
    }

    pub fn founder(&self) -> Caller {
        Caller::user_in("founder", &self.founder, &self.tenant)
    }

    /// The founder invites `email` with `role`; returns the invitation with its mailed token.
    pub async fn invite(&self, app: &TestApp, email: &str, role: &str) -> Invitation {
        let (status, body) = self.founder().post(app, "/api/v1/invitations", json!({ "email": email, "role": role })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["status"], "pending", "{body}");
        assert_eq!(body["role"], role, "{body}");
        Invitation { id: body["id"].as_str().unwrap().to_owned(), email: email.to_owned(), token: invitation_token(app, email).await }
    }

    /// A new verified user who joins this tenant with `role` by accepting an invitation.
    pub async fn add_member(&self, app: &TestApp, tag: &str, role: &str) -> TestUser {
        let email = unique_email(tag);
        let user = app.user(&email).await;
        let invitation = self.invite(app, &email, role).await;
        let (status, joined) = accept(app, &user, &invitation.token).await;
        assert_eq!(status, StatusCode::OK, "{joined}");
        assert_eq!(joined["id"], self.tenant.as_str(), "{joined}");
        assert_eq!(joined["role"], role, "{joined}");
        user
    }

    /// The founder creates a key with `role`.
    pub async fn create_key(&self, app: &TestApp, name: &str, role: &str) -> ApiKey {
        let (status, body) = self.founder().post(app, "/api/v1/api-keys", json!({ "name": name, "role": role })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["role"], role, "{body}");
        ApiKey { id: body["id"].as_str().unwrap().to_owned(), secret: body["secret"].as_str().unwrap().to_owned(), created: body }
    }

    /// The members as the founder sees them.
    pub async fn members(&self, app: &TestApp) -> Vec<Value> {
        let (status, body) = self.founder().get(app, "/api/v1/members?limit=100").await;
        list_data(status, &body)
    }

    pub async fn role_of(&self, app: &TestApp, user_id: &str) -> Option<String> {
        self.members(app).await.iter().find(|m| m["user_id"] == user_id).map(|m| m["role"].as_str().unwrap().to_owned())
    }

    pub async fn invitations(&self, app: &TestApp) -> Vec<Value> {
        let (status, body) = self.founder().get(app, "/api/v1/invitations?limit=100").await;
        list_data(status, &body)
    }

    pub async fn invitation_status(&self, app: &TestApp, id: &str) -> String {
        let all = self.invitations(app).await;
        let found = all.iter().find(|i| i["id"] == id).unwrap_or_else(|| panic!("invitation {id} not listed"));
        found["status"].as_str().unwrap().to_owned()
    }

    pub async fn keys(&self, app: &TestApp) -> Vec<Value> {
        let (status, body) = self.founder().get(app, "/api/v1/api-keys?limit=100").await;
        list_data(status, &body)
    }

    pub async fn webhook_endpoints(&self, app: &TestApp) -> Vec<Value> {
        let (status, body) = self.founder().get(app, "/api/v1/webhook-endpoints?limit=100").await;
        list_data(status, &body)
    }

    pub async fn tenant_name(&self, app: &TestApp) -> String {
        let (status, body) = self.founder().get(app, "/api/v1/tenant").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["name"].as_str().unwrap().to_owned()
    }
}

/// `user` accepts an invitation token.
pub async fn accept(app: &TestApp, user: &TestUser, token: &str) -> (StatusCode, Value) {
    app.post("/api/v1/invitations/accept", Some(&user.token), json!({ "token": token })).await
}
