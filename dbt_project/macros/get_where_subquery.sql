{#- Tests of a window-driven model look at the run's window only.

    dbt wraps the model a generic test reads in this macro. For a model with meta.window_column
    (the hourly models) it keeps the rows of the window being rebuilt, so an hourly run tests the
    hour it wrote in time proportional to that hour, not to all history; the defaults of min_ts
    and max_ts still test everything. A test's own `where` config is kept as well. -#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set tested = graph.nodes.get(model.get('attached_node')) if execute else none -%}
    {%- set window_column = ((tested or {}).get('config', {}).get('meta') or {}).get('window_column') -%}
    {%- if window_column -%}
        {%- do conditions.append(in_window(window_column)) -%}
    {%- endif -%}
    {%- if config.get('where') -%}
        {%- do conditions.append('(' ~ config.get('where') ~ ')') -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
