//! Reading the active tenant's audit log and checking its hash chain.

use uuid::Uuid;

use super::tenants::as_member;
use super::{AppState, Error, SignedIn};
use crate::audit::{self, EventFilter, EventRecord, Verification};
use crate::policy::{Action, Resource, authorize};

/// The active tenant's events matching `filter`, newest first.
pub async fn events(
    state: &AppState,
    who: &SignedIn,
    active_tenant: Option<Uuid>,
    filter: EventFilter,
    limit: i64,
) -> Result<Vec<EventRecord>, Error> {
    let tenant_id = active_tenant.ok_or(Error::NoActiveTenant)?;
    as_member(state, who, tenant_id, move |conn, ctx| {
        Box::pin(async move {
            authorize(Action::AuditLogRead, Resource::Tenant, ctx)?;
            Ok(audit::list(conn, tenant_id, &filter, limit).await?)
        })
    })
    .await
}

/// Recomputes the active tenant's chain.
pub async fn verify(state: &AppState, who: &SignedIn, active_tenant: Option<Uuid>) -> Result<Verification, Error> {
    let tenant_id = active_tenant.ok_or(Error::NoActiveTenant)?;
    as_member(state, who, tenant_id, move |conn, ctx| {
        Box::pin(async move {
            authorize(Action::AuditLogRead, Resource::Tenant, ctx)?;
            Ok(audit::verify(conn, tenant_id).await?)
        })
    })
    .await
}
