//! The store in this process's memory: for one instance without Redis, and
//! for unit tests.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::{Attempt, Lockout, Session};

/// How often expired entries are swept out, so abandoned sessions and
/// counters do not pile up.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Counters untouched this long are dropped by the sweep.
const STALE_COUNTERS: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    sessions: HashMap<String, (Session, Instant)>,
    attempts: HashMap<String, VecDeque<Instant>>,
    /// Consecutive failures and when the last one happened.
    failures: HashMap<String, (u32, Instant)>,
    /// When each lock ends.
    locks: HashMap<String, Instant>,
    last_sweep: Option<Instant>,
}

impl MemoryStore {
    pub fn put_session(&self, key: String, session: Session, idle: Duration) {
        let mut state = self.state();
        state.sweep(idle);
        state.sessions.insert(key, (session, Instant::now() + idle));
    }

    pub fn touch_session(&self, key: &str, idle: Duration) -> Option<Session> {
        let mut state = self.state();
        let now = Instant::now();
        let (session, expires) = state.sessions.get_mut(key)?;
        if *expires <= now {
            state.sessions.remove(key);
            return None;
        }
        *expires = now + idle;
        Some(session.clone())
    }

    pub fn replace_session(&self, key: &str, session: Session, idle: Duration) -> bool {
        let mut state = self.state();
        let now = Instant::now();
        let Some(entry) = state.sessions.get_mut(key).filter(|(_, expires)| *expires > now) else { return false };
        *entry = (session, now + idle);
        true
    }

    pub fn delete_session(&self, key: &str) {
        self.state().sessions.remove(key);
    }

    pub fn delete_user_sessions(&self, user_id: Uuid) {
        self.state().sessions.retain(|_, (session, _)| session.user_id != Some(user_id));
    }

    pub fn count_attempt(&self, key: String, limit: u32, window: Duration) -> Attempt {
        let now = Instant::now();
        let mut state = self.state();
        let attempts = state.attempts.entry(key).or_default();
        while attempts.front().is_some_and(|at| now.duration_since(*at) >= window) {
            attempts.pop_front();
        }
        if attempts.len() < limit as usize {
            attempts.push_back(now);
            return Attempt::Allowed;
        }
        let oldest = attempts.front().copied().unwrap_or(now);
        Attempt::Refused { retry_after: window.saturating_sub(now.duration_since(oldest)) }
    }

    pub fn begin_guarded_attempt(
        &self,
        failures_key: String,
        lock_key: String,
        threshold: u32,
        lock_for: Duration,
    ) -> Lockout {
        let now = Instant::now();
        let mut state = self.state();
        if let Some(retry_after) = state.locks.get(&lock_key).and_then(|until| until.checked_duration_since(now))
            && !retry_after.is_zero()
        {
            return Lockout::Locked { retry_after };
        }
        let entry = state.failures.entry(failures_key).or_insert((0, now));
        if now.duration_since(entry.1) >= lock_for {
            entry.0 = 0;
        }
        *entry = (entry.0 + 1, now);
        if entry.0 > threshold {
            state.locks.insert(lock_key, now + lock_for);
            return Lockout::Locked { retry_after: lock_for };
        }
        Lockout::Open { failures: entry.0 }
    }

    pub fn lock(&self, failures_key: String, lock_key: String, lock_for: Duration) {
        let mut state = self.state();
        state.failures.remove(&failures_key);
        state.locks.insert(lock_key, Instant::now() + lock_for);
    }

    pub fn forget_attempt(&self, key: &str) {
        if let Some((failures, _)) = self.state().failures.get_mut(key) {
            *failures = failures.saturating_sub(1);
        }
    }

    pub fn clear_failures(&self, key: &str) {
        self.state().failures.remove(key);
    }

    pub fn lift_lockout(&self, failures_key: &str, lock_key: &str) {
        let mut state = self.state();
        state.failures.remove(failures_key);
        state.locks.remove(lock_key);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent maps behind: each
        // operation's writes are single inserts or removals.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    fn sweep(&mut self, idle: Duration) {
        let now = Instant::now();
        if self.last_sweep.is_some_and(|at| now.duration_since(at) < SWEEP_INTERVAL) {
            return;
        }
        self.last_sweep = Some(now);
        self.sessions.retain(|_, (_, expires)| *expires > now);
        self.locks.retain(|_, until| *until > now);
        // Attempt windows and failure memories are shorter than a day.
        let stale = idle.max(STALE_COUNTERS);
        self.attempts.retain(|_, attempts| attempts.back().is_some_and(|at| now.duration_since(*at) < stale));
        self.failures.retain(|_, (_, at)| now.duration_since(*at) < stale);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_over_the_limit_are_refused_until_the_oldest_leaves_the_window() {
        let store = MemoryStore::default();
        let window = Duration::from_secs(900);
        for _ in 0..5 {
            assert_eq!(store.count_attempt("k".into(), 5, window), Attempt::Allowed);
        }
        let Attempt::Refused { retry_after } = store.count_attempt("k".into(), 5, window) else {
            panic!("the sixth attempt must be refused");
        };
        assert!(retry_after > Duration::from_secs(890) && retry_after <= window, "{retry_after:?}");
        assert_eq!(store.count_attempt("other".into(), 5, window), Attempt::Allowed);
    }

    #[test]
    fn at_most_the_threshold_is_checked_and_a_success_in_between_resets_the_count() {
        let store = MemoryStore::default();
        let lock_for = Duration::from_secs(900);
        let begin = || store.begin_guarded_attempt("f".into(), "l".into(), 10, lock_for);
        for expected in 1..=9 {
            assert_eq!(begin(), Lockout::Open { failures: expected });
        }
        store.forget_attempt("f");
        assert_eq!(begin(), Lockout::Open { failures: 9 }, "an attempt that could not be checked does not count");
        store.clear_failures("f");
        // Ten attempts in flight at once: all ten are checked, the eleventh
        // is refused before any of them fails.
        for expected in 1..=10 {
            assert_eq!(begin(), Lockout::Open { failures: expected });
        }
        assert_eq!(begin(), Lockout::Locked { retry_after: lock_for });
        let Lockout::Locked { retry_after } = begin() else { panic!("still locked") };
        assert!(retry_after > Duration::from_secs(890), "{retry_after:?}");
    }
}
