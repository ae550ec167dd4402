//! Service accounts and their API keys: managing them, and recognising a
//! presented key.
//!
//! A key reads `itk_<prefix>_<secret>`: the fixed `itk_` lets secret
//! scanners spot a leaked key, the random prefix finds it with one indexed
//! lookup, and the secret carries 256 random bits. Only the SHA-256 of the
//! whole key is stored, compared in constant time.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::operation::{self, Change, ChangeKind, Done, Write};
use super::{AppState, Error, OpContext, Page, Problem, validate_name};
use crate::actor::KeyHolder;
use crate::audit::{NewEvent, Target};
use crate::crypto;
use crate::db::api_keys::{self, ApiKey, NewApiKey, ServiceAccount};
use crate::db::{self, TenantScope};
use crate::policy::{Action, Scope, Scopes};

const KEY_MARKER: &str = "itk_";
const PREFIX_CHARS: usize = 12;
const PREFIX_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// The longest an expiry may lie ahead.
const MAX_KEY_LIFETIME: chrono::Duration = chrono::Duration::days(365);
/// `lastUsedAt` is written at most this often per key.
const LAST_USED_PRECISION: chrono::Duration = chrono::Duration::minutes(1);

pub struct NewKey {
    pub service_account_id: Uuid,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A key just created, with its secret: shown this once.
pub struct CreatedKey {
    pub key: ApiKey,
    pub secret: String,
}

fn api_key_invalid() -> Error {
    Error::Unauthenticated(Problem::new(
        "API_KEY_INVALID",
        "The x-api-key header does not hold a valid, unexpired and unrevoked API key.",
    ))
}

pub async fn service_account_list(
    state: &AppState,
    op: &OpContext,
    tenant_id: Uuid,
    page: Page,
) -> Result<Vec<ServiceAccount>, Error> {
    operation::tenant_read(state, op, tenant_id, Action::ApiKeysManage, move |conn| {
        Box::pin(async move { Ok(api_keys::service_account_list(conn, tenant_id, page.after, page.limit).await?) })
    })
    .await
}

pub async fn service_account_create(
    state: &AppState,
    op: &OpContext,
    tenant_id: Uuid,
    name: &str,
) -> Result<ServiceAccount, Error> {
    let name = validate_name(name)?;
    let created_by = op.user_id()?;
    operation::tenant_write(state, op, tenant_id, Write::new(Action::ApiKeysManage), move |conn, _| {
        Box::pin(async move {
            let account = api_keys::service_account_create(conn, tenant_id, &name, created_by).await?;
            let event = NewEvent::new("service_account.created", Some(Target::service_account(account.id)))
                .with_metadata(json!({ "name": account.name }));
            let change = Change::in_tenant(ChangeKind::ServiceAccountCreated, &account)?;
            Ok(Done::new(account).audited(event).announced(change))
        })
    })
    .await
}

pub async fn api_key_list(state: &AppState, op: &OpContext, tenant_id: Uuid, page: Page) -> Result<Vec<ApiKey>, Error> {
    operation::tenant_read(state, op, tenant_id, Action::ApiKeysManage, move |conn| {
        Box::pin(async move { Ok(api_keys::api_key_list(conn, tenant_id, page.after, page.limit).await?) })
    })
    .await
}

pub async fn api_key_create(
    state: &AppState,
    op: &OpContext,
    tenant_id: Uuid,
    new: NewKey,
) -> Result<CreatedKey, Error> {
    let name = validate_name(&new.name)?;
    let scopes = scopes_of(&new.scopes)?;
    if let Some(expires_at) = new.expires_at {
        let now = Utc::now();
        if expires_at <= now || expires_at > now + MAX_KEY_LIFETIME {
            return Err(Error::invalid_field("expiresAt", "An expiry lies in the future, at most a year ahead."));
        }
    }
    let created_by = op.user_id()?;
    let prefix = format!("{KEY_MARKER}{}", random_prefix());
    let secret = format!("{prefix}_{}", crypto::random_token());
    let digest = crypto::token_digest(&secret);
    let service_account_id = new.service_account_id;
    let key = operation::tenant_write(state, op, tenant_id, Write::new(Action::ApiKeysManage), move |conn, _| {
        Box::pin(async move {
            if !api_keys::service_account_exists(conn, tenant_id, service_account_id).await? {
                return Err(Error::NotFound);
            }
            let new_key = NewApiKey {
                tenant_id,
                service_account_id,
                name: &name,
                scopes: &scopes.names(),
                prefix: &prefix,
                secret_digest: &digest,
                created_by,
                expires_at: new.expires_at,
            };
            let key = api_keys::api_key_create(conn, new_key).await?;
            let event = NewEvent::new("api_key.created", Some(Target::api_key(key.id))).with_metadata(json!({
                "serviceAccountId": service_account_id,
                "name": key.name,
                "scopes": scopes.names(),
                "prefix": key.prefix,
                "expiresAt": key.expires_at,
            }));
            let change = Change::in_tenant(ChangeKind::ApiKeyCreated, &key)?;
            Ok(Done::new(key).audited(event).announced(change))
        })
    })
    .await?;
    Ok(CreatedKey { key, secret })
}

/// Revokes a key: from the next request on, on every instance, it is
/// refused. Revoking a revoked key changes nothing.
pub async fn api_key_revoke(state: &AppState, op: &OpContext, tenant_id: Uuid, key_id: Uuid) -> Result<(), Error> {
    let write = Write::new(Action::ApiKeysManage).exempt_from_quota();
    operation::tenant_write(state, op, tenant_id, write, move |conn, _| {
        Box::pin(async move {
            let (key, revoked_now) = api_keys::api_key_revoke(conn, tenant_id, key_id).await?.ok_or(Error::NotFound)?;
            let done = Done::new(());
            if !revoked_now {
                return Ok(done);
            }
            let event = NewEvent::new("api_key.revoked", Some(Target::api_key(key.id)))
                .with_metadata(json!({ "serviceAccountId": key.service_account_id, "prefix": key.prefix }));
            Ok(done.audited(event).announced(Change::in_tenant(ChangeKind::ApiKeyRevoked, &key)?))
        })
    })
    .await
}

/// The service account behind a presented key. A malformed, unknown,
/// revoked or expired key is refused alike, without saying which.
pub async fn api_key_authenticate(state: &AppState, presented: &str) -> Result<KeyHolder, Error> {
    let prefix = key_prefix(presented).ok_or_else(api_key_invalid)?;
    let found = {
        let mut conn = db::checkout(&state.db).await?;
        api_keys::api_key_by_prefix(&mut conn, prefix).await?
    };
    let now = Utc::now();
    let key = found
        .filter(|key| crypto::constant_time_eq(&key.secret_hash, &crypto::token_digest(presented)))
        .filter(|key| key.revoked_at.is_none() && key.expires_at.is_none_or(|expires_at| expires_at > now))
        .ok_or_else(api_key_invalid)?;
    let scopes = Scopes {
        read: key.scopes.iter().flatten().any(|scope| scope == Scope::Read.as_str()),
        write: key.scopes.iter().flatten().any(|scope| scope == Scope::Write.as_str()),
    };
    let holder =
        KeyHolder { service_account_id: key.service_account_id, api_key_id: key.id, tenant_id: key.tenant_id, scopes };
    if key.last_used_at.is_none_or(|used| used < now - LAST_USED_PRECISION) {
        let scope = TenantScope { tenant_id: key.tenant_id, actor_id: key.service_account_id };
        db::in_tenant(&state.db, scope, move |conn| {
            Box::pin(async move {
                Ok(api_keys::api_key_touch(conn, key.tenant_id, key.id, now, LAST_USED_PRECISION).await?)
            })
        })
        .await?;
    }
    Ok(holder)
}

/// `itk_<prefix>` of a well-formed key, which is what the lookup finds it by.
fn key_prefix(presented: &str) -> Option<&str> {
    let rest = presented.strip_prefix(KEY_MARKER)?;
    let (prefix, secret) = rest.split_once('_')?;
    let well_formed = prefix.len() == PREFIX_CHARS
        && prefix.bytes().all(|byte| PREFIX_ALPHABET.contains(&byte))
        && crypto::is_random_token(secret);
    well_formed.then(|| &presented[..KEY_MARKER.len() + PREFIX_CHARS])
}

fn random_prefix() -> String {
    let mut bytes = [0u8; PREFIX_CHARS];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|byte| PREFIX_ALPHABET[*byte as usize % PREFIX_ALPHABET.len()] as char).collect()
}

