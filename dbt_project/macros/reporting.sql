{#- The reporting time zone (run setting reporting_tz) as a SQL literal. The Python side has checked that
    it is a real IANA zone; quotes are doubled anyway so a var can never end the literal. -#}
{% macro reporting_tz_literal() -%}
    '{{ run_setting("reporting_tz") | replace("'", "''") }}'
{%- endmacro %}

{#- How many UTC hours start within the reporting time zone's calendar day `day` (a date
    expression): 24, or 23 / 25 on the days the clocks change. An hour belongs to the local day
    its start falls in. -#}
{% macro hours_in_reporting_day(day) -%}
    (extract(epoch from
        date_trunc('hour', ((({{ day }}) + 1)::timestamp at time zone {{ reporting_tz_literal() }}) - interval '1 microsecond', 'UTC')
        - date_trunc('hour', (({{ day }})::timestamp at time zone {{ reporting_tz_literal() }}) - interval '1 microsecond', 'UTC')
    ) / 3600)::integer
{%- endmacro %}
