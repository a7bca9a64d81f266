//! Password hashing: checking that a configured basic-auth hash is an Argon2 PHC string the
//! verifier can use, and hashing a password into one (tests and tooling). A leaf shared by
//! `config` (validation) and `web::auth` (verification). It must not read requests or config.

/// Checks that `hash` is an Argon2 PHC string the verifier can use (config validation).
pub fn check_password_hash(hash: &str) -> Result<(), String> {
    let parsed = argon2::PasswordHash::new(hash).map_err(|e| {
        format!("not a PHC password hash ({e}); expected e.g. \"$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>\"")
    })?;
    if !parsed.algorithm.as_str().starts_with("argon2") {
        return Err(format!(
            "algorithm '{}' is not supported; use argon2id",
            parsed.algorithm
        ));
    }
    if parsed.hash.is_none() {
        return Err("the PHC string has no hash part".into());
    }
    Ok(())
}

/// Hashes a password into an Argon2id PHC string with a random salt (for tests and tooling).
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::PasswordHasher;
    use argon2::password_hash::SaltString;
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}
