"""Validators for the providers' response bodies, from the schemas of their official specs.

The schemas are copies (``api_specs/``, each file naming its source) of the official OpenAPI
documents: Twilio's v2010 spec (OpenAPI 3.0.1: ``nullable: true`` is translated into a JSON
Schema type union here) and ElevenLabs' 2026-08 spec (OpenAPI 3.1, JSON Schema 2020-12 already).
Error bodies the specs do not describe have schemas written from the documented shapes
(``api_specs/documented_errors.json``).

One deviation from the Twilio spec is deliberate, because real records carry it and the spec's
own words allow it: ``trunk_sid`` is ``""`` ("the field is empty if the call was not made using a
SIP trunk") where the schema's pattern wants ``TK`` + 32 hex.
"""

from __future__ import annotations

import copy
import json
from email.utils import parsedate_to_datetime
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker

SPECS = Path(__file__).parent / "api_specs"


def load_spec(name: str) -> dict:
    return json.loads((SPECS / name).read_text())


def openapi30_to_json_schema(node):
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema: null joins the type (and the enum)."""
    if isinstance(node, list):
        return [openapi30_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: openapi30_to_json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
        if "enum" in node:
            node["enum"] = [*node["enum"], None]
        if "$ref" in node:
            node = {"anyOf": [{"$ref": node.pop("$ref")}, {"type": "null"}], **node}
    return node


# Only the formats whose meaning the specs make plain are checked (a relative `uri` would fail
# the generic URI check, yet Twilio documents its URIs as relative).
FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time-rfc-2822", raises=(TypeError, ValueError))
def _rfc2822(value) -> bool:
    return not isinstance(value, str) or parsedate_to_datetime(value).tzinfo is not None


@FORMATS.checks("currency")
def _currency(value) -> bool:
    """ISO 4217, in one case: calls say ``USD``, usage records ``usd`` (the spec's example)."""
    return not isinstance(value, str) or (
        len(value) == 3 and value.isalpha() and (value.isupper() or value.islower())
    )


def _validator(document: dict, response: str) -> Draft202012Validator:
    schema = {**document["responses"][response], "components": document["components"]}
    return Draft202012Validator(schema, format_checker=FORMATS)


def _twilio_document() -> dict:
    document = openapi30_to_json_schema(load_spec("twilio_api_v2010_2026-04.json"))
    call = copy.deepcopy(document["components"]["schemas"]["api.v2010.account.call"])
    trunk = call["properties"]["trunk_sid"]
    call["properties"]["trunk_sid"] = {"anyOf": [trunk, {"const": ""}]}  # see module docstring
    document["components"]["schemas"]["api.v2010.account.call"] = call
    return document


TWILIO = _twilio_document()
ELEVENLABS = load_spec("elevenlabs_2026-08.json")
_ERRORS = load_spec("documented_errors.json")["schemas"]

TWILIO_LIST = _validator(TWILIO, "list_calls_200")
TWILIO_CALL = _validator(TWILIO, "fetch_call_200")
ELEVENLABS_LIST = _validator(ELEVENLABS, "list_conversations_200")
ELEVENLABS_DETAIL = _validator(ELEVENLABS, "get_conversation_200")
ELEVENLABS_422 = _validator(ELEVENLABS, "validation_error_422")
TWILIO_USAGE_DAILY = _validator(TWILIO, "list_usage_records_daily_200")
ELEVENLABS_USAGE = _validator(ELEVENLABS, "usage_by_product_over_time_200")
TWILIO_ERROR = Draft202012Validator(_ERRORS["twilio_error"])
ELEVENLABS_ERROR = Draft202012Validator(_ERRORS["elevenlabs_error"])


def assert_valid(validator: Draft202012Validator, body) -> None:
    problems = sorted(validator.iter_errors(body), key=lambda error: list(error.absolute_path))
    assert not problems, "\n".join(
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message[:300]}"
        for error in problems[:10]
    )
