-- The attribution migration: SQL objects the attribution models (dbt staging) need on the raw
-- tables, kept apart from the raw tables' own DDL (raw.sql), which ingestion owns. Applied after
-- raw.sql by warehouse/schema.py, under the same recorded digest; every statement is idempotent.
-- The function keeps its name in the raw schema: the models and the index below call it there.

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
