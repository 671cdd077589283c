{#- The reporting time zone (run setting reporting_tz) as a SQL literal. The Python side has checked that
    it is a real IANA zone; quotes are doubled anyway so a var can never end the literal. -#}
{% macro reporting_tz_literal() -%}
    '{{ run_setting("reporting_tz") | replace("'", "''") }}'
{%- endmacro %}
