//! Who may do what. [`authorize`] is the one function that decides; every
//! use case asks it before acting, with the caller's role (or API key's
//! scopes) as read from the database in the same request, so a changed role
//! or a revoked key counts at once.

use std::fmt;
use std::str::FromStr;

/// A member's role in a tenant, from least to most trusted: the order is
/// what "nobody grants above their own role" compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Viewer,
    Responder,
    Admin,
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Responder, Role::Admin, Role::Owner];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Responder => "responder",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role is its name wherever it is stored, the change feed's events
/// included.
impl serde::Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Role, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(raw: &str) -> Result<Role, String> {
        Role::ALL.into_iter().find(|role| role.as_str() == raw).ok_or_else(|| format!("unknown role {raw:?}"))
    }
}

/// A named permission. API-key scopes map onto these too; see [`key_permits`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    TenantRead,
    TenantUpdate,
    MembersRead,
    MembersInvite,
    MembersManage,
    IncidentsRead,
    IncidentsWrite,
    /// Every matching incident at once, in a file: owners and admins only.
    IncidentsExport,
    ApiKeysManage,
    AuditLogRead,
    BillingRead,
    /// Webhook subscriptions, their secrets and deliveries: owners and
    /// admins only.
    WebhooksManage,
}

impl Action {
    pub const ALL: [Action; 12] = [
        Action::TenantRead,
        Action::TenantUpdate,
        Action::MembersRead,
        Action::MembersInvite,
        Action::MembersManage,
        Action::IncidentsRead,
        Action::IncidentsWrite,
        Action::IncidentsExport,
        Action::ApiKeysManage,
        Action::AuditLogRead,
        Action::BillingRead,
        Action::WebhooksManage,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::TenantRead => "tenant.read",
            Action::TenantUpdate => "tenant.update",
            Action::MembersRead => "members.read",
            Action::MembersInvite => "members.invite",
            Action::MembersManage => "members.manage",
            Action::IncidentsRead => "incidents.read",
            Action::IncidentsWrite => "incidents.write",
            Action::IncidentsExport => "incidents.export",
            Action::ApiKeysManage => "api_keys.manage",
            Action::AuditLogRead => "audit_log.read",
            Action::BillingRead => "billing.read",
            Action::WebhooksManage => "webhooks.manage",
        }
    }

    /// What every member may read. The audit log (members' addresses and
    /// actions) and usage (billing data) are not among them.
    pub fn is_member_read(self) -> bool {
        matches!(self, Action::TenantRead | Action::MembersRead | Action::IncidentsRead)
    }
}

/// The one table of roles and their permissions.
fn permits(role: Role, action: Action) -> bool {
    match role {
        // What only an owner may do beyond an admin (making or unmaking
        // owners) depends on the resource; see `authorize`.
        Role::Owner | Role::Admin => true,
        Role::Responder => action.is_member_read() || action == Action::IncidentsWrite,
        Role::Viewer => action.is_member_read(),
    }
}

/// What an API key's scopes allow: `read` what a viewer reads, `write`
/// also `incidents.write`. A key never manages keys, members or the tenant.
fn key_permits(scopes: Scopes, action: Action) -> bool {
    (scopes.read && action.is_member_read()) || (scopes.write && action == Action::IncidentsWrite)
}

/// An API key's permission, as named in requests and the contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Read,
    Write,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }
}

/// The scopes an API key holds: `read`, or `read` and `write`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scopes {
    pub read: bool,
    pub write: bool,
}

impl Scopes {
    pub const READ: Scopes = Scopes { read: true, write: false };
    pub const READ_WRITE: Scopes = Scopes { read: true, write: true };

    pub fn contains(self, scope: Scope) -> bool {
        match scope {
            Scope::Read => self.read,
            Scope::Write => self.write,
        }
    }

    pub fn names(self) -> Vec<&'static str> {
        [Scope::Read, Scope::Write].into_iter().filter(|scope| self.contains(*scope)).map(Scope::as_str).collect()
    }
}

/// What an action is aimed at, where that changes the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// The tenant itself, or anything in it that carries no role.
    Tenant,
    /// An invitation, to create or revoke, for this role.
    Invitation { role: Role },
    /// A membership, to change or end.
    Membership { role: Role, change: MembershipChange, is_caller: bool },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MembershipChange {
    Role(Role),
    Removal,
}

/// Who is asking: a member with their role in the resource's tenant, or an
/// API key of that tenant with its scopes.
#[derive(Clone, Copy, Debug)]
pub enum Context {
    Member(Role),
    ApiKey(Scopes),
}

/// The caller may see the resource but not do this to it.
#[derive(Debug, PartialEq, Eq)]
pub struct Denied;

