//! A plugin's configuration schema, and configurations parsed against it: a tenant's settings for
//! a plugin are checked field by field before they are stored, so a plugin reads typed values it
//! can trust. Secret fields are sealed at rest and masked in every answer (see `store`).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::{
    domain::{events::EventPattern, settings::{mask, UNCHANGED}, EmailAddress},
    error::AppError,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    /// An `http(s)://` URL.
    Url,
    /// A list of email addresses.
    Emails,
    /// A list of event patterns (`payment.*`, `dispute.created`, `*`).
    Patterns,
    Integer { min: i64, max: i64 },
    Bool,
    Choice { options: &'static [&'static str] },
}

#[derive(Debug, Clone, Serialize)]
pub struct Field {
    pub key: &'static str,
    pub label: &'static str,
    pub kind: FieldKind,
    pub required: bool,
    /// Sealed at rest, masked in answers; sending the mask (or `__unchanged__`) back keeps it.
    pub secret: bool,
    pub help: &'static str,
    /// The value used when the tenant has not set one (JSON literal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<&'static str>,
}

/// A configuration that passed its schema: typed getters never fail on a present key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PluginConfig(Map<String, Value>);

impl PluginConfig {
    pub fn empty() -> Self {
        Self::default()
    }

    /// Builds from stored values without checking (they were checked when stored), applying
    /// the schema's defaults for keys not set.
    pub fn from_stored(fields: &[Field], mut values: Map<String, Value>) -> Self {
        for f in fields {
            if !values.contains_key(f.key) {
                if let Some(default) = f.default.and_then(|d| serde_json::from_str::<Value>(d).ok()) {
                    values.insert(f.key.to_owned(), default);
                }
            }
        }
        Self(values)
    }

    pub fn values(&self) -> &Map<String, Value> {
        &self.0
    }

    pub fn into_values(self) -> Map<String, Value> {
        self.0
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
    }

    pub fn bool(&self, key: &str) -> bool {
        self.0.get(key).and_then(Value::as_bool).unwrap_or(false)
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        self.0.get(key).and_then(Value::as_i64)
    }

    pub fn list(&self, key: &str) -> Vec<String> {
        self.0.get(key).and_then(Value::as_array).map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()).unwrap_or_default()
    }

    pub fn patterns(&self, key: &str) -> Vec<EventPattern> {
        self.list(key).iter().filter_map(|p| EventPattern::parse(p).ok()).collect()
    }

    /// The same configuration with every secret field masked, for answers.
    pub fn masked(&self, fields: &[Field]) -> Map<String, Value> {
        let mut out = self.0.clone();
        for f in fields.iter().filter(|f| f.secret) {
            if let Some(Value::String(s)) = out.get(f.key) {
                let m = mask(s);
                out.insert(f.key.to_owned(), Value::String(m));
            }
        }
        out
    }
}

fn invalid(key: &str, message: String) -> AppError {
    AppError::invalid("plugin_config_invalid", message, Some(&format!("config.{key}")))
}

/// Merges `patch` over `current` and checks the result against `fields`. A secret field sent as
/// its mask or `__unchanged__` keeps the current value; `null` clears a field; unknown keys and
/// values of the wrong shape are refused with the field named.
pub fn apply_patch(fields: &[Field], current: &PluginConfig, patch: &Map<String, Value>) -> Result<PluginConfig, AppError> {
    let mut merged = current.0.clone();
    for (key, value) in patch {
        let Some(field) = fields.iter().find(|f| f.key == key) else {
            let known: Vec<&str> = fields.iter().map(|f| f.key).collect();
            return Err(invalid(key, format!("unknown setting `{key}`; this plugin knows {}", if known.is_empty() { "none".into() } else { known.join(", ") })));
        };
        if value.is_null() {
            merged.remove(key);
            continue;
        }
        if field.secret {
            if let (Some(s), Some(Value::String(old))) = (value.as_str(), current.0.get(key)) {
                if s == UNCHANGED || s == mask(old) {
                    continue;
                }
            }
        }
        merged.insert(key.clone(), check(field, value)?);
    }
    for f in fields.iter().filter(|f| f.required) {
        let present = merged.get(f.key).is_some_and(|v| !(v.is_null() || v.as_str() == Some("") || v.as_array().is_some_and(|a| a.is_empty())));
        if !present && f.default.is_none() {
            return Err(invalid(f.key, format!("`{}` is required", f.key)));
        }
    }
    Ok(PluginConfig::from_stored(fields, merged))
}

