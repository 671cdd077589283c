"""Read the workspaces file, and say exactly where it is wrong when it is.

The YAML is composed into nodes first, so every value keeps the line it came from; validation
errors (which carry a path such as ``workspaces[2].phones[0].number``) are then mapped back to
that line and to the workspace entry they belong to::

    workspaces.yaml:14: workspace 4 "Workspace Principal", phones[0].number: '+34 930' is not an
    E.164 number (+ and 7 to 15 digits)

The file is edited by people and re-read every minute by a sensor, so before anything is built
from it the document must be plain data: UTF-8, no control characters in any value, scalar keys,
integers that fit a PostgreSQL ``integer`` (ids), and few enough aliases that it cannot expand
beyond a sane size (a 500-byte "billion laughs" file would otherwise take minutes and gigabytes).
Each refusal names the file and line.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from simbiosia_pipeline.settings import ConfigurationError
from simbiosia_pipeline.workspaces.models import Directory

# Where a value sits in the document: ("workspaces", 2, "phones", 0, "number")
Location = tuple[str | int, ...]

# A directory needs no aliases; a few (a shared budget block) are harmless. Any more, or a
# document whose aliases would expand it past this many nodes, is refused before it is built.
MAX_ALIASES = 100
MAX_EXPANDED_NODES = 200_000
INT4 = (-(2**31), 2**31 - 1)  # the warehouse's workspace ids are PostgreSQL integers
_INT_TAG = "tag:yaml.org,2002:int"


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
        raw = path.read_bytes()
    except OSError as exc:
        raise DirectoryError(path, [f"cannot read the file: {exc.strerror or exc}"]) from None
    root, data = _compose(path, _decoded(path, raw))
    try:
        return Directory.model_validate(data)
    except ValidationError as exc:
        raise DirectoryError(path, _describe(path, root, data, exc)) from None


def _decoded(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DirectoryError(
            path, [f"{path.name}:{line}: not UTF-8 (byte {raw[exc.start]:#04x}); save it as UTF-8"]
        ) from None


class _CountingLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a document with more than ``MAX_ALIASES`` aliases."""

    aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise _Refused(mark.line + 1, f"more than {MAX_ALIASES} aliases (*name)")
        return super().compose_node(parent, index)


class _Refused(Exception):
    def __init__(self, line: int, problem: str):
        super().__init__(problem)
        self.line = line
        self.problem = problem


def _compose(path: Path, text: str) -> tuple[yaml.Node | None, Any]:
    loader = None
    try:
        loader = _CountingLoader(text)  # its reader refuses characters YAML does not allow
        root = loader.get_single_node()
        if root is not None:
            _check_plain_data(loader, root)
        return root, (loader.construct_document(root) if root is not None else None)
    except _Refused as refusal:
        raise DirectoryError(path, [f"{path.name}:{refusal.line}: {refusal.problem}"]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise DirectoryError(path, [f"{path.name}{line}: not valid YAML: {exc.problem}"]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, …)
        line = text[: exc.position].count("\n") + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise DirectoryError(
            path, [f"{path.name}:{line}: character U+{code:04X} is not allowed"]
        ) from None
    except yaml.YAMLError as exc:
        raise DirectoryError(path, [f"{path.name}: not valid YAML: {exc}"]) from None
    except RecursionError:  # thousands of nested brackets: no directory is shaped like that
        raise DirectoryError(path, [f"{path.name}: nested too deeply"]) from None
    finally:
        if loader is not None:
            loader.dispose()


def _check_plain_data(loader: yaml.SafeLoader, root: yaml.Node) -> None:
    """Refuse what no directory holds: an expansion past ``MAX_EXPANDED_NODES``, a key that is
    not a plain value or appears twice, a control character in a value, an integer beyond
    PostgreSQL's."""
    if _expanded_size(root, {}) > MAX_EXPANDED_NODES:
        raise _Refused(
            root.start_mark.line + 1,
            f"its aliases expand it beyond {MAX_EXPANDED_NODES} values",
        )
    for node in _distinct_nodes(root):
        if isinstance(node, yaml.MappingNode):
            _check_keys(node)
        elif isinstance(node, yaml.ScalarNode):
            _check_scalar(loader, node)


def _check_keys(node: yaml.MappingNode) -> None:
    seen: set[str] = set()
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode):
            raise _Refused(key.start_mark.line + 1, "a key must be a plain value")
        # PyYAML silently keeps the last of two equal keys; in a directory that would hide an edit.
        if key.value in seen:
            raise _Refused(key.start_mark.line + 1, f"the key {key.value!r} appears twice")
        seen.add(key.value)


def _check_scalar(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> None:
    control = next((c for c in node.value if unicodedata.category(c) == "Cc"), None)
    if control is not None:
        raise _Refused(
            node.start_mark.line + 1, f"control character {control!r} in {node.value[:40]!r}"
        )
    if node.tag == _INT_TAG:
        value = loader.construct_yaml_int(node)
        if not INT4[0] <= value <= INT4[1]:
            raise _Refused(node.start_mark.line + 1, f"{value} is beyond {INT4[1]} (an id?)")


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many nodes the document holds once every alias is expanded (aliases are shared
    nodes: memoised, so this is linear in the file, not in its expansion)."""
    if id(node) in sizes:
        return sizes[id(node)]
    sizes[id(node)] = 1  # a node that contains itself (a recursive alias) counts once
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(item, sizes) for item in node.value)
    else:
        size = 1
    sizes[id(node)] = min(size, MAX_EXPANDED_NODES + 1)
    return sizes[id(node)]


def _distinct_nodes(root: yaml.Node) -> Iterator[yaml.Node]:
    """Every node once, aliases not followed again."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if isinstance(node, yaml.MappingNode):
            stack.extend(part for pair in node.value for part in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


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
