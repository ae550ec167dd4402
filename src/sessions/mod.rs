//! Sessions, and the attempt counters behind rate limits and lockouts: in
//! Redis when `REDIS_URL` is set, so any number of instances share them; in
//! this process's memory otherwise.
//!
//! Keys never hold a session id or an email as such: they hold an HMAC of it
//! under `SESSION_SECRET`, so a copy of Redis neither signs anyone in nor
//! lists who tried to.

mod memory;
mod redis_store;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use crate::crypto;
use crate::error::Error;
use crate::telemetry::{METRICS, attribute};
use memory::MemoryStore;
use redis_store::RedisStore;

/// What the server remembers about a browser between requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The value the `x-csrf-token` header must carry on mutating requests.
    pub csrf_token: String,
    /// The signed-in user; `None` for an anonymous session.
    pub user_id: Option<Uuid>,
    pub active_tenant_id: Option<Uuid>,
    /// When the session began: it ends at this plus the absolute timeout,
    /// however active it is.
    pub created_at: DateTime<Utc>,
}

impl Session {
    pub fn new(user_id: Option<Uuid>) -> Session {
        Session { csrf_token: crypto::random_token(), user_id, active_tenant_id: None, created_at: Utc::now() }
    }
}

/// A session's id: the cookie's value. Kept out of `Debug` output and logs.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId(String);

impl SessionId {
    pub fn random() -> SessionId {
        SessionId(crypto::random_token())
    }

    pub fn parse(raw: &str) -> Option<SessionId> {
        crypto::is_random_token(raw).then(|| SessionId(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId(..)")
    }
}

/// How long sessions live.
#[derive(Clone, Copy, Debug)]
pub struct SessionTimeouts {
    /// A session unused for this long ends.
    pub idle: Duration,
    /// A session ends this long after it began, however active.
    pub absolute: Duration,
}

/// Where sessions and counters live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    Memory,
    Redis,
}

#[derive(Clone)]
pub struct SessionStore {
    backend: Backend,
    key_secret: Arc<[u8]>,
    timeouts: SessionTimeouts,
}

#[derive(Clone)]
enum Backend {
    Memory(Arc<MemoryStore>),
    Redis(RedisStore),
}

/// The outcome of starting an attempt guarded by a lockout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lockout {
    /// Go ahead; this attempt is the `failures`-th in a row if it fails.
    Open {
        failures: u32,
    },
    Locked {
        retry_after: Duration,
    },
}

/// The outcome of counting an attempt against a limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    Allowed,
    /// Over the limit; the attempt was not counted.
    Refused {
        retry_after: Duration,
    },
}

impl Attempt {
    /// As the caller is answered: refused is `429 RATE_LIMITED`, saying
    /// when to come back.
    pub fn or_rate_limited(self) -> Result<(), Error> {
        match self {
            Attempt::Allowed => Ok(()),
            Attempt::Refused { retry_after } => Err(Error::rate_limited(retry_after)),
        }
    }
}

impl SessionStore {
    /// Connects to Redis when a URL is given. `key_secret` keys the HMAC
    /// under which ids and emails are stored.
    pub async fn connect(
        redis_url: Option<&str>,
        key_secret: &[u8],
        timeouts: SessionTimeouts,
    ) -> anyhow::Result<SessionStore> {
        let backend = match redis_url {
            None => Backend::Memory(Arc::default()),
            Some(url) => Backend::Redis(RedisStore::connect(url).await?),
        };
        Ok(SessionStore { backend, key_secret: key_secret.into(), timeouts })
    }

    pub fn timeouts(&self) -> SessionTimeouts {
        self.timeouts
    }

    pub fn kind(&self) -> StoreKind {
        match self.backend {
            Backend::Memory(_) => StoreKind::Memory,
            Backend::Redis(_) => StoreKind::Redis,
        }
    }

