-- The read-only role the dashboard (the backoffice, simbiosia_pipeline/backoffice/) connects
-- as: it can read exactly what the backoffice reads (roles.DASHBOARD_READS) - the hourly
-- snapshots, call_costs and the hourly aggregates twilio_direction_hours,
-- elevenlabs_llm_usage_hours and unattributed_number_hours, the directory tables the old
-- dashboard read (workspaces, their numbers and budgets) and the dated credit rate, and
-- billing_reconciliation and daily_completeness once they exist - and nothing else: not the raw records (phone numbers and payloads), not staging, not the agents
-- or the directory's bookkeeping. It can write nothing.
--
-- Applied by `simbiosia db grant-dashboard-role NAME` (simbiosia_pipeline/warehouse/roles.py),
-- after it has checked the role and taken back whatever else it held. {role}, {database} and
-- {relations} are filled in as quoted identifiers. Idempotent: apply it again at will.
--
-- The grants are on the tables and views themselves. Hourly rebuilds keep them (dbt replaces
-- rows, not tables); the view billing_reconciliation is recreated when the cost views are
-- rebuilt, and its dbt post-hook grants it again to every role marked below, as those of
-- call_costs and the hourly aggregates do when a full refresh recreates them. A full refresh of
-- the snapshots drops and recreates their tables: apply this again.

GRANT CONNECT ON DATABASE {database} TO {role};
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT ON {relations} TO {role};

-- Its sessions start read-only. The role can switch that off (a session setting is not a
-- privilege), so the privileges above are what hold; roles.py also takes away the large-object
-- functions, which need no privilege at all.
ALTER ROLE {role} SET default_transaction_read_only = on;

-- The mark the views' post-hook looks for (macros/dashboard_grants.sql).
COMMENT ON ROLE {role} IS 'simbiosia dashboard role (read-only)';
