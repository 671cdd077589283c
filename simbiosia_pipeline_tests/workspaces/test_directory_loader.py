"""load_directory: the issue's file format, and every way a file can be wrong, with its line."""

from __future__ import annotations

import re
import textwrap
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from simbiosia_pipeline.settings import SANDBOX_WORKSPACES_FILE
from simbiosia_pipeline.workspaces import DirectoryError, load_directory

ISSUE_EXAMPLE = """\
catch_all_workspace: 1
pricing:
  elevenlabs_usd_per_credit:
    - {valid_from: "2025-01-01", rate: "0.00007525404654"}
workspaces:
  - id: 1
    name: Otros Números
  - id: 4
    name: Workspace Principal
    budgets: {daily_usd: "50", monthly_usd: "1200"}   # optional
    agents: [agent_abc123]                            # optional ElevenLabs agent ids
    phones:
      - {number: "+34930340228", primary: true}
      - {number: "+34881193139", valid_from: "2025-08-01", valid_to: "2025-10-01"}
"""


def write(tmp_path, text: str):
    path = tmp_path / "workspaces.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_the_issue_example_loads_with_exact_values(tmp_path):
    directory = load_directory(write(tmp_path, ISSUE_EXAMPLE))

    assert directory.catch_all_workspace == 1
    assert [ws.id for ws in directory.workspaces] == [1, 4]
    principal = directory.workspace(4)
    assert principal.name == "Workspace Principal"
    assert principal.primary_number == "+34930340228"
    assert principal.agents == ("agent_abc123",)
    assert principal.budgets.daily_usd == Decimal("50")
    assert principal.budgets.monthly_usd == Decimal("1200")
    dated = principal.phones[1]
    assert dated.valid_from == datetime(2025, 8, 1, tzinfo=UTC)
    assert dated.valid_to == datetime(2025, 10, 1, tzinfo=UTC)
    (rate,) = directory.pricing.elevenlabs_usd_per_credit
    assert rate.rate == Decimal("0.00007525404654")
    assert rate.valid_from == datetime(2025, 1, 1, tzinfo=UTC)


# The pricing section exactly as issue 12 writes it.
PRICING_OF_THE_ISSUE = """\
catch_all_workspace: 1
pricing:
  elevenlabs_usd_per_credit:
    - {valid_from: "2025-01-01", rate: "0.00007525404654"}
  usd_per_currency_unit:
    EUR:
      - {valid_from: "2025-01-01", rate: "1.08"}
      - {valid_from: "2025-10-02", rate: "1.16"}
workspaces:
  - {id: 1, name: Otros Números}
"""


JANUARY, OCTOBER_2 = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 10, 2, tzinfo=UTC)


def test_the_issue_pricing_section_loads_dated_currency_rates(tmp_path):
    pricing = load_directory(write(tmp_path, PRICING_OF_THE_ISSUE)).pricing

    assert [(r.valid_from, r.rate) for r in pricing.usd_per_currency_unit["EUR"]] == [
        (JANUARY, Decimal("1.08")),
        (OCTOBER_2, Decimal("1.16")),
    ]
    assert pricing.currency_rate_periods() == [
        ("EUR", JANUARY, OCTOBER_2, Decimal("1.08")),
        ("EUR", OCTOBER_2, None, Decimal("1.16")),
    ]
    # USD needs no entry, and a file without the section converts nothing else.
    assert load_directory(write(tmp_path, ISSUE_EXAMPLE)).pricing.usd_per_currency_unit == {}


def test_the_shipped_sandbox_file_loads():
    if not SANDBOX_WORKSPACES_FILE.exists():
        pytest.skip("the sandbox's workspaces file is not in this tree")
    directory = load_directory(SANDBOX_WORKSPACES_FILE)
    assert directory.catch_all_workspace in {ws.id for ws in directory.workspaces}


def test_unquoted_dates_and_aware_datetimes_are_utc_instants(tmp_path):
    directory = load_directory(
        write(
            tmp_path,
            """\
            catch_all_workspace: 1
            workspaces:
              - id: 1
                name: Catch-all
                phones:
                  - number: "+34930340228"
                    valid_from: 2025-08-01
                    valid_to: "2025-09-01T02:00:00+02:00"
            """,
        )
    )
    phone = directory.workspace(1).phones[0]
    assert phone.valid_from == datetime(2025, 8, 1, tzinfo=UTC)
    assert phone.valid_to == datetime(2025, 9, 1, tzinfo=UTC)


