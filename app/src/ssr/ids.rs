//! Id and secret generation (server only: it needs a CSPRNG).

use crate::domain::ids::{PrefixedId, ID_BODY_LEN};
use rand::{distributions::Alphanumeric, rngs::OsRng, Rng};

/// `len` random base62 characters from the OS generator.
pub fn random_base62(len: usize) -> String {
    OsRng.sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

/// A fresh id of type `T`, e.g. `ten_4fZ…`.
pub fn new_id<T: PrefixedId>() -> T {
    T::from_trusted(format!("{}_{}", T::PREFIX, random_base62(ID_BODY_LEN)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TenantId;

    #[test]
    fn generated_ids_carry_their_prefix_and_parse_back() {
        let id: TenantId = new_id();
        assert!(id.as_str().starts_with("ten_"));
        assert_eq!(TenantId::parse(id.as_str()).unwrap(), id);
        assert_ne!(new_id::<TenantId>(), id);
    }
}
