//! The OpenAPI document: valid JSON, OpenAPI 3.x, every public path and the main schemas.

use reqwest::StatusCode;
use serde_json::Value;

use crate::{both_backends, helpers::TestApp};

both_backends! {
    async fn the_openapi_document_describes_the_api(app: TestApp) {
        let res = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
        let text = res.text().await.unwrap();
        let doc: Value = serde_json::from_str(&text).expect("the document is valid JSON");

        let version = doc["openapi"].as_str().expect("an `openapi` version string");
        assert!(version.starts_with("3."), "{version}");
        assert!(doc["info"]["title"].as_str().is_some_and(|t| !t.is_empty()));

        let paths = doc["paths"].as_object().expect("paths");
        for (path, method) in [
            ("/api/v1/signup", "post"),
            ("/api/v1/login", "post"),
            ("/api/v1/token/refresh", "post"),
            ("/api/v1/logout", "post"),
            ("/api/v1/me", "get"),
            ("/api/v1/health", "get"),
            ("/api/v1/api-keys", "post"),
            ("/api/v1/api-keys", "get"),
            ("/api/v1/api-keys/{id}", "delete"),
            ("/api/v1/members", "get"),
            ("/api/v1/invitations", "post"),
            ("/api/v1/invitations", "get"),
            ("/api/v1/tenants", "get"),
            ("/api/v1/tenants", "post"),
            ("/api/v1/events", "get"),
            ("/api/v1/deliveries/{id}/retry", "post"),
            ("/api/v1/replays", "post"),
            ("/api/observability/event-bus", "get"),
            ("/api/v1/payments", "get"),
            ("/api/v1/payments/export.csv", "get"),
        ] {
            let item = paths.get(path).unwrap_or_else(|| panic!("{path} is missing; have {:?}", paths.keys().collect::<Vec<_>>()));
            assert!(item.get(method).is_some(), "{method} {path} is missing");
        }
        // Every documented path is a JSON API path (the versioned API or the observability one).
        for path in paths.keys() {
            assert!(path.starts_with("/api/v1/") || path.starts_with("/api/observability/"), "{path}");
        }

        let schemas = doc["components"]["schemas"].as_object().expect("component schemas");
        for name in ["TokenPair", "ApiKeyCreated", "SignupIn", "LoginIn", "TenantOut", "UserOut"] {
            assert!(schemas.contains_key(name), "schema {name} is missing; have {:?}", schemas.keys().collect::<Vec<_>>());
        }
        // Request bodies point at their schemas.
        let signup = &doc["paths"]["/api/v1/signup"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"];
        assert_eq!(signup, "#/components/schemas/SignupIn");
        let login_ok = &doc["paths"]["/api/v1/login"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"];
        assert_eq!(login_ok, "#/components/schemas/TokenPair");
        // The security schemes the API accepts.
        let security = doc["components"]["securitySchemes"].as_object().expect("security schemes");
        assert!(security.contains_key("bearer") && security.contains_key("api_key"), "{security:?}");
    }
}
