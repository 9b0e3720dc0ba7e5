//! Secrets that must survive restarts but need no operator: when not configured, they are
//! generated once into the data directory, readable by the owner only (0600).

use base64::{engine::general_purpose::STANDARD, Engine};
use std::{io::Write, path::Path};

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct KeyFileError {
    pub path: String,
    pub message: String,
}

/// The configured value if any, else the content of `data_dir/name`, created with 32 random bytes
/// (base64) on first use.
pub fn load_or_create(data_dir: &Path, name: &str, configured: Option<&str>) -> Result<String, KeyFileError> {
    if let Some(value) = configured {
        return Ok(value.to_owned());
    }
    let path = data_dir.join(name);
    let err = |message: String| KeyFileError { path: path.display().to_string(), message };
    match std::fs::read_to_string(&path) {
        Ok(existing) if !existing.trim().is_empty() => return Ok(existing.trim().to_owned()),
        Ok(_) => return Err(err("exists but is empty; delete it or set the variable".into())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e.to_string())),
    }
    std::fs::create_dir_all(data_dir).map_err(|e| err(e.to_string()))?;
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let value = STANDARD.encode(bytes);

    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(|e| err(e.to_string()))?;
    file.write_all(value.as_bytes()).map_err(|e| err(e.to_string()))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_generated_once_with_owner_only_permissions() {
        let dir = std::env::temp_dir().join(format!("paybus-keyfile-{}", crate::ssr::ids::random_base62(8)));
        let first = load_or_create(&dir, "master.key", None).unwrap();
        let second = load_or_create(&dir, "master.key", None).unwrap();
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("master.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(load_or_create(&dir, "master.key", Some("configured")).unwrap(), "configured");
        std::fs::remove_dir_all(dir).ok();
    }
}
