//! Usage metering and the daily write quota.
//!
//! Writes are counted in the transaction of the write itself (see
//! [`super::operation`]), so only committed ones count and the quota is
//! exact. Reads are counted here in memory and added to the database every
//! [`FLUSH_INTERVAL`] and at shutdown: counting each read in its own
//! transaction would turn every read into a write. A crash loses at most
//! that interval's reads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::operation;
use super::{AppState, Error, OpContext};
use crate::actor::Principal;
use crate::db::{self, Pool, TenantScope, usage::UsageRow};
use crate::policy::Action;

const FLUSH_INTERVAL: Duration = Duration::from_secs(10);
/// The longest span one usage report covers.
pub const MAX_REPORT_DAYS: i64 = 366;
pub const DEFAULT_REPORT_DAYS: i64 = 30;

/// The tenant's write quota for today, after a write: what the RateLimit
/// headers and a `QUOTA_EXCEEDED` answer report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaStanding {
    pub limit: i64,
    pub used: i64,
    pub resets_at: DateTime<Utc>,
}

impl QuotaStanding {
    pub fn remaining(&self) -> i64 {
        (self.limit - self.used).max(0)
    }
}

/// The UTC day `now` falls on, and the midnight that ends it.
pub fn utc_day(now: DateTime<Utc>) -> (NaiveDate, DateTime<Utc>) {
    let day = now.date_naive();
    let next = day.succ_opt().unwrap_or(day).and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    (day, next)
}

type ReadKey = (Uuid, NaiveDate, Principal);

/// Reads counted since the last flush, shared by every request.
#[derive(Clone, Default)]
pub struct UsageMeter(Arc<Mutex<HashMap<ReadKey, i64>>>);

impl UsageMeter {
    pub fn count_read(&self, tenant_id: Uuid, principal: Principal) {
        let (day, _) = utc_day(Utc::now());
        *self.counts().entry((tenant_id, day, principal)).or_default() += 1;
    }

    /// Adds the reads counted so far to the database. Counts that cannot be
    /// written are kept for the next flush.
    pub async fn flush(&self, pool: &Pool) -> Result<(), Error> {
        let pending = std::mem::take(&mut *self.counts());
        let mut failed = HashMap::new();
        let mut first_error = None;
        for (key, reads) in pending {
            let (tenant_id, day, principal) = key;
            let written = db::in_tenant(pool, TenantScope { tenant_id, actor_id: principal.id }, move |conn| {
                Box::pin(async move { Ok(db::usage::usage_count_reads(conn, tenant_id, day, principal, reads).await?) })
            })
            .await;
            if let Err(error) = written {
                failed.insert(key, reads);
                first_error.get_or_insert(error);
            }
        }
        let mut counts = self.counts();
        for (key, reads) in failed {
            *counts.entry(key).or_default() += reads;
        }
        first_error.map_or(Ok(()), Err)
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, HashMap<ReadKey, i64>> {
        // Each change is one insert or addition: a panic cannot leave the
        // map inconsistent.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Flushes the meter every [`FLUSH_INTERVAL`] until stopped, then once more.
pub struct UsageFlusher {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl UsageFlusher {
    pub fn start(meter: UsageMeter, pool: Pool) -> UsageFlusher {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                let stopping = tokio::select! {
                    _ = tokio::time::sleep(FLUSH_INTERVAL) => false,
                    _ = stopped.changed() => true,
                };
                if let Err(error) = meter.flush(&pool).await {
                    tracing::warn!(%error, "writing read counts failed; kept for the next try");
                }
                if stopping {
                    return;
                }
            }
        });
        UsageFlusher { stop, task }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// One day of the active tenant's usage.
#[derive(Clone, Debug)]
pub struct UsageDay {
    pub date: NaiveDate,
    pub reads: i64,
    pub writes: i64,
    pub write_quota: i64,
    /// Each principal's share, when asked for.
    pub principals: Option<Vec<UsageRow>>,
}

/// The active tenant's usage from `from` to `to`, both included: every day,
/// oldest first.
pub async fn usage_view(
    state: &AppState,
    op: &OpContext,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    by_principal: bool,
) -> Result<Vec<UsageDay>, Error> {
    let tenant_id = op.active_tenant()?;
    let (today, _) = utc_day(Utc::now());
    for (field, date) in [("from", from), ("to", to)] {
        if date.is_some_and(|date| !(1..=9999).contains(&date.year())) {
            return Err(Error::invalid_field(field, "Dates lie between the years 1 and 9999."));
        }
    }
    let to = to.unwrap_or(today);
    let from = from.unwrap_or(to - chrono::Days::new(DEFAULT_REPORT_DAYS as u64 - 1));
    let days = (to - from).num_days() + 1;
    if !(1..=MAX_REPORT_DAYS).contains(&days) {
        return Err(Error::invalid_field(
            "from",
            format!("`from` must not be after `to`, and a report covers at most {MAX_REPORT_DAYS} days."),
        ));
    }
    let default_quota = state.limits.daily_write_quota;
    let (rows, quotas, own_quota) = operation::tenant_read(state, op, tenant_id, Action::BillingRead, {
        move |conn| {
            Box::pin(async move {
                let rows = db::usage::usage_view(conn, tenant_id, from, to).await?;
                let quotas = db::usage::usage_write_quotas(conn, tenant_id, from, to).await?;
                let own_quota = db::usage::tenant_write_quota(conn, tenant_id).await?;
                Ok((rows, quotas, own_quota))
            })
        }
    })
    .await?;
    let current_quota = own_quota.map_or(default_quota, i64::from);
    Ok(from
        .iter_days()
        .take(days as usize)
        .map(|date| {
            let of_day: Vec<UsageRow> = rows.iter().filter(|row| row.day == date).cloned().collect();
            let write_quota = quotas.iter().find(|(day, _)| *day == date).map_or(current_quota, |(_, quota)| *quota);
            UsageDay {
                date,
                reads: of_day.iter().map(|row| row.reads).sum(),
                writes: of_day.iter().map(|row| row.writes).sum(),
                write_quota,
                principals: by_principal.then_some(of_day),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quota_day_ends_at_the_next_utc_midnight() {
        let at = |raw: &str| raw.parse::<DateTime<Utc>>().unwrap();
        let (day, resets) = utc_day(at("2026-11-30T23:59:59Z"));
        assert_eq!((day.to_string(), resets), ("2026-11-30".to_string(), at("2026-12-01T00:00:00Z")));
        let (day, resets) = utc_day(at("2026-12-01T00:00:00Z"));
        assert_eq!((day.to_string(), resets), ("2026-12-01".to_string(), at("2026-12-02T00:00:00Z")));
        let (day, resets) = utc_day(at("2028-02-28T12:00:00+09:00"));
        assert_eq!((day.to_string(), resets), ("2028-02-28".to_string(), at("2028-02-29T00:00:00Z")));
    }
}
