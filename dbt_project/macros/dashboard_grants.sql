{#- A view is recreated on every build, and a table on a full refresh, losing its grants: give
    SELECT back to every dashboard role of this database (`simbiosia db grant-dashboard-role`
    marks them with this comment and grants them CONNECT here), so the backoffice keeps reading
    what it reads (billing_reconciliation, call_costs and the hourly aggregates it sums). -#}
{% macro grant_to_dashboard_roles() -%}
do $$
declare dashboard record;
begin
    for dashboard in
        select rolname from pg_roles
        where shobj_description(oid, 'pg_authid') = 'simbiosia dashboard role (read-only)'
            -- granted for this database: roles are shared by every database of the server
            and exists (
                select from pg_database, aclexplode(datacl) as acl
                where datname = current_database() and acl.grantee = pg_roles.oid
                    and acl.privilege_type = 'CONNECT'
            )
    loop
        execute format('grant select on %s to %I', '{{ this }}', dashboard.rolname);
    end loop;
end
$$
{%- endmacro %}
