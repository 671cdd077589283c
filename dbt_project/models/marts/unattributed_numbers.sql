{#- The numbers whose calls and conversations fell to the catch-all workspace: the operations
    to-do list (add each to the workspaces file, or confirm it belongs to nobody). A number that
    has no E.164 form is listed as it was written. All history: the sum of its hours
    (unattributed_number_hours). -#}
{{ config(materialized='view', post_hook="{{ grant_to_dashboard_roles() }}") }}

select
    phone_number,
    is_e164,
    sum(twilio_calls) as twilio_calls,
    sum(elevenlabs_conversations) as elevenlabs_conversations,
    sum(records) as records,
    min(first_seen) as first_seen,
    max(last_seen) as last_seen
from {{ ref('unattributed_number_hours') }}
group by 1, 2
