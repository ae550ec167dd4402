-- The tenant scope and the member's role, after the including file's BEGIN.
-- The server sends BEGIN and the scope in one message, as text (`SET
-- LOCAL`, which takes no parameter), and pipelines the role's lookup and a
-- read's statements behind them; pgbench binds the equivalent `set_config`,
-- and the including file puts what the server pipelines in `\startpipeline`.
SELECT set_config('app.tenant_id', :tenant, true), set_config('app.actor_id', :user, true);
SELECT role FROM memberships WHERE tenant_id = :tenant AND user_id = :user LIMIT 1;
