//! Handlers of the account and session endpoints.

use dropshot::{
    HttpResponseAccepted, HttpResponseCreated, HttpResponseHeaders, HttpResponseOk, HttpResponseUpdatedNoContent,
    RequestContext,
};

use super::ApiContext;
use super::caller::{self, with_cleared_session_cookie, with_session_cookie};
use crate::api::auth::{
    LoginRequest, Me, PasswordForgotRequest, PasswordResetRequest, PasswordResetRequested, SignupRequest, User,
};
use crate::api::{ApiError, Reply};
use crate::app::auth::{self, SessionView, Signup};

pub async fn me_view(rqctx: RequestContext<ApiContext>) -> Result<HttpResponseHeaders<HttpResponseOk<Me>>, ApiError> {
    let context = rqctx.context();
    let current = caller::current_session(&rqctx).await?;
    let view = auth::me(&context.app, current).await.map_err(|e| e.into_api_error(&rqctx.request_id))?;
    Ok(with_session_cookie(context, &view, HttpResponseOk(me(&view))))
}

pub async fn signup(
    rqctx: RequestContext<ApiContext>,
    body: SignupRequest,
) -> Result<HttpResponseHeaders<HttpResponseCreated<Me>>, ApiError> {
    let context = rqctx.context();
    let current = caller::session_with_csrf(&rqctx).await?;
    let signup = Signup { email: body.email, password: body.password, name: body.name };
    let view = auth::signup(&context.app, current, signup, &caller::caller(&rqctx))
        .await
        .map_err(|e| e.into_api_error(&rqctx.request_id))?;
    Ok(with_session_cookie(context, &view, HttpResponseCreated(me(&view))))
}

pub async fn login(
    rqctx: RequestContext<ApiContext>,
    body: LoginRequest,
) -> Result<Reply<HttpResponseOk<Me>>, ApiError> {
    let context = rqctx.context();
    let current = caller::session_with_csrf(&rqctx).await?;
    match auth::login(&context.app, current, &body.email, body.password, &caller::caller(&rqctx)).await {
        Ok(view) => Ok(Reply::Done(with_session_cookie(context, &view, HttpResponseOk(me(&view))))),
        Err(error) => Reply::refuse(error.into_api_error(&rqctx.request_id)),
    }
}

pub async fn logout(
    rqctx: RequestContext<ApiContext>,
) -> Result<HttpResponseHeaders<HttpResponseUpdatedNoContent>, ApiError> {
    let context = rqctx.context();
    let current = caller::session_with_csrf(&rqctx).await?;
    auth::logout(&context.app, current, &caller::caller(&rqctx))
        .await
        .map_err(|e| e.into_api_error(&rqctx.request_id))?;
    Ok(with_cleared_session_cookie(context, HttpResponseUpdatedNoContent()))
}

pub async fn password_forgot(
    rqctx: RequestContext<ApiContext>,
    body: PasswordForgotRequest,
) -> Result<HttpResponseAccepted<PasswordResetRequested>, ApiError> {
    caller::session_with_csrf(&rqctx).await?;
    auth::forgot_password(&rqctx.context().app, &body.email, &caller::caller(&rqctx))
        .await
        .map_err(|e| e.into_api_error(&rqctx.request_id))?;
    let link_valid_for_seconds = auth::RESET_LINK_VALIDITY.as_secs() as u32;
    Ok(HttpResponseAccepted(PasswordResetRequested { link_valid_for_seconds }))
}

pub async fn password_reset(
    rqctx: RequestContext<ApiContext>,
    body: PasswordResetRequest,
) -> Result<HttpResponseHeaders<HttpResponseUpdatedNoContent>, ApiError> {
    let context = rqctx.context();
    let current = caller::session_with_csrf(&rqctx).await?;
    let view = auth::reset_password(&context.app, current, &body.token, body.password, &caller::caller(&rqctx))
        .await
        .map_err(|e| e.into_api_error(&rqctx.request_id))?;
    Ok(with_session_cookie(context, &view, HttpResponseUpdatedNoContent()))
}

pub(super) fn me(view: &SessionView) -> Me {
    Me {
        user: view.user.as_ref().map(|user| User {
            id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            created_at: user.created_at,
        }),
        active_tenant_id: view.current.session.active_tenant_id,
        csrf_token: view.current.session.csrf_token.clone(),
    }
}
