//! Reading the active tenant's audit log and checking its hash chain.

use chrono::{DateTime, Datelike, Utc};

use super::operation::{tenant_read, tenant_read_locking};
use super::{AppState, Error, OpContext};
use crate::audit::{self, EventFilter, LoggedEvent, Verification};
use crate::policy::Action;

const MAX_ACTION_CHARS: usize = 100;

/// The active tenant's events matching `filter`, newest first.
pub async fn audit_event_list(
    state: &AppState,
    op: &OpContext,
    filter: EventFilter,
    limit: i64,
) -> Result<Vec<LoggedEvent>, Error> {
    validate_filter(&filter)?;
    let tenant_id = op.active_tenant()?;
    tenant_read(state, op, tenant_id, Action::AuditLogRead, move |conn| {
        Box::pin(async move { Ok(audit::list(conn, tenant_id, &filter, limit).await?) })
    })
    .await
}

/// Recomputes the active tenant's chain. It waits for appends in flight
/// by locking the chain's head, which a read-only transaction may not.
pub async fn audit_chain_verify(state: &AppState, op: &OpContext) -> Result<Verification, Error> {
    let tenant_id = op.active_tenant()?;
    tenant_read_locking(state, op, tenant_id, Action::AuditLogRead, move |conn| {
        Box::pin(async move { Ok(audit::verify(conn, tenant_id).await?) })
    })
    .await
}

/// Actions are names like `member.role_changed`; times lie in years 1 to
/// 9999, which PostgreSQL stores. The filter may come back in a page token
/// the client could have altered, so it is checked on every page.
fn validate_filter(filter: &EventFilter) -> Result<(), Error> {
    if let Some(action) = &filter.action {
        let well_formed = !action.is_empty()
            && action.chars().count() <= MAX_ACTION_CHARS
            && action.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_');
        if !well_formed {
            return Err(Error::invalid_field(
                "action",
                "An action is a name like `member.role_changed`: lower-case letters, digits, `.` and `_`.",
            ));
        }
    }
    for (field, time) in [("since", filter.since), ("until", filter.until)] {
        if time.is_some_and(|time: DateTime<Utc>| !(1..=9999).contains(&time.year())) {
            return Err(Error::invalid_field(field, "Times lie between the years 1 and 9999."));
        }
    }
    Ok(())
}
