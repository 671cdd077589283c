"""A workspaces file written carelessly or with malice: refused fast, with its file and line.
(The file sensor's side: automation/test_invalid_workspaces_file.py.)"""

from __future__ import annotations

import time

import pytest

from simbiosia_pipeline.workspaces import DirectoryError, load_directory

VALID = """\
catch_all_workspace: 1
workspaces:
  - id: 1
    name: Otros Números
  - id: 4
    name: Workspace Principal
    phones:
      - {number: "+34930340228"}
"""


def alias_bomb(levels: int = 9) -> str:
    """The "billion laughs": each level nine aliases of the one before (9^9 values)."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        previous, name = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{name}: &{name} [{','.join(['*' + previous] * 9)}]")
    return "\n".join(lines) + "\n"


def refusal(tmp_path, content: str | bytes) -> str:
    path = tmp_path / "workspaces.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(DirectoryError) as failure:
        load_directory(path)
    (problem,) = failure.value.problems
    return problem


def test_an_alias_bomb_is_refused_in_milliseconds(tmp_path):
    bomb = alias_bomb()
    assert len(bomb.encode()) < 600
    began = time.perf_counter()
    problem = refusal(tmp_path, bomb)
    assert time.perf_counter() - began < 1.0  # was 38 s; the bound only says "not expanded"
    assert problem == "workspaces.yaml:1: its aliases expand it beyond 200000 values"


def test_more_than_a_hundred_aliases_are_refused(tmp_path):
    text = "a: &x 1\nb: [" + ", ".join(["*x"] * 101) + "]\n"
    assert refusal(tmp_path, text) == "workspaces.yaml:2: more than 100 aliases (*name)"


def test_few_aliases_that_expand_too_far_are_refused(tmp_path):
    lines = ['a: &a ["' + "x" * 5 + '"' + ',"x"' * 99 + "]"]
    lines += ["b: &b [" + ",".join(["*a"] * 50) + "]", "c: [" + ",".join(["*b"] * 45) + "]"]
    assert refusal(tmp_path, "\n".join(lines)).endswith("expand it beyond 200000 values")


def test_a_recursive_alias_is_refused_with_its_line(tmp_path):
    problem = refusal(tmp_path, VALID + "extra: &loop [*loop]\n")
    assert problem.startswith("workspaces.yaml:")


def test_a_few_aliases_are_fine(tmp_path):
    path = tmp_path / "workspaces.yaml"
    path.write_text(
        VALID + "  - id: 5\n    name: Otro\n    budgets: &b {daily_usd: '5'}\n"
        "  - id: 6\n    name: Tercero\n    budgets: *b\n",
        encoding="utf-8",
    )
    assert load_directory(path).workspace(6).budgets == load_directory(path).workspace(5).budgets


def test_bytes_that_are_not_utf8_are_refused_with_their_line(tmp_path):
    content = VALID.replace("Otros Números", "Otros N\xfameros").encode("latin-1")
    problem = refusal(tmp_path, content)
    assert problem == "workspaces.yaml:4: not UTF-8 (byte 0xfa); save it as UTF-8"


def test_a_nul_in_the_file_is_refused_with_its_line(tmp_path):
    problem = refusal(tmp_path, VALID.replace("Workspace Principal", "Workspace\x00Principal"))
    assert problem.startswith("workspaces.yaml:6: character U+0000 is not allowed")


@pytest.mark.parametrize("escaped", ["\\0", "\\a", "\\x1b[31m", "\\n", "\\x7f"])
def test_a_control_character_in_a_name_is_refused_with_its_line(tmp_path, escaped):
    problem = refusal(tmp_path, VALID.replace("name: Workspace Principal", f'name: "W{escaped}P"'))
    assert problem.startswith("workspaces.yaml:6: control character")


def test_a_complex_key_is_refused_with_its_line(tmp_path):
    problem = refusal(tmp_path, VALID + "? [a, b]\n: c\n")
    assert problem == "workspaces.yaml:9: a key must be a plain value"


@pytest.mark.parametrize("workspace_id", [2**31, -(2**31) - 1, 10**30])
def test_an_id_beyond_postgres_integer_is_refused_with_its_line(tmp_path, workspace_id):
    problem = refusal(tmp_path, VALID.replace("id: 4", f"id: {workspace_id}"))
    assert problem == f"workspaces.yaml:5: {workspace_id} is beyond 2147483647 (an id?)"


def test_the_largest_postgres_integer_is_an_id(tmp_path):
    path = tmp_path / "workspaces.yaml"
    path.write_text(VALID.replace("id: 4", f"id: {2**31 - 1}"), encoding="utf-8")
    assert load_directory(path).workspace(2**31 - 1).name == "Workspace Principal"


def test_a_duplicate_key_is_still_refused(tmp_path):
    problem = refusal(tmp_path, VALID + "catch_all_workspace: 4\n")
    assert problem == "workspaces.yaml:9: the key 'catch_all_workspace' appears twice"


def test_nesting_thousands_deep_is_refused(tmp_path):
    assert refusal(tmp_path, "a: " + "[" * 5000 + "]" * 5000 + "\n").endswith("nested too deeply")
