//! The few cryptographic primitives the product uses on its own secrets:
//! random tokens, their digests for storage, signatures on what the server
//! hands out, and constant-time comparison.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Length of [`random_token`]'s output: 32 bytes in unpadded base64url.
const RANDOM_TOKEN_CHARS: usize = 43;

/// 256 random bits from the operating system, URL-safe: session ids, CSRF
/// tokens, reset and invite tokens.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// `N` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
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

/// Lower-case hex of a digest, built in one allocation: an audit page holds
/// 200 digests, and formatting each byte on its own (`{:02x}`) cost more
/// than the page's query.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// Signs what the server hands out and must later recognise unaltered
/// (single-use URLs), under a key of its own derived from the server's
/// secret, so a signature made for one purpose is worthless for any other.
#[derive(Clone)]
pub struct Signer {
    key: Hmac<Sha256>,
}

impl Signer {
    pub fn new(secret: &[u8], purpose: &str) -> Signer {
        // HKDF's extract step, with the purpose as its salt: HMAC keyed by
        // the purpose over the secret. Sessions key HMAC with the secret
        // itself (and show some of its outputs), so no digest they make
        // can ever be this key.
        let label = format!("incident-tracker signing key: {purpose}");
        let mut derive = Hmac::<Sha256>::new_from_slice(label.as_bytes()).expect("HMAC takes a key of any length");
        derive.update(secret);
        let key = derive.finalize().into_bytes();
        Signer { key: Hmac::new_from_slice(&key).expect("HMAC takes a key of any length") }
    }

    /// The signature of `message`, URL-safe.
    pub fn sign(&self, message: &str) -> String {
        let mut mac = self.key.clone();
        mac.update(message.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    pub fn verify(&self, message: &str, signature: &str) -> bool {
        constant_time_eq(self.sign(message).as_bytes(), signature.as_bytes())
    }
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn signatures_hold_for_their_message_and_purpose_only() {
        let signer = Signer::new(b"secret", "attachment urls");
        let signature = signer.sign("upload 1");
        assert!(signer.verify("upload 1", &signature));
        assert!(!signer.verify("upload 2", &signature));
        assert!(!signer.verify("upload 1", &signature[1..]));
        assert!(!Signer::new(b"secret", "other").verify("upload 1", &signature));
        assert!(!Signer::new(b"other secret", "attachment urls").verify("upload 1", &signature));
        // The key is not the secret's HMAC of the purpose, which is what a
        // session digest of that text would be.
        let mut session_digest = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
        session_digest.update(b"attachment urls");
        let mut as_key = Hmac::<Sha256>::new_from_slice(&session_digest.finalize().into_bytes()).unwrap();
        as_key.update(b"upload 1");
        assert_ne!(URL_SAFE_NO_PAD.encode(as_key.finalize().into_bytes()), signature);
    }

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
