"""Read a config file's YAML into plain data, remembering where every value came from.

PyYAML's ordinary loading forgets positions, silently keeps the last of two duplicate keys (an
edit lost in a pull request) and expands aliases without bound (the "billion laughs"). So we
compose the node graph ourselves and build the data from it, with a budget, recording each
node's line and column under its path, e.g. ("rules", 2, "when", "query").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import yaml

from runner.errors import Problem

Path = tuple[str | int, ...]

MAX_BYTES: Final = 1024 * 1024
MAX_DEPTH: Final = 64
# Nodes reached a second time through an alias. Sharing a few conditions costs tens; anything in
# the thousands is an alias bomb, and stopping early keeps memory and time flat.
MAX_ALIAS_NODES: Final = 10_000

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR = "tag:yaml.org,2002:str"
_PLAIN_TAGS: Final = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class NodeInfo:
    """Where one value sits in the file (1-based), and where its key sits when it has one."""

    line: int
    column: int
    key_line: int = 0
    key_column: int = 0
    style: str | None = None  # a scalar's YAML style: None (plain), "'", '"', "|" or ">"
    end_line: int = 0
    end_column: int = 0


@dataclass
class Source:
    """A config file's data plus the position of every node in it."""

    filename: str
    text: str
    data: Any = None
    nodes: dict[Path, NodeInfo] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # False when the YAML itself was unusable in places (an alias bomb, an unsupported tag):
    # validating the models on top would only add noise. Duplicate keys do not count.
    complete: bool = True

    def position(self, path: Path) -> tuple[int, int]:
        """(line, column) of the value at `path`, or of its nearest ancestor that exists."""
        for prefix in _prefixes(path):
            info = self.nodes.get(prefix)
            if info is not None:
                return info.line, info.column
        return 0, 0

    def key_position(self, path: Path) -> tuple[int, int]:
        """(line, column) of the key naming `path` (falls back to the value's position)."""
        info = self.nodes.get(path)
        if info is not None and info.key_line:
            return info.key_line, info.key_column
        return self.position(path)

    def position_in_scalar(self, path: Path, offset: int) -> tuple[int, int]:
        """Where character `offset` of the string at `path` is in the file.

        Exact for plain and quoted scalars (folded onto several lines or not) and for literal
        and folded blocks, as long as the text in the file reads as the value does; escapes,
        blank lines inside folded text or an explicit indentation indicator make it fall back
        to the scalar's start (or, on one line, to a column that ignores the escapes).
        """
        info = self.nodes.get(path)
        value = self.value_at(path)
        if info is None or not isinstance(value, str):
            return self.position(path)
        lines = self.text.splitlines()
        if info.style in ("|", ">"):
            joiner = "\n" if info.style == "|" else " "
            found = _locate(_block_segments(lines, info), joiner, value, offset)
        else:
            found = _locate(_flow_segments(lines, info), " ", value, offset)
        if found is not None:
            return found
        if info.style in (None, "'", '"') and info.end_line == info.line:
            shift = 0 if info.style is None else 1
            return info.line, info.column + shift + offset
        return info.line, info.column

    def value_at(self, path: Path) -> Any:
        node = self.data
        for part in path:
            node = child(node, part)
        return node

    def display(self, path: Path) -> str:
        """A path named by identity: `rules[route-vip-refunds].when.all[0].operator`.

        Items of `rules` and `tokens` are named by their `name` when it is a string; anything
        else by index.
        """
        out = ""
        node = self.data
        for part in path:
            if isinstance(part, int):
                item = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
                name = item.get("name") if isinstance(item, dict) else None
                out += f"[{name}]" if isinstance(name, str) and name else f"[{part}]"
                node = item
            else:
                if _IDENTIFIER.match(part):
                    out += f".{part}" if out else part
                else:
                    out += f"[{json.dumps(part)}]"
                node = node.get(part) if isinstance(node, dict) else None
        return out

    def problem(
        self, path: Path, message: str, *, severity: str = "error", at_key: bool = False
    ) -> Problem:
        line, column = self.key_position(path) if at_key else self.position(path)
        return Problem(self.filename, line, column, self.display(path), message, severity)


def child(node: Any, part: str | int) -> Any:
    """node[part] when it exists, else None."""
    if isinstance(node, dict) and isinstance(part, str):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


# A scalar's text as it sits in the file: (line, column, text) per line, both 1-based.
_Segments = list[tuple[int, int, str]]


