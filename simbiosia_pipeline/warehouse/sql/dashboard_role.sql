-- The read-only role the dashboard connects as: it can read twilio_snapshots and
-- elevenlabs_snapshots, the old system's tables, and nothing else - not the raw records (they
-- carry phone numbers and payloads), not the workspace directory, not staging or the cost
-- views - and it can write nothing.
--
-- Applied by `simbiosia db grant-dashboard-role NAME` (simbiosia_pipeline/warehouse/roles.py),
-- which creates the role first if it does not exist (LOGIN, no password: set one with
-- ALTER ROLE NAME PASSWORD '...'). {role} and {database} are filled in as quoted identifiers.
-- Idempotent: apply it again at will.
--
-- The grants are on the tables themselves, so they survive every hourly rebuild (dbt replaces
-- rows, not tables). A full refresh of the hourly models (DbtRunConfig.full_refresh) drops and
-- recreates the tables: apply this again afterwards.
--
-- Left to PostgreSQL's defaults, which give every role (PUBLIC) a little: reading the system
-- catalogs, temporary tables of its own session, and - on PostgreSQL 14 and older only -
-- CREATE in schema public. On such a server also run REVOKE CREATE ON SCHEMA public FROM PUBLIC.

-- Whatever it may have been given before, in the schemas the pipeline writes:
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role};

GRANT CONNECT ON DATABASE {database} TO {role};
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT ON public.twilio_snapshots, public.elevenlabs_snapshots TO {role};

-- Belt and braces: its sessions start read-only, whatever a future grant may say.
ALTER ROLE {role} SET default_transaction_read_only = on;
