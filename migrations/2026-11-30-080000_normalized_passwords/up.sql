-- Passwords are hashed in their NFKC form, so that the same password typed
-- on a keyboard that composes characters differently still matches. Hashes
-- made before are of the password as typed, and marked so until the next
-- sign-in rehashes them. The default suits a server that predates this.
ALTER TABLE users ADD COLUMN password_normalized boolean NOT NULL DEFAULT false;
