//! Idempotency-Key records. The first request with a key claims it (one INSERT on the primary
//! key, so two racing requests cannot both win); its response is stored when it completes and
//! replayed to every repeat with the same fingerprint. A different request under the same key is
//! refused (422), a repeat while the first still runs gets 409, and a claim whose holder died is
//! taken over once its lock expires. Records older than the TTL no longer count and are purged.

use sha2::{Digest, Sha256};

use crate::{
    error::{AppError, AppResult},
    ssr::db::{is_unique_violation, Db},
};

/// method, path and a hash of the canonical body: what makes two requests "the same".
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update(b"\n");
    hasher.update(path.as_bytes());
    hasher.update(b"\n");
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => {
            hasher.update(b"json:");
            hasher.update(canonical_json(&value).as_bytes());
        }
        // Not JSON (or empty): the bytes themselves, exactly.
        Err(_) => {
            hasher.update(b"raw:");
            hasher.update(body);
        }
    }
    hex::encode(hasher.finalize())
}

/// JSON with object keys sorted at every level and no insignificant whitespace, so key order
/// and formatting do not make two equal requests differ.
pub fn canonical_json(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", serde_json::to_string(k).unwrap_or_default(), canonical_json(&map[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical_json).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// A stored response to send again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
    pub content_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This request owns the key now (until `locked_until`): run it, then [`complete`] or
    /// [`release`] with that value.
    Acquired { locked_until: i64 },
    /// The same request already completed: send this.
    Replay(StoredResponse),
}

#[derive(sqlx::FromRow)]
struct Record {
    fingerprint: String,
    status: String,
    response_status: Option<i64>,
    response_body: Option<String>,
    content_type: Option<String>,
    created_at: i64,
    locked_until: i64,
}

pub struct Policy {
    pub ttl_ms: i64,
    pub lock_ms: i64,
}

/// Claims `key` for this request, or says what to answer instead.
pub async fn claim(db: &Db, tenant: &str, key: &str, fingerprint: &str, policy: &Policy, now: i64) -> AppResult<Claim> {
    // Two rounds at most: the second after clearing an expired record or a dead holder's claim.
    for _ in 0..2 {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (tenant_id, idempotency_key, fingerprint, status, created_at, locked_until) VALUES ($1, $2, $3, 'in_flight', $4, $5)",
        )
        .bind(tenant)
        .bind(key)
        .bind(fingerprint)
        .bind(now)
        .bind(now + policy.lock_ms)
        .execute(&db.pool)
        .await;
        match inserted {
            Ok(_) => return Ok(Claim::Acquired { locked_until: now + policy.lock_ms }),
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
        let record: Option<Record> = sqlx::query_as(
            "SELECT fingerprint, status, response_status, response_body, content_type, created_at, locked_until FROM idempotency_keys WHERE tenant_id = $1 AND idempotency_key = $2",
        )
        .bind(tenant)
        .bind(key)
        .fetch_optional(&db.pool)
        .await?;
        let Some(record) = record else { continue };
        if record.created_at < now - policy.ttl_ms {
            // Expired: the key is free again.
            sqlx::query("DELETE FROM idempotency_keys WHERE tenant_id = $1 AND idempotency_key = $2 AND created_at = $3")
                .bind(tenant)
                .bind(key)
                .bind(record.created_at)
                .execute(&db.pool)
                .await?;
            continue;
        }
        if record.fingerprint != fingerprint {
            return Err(AppError::unprocessable(
                "idempotency_key_reused",
                "This Idempotency-Key was already used with a different request (method, path or body). Use a new key for a new request.",
                Some("Idempotency-Key"),
            ));
        }
        if record.status == "completed" {
            return Ok(Claim::Replay(StoredResponse {
                status: record.response_status.unwrap_or(200) as u16,
                body: record.response_body.unwrap_or_default(),
                content_type: record.content_type,
            }));
        }
        if record.locked_until > now {
            return Err(AppError::conflict(
                "idempotency_key_in_flight",
                "A request with this Idempotency-Key is still being processed; retry shortly.",
                Some("Idempotency-Key"),
            ));
        }
        // The holder died mid-request: take over its claim (only one taker wins the UPDATE).
        let taken = sqlx::query(
            "UPDATE idempotency_keys SET locked_until = $3 WHERE tenant_id = $1 AND idempotency_key = $2 AND status = 'in_flight' AND locked_until = $4",
        )
        .bind(tenant)
        .bind(key)
        .bind(now + policy.lock_ms)
        .bind(record.locked_until)
        .execute(&db.pool)
        .await?
        .rows_affected();
        if taken == 1 {
            return Ok(Claim::Acquired { locked_until: now + policy.lock_ms });
        }
        return Err(AppError::conflict("idempotency_key_in_flight", "A request with this Idempotency-Key is still being processed; retry shortly.", Some("Idempotency-Key")));
    }
    Err(AppError::conflict("idempotency_key_in_flight", "A request with this Idempotency-Key is still being processed; retry shortly.", Some("Idempotency-Key")))
}

