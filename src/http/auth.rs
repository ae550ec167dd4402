//! Handlers of the account and session endpoints.

use dropshot::{
    HttpResponseAccepted, HttpResponseCreated, HttpResponseOk, HttpResponseUpdatedNoContent, RequestContext,
};

use super::ApiContext;
use super::caller::{with_cleared_session_cookie, with_session_cookie};
use super::entry::{handle, handle_with_headers};
use crate::api::auth::{
    AccountDeleteRequest, LoginMfaRequest, LoginRequest, Me, PasswordForgotRequest, PasswordResetRequest,
    PasswordResetRequested, RecoveryCodes, SignupRequest, TotpConfirmRequest, TotpDisableRequest, TotpEnrolRequest,
    TotpEnrolment, User,
};
use crate::api::{ApiError, Reply};
use crate::app::auth::{self, CurrentSession, SessionView, Signup, two_factor};
use crate::app::{Error, account};

pub async fn me_view(rqctx: RequestContext<ApiContext>) -> Result<Reply<HttpResponseOk<Me>>, ApiError> {
    let context = rqctx.context();
    handle_with_headers(&rqctx, async |app, _, session| {
        let view = auth::me_view(app, session).await?;
        Ok(with_session_cookie(context, &view, HttpResponseOk(me(&view))))
    })
    .await
}

pub async fn auth_signup(
    rqctx: RequestContext<ApiContext>,
    body: SignupRequest,
) -> Result<Reply<HttpResponseCreated<Me>>, ApiError> {
    let context = rqctx.context();
    handle_with_headers(&rqctx, async |app, op, session| {
        let signup = Signup { email: body.email, password: body.password, name: body.name };
        let view = auth::auth_signup(app, op, browser_session(session)?, signup).await?;
        Ok(with_session_cookie(context, &view, HttpResponseCreated(me(&view))))
    })
    .await
}

pub async fn auth_login(
    rqctx: RequestContext<ApiContext>,
    body: LoginRequest,
) -> Result<Reply<HttpResponseOk<Me>>, ApiError> {
    let context = rqctx.context();
    handle_with_headers(&rqctx, async |app, op, session| {
        let view = auth::auth_login(app, op, browser_session(session)?, &body.email, body.password).await?;
        Ok(with_session_cookie(context, &view, HttpResponseOk(me(&view))))
    })
    .await
}

pub async fn auth_login_mfa(
    rqctx: RequestContext<ApiContext>,
    body: LoginMfaRequest,
) -> Result<Reply<HttpResponseOk<Me>>, ApiError> {
    let context = rqctx.context();
    handle_with_headers(&rqctx, async |app, op, session| {
        let session = browser_session(session)?;
        let view = two_factor::auth_login_mfa(app, op, session, &body.challenge, &body.code).await?;
        Ok(with_session_cookie(context, &view, HttpResponseOk(me(&view))))
    })
    .await
}

pub async fn totp_enrol(
    rqctx: RequestContext<ApiContext>,
    body: TotpEnrolRequest,
) -> Result<Reply<HttpResponseCreated<TotpEnrolment>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let enrolment = two_factor::totp_enrol(app, op, body.password).await?;
        let two_factor::TotpEnrolment { secret, otpauth_uri, qr_code_svg } = enrolment;
        Ok(HttpResponseCreated(TotpEnrolment { secret, otpauth_uri, qr_code_svg }))
    })
    .await
}

pub async fn totp_confirm(
    rqctx: RequestContext<ApiContext>,
    body: TotpConfirmRequest,
) -> Result<Reply<HttpResponseOk<RecoveryCodes>>, ApiError> {
    let context = rqctx.context();
    handle_with_headers(&rqctx, async |app, op, session| {
        let (recovery_codes, view) = two_factor::totp_confirm(app, op, browser_session(session)?, &body.code).await?;
        let codes = HttpResponseOk(RecoveryCodes { recovery_codes });
        Ok(match view {
            Some(view) => with_session_cookie(context, &view, codes),
            None => with_cleared_session_cookie(context, codes),
        })
    })
    .await
}

pub async fn totp_disable(
    rqctx: RequestContext<ApiContext>,
    body: TotpDisableRequest,
) -> Result<Reply<HttpResponseUpdatedNoContent>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        two_factor::totp_disable(app, op, body.password, &body.code).await?;
        Ok(HttpResponseUpdatedNoContent())
    })
    .await
}

pub async fn auth_logout(rqctx: RequestContext<ApiContext>) -> Result<Reply<HttpResponseUpdatedNoContent>, ApiError> {
    let context = rqctx.context();
    handle_with_headers(&rqctx, async |app, op, session| {
        auth::auth_logout(app, op, browser_session(session)?).await?;
        Ok(with_cleared_session_cookie(context, HttpResponseUpdatedNoContent()))
    })
    .await
}

pub async fn account_delete(
    rqctx: RequestContext<ApiContext>,
    body: AccountDeleteRequest,
) -> Result<Reply<HttpResponseUpdatedNoContent>, ApiError> {
    let context = rqctx.context();
    handle_with_headers(&rqctx, async |app, op, _| {
        account::account_delete(app, op, body.password, body.code.as_deref()).await?;
        Ok(with_cleared_session_cookie(context, HttpResponseUpdatedNoContent()))
    })
    .await
}

pub async fn password_forgot(
    rqctx: RequestContext<ApiContext>,
    body: PasswordForgotRequest,
) -> Result<Reply<HttpResponseAccepted<PasswordResetRequested>>, ApiError> {
    let app = rqctx.context().app.clone();
    handle(&rqctx, async |_, op, _| {
        auth::password_forgot(app, op, &body.email).await?;
        let link_valid_for_seconds = auth::RESET_LINK_VALIDITY.as_secs() as u32;
        Ok(HttpResponseAccepted(PasswordResetRequested { link_valid_for_seconds }))
    })
    .await
}

pub async fn password_reset(
    rqctx: RequestContext<ApiContext>,
    body: PasswordResetRequest,
) -> Result<Reply<HttpResponseUpdatedNoContent>, ApiError> {
    let context = rqctx.context();
    handle_with_headers(&rqctx, async |app, op, session| {
        let view = auth::password_reset(app, op, browser_session(session)?, &body.token, body.password).await?;
        Ok(with_session_cookie(context, &view, HttpResponseUpdatedNoContent()))
    })
    .await
}

/// The browser session of a request its authentication entry says comes
/// with one; a request that came with a key has none.
pub(super) fn browser_session(session: Option<CurrentSession>) -> Result<CurrentSession, Error> {
    session.ok_or_else(Error::auth_required)
}

pub(super) fn me(view: &SessionView) -> Me {
    Me {
        user: view.user.as_ref().map(|user| User {
            id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            two_factor_enabled: view.two_factor,
            created_at: user.created_at,
        }),
        active_tenant_id: view.current.session.active_tenant_id,
        csrf_token: view.current.session.csrf_token.clone(),
    }
}
