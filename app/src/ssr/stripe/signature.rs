//! `Stripe-Signature` verification, as Stripe specifies it and not as async-stripe implements it:
//! every `v1` signature is checked (during a secret roll Stripe signs with both secrets), other
//! schemes are ignored, the tolerance is ours to configure, and several secrets may be valid at
//! once. Comparison is constant-time.
//!
//! Header: `t=<unix seconds>,v1=<hex hmac>[,v1=<hex hmac>…][,v0=…]`; the signed payload is
//! `"{t}.{raw body}"`, HMAC-SHA256 keyed by the endpoint secret (`whsec_…`).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::ssr::config::Secret;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("The Stripe-Signature header is missing.")]
    Missing,
    #[error("The Stripe-Signature header is malformed: {0}.")]
    Malformed(&'static str),
    #[error("The Stripe-Signature header has no v1 signature.")]
    NoV1,
    #[error("No v1 signature matches any configured webhook secret.")]
    Mismatch,
    #[error("The signature timestamp is {age_secs} s from now, outside the {tolerance_secs} s tolerance.")]
    OutsideTolerance { age_secs: i64, tolerance_secs: i64 },
    #[error("No webhook secret is configured for this endpoint.")]
    NoSecret,
}

impl SignatureError {
    /// The error object's `code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "signature_missing",
            Self::Malformed(_) => "signature_header_invalid",
            Self::NoV1 => "signature_no_v1",
            Self::Mismatch => "signature_mismatch",
            Self::OutsideTolerance { .. } => "signature_timestamp_outside_tolerance",
            Self::NoSecret => "webhook_secret_missing",
        }
    }
}

/// The parts of a header we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    pub timestamp: i64,
    pub v1: Vec<Vec<u8>>,
}

