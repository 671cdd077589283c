{#- The end of a UTC day (a date) as a timestamptz, whatever the session's time zone. -#}
{% macro day_end(day) -%}
    (({{ day }} + 1)::timestamp at time zone 'UTC')
{%- endmacro %}
