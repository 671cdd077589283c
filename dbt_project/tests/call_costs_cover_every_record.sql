{#- Every Twilio call and every conversation of the window's staging appears in call_costs
    exactly once (in whichever hour its phone call started), and no row of the window holds a
    record staging no longer has. Returns the records that are missing, repeated or gone. The
    window is the run's (all history by default), like the tests of the other hourly models. -#}
{{ config(meta={'dagster': {'ref': {'name': 'call_costs'}}}) }}

with expected as (
    select 'twilio' as side, sid as record_id from {{ ref('stg_twilio_calls') }}
    where {{ in_window('event_time') }}
    union all
    select 'elevenlabs', conversation_id from {{ ref('stg_elevenlabs_conversations') }}
    where {{ in_window('start_time') }}
),

-- the rows holding a record of the window, and the rows of the window (each an index lookup)
found_rows as (
    select call_id from {{ ref('call_costs') }}
    where twilio_call_sid in (select record_id from expected where side = 'twilio')
    union
    select call_id from {{ ref('call_costs') }}
    where conversation_id in (select record_id from expected where side = 'elevenlabs')
    union
    select call_id from {{ ref('call_costs') }}
    where {{ in_window('started_at') }}
),

found as (
    select 'twilio' as side, twilio_call_sid as record_id
    from {{ ref('call_costs') }}
    where call_id in (select call_id from found_rows) and twilio_call_sid is not null
    union all
    select 'elevenlabs', conversation_id
    from {{ ref('call_costs') }}
    where call_id in (select call_id from found_rows) and conversation_id is not null
),

-- a record of the window's rows that lies in another hour is expected there, if staging has it
elsewhere as (
    select 'twilio' as side, sid as record_id from {{ ref('stg_twilio_calls') }}
    where sid in (select record_id from found where side = 'twilio')
        and not ({{ in_window('event_time') }})
    union all
    select 'elevenlabs', conversation_id from {{ ref('stg_elevenlabs_conversations') }}
    where conversation_id in (select record_id from found where side = 'elevenlabs')
        and not ({{ in_window('start_time') }})
)

select side, record_id, count(expected.record_id) as expected, count(found.record_id) as found
from (select * from expected union all select * from elsewhere) as expected
full join found using (side, record_id)
group by side, record_id
having count(expected.record_id) <> 1 or count(found.record_id) <> 1
