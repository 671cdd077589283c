{#- Every Twilio call and every conversation of staging appears in call_costs exactly once.
    Returns the records that are missing or repeated. -#}
{{ config(meta={'dagster': {'ref': {'name': 'call_costs'}}}) }}

with expected as (
    select 'twilio' as side, sid as record_id from {{ ref('stg_twilio_calls') }}
    union all
    select 'elevenlabs', conversation_id from {{ ref('stg_elevenlabs_conversations') }}
),

found as (
    select 'twilio' as side, twilio_call_sid as record_id
    from {{ ref('call_costs') }} where twilio_call_sid is not null
    union all
    select 'elevenlabs', conversation_id
    from {{ ref('call_costs') }} where conversation_id is not null
)

select side, record_id, count(expected.record_id) as expected, count(found.record_id) as found
from expected
full join found using (side, record_id)
group by side, record_id
having count(expected.record_id) <> 1 or count(found.record_id) <> 1
