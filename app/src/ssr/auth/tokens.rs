//! Opaque secrets handed to clients (refresh tokens, links, API keys) and how they are stored:
//! only a SHA-256 digest is kept, so a database leak yields nothing usable.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::ssr::ids::random_base62;

/// `prefix` followed by 40 random base62 characters (~238 bits).
pub fn new_secret(prefix: &str) -> String {
    format!("{prefix}{}", random_base62(40))
}

pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A six-digit code has only a million values, so a bare hash could be reversed by brute force:
/// it is stored keyed with a server secret instead.
pub fn keyed_hash(key: &[u8], value: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

pub fn six_digit_code() -> String {
    use rand::Rng;
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_prefixed() {
        let a = new_secret("rt_");
        assert!(a.starts_with("rt_") && a.len() == 43);
        assert_ne!(a, new_secret("rt_"));
    }

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let code = six_digit_code();
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn keyed_hashes_depend_on_the_key() {
        assert_ne!(keyed_hash(b"k1", "123456"), keyed_hash(b"k2", "123456"));
        assert_eq!(keyed_hash(b"k1", "123456"), keyed_hash(b"k1", "123456"));
    }
}
