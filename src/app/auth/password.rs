//! Passwords: the policy (NIST SP 800-63B) and Argon2id hashing, both of
//! the password's NFKC form, as SP 800-63B asks: "ﬁ" and "fi", or a
//! precomposed "é" and "e" with a combining accent, are the same password.
//!
//! Hashing costs about 19 MiB and tens of milliseconds of CPU. It runs on
//! threads of its own, never on the async workers: one per core but one
//! (at least one), at a lower CPU priority than request handling. A login
//! flood queues here instead of starving every other request.

use std::collections::HashSet;
use std::sync::mpsc;
use std::sync::{Arc, LazyLock, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::oneshot;
use tracing::Instrument;
use unicode_normalization::UnicodeNormalization;

use crate::db::users::User;
use crate::error::Error;

pub const MIN_CHARS: usize = 15;
pub const MAX_CHARS: usize = 128;

/// A local part shorter than this is too common a substring to forbid.
const MIN_LOCAL_PART_CHARS: usize = 3;

/// The 10,000 most common passwords of public breach corpora (from Django's
/// `common-passwords.txt`), lower-cased. Entries shorter than [`MIN_CHARS`]
/// still matter: a password that only repeats one is rejected too.
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("common-passwords.txt").lines().collect());

/// Why a password was refused; the wire error carries it in `details.reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    TooShort,
    TooLong,
    Common,
    ContainsEmail,
}

impl Rejection {
    pub fn reason(self) -> &'static str {
        match self {
            Rejection::TooShort => "too_short",
            Rejection::TooLong => "too_long",
            Rejection::Common => "common",
            Rejection::ContainsEmail => "contains_email",
        }
    }

    pub fn message(self) -> String {
        match self {
            Rejection::TooShort => format!("Use at least {MIN_CHARS} characters."),
            Rejection::TooLong => format!("Use at most {MAX_CHARS} characters."),
            Rejection::Common => "This password appears in lists of breached passwords; choose another.".to_string(),
            Rejection::ContainsEmail => "The password must not contain your email address.".to_string(),
        }
    }
}

/// The form passwords are checked, hashed and verified in.
fn normalized(password: &str) -> String {
    password.nfkc().collect()
}

/// Longer than any password whose normalized form is short enough: NFKC
/// composes at most four code points into one. Checked before normalizing,
/// which may also make a string 18 times longer.
pub fn too_long_to_read(password: &str) -> bool {
    password.chars().count() > 4 * MAX_CHARS
}

/// Length limits, then the breached list, then the email, all of the
/// normalized password. No composition rules: SP 800-63B advises against
/// them.
pub fn check_policy(password: &str, normalized_email: &str) -> Result<(), Rejection> {
    if too_long_to_read(password) {
        return Err(Rejection::TooLong);
    }
    let password = normalized(password);
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(Rejection::TooShort);
    }
    if chars > MAX_CHARS {
        return Err(Rejection::TooLong);
    }
    let lowered = password.to_lowercase();
    if is_common(&lowered) {
        return Err(Rejection::Common);
    }
    let local_part = normalized_email.split('@').next().unwrap_or_default();
    if local_part.chars().count() >= MIN_LOCAL_PART_CHARS && lowered.contains(local_part) {
        return Err(Rejection::ContainsEmail);
    }
    Ok(())
}

/// On the list, or one entry repeated ("passwordpassword").
fn is_common(lowered: &str) -> bool {
    if COMMON_PASSWORDS.contains(lowered) {
        return true;
    }
    let length = lowered.len();
    (1..=length / 2).filter(|unit| length.is_multiple_of(*unit) && lowered.is_char_boundary(*unit)).any(|unit| {
        let candidate = &lowered[..unit];
        COMMON_PASSWORDS.contains(candidate) && candidate.repeat(length / unit) == lowered
    })
}

/// Niceness of the hashing threads: the lowest, so on a contended core the
/// scheduler gives request handling (niceness 0) about 70 times their
/// share. Idle CPU still goes to hashing, so logins keep their throughput
/// unless the machine is saturated, when they slow down before anything
/// else does (see docs/benchmarks.md).
const HASHING_NICENESS: libc::c_int = 19;

