-- Raw landing tables: one row per source record, exactly as the API served it (payload), plus the
-- typed columns the models read. Written only by the raw assets, one time window per transaction.
CREATE SCHEMA IF NOT EXISTS raw;

CREATE TABLE IF NOT EXISTS raw.twilio_calls (
    sid              text PRIMARY KEY,
    account_sid      text        NOT NULL,
    parent_call_sid  text,
    direction        text        NOT NULL,
    status           text        NOT NULL,
    from_number      text,
    to_number        text,
    start_time       timestamptz,
    end_time         timestamptz,
    duration_secs    integer,
    price            numeric,            -- as Twilio reports it: negative, NULL while unrated
    price_unit       text,
    trunk_sid        text,
    date_created     timestamptz NOT NULL,
    date_updated     timestamptz NOT NULL,
    event_time       timestamptz NOT NULL, -- start_time, or date_created for calls that never started
    payload          jsonb       NOT NULL,
    ingested_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS twilio_calls_event_time_idx ON raw.twilio_calls (event_time);
-- Calls Twilio has not priced yet: what settlement re-fetches and the settlement-age check
-- counts, every hour. Partial: it holds the few pending calls, however long the history.
CREATE INDEX IF NOT EXISTS twilio_calls_unpriced_idx
    ON raw.twilio_calls (event_time) WHERE price IS NULL;

CREATE TABLE IF NOT EXISTS raw.elevenlabs_conversations (
    conversation_id            text PRIMARY KEY,
    agent_id                   text        NOT NULL,
    agent_name                 text,
    status                     text        NOT NULL,
    start_time                 timestamptz NOT NULL,
    call_duration_secs         integer     NOT NULL,
    cost                       numeric,    -- credits; NULL until the conversation is final
    dev_discount               boolean,
    is_burst                   boolean,
    tier                       text,
    llm_price                  numeric,    -- USD
    llm_charge                 numeric,    -- credits
    call_charge                numeric,    -- credits
    free_minutes_consumed      numeric,
    free_llm_dollars_consumed  numeric,
    llm_usage                  jsonb,
    phone_call_type            text,
    phone_number_id            text,
    agent_number               text,
    external_number            text,
    call_sid                   text,
    call_direction             text,
    batch_call_id              text,
    batch_call_recipient_id    text,
    termination_reason         text,
    payload                    jsonb       NOT NULL,
    ingested_at                timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS elevenlabs_conversations_start_time_idx
    ON raw.elevenlabs_conversations (start_time);
CREATE INDEX IF NOT EXISTS elevenlabs_conversations_call_sid_idx
    ON raw.elevenlabs_conversations (call_sid);
-- Conversations whose cost is not final yet (see twilio_calls_unpriced_idx).
CREATE INDEX IF NOT EXISTS elevenlabs_conversations_unsettled_idx
    ON raw.elevenlabs_conversations (start_time) WHERE status NOT IN ('done', 'failed');

-- Which source wrote this warehouse: sandbox rows must never be mixed into a live warehouse.
CREATE TABLE IF NOT EXISTS raw.warehouse_info (
    key         text PRIMARY KEY,
    value       text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Attribution (dbt staging models) compares phone numbers in E.164, by the rules documented in
-- simbiosia_pipeline/workspaces/phone_numbers.py; a property test holds this function and the
-- Python one to the same answers. IMMUTABLE because an index is built on it. Only ASCII classes
-- and no backslash escapes in plain literals, so the result depends on no locale or setting.
CREATE OR REPLACE FUNCTION raw.normalize_e164(raw_number text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT CASE
        -- already E.164, as most numbers are: skip the cleaning (a third of the cost)
        WHEN raw_number ~ '^[+][1-9][0-9]{6,14}$' THEN raw_number
        ELSE (
            SELECT CASE
                WHEN digits ~ '^[+][1-9][0-9]{6,14}$' THEN digits
                WHEN digits ~ '^00[1-9][0-9]{6,14}$' THEN '+' || substr(digits, 3)
                WHEN digits ~ '^[1-9][0-9]{10,14}$' THEN '+' || digits
            END
            FROM (
                SELECT regexp_replace(
                           -- a sip:/sips:/tel: URI stands for its user part
                           coalesce(substring(trimmed FROM
                                              '^(?:[sS][iI][pP][sS]?|[tT][eE][lL]):([^@;]*)'),
                                    trimmed),
                           E'[ \t\n\r\f\x0b().-]', '', 'g') AS digits
                FROM (SELECT btrim(raw_number, E' \t\n\r\f\x0b') AS trimmed) AS t
            ) AS cleaned
        )
    END
$$;

-- The lead fallback of attribution: "the most recent outbound call to this lead within 24 h
-- before" is one backward scan of this index, however much history the table holds.
CREATE INDEX IF NOT EXISTS twilio_calls_outbound_lead_idx
    ON raw.twilio_calls (raw.normalize_e164(to_number), event_time)
    WHERE direction IN ('outbound-api', 'trunking-terminating');
