//! What a request says about its caller: the session behind the cookie,
//! its CSRF token, and the client's address.

use std::net::{IpAddr, SocketAddr};

use dropshot::{HttpCodedResponse, HttpResponseHeaders, RequestContext};
use http::HeaderMap;
use http::header::{COOKIE, SET_COOKIE};
use ipnet::IpNet;

use super::ApiContext;
use crate::api::contract;
use crate::app::auth::{CurrentSession, SessionView};
use crate::app::{Origin, Problem};
use crate::crypto;
use crate::error::Error;
use crate::sessions::SessionId;

pub const CSRF_HEADER: &str = "x-csrf-token";

/// How the session cookie is named and sent, as the contract's
/// `sessionCookie` security scheme documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionCookie {
    pub name: &'static str,
    pub secure: bool,
}

impl SessionCookie {
    /// Browsers take a `__Host-` cookie only with `Secure`, `Path=/` and no
    /// `Domain`, so no sibling subdomain can plant one, and its own name is
    /// the only one read: a planted `session` cookie is ignored.
    pub const PRODUCTION: SessionCookie = SessionCookie { name: contract::SESSION_COOKIE, secure: true };
    /// Plain HTTP on a developer's machine, where a `Secure` cookie would
    /// not come back.
    pub const DEVELOPMENT: SessionCookie = SessionCookie { name: contract::DEVELOPMENT_SESSION_COOKIE, secure: false };
}

/// The session the request's cookie names: the stored one while it lives,
/// an anonymous one under the same id otherwise.
pub async fn current_session(rqctx: &RequestContext<ApiContext>) -> Result<Option<CurrentSession>, Error> {
    let name = rqctx.context().session_cookie.name;
    let Some(id) = cookie(rqctx.request.headers(), name).and_then(SessionId::parse) else {
        return Ok(None);
    };
    let sessions = &rqctx.context().app.sessions;
    let session = match sessions.load(&id).await? {
        Some(session) => session,
        None => sessions.anonymous(&id),
    };
    Ok(Some(CurrentSession { id, session }))
}

/// Whether the request sends its session's CSRF token: a request another
/// site makes the browser send carries the cookie, but cannot read the
/// token to send it too.
pub fn csrf_token_matches(rqctx: &RequestContext<ApiContext>, current: &CurrentSession) -> bool {
    rqctx
        .request
        .headers()
        .get(CSRF_HEADER)
        .is_some_and(|presented| crypto::constant_time_eq(presented.as_bytes(), current.session.csrf_token.as_bytes()))
}

/// Refuses a request a browser says another site started (`Sec-Fetch-Site:
/// cross-site` or `same-site`): a link elsewhere must not make a member's
/// browser run a `GET` that does more than show data, such as an export.
/// Clients other than browsers send no such header.
pub fn refuse_cross_site(rqctx: &RequestContext<ApiContext>) -> Result<(), Error> {
    let site = rqctx.request.headers().get("sec-fetch-site").and_then(|value| value.to_str().ok());
    if matches!(site, Some("cross-site" | "same-site")) {
        return Err(Error::Forbidden(Problem::new(
            "CROSS_SITE_REQUEST",
            "This starts only from this site, a bookmark or a script, not from a link on another site.",
        )));
    }
    Ok(())
}

pub fn origin(rqctx: &RequestContext<ApiContext>) -> Origin {
    let forwarded_for = forwarded_for(rqctx.request.headers());
    let client_ip = client_ip(rqctx.request.remote_addr().ip(), &forwarded_for, &rqctx.context().trusted_proxies);
    Origin { request_id: rqctx.request_id.clone(), client_ip }
}

/// `body` with the cookie of `view`'s session when it is new.
pub fn with_session_cookie<T: HttpCodedResponse>(
    context: &ApiContext,
    view: &SessionView,
    body: T,
) -> HttpResponseHeaders<T> {
    let mut response = HttpResponseHeaders::new_unnamed(body);
    if view.started {
        let max_age = context.app.sessions.timeouts().absolute.as_secs();
        set_cookie(&mut response, context, &format!("{}; Max-Age={max_age}", view.current.id.expose()));
    }
    response
}