/// Hashing jobs that may wait per hashing thread; more are refused with 503
/// rather than queued for ever. At 30 to 40 hashes a second per core, a
/// full queue is a wait of a few seconds.
const QUEUE_PER_THREAD: usize = 64;

type Job = Box<dyn FnOnce() + Send>;

/// A stored hash, and whether it is of the password's normalized form.
pub struct StoredHash {
    pub hash: String,
    pub normalized: bool,
}

impl StoredHash {
    pub fn of(user: &User) -> StoredHash {
        StoredHash { hash: user.password_hash.clone(), normalized: user.password_normalized }
    }
}

/// Hashes and verifies passwords on a few threads of their own.
#[derive(Clone)]
pub struct Passwords {
    /// Work for the hashing threads; they end when the last clone is dropped.
    jobs: mpsc::SyncSender<Job>,
}

/// Verified against when an email has no account, so an unknown email costs
/// the same time as a wrong password. Made with [`hasher`]'s parameters for
/// a random password nobody kept.
const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$faeS5AzGjLPCGINSQ2Z7AA$QPOBZBuJ48HAquMzMyrrwN5vNPedxJRupzlRVh+dS6s";

impl Passwords {
    pub fn start() -> std::io::Result<Passwords> {
        let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
        let threads = cores.saturating_sub(1).max(1);
        let (jobs, queue) = mpsc::sync_channel::<Job>(threads * QUEUE_PER_THREAD);
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new().name("password-hashing".to_string()).spawn(move || {
                lower_this_threads_priority();
                loop {
                    // The lock is held only while waiting for the next job.
                    let job = queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).recv();
                    match job {
                        Ok(job) => job(),
                        Err(mpsc::RecvError) => return,
                    }
                }
            })?;
        }
        Ok(Passwords { jobs })
    }

    /// A hash of the password's normalized form.
    pub async fn hash(&self, password: String) -> Result<String, Error> {
        self.run("password.hash", move || {
            let salt = SaltString::generate(&mut OsRng);
            hasher().hash_password(normalized(&password).as_bytes(), &salt).map(|hash| hash.to_string())
        })
        .await?
        .map_err(|error| Error::Internal(anyhow::anyhow!("hashing a password: {error}")))
    }

    /// Whether `password` matches `stored`: its normalized form, or as
    /// typed against a hash made before passwords were normalized. With no
    /// stored hash, spends the same effort and answers no.
    pub async fn verify(&self, password: String, stored: Option<StoredHash>) -> Result<bool, Error> {
        let (stored, real) = match stored {
            Some(stored) => (stored, true),
            None => (StoredHash { hash: DECOY_HASH.to_string(), normalized: true }, false),
        };
        let matches = self
            .run("password.verify", move || {
                let password = if stored.normalized { normalized(&password) } else { password };
                PasswordHash::new(&stored.hash)
                    .is_ok_and(|hash| hasher().verify_password(password.as_bytes(), &hash).is_ok())
            })
            .await?;
        Ok(real && matches)
    }

    /// Runs `work` on the hashing threads, in a span named `name` that
    /// covers its wait in the queue too.
    async fn run<T: Send + 'static>(
        &self,
        name: &'static str,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let span = tracing::info_span!("password", otel.name = name);
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The request may have been abandoned meanwhile; nobody is left
            // to tell.
            let _ = done.send(work());
        });
        self.jobs.try_send(job).map_err(|error| match error {
            mpsc::TrySendError::Full(_) => Error::Unavailable { dependencies: vec!["passwordHashing"] },
            mpsc::TrySendError::Disconnected(_) => {
                Error::Internal(anyhow::anyhow!("the password hashing threads are gone"))
            }
        })?;
        result.instrument(span).await.map_err(|_| Error::Internal(anyhow::anyhow!("a password hashing job panicked")))
    }
}