def test_without_pricing_the_old_dashboard_rate_applies(tmp_path):
    directory = load_directory(
        write(tmp_path, "catch_all_workspace: 1\nworkspaces: [{id: 1, name: Otros}]\n")
    )
    (rate,) = directory.pricing.elevenlabs_usd_per_credit
    assert rate.rate == Decimal("0.00007525404654")


def test_a_number_may_change_hands_when_the_periods_do_not_overlap(tmp_path):
    directory = load_directory(
        write(
            tmp_path,
            """\
            catch_all_workspace: 1
            workspaces:
              - id: 4
                name: Before
                phones: [{number: "+34881193139", valid_to: "2025-10-01"}]
              - id: 1
                name: After
                phones: [{number: "+34881193139", valid_from: "2025-10-01"}]
            """,
        )
    )
    assert len(directory.workspaces) == 2


def test_the_content_hash_ignores_comments_and_layout(tmp_path):
    original = load_directory(write(tmp_path, ISSUE_EXAMPLE)).content_hash()
    reformatted = re.sub(r"\s+#.*", "", ISSUE_EXAMPLE).replace(
        'budgets: {daily_usd: "50", monthly_usd: "1200"}',
        'budgets:\n      monthly_usd: "1200"\n      daily_usd: "50"',
    )
    assert load_directory(write(tmp_path, reformatted)).content_hash() == original
    renamed = ISSUE_EXAMPLE.replace("Workspace Principal", "Principal")
    assert load_directory(write(tmp_path, renamed)).content_hash() != original


