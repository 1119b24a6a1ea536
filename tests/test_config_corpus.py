"""The good and bad fixture corpus, judged by the loader, the model alone and the JSON Schema.

Each bad fixture is named for its fault and starts with two comment lines:

    # schema: invalid | valid | n/a   (what the published JSON Schema says about the data;
    #                                    valid = a semantic fault only `validate` catches,
    #                                    n/a = the YAML itself is broken)
    # expect: LINE:COL PATH: MESSAGE FRAGMENT   (the first error, exactly located)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from runner.config import Config, load_config
from runner.config.source import read_source
from runner.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = Path(__file__).parent / "data" / "configs"
GOOD = sorted((CONFIGS / "good").glob("*.yaml"))
BAD = sorted((CONFIGS / "bad").glob("*.yaml"))
EXAMPLE = ROOT / "config.example.yaml"


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads((ROOT / "schemas" / "config.schema.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _data(path: Path) -> Any:
    source = read_source(path.read_bytes(), path.name)
    assert source.data is not None, source.problems
    return source.data


def _model_accepts(data: Any) -> bool:
    try:
        Config.model_validate(data)
    except ValidationError:
        return False
    return True


def _header(path: Path) -> tuple[str, str, str]:
    first, second = path.read_bytes().split(b"\n")[:2]
    schema = first.decode().removeprefix("# schema: ")
    location, fragment = second.decode().removeprefix("# expect: ").split(" ", 1)
    return schema, location, fragment


def test_corpus_is_not_empty() -> None:
    assert len(GOOD) >= 3 and len(BAD) >= 40


@pytest.mark.parametrize("path", [*GOOD, EXAMPLE], ids=lambda p: p.name)
def test_good_file_is_valid_everywhere(path: Path, validator: Any) -> None:
    loaded = load_config(path)
    assert all(w.severity == "warning" for w in loaded.warnings)
    data = _data(path)
    assert _model_accepts(data)
    errors = [e.message for e in validator.iter_errors(data)]
    assert errors == []


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_file_is_located_and_explained(path: Path) -> None:
    _, location, fragment = _header(path)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    errors = [p for p in caught.value.problems if p.severity == "error"]
    assert errors, "a bad fixture must produce at least one error"
    first = errors[0]
    assert f"{first.line}:{first.column}" == location
    rendered = f"{first.path}: {first.message}" if first.path else first.message
    assert rendered.startswith(fragment), rendered
    assert str(first).startswith(f"{path}:{location}: ")
    assert "Traceback" not in str(caught.value)


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_model_and_schema_agree(path: Path, validator: Any) -> None:
    schema_verdict, _, _ = _header(path)
    if schema_verdict == "n/a":
        source = read_source(path.read_bytes(), path.name)
        assert source.problems, "a broken-YAML fixture must fail while reading the YAML"
        return
    data = _data(path)
    schema_accepts = validator.is_valid(data)
    assert schema_accepts == _model_accepts(data)
    assert schema_accepts == (schema_verdict == "valid")
