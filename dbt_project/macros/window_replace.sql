{#- Incremental strategy "window_replace": make the window's rows exactly the model's output.

    Every row of the target whose window column (config meta.window_column) lies in the run's
    window is deleted, then the freshly computed rows are inserted, in the model's transaction.
    Unlike dbt's delete+insert, which only deletes keys that come back, this also removes rows
    that have no reason to exist any more: a workspace/hour whose calls were re-attributed
    elsewhere disappears instead of keeping its stale totals.

    With a unique_key, rows carrying one of the new keys are deleted too, wherever they lie: a
    record whose time moved into this window (a queued call that started later) then lives in
    one window only. A list of keys deletes by each (call_costs: a row holds a Twilio call, a
    conversation, or both, and each lives in one row only).

    A transaction-scoped advisory lock per table serialises overlapping rebuilds, so two runs over
    the same hours cannot both insert (the second waits, then replaces the first's rows). -#}
{% macro get_incremental_window_replace_sql(arg_dict) %}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set temp = arg_dict['temp_relation'] -%}
    {%- set unique_key = arg_dict['unique_key'] -%}
    {%- set window_column = (config.get('meta') or {}).get('window_column') -%}
    {%- if not window_column -%}
        {{ exceptions.raise_compiler_error(
            "window_replace needs config meta.window_column on " ~ this) }}
    {%- endif -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}

    select pg_advisory_xact_lock(hashtext('simbiosia.window_replace.{{ target }}'));

    delete from {{ target }}
    where {{ in_window(window_column) }};
    {%- if unique_key %}
    {#- Two statements rather than one OR, and fresh statistics on the new rows, so that each
        delete is an index lookup however large the table. #}

    analyze {{ temp }};

    {%- for key in ([unique_key] if unique_key is string else unique_key) %}

    delete from {{ target }}
    where {{ key }} in (select {{ key }} from {{ temp }});
    {%- endfor %}
    {%- endif %}

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ temp }};
{% endmacro %}
