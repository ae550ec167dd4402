-- At most one unanswered invitation per tenant and email: a new invite
-- replaces the pending one, and the database holds concurrent invites to
-- that, not only the code. Duplicates left by earlier versions are revoked
-- first, keeping the newest; row-level security is lifted for that one
-- statement, which must see every tenant.
ALTER TABLE invitations NO FORCE ROW LEVEL SECURITY;
ALTER TABLE invitations DISABLE ROW LEVEL SECURITY;
UPDATE invitations SET revoked_at = now()
WHERE accepted_at IS NULL AND revoked_at IS NULL AND id NOT IN (
    SELECT DISTINCT ON (tenant_id, email) id FROM invitations
    WHERE accepted_at IS NULL AND revoked_at IS NULL
    ORDER BY tenant_id, email, created_at DESC, id DESC
);
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE UNIQUE INDEX invitations_one_unanswered ON invitations (tenant_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
