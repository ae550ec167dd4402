//! Handlers of service accounts and API keys.

use dropshot::{HttpResponseCreated, HttpResponseOk, HttpResponseUpdatedNoContent, RequestContext, ResultsPage};

use super::entry::handle;
use super::{ApiContext, IdPages, id_page, id_results};
use crate::api::api_keys::{
    ApiKey, ApiKeyCreateRequest, ApiKeyCreated, ApiKeyPath, ApiKeyScope, ServiceAccount, ServiceAccountCreateRequest,
};
use crate::api::tenants::TenantPath;
use crate::api::{ApiError, Reply};
use crate::app::api_keys::{self, NewKey};
use crate::db;
use crate::policy::Scope;

pub async fn service_account_list(
    rqctx: RequestContext<ApiContext>,
    path: TenantPath,
    query: IdPages,
) -> Result<Reply<HttpResponseOk<ResultsPage<ServiceAccount>>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let found = api_keys::service_account_list(app, op, path.tenant_id, id_page(&rqctx, &query)?).await?;
        id_results(found.into_iter().map(service_account).collect(), |account| account.id)
    })
    .await
}

pub async fn service_account_create(
    rqctx: RequestContext<ApiContext>,
    path: TenantPath,
    body: ServiceAccountCreateRequest,
) -> Result<Reply<HttpResponseCreated<ServiceAccount>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let created = api_keys::service_account_create(app, op, path.tenant_id, &body.name).await?;
        Ok(HttpResponseCreated(service_account(created)))
    })
    .await
}

pub async fn api_key_list(
    rqctx: RequestContext<ApiContext>,
    path: TenantPath,
    query: IdPages,
) -> Result<Reply<HttpResponseOk<ResultsPage<ApiKey>>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let found = api_keys::api_key_list(app, op, path.tenant_id, id_page(&rqctx, &query)?).await?;
        id_results(found.into_iter().map(api_key).collect(), |key| key.id)
    })
    .await
}

pub async fn api_key_create(
    rqctx: RequestContext<ApiContext>,
    path: TenantPath,
    body: ApiKeyCreateRequest,
) -> Result<Reply<HttpResponseCreated<ApiKeyCreated>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let scopes = body.scopes.iter().map(|scope| scope_of(*scope)).collect();
        let new = NewKey {
            service_account_id: body.service_account_id,
            name: body.name,
            scopes,
            expires_at: body.expires_at,
        };
        let created = api_keys::api_key_create(app, op, path.tenant_id, new).await?;
        Ok(HttpResponseCreated(ApiKeyCreated { key: api_key(created.key), secret: created.secret }))
    })
    .await
}

pub async fn api_key_revoke(
    rqctx: RequestContext<ApiContext>,
    path: ApiKeyPath,
) -> Result<Reply<HttpResponseUpdatedNoContent>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        api_keys::api_key_revoke(app, op, path.tenant_id, path.api_key_id).await?;
        Ok(HttpResponseUpdatedNoContent())
    })
    .await
}

pub(super) fn service_account(found: db::api_keys::ServiceAccount) -> ServiceAccount {
    ServiceAccount { id: found.id, name: found.name, created_at: found.created_at }
}

pub(super) fn api_key(found: db::api_keys::ApiKey) -> ApiKey {
    let scopes = found
        .scopes
        .iter()
        .flatten()
        .filter_map(|scope| match scope.as_str() {
            "read" => Some(ApiKeyScope::Read),
            "write" => Some(ApiKeyScope::Write),
            _ => None,
        })
        .collect();
    ApiKey {
        id: found.id,
        service_account_id: found.service_account_id,
        name: found.name,
        scopes,
        prefix: found.prefix,
        created_at: found.created_at,
        expires_at: found.expires_at,
        last_used_at: found.last_used_at,
        revoked_at: found.revoked_at,
    }
}

fn scope_of(scope: ApiKeyScope) -> Scope {
    match scope {
        ApiKeyScope::Read => Scope::Read,
        ApiKeyScope::Write => Scope::Write,
    }
}
