"""What the UI shows of the definitions: an owner on every asset of ours, a description on every
check of ours, each in its own API's words (dbt's assets and checks are described by dbt)."""

from __future__ import annotations

from simbiosia_pipeline.definitions import defs


def _ours(graph) -> list:
    return [key for key in graph.get_all_asset_keys() if "dbt" not in graph.get(key).kinds]


def test_every_asset_of_ours_has_an_owner():
    graph = defs.resolve_asset_graph()
    assert {k.to_user_string(): graph.get(k).owners for k in _ours(graph)} == {
        k.to_user_string(): ["team:data-engineering"] for k in _ours(graph)
    }


def test_every_check_of_ours_has_a_description_in_its_apis_words():
    graph = defs.resolve_asset_graph()
    ours = set(_ours(graph))
    checks = [key for key in graph.asset_check_keys if key.asset_key in ours]
    assert len(checks) >= 12
    for key in checks:
        description = graph.get_check_spec(key).description
        assert description, key
        if key.asset_key.path[-1] == "elevenlabs_conversations":
            assert "Twilio" not in description, key
        if key.asset_key.path[-1] == "twilio_calls":
            assert "ElevenLabs" not in description, key


def test_the_hourly_schedule_says_what_it_partitions():
    schedule = defs.resolve_schedule_def("hourly_pipeline_schedule")
    assert "hourly partition" in schedule.description
    assert schedule.metadata["partitions"].value.startswith("hourly, UTC")
