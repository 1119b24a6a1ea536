"""runner.files.write_atomic: the old file or the whole new one, and a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import ZdopsError
from runner.files import write_atomic


def test_replaces_the_file_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    target.write_text("old")
    write_atomic(target, "new ✓", what="the plan", hint="h")
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]
    assert target.stat().st_mode & 0o777 == 0o644


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "plan.json"
    with pytest.raises(ZdopsError) as caught:
        write_atomic(target, b"x", what="the plan", hint="Pick a writable directory.")
    assert str(caught.value) == (
        f"cannot write the plan {target}: No such file or directory. Pick a writable directory."
    )


def test_a_failed_rename_keeps_the_old_file_and_removes_the_temporary(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.mkdir()  # os.replace of a file onto a directory fails
    with pytest.raises(ZdopsError, match="cannot write the report"):
        write_atomic(target, "x", what="the report", hint="h")
    assert target.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
