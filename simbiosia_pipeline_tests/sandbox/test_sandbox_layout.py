"""The shipped workspaces.yaml is the layout the sandbox generates traffic for."""

from __future__ import annotations

import re
from datetime import date

import yaml

from simbiosia_pipeline.sandbox import DEFAULT_LAYOUT, WORKSPACES_FILE, layout_document
from simbiosia_pipeline.sandbox.layout import MOVING_NUMBER


def test_shipped_yaml_equals_the_python_layout():
    assert yaml.safe_load(WORKSPACES_FILE.read_text(encoding="utf-8")) == layout_document()


def test_the_old_systems_seventeen_numbers_are_owned_as_curated():
    document = layout_document()
    assert document["catch_all_workspace"] == 1
    phones = {w["id"]: [p["number"] for p in w.get("phones", [])] for w in document["workspaces"]}
    assert phones[1] == []
    assert len(phones[4]) == 13
    assert len(set(phones[4]) | set(phones[5]) | set(phones[6])) == 17
    primaries = {
        w["id"]: [p["number"] for p in w.get("phones", []) if p.get("primary")]
        for w in document["workspaces"]
    }
    assert primaries == {
        1: [],
        4: ["+34930340228"],
        5: ["+34911677200"],
        6: ["+13527475264"],
    }


def test_one_number_moves_from_workspace_4_to_5_on_october_first():
    assert DEFAULT_LAYOUT.owner(MOVING_NUMBER, date(2025, 9, 30)) == 4
    assert DEFAULT_LAYOUT.owner(MOVING_NUMBER, date(2025, 10, 1)) == 5


def test_unowned_numbers_belong_to_no_workspace_and_are_dialled_by_agents():
    dialled = {number for agent in DEFAULT_LAYOUT.agents for number, _ in agent.numbers}
    for number in DEFAULT_LAYOUT.unowned_numbers:
        assert DEFAULT_LAYOUT.owner(number, date(2026, 1, 1)) is None
        assert number in dialled
    assert DEFAULT_LAYOUT.callback_sip_number in DEFAULT_LAYOUT.unowned_numbers


def test_agent_ids_have_the_real_format_and_the_widget_agent_is_listed():
    for agent in DEFAULT_LAYOUT.agents:
        assert re.fullmatch(r"agent_[0-9a-z]{26}", agent.agent_id)
    web = [a.agent_id for a in DEFAULT_LAYOUT.agents if a.channel == "web"]
    listed = [a for w in layout_document()["workspaces"] for a in w.get("agents", [])]
    assert web == listed
