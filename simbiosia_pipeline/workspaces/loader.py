"""Read the workspaces file, and say exactly where it is wrong when it is.

The YAML is composed into nodes first, so every value keeps the line it came from; validation
errors (which carry a path such as ``workspaces[2].phones[0].number``) are then mapped back to
that line and to the workspace entry they belong to::

    workspaces.yaml:14: workspace 4 "Workspace Principal", phones[0].number: '+34 930' is not an
    E.164 number (+ and 7 to 15 digits)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from simbiosia_pipeline.settings import ConfigurationError
from simbiosia_pipeline.workspaces.models import Directory

# Where a value sits in the document: ("workspaces", 2, "phones", 0, "number")
Location = tuple[str | int, ...]


class DirectoryError(ConfigurationError):
    """The workspaces file cannot be used; the message lists every problem with its line."""

    def __init__(self, path: Path, problems: Sequence[str]):
        self.path = path
        self.problems = list(problems)
        listing = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"invalid workspaces file {path}:\n{listing}")


def load_directory(path: Path | str) -> Directory:
    """The directory described by the YAML file at ``path``; ``DirectoryError`` if it is invalid."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DirectoryError(path, [f"cannot read the file: {exc.strerror or exc}"]) from None
    root, data = _compose(path, text)
    try:
        return Directory.model_validate(data)
    except ValidationError as exc:
        raise DirectoryError(path, _describe(path, root, data, exc)) from None


def _compose(path: Path, text: str) -> tuple[yaml.Node | None, Any]:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is not None:
            _reject_duplicate_keys(path, root)
        return root, (loader.construct_document(root) if root is not None else None)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise DirectoryError(path, [f"{path.name}{line}: not valid YAML: {exc.problem}"]) from None
    finally:
        loader.dispose()


def _reject_duplicate_keys(path: Path, node: yaml.Node) -> None:
    # PyYAML silently keeps the last of two equal keys; in a directory that would hide an edit.
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                raise DirectoryError(
                    path,
                    [f"{path.name}:{key.start_mark.line + 1}: the key {key.value!r} appears twice"],
                )
            seen.add(key.value)
            _reject_duplicate_keys(path, value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_duplicate_keys(path, item)


def _describe(path: Path, root: yaml.Node | None, data: Any, exc: ValidationError) -> list[str]:
    """One line per problem, in the order of the file."""
    located: list[tuple[Location, str]] = []
    for error in exc.errors(include_url=False):
        conflicts = (error.get("ctx") or {}).get("conflicts")
        if conflicts:
            located.extend((tuple(conflict.path), conflict.message) for conflict in conflicts)
        else:
            located.append((tuple(error["loc"]), error["msg"]))
    lines = [(_line_of(root, loc), loc, message) for loc, message in located]
    return [
        _problem(path, line, data, loc, message)
        for line, loc, message in sorted(lines, key=lambda problem: problem[0] or 0)
    ]


def _problem(path: Path, line: int | None, data: Any, loc: Location, message: str) -> str:
    where = f"{path.name}:{line}" if line else path.name
    entry = _entry_name(data, loc)
    return f"{where}: {entry}: {message}" if entry else f"{where}: {message}"


def _line_of(root: yaml.Node | None, loc: Location) -> int | None:
    """The line of the deepest node on ``loc`` that exists (a missing key points at its entry)."""
    if root is None:
        return None
    node = root
    for depth, part in enumerate(loc):
        found = _child(node, part)
        if found is None:
            break
        key, node = found
        if depth == len(loc) - 1 and key is not None:
            # The key is where the eye goes, above all for an unknown one.
            return key.start_mark.line + 1
    return node.start_mark.line + 1


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node | None, yaml.Node] | None:
    """(key node, value node) of ``part`` under ``node``, or None if the file does not have it."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                return key, value
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return None, node.value[part]
    return None


def _entry_name(data: Any, loc: Location) -> str:
    """``workspace 4 "Workspace Principal", phones[0].number`` for a path under a workspace."""
    if len(loc) >= 2 and loc[0] == "workspaces" and isinstance(loc[1], int):
        entries = data.get("workspaces") if isinstance(data, dict) else None
        entry = entries[loc[1]] if isinstance(entries, list) and loc[1] < len(entries) else None
        if isinstance(entry, dict) and "id" in entry:
            name = f' "{entry["name"]}"' if isinstance(entry.get("name"), str) else ""
            head = f"workspace {entry['id']}{name}"
        else:
            head = f"workspaces[{loc[1]}]"
        rest = _dotted(loc[2:])
        return f"{head}, {rest}" if rest else head
    return _dotted(loc)


def _dotted(loc: Location) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
