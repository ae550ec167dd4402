//! The few cryptographic primitives the product uses on its own secrets:
//! random tokens, their digests for storage, and constant-time comparison.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Length of [`random_token`]'s output: 32 bytes in unpadded base64url.
const RANDOM_TOKEN_CHARS: usize = 43;

/// 256 random bits from the operating system, URL-safe: session ids, CSRF
/// tokens, reset and invite tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `raw` could have come from [`random_token`]: anything else is
/// refused before it reaches a store.
pub fn is_random_token(raw: &str) -> bool {
    raw.len() == RANDOM_TOKEN_CHARS && URL_SAFE_NO_PAD.decode(raw).is_ok()
}

/// What is stored of a token: enough to recognise it, useless to replay.
pub fn token_digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Compares secrets without leaking through timing how much of them matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |difference, (x, y)| difference | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_are_distinct_and_recognisable() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert!(is_random_token(&a));
        assert!(!is_random_token(&a[1..]));
        assert!(!is_random_token(&format!("{}!", &a[1..])));
        assert!(constant_time_eq(a.as_bytes(), a.as_bytes()));
        assert!(!constant_time_eq(a.as_bytes(), b.as_bytes()));
    }
}