def _flow_segments(lines: list[str], info: NodeInfo) -> _Segments:
    """A plain or quoted scalar's lines, without quotes and the spaces that folding drops."""
    quote = 0 if info.style is None else 1
    segments: _Segments = []
    for number in range(info.line, min(info.end_line, len(lines)) + 1):
        line = lines[number - 1]
        start = info.column - 1 + quote if number == info.line else 0
        end = info.end_column - 1 - quote if number == info.end_line else len(line)
        part = line[start:end]
        if number != info.line:
            start += len(part) - len(part.lstrip())
            part = part.lstrip()
        segments.append((number, start + 1, part if number == info.end_line else part.rstrip()))
    return segments


def _block_segments(lines: list[str], info: NodeInfo) -> _Segments:
    """A `|` or `>` block's content lines, each without the block's indentation."""
    header = lines[info.line - 1][info.column - 1 :] if info.line <= len(lines) else ""
    if any(ch.isdigit() for ch in header.split("#")[0]):
        return []  # an explicit indentation indicator: rare enough to fall back
    body = lines[info.line :]
    indent = next((len(ln) - len(ln.lstrip(" ")) for ln in body if ln.strip()), 0)
    segments: _Segments = []
    for number, line in enumerate(body, start=info.line + 1):
        if line.strip() and len(line) - len(line.lstrip(" ")) < indent:
            break  # the block ends at the first line indented less than its content
        segments.append((number, indent + 1, line[indent:]))
    return segments


def _locate(segments: _Segments, joiner: str, value: str, offset: int) -> tuple[int, int] | None:
    """(line, column) of `offset` in `value`, if the segments joined really are the value."""
    texts = [text for _, _, text in segments]
    if not segments or joiner.join(texts).rstrip("\n") != value.rstrip("\n"):
        return None
    start = 0
    for line, column, text in segments:
        if offset <= start + len(text):
            return line, column + offset - start
        start += len(text) + len(joiner)
    line, column, text = segments[-1]
    return line, column + len(text)


def _prefixes(path: Path) -> Iterator[Path]:
    for end in range(len(path), -1, -1):
        yield path[:end]


def read_source(raw: str | bytes, filename: str) -> Source:
    """Parse YAML text (or bytes) into a Source; problems found on the way are in `.problems`.

    When the text cannot be parsed at all, `.data` is None and `.problems` says why.
    """
    size = len(raw.encode("utf-8")) if isinstance(raw, str) else len(raw)
    if size > MAX_BYTES:
        return _fail(
            filename,
            "",
            f"the file is {size} bytes, over the limit of {MAX_BYTES} bytes (1 MiB); "
            "a config this large is almost certainly not a zdops config: split it into "
            "one file per Zendesk account",
        )
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            line, column = _byte_position(raw, error.start)
            return _fail(
                filename,
                "",
                f"byte 0x{raw[error.start]:02x} at offset {error.start} is not UTF-8; "
                "save the file as UTF-8",
                line,
                column,
            )
    else:
        text = raw
    text = text.removeprefix("\ufeff")
    source = Source(filename, text)
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        context = error.context
        opened = error.context_mark
        # "while parsing a flow sequence" is only useful with where that sequence began, which
        # is often lines above the point where the parser gave up.
        if context and opened is not None and mark is not None and opened.line != mark.line:
            context += f" (started at line {opened.line + 1}, column {opened.column + 1})"
        what = ": ".join(part for part in (context, error.problem) if part)
        source.problems.append(
            Problem(
                filename,
                mark.line + 1 if mark else 0,
                mark.column + 1 if mark else 0,
                "",
                f"YAML syntax error: {what}; fix the YAML (a linter such as yamllint shows it "
                "in context)",
            )
        )
        return source
    except yaml.reader.ReaderError as error:
        line, column = _char_position(text, error.position)
        source.problems.append(
            Problem(
                filename,
                line,
                column,
                "",
                f"character U+{_code(error.character):04X} is not allowed in YAML (no control "
                "characters); remove it",
            )
        )
        return source
    if root is None:
        source.problems.append(
            Problem(
                filename,
                1,
                1,
                "",
                "the file is empty; start from config.example.yaml or run `zdops init`",
            )
        )
        return source
    builder = _Builder(source)
    data = builder.build(root, (), 0)
    source.data = data
    builder.flush()
    if not isinstance(data, dict):
        source.data = None
        source.problems.append(
            Problem(
                filename,
                root.start_mark.line + 1,
                root.start_mark.column + 1,
                "",
                f"the top level is {_kind(data)}, but a config is a mapping "
                "(version:, zendesk:, tokens:, rules:); start from config.example.yaml",
            )
        )
    return source


def _fail(filename: str, text: str, message: str, line: int = 0, column: int = 0) -> Source:
    source = Source(filename, text)
    source.problems.append(Problem(filename, line, column, "", message))
    return source