    /// Whether the store answers.
    pub async fn ping(&self) -> bool {
        match &self.backend {
            Backend::Memory(_) => true,
            Backend::Redis(redis) => redis.ping().await,
        }
    }

    /// An anonymous visitor's session under `id`, which is never stored:
    /// its CSRF token is derived from the id under the store's key, so it
    /// is the same on every request and on every instance, and visitors who
    /// never sign in cost no memory. A stored session that has ended reads
    /// back as this too.
    pub fn anonymous(&self, id: &SessionId) -> Session {
        let csrf_token = self.digest(&format!("anonymous-csrf:{}", id.0));
        Session { csrf_token, user_id: None, active_tenant_id: None, created_at: Utc::now() }
    }

    /// Stores `session` under a new random id.
    pub async fn create(&self, session: &Session) -> Result<SessionId, Error> {
        let id = SessionId::random();
        let key = self.session_key(&id);
        let user_index = session.user_id.map(|user_id| self.user_index_key(user_id));
        match &self.backend {
            Backend::Memory(memory) => memory.put_session(key, session.clone(), self.timeouts.idle),
            Backend::Redis(redis) => {
                redis.put_session(&key, session, user_index.as_deref(), self.timeouts).await?;
            }
        }
        Ok(id)
    }

    /// The live session with this id, which counts as activity: its idle
    /// timeout starts again.
    pub async fn load(&self, id: &SessionId) -> Result<Option<Session>, Error> {
        let key = self.session_key(id);
        let session = match &self.backend {
            Backend::Memory(memory) => memory.touch_session(&key, self.timeouts.idle),
            Backend::Redis(redis) => redis.touch_session(&key, self.timeouts.idle).await?,
        };
        let Some(session) = session else { return Ok(None) };
        let age = (Utc::now() - session.created_at).to_std().unwrap_or_default();
        if age >= self.timeouts.absolute {
            self.delete(id, &session).await?;
            return Ok(None);
        }
        Ok(Some(session))
    }

    /// Saves a changed session under its id, if it is still live: one ended
    /// meanwhile (sign-out, password reset) stays ended. Answers whether it
    /// was live.
    pub async fn update(&self, id: &SessionId, session: &Session) -> Result<bool, Error> {
        let key = self.session_key(id);
        match &self.backend {
            Backend::Memory(memory) => Ok(memory.replace_session(&key, session.clone(), self.timeouts.idle)),
            Backend::Redis(redis) => redis.replace_session(&key, session, self.timeouts.idle).await,
        }
    }

    /// Ends one session.
    pub async fn delete(&self, id: &SessionId, session: &Session) -> Result<(), Error> {
        let key = self.session_key(id);
        match &self.backend {
            Backend::Memory(memory) => memory.delete_session(&key),
            Backend::Redis(redis) => {
                let user_index = session.user_id.map(|user_id| self.user_index_key(user_id));
                redis.delete_session(&key, user_index.as_deref()).await?;
            }
        }
        Ok(())
    }

    /// Ends every session of `user_id`, wherever it was opened.
    pub async fn delete_all_of_user(&self, user_id: Uuid) -> Result<(), Error> {
        match &self.backend {
            Backend::Memory(memory) => memory.delete_user_sessions(user_id),
            Backend::Redis(redis) => redis.delete_user_sessions(&self.user_index_key(user_id)).await?,
        }
        Ok(())
    }

    /// Counts an attempt at `action` by `subject` if fewer than `limit` were
    /// counted in the last `window` (a sliding window, exact under
    /// concurrency: counting is atomic in the store).
    pub async fn count_attempt(
        &self,
        action: &str,
        subject: &str,
        limit: u32,
        window: Duration,
    ) -> Result<Attempt, Error> {
        let key = format!("attempts:{action}:{}", self.digest(subject));
        let attempt = match &self.backend {
            Backend::Memory(memory) => memory.count_attempt(key, limit, window),
            Backend::Redis(redis) => redis.count_attempt(&key, limit, window).await?,
        };
        let outcome = match attempt {
            Attempt::Allowed => "allowed",
            Attempt::Refused { .. } => "refused",
        };
        let policy = action.to_string();
        METRICS.rate_limit_decisions.add(1, &[attribute("policy", policy), attribute("outcome", outcome)]);
        Ok(attempt)
    }

