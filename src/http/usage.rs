//! Handlers of usage metering.

use dropshot::{HttpResponseOk, RequestContext};

use super::ApiContext;
use super::entry::handle;
use crate::api::usage::{PrincipalUsage, UsageDay, UsageQuery, UsageReport};
use crate::api::{ApiError, Reply};
use crate::app::usage;

pub async fn usage_view(
    rqctx: RequestContext<ApiContext>,
    query: UsageQuery,
) -> Result<Reply<HttpResponseOk<UsageReport>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let days = usage::usage_view(app, op, query.from, query.to, query.by_principal).await?;
        Ok(HttpResponseOk(UsageReport { days: days.into_iter().map(usage_day).collect() }))
    })
    .await
}

fn usage_day(day: usage::UsageDay) -> UsageDay {
    let principals = day.principals.map(|rows| {
        rows.into_iter()
            .map(|row| PrincipalUsage {
                kind: row.principal_type,
                id: row.principal_id,
                reads: row.reads,
                writes: row.writes,
            })
            .collect()
    });
    UsageDay { date: day.date, reads: day.reads, writes: day.writes, write_quota: day.write_quota, principals }
}