# (file, fragments the message must contain: file:line, the entry, the problem)
INVALID = {
    "unknown key in a workspace": (
        """\
        catch_all_workspace: 1
        workspaces:
          - id: 1
            name: Otros
            colour: red
        """,
        ["workspaces.yaml:5:", 'workspace 1 "Otros", colour', "Extra inputs are not permitted"],
    ),
    "unknown key at the top": (
        "catch_all_workspace: 1\ncatchall: 2\nworkspaces: [{id: 1, name: Otros}]\n",
        ["workspaces.yaml:2:", "catchall", "Extra inputs"],
    ),
    "unknown key in a phone": (
        """\
        catch_all_workspace: 1
        workspaces:
          - id: 1
            name: Otros
            phones:
              - {number: "+34930340228", valid_until: "2025-10-01"}
        """,
        ["workspaces.yaml:6:", 'workspace 1 "Otros", phones[0].valid_until'],
    ),
    "duplicate workspace id": (
        """\
        catch_all_workspace: 1
        workspaces:
          - id: 1
            name: Otros
          - id: 4
            name: Principal
          - id: 4
            name: Again
        """,
        ["workspaces.yaml:7:", 'workspace 4 "Again", id', "already used by workspaces[1]"],
    ),
    "a number owned twice at the same time": (
        """\
        catch_all_workspace: 1
        workspaces:
          - id: 1
            name: Otros
          - id: 4
            name: Principal
            phones:
              - {number: "+34881193139", valid_from: "2025-08-01", valid_to: "2025-10-01"}
          - id: 5
            name: Secundario
            phones:
              - {number: "+34881193139", valid_from: "2025-09-01"}
        """,
        [
            "workspaces.yaml:12:",
            'workspace 5 "Secundario", phones[0].number',
            "+34881193139",
            "workspace 4",
            "one owner at a time",
        ],
    ),
    "a number that is not E.164": (
        """\
        catch_all_workspace: 1
        workspaces:
          - id: 1
            name: Otros
            phones:
              - {number: "0034 930 340 228"}
        """,
        [
            "workspaces.yaml:6:",
            'workspace 1 "Otros", phones[0].number',
            "is not an E.164 number",
            "write it as '+34930340228'",
        ],
    ),
    "a catch-all that is not a workspace": (
        "catch_all_workspace: 9\nworkspaces: [{id: 1, name: Otros}]\n",
        ["workspaces.yaml:1:", "catch_all_workspace", "9 is not the id of any workspace"],
    ),
    "a rate written as a float": (
        """\
        catch_all_workspace: 1
        pricing:
          elevenlabs_usd_per_credit:
            - {valid_from: "2025-01-01", rate: 0.00007525404654}
        workspaces: [{id: 1, name: Otros}]
        """,
        ["workspaces.yaml:4:", "elevenlabs_usd_per_credit[0].rate", "quoted decimal string"],
    ),
    "a currency rate written as a float": (
        PRICING_OF_THE_ISSUE.replace('rate: "1.16"', "rate: 1.16"),
        ["workspaces.yaml:8:", "usd_per_currency_unit.EUR[1].rate", "quoted decimal string"],
    ),
    "a currency that is not an ISO 4217 code": (
        PRICING_OF_THE_ISSUE.replace("EUR:", "euro:"),
        ["usd_per_currency_unit", "'euro' is not an ISO 4217 currency code"],
    ),
    "a rate for USD": (
        PRICING_OF_THE_ISSUE.replace("EUR:", "USD:"),
        ["usd_per_currency_unit", "USD needs no rate"],
    ),
    "two rates of a currency starting together": (
        PRICING_OF_THE_ISSUE.replace("2025-10-02", "2025-01-01"),
        ["usd_per_currency_unit.EUR", "two rates start at the same instant"],
    ),
    "a currency without rates": (
        PRICING_OF_THE_ISSUE.replace(
            """    EUR:
      - {valid_from: "2025-01-01", rate: "1.08"}
      - {valid_from: "2025-10-02", rate: "1.16"}""",
            "    EUR: []",
        ),
        ["usd_per_currency_unit.EUR", "at least one rate is needed"],
    ),
    "a budget that is not a number": (
        """\
        catch_all_workspace: 1
        workspaces:
          - id: 1
            name: Otros
            budgets: {daily_usd: "fifty"}
        """,
        ["workspaces.yaml:5:", "budgets.daily_usd", "not a decimal number"],
    ),
    "an empty validity period": (
        """\
        catch_all_workspace: 1
        workspaces:
          - id: 1
            name: Otros
            phones:
              - {number: "+34930340228", valid_from: "2025-10-01", valid_to: "2025-10-01"}
        """,
        ["workspaces.yaml:6:", "phones[0]", "is not before valid_to"],
    ),
    "a datetime without time zone": (
        """\
        catch_all_workspace: 1
        workspaces:
          - id: 1
            name: Otros
            phones:
              - {number: "+34930340228", valid_from: "2025-10-01T10:00:00"}
        """,
        ["workspaces.yaml:6:", "phones[0].valid_from", "has no time zone"],
    ),
    "two primary numbers": (
        """\
        catch_all_workspace: 1
        workspaces:
          - id: 1
            name: Otros
            phones:
              - {number: "+34930340228", primary: true}
              - {number: "+34930340229", primary: true}
        """,
        ["workspaces.yaml:3:", 'workspace 1 "Otros"', "more than one phone is marked primary"],
    ),
    "an agent listed by two workspaces": (
        """\
        catch_all_workspace: 1
        workspaces:
          - {id: 1, name: Otros, agents: [agent_a]}
          - {id: 4, name: Principal, agents: [agent_b, agent_a]}
        """,
        [
            "workspaces.yaml:4:",
            'workspace 4 "Principal", agents[1]',
            "already listed by workspace 1",
        ],
    ),
    "a key written twice": (
        """\
        catch_all_workspace: 1
        workspaces:
          - id: 1
            name: Otros
            name: Other
        """,
        ["workspaces.yaml:5:", "the key 'name' appears twice"],
    ),
    "an id that is a string": (
        "catch_all_workspace: 1\nworkspaces: [{id: 1, name: Otros}, {id: '4', name: P}]\n",
        ["workspaces.yaml:2:", 'workspace 4 "P", id', "valid integer"],
    ),
    "no workspaces": (
        "catch_all_workspace: 1\nworkspaces: []\n",
        ["workspaces.yaml:2:", "workspaces: the directory lists no workspace"],
    ),
    "not YAML": (
        "catch_all_workspace: 1\nworkspaces: [{id: 1, name: Otros}\n",
        ["workspaces.yaml:3:", "not valid YAML"],
    ),
}


@pytest.mark.parametrize(("text", "fragments"), INVALID.values(), ids=INVALID.keys())
def test_an_invalid_file_is_refused_with_its_line_and_entry(tmp_path, text, fragments):
    path = write(tmp_path, text)
    with pytest.raises(DirectoryError) as raised:
        load_directory(path)
    message = str(raised.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"


def test_every_problem_of_a_file_is_reported_at_once(tmp_path):
    path = write(
        tmp_path,
        """\
        catch_all_workspace: 1
        workspaces:
          - id: 1
            name: Otros
            colour: red
            phones: [{number: "930340228"}]
        """,
    )
    with pytest.raises(DirectoryError) as raised:
        load_directory(path)
    assert [problem.split(":")[1] for problem in raised.value.problems] == ["5", "6"]


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(DirectoryError, match="cannot read the file"):
        load_directory(tmp_path / "absent.yaml")
