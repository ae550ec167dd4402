-- Passwords are hashed in their NFKC form, so that the same password typed
-- on a keyboard that composes characters differently still matches. Hashes
-- made before are of the password as typed, and marked so until the next
-- sign-in rehashes them. The default suits a server that predates this.
ALTER TABLE users ADD COLUMN password_normalized boolean NOT NULL DEFAULT false;
-- Counts the password's changes, so that a sign-in can tell a reset that
-- raced it from its own rehash, which changes the hash but not the password.
ALTER TABLE users ADD COLUMN password_version integer NOT NULL DEFAULT 0;
