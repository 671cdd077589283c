"""write_directory: the old system's tables, replaced atomically, with stable created_at."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest
from psycopg.rows import dict_row

from simbiosia_pipeline.workspaces import (
    CreditRate,
    Directory,
    PhoneAssignment,
    Pricing,
    Workspace,
    write_directory,
)

AUGUST = datetime(2025, 8, 1, tzinfo=UTC)
OCTOBER = datetime(2025, 10, 1, tzinfo=UTC)


def directory(
    principal_name: str = "Workspace Principal", with_secondary: bool = True
) -> Directory:
    workspaces = [
        Workspace(id=1, name="Otros Números"),
        Workspace(
            id=4,
            name=principal_name,
            agents=("agent_abc123",),
            budgets={"daily_usd": "50", "monthly_usd": "1200"},
            phones=(
                PhoneAssignment(number="+34930340228", primary=True),
                PhoneAssignment(number="+34881193139", valid_from=AUGUST, valid_to=OCTOBER),
            ),
        ),
    ]
    if with_secondary:
        workspaces.append(
            Workspace(
                id=5,
                name="Workspace Secundario",
                phones=(PhoneAssignment(number="+34881193139", valid_from=OCTOBER),),
            )
        )
    return Directory(
        catch_all_workspace=1,
        pricing=Pricing(
            elevenlabs_usd_per_credit=(
                CreditRate(valid_from=OCTOBER, rate=Decimal("0.00008")),
                CreditRate(
                    valid_from=datetime(2025, 1, 1, tzinfo=UTC), rate=Decimal("0.00007525404654")
                ),
            )
        ),
        workspaces=workspaces,
    )


@pytest.fixture
def conn(fresh_database_url):
    with psycopg.connect(fresh_database_url, row_factory=dict_row) as connection:
        yield connection


def table(conn, query: str) -> list[dict]:
    return conn.execute(query).fetchall()


def test_the_tables_say_what_the_directory_says(conn):
    summary = write_directory(conn, directory())

    assert (summary.workspaces, summary.phone_assignments, summary.phone_numbers) == (3, 3, 2)
    assert table(conn, "SELECT id, name, phone_number FROM workspaces ORDER BY id") == [
        {"id": 1, "name": "Otros Números", "phone_number": "unknown"},
        {"id": 4, "name": "Workspace Principal", "phone_number": "+34930340228"},
        {"id": 5, "name": "Workspace Secundario", "phone_number": "unknown"},  # no primary
    ]
    assert table(
        conn,
        "SELECT workspace_id, phone_number, is_primary, valid_from, valid_to FROM workspace_phones"
        " ORDER BY workspace_id, phone_number",
    ) == [
        {
            "workspace_id": 4,
            "phone_number": "+34881193139",
            "is_primary": False,
            "valid_from": AUGUST,
            "valid_to": OCTOBER,
        },
        {
            "workspace_id": 4,
            "phone_number": "+34930340228",
            "is_primary": True,
            "valid_from": None,
            "valid_to": None,
        },
        {
            "workspace_id": 5,
            "phone_number": "+34881193139",
            "is_primary": False,
            "valid_from": OCTOBER,
            "valid_to": None,
        },
    ]
    assert table(conn, "SELECT * FROM workspace_agents") == [
        {"agent_id": "agent_abc123", "workspace_id": 4}
    ]
    assert table(conn, "SELECT * FROM workspace_budgets") == [
        {"workspace_id": 4, "daily_usd": Decimal("50"), "monthly_usd": Decimal("1200")}
    ]
    assert table(conn, "SELECT * FROM elevenlabs_credit_rates ORDER BY valid_from") == [
        {
            "valid_from": datetime(2025, 1, 1, tzinfo=UTC),
            "valid_to": OCTOBER,
            "usd_per_credit": Decimal("0.00007525404654"),
        },
        {"valid_from": OCTOBER, "valid_to": None, "usd_per_credit": Decimal("0.00008")},
    ]
    assert table(conn, "SELECT catch_all_workspace_id, content_hash FROM workspace_directory") == [
        {"catch_all_workspace_id": 1, "content_hash": directory().content_hash()}
    ]


def test_reloading_keeps_created_at_and_moves_updated_at_only_on_change(conn):
    write_directory(conn, directory())
    before = {row["id"]: row for row in table(conn, "SELECT * FROM workspaces")}

    write_directory(conn, directory())
    unchanged = {row["id"]: row for row in table(conn, "SELECT * FROM workspaces")}
    assert unchanged == before

    write_directory(conn, directory(principal_name="Principal"))
    renamed = {row["id"]: row for row in table(conn, "SELECT * FROM workspaces")}
    assert renamed[4]["created_at"] == before[4]["created_at"]
    assert renamed[4]["updated_at"] > before[4]["updated_at"]
    assert renamed[1] == before[1]


def test_a_workspace_removed_from_the_file_leaves_the_warehouse(conn):
    write_directory(conn, directory())
    write_directory(conn, directory(with_secondary=False))

    assert [row["id"] for row in table(conn, "SELECT id FROM workspaces ORDER BY id")] == [1, 4]
    assert {row["workspace_id"] for row in table(conn, "SELECT * FROM workspace_phones")} == {4}


def test_a_failed_load_leaves_the_previous_directory(conn):
    write_directory(conn, directory())
    broken = directory().model_copy(update={"catch_all_workspace": 99})  # bypasses validation

    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        write_directory(conn, broken)

    assert len(table(conn, "SELECT * FROM workspace_phones")) == 3
    assert table(conn, "SELECT catch_all_workspace_id FROM workspace_directory") == [
        {"catch_all_workspace_id": 1}
    ]


def with_currency_rates(base: Directory, eur: dict[str, str]) -> Directory:
    rates = [{"valid_from": start, "rate": rate} for start, rate in eur.items()]
    currencies = Pricing.model_validate({"usd_per_currency_unit": {"EUR": rates}})
    pricing = base.pricing.model_copy(
        update={"usd_per_currency_unit": currencies.usd_per_currency_unit}
    )
    return base.model_copy(update={"pricing": pricing})


def test_currency_rates_are_stored_and_a_changed_rate_restates_from_where_it_differs(conn):
    first = write_directory(conn, with_currency_rates(directory(), {"2025-01-01": "1.08"}))
    assert first.currency_rates == 1
    assert first.restate_from is None  # the first load: nothing was converted before
    assert table(conn, "SELECT * FROM currency_rates") == [
        {
            "currency": "EUR",
            "valid_from": datetime(2025, 1, 1, tzinfo=UTC),
            "valid_to": None,
            "usd_per_unit": Decimal("1.08"),
        }
    ]

    again = write_directory(conn, with_currency_rates(directory(), {"2025-01-01": "1.08"}))
    assert again.restate_from is None

    new_rate = with_currency_rates(directory(), {"2025-01-01": "1.08", "2025-10-02": "1.16"})
    changed = write_directory(conn, new_rate)
    assert changed.restate_from == datetime(2025, 10, 2, tzinfo=UTC)
    assert [row["valid_to"] for row in table(conn, "SELECT * FROM currency_rates ORDER BY 2")] == [
        datetime(2025, 10, 2, tzinfo=UTC),
        None,
    ]

    removed = write_directory(conn, directory())
    assert removed.restate_from == datetime(2025, 1, 1, tzinfo=UTC)
    assert table(conn, "SELECT * FROM currency_rates") == []
