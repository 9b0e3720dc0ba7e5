//! Secrets at rest (tenants' Stripe keys and webhook secrets): AES-256-GCM under a key derived
//! from the master key, a fresh random nonce per value, stored as `v1:<base64 nonce‖ciphertext>`.
//! Each value is bound to where it belongs (associated data: tenant and field), so a sealed value
//! copied into another tenant's row does not open there. Tampering or a wrong key fails too.

use aes_gcm::{
    aead::{Aead, KeyInit, Payload},
    Aes256Gcm, Nonce,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use rand::RngCore;

use crate::error::AppError;

pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox([key redacted])")
    }
}

const PREFIX: &str = "v1:";

impl SecretBox {
    /// `key` is any secret bytes (the derived settings key); it is hashed to 256 bits.
    pub fn new(key: &[u8]) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(key);
        Self { cipher: Aes256Gcm::new_from_slice(&digest).expect("a 256-bit key") }
    }

    /// Seals `plaintext` for the place named by `context` (e.g. `ten_…/stripe_secret_key`).
    pub fn seal(&self, plaintext: &str, context: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let payload = Payload { msg: plaintext.as_bytes(), aad: context.as_bytes() };
        let ciphertext = self.cipher.encrypt(Nonce::from_slice(&nonce), payload).expect("AES-GCM encryption does not fail");
        let mut out = nonce.to_vec();
        out.extend(ciphertext);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    pub fn open(&self, sealed: &str, context: &str) -> Result<String, AppError> {
        let fail = || {
            tracing::error!("a stored secret could not be decrypted (wrong master key or altered data)");
            AppError::Internal
        };
        let bytes = sealed.strip_prefix(PREFIX).and_then(|b| STANDARD.decode(b).ok()).ok_or_else(fail)?;
        if bytes.len() < 12 + 16 {
            return Err(fail());
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: context.as_bytes() }).map_err(|_| fail())?;
        String::from_utf8(plain).map_err(|_| fail())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_to_itself_and_never_shows_it() {
        let sbox = SecretBox::new(b"master");
        let sealed = sbox.seal("sk_live_abcdef123456", "ten_a/key");
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("sk_live"));
        assert_eq!(sbox.open(&sealed, "ten_a/key").unwrap(), "sk_live_abcdef123456");
        assert_ne!(sealed, sbox.seal("sk_live_abcdef123456", "ten_a/key"), "a fresh nonce each time");
    }

    #[test]
    fn tampering_or_another_key_fails_to_open() {
        let sbox = SecretBox::new(b"master");
        let sealed = sbox.seal("whsec_x", "ten_a/hooks");
        let mut bytes = STANDARD.decode(&sealed[3..]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(sbox.open(&format!("v1:{}", STANDARD.encode(bytes)), "ten_a/hooks").is_err());
        assert!(SecretBox::new(b"other").open(&sealed, "ten_a/hooks").is_err());
        assert!(sbox.open("plain text", "ten_a/hooks").is_err());
    }

    #[test]
    fn a_sealed_value_does_not_open_in_another_tenants_row_or_field() {
        let sbox = SecretBox::new(b"master");
        let sealed = sbox.seal("sk_live_abcdef123456", "ten_a/stripe_secret_key");
        assert!(sbox.open(&sealed, "ten_b/stripe_secret_key").is_err());
        assert!(sbox.open(&sealed, "ten_a/webhook_secrets").is_err());
    }
}
