//! The store in Redis, shared by every instance. Anything that reads and
//! then writes runs as one Lua script, so concurrent requests on different
//! instances count exactly.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use anyhow::Context;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};
use tracing::Instrument;

use super::{Attempt, Lockout, Session, SessionTimeouts, unavailable};
use crate::error::Error;
use crate::telemetry::{METRICS, attribute};

/// How long a health check waits for Redis before calling it down.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Sliding window: drops attempts older than the window, then either counts
/// this one or answers how many milliseconds until the oldest leaves it.
/// Redis's own clock is the one clock all instances share.
static COUNT_ATTEMPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
        if redis.call('ZCARD', KEYS[1]) < limit then
            redis.call('ZADD', KEYS[1], now, ARGV[3])
            redis.call('PEXPIRE', KEYS[1], window)
            return 0
        end
        local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
        return math.max(1, tonumber(oldest[2]) + window - now)
        ",
    )
});

/// Refuses while locked; otherwise counts the attempt as a failure up
/// front, and locks once the count passes the threshold. Answers
/// `{failures, 0}` to go ahead or `{0, milliseconds locked}`.
static BEGIN_GUARDED_ATTEMPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local locked = redis.call('PTTL', KEYS[2])
        if locked > 0 then
            return {0, locked}
        end
        local failures = redis.call('INCR', KEYS[1])
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        if failures > tonumber(ARGV[1]) then
            redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
            return {0, tonumber(ARGV[2])}
        end
        return {failures, 0}
        ",
    )
});

/// Takes back one counted failure; a count that has meanwhile expired is
/// not brought back to life below zero.
static FORGET_ATTEMPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
            redis.call('DECR', KEYS[1])
        end
        return 0
        ",
    )
});

#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
}

impl RedisStore {
    /// The connection manager reconnects by itself after Redis restarts.
    pub async fn connect(url: &str) -> anyhow::Result<RedisStore> {
        let client = redis::Client::open(url)?;
        Ok(RedisStore { connection: ConnectionManager::new(client).await? })
    }

    pub async fn ping(&self) -> bool {
        let mut connection = self.connection.clone();
        let ping = redis::cmd("PING");
        let reply = tokio::time::timeout(PING_TIMEOUT, ping.query_async::<String>(&mut connection)).await;
        matches!(reply, Ok(Ok(_)))
    }

    pub async fn put_session(
        &self,
        key: &str,
        session: &Session,
        user_index: Option<&str>,
        timeouts: SessionTimeouts,
    ) -> Result<(), Error> {
        let value = serde_json::to_string(session).context("serializing a session")?;
        let mut pipeline = redis::pipe();
        pipeline.atomic().set_ex(key, value, seconds(timeouts.idle)).ignore();
        if let Some(index) = user_index {
            // Every session of a user ends within the absolute timeout of
            // the newest, so the index can expire then too.
            pipeline.sadd(index, key).ignore().expire(index, seconds(timeouts.absolute) as i64).ignore();
        }
        round_trip("put_session", pipeline.query_async::<()>(&mut self.connection.clone())).await
    }

    pub async fn touch_session(&self, key: &str, idle: Duration) -> Result<Option<Session>, Error> {
        let mut command = redis::cmd("GETEX");
        command.arg(key).arg("EX").arg(seconds(idle));
        let value: Option<String> =
            round_trip("touch_session", command.query_async(&mut self.connection.clone())).await?;
        let Some(value) = value else { return Ok(None) };
        Ok(Some(serde_json::from_str(&value).context("reading a stored session")?))
    }

    pub async fn replace_session(&self, key: &str, session: &Session, idle: Duration) -> Result<bool, Error> {
        let value = serde_json::to_string(session).context("serializing a session")?;
        let mut command = redis::cmd("SET");
        command.arg(key).arg(value).arg("XX").arg("EX").arg(seconds(idle));
        let replaced: Option<String> =
            round_trip("replace_session", command.query_async(&mut self.connection.clone())).await?;
        Ok(replaced.is_some())
    }

