//! Cookie-authenticated writes must come from our own pages; explicit credentials need no
//! origin. The session cookie itself is HttpOnly, SameSite=Lax and stored in the database.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::{
    both_backends,
    helpers::TestApp,
    support::{assert_error, browser, browser_login, create_tenant_fn_path, login_fn_path, row_counts},
};

/// `POST /api/v1/tenants` from the browser (its cookie), with the given extra headers.
async fn create_tenant(app: &TestApp, browser: &Client, name: &str, headers: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut req = browser.post(app.url("/api/v1/tenants")).json(&json!({ "name": name }));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn tenant_names(app: &TestApp) -> Vec<String> {
    app.query_strings("SELECT name FROM tenants").await
}

both_backends! {
    async fn the_dashboard_login_sets_an_httponly_samesite_cookie_backed_by_the_sessions_table(app: TestApp) {
        let user = app.user(&unique_email("cookie")).await;
        assert!(login_fn_path().starts_with("/sfn/login"), "{}", login_fn_path());
        let browser = browser();
        let res = browser_login(&app, &browser, &user.email).await;

        let cookies: Vec<String> = res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        let session = cookies.iter().find(|c| c.starts_with("paybus_session=")).unwrap_or_else(|| panic!("no session cookie: {cookies:?}"));
        let attributes: Vec<String> = session.split(';').skip(1).map(|a| a.trim().to_ascii_lowercase()).collect();
        assert!(attributes.iter().any(|a| a == "httponly"), "{session}");
        assert!(attributes.iter().any(|a| a == "samesite=lax"), "{session}");
        assert!(attributes.iter().any(|a| a == "path=/"), "{session}");
        // Plain http in tests: `Secure` would make the browser drop the cookie.
        assert!(!attributes.iter().any(|a| a == "secure"), "{session}");

        // The session lives in the database, keyed by the cookie's id, and names the user.
        let id = session.split(';').next().unwrap().trim_start_matches("paybus_session=");
        let rows = app.query_strings("SELECT data FROM sessions").await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert!(rows[0].contains(&user.id), "the session row names the user: {}", rows[0]);
        assert!(!rows[0].contains(crate::helpers::PASSWORD));
        assert_eq!(app.query_strings("SELECT id FROM sessions").await, vec![id.to_owned()], "the cookie carries the row's id");

        // The cookie authenticates (reads need no origin).
        let res = browser.get(app.url("/api/v1/me")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let me: Value = res.json().await.unwrap();
        assert_eq!(me["user"]["email"], user.email.as_str());
    }
}

both_backends! {
    async fn cookie_authenticated_writes_need_our_origin(app: TestApp) {
        let user = app.user(&unique_email("csrf")).await;
        let browser = browser();
        browser_login(&app, &browser, &user.email).await;
        let before = row_counts(&app).await;

        let foreign: Vec<Vec<(&str, &str)>> = vec![
            vec![("origin", "https://evil.example")],
            vec![("origin", "null")],
            vec![("origin", "http://127.0.0.1.evil.example")],
            vec![("referer", "https://evil.example/page")],
            // Origin wins over a Referer that looks like ours.
            vec![("origin", "https://evil.example"), ("referer", &app.base)],
            // No Origin and no Referer, but a cookie.
            vec![],
        ];
        for headers in &foreign {
            let (status, body) = create_tenant(&app, &browser, "Evil Corp", headers).await;
            assert_error(status, &body, StatusCode::FORBIDDEN, "permission_error", "csrf_check_failed");
        }
        // Server functions are cookie-authenticated writes too.
        let res = browser
            .post(app.url(create_tenant_fn_path()))
            .header("origin", "https://evil.example")
            .form(&[("name", "Evil Corp")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let res = browser.post(app.url(create_tenant_fn_path())).form(&[("name", "Evil Corp")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(row_counts(&app).await, before, "a refused cross-site write changed something");
        assert!(!tenant_names(&app).await.iter().any(|n| n == "Evil Corp"));

        // From our own page: Origin, or only a Referer on our origin.
        let (status, body) = create_tenant(&app, &browser, "By Origin", &[("origin", &app.base)]).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let referer = app.url("/tenants/new?x=1");
        let (status, body) = create_tenant(&app, &browser, "By Referer", &[("referer", &referer)]).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let res = browser.post(app.url(create_tenant_fn_path())).header("origin", &app.base).form(&[("name", "By Server Fn")]).send().await.unwrap();
        assert!(res.status().is_success(), "{}", res.status());
        let names = tenant_names(&app).await;
        for name in ["By Origin", "By Referer", "By Server Fn"] {
            assert!(names.iter().any(|n| n == name), "{name} missing: {names:?}");
        }
    }
}

both_backends! {
    async fn explicit_credentials_need_no_origin_and_logins_from_elsewhere_are_refused(app: TestApp) {
        let user = app.user(&unique_email("bearer")).await;
        // A bearer token (no cookie store, no Origin): an API client, not a browser.
        let (status, body) = app.post("/api/v1/tenants", Some(&user.token), json!({ "name": "From CI" })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        // An API key in X-API-Key, from anywhere.
        let (status, key) = app.post("/api/v1/api-keys", Some(&user.token), json!({ "name": "ci", "role": "developer" })).await;
        assert_eq!(status, StatusCode::CREATED, "{key}");
        let secret = key["secret"].as_str().unwrap();
        for (header, value) in [("x-api-key", secret.to_owned()), ("authorization", format!("Bearer {secret}"))] {
            let res = app
                .client
                .post(app.url("/api/v1/api-keys"))
                .header(header, value)
                .header("origin", "https://ci.example")
                .json(&json!({ "name": "made by a key" }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::CREATED, "{header}: an API key is not subject to CSRF checks");
        }

        // Login CSRF: a foreign page posting our login form gets no session.
        let browser = browser();
        let res = browser
            .post(app.url(login_fn_path()))
            .header("origin", "https://evil.example")
            .form(&[("email", user.email.as_str()), ("password", crate::helpers::PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.headers().get("set-cookie").is_none());
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "csrf_check_failed");
        assert!(app.query_strings("SELECT id FROM sessions").await.is_empty());
    }
}
