ALTER TABLE users DROP COLUMN password_version, DROP COLUMN password_normalized;