    pub async fn delete_session(&self, key: &str, user_index: Option<&str>) -> Result<(), Error> {
        let mut pipeline = redis::pipe();
        pipeline.atomic().del(key).ignore();
        if let Some(index) = user_index {
            pipeline.srem(index, key).ignore();
        }
        round_trip("delete_session", pipeline.query_async::<()>(&mut self.connection.clone())).await
    }

    /// Sessions added while this runs stay indexed (only the members read
    /// are removed), so a second call catches them.
    pub async fn delete_user_sessions(&self, user_index: &str) -> Result<(), Error> {
        let mut connection = self.connection.clone();
        let keys: Vec<String> = round_trip("list_user_sessions", connection.smembers(user_index)).await?;
        if keys.is_empty() {
            return Ok(());
        }
        let mut pipeline = redis::pipe();
        for key in &keys {
            pipeline.del(key).ignore().srem(user_index, key).ignore();
        }
        round_trip("delete_user_sessions", pipeline.query_async::<()>(&mut connection)).await
    }

    pub async fn count_attempt(&self, key: &str, limit: u32, window: Duration) -> Result<Attempt, Error> {
        let mut invocation = COUNT_ATTEMPT.key(key);
        invocation.arg(limit).arg(window.as_millis() as u64).arg(crate::crypto::random_token());
        let wait_ms: u64 = round_trip("count_attempt", invocation.invoke_async(&mut self.connection.clone())).await?;
        Ok(match wait_ms {
            0 => Attempt::Allowed,
            wait_ms => Attempt::Refused { retry_after: Duration::from_millis(wait_ms) },
        })
    }

    pub async fn begin_guarded_attempt(
        &self,
        failures_key: &str,
        lock_key: &str,
        threshold: u32,
        lock_for: Duration,
    ) -> Result<Lockout, Error> {
        let mut invocation = BEGIN_GUARDED_ATTEMPT.key(failures_key);
        invocation.key(lock_key).arg(threshold).arg(lock_for.as_millis() as u64);
        let (failures, locked_ms): (u32, u64) =
            round_trip("begin_guarded_attempt", invocation.invoke_async(&mut self.connection.clone())).await?;
        Ok(match locked_ms {
            0 => Lockout::Open { failures },
            locked_ms => Lockout::Locked { retry_after: Duration::from_millis(locked_ms) },
        })
    }

    pub async fn lock(&self, failures_key: &str, lock_key: &str, lock_for: Duration) -> Result<(), Error> {
        let mut pipeline = redis::pipe();
        pipeline.atomic().del(failures_key).ignore().pset_ex(lock_key, 1, lock_for.as_millis() as u64).ignore();
        round_trip("lock", pipeline.query_async::<()>(&mut self.connection.clone())).await
    }

    pub async fn forget_attempt(&self, key: &str) -> Result<(), Error> {
        let mut connection = self.connection.clone();
        round_trip("forget_attempt", FORGET_ATTEMPT.key(key).invoke_async::<()>(&mut connection)).await
    }

    pub async fn delete(&self, key: &str) -> Result<(), Error> {
        round_trip("delete", self.connection.clone().del::<_, ()>(key)).await
    }

    pub async fn delete_both(&self, first: &str, second: &str) -> Result<(), Error> {
        round_trip("delete", self.connection.clone().del::<_, ()>(&[first, second])).await
    }
}

/// One round trip to Redis, in a client span and timed.
async fn round_trip<T>(
    operation: &'static str,
    request: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, Error> {
    let span = tracing::info_span!(
        "redis",
        otel.name = operation,
        otel.kind = "client",
        db.system.name = "redis",
        db.operation.name = operation,
    );
    let started = Instant::now();
    let answer = request.instrument(span).await;
    let attributes = [attribute("operation", operation)];
    METRICS.session_store_duration.record(started.elapsed().as_secs_f64(), &attributes);
    answer.map_err(unavailable)
}

fn seconds(duration: Duration) -> u64 {
    duration.as_secs().max(1)
}
