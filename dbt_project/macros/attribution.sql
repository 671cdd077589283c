{#- Building blocks of attribution, shared by the staging models. -#}

{#- The E.164 form of a phone number column, or null. The function lives beside the raw tables
    (warehouse/sql/raw.sql) because an index is built on it; the rules are documented in
    simbiosia_pipeline/workspaces/phone_numbers.py. -#}
{% macro normalize_e164(expression) -%}
    raw.normalize_e164({{ expression }})
{%- endmacro %}

{#- "the directory row `period` is in force at `instant`": validity is [valid_from, valid_to),
    a null bound is unbounded. -#}
{% macro valid_at(period, instant) -%}
    ({{ period }}.valid_from is null or {{ period }}.valid_from <= {{ instant }})
    and ({{ period }}.valid_to is null or {{ instant }} < {{ period }}.valid_to)
{%- endmacro %}

{#- The workspace that takes whatever no rule could attribute. -#}
{% macro catch_all_workspace_id() -%}
    (select catch_all_workspace_id from {{ source('directory', 'workspace_directory') }})
{%- endmacro %}

{#- A stable bigint id for a (workspace, hour) snapshot row: rebuilding an hour gives its rows the
    same ids again. 60 bits of an md5, so it is positive and collisions are out of reach. -#}
{% macro snapshot_id(workspace_id, snapshot_date) -%}
    ('x' || left(md5({{ workspace_id }}::text || '@'
        || to_char({{ snapshot_date }} at time zone 'UTC', 'YYYY-MM-DD"T"HH24')), 15))::bit(60)::bigint
{%- endmacro %}
