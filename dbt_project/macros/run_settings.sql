{#- What a run tells the models: its time window (min_ts, max_ts), the reporting time zone and the
    reconciliation tolerances. Dagster passes them as environment variables SIMBIOSIA_DBT_<NAME>
    (simbiosia_pipeline/dbt/environment.py); without one, the var of dbt_project.yml applies.

    Not --vars: dbt discards its partial-parse state whenever --vars change, and the window
    changes every run. Read only while executing, so a new window re-parses nothing either:
    while parsing, the var's default stands in. -#}
{% macro run_setting(name) -%}
    {%- if execute -%}
        {{ return(env_var('SIMBIOSIA_DBT_' ~ name | upper, var(name) | string)) }}
    {%- else -%}
        {{ return(var(name) | string) }}
    {%- endif -%}
{%- endmacro %}
