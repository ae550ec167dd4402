-- The key's tenant scope, after the including file's BEGIN. The server sends
-- BEGIN and the scope in one message, as text (`SET LOCAL`, which takes no
-- parameter), and pipelines a read's statements behind them; pgbench binds
-- the equivalent `set_config`, and the including file puts what the server
-- pipelines in `\startpipeline`.
SELECT set_config('app.tenant_id', :tenant, true), set_config('app.actor_id', :service_account, true);
