//! Human-given names (a tenant's, an API key's): trimmed, 1 to 100 characters, no control
//! characters.

use serde::{Deserialize, Serialize};

use crate::error::AppError;

pub const MAX_NAME_LEN: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Name(String);

impl Name {
    /// `param` names the field in the error a client sees.
    pub fn parse(raw: &str, param: &str) -> Result<Self, AppError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(AppError::invalid("parameter_missing", format!("{param} must not be empty"), Some(param)));
        }
        if trimmed.chars().count() > MAX_NAME_LEN || trimmed.chars().any(char::is_control) {
            return Err(AppError::invalid(
                "parameter_invalid",
                format!("{param} must be at most {MAX_NAME_LEN} printable characters"),
                Some(param),
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("  Acme  ", "name").unwrap().as_str(), "Acme");
        assert!(Name::parse("   ", "name").is_err());
        assert!(Name::parse(&"x".repeat(101), "name").is_err());
        assert!(Name::parse("a\u{0}b", "name").is_err());
    }
}
