"""Renderers for config Problems: plain text, JSON, and GitHub workflow annotations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from runner.errors import Problem


@dataclass(frozen=True)
class FileReport:
    """What validating one file found."""

    file: str
    problems: Sequence[Problem] = field(default_factory=tuple)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def valid(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        counts = []
        if self.errors:
            counts.append(_plural(len(self.errors), "error"))
        if self.warnings:
            counts.append(_plural(len(self.warnings), "warning"))
        verdict = "valid" if self.valid else "invalid"
        return f"{self.file}: {verdict}" + (f" ({', '.join(counts)})" if counts else "")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def render_text(reports: Sequence[FileReport]) -> str:
    lines: list[str] = []
    for report in reports:
        lines.extend(str(problem) for problem in report.problems)
        lines.append(report.summary())
    return "\n".join(lines) + "\n"


def render_json(reports: Sequence[FileReport]) -> str:
    document = {
        "valid": all(report.valid for report in reports),
        "files": [
            {
                "file": report.file,
                "valid": report.valid,
                "errors": len(report.errors),
                "warnings": len(report.warnings),
                "problems": [
                    {
                        "file": p.file,
                        "line": p.line,
                        "column": p.column,
                        "path": p.path,
                        "severity": p.severity,
                        "message": p.message,
                    }
                    for p in report.problems
                ],
            }
            for report in reports
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def render_github(reports: Sequence[FileReport]) -> str:
    """`::error file=F,line=L,col=C,title=zdops::message` per problem, then a summary per file.

    GitHub shows these inline on the pull request's diff.
    """
    lines: list[str] = []
    for report in reports:
        for problem in report.problems:
            lines.append(github_annotation(problem))
        lines.append(report.summary())
    return "\n".join(lines) + "\n"


def github_annotation(problem: Problem) -> str:
    command = "warning" if problem.severity == "warning" else "error"
    properties = [f"file={_escape_property(problem.file)}"]
    if problem.line:
        properties.append(f"line={problem.line}")
        properties.append(f"col={problem.column or 1}")
    properties.append("title=zdops")
    text = f"{problem.path}: {problem.message}" if problem.path else problem.message
    return f"::{command} {','.join(properties)}::{_escape_data(text)}"


# GitHub's workflow-command escaping (actions/toolkit, command.ts): data escapes %, CR and LF;
# property values additionally escape ':' and ','.
def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


RENDERERS = {"text": render_text, "json": render_json, "github": render_github}
