//! A browser, as far as the API can tell: a cookie jar, and the CSRF token
//! of its current session sent on every request.

use std::sync::Arc;
use std::time::Duration;

use incident_tracker_client::Client;
use incident_tracker_client::types::{InviteCreateRequest, LoginRequest, Me, Role, SignupRequest, TenantCreateRequest};
use reqwest::cookie::{CookieStore, Jar};
use uuid::Uuid;

pub struct Browser {
    base_url: String,
    jar: Arc<Jar>,
    csrf_token: String,
    /// Sent as `X-Forwarded-For`, for a server that trusts the loopback as
    /// its proxy.
    client_ip: Option<String>,
}

impl Browser {
    /// Opens the API's session: `GET /v1/auth/me` sets the cookie and hands
    /// out the CSRF token.
    pub async fn open(base_url: &str) -> Browser {
        Browser::open_with(base_url, None).await
    }

    /// [`Browser::open`], from `client_ip` as far as the server can tell.
    pub async fn open_from(base_url: &str, client_ip: &str) -> Browser {
        Browser::open_with(base_url, Some(client_ip.to_string())).await
    }

    async fn open_with(base_url: &str, client_ip: Option<String>) -> Browser {
        let mut browser =
            Browser { base_url: base_url.to_string(), jar: Arc::default(), csrf_token: String::new(), client_ip };
        browser.me().await;
        browser
    }

    /// The generated client, sending this browser's cookies and CSRF token.
    pub fn api(&self) -> Client {
        Client::new_with_client(&self.base_url, self.http())
    }

    /// A plain HTTP client with this browser's cookies and CSRF token, for
    /// what the typed client cannot send.
    pub fn http(&self) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        if !self.csrf_token.is_empty() {
            headers.insert("x-csrf-token", self.csrf_token.parse().unwrap());
        }
        if let Some(client_ip) = &self.client_ip {
            headers.insert("x-forwarded-for", client_ip.parse().unwrap());
        }
        reqwest::Client::builder()
            .cookie_provider(self.jar.clone())
            .default_headers(headers)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    pub fn csrf_token(&self) -> &str {
        &self.csrf_token
    }

    /// The `session` cookie's value.
    pub fn session_cookie(&self) -> Option<String> {
        let cookies = self.jar.cookies(&self.base_url.parse().unwrap())?;
        cookies.to_str().unwrap().split("; ").find_map(|pair| pair.strip_prefix("session=")).map(str::to_string)
    }

    /// Sends a stolen or stale cookie from now on.
    pub fn set_session_cookie(&self, value: &str) {
        self.jar.add_cookie_str(&format!("session={value}; Path=/"), &self.base_url.parse().unwrap());
    }

    pub async fn me(&mut self) -> Me {
        let me = self.api().me_view().await.unwrap().into_inner();
        self.csrf_token = me.csrf_token.clone();
        me
    }

    pub async fn signup(&mut self, email: &str, password: &str, name: &str) -> Me {
        let request = SignupRequest {
            email: email.parse().unwrap(),
            password: password.parse().unwrap(),
            name: name.parse().unwrap(),
        };
        let me = self.api().auth_signup(&request).await.unwrap().into_inner();
        self.csrf_token = me.csrf_token.clone();
        me
    }

    pub async fn login(&mut self, email: &str, password: &str) -> Result<Me, String> {
        let request = LoginRequest { email: email.parse().unwrap(), password: password.parse().unwrap() };
        match self.api().auth_login(&request).await {
            Ok(me) => {
                self.csrf_token = me.csrf_token.clone();
                Ok(me.into_inner())
            }
            Err(incident_tracker_client::Error::ErrorResponse(error)) => Err(error.into_inner().code),
            Err(error) => panic!("login: {error}"),
        }
    }

    /// Creates a tenant, with this browser's user as its owner.
    pub async fn create_tenant(&self, name: &str) -> Uuid {
        let request = TenantCreateRequest { name: name.parse().unwrap() };
        self.api().tenant_create(&request).await.unwrap().into_inner().id
    }

    /// Invites `email` to `tenant_id` as `role`; answers the invite's id.
    pub async fn invite(&self, tenant_id: Uuid, email: &str, role: Role) -> Uuid {
        let request = InviteCreateRequest { email: email.parse().unwrap(), role };
        self.api().invite_create(&tenant_id, &request).await.unwrap().into_inner().id
    }
}

/// The generated client, authenticating with an API key alone.
pub fn with_api_key(base_url: &str, key: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-api-key", key.parse().unwrap());
    let http = reqwest::Client::builder().default_headers(headers).timeout(Duration::from_secs(30)).build().unwrap();
    Client::new_with_client(base_url, http)
}
