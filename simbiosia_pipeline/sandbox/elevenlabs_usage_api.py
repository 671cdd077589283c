"""ElevenLabs usage analytics: ``POST /v1/workspace/analytics/query/usage-by-product-over-time``.

Answers the spec's ``WorkspaceAnalyticsQueryResponseModel`` (``columns``, ``column_types``,
``column_units``, ``rows``) from the sandbox's own conversations (``usage.py``): credits — and
the USD ElevenLabs reports beside them — per bucket and product (``agents``). Choices where
ElevenLabs is silent, and what the sandbox implements:

* A conversation counts in the bucket of its start, once final; the query covers
  ``start_time <= start < end_time`` (milliseconds).
* Buckets start at the UTC midnight of ``start_time`` and last ``interval_seconds``, which must
  be a whole number of days here; ``time_zone`` only ``UTC``; ``group_by`` ``product_type`` (or
  nothing); ``filters`` only on ``product_type`` with ``eq``/``in``/``neq``/``not_in``. Anything
  else the spec allows is answered 422 "not implemented", never silently ignored; a body the
  spec refuses is a 422 in FastAPI's format.
* One row per bucket and product, zeros included, for every bucket that has begun.
"""

from __future__ import annotations

from decimal import Decimal

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simbiosia_pipeline.sandbox.clock import DAY, from_unix, iso_z
from simbiosia_pipeline.sandbox.faults import Attempt
from simbiosia_pipeline.sandbox.guard import ApiGuard
from simbiosia_pipeline.sandbox.responses import json_response
from simbiosia_pipeline.sandbox.simulator import Sandbox
from simbiosia_pipeline.sandbox.usage import ELEVENLABS_PRODUCT

PATH = "/v1/workspace/analytics/query/usage-by-product-over-time"
MIN_TIME_MS = 1577836800000  # the spec's minimum: 2020-01-01
# The spec's group_by enumeration.
GROUP_BY = (
    "product_type", "model", "voice_id", "user_id", "fiat_currency", "fiat_charge_type",
    "region", "reporting_workspace_id", "request_source", "resource_id", "subresource_id",
    "request_queue_type", "voice_multiplier", "hashed_xi_api_key", "billing_group_id",
    "surface", "actor",
)  # fmt: skip
OPERATIONS = ("in", "not_in", "le", "ge", "lt", "gt", "eq", "neq")
_PRODUCT_MATCH = {
    "eq": lambda product, values: product in values[:1],
    "in": lambda product, values: product in values,
    "neq": lambda product, values: product not in values[:1],
    "not_in": lambda product, values: product not in values,
}


def _problem(kind: str, loc: list, msg: str, value) -> dict:
    return {"type": kind, "loc": ["body", *loc], "msg": msg, "input": value}


