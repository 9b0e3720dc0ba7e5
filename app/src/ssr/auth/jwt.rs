//! Short-lived access tokens: HS256 JWTs, algorithm pinned (a token claiming another algorithm is
//! rejected, whatever its signature).

use crate::{domain::UserId, error::AppError};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    /// Always `access`: a refresh token is opaque, never a JWT, so nothing else can pass here.
    pub typ: String,
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys([redacted])")
    }
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), validation }
    }

    pub fn issue(&self, user: &UserId, ttl: Duration) -> Result<String, AppError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims { sub: user.to_string(), iat: now, exp: now + ttl.as_secs() as i64, typ: "access".into() };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| {
            tracing::error!(error = %e, "cannot sign access token");
            AppError::Internal
        })
    }

    pub fn verify(&self, token: &str) -> Result<UserId, AppError> {
        let invalid = || AppError::unauthenticated("token_invalid", "The access token is invalid or has expired.");
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|_| invalid())?;
        if data.claims.typ != "access" {
            return Err(invalid());
        }
        data.claims.sub.parse().map_err(|_| invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_with_its_own_key_only() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef");
        let user: UserId = "usr_abc".parse().unwrap();
        let token = keys.issue(&user, Duration::from_secs(60)).unwrap();
        assert_eq!(keys.verify(&token).unwrap(), user);
        assert!(JwtKeys::new(b"another-key-another-key-another!").verify(&token).is_err());
    }

    #[test]
    fn an_unsigned_token_is_rejected() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef");
        // header {"alg":"none","typ":"JWT"}, payload {"sub":"usr_abc","iat":0,"exp":9999999999,"typ":"access"}
        let forged = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1c3JfYWJjIiwiaWF0IjowLCJleHAiOjk5OTk5OTk5OTksInR5cCI6ImFjY2VzcyJ9.";
        assert!(keys.verify(forged).is_err());
    }
}