    /// Starts an attempt at `subject` guarded by a lockout, counting it as a
    /// failure before it is checked: concurrent attempts cannot slip past
    /// the lockout, since at most `threshold` are ever checked between two
    /// successes. While locked, and from the attempt past the threshold on,
    /// the answer is [`Lockout::Locked`]. Failures are forgotten `lock_for`
    /// after the last attempt.
    pub async fn begin_guarded_attempt(
        &self,
        subject: &str,
        threshold: u32,
        lock_for: Duration,
    ) -> Result<Lockout, Error> {
        let (failures, lock) = (self.failures_key(subject), self.lock_key(subject));
        match &self.backend {
            Backend::Memory(memory) => Ok(memory.begin_guarded_attempt(failures, lock, threshold, lock_for)),
            Backend::Redis(redis) => redis.begin_guarded_attempt(&failures, &lock, threshold, lock_for).await,
        }
    }

    /// The guarded attempt that was the `failures`-th failed: the
    /// `threshold`-th locks `subject` for `lock_for`. Answers whether this
    /// one locked it.
    pub async fn confirm_failure(
        &self,
        subject: &str,
        failures: u32,
        threshold: u32,
        lock_for: Duration,
    ) -> Result<bool, Error> {
        if failures < threshold {
            return Ok(false);
        }
        let (failures, lock) = (self.failures_key(subject), self.lock_key(subject));
        match &self.backend {
            Backend::Memory(memory) => memory.lock(failures, lock, lock_for),
            Backend::Redis(redis) => redis.lock(&failures, &lock, lock_for).await?,
        }
        Ok(true)
    }

    /// The guarded attempt could not be checked: it no longer counts.
    pub async fn forget_attempt(&self, subject: &str) -> Result<(), Error> {
        let key = self.failures_key(subject);
        match &self.backend {
            Backend::Memory(memory) => memory.forget_attempt(&key),
            Backend::Redis(redis) => redis.forget_attempt(&key).await?,
        }
        Ok(())
    }

    /// The guarded attempt succeeded: `subject`'s failures are forgotten.
    pub async fn clear_failures(&self, subject: &str) -> Result<(), Error> {
        let key = self.failures_key(subject);
        match &self.backend {
            Backend::Memory(memory) => memory.clear_failures(&key),
            Backend::Redis(redis) => redis.delete(&key).await?,
        }
        Ok(())
    }

    /// `subject`'s failures are forgotten and a lock on it lifted: its
    /// owner proved who they are another way (a password reset).
    pub async fn lift_lockout(&self, subject: &str) -> Result<(), Error> {
        let (failures, lock) = (self.failures_key(subject), self.lock_key(subject));
        match &self.backend {
            Backend::Memory(memory) => memory.lift_lockout(&failures, &lock),
            Backend::Redis(redis) => redis.delete_both(&failures, &lock).await?,
        }
        Ok(())
    }

    fn session_key(&self, id: &SessionId) -> String {
        format!("session:{}", self.digest(&id.0))
    }

    fn user_index_key(&self, user_id: Uuid) -> String {
        format!("user-sessions:{user_id}")
    }

    fn failures_key(&self, subject: &str) -> String {
        format!("failures:{}", self.digest(subject))
    }

    fn lock_key(&self, subject: &str) -> String {
        format!("lock:{}", self.digest(subject))
    }

    fn digest(&self, value: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key_secret).expect("HMAC accepts keys of any length");
        mac.update(value.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

fn unavailable(error: redis::RedisError) -> Error {
    tracing::warn!(%error, "session store request failed");
    Error::Unavailable { dependencies: vec!["sessionStore"] }
}
