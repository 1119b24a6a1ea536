"""Adversarial config files: whatever a pull request puts in the file, validate answers.

Property-based (hypothesis): start from the example config and break it, structurally (values
swapped for other types, huge numbers, deep nesting, hostile unicode) and textually (random
byte edits, YAML features: anchors and aliases, merge keys, tags such as !!python/object,
several documents, a BOM, CRLF line ends, control and bidi characters). Every answer must be
a valid config or a ConfigError whose every error is located (line >= 1) and says something,
never another exception and never a hang (each test has a timeout).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.cli import main
from runner.config import parse_config
from runner.config.source import MAX_BYTES
from runner.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.yaml"
EXAMPLE_TEXT = EXAMPLE.read_text()
EXAMPLE_DATA: dict[str, Any] = yaml.safe_load(EXAMPLE_TEXT)

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Characters that break naive handling: bidi overrides (Trojan Source), zero-width, NUL and
# other C0/C1 controls, lone surrogates' neighbours, a BOM mid-text, line and paragraph
# separators, and a few astral characters.
HOSTILE_CHARS = (
    "\u202e\u202d\u2066\u2067\u2068\u2069\u200f\u200e\u200b\u200d\ufeff\u2028\u2029"
    "\x00\x01\x07\x08\x0b\x0c\x1b\x7f\x85\x9b\r\t\n"
    "\U0001f600\U0010fffd\ufffe\uffff"
)
hostile_text = st.text(
    alphabet=st.one_of(st.sampled_from(HOSTILE_CHARS), st.characters()), max_size=40
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
    st.sampled_from(["", "null", "~", "yes", "no", "0x1F", "1e400", "2024-01-01", "-.inf"]),
    st.just("x" * 50_000),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(hostile_text, inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


EXAMPLE_PATHS = _paths(EXAMPLE_DATA)[1:]


def _replace(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(data)
    node = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


def _nest(depth: int) -> Any:
    value: Any = "deep"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def assert_answers(text: str | bytes, filename: str = "fuzz.yaml") -> None:
    """The property: a valid config, or a ConfigError whose errors are all located."""
    try:
        loaded = parse_config(text, filename)
    except ConfigError as error:
        errors = [p for p in error.problems if p.severity == "error"]
        assert errors, "a ConfigError must carry at least one error"
        for problem in errors:
            assert problem.file == filename
            assert problem.message.strip()
            size = len(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
            if size > MAX_BYTES:
                continue  # the one finding about the whole file: it has no line
            assert problem.line >= 1, f"unlocated problem: {problem}"
            assert problem.column >= 0
        return
    assert loaded.config.version == 1
    for warning in loaded.warnings:
        assert warning.line >= 1, f"unlocated warning: {warning}"


def dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000)


def test_the_seed_config_is_valid() -> None:
    assert_answers(EXAMPLE_TEXT)
    parse_config(EXAMPLE_TEXT, "example.yaml")


@pytest.mark.timeout(60)
@SETTINGS
@given(st.sampled_from(EXAMPLE_PATHS), values)
def test_any_value_anywhere(path: tuple[Any, ...], value: Any) -> None:
    assert_answers(dump(_replace(EXAMPLE_DATA, path, value)))


@pytest.mark.timeout(60)
@SETTINGS
@given(st.sampled_from(EXAMPLE_PATHS), st.integers(min_value=1, max_value=200))
def test_deep_nesting_anywhere(path: tuple[Any, ...], depth: int) -> None:
    assert_answers(dump(_replace(EXAMPLE_DATA, path, _nest(depth))))


@pytest.mark.timeout(60)
@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["insert", "delete", "replace"]),
            st.floats(min_value=0, max_value=1),
            st.binary(min_size=1, max_size=8),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_random_byte_edits(edits: list[tuple[str, float, bytes]]) -> None:
    raw = bytearray(EXAMPLE_TEXT.encode())
    for kind, where, data in edits:
        at = int(where * len(raw))
        if kind == "insert":
            raw[at:at] = data
        elif kind == "delete":
            del raw[at : at + len(data)]
        else:
            raw[at : at + len(data)] = data
    assert_answers(bytes(raw))


@pytest.mark.timeout(60)
@SETTINGS
@given(
    st.sampled_from(range(len(EXAMPLE_TEXT.splitlines()))),
    st.text(alphabet=st.sampled_from(HOSTILE_CHARS), min_size=1, max_size=3),
)
def test_control_and_bidi_characters_on_any_line(line: int, chars: str) -> None:
    lines = EXAMPLE_TEXT.splitlines()
    lines[line] = (
        lines[line][: len(lines[line]) // 2] + chars + lines[line][len(lines[line]) // 2 :]
    )
    assert_answers("\n".join(lines) + "\n")


# YAML features a file may use on purpose or in an attack, each spliced into the example.
YAML_FEATURES = [
    "!!python/object/apply:os.system ['echo pwned']",
    "!!python/object:runner.config.models.Config {}",
    "!!python/name:os.system",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!custom-tag value",
    "!!timestamp 2001-12-14",
    "&anchor value",
    "*undefined_alias",
    "{<<: {a: 1}, b: 2}",
    "{<<: [*x, *y]}",
    "[&a [*a]]",
    "? complex key\n  : value",
    "|\n    literal\n    block",
    ">-\n    folded",
    "'unterminated",
    '"\\x00 escaped nul"',
    '"\\u202e bidi"',
    "0o777",
    ".nan",
    "1_000_000",
    "%YAML 1.1",
]


@pytest.mark.timeout(60)
@SETTINGS
@given(st.sampled_from(EXAMPLE_PATHS), st.sampled_from(YAML_FEATURES))
def test_yaml_features_in_place_of_any_value(path: tuple[Any, ...], feature: str) -> None:
    marker = "ZDOPS-FUZZ-MARKER"
    text = dump(_replace(EXAMPLE_DATA, path, marker))
    assert_answers(text.replace(marker, feature.replace("\n", "\n" + " " * 8), 1))


WHOLE_FILE = {
    "bom": lambda t: "\ufeff" + t,
    "double bom": lambda t: "\ufeff\ufeff" + t,
    "crlf": lambda t: t.replace("\n", "\r\n"),
    "cr only": lambda t: t.replace("\n", "\r"),
    "two documents": lambda t: t + "---\n" + t,
    "empty second document": lambda t: t + "---\n",
    "document end marker": lambda t: t + "...\n",
    "directive": lambda t: "%YAML 1.2\n---\n" + t,
    "tabs": lambda t: t.replace("  ", "\t"),
    "no final newline": lambda t: t.rstrip("\n"),
    "only comments": lambda t: "\n".join("# " + line for line in t.splitlines()),
    "utf-16": lambda t: t.encode("utf-16"),
    "latin-1 byte": lambda t: t.encode() + b"\xe9\n",
    "nul byte": lambda t: t.encode().replace(b"rules:", b"rules:\x00", 1),
    "duplicate top key": lambda t: t + "version: 1\n",
    "duplicate rules": lambda t: t + "rules: []\n",
    "huge": lambda t: t + "#" * (MAX_BYTES + 1),
    "just under the limit": lambda t: t + ("# " + "x" * 1000 + "\n") * (MAX_BYTES // 1200),
    "empty": lambda t: "",
    "whitespace": lambda t: " \n\t\n",
    "a list": lambda t: "- " + t.replace("\n", "\n  "),
    "a scalar": lambda t: "hello",
    "anchor on root": lambda t: "&root\n" + t,
    "alias bomb": lambda t: (
        t
        + "bomb:\n"
        + "  a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"  {chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n"
            for i in range(8)
        )
    ),
    "self-merge": lambda t: "base: &b {version: 1}\n" + t.replace("version: 1", "<<: *b", 1),
    "recursive alias": lambda t: t + "loop: &l [*l]\n",
    "many rules": lambda t: t.replace(
        "rules:\n",
        "rules:\n"
        + "".join(
            f"  - {{name: r{i}, when: {{query: 'status:open'}}, actions: {{priority: high}}}}\n"
            for i in range(2_000)
        ),
        1,
    ),
    "long line": lambda t: t.replace("subdomain: acme", "subdomain: " + "a" * 200_000),
    "deep flow nesting": lambda t: t + "deep: " + "[" * 5_000 + "]" * 5_000 + "\n",
    "deep block nesting": lambda t: (
        t + "deep:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(300))
    ),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", sorted(WHOLE_FILE))
def test_whole_file_transformations(name: str) -> None:
    assert_answers(WHOLE_FILE[name](EXAMPLE_TEXT))


@pytest.mark.timeout(60)
def test_crlf_and_bom_keep_the_example_valid() -> None:
    for name in ("bom", "crlf", "no final newline"):
        parse_config(WHOLE_FILE[name](EXAMPLE_TEXT), f"{name}.yaml")


@pytest.mark.timeout(120)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(
        st.builds(
            lambda p, v: dump(_replace(EXAMPLE_DATA, p, v)), st.sampled_from(EXAMPLE_PATHS), values
        ),
        st.sampled_from(sorted(WHOLE_FILE)).map(lambda n: WHOLE_FILE[n](EXAMPLE_TEXT)),
    )
)
def test_the_cli_answers_every_sample_with_an_exit_code_not_a_traceback(
    text: str | bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "config.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output and "internal error" not in result.output
    if result.exit_code == 1:
        assert f"{path}:" in result.output


regex_text = st.text(
    alphabet=st.sampled_from(list("ab.*+?|()[]{}^$\\wds0123,:-=!<>iPx#")), max_size=24
)


@pytest.mark.timeout(60)
@SETTINGS
@given(regex_text)
def test_any_pattern_in_a_matches_condition(pattern: str) -> None:
    # The backtracking analysis walks re's own parse tree: no pattern may crash it.
    path = ("rules", 0, "when", "all", 0, "value")
    assert EXAMPLE_DATA["rules"][0]["when"]["all"][0]["operator"] == "matches"
    assert_answers(dump(_replace(EXAMPLE_DATA, path, pattern)))
