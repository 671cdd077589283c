{#- "this record's cost is still pending": the one definition per API lives beside the raw tables
    (warehouse/sql/raw.sql, documented in simbiosia_pipeline/sources/pending.py), where the
    settlement sensor, the raw checks and the partial indexes use it too. -#}
{% macro twilio_cost_pending(status, price) -%}
    raw.twilio_cost_pending({{ status }}, {{ price }})
{%- endmacro %}

{% macro elevenlabs_cost_pending(status) -%}
    raw.elevenlabs_cost_pending({{ status }})
{%- endmacro %}
