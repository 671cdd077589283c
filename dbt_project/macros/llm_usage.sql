{#- A conversation's LLM usage (``charging.llm_usage``) as rows, one per model (``model.key``) and
    token category (``category.key``; ``category.value`` holds its tokens and price): the joins
    to add after ``from`` a relation carrying the JSON. Both generation blocks describe the same
    tokens, so only one is read; jsonb_each fails on anything but an object, so a malformed block
    counts as no usage. -#}
{% macro llm_usage_categories(llm_usage) %}
    cross join lateral (
        select coalesce(
            {{ llm_usage }} -> 'irreversible_generation' -> 'model_usage',
            {{ llm_usage }} -> 'initiated_generation' -> 'model_usage'
        ) as model_usage
    ) as generation
    cross join lateral jsonb_each(
        case when jsonb_typeof(generation.model_usage) = 'object' then generation.model_usage end
    ) as model
    cross join lateral jsonb_each(
        case when jsonb_typeof(model.value) = 'object' then model.value end
    ) as category
{% endmacro %}