fn check(field: &Field, value: &Value) -> Result<Value, AppError> {
    let key = field.key;
    let text = |v: &Value| v.as_str().map(str::trim).map(str::to_owned).ok_or_else(|| invalid(key, format!("`{key}` must be a string")));
    let list = |v: &Value| -> Result<Vec<String>, AppError> {
        v.as_array()
            .ok_or_else(|| invalid(key, format!("`{key}` must be a list of strings")))?
            .iter()
            .map(|x| x.as_str().map(|s| s.trim().to_owned()).ok_or_else(|| invalid(key, format!("`{key}` must be a list of strings"))))
            .collect()
    };
    match field.kind {
        FieldKind::Text => {
            let s = text(value)?;
            if s.chars().count() > 2000 {
                return Err(invalid(key, format!("`{key}` is longer than 2000 characters")));
            }
            Ok(Value::String(s))
        }
        FieldKind::Url => {
            let s = text(value)?;
            if s.is_empty() {
                return Ok(Value::String(s));
            }
            let parsed = reqwest::Url::parse(&s).map_err(|_| invalid(key, format!("`{key}` must be an http(s) URL")))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(invalid(key, format!("`{key}` must be an http(s) URL")));
            }
            Ok(Value::String(s))
        }
        FieldKind::Emails => {
            let raw = list(value)?;
            if raw.len() > 20 {
                return Err(invalid(key, format!("`{key}` takes at most 20 addresses")));
            }
            let mut out: Vec<String> = Vec::new();
            for r in raw {
                let e = EmailAddress::parse(&r).map_err(|_| invalid(key, format!("`{r}` is not a valid email address")))?;
                if !out.iter().any(|x| x == e.as_str()) {
                    out.push(e.as_str().to_owned());
                }
            }
            Ok(serde_json::json!(out))
        }
        FieldKind::Patterns => {
            let raw = list(value)?;
            for p in &raw {
                EventPattern::parse(p).map_err(|e| invalid(key, e.to_string()))?;
            }
            Ok(serde_json::json!(raw))
        }
        FieldKind::Integer { min, max } => {
            let n = value.as_i64().ok_or_else(|| invalid(key, format!("`{key}` must be a whole number")))?;
            if n < min || n > max {
                return Err(invalid(key, format!("`{key}` must be between {min} and {max}")));
            }
            Ok(Value::from(n))
        }
        FieldKind::Bool => value.as_bool().map(Value::Bool).ok_or_else(|| invalid(key, format!("`{key}` must be true or false"))),
        FieldKind::Choice { options } => {
            let s = text(value)?;
            if !options.contains(&s.as_str()) {
                return Err(invalid(key, format!("`{key}` must be one of {}", options.join(", "))));
            }
            Ok(Value::String(s))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FIELDS: &[Field] = &[
        Field { key: "webhook_url", label: "Webhook URL", kind: FieldKind::Url, required: true, secret: true, help: "", default: None },
        Field { key: "events", label: "Events", kind: FieldKind::Patterns, required: false, secret: false, help: "", default: Some(r#"["dispute.*"]"#) },
        Field { key: "threshold", label: "Threshold", kind: FieldKind::Integer { min: 0, max: 1_000_000 }, required: false, secret: false, help: "", default: None },
        Field { key: "flavor", label: "Flavor", kind: FieldKind::Choice { options: &["slack", "rocketchat"] }, required: false, secret: false, help: "", default: Some(r#""slack""#) },
        Field { key: "to", label: "To", kind: FieldKind::Emails, required: false, secret: false, help: "", default: None },
    ];

    fn patch(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_valid_patch_is_stored_with_defaults_filled_in() {
        let c = apply_patch(FIELDS, &PluginConfig::empty(), &patch(json!({"webhook_url": "https://hooks.example.com/T1/secret", "threshold": 50000}))).unwrap();
        assert_eq!(c.str("webhook_url"), Some("https://hooks.example.com/T1/secret"));
        assert_eq!(c.int("threshold"), Some(50000));
        assert_eq!(c.list("events"), vec!["dispute.*"]);
        assert_eq!(c.str("flavor"), Some("slack"));
    }

    #[test]
    fn each_bad_value_is_refused_naming_its_field() {
        let cases = [
            json!({"webhook_url": "ftp://x"}),
            json!({"webhook_url": "https://x.example", "events": ["paymnt.*"]}),
            json!({"webhook_url": "https://x.example", "threshold": -1}),
            json!({"webhook_url": "https://x.example", "threshold": "10"}),
            json!({"webhook_url": "https://x.example", "flavor": "teams"}),
            json!({"webhook_url": "https://x.example", "to": ["not-an-email"]}),
            json!({"webhook_url": "https://x.example", "color": "red"}),
            json!({}),
        ];
        for case in cases {
            let err = apply_patch(FIELDS, &PluginConfig::empty(), &patch(case.clone())).unwrap_err();
            match err {
                AppError::InvalidRequest { param, .. } => assert!(param.unwrap().starts_with("config."), "{case}"),
                other => panic!("{case}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_secret_sent_back_masked_or_unchanged_keeps_the_stored_value() {
        let stored = apply_patch(FIELDS, &PluginConfig::empty(), &patch(json!({"webhook_url": "https://hooks.example.com/services/T000/B000/XXXXXXXX"}))).unwrap();
        let masked = stored.masked(FIELDS)["webhook_url"].as_str().unwrap().to_owned();
        assert!(!masked.contains("XXXXXXXX"));
        for sent in [masked.as_str(), UNCHANGED] {
            let kept = apply_patch(FIELDS, &stored, &patch(json!({"webhook_url": sent}))).unwrap();
            assert_eq!(kept.str("webhook_url"), stored.str("webhook_url"));
        }
    }

    #[test]
    fn null_clears_a_field_and_a_required_one_cannot_be_cleared() {
        let stored = apply_patch(FIELDS, &PluginConfig::empty(), &patch(json!({"webhook_url": "https://a.example", "threshold": 5}))).unwrap();
        let cleared = apply_patch(FIELDS, &stored, &patch(json!({"threshold": null}))).unwrap();
        assert_eq!(cleared.int("threshold"), None);
        assert!(apply_patch(FIELDS, &stored, &patch(json!({"webhook_url": null}))).is_err());
    }
}