def _code(character: int | str) -> int:
    # libyaml reports the code point, the pure-Python reader the character itself.
    return character if isinstance(character, int) else ord(character)


def _tag(node: yaml.Node) -> str:
    return str(node.tag).replace("tag:yaml.org,2002:", "!!")


def _byte_position(raw: bytes, offset: int) -> tuple[int, int]:
    start = raw.rfind(b"\n", 0, offset) + 1
    return raw.count(b"\n", 0, offset) + 1, offset - start + 1


def _char_position(text: str, offset: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - start + 1


def _kind(value: Any) -> str:
    """How a value reads in a message: 'a string', 'a list', ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


describe_kind = _kind


class _Builder:
    """Turns a composed node graph into dicts, lists and scalars, recording positions."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.constructor = yaml.constructor.SafeConstructor()
        self.seen: set[int] = set()
        self.active: set[int] = set()
        self.alias_nodes = 0
        self.stopped = False
        self.pending: list[tuple[int, int, Path, str]] = []

    def report(self, node: yaml.Node, path: Path, message: str, *, fatal: bool = True) -> None:
        # Located now, named later: a rule's name is only known once the data is built.
        if fatal:
            self.source.complete = False
        self.pending.append((node.start_mark.line + 1, node.start_mark.column + 1, path, message))

    def flush(self) -> None:
        for line, column, path, message in self.pending:
            self.source.problems.append(
                Problem(self.source.filename, line, column, self.source.display(path), message)
            )

    def build(self, node: yaml.Node, path: Path, depth: int, key: yaml.Node | None = None) -> Any:
        if self.stopped:
            return None
        if id(node) in self.active:
            self.report(node, path, "an alias refers to a node that contains it; remove the loop")
            self.stopped = True
            return None
        if id(node) in self.seen:
            self.alias_nodes += 1
            if self.alias_nodes > MAX_ALIAS_NODES:
                self.report(
                    node,
                    path,
                    f"anchors and aliases expand to more than {MAX_ALIAS_NODES} values; "
                    "write the shared parts out or share less",
                )
                self.stopped = True
                return None
        self.seen.add(id(node))
        if depth > MAX_DEPTH:
            self.report(node, path, f"nesting deeper than {MAX_DEPTH} levels; flatten the file")
            self.stopped = True
            return None
        style = node.style if isinstance(node, yaml.ScalarNode) else None
        self.source.nodes[path] = NodeInfo(
            node.start_mark.line + 1,
            node.start_mark.column + 1,
            key.start_mark.line + 1 if key else 0,
            key.start_mark.column + 1 if key else 0,
            style or None,
            node.end_mark.line + 1,
            node.end_mark.column + 1,
        )
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                if node.tag != _SEQ:
                    self.report(node, path, f"the YAML tag {_tag(node)} is not supported; drop it")
                return [
                    self.build(item, (*path, index), depth + 1)
                    for index, item in enumerate(node.value)
                ]
            assert isinstance(node, yaml.MappingNode)
            if node.tag != _MAP:
                self.report(node, path, f"the YAML tag {_tag(node)} is not supported; drop it")
            return self.mapping(node, path, depth)
        finally:
            self.active.discard(id(node))

    def mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first: dict[str, tuple[int, int]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.report(key_node, path, "a key must be a plain word, not a list or mapping")
                continue
            if key_node.tag == _MERGE:
                self.report(
                    key_node,
                    path,
                    "YAML merge keys (<<) are not supported; write the keys out",
                )
                continue
            # A key is its text as written: `on:` stays "on" rather than YAML 1.1's True, and
            # a custom field id `360001:` stays the string a JSON key would be.
            name = key_node.value
            if name in first:
                line, column = first[name]
                where = f"line {line}"
                if line == key_node.start_mark.line + 1:  # a flow mapping: the line says little
                    where += f", column {column}"
                self.report(
                    key_node,
                    (*path, name),
                    f"duplicate key {name!r} (first at {where}); YAML keeps only one of them, "
                    "so one edit would be lost: remove one",
                    fatal=False,
                )
                continue
            first[name] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[name] = self.build(value_node, (*path, name), depth + 1, key_node)
        return result

    def scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        if node.tag == _TIMESTAMP:
            # Dates are kept as written: the config is JSON-shaped data, and the checks say
            # what a date is not allowed to be.
            return node.value
        if node.tag not in _PLAIN_TAGS:
            self.report(node, path, f"the YAML tag {_tag(node)} is not supported; drop it")
            return node.value
        if node.tag == _STR:
            return node.value
        return self.constructor.construct_object(node)
