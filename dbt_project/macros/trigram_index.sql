{#- A trigram index on `column` of this model, for searching any part of it (LIKE '%…%'), where
    the server has PostgreSQL's pg_trgm extension (contrib): created once, then kept. Where it
    has not (the embedded pgserver warehouse ships no contrib), the search still answers, by
    scanning the range's rows, and the model builds all the same. -#}
{% macro trigram_index(column) -%}
do $$
begin
    if exists (select from pg_available_extensions where name = 'pg_trgm') then
        create extension if not exists pg_trgm with schema public;
        create index if not exists {{ this.identifier }}_{{ column }}_trgm
            on {{ this }} using gin ({{ column }} public.gin_trgm_ops);
    end if;
end
$$
{%- endmacro %}
