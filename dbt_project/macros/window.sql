{#- The time window a run rebuilds: the run settings min_ts and max_ts (macros/run_settings.sql).

    Windows are whole UTC hours: a snapshot row is one hour, and a window that cut an hour in
    two would rebuild that hour from part of its records (the old system's defect D-W1).
    Anything else is refused before a single row is touched. -#}

{% macro window_start() -%}
    {{ return(_window_bound('min_ts')) }}
{%- endmacro %}

{% macro window_end() -%}
    {{ return(_window_bound('max_ts')) }}
{%- endmacro %}

{#- "column lies in the window", written so that an index on the column serves it. -#}
{% macro in_window(column) -%}
    {{ column }} >= {{ window_start() }} and {{ column }} < {{ window_end() }}
{%- endmacro %}

{% macro _window_bound(var_name) -%}
    {%- set text = run_setting(var_name) -%}
    {%- set utc = modules.pytz.utc -%}
    {%- set parsed = none -%}
    {%- if modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+(Z|[+-][0-9:]+)', text) -%}
        {%- set parsed = modules.datetime.datetime.fromisoformat(text.replace('Z', '+00:00')) -%}
    {%- endif -%}
    {%- if parsed is none -%}
        {{ exceptions.raise_compiler_error(
            var_name ~ "=" ~ text ~ " is not an ISO 8601 instant with a UTC offset") }}
    {%- endif -%}
    {%- set instant = parsed.astimezone(utc) -%}
    {%- if instant.minute or instant.second or instant.microsecond -%}
        {{ exceptions.raise_compiler_error(
            var_name ~ "=" ~ text ~ " is not on a whole UTC hour; windows are whole hours") }}
    {%- endif -%}
    {{ return("'" ~ instant.isoformat() ~ "'::timestamptz") }}
{%- endmacro %}