/// Stores the response of a claimed request for replay — only while this request still holds
/// the claim: one that outran its lock and was taken over leaves the new holder's record alone.
pub async fn complete(db: &Db, tenant: &str, key: &str, locked_until: i64, response: &StoredResponse, now: i64) -> AppResult<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET status = 'completed', response_status = $3, response_body = $4, content_type = $5, completed_at = $6
         WHERE tenant_id = $1 AND idempotency_key = $2 AND status = 'in_flight' AND locked_until = $7",
    )
    .bind(tenant)
    .bind(key)
    .bind(i64::from(response.status))
    .bind(&response.body)
    .bind(&response.content_type)
    .bind(now)
    .bind(locked_until)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Frees a claimed key without a result, so the client may retry it (the request did not run to
/// a definite outcome).
pub async fn release(db: &Db, tenant: &str, key: &str, locked_until: i64) -> AppResult<()> {
    sqlx::query("DELETE FROM idempotency_keys WHERE tenant_id = $1 AND idempotency_key = $2 AND status = 'in_flight' AND locked_until = $3")
        .bind(tenant)
        .bind(key)
        .bind(locked_until)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Deletes records past the TTL. Returns how many.
pub async fn purge_expired(db: &Db, ttl_ms: i64, now: i64) -> AppResult<u64> {
    Ok(sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1").bind(now - ttl_ms).execute(&db.pool).await?.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_and_whitespace_do_not_change_the_fingerprint() {
        let a = br#"{"payment_id":"pay_1","amount":100,"meta":{"b":1,"a":[1,2]}}"#;
        let b = b"{ \"amount\": 100,\n \"meta\": {\"a\": [1, 2], \"b\": 1}, \"payment_id\": \"pay_1\" }";
        assert_eq!(fingerprint("POST", "/api/v1/refunds", a), fingerprint("POST", "/api/v1/refunds", b));
    }

    #[test]
    fn a_different_body_path_or_method_changes_it() {
        let body = br#"{"amount":100}"#;
        let base = fingerprint("POST", "/api/v1/refunds", body);
        assert_ne!(base, fingerprint("POST", "/api/v1/refunds", br#"{"amount":101}"#));
        assert_ne!(base, fingerprint("POST", "/api/v1/checkout-sessions", body));
        assert_ne!(base, fingerprint("PUT", "/api/v1/refunds", body));
        // Array order is meaningful.
        assert_ne!(fingerprint("POST", "/x", br#"[1,2]"#), fingerprint("POST", "/x", br#"[2,1]"#));
    }

    #[test]
    fn bodies_that_are_not_json_are_compared_byte_for_byte() {
        assert_ne!(fingerprint("POST", "/x", b"\xff\xfe"), fingerprint("POST", "/x", b"\xff\xfd"));
        assert_ne!(fingerprint("POST", "/x", b"1"), fingerprint("POST", "/x", b"json:1"));
    }

    #[test]
    fn an_empty_body_has_a_fingerprint_too() {
        assert_eq!(fingerprint("POST", "/x", b""), fingerprint("POST", "/x", b""));
    }
}