/// On Linux the nice value belongs to the thread, so this leaves the rest
/// of the process alone. Failing to lower it only costs fairness.
fn lower_this_threads_priority() {
    // SAFETY: setpriority reads no memory of ours; `who = 0` is the caller.
    let result = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, HASHING_NICENESS) };
    if result != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "could not lower the hashing threads' priority");
    }
}

/// Argon2id at OWASP's recommended minimum: 19 MiB, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_checks_length_the_breached_list_and_the_email() {
        let email = "margaret.hamilton@example.com";
        assert_eq!(check_policy("short", email), Err(Rejection::TooShort));
        assert_eq!(check_policy(&"x".repeat(MAX_CHARS + 1), email), Err(Rejection::TooLong));
        assert_eq!(check_policy("1q2w3e4r5t6y7u8i9o0p", email), Err(Rejection::Common));
        assert_eq!(check_policy("PasswordPasswordPassword", email), Err(Rejection::Common));
        assert_eq!(check_policy("my name is Margaret.Hamilton!", email), Err(Rejection::ContainsEmail));
        assert_eq!(check_policy("correct horse battery staple", email), Ok(()));
        // Length counts characters, not bytes, and needs no digits or symbols.
        assert_eq!(check_policy("ünïcödé ïs fïnë hêrê", email), Ok(()));
        assert_eq!(check_policy(&"é".repeat(MAX_CHARS), email), Ok(()));
        // Lengths count the normalized form: a decomposed accent is one
        // character, a ligature of many is many, and input too long to be
        // worth normalizing is refused unread.
        assert_eq!(check_policy(&"e\u{301}".repeat(MAX_CHARS), email), Ok(()));
        assert_eq!(check_policy(&"\u{FDFA}".repeat(8), email), Err(Rejection::TooLong));
        assert!(too_long_to_read(&"x".repeat(4 * MAX_CHARS + 1)) && !too_long_to_read(&"e\u{301}".repeat(MAX_CHARS)));
    }

    #[tokio::test]
    async fn a_hash_verifies_only_its_own_password_and_a_missing_hash_never_does() {
        let passwords = Passwords::start().unwrap();
        let hash = passwords.hash("correct horse battery staple".to_string()).await.unwrap();
        let parameters = "$argon2id$v=19$m=19456,t=2,p=1$";
        assert!(hash.starts_with(parameters), "{hash}");
        assert!(DECOY_HASH.starts_with(parameters), "the decoy must cost what a real hash does");
        assert_eq!(DECOY_HASH.len(), hash.len());
        let stored = |hash: &str| Some(StoredHash { hash: hash.to_string(), normalized: true });
        assert!(passwords.verify("correct horse battery staple".to_string(), stored(&hash)).await.unwrap());
        assert!(!passwords.verify("correct horse battery stapler".to_string(), stored(&hash)).await.unwrap());
        assert!(!passwords.verify("correct horse battery staple".to_string(), None).await.unwrap());
    }

    #[tokio::test]
    async fn compatible_forms_of_a_password_are_one_password_and_old_hashes_of_the_typed_form_still_verify() {
        let passwords = Passwords::start().unwrap();
        // A ligature, a full-width letter and a decomposed accent, against
        // what each normalizes to.
        let typed = "\u{FB01}ve \u{FF21}pples cafe\u{301} au lait";
        let plain = "five Apples caf\u{E9} au lait";
        assert_eq!(normalized(typed), plain);
        let hash = passwords.hash(typed.to_string()).await.unwrap();
        let stored = |hash: &str, normalized| Some(StoredHash { hash: hash.to_string(), normalized });
        assert!(passwords.verify(plain.to_string(), stored(&hash, true)).await.unwrap());
        assert!(passwords.verify(typed.to_string(), stored(&hash, true)).await.unwrap());

        let old = hasher().hash_password(typed.as_bytes(), &SaltString::generate(&mut OsRng)).unwrap().to_string();
        assert!(passwords.verify(typed.to_string(), stored(&old, false)).await.unwrap());
        assert!(!passwords.verify(plain.to_string(), stored(&old, false)).await.unwrap());
        assert_eq!(check_policy(typed, "ann@example.com"), check_policy(plain, "ann@example.com"));
    }
}
