//! Standard Webhooks signing: `webhook-signature: v1,<base64(HMAC-SHA256(key, "{id}.{ts}.{body}"))>`
//! where the key is the base64-decoded part of `whsec_…`. During a rotation's overlap both the
//! new and the previous secret sign, space-separated, as the specification allows.

use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a new secret (the specification asks for 24 to 64).
const SECRET_BYTES: usize = 32;

/// A fresh `whsec_<base64 of 32 random bytes>`.
pub fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The HMAC key of a `whsec_…` secret; `None` when it is not one.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok().filter(|k| !k.is_empty())
}

/// `v1,<signature>` of one message under one secret.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = secret_key(secret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// The `webhook-signature` header value: one `v1,…` per secret, newest first.
pub fn signature_header(secrets: &[&str], msg_id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let parts: Option<Vec<String>> = secrets.iter().map(|s| sign(s, msg_id, timestamp, body)).collect();
    parts.map(|p| p.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector published with the Standard Webhooks reference libraries.
    #[test]
    fn the_specifications_test_vector_signs_as_published() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let signature = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#).unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_new_secret_has_the_prefix_and_enough_key_bytes() {
        let secret = new_secret();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(secret_key(&secret).unwrap().len(), 32);
        assert_ne!(secret, new_secret());
    }

    #[test]
    fn during_an_overlap_both_secrets_sign_space_separated() {
        let (new, old) = (new_secret(), new_secret());
        let header = signature_header(&[&new, &old], "whm_1", 1_700_000_000, b"{}").unwrap();
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts, [sign(&new, "whm_1", 1_700_000_000, b"{}").unwrap(), sign(&old, "whm_1", 1_700_000_000, b"{}").unwrap()]);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
    }

    #[test]
    fn something_that_is_not_a_whsec_secret_does_not_sign() {
        assert!(sign("sk_test_x", "whm_1", 1, b"{}").is_none());
        assert!(sign("whsec_", "whm_1", 1, b"{}").is_none());
        assert!(sign("whsec_***", "whm_1", 1, b"{}").is_none());
    }
}