impl SignatureHeader {
    pub fn parse(header: Option<&str>) -> Result<Self, SignatureError> {
        let header = header.map(str::trim).filter(|h| !h.is_empty()).ok_or(SignatureError::Missing)?;
        let mut timestamp = None;
        let mut v1 = Vec::new();
        for item in header.split(',') {
            let (key, value) = item.trim().split_once('=').ok_or(SignatureError::Malformed("an item is not key=value"))?;
            match key {
                "t" => {
                    let t: i64 = value.parse().map_err(|_| SignatureError::Malformed("t is not a Unix timestamp"))?;
                    timestamp = Some(t);
                }
                // A v1 that is not hex cannot match; skip it like any other non-matching one.
                "v1" => {
                    if let Ok(bytes) = hex::decode(value) {
                        v1.push(bytes);
                    }
                }
                // v0 and any future scheme: not ours to check.
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(SignatureError::Malformed("no t= timestamp"))?;
        if v1.is_empty() {
            return Err(SignatureError::NoV1);
        }
        Ok(Self { timestamp, v1 })
    }
}

pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// A header as Stripe would send it (for tests, `paybus stripe trigger` and the load generator).
pub fn header_for(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", sign(secret, timestamp, body))
}

/// Verifies `body` against `header` with any of `secrets`, at `now` (Unix seconds). The
/// signature is checked before the timestamp, as Stripe does, so a stale request with a bad
/// signature reads as a bad signature.
pub fn verify(header: Option<&str>, body: &[u8], secrets: &[Secret], tolerance_secs: i64, now: i64) -> Result<i64, SignatureError> {
    let parsed = SignatureHeader::parse(header)?;
    if secrets.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let mut matched = false;
    for secret in secrets {
        let expected = hex::decode(sign(secret.expose(), parsed.timestamp, body)).expect("hex we just wrote");
        for candidate in &parsed.v1 {
            // Evaluate every pair: no early exit that would time which one matched.
            matched |= bool::from(candidate.as_slice().ct_eq(expected.as_slice()));
        }
    }
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    let age = now - parsed.timestamp;
    if tolerance_secs > 0 && age.abs() > tolerance_secs {
        return Err(SignatureError::OutsideTolerance { age_secs: age, tolerance_secs });
    }
    Ok(parsed.timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const NOW: i64 = 1_763_800_000;
    const BODY: &[u8] = br#"{"id":"evt_test_webhook","object":"event"}"#;

    fn secrets(list: &[&str]) -> Vec<Secret> {
        list.iter().map(|s| Secret::new(*s)).collect()
    }

    fn check(header: Option<&str>, body: &[u8], with: &[&str]) -> Result<i64, SignatureError> {
        verify(header, body, &secrets(with), 300, NOW)
    }

    #[test]
    fn a_valid_signature_passes() {
        let header = header_for(SECRET, NOW, BODY);
        assert_eq!(check(Some(&header), BODY, &[SECRET]), Ok(NOW));
    }

    #[test]
    fn the_wrong_secret_fails() {
        let header = header_for("whsec_other", NOW, BODY);
        assert_eq!(check(Some(&header), BODY, &[SECRET]), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_timestamp_too_old_or_too_new_fails() {
        let old = header_for(SECRET, NOW - 301, BODY);
        assert!(matches!(check(Some(&old), BODY, &[SECRET]), Err(SignatureError::OutsideTolerance { age_secs: 301, .. })));
        let new = header_for(SECRET, NOW + 301, BODY);
        assert!(matches!(check(Some(&new), BODY, &[SECRET]), Err(SignatureError::OutsideTolerance { age_secs: -301, .. })));
        let edge = header_for(SECRET, NOW - 300, BODY);
        assert!(check(Some(&edge), BODY, &[SECRET]).is_ok());
    }

    #[test]
    fn one_valid_v1_among_several_passes() {
        let good = sign(SECRET, NOW, BODY);
        let bad = sign("whsec_old", NOW, BODY);
        for header in [format!("t={NOW},v1={bad},v1={good}"), format!("t={NOW},v1={good},v1={bad}"), format!("t={NOW},v1=nothex,v1={good}")] {
            assert_eq!(check(Some(&header), BODY, &[SECRET]), Ok(NOW), "{header}");
        }
    }

    #[test]
    fn only_v0_is_no_v1() {
        let v0 = sign(SECRET, NOW, BODY);
        assert_eq!(check(Some(&format!("t={NOW},v0={v0}")), BODY, &[SECRET]), Err(SignatureError::NoV1));
    }

    #[test]
    fn a_missing_or_empty_header_fails() {
        assert_eq!(check(None, BODY, &[SECRET]), Err(SignatureError::Missing));
        assert_eq!(check(Some("  "), BODY, &[SECRET]), Err(SignatureError::Missing));
    }

    #[test]
    fn a_header_with_no_v1_fails() {
        assert_eq!(check(Some(&format!("t={NOW}")), BODY, &[SECRET]), Err(SignatureError::NoV1));
    }

    #[test]
    fn garbage_headers_are_malformed() {
        for garbage in ["garbage", "t=abc,v1=00", "v1=00", "t=,v1=00", ",,,", "t=1;v1=2"] {
            assert!(
                matches!(check(Some(garbage), BODY, &[SECRET]), Err(SignatureError::Malformed(_) | SignatureError::NoV1)),
                "{garbage}"
            );
        }
    }

    #[test]
    fn a_body_altered_by_one_byte_fails() {
        let header = header_for(SECRET, NOW, BODY);
        let mut altered = BODY.to_vec();
        altered[10] ^= 1;
        assert_eq!(check(Some(&header), &altered, &[SECRET]), Err(SignatureError::Mismatch));
    }

    #[test]
    fn during_a_secret_roll_either_secret_passes() {
        let old = header_for("whsec_old", NOW, BODY);
        let new = header_for("whsec_new", NOW, BODY);
        for header in [old, new] {
            assert!(check(Some(&header), BODY, &["whsec_new", "whsec_old"]).is_ok());
        }
        // Stripe signs with both during the roll: one header, two v1.
        let both = format!("t={NOW},v1={},v1={}", sign("whsec_old", NOW, BODY), sign("whsec_new", NOW, BODY));
        assert!(check(Some(&both), BODY, &["whsec_new"]).is_ok());
    }

    #[test]
    fn no_configured_secret_is_its_own_error() {
        let header = header_for(SECRET, NOW, BODY);
        assert_eq!(check(Some(&header), BODY, &[]), Err(SignatureError::NoSecret));
    }

    #[test]
    fn a_zero_tolerance_skips_the_timestamp_check() {
        let header = header_for(SECRET, NOW - 86_400, BODY);
        assert!(verify(Some(&header), BODY, &secrets(&[SECRET]), 0, NOW).is_ok());
    }
}
