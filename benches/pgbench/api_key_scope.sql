-- BEGIN and the key's tenant scope. The server sends them in one message,
-- as text (`SET LOCAL`, which takes no parameter), and pipelines behind them
-- a read's statements; pgbench binds the equivalent `set_config`, and the
-- including file puts what the server pipelines in `\startpipeline`.
BEGIN;
SELECT set_config('app.tenant_id', :tenant, true), set_config('app.actor_id', :service_account, true);
