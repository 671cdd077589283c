{#- A model's custom schema is used as it is (staging -> "staging", marts -> "public"), not
    prefixed with the target schema as dbt does by default: the old dashboard reads
    public.twilio_snapshots, not public_public.twilio_snapshots. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
