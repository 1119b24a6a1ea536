"""From a file (or text) to a validated Config, or a ConfigError listing every problem."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from runner.config.checks import Parts, check
from runner.config.model_errors import model_problems
from runner.config.models import Actions, Condition, Config, Rule, SopsMetadata, Token, Zendesk
from runner.config.source import MAX_BYTES, Source, read_source
from runner.config.source import Path as NodePath
from runner.errors import ConfigError, Problem

M = TypeVar("M", bound=BaseModel)


@dataclass
class LoadedConfig:
    """A valid config, where it came from, and how to point at any part of it."""

    path: Path | None
    filename: str
    config: Config
    digest: str  # sha256 of the file's bytes: a plan records which file it was made from
    warnings: list[Problem] = field(default_factory=list)
    source: Source | None = field(default=None, repr=False)

    def position(self, path: NodePath) -> tuple[int, int]:
        """(line, column) of a model path such as ("rules", 2, "when", "query")."""
        return self.source.position(path) if self.source else (0, 0)

    def position_in_scalar(self, path: NodePath, offset: int) -> tuple[int, int]:
        """Where character `offset` of the string at `path` is (e.g. a query's column)."""
        return self.source.position_in_scalar(path, offset) if self.source else (0, 0)

    def problem(self, path: NodePath, message: str, *, severity: str = "error") -> Problem:
        """A Problem located at `path`, with the path named by identity."""
        if self.source is None:
            return Problem(self.filename, 0, 0, "", message, severity)
        return self.source.problem(path, message, severity=severity)


def load_config(path: Path) -> LoadedConfig:
    """Read and validate a config file; raises ConfigError with every problem found."""
    filename = str(path)
    if path.is_dir():
        raise _one(filename, "is a directory, not a config file; name the YAML file itself")
    try:
        with path.open("rb") as handle:
            # Reading one byte past the bound is enough to say the file is too large.
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise _one(
            filename,
            "no such file; pass the config's path, set $ZDOPS_CONFIG, or create one with "
            "`zdops init`",
        ) from None
    except OSError as error:
        raise _one(filename, f"cannot read the file: {error.strerror or error}") from None
    loaded = parse_config(raw, filename)
    loaded.path = path
    return loaded


def parse_config(text: str | bytes, filename: str) -> LoadedConfig:
    """Validate config text held in memory (e.g. a file about to be written)."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    source = read_source(raw, filename)
    problems = list(source.problems)
    config: Config | None = None
    if source.data is not None and source.complete:
        try:
            config = Config.model_validate(source.data)
            parts = Parts(
                config.zendesk,
                list(enumerate(config.tokens)),
                list(enumerate(config.rules)),
                config.sops,
            )
        except ValidationError as error:
            problems.extend(model_problems(source, error))
            parts = _partial(source.data)
        problems.extend(check(source, parts))
    problems.sort(key=lambda p: (p.line, p.column))
    errors = [p for p in problems if p.severity == "error"]
    if errors or config is None:
        raise ConfigError(problems)
    return LoadedConfig(
        None,
        filename,
        config,
        hashlib.sha256(raw).hexdigest(),
        [p for p in problems if p.severity == "warning"],
        source,
    )


def _one(filename: str, message: str) -> ConfigError:
    return ConfigError([Problem(filename, 0, 0, "", message)])


def _partial(data: dict[str, Any]) -> Parts:
    """The parts that are valid on their own, so that semantic checks still run on them."""
    parts = Parts(
        _one_model(data.get("zendesk"), Zendesk),
        _items(data.get("tokens"), Token),
        _items(data.get("rules"), Rule),
        _one_model(data.get("sops"), SopsMetadata),
    )
    raw_rules = data.get("rules")
    parsed = {index for index, _ in parts.rules}
    for index, rule in enumerate(raw_rules if isinstance(raw_rules, list) else []):
        if index in parsed or not isinstance(rule, dict):
            continue
        when = rule.get("when")
        if isinstance(when, dict) and isinstance(when.get("query"), str):
            parts.queries.append((("rules", index, "when", "query"), when["query"]))
        if isinstance(rule.get("run_as"), str):
            parts.run_as.append((("rules", index, "run_as"), rule["run_as"]))
        for group in ("all", "any"):
            raw = when.get(group) if isinstance(when, dict) else None
            for position, condition in _items(raw, Condition):
                parts.conditions.append((("rules", index, "when", group, position), condition))
        actions = _salvage(rule.get("actions"), Actions)
        if actions is not None:
            parts.actions.append((("rules", index, "actions"), actions))
    return parts


def _one_model(value: Any, model: type[M]) -> M | None:
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def _salvage(value: Any, model: type[M]) -> M | None:
    """The model from the keys of `value` that are valid on their own (a bad `tags` must not
    hide a bad comment template next to it)."""
    if not isinstance(value, dict):
        return None
    good = {k: v for k, v in value.items() if _one_model({k: v}, model) is not None}
    return _one_model(good, model)


def _items(values: Any, model: type[M]) -> list[tuple[int, M]]:
    if not isinstance(values, list):
        return []
    found = []
    for index, value in enumerate(values):
        parsed = _one_model(value, model)
        if parsed is not None:
            found.append((index, parsed))
    return found
