use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;

both_backends! {
    async fn signup_verify_login_refresh_logout(app: TestApp) {
        let email = unique_email("flow");
        let signed_up = app.signup(&email).await;
        assert_eq!(signed_up["user"]["email_verified"], false);
        assert_eq!(signed_up["tenant"]["role"], "owner");

        // Unverified: the right password is told to verify first.
        let (status, body) = app.post("/api/v1/login", None, json!({ "email": email, "password": PASSWORD })).await;
        assert_eq!(error_code(status, &body, StatusCode::FORBIDDEN), "email_not_verified");

        let code = app.verification_code(&email).await;
        let (status, user) = app.post("/api/v1/verify-email-code", None, json!({ "email": email, "code": code })).await;
        assert_eq!(status, StatusCode::OK, "{user}");
        assert_eq!(user["email_verified"], true);

        let (status, tokens) = app.post("/api/v1/login", None, json!({ "email": email.to_uppercase(), "password": PASSWORD })).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let access = tokens["access_token"].as_str().unwrap();
        let (status, me) = app.get("/api/v1/me", Some(access)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["user"]["email"], email.as_str());
        assert_eq!(me["active_tenant"], signed_up["tenant"]["id"]);

        let (status, rotated) = app.post("/api/v1/token/refresh", None, json!({ "refresh_token": tokens["refresh_token"] })).await;
        assert_eq!(status, StatusCode::OK, "{rotated}");
        assert_ne!(rotated["refresh_token"], tokens["refresh_token"]);

        let (status, _) = app.post("/api/v1/logout", Some(access), json!({ "refresh_token": rotated["refresh_token"] })).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, body) = app.post("/api/v1/token/refresh", None, json!({ "refresh_token": rotated["refresh_token"] })).await;
        assert_eq!(error_code(status, &body, StatusCode::UNAUTHORIZED), "refresh_token_invalid");
    }
}

both_backends! {
    async fn verification_by_link_works_once(app: TestApp) {
        let email = unique_email("link");
        app.signup(&email).await;
        let token = app.verification_token(&email).await;
        let (status, user) = app.post("/api/v1/verify-email", None, json!({ "token": token })).await;
        assert_eq!(status, StatusCode::OK, "{user}");
        assert_eq!(user["email_verified"], true);
        let (status, body) = app.post("/api/v1/verify-email", None, json!({ "token": token })).await;
        assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "verification_invalid");
    }
}

both_backends! {
    async fn a_wrong_code_is_refused_and_limited_to_five_tries(app: TestApp) {
        let email = unique_email("code");
        app.signup(&email).await;
        let right = app.verification_code(&email).await;
        let wrong = if right == "000000" { "111111" } else { "000000" };
        for _ in 0..5 {
            let (status, body) = app.post("/api/v1/verify-email-code", None, json!({ "email": email, "code": wrong })).await;
            assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "code_incorrect");
        }
        let (status, body) = app.post("/api/v1/verify-email-code", None, json!({ "email": email, "code": right })).await;
        assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "verification_invalid", );
    }
}

both_backends! {
    async fn a_reused_refresh_token_revokes_its_whole_family(app: TestApp) {
        let user = app.user(&unique_email("reuse")).await;
        let (status, second) = app.post("/api/v1/token/refresh", None, json!({ "refresh_token": user.refresh })).await;
        assert_eq!(status, StatusCode::OK);

        // The first token again: someone copied it.
        let (status, body) = app.post("/api/v1/token/refresh", None, json!({ "refresh_token": user.refresh })).await;
        assert_eq!(error_code(status, &body, StatusCode::UNAUTHORIZED), "refresh_token_reused");

        // The legitimate holder's newer token died with the family.
        let (status, body) = app.post("/api/v1/token/refresh", None, json!({ "refresh_token": second["refresh_token"] })).await;
        assert_eq!(error_code(status, &body, StatusCode::UNAUTHORIZED), "refresh_token_invalid");
    }
}