/// `[read]` or `[read, write]`, in any order: `write` without `read` is
/// refused rather than silently widened.
fn scopes_of(requested: &[Scope]) -> Result<Scopes, Error> {
    let scopes = Scopes { read: requested.contains(&Scope::Read), write: requested.contains(&Scope::Write) };
    if !scopes.read {
        return Err(Error::invalid_field("scopes", "Scopes are [\"read\"] or [\"read\", \"write\"]."));
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_keys_reach_the_lookup() {
        let key = format!("itk_{}_{}", random_prefix(), crypto::random_token());
        assert_eq!(key_prefix(&key), Some(&key[..16]));
        for malformed in [
            "",
            "itk_",
            &key[1..],
            &format!("itk_ABCDEFGHIJKL_{}", crypto::random_token()),
            &format!("itk_abc_{}", crypto::random_token()),
            &format!("{key}x"),
        ] {
            assert_eq!(key_prefix(malformed), None, "{malformed:?}");
        }
    }

    #[test]
    fn scopes_are_read_or_read_and_write() {
        assert_eq!(scopes_of(&[Scope::Read]).unwrap(), Scopes::READ);
        assert_eq!(scopes_of(&[Scope::Write, Scope::Read]).unwrap(), Scopes::READ_WRITE);
        assert!(scopes_of(&[Scope::Write]).is_err());
        assert!(scopes_of(&[]).is_err());
    }
}