/// `body` with a cookie that makes the browser forget its session.
pub fn with_cleared_session_cookie<T: HttpCodedResponse>(context: &ApiContext, body: T) -> HttpResponseHeaders<T> {
    let mut response = HttpResponseHeaders::new_unnamed(body);
    set_cookie(&mut response, context, "; Max-Age=0");
    response
}

/// Sets the session cookie to `value_and_age` (its value, then attributes).
fn set_cookie<T: HttpCodedResponse>(response: &mut HttpResponseHeaders<T>, context: &ApiContext, value_and_age: &str) {
    let SessionCookie { name, secure } = context.session_cookie;
    let secure = if secure { "; Secure" } else { "" };
    let value = format!("{name}={value_and_age}; Path=/; HttpOnly; SameSite=Lax{secure}");
    response.headers_mut().append(SET_COOKIE, value.parse().expect("session ids are header-safe"));
}

/// The cookie's value, when the request sends it once. Sent twice, one of
/// them was planted (a browser sends a cookie with a longer path first), so
/// neither is trusted.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let mut sent = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter_map(|(key, value)| (key == name).then_some(value));
    let first = sent.next();
    if sent.next().is_some() { None } else { first }
}

fn forwarded_for(headers: &HeaderMap) -> String {
    let values = headers.get_all("x-forwarded-for").iter().filter_map(|value| value.to_str().ok());
    values.collect::<Vec<_>>().join(",")
}

/// The peer, unless it is a trusted proxy: then the right-most address in
/// `X-Forwarded-For` that is not itself a trusted proxy. Entries left of
/// that are whatever the client chose to send, so they are never believed.
/// IPv4 addresses seen through an IPv6 socket count as IPv4.
fn client_ip(peer: IpAddr, forwarded_for: &str, trusted_proxies: &[IpNet]) -> IpAddr {
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    let mut client = peer.to_canonical();
    for entry in forwarded_for.rsplit(',') {
        if !trusted(&client) {
            break;
        }
        // Some proxies append the client's port.
        let entry = entry.trim();
        match entry.parse::<IpAddr>().or_else(|_| entry.parse::<SocketAddr>().map(|address| address.ip())) {
            Ok(ip) => client = ip.to_canonical(),
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    #[test]
    fn x_forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxies = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(client_ip(ip("203.0.113.9"), "198.51.100.1", &proxies), ip("203.0.113.9"));
        assert_eq!(client_ip(ip("10.0.0.2"), "198.51.100.1", &proxies), ip("198.51.100.1"));
        // The client may prepend anything; only what our proxies added counts.
        assert_eq!(client_ip(ip("10.0.0.2"), "1.2.3.4, 198.51.100.1, 10.0.0.7", &proxies), ip("198.51.100.1"));
        assert_eq!(client_ip(ip("10.0.0.2"), "", &proxies), ip("10.0.0.2"));
        assert_eq!(client_ip(ip("10.0.0.2"), "garbage", &proxies), ip("10.0.0.2"));
        assert_eq!(client_ip(ip("::ffff:10.0.0.2"), "198.51.100.1:4711", &proxies), ip("198.51.100.1"));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, "theme=dark; session=abc".parse().unwrap());
        assert_eq!(cookie(&headers, "session"), Some("abc"));
        assert_eq!(cookie(&headers, "sess"), None);
    }

    #[test]
    fn a_cookie_sent_twice_is_not_trusted() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, "__Host-session=planted; theme=dark".parse().unwrap());
        headers.append(COOKIE, "__Host-session=own".parse().unwrap());
        assert_eq!(cookie(&headers, "__Host-session"), None);
        assert_eq!(cookie(&headers, "theme"), Some("dark"));
    }
}
