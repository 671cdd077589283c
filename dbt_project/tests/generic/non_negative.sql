{#- Money, durations and counts never go below zero (Twilio prices arrive negative; the models
    store magnitudes). One test per model over all its amount columns; with allow_null=false a
    missing amount fails too. Returns the offending rows. -#}
{% test non_negative(model, columns, allow_null=true) %}
select *
from {{ model }}
where
{%- for column in columns %}
    {{ 'or ' if not loop.first }}{{ column }} < 0{{ (' or ' ~ column ~ ' is null') if not allow_null }}
{%- endfor %}
{% endtest %}
