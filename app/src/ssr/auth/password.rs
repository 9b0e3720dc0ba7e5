//! argon2id hashing, on the blocking pool so a login never stalls the async workers.

use crate::{error::AppError, ssr::config::Argon2Cost};
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};

fn hasher(cost: Argon2Cost) -> Result<Argon2<'static>, AppError> {
    let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None).map_err(|e| {
        tracing::error!(error = %e, "invalid argon2 parameters");
        AppError::Internal
    })?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// A PHC string (`$argon2id$v=19$m=…`), which records its own parameters: raising the cost later
/// keeps old hashes verifiable.
pub async fn hash(cost: Argon2Cost, password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher(cost)?.hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| {
            tracing::error!(error = %e, "argon2 hashing failed");
            AppError::Internal
        })
    })
    .await
    .map_err(|_| AppError::Internal)?
}

/// Checks `password` against `phc`. With `phc = None` it still burns one verification against a
/// dummy hash, so an unknown email costs as much time as a wrong password.
pub async fn verify(cost: Argon2Cost, phc: Option<String>, password: String) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let argon = hasher(cost)?;
        let (phc, real) = match phc {
            Some(phc) => (phc, true),
            None => {
                let salt = SaltString::generate(&mut OsRng);
                let dummy = argon.hash_password(b"paybus-timing-equaliser", &salt).map_err(|_| AppError::Internal)?;
                (dummy.to_string(), false)
            }
        };
        let parsed = PasswordHash::new(&phc).map_err(|e| {
            tracing::error!(error = %e, "stored password hash is malformed");
            AppError::Internal
        })?;
        Ok(real && argon.verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .map_err(|_| AppError::Internal)?
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: Argon2Cost = Argon2Cost { memory_kib: 1024, iterations: 1, parallelism: 1 };

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let phc = hash(CHEAP, "correct horse battery".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify(CHEAP, Some(phc.clone()), "correct horse battery".into()).await.unwrap());
        assert!(!verify(CHEAP, Some(phc), "wrong horse battery".into()).await.unwrap());
        assert!(!verify(CHEAP, None, "correct horse battery".into()).await.unwrap());
    }
}
