"""Reading YAML: positions, identity paths, and every way a file can be unreadable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runner.config import load_config, parse_config
from runner.config.source import MAX_BYTES, read_source
from runner.errors import ConfigError

GOOD = Path(__file__).parent / "data" / "configs" / "good" / "sandbox-url.yaml"


def _problems(text: str | bytes) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "c.yaml")
    return [str(p) for p in caught.value.problems]


def test_positions_and_identity_paths() -> None:
    loaded = load_config(GOOD)
    assert loaded.position(("rules", 1, "when", "query")) == (27, 14)
    assert loaded.position(("rules", 1, "when", "nope")) == (27, 7)  # nearest ancestor
    assert loaded.problem(("rules", 2, "actions"), "x").path == "rules[unassign-and-clear].actions"
    # the query's 8th character sits 8 columns right of its first (+1 for the quote)
    assert loaded.position_in_scalar(("rules", 1, "when", "query"), 7) == (27, 22)
    assert loaded.digest == __import__("hashlib").sha256(GOOD.read_bytes()).hexdigest()
    assert loaded.path == GOOD


def test_custom_field_keys_are_quoted_in_paths() -> None:
    source = read_source('a:\n  "Order number": 1\n  "360001": 2\n', "c.yaml")
    assert source.display(("a", "Order number")) == 'a["Order number"]'
    assert source.data == {"a": {"Order number": 1, "360001": 2}}


def test_yaml_11_booleans_as_keys_stay_text() -> None:
    assert read_source("on: 1\n", "c.yaml").data == {"on": 1}


def test_literal_block_positions() -> None:
    source = read_source("a:\n  b: |\n    one\n    two {{x}}\n", "c.yaml")
    offset = source.data["a"]["b"].index("{{")
    assert source.position_in_scalar(("a", "b"), offset) == (4, 9)


def test_duplicate_keys_name_both_lines_and_still_validate_the_rest() -> None:
    text = GOOD.read_text().replace("defaults: {limit: 20}", "defaults: {limit: 20, limit: 0}")
    text = text.replace("status: closed", "status: shut")
    problems = _problems(text)
    assert problems == [
        "c.yaml:14:23: defaults.limit: duplicate key 'limit' (first at line 14, column 12); YAML "
        "keeps only one of them, so one edit would be lost: remove one",
        "c.yaml:29:15: rules[close-solved-spam].actions.status: 'shut' is not one of open, "
        "pending, hold, solved, closed",
    ]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "config.yaml")
    assert str(caught.value).startswith(f"{tmp_path / 'config.yaml'}: no such file; ")
    assert "zdops init" in str(caught.value)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory, not a config file"):
        load_config(tmp_path)


def test_unreadable_file(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    path = tmp_path / "c.yaml"
    path.write_text("version: 1\n")
    path.chmod(0)
    with pytest.raises(ConfigError, match="cannot read the file: Permission denied"):
        load_config(path)


def test_size_bound(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# " + b"x" * MAX_BYTES + b"\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "over the limit of 1048576 bytes (1 MiB)" in str(caught.value)


def test_control_character_is_located() -> None:
    assert _problems("version: 1\nzendesk: \x07\n") == [
        "c.yaml:2:10: character U+0007 is not allowed in YAML (no control characters); remove it"
    ]


def test_utf8_bom_is_accepted() -> None:
    loaded = parse_config(b"\xef\xbb\xbf" + GOOD.read_bytes(), "c.yaml")
    assert loaded.config.zendesk.base_url == "http://127.0.0.1:8765"


def test_deep_nesting_is_bounded() -> None:
    problems = _problems("x: " + "[" * 80 + "]" * 80 + "\n")
    assert problems == [
        "c.yaml:1:68: x" + "[0]" * 64 + ": nesting deeper than 64 levels; flatten the file"
    ]


def test_alias_bomb_fails_fast() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for index in range(1, 12):  # 10**12 values if expanded
        prev = chr(ord("a") + index - 1)
        name = chr(ord("a") + index)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    problems = _problems("\n".join(lines) + "\n")
    assert len(problems) == 1
    assert "anchors and aliases expand to more than 10000 values" in problems[0]