class ElevenLabsUsageApi:
    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    def routes(self, guard: ApiGuard) -> list[Route]:
        return [Route(PATH, guard.endpoint(self.usage_by_product), methods=["POST"])]

    def usage_by_product(self, request: Request, attempt: Attempt) -> Response:
        try:
            body = orjson.loads(request.state.body or b"null")
        except orjson.JSONDecodeError:
            body = None
        problems: list[dict] = []
        query = _query(body, problems)
        if problems:
            return json_response({"detail": problems}, 422)
        start_ms, end_ms, interval, grouped, products_kept = query
        now = self._sandbox.clock.now_unix()
        lo, hi = -(-start_ms // 1000), -(-end_ms // 1000)
        by_day = self._sandbox.elevenlabs_usage(lo, hi, now)
        first_bucket = lo - lo % DAY
        rows = []
        bucket = first_bucket
        while bucket < hi and bucket <= now:
            credits, fiat = Decimal(0), Decimal(0)
            for day in range(bucket, bucket + interval, DAY):
                day_credits, day_fiat = by_day.get(day, (Decimal(0), Decimal(0)))
                credits, fiat = credits + day_credits, fiat + day_fiat
            if products_kept(ELEVENLABS_PRODUCT):
                moment = _iso(bucket)
                values = [float(credits), float(fiat)]
                rows.append([moment, ELEVENLABS_PRODUCT, *values] if grouped else [moment, *values])
            bucket += interval
        columns = ["time", *(["product_type"] if grouped else []), "credits", "fiat"]
        types = ["DateTime", *(["String"] if grouped else []), "Float", "Float"]
        units = [None, *([None] if grouped else []), "credits", "usd"]
        return json_response(
            {"columns": columns, "column_types": types, "column_units": units, "rows": rows}
        )


def _iso(seconds: int) -> str:
    return iso_z(from_unix(seconds))


def _query(body, problems: list[dict]):
    """The validated query, or problems in FastAPI's format."""
    if not isinstance(body, dict):
        problems.append(_problem("model_attributes_type", [], "Input should be an object", body))
        return None
    start = _time(body, "start_time", problems)
    end = _time(body, "end_time", problems)
    interval = body.get("interval_seconds", 60)
    if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
        problems.append(
            _problem("greater_than_equal", ["interval_seconds"], "Input should be >= 1", interval)
        )
    elif interval % DAY:
        problems.append(
            _problem(
                "not_implemented",
                ["interval_seconds"],
                "The sandbox implements whole-day buckets only (a multiple of 86400)",
                interval,
            )
        )
    if body.get("time_zone", "UTC") != "UTC":
        problems.append(
            _problem("not_implemented", ["time_zone"], "The sandbox implements UTC only", None)
        )
    grouped = _group_by(body.get("group_by"), problems)
    keep = _filters(body.get("filters"), problems)
    return start, end, interval, grouped, keep


def _time(body: dict, name: str, problems: list[dict]) -> int | None:
    if name not in body:
        problems.append(_problem("missing", [name], "Field required", body))
        return None
    value = body[name]
    if not isinstance(value, int) or isinstance(value, bool):
        problems.append(_problem("int_type", [name], "Input should be a valid integer", value))
        return None
    if value < MIN_TIME_MS:
        problems.append(
            _problem(
                "greater_than_equal",
                [name],
                f"Input should be greater than or equal to {MIN_TIME_MS}",
                value,
            )
        )
    return value


def _group_by(value, problems: list[dict]) -> bool:
    if value is None:
        return False
    if not isinstance(value, list):
        problems.append(_problem("list_type", ["group_by"], "Input should be a valid list", value))
        return False
    for index, item in enumerate(value):
        if item not in GROUP_BY:
            problems.append(
                _problem("enum", ["group_by", index], f"Input should be one of {GROUP_BY}", item)
            )
        elif item != "product_type":
            problems.append(
                _problem(
                    "not_implemented",
                    ["group_by", index],
                    "The sandbox implements group_by product_type only",
                    item,
                )
            )
    return "product_type" in value


def _filters(value, problems: list[dict]):
    if value is None:
        return lambda product: True
    if not isinstance(value, list):
        problems.append(_problem("list_type", ["filters"], "Input should be a valid list", value))
        return lambda product: True
    matches = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or not {"column", "operation", "values"} <= set(item):
            problems.append(
                _problem("missing", ["filters", index], "column, operation, values required", item)
            )
            continue
        if item["operation"] not in OPERATIONS:
            problems.append(
                _problem("enum", ["filters", index, "operation"], "Not an operation", item)
            )
        elif item["column"] != "product_type" or item["operation"] not in _PRODUCT_MATCH:
            problems.append(
                _problem(
                    "not_implemented",
                    ["filters", index],
                    "The sandbox implements product_type filters with eq/in/neq/not_in only",
                    item,
                )
            )
        else:
            match, values = _PRODUCT_MATCH[item["operation"]], list(item["values"] or [])
            matches.append(lambda product, m=match, v=values: m(product, v))
    return lambda product: all(match(product) for match in matches)