pub fn authorize(action: Action, resource: Resource, ctx: Context) -> Result<(), Denied> {
    let role = match ctx {
        // Keys act on the tenant as a whole, never on roles or memberships.
        Context::ApiKey(scopes) => {
            return if resource == Resource::Tenant && key_permits(scopes, action) { Ok(()) } else { Err(Denied) };
        }
        Context::Member(role) => role,
    };
    let allowed = match resource {
        // Anyone may leave a tenant (if an owner stays, which the use case
        // checks: that is an invariant, not a permission).
        Resource::Membership { change: MembershipChange::Removal, is_caller: true, .. } => true,
        _ if !permits(role, action) => false,
        // Nobody invites above their own role.
        Resource::Invitation { role: invited } => invited <= role,
        // Making, changing or removing an owner hands over the tenant: an
        // owner's decision alone.
        Resource::Membership { role: member, change, .. } => {
            let touches_owner = member == Role::Owner || change == MembershipChange::Role(Role::Owner);
            !touches_owner || role == Role::Owner
        }
        Resource::Tenant => true,
    };
    if allowed { Ok(()) } else { Err(Denied) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every role × every action, against the table written out.
    #[test]
    fn each_role_has_exactly_its_permissions() {
        // action, then allowed for owner, admin, responder, viewer
        let table = [
            ("tenant.read", [true, true, true, true]),
            ("tenant.update", [true, true, false, false]),
            ("members.read", [true, true, true, true]),
            ("members.invite", [true, true, false, false]),
            ("members.manage", [true, true, false, false]),
            ("incidents.read", [true, true, true, true]),
            ("incidents.write", [true, true, true, false]),
            ("incidents.export", [true, true, false, false]),
            ("api_keys.manage", [true, true, false, false]),
            ("audit_log.read", [true, true, false, false]),
            ("billing.read", [true, true, false, false]),
            ("webhooks.manage", [true, true, false, false]),
        ];
        assert_eq!(table.len(), Action::ALL.len());
        for action in Action::ALL {
            let (_, allowed) =
                table.iter().find(|(name, _)| *name == action.name()).expect("every action in the table");
            for (role, allowed) in [Role::Owner, Role::Admin, Role::Responder, Role::Viewer].into_iter().zip(allowed) {
                let decided = authorize(action, Resource::Tenant, Context::Member(role)).is_ok();
                assert_eq!(decided, *allowed, "{role} {}", action.name());
            }
        }
    }

    #[test]
    fn nobody_invites_above_their_own_role() {
        for inviter in Role::ALL {
            for invited in Role::ALL {
                let decided =
                    authorize(Action::MembersInvite, Resource::Invitation { role: invited }, Context::Member(inviter));
                let expected = inviter >= Role::Admin && invited <= inviter;
                assert_eq!(decided.is_ok(), expected, "{inviter} inviting a {invited}");
            }
        }
    }

    #[test]
    fn only_owners_make_change_or_remove_owners_and_anyone_may_leave() {
        let manage = |caller: Role, role: Role, change: MembershipChange, is_caller: bool| {
            authorize(Action::MembersManage, Resource::Membership { role, change, is_caller }, Context::Member(caller))
                .is_ok()
        };
        for caller in Role::ALL {
            for target in Role::ALL {
                for new_role in Role::ALL {
                    let expected = caller == Role::Owner
                        || (caller == Role::Admin && target != Role::Owner && new_role != Role::Owner);
                    assert_eq!(manage(caller, target, MembershipChange::Role(new_role), false), expected);
                }
                let removal_expected = caller == Role::Owner || (caller == Role::Admin && target != Role::Owner);
                assert_eq!(manage(caller, target, MembershipChange::Removal, false), removal_expected);
            }
            assert!(manage(caller, caller, MembershipChange::Removal, true), "a {caller} may leave");
        }
        assert!(!manage(Role::Viewer, Role::Viewer, MembershipChange::Role(Role::Admin), true), "no self-promotion");
        assert!(!manage(Role::Admin, Role::Admin, MembershipChange::Role(Role::Owner), true));
    }

    #[test]
    fn keys_read_what_viewers_read_write_incidents_and_manage_nothing() {
        for action in Action::ALL {
            let read = authorize(action, Resource::Tenant, Context::ApiKey(Scopes::READ)).is_ok();
            let write = authorize(action, Resource::Tenant, Context::ApiKey(Scopes::READ_WRITE)).is_ok();
            let viewer_reads = action.is_member_read();
            assert_eq!(read, viewer_reads, "read key, {}", action.name());
            assert_eq!(write, viewer_reads || action == Action::IncidentsWrite, "write key, {}", action.name());
        }
        let invite = Resource::Invitation { role: Role::Viewer };
        assert!(authorize(Action::MembersInvite, invite, Context::ApiKey(Scopes::READ_WRITE)).is_err());
        let leave = Resource::Membership { role: Role::Viewer, change: MembershipChange::Removal, is_caller: true };
        assert!(authorize(Action::MembersManage, leave, Context::ApiKey(Scopes::READ_WRITE)).is_err());
    }

    #[test]
    fn roles_read_back_from_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("superuser".parse::<Role>().is_err());
    }
}
