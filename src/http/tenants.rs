//! Handlers of tenants, memberships and invites.

use dropshot::{
    HttpResponseCreated, HttpResponseDeleted, HttpResponseOk, HttpResponseUpdatedNoContent, RequestContext, ResultsPage,
};

use super::auth::{browser_session, me};
use super::entry::handle;
use super::{ApiContext, IdPages, id_page, id_results};
use crate::api::auth::Me;
use crate::api::tenants::{
    Invite, InviteAcceptRequest, InviteAccepted, InviteCreateRequest, InvitePath, Member, MemberPath,
    MemberUpdateRequest, Role, Tenant, TenantCreateRequest, TenantPath,
};
use crate::api::{ApiError, Reply};
use crate::app::tenants;
use crate::db;
use crate::policy;

pub async fn tenant_list(
    rqctx: RequestContext<ApiContext>,
    query: IdPages,
) -> Result<Reply<HttpResponseOk<ResultsPage<Tenant>>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let found = tenants::tenant_list(app, op, id_page(&rqctx, &query)?).await?;
        id_results(found.into_iter().map(tenant).collect(), |tenant| tenant.id)
    })
    .await
}

pub async fn tenant_create(
    rqctx: RequestContext<ApiContext>,
    body: TenantCreateRequest,
) -> Result<Reply<HttpResponseCreated<Tenant>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        Ok(HttpResponseCreated(tenant(tenants::tenant_create(app, op, &body.name).await?)))
    })
    .await
}

pub async fn tenant_switch(
    rqctx: RequestContext<ApiContext>,
    path: TenantPath,
) -> Result<Reply<HttpResponseOk<Me>>, ApiError> {
    handle(&rqctx, async |app, op, session| {
        let view = tenants::tenant_switch(app, op, browser_session(session)?, path.tenant_id).await?;
        Ok(HttpResponseOk(me(&view)))
    })
    .await
}

pub async fn member_list(
    rqctx: RequestContext<ApiContext>,
    path: TenantPath,
    query: IdPages,
) -> Result<Reply<HttpResponseOk<ResultsPage<Member>>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let found = tenants::member_list(app, op, path.tenant_id, id_page(&rqctx, &query)?).await?;
        id_results(found.into_iter().map(member).collect(), |member| member.user_id)
    })
    .await
}

pub async fn member_update(
    rqctx: RequestContext<ApiContext>,
    path: MemberPath,
    body: MemberUpdateRequest,
) -> Result<Reply<HttpResponseOk<Member>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let updated = tenants::member_update(app, op, path.tenant_id, path.user_id, body.role.into()).await?;
        Ok(HttpResponseOk(member(updated)))
    })
    .await
}

pub async fn member_remove(
    rqctx: RequestContext<ApiContext>,
    path: MemberPath,
) -> Result<Reply<HttpResponseDeleted>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        tenants::member_remove(app, op, path.tenant_id, path.user_id).await?;
        Ok(HttpResponseDeleted())
    })
    .await
}

pub async fn invite_create(
    rqctx: RequestContext<ApiContext>,
    path: TenantPath,
    body: InviteCreateRequest,
) -> Result<Reply<HttpResponseCreated<Invite>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let created = tenants::invite_create(app, op, path.tenant_id, &body.email, body.role.into()).await?;
        Ok(HttpResponseCreated(invite(created)))
    })
    .await
}

pub async fn invite_list(
    rqctx: RequestContext<ApiContext>,
    path: TenantPath,
    query: IdPages,
) -> Result<Reply<HttpResponseOk<ResultsPage<Invite>>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let found = tenants::invite_list(app, op, path.tenant_id, id_page(&rqctx, &query)?).await?;
        id_results(found.into_iter().map(invite).collect(), |invite| invite.id)
    })
    .await
}

pub async fn invite_revoke(
    rqctx: RequestContext<ApiContext>,
    path: InvitePath,
) -> Result<Reply<HttpResponseUpdatedNoContent>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        tenants::invite_revoke(app, op, path.tenant_id, path.invite_id).await?;
        Ok(HttpResponseUpdatedNoContent())
    })
    .await
}

pub async fn invite_accept(
    rqctx: RequestContext<ApiContext>,
    body: InviteAcceptRequest,
) -> Result<Reply<HttpResponseOk<InviteAccepted>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let (tenant_id, role) = tenants::invite_accept(app, op, &body.token).await?;
        Ok(HttpResponseOk(InviteAccepted { tenant_id, role: role.into() }))
    })
    .await
}

fn tenant(found: db::tenants::TenantMembership) -> Tenant {
    Tenant {
        id: found.tenant_id,
        name: found.tenant_name,
        role: found.role.into(),
        created_at: found.tenant_created_at,
    }
}

pub(super) fn member(found: db::tenants::Member) -> Member {
    Member {
        user_id: found.user_id,
        email: found.email,
        name: found.name,
        role: found.role.into(),
        joined_at: found.joined_at,
    }
}

pub(super) fn invite(found: db::invites::Invite) -> Invite {
    Invite {
        id: found.id,
        email: found.email,
        role: found.role.into(),
        expires_at: found.expires_at,
        created_at: found.created_at,
    }
}

impl From<Role> for policy::Role {
    fn from(role: Role) -> policy::Role {
        match role {
            Role::Owner => policy::Role::Owner,
            Role::Admin => policy::Role::Admin,
            Role::Responder => policy::Role::Responder,
            Role::Viewer => policy::Role::Viewer,
        }
    }
}

impl From<policy::Role> for Role {
    fn from(role: policy::Role) -> Role {
        match role {
            policy::Role::Owner => Role::Owner,
            policy::Role::Admin => Role::Admin,
            policy::Role::Responder => Role::Responder,
            policy::Role::Viewer => Role::Viewer,
        }
    }
}
