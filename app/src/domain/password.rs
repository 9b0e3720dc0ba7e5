//! A new password that satisfies the policy. Never printed: its `Debug` is redacted.

use std::fmt;

pub const MIN_PASSWORD_LEN: usize = 10;
/// Upper bound so a megabyte "password" cannot make argon2 burn CPU for nothing.
pub const MAX_PASSWORD_LEN: usize = 128;

/// A few of the most common passwords that pass the length rule anyway.
const COMMON: &[&str] = &[
    "1234567890", "12345678910", "0123456789", "qwertyuiop", "password12", "password123",
    "password1234", "iloveyou12", "1q2w3e4r5t", "qwerty1234", "abcdefghij", "letmein123",
    "welcome123", "administrator", "passw0rd123", "changeme123",
];

#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password must be at least {MIN_PASSWORD_LEN} characters")]
    TooShort,
    #[error("password must be at most {MAX_PASSWORD_LEN} characters")]
    TooLong,
    #[error("password is too easy to guess")]
    TooCommon,
}

impl Password {
    pub fn parse(raw: &str) -> Result<Self, PasswordError> {
        let len = raw.chars().count();
        if len < MIN_PASSWORD_LEN {
            return Err(PasswordError::TooShort);
        }
        if len > MAX_PASSWORD_LEN {
            return Err(PasswordError::TooLong);
        }
        let lower = raw.to_lowercase();
        let first = lower.chars().next();
        let one_repeated_char = lower.chars().all(|c| Some(c) == first);
        if one_repeated_char || COMMON.contains(&lower.as_str()) {
            return Err(PasswordError::TooCommon);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_accepts_a_long_unusual_password() {
        assert!(Password::parse("correct horse battery").is_ok());
    }

    #[test]
    fn the_policy_rejects_short_long_and_common_passwords() {
        assert_eq!(Password::parse("short"), Err(PasswordError::TooShort));
        assert_eq!(Password::parse(&"x".repeat(200)), Err(PasswordError::TooLong));
        assert_eq!(Password::parse("aaaaaaaaaaaa"), Err(PasswordError::TooCommon));
        assert_eq!(Password::parse("Password123"), Err(PasswordError::TooCommon));
    }

    #[test]
    fn debug_never_shows_the_password() {
        let p = Password::parse("correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }
}
