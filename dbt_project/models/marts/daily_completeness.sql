{#- Per calendar day of the reporting time zone: how many of its UTC hours both raw sources have
    ingested, out of how many it has (23, 24 or 25 across DST changes). A day's costs are whole
    only when it is complete; until then a low total may only mean missing hours.

    Loaded hours come from raw.loaded_hours, which the raw assets write in the transaction that
    replaces their window: an hour without a single call is loaded all the same. It is read
    directly rather than as a dbt source because it belongs to both raw assets; the depends_on
    lines below draw them as this view's parents in the lineage. -#}
{{ config(materialized='view', post_hook="{{ grant_to_dashboard_roles() }}") }}
-- depends_on: {{ source('raw', 'twilio_calls') }}
-- depends_on: {{ source('raw', 'elevenlabs_conversations') }}

with loaded as (
    select hour from raw.loaded_hours where source_table = 'raw.twilio_calls'
    intersect
    select hour from raw.loaded_hours where source_table = 'raw.elevenlabs_conversations'
),

days as (
    select (hour at time zone {{ reporting_tz_literal() }})::date as day, count(*) as hours_loaded
    from loaded
    group by 1
)

select
    day,
    {{ reporting_tz_literal() }}::text as time_zone,
    hours_loaded::integer as hours_loaded,
    {{ hours_in_reporting_day('day') }} as hours_expected,
    hours_loaded = {{ hours_in_reporting_day('day') }} as is_complete
from days