both_backends! {
    async fn wrong_password_and_unknown_user_look_the_same(app: TestApp) {
        let user = app.user(&unique_email("creds")).await;
        let (s1, wrong_password) = app.post("/api/v1/login", None, json!({ "email": user.email, "password": "not the password at all" })).await;
        let (s2, unknown_user) = app.post("/api/v1/login", None, json!({ "email": unique_email("nobody"), "password": PASSWORD })).await;
        assert_eq!(error_code(s1, &wrong_password, StatusCode::UNAUTHORIZED), "invalid_credentials");
        assert_eq!(error_code(s2, &unknown_user, StatusCode::UNAUTHORIZED), "invalid_credentials");
        assert_eq!(wrong_password, unknown_user, "the two failures must be indistinguishable");
    }
}

both_backends! {
    async fn a_duplicate_signup_is_a_conflict_even_with_other_case(app: TestApp) {
        let email = unique_email("dup");
        app.signup(&email).await;
        let (status, body) = app.post("/api/v1/signup", None, json!({ "email": format!("  {}", email.to_uppercase()), "password": PASSWORD })).await;
        assert_eq!(error_code(status, &body, StatusCode::CONFLICT), "email_taken");
        assert_eq!(body["error"]["param"], "email");
    }
}

both_backends! {
    async fn login_is_rate_limited_per_account_with_retry_after(app: TestApp) {
        let user = app.user(&unique_email("limit")).await;
        for _ in 0..5 {
            let (status, _) = app.post("/api/v1/login", None, json!({ "email": user.email, "password": "wrong wrong wrong" })).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        let res = app.client.post(app.url("/api/v1/login")).json(&json!({ "email": user.email, "password": PASSWORD })).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(retry >= 1 && retry <= 300, "{retry}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["type"], "rate_limit_error");
    }
}

both_backends! {
    async fn login_is_rate_limited_per_ip(app: TestApp) {
        // 30 attempts per window per IP by default, whatever the accounts.
        let mut limited = false;
        for i in 0..31 {
            let (status, _) = app.post("/api/v1/login", None, json!({ "email": format!("ip{i}@example.com"), "password": "whatever whatever" })).await;
            if status == StatusCode::TOO_MANY_REQUESTS {
                limited = true;
                assert_eq!(i, 30, "limited too early");
            }
        }
        assert!(limited, "the 31st attempt from one IP must be refused");
    }
}

both_backends! {
    async fn concurrent_signups_and_refreshes_never_fail_on_locking(app: TestApp) {
        let app = std::sync::Arc::new(app);
        let signups = (0..16).map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                let email = unique_email(&format!("burst{i}"));
                app.post("/api/v1/signup", None, json!({ "email": email, "password": PASSWORD })).await.0
            })
        });
        for handle in signups.collect::<Vec<_>>() {
            assert_eq!(handle.await.unwrap(), StatusCode::CREATED);
        }
        let user = app.user(&unique_email("burst-user")).await;
        let (_, a) = app.post("/api/v1/token/refresh", None, json!({ "refresh_token": user.refresh })).await;
        let tokens: Vec<String> = vec![a["refresh_token"].as_str().unwrap().to_owned()];
        // Two racing refreshes of the same token: exactly one wins, the other is treated as reuse.
        let (r1, r2) = tokio::join!(
            app.post("/api/v1/token/refresh", None, json!({ "refresh_token": tokens[0] })),
            app.post("/api/v1/token/refresh", None, json!({ "refresh_token": tokens[0] }))
        );
        let mut statuses = [r1.0, r2.0];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::OK, StatusCode::UNAUTHORIZED], "{} / {}", r1.1, r2.1);
    }
}

both_backends! {
    async fn unknown_endpoints_and_methods_answer_with_the_error_object(app: TestApp) {
        let (status, body) = app.get("/api/v1/no-such-thing", None).await;
        assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "resource_missing");
        let (status, body) = app.call(reqwest::Method::PUT, "/api/v1/login", None, Some(json!({}))).await;
        assert_eq!(error_code(status, &body, StatusCode::METHOD_NOT_ALLOWED), "method_not_allowed");
    }
}
