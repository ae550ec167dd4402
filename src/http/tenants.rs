//! Handlers of tenants, memberships and invites.

use dropshot::{
    EmptyScanParams, HttpResponseCreated, HttpResponseDeleted, HttpResponseOk, HttpResponseUpdatedNoContent,
    PaginationParams, RequestContext, ResultsPage,
};
use uuid::Uuid;

use super::caller::{signed_in, signed_in_with_csrf};
use super::{ApiContext, auth, dropshot_error, page_limit};
use crate::api::ApiError;
use crate::api::auth::Me;
use crate::api::tenants::{
    AfterId, Invite, InviteAcceptRequest, InviteAccepted, InviteCreateRequest, InvitePath, Member, MemberPath,
    MemberUpdateRequest, Role, Tenant, TenantCreateRequest, TenantPath,
};
use crate::app::tenants::{self, Page};
use crate::db;
use crate::policy;

type IdPages = PaginationParams<EmptyScanParams, AfterId>;

pub async fn tenant_list(
    rqctx: RequestContext<ApiContext>,
    query: IdPages,
) -> Result<HttpResponseOk<ResultsPage<Tenant>>, ApiError> {
    let (_, who) = signed_in(&rqctx).await?;
    let page = id_page(&rqctx, &query)?;
    let found =
        tenants::list(&rqctx.context().app, &who, page).await.map_err(|e| e.into_api_error(&rqctx.request_id))?;
    id_results(&rqctx, found.into_iter().map(tenant).collect(), |tenant| tenant.id)
}

pub async fn tenant_create(
    rqctx: RequestContext<ApiContext>,
    body: TenantCreateRequest,
) -> Result<HttpResponseCreated<Tenant>, ApiError> {
    let (_, who) = signed_in_with_csrf(&rqctx).await?;
    let created = tenants::create(&rqctx.context().app, &who, &body.name)
        .await
        .map_err(|e| e.into_api_error(&rqctx.request_id))?;
    Ok(HttpResponseCreated(tenant(created)))
}

pub async fn tenant_switch(
    rqctx: RequestContext<ApiContext>,
    path: TenantPath,
) -> Result<HttpResponseOk<Me>, ApiError> {
    let (current, who) = signed_in_with_csrf(&rqctx).await?;
    let view = tenants::switch(&rqctx.context().app, &who, current, path.tenant_id)
        .await
        .map_err(|e| e.into_api_error(&rqctx.request_id))?;
    Ok(HttpResponseOk(auth::me(&view)))
}

pub async fn member_list(
    rqctx: RequestContext<ApiContext>,
    path: TenantPath,
    query: IdPages,
) -> Result<HttpResponseOk<ResultsPage<Member>>, ApiError> {
    let (_, who) = signed_in(&rqctx).await?;
    let page = id_page(&rqctx, &query)?;
    let found = tenants::members(&rqctx.context().app, &who, path.tenant_id, page)
        .await
        .map_err(|e| e.into_api_error(&rqctx.request_id))?;
    id_results(&rqctx, found.into_iter().map(member).collect(), |member| member.user_id)
}

pub async fn member_update(
    rqctx: RequestContext<ApiContext>,
    path: MemberPath,
    body: MemberUpdateRequest,
) -> Result<HttpResponseOk<Member>, ApiError> {
    let (_, who) = signed_in_with_csrf(&rqctx).await?;
    let updated = tenants::change_role(&rqctx.context().app, &who, path.tenant_id, path.user_id, body.role.into())
        .await
        .map_err(|e| e.into_api_error(&rqctx.request_id))?;
    Ok(HttpResponseOk(member(updated)))
}

pub async fn member_remove(
    rqctx: RequestContext<ApiContext>,
    path: MemberPath,
) -> Result<HttpResponseDeleted, ApiError> {
    let (_, who) = signed_in_with_csrf(&rqctx).await?;
    tenants::remove_member(&rqctx.context().app, &who, path.tenant_id, path.user_id)
        .await
        .map_err(|e| e.into_api_error(&rqctx.request_id))?;
    Ok(HttpResponseDeleted())
}

pub async fn invite_create(
    rqctx: RequestContext<ApiContext>,
    path: TenantPath,
    body: InviteCreateRequest,
) -> Result<HttpResponseCreated<Invite>, ApiError> {
    let (_, who) = signed_in_with_csrf(&rqctx).await?;
    let created = tenants::invite(&rqctx.context().app, &who, path.tenant_id, &body.email, body.role.into())
        .await
        .map_err(|e| e.into_api_error(&rqctx.request_id))?;
    Ok(HttpResponseCreated(invite(created)))
}

pub async fn invite_list(
    rqctx: RequestContext<ApiContext>,
    path: TenantPath,
    query: IdPages,
) -> Result<HttpResponseOk<ResultsPage<Invite>>, ApiError> {
    let (_, who) = signed_in(&rqctx).await?;
    let page = id_page(&rqctx, &query)?;
    let found = tenants::invites(&rqctx.context().app, &who, path.tenant_id, page)
        .await
        .map_err(|e| e.into_api_error(&rqctx.request_id))?;
    id_results(&rqctx, found.into_iter().map(invite).collect(), |invite| invite.id)
}

pub async fn invite_revoke(
    rqctx: RequestContext<ApiContext>,
    path: InvitePath,
) -> Result<HttpResponseUpdatedNoContent, ApiError> {
    let (_, who) = signed_in_with_csrf(&rqctx).await?;
    tenants::revoke_invite(&rqctx.context().app, &who, path.tenant_id, path.invite_id)
        .await
        .map_err(|e| e.into_api_error(&rqctx.request_id))?;
    Ok(HttpResponseUpdatedNoContent())
}

pub async fn invite_accept(
    rqctx: RequestContext<ApiContext>,
    body: InviteAcceptRequest,
) -> Result<HttpResponseOk<InviteAccepted>, ApiError> {
    let (_, who) = signed_in_with_csrf(&rqctx).await?;
    let (tenant_id, role) = tenants::accept_invite(&rqctx.context().app, &who, &body.token)
        .await
        .map_err(|e| e.into_api_error(&rqctx.request_id))?;
    Ok(HttpResponseOk(InviteAccepted { tenant_id, role: role.into() }))
}

fn id_page(rqctx: &RequestContext<ApiContext>, query: &IdPages) -> Result<Page, ApiError> {
    let after = match &query.page {
        dropshot::WhichPage::First(_) => None,
        dropshot::WhichPage::Next(AfterId { after }) => Some(*after),
    };
    Ok(Page { after, limit: page_limit(rqctx, query)? })
}

fn id_results<T: serde::Serialize + schemars::JsonSchema + Send + Sync + 'static>(
    rqctx: &RequestContext<ApiContext>,
    items: Vec<T>,
    id: impl Fn(&T) -> Uuid,
) -> Result<HttpResponseOk<ResultsPage<T>>, ApiError> {
    ResultsPage::new(items, &EmptyScanParams {}, |item, _| AfterId { after: id(item) })
        .map(HttpResponseOk)
        .map_err(|error| dropshot_error(rqctx, error))
}

fn tenant(found: db::tenants::TenantMembership) -> Tenant {
    Tenant {
        id: found.tenant_id,
        name: found.tenant_name,
        role: found.role.into(),
        created_at: found.tenant_created_at,
    }
}

fn member(found: db::tenants::Member) -> Member {
    Member {
        user_id: found.user_id,
        email: found.email,
        name: found.name,
        role: found.role.into(),
        joined_at: found.joined_at,
    }
}

fn invite(found: db::invites::Invite) -> Invite {
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
