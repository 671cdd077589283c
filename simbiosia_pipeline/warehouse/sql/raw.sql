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
    price            numeric,            -- as Twilio reports it, in price_unit: negative, or NULL
    price_unit       text,               -- ISO 4217 (USD, EUR, JPY...): the account's currency
    trunk_sid        text,
    date_created     timestamptz NOT NULL,
    date_updated     timestamptz NOT NULL,
    event_time       timestamptz NOT NULL, -- start_time, or date_created for calls that never started
    payload          jsonb       NOT NULL,
    ingested_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS twilio_calls_event_time_idx ON raw.twilio_calls (event_time);

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
    ingested_at                timestamptz NOT NULL,
    cost_fiat                  numeric,    -- USD: ElevenLabs' own llm_price + platform_price
    platform_charge            numeric,    -- credits
    platform_price             numeric,    -- USD
    voice_surcharge_charge     numeric,    -- credits, the voice actor reward: NOT in cost
    analysis_charge            numeric,    -- credits of post-call analysis (charging.analysis.total)
    analysis_price             numeric     -- USD of post-call analysis
);
-- Columns added after the table's first version, for warehouses created before them (a record
-- gets them filled when it is fetched again: a conversation stored final, by a full re-fetch).
ALTER TABLE raw.elevenlabs_conversations
    ADD COLUMN IF NOT EXISTS cost_fiat numeric,
    ADD COLUMN IF NOT EXISTS platform_charge numeric,
    ADD COLUMN IF NOT EXISTS platform_price numeric,
    ADD COLUMN IF NOT EXISTS voice_surcharge_charge numeric,
    ADD COLUMN IF NOT EXISTS analysis_charge numeric,
    ADD COLUMN IF NOT EXISTS analysis_price numeric;
CREATE INDEX IF NOT EXISTS elevenlabs_conversations_start_time_idx
    ON raw.elevenlabs_conversations (start_time);
CREATE INDEX IF NOT EXISTS elevenlabs_conversations_call_sid_idx
    ON raw.elevenlabs_conversations (call_sid);

-- When a record's cost is still pending: THE definition, one per API, used by the settlement
-- sensor, the raw checks, the partial indexes below, the dbt models (snapshots' unpriced_calls and
-- unsettled_conversations, call_costs.is_settled) and therefore `simbiosia run`'s report. The
-- Python twins in simbiosia_pipeline/sources/pending.py are held to the same answers by a test.
--
-- Twilio: a call is settled once it has a price, or once it ended unanswered (busy, no-answer,
-- failed, canceled): Twilio does not charge those and leaves their price null for good, so they
-- are settled at 0. Everything else with a null price — a completed call not rated yet, or a
-- call still queued, ringing or in progress (or in a status we do not know) — is pending.
CREATE OR REPLACE FUNCTION raw.twilio_cost_pending(status text, price numeric) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT price IS NULL AND status NOT IN ('busy', 'no-answer', 'failed', 'canceled')
$$;

-- ElevenLabs: a conversation's cost is final only once it is done or failed.
CREATE OR REPLACE FUNCTION raw.elevenlabs_cost_pending(status text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT status NOT IN ('done', 'failed')
$$;

-- The pending records: what settlement re-fetches and the settlement-age check counts, every
-- hour. Partial, so they hold the few pending records however long the history. (The first
-- versions of these indexes had other predicates under other names; dropped here.)
DROP INDEX IF EXISTS raw.twilio_calls_unpriced_idx;
DROP INDEX IF EXISTS raw.elevenlabs_conversations_unsettled_idx;
CREATE INDEX IF NOT EXISTS twilio_calls_cost_pending_idx
    ON raw.twilio_calls (event_time) WHERE raw.twilio_cost_pending(status, price);
CREATE INDEX IF NOT EXISTS elevenlabs_conversations_cost_pending_idx
    ON raw.elevenlabs_conversations (start_time) WHERE raw.elevenlabs_cost_pending(status);

-- What the providers bill per UTC day (sources/usage.py), to reconcile with the records above:
-- one row per day and category (Twilio Usage Records) or product (ElevenLabs usage analytics),
-- as last read. Charges are positive here. Written by the daily usage assets, a day at a time.
CREATE TABLE IF NOT EXISTS raw.twilio_usage_records (
    record_key   text PRIMARY KEY,      -- day/category
    day          date        NOT NULL,  -- UTC
    day_start    timestamptz NOT NULL,  -- the day's UTC midnight: the window writes replace
    category     text        NOT NULL,  -- calls, calls-inbound, ..., totalprice
    count        integer,
    usage        numeric,
    usage_unit   text,
    price        numeric,               -- positive, in price_unit
    price_unit   text,                  -- ISO 4217, upper case (Twilio serves it lower case)
    as_of        timestamptz,           -- Twilio's figures are up to date as of this moment
    payload      jsonb       NOT NULL,
    ingested_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS twilio_usage_records_day_start_idx
    ON raw.twilio_usage_records (day_start);

CREATE TABLE IF NOT EXISTS raw.elevenlabs_usage (
    record_key    text PRIMARY KEY,     -- day/product_type
    day           date        NOT NULL, -- UTC
    day_start     timestamptz NOT NULL,
    product_type  text        NOT NULL, -- agents, ...
    credits       numeric,
    fiat          numeric,              -- in fiat_unit, as ElevenLabs reports it
    fiat_unit     text,
    payload       jsonb       NOT NULL, -- the analytics row, by column name
    ingested_at   timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS elevenlabs_usage_day_start_idx ON raw.elevenlabs_usage (day_start);

-- Which source wrote this warehouse: sandbox rows must never be mixed into a live warehouse.
CREATE TABLE IF NOT EXISTS raw.warehouse_info (
    key         text PRIMARY KEY,
    value       text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Which UTC hours each raw table holds as ingested: the raw assets add their window's hours in
-- the transaction that replaces the window, so an hour without a single record is known to be
-- loaded, and an hour never fetched is known to be missing. The completeness of a day
-- (dbt: daily_completeness, workspace_daily_costs) counts these hours, never the records.
CREATE TABLE IF NOT EXISTS raw.loaded_hours (
    source_table  text        NOT NULL,  -- raw.twilio_calls, raw.elevenlabs_conversations
    hour          timestamptz NOT NULL,  -- the start of the UTC hour
    loaded_at     timestamptz NOT NULL,  -- the last load's commit
    PRIMARY KEY (source_table, hour)
);
