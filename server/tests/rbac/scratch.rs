use reqwest::StatusCode;
use serde_json::json;
use crate::both_backends;
use crate::support::{Caller, Team};

both_backends! {
    async fn scratch_probe(app: TestApp) {
        let team = Team::found(&app, "founder").await;
        let admin = team.add_member(&app, "admin", "admin").await;
        let admin_c = Caller::user_in("admin", &admin, &team.tenant);
        let (s, k) = admin_c.post(&app, "/api/v1/api-keys", json!({"name":"adm","role":"admin"})).await;
        assert_eq!(s, StatusCode::CREATED);
        let key = Caller::key("k", k["secret"].as_str().unwrap());
        let (s, _) = team.founder().delete(&app, &format!("/api/v1/members/{}", admin.id)).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, b) = key.get(&app, "/api/v1/invitations").await;
        println!("PROBE removed admin's key lists invitations: {s} {b}");
        let (s, b) = key.post(&app, "/api/v1/api-keys", json!({"name":"child","role":"admin"})).await;
        println!("PROBE removed admin's key mints admin key: {s} {}", b["role"]);
        let (s, b) = admin_c.get(&app, "/api/v1/invitations").await;
        println!("PROBE removed admin user: {s} {b}");
        // owner key promotes viewer to owner
        let owner_key = Caller::key("ok", &team.create_key(&app, "ok", "owner").await.secret);
        let viewer = team.add_member(&app, "viewer", "viewer").await;
        let (s, b) = owner_key.post(&app, &format!("/api/v1/members/{}", viewer.id), json!({"role":"owner"})).await;
        println!("PROBE owner key promotes viewer to owner: {s} {}", b["role"]);
        let (s, b) = owner_key.delete(&app, &format!("/api/v1/members/{}", team.founder.id)).await;
        println!("PROBE owner key removes founder (2 owners): {s} {b}");
        // developer revokes owner key
        let dev = team.add_member(&app, "dev", "developer").await;
        let dev_c = Caller::user_in("dev", &dev, &team.tenant);
        let ok2 = team.keys(&app).await; let _ = ok2;
        let (s, b) = Caller::key("x", &team.create_key(&app, "x", "viewer").await.secret).get(&app, "/api/v1/tenant").await;
        println!("founder still? {s} {b}");
        let (s, b) = owner_key.get(&app, "/api/v1/api-keys?limit=100").await;
        let owner_key_id = b["data"].as_array().unwrap().iter().find(|k| k["role"]=="owner").unwrap()["id"].as_str().unwrap().to_owned();
        let _ = s;
        let (s, b) = dev_c.delete(&app, &format!("/api/v1/api-keys/{owner_key_id}")).await;
        println!("PROBE developer revokes owner key: {s} {}", b["revoked_at"]);
        // invite pending email twice
        let e = unique_email("dup");
        let (s1, _) = team.founder().post(&app, "/api/v1/invitations", json!({"email": e, "role":"viewer"})).await;
        let (s2, _) = team.founder().post(&app, "/api/v1/invitations", json!({"email": e, "role":"viewer"})).await;
        println!("PROBE duplicate pending invitations: {s1} {s2}");
        // both headers: valid JWT in Authorization + bad X-API-Key
        let (s, b) = app.call_with(reqwest::Method::GET, "/api/v1/tenant", Some(&team.founder.token), None, &[("X-API-Key", "sk_test_nope")]).await;
        println!("PROBE jwt + bad x-api-key: {s} {b}");
    }
}
